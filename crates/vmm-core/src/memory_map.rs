//! The guest-physical memory map as the CPU sees it: a list of slots, each a stretch of host
//! memory (RAM or a device's window) at a guest-physical base, or nothing. KVM gets each slot
//! as one of its memory slots; the interpreter reads the same list. A slot can change while the
//! guest runs (the A20 gate folding 1 MiB onto 0, a VGA window trapped for planar modes or
//! showing another bank of the frame buffer): [`MemoryMap::set`] tells KVM and bumps a
//! generation the interpreter compares to rebuild its view.
//!
//! ```text
//!   slot 0: [0x0, 0xa0000)         RAM
//!   slot 1: [0x100000, 0x110000)   RAM, or RAM at 0 while A20 is off
//!   slot 2: [0x110000, end)        RAM
//!   slot 3: [0xa0000, 0xb0000)     the VGA window, or nothing (its accesses exit)
//! ```

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use kvm_bindings::kvm_userspace_memory_region;
use kvm_ioctls::VmFd;
use vm_memory::{GuestAddress, GuestMemoryBackend, GuestMemoryMmap, MemoryRegionAddress};

use crate::device_memory::DeviceMemory;

/// A slot's number: its place in the map, and KVM's slot number.
pub type SlotId = u32;

/// Host memory shown at a guest-physical range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mapping {
    /// The guest-physical base.
    pub base: u64,
    /// The length in bytes (page aligned).
    pub len: u64,
    /// The host address of the first byte (inside memory the map keeps alive).
    host: usize,
    /// The guest's writes go nowhere (a ROM).
    pub read_only: bool,
}

impl Mapping {
    /// `len` bytes of RAM from guest-physical `from`, shown at `base`; `None` unless they are
    /// all in one region of `memory`.
    pub fn ram(memory: &GuestMemoryMmap, from: u64, len: u64, base: u64) -> Option<Mapping> {
        let region = memory.find_region(GuestAddress(from))?;
        let start = from - vm_memory::GuestMemoryRegion::start_addr(region).0;
        if start.checked_add(len)? > vm_memory::GuestMemoryRegion::len(region) {
            return None;
        }
        let host =
            vm_memory::GuestMemoryRegion::get_host_address(region, MemoryRegionAddress(start))
                .ok()?;
        Some(Mapping {
            base,
            len,
            host: host as usize,
            read_only: false,
        })
    }

    /// `len` bytes of a device's window from `offset`, shown at `base`.
    pub fn device(window: &DeviceMemory, offset: u64, len: u64, base: u64) -> Option<Mapping> {
        if offset.checked_add(len)? > window.len() {
            return None;
        }
        let host = window.host_address(offset)?;
        Some(Mapping {
            base,
            len,
            host,
            read_only: window.is_read_only(),
        })
    }

    /// The host address of the first byte.
    pub fn host(&self) -> *mut u8 {
        self.host as *mut u8
    }
}

/// The memory slots, shared by the VM, its CPU and the devices that change them.
#[derive(Clone, Default)]
pub struct MemoryMap {
    state: Arc<Mutex<MapState>>,
    generation: Arc<AtomicU64>,
}

#[derive(Default)]
struct MapState {
    // Field order is drop order: KVM's descriptor closes before the memory it maps.
    kvm: Option<Arc<VmFd>>,
    slots: Vec<Option<Mapping>>,
    /// The memory behind every mapping, kept as long as the map.
    ram: Vec<GuestMemoryMmap>,
    windows: Vec<DeviceMemory>,
}

/// Why a slot could not be changed.
pub type MapError = kvm_ioctls::Error;

impl MemoryMap {
    fn lock(&self) -> MutexGuard<'_, MapState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Keeps `memory` alive as long as the map (its mappings point into it).
    pub(crate) fn keep_ram(&self, memory: &GuestMemoryMmap) {
        self.lock().ram.push(memory.clone());
    }

    /// Keeps `window` alive as long as the map.
    pub(crate) fn keep_window(&self, window: &DeviceMemory) {
        self.lock().windows.push(window.clone());
    }

    /// Adds a slot showing `mapping` (or nothing yet); its number.
    pub(crate) fn add(&self, mapping: Option<Mapping>) -> Result<SlotId, MapError> {
        let mut state = self.lock();
        let id = state.slots.len() as SlotId;
        if let (Some(fd), Some(m)) = (&state.kvm, &mapping) {
            kvm_map(fd, id, Some(m))?;
        }
        state.slots.push(mapping);
        self.generation.fetch_add(1, Ordering::Release);
        Ok(id)
    }

    /// Shows `mapping` in slot `id` instead of what it showed (`None`: nothing, so the guest's
    /// accesses there reach the MMIO bus). Nothing happens when it shows that already.
    pub fn set(&self, id: SlotId, mapping: Option<Mapping>) -> Result<(), MapError> {
        let mut state = self.lock();
        let Some(old) = state.slots.get(id as usize).copied() else {
            return Ok(());
        };
        if old == mapping {
            return Ok(());
        }
        if let Some(fd) = &state.kvm {
            if old.is_some() {
                kvm_map(fd, id, None)?;
            }
            if let Some(m) = &mapping {
                if let Err(e) = kvm_map(fd, id, Some(m)) {
                    state.slots[id as usize] = None;
                    self.generation.fetch_add(1, Ordering::Release);
                    return Err(e);
                }
            }
        }
        state.slots[id as usize] = mapping;
        self.generation.fetch_add(1, Ordering::Release);
        Ok(())
    }

    /// What slot `id` shows.
    pub fn get(&self, id: SlotId) -> Option<Mapping> {
        self.lock().slots.get(id as usize).copied().flatten()
    }

    /// Hands every slot to the KVM VM behind `fd` (a new VM, or one taking the machine over).
    pub(crate) fn attach(&self, fd: Arc<VmFd>) -> Result<(), MapError> {
        let mut state = self.lock();
        for (id, mapping) in state.slots.iter().enumerate() {
            if let Some(m) = mapping {
                kvm_map(&fd, id as SlotId, Some(m))?;
            }
        }
        state.kvm = Some(fd);
        Ok(())
    }

    /// The slots that show something, for the interpreter's view.
    pub(crate) fn mappings(&self) -> Vec<Mapping> {
        self.lock().slots.iter().flatten().copied().collect()
    }

    /// A number that changes whenever a slot does.
    #[inline]
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }
}

/// Sets KVM's slot `id` to `mapping`, or deletes it.
fn kvm_map(fd: &VmFd, id: SlotId, mapping: Option<&Mapping>) -> Result<(), MapError> {
    let region = kvm_userspace_memory_region {
        slot: id,
        flags: match mapping {
            Some(m) if m.read_only => kvm_bindings::KVM_MEM_READONLY,
            _ => 0,
        },
        guest_phys_addr: mapping.map_or(0, |m| m.base),
        memory_size: mapping.map_or(0, |m| m.len),
        userspace_addr: mapping.map_or(0, |m| m.host as u64),
    };
    // SAFETY: every mapping points into memory the map keeps alive (`ram`, `windows`), and the
    // map's descriptor closes before that memory is dropped (field order; every other holder of
    // the descriptor keeps the memory too). Slots are distinct by number; ranges are kept
    // disjoint by the VM (RAM validated, device ranges checked, aliases replacing what was
    // there). A deletion (size 0) maps nothing.
    unsafe { fd.set_user_memory_region(region) }
}
