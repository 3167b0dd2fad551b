//! A KVM virtual machine: the KVM handles, guest memory and its slots, device memory, and the
//! I/O bus. Devices are registered before the vCPU is created; the vCPU then shares the bus.

use std::sync::Arc;
use std::time::Instant;

use kvm_ioctls::{Cap, Kvm, VmFd};
use vm_device::bus::{MmioAddress, MmioRange, PioAddress, PioRange};
use vm_device::device_manager::{IoManager, MmioManager, PioManager};
use vm_device::{DeviceMmio, DevicePio};
use vm_memory::GuestMemoryMmap;

use crate::a20::{A20Gate, WRAP_BASE, WRAP_LEN};
use crate::accel::Accel;
use crate::control::VcpuControl;
use crate::device_memory::DeviceMemory;
use crate::interp::InterpCpu;
use crate::layout::{GUEST_PHYS_LIMIT, KVM_TSS_ADDRESS, PAGE_SIZE};
use crate::memory::{self, RamRegion};
use crate::memory_map::{Mapping, MemoryMap, SlotId};
use crate::vcpu::{self, CpuBackend, Vcpu};

/// Errors creating or setting up a machine.
#[derive(Debug, thiserror::Error)]
pub enum VmError {
    /// `/dev/kvm` does not exist.
    #[error(
        "/dev/kvm does not exist: this host has no KVM (load the kvm_intel or kvm_amd module, \
         or enable nested virtualization for this VM)"
    )]
    NoKvm,
    /// `/dev/kvm` exists but we may not open it.
    #[error(
        "no permission to open /dev/kvm: add your user to the kvm group \
         (sudo usermod -aG kvm $USER, then log in again) or run as root"
    )]
    KvmPermission,
    /// Any other failure opening `/dev/kvm`.
    #[error("cannot open /dev/kvm")]
    KvmOpen(#[source] kvm_ioctls::Error),
    /// A KVM ioctl failed while building the machine.
    #[error("cannot {what}")]
    Kvm {
        /// What we were doing.
        what: &'static str,
        /// The ioctl's error.
        #[source]
        source: kvm_ioctls::Error,
    },
    /// Guest memory could not be built or loaded.
    #[error(transparent)]
    Memory(#[from] memory::MemoryError),
    /// The vCPU could not be put in its boot state.
    #[error(transparent)]
    Cpu(#[from] crate::cpu::CpuError),
    /// A device range that is empty, overflows, or collides with another device.
    #[error("cannot place {space} range [{base:#x}, +{len:#x}): {reason}")]
    DeviceRange {
        /// "port" or "MMIO".
        space: &'static str,
        /// Start of the range.
        base: u64,
        /// Length.
        len: u64,
        /// What is wrong.
        reason: &'static str,
    },
    /// The CPU backend cannot run this machine.
    #[error("{0}")]
    Unsupported(&'static str),
    /// A device was registered, or a second vCPU asked for, after the vCPU was created.
    #[error("the vCPU exists already: devices are registered before it, and a VM has one vCPU")]
    VcpuCreated,
}

/// Result alias for this module.
pub type Result<T> = std::result::Result<T, VmError>;

pub(crate) fn kvm_error(what: &'static str) -> impl FnOnce(kvm_ioctls::Error) -> VmError {
    move |source| VmError::Kvm { what, source }
}

/// What a failure to open `/dev/kvm` means to the user.
fn kvm_open_error(e: kvm_ioctls::Error) -> VmError {
    match e.errno() {
        libc::ENOENT | libc::ENODEV | libc::ENXIO => VmError::NoKvm,
        libc::EACCES | libc::EPERM => VmError::KvmPermission,
        _ => VmError::KvmOpen(e),
    }
}

/// The KVM handles of a VM that KVM runs.
pub(crate) struct KvmVm {
    // Field order is drop order: the VM closes before /dev/kvm.
    fd: Arc<VmFd>,
    kvm: Kvm,
}

/// A VM with its memory and I/O bus, before and while its vCPU runs: run by KVM, or by
/// picovmm's interpreter ([`Accel`]).
pub struct Vm {
    // Field order is drop order: the VM closes before the memory it maps.
    kvm: Option<KvmVm>,
    memory: GuestMemoryMmap,
    /// The RAM regions `memory` was built from.
    ram: Vec<RamRegion>,
    /// Memory windows mapped for devices, kept alive as long as the VM.
    device_memory: Vec<DeviceMemory>,
    /// The memory slots (RAM and windows), as KVM and the interpreter see them.
    map: MemoryMap,
    /// The A20 gate, over the slot at 1 MiB.
    a20: A20Gate,
    /// Every MMIO range handed out (to the bus or as device memory), to refuse overlaps.
    mmio_ranges: Vec<(u64, u64)>,
    /// The bus while devices are registered; handed to the vCPU when it is created.
    io: Option<IoManager>,
    /// The control handle of the vCPU-to-be, so devices can hold it before the vCPU exists.
    control: VcpuControl,
    /// When `Vm::new` started, to measure setup up to the first `KVM_RUN`.
    created: Instant,
}

impl Vm {
    /// Opens `/dev/kvm` and creates a VM with `ram` as its memory.
    pub fn new(ram: &[RamRegion]) -> Result<Self> {
        Vm::with_accel(ram, Accel::Kvm)
    }

    /// Creates a VM with `ram` as its memory, run by `accel`: KVM opens `/dev/kvm`, the
    /// interpreter needs nothing of the host.
    pub fn with_accel(ram: &[RamRegion], accel: Accel) -> Result<Self> {
        let created = Instant::now();
        let memory = memory::create(ram)?;
        let kvm = match accel {
            Accel::Kvm => Some(open_kvm()?),
            Accel::Interp => None,
        };
        let (map, a20) = ram_slots(&memory, ram)?;
        if let Some(kvm) = &kvm {
            map.attach(kvm.fd.clone())
                .map_err(kvm_error("map guest memory (KVM_SET_USER_MEMORY_REGION)"))?;
        }
        Ok(Vm {
            kvm,
            memory,
            ram: ram.to_vec(),
            device_memory: Vec::new(),
            map,
            a20,
            mmio_ranges: Vec::new(),
            io: Some(IoManager::new()),
            control: VcpuControl::default(),
            created,
        })
    }

    /// The guest's RAM.
    pub fn memory(&self) -> &GuestMemoryMmap {
        &self.memory
    }

    /// The KVM VM, for features beyond this crate (coalesced MMIO zones, for example); `None`
    /// when the interpreter runs the machine.
    pub fn fd(&self) -> Option<&VmFd> {
        self.kvm.as_ref().map(|k| &*k.fd)
    }

    /// The device memory windows mapped so far (framebuffers, ROMs).
    pub fn device_windows(&self) -> &[DeviceMemory] {
        &self.device_memory
    }

    /// The memory slots, for devices that change what the guest sees (a VGA window).
    pub fn memory_map(&self) -> MemoryMap {
        self.map.clone()
    }

    /// The A20 gate, for the devices that switch it.
    pub fn a20(&self) -> A20Gate {
        self.a20.clone()
    }

    /// Notes a device range; a device at 1 MiB stops the A20 gate folding memory over it.
    fn claim(&mut self, base: u64, len: u64) {
        if base < WRAP_BASE + WRAP_LEN && WRAP_BASE < base.saturating_add(len) {
            self.a20.forget_wrap();
        }
        self.mmio_ranges.push((base, len));
    }

    /// What runs the guest.
    pub fn accel(&self) -> Accel {
        match self.kvm {
            Some(_) => Accel::Kvm,
            None => Accel::Interp,
        }
    }

    /// The control handle the vCPU will have: devices that stop or kick the vCPU take it
    /// before the vCPU is created.
    pub fn vcpu_control(&self) -> VcpuControl {
        self.control.clone()
    }

    /// When the VM was created, to measure setup time.
    pub fn created(&self) -> Instant {
        self.created
    }

    /// Copies `image` into RAM at `addr`.
    pub fn load_image(&self, addr: u64, image: &[u8]) -> Result<()> {
        Ok(memory::load_image(&self.memory, addr, image)?)
    }

    fn bus(&mut self) -> Result<&mut IoManager> {
        self.io.as_mut().ok_or(VmError::VcpuCreated)
    }

    /// Puts a device on ports `[base, base + len)`.
    pub fn register_pio(
        &mut self,
        base: u16,
        len: u16,
        device: Arc<dyn DevicePio + Send + Sync>,
    ) -> Result<()> {
        let range_error = range_error("port", base.into(), len.into());
        let range = PioRange::new(PioAddress(base), len)
            .map_err(|_| range_error("empty, or past port 0xffff"))?;
        self.bus()?
            .register_pio(range, device)
            .map_err(|_| range_error("overlaps another device"))
    }

    /// Checks that `[base, base + len)` is a valid range clear of RAM and of other MMIO.
    fn check_mmio(&self, base: u64, len: u64) -> Result<()> {
        let range_error = range_error("MMIO", base, len);
        let end = match base.checked_add(len) {
            Some(end) if len > 0 && end <= GUEST_PHYS_LIMIT => end,
            _ => {
                return Err(range_error(
                    "empty, or past the guest-physical space (64 GiB)",
                ))
            }
        };
        let overlaps = |start: u64, size: u64| base < start.saturating_add(size) && start < end;
        if memory::overlapping(&self.ram, base, len).is_some() {
            return Err(range_error("overlaps guest RAM"));
        }
        if self
            .mmio_ranges
            .iter()
            .any(|&(start, size)| overlaps(start, size))
        {
            return Err(range_error("overlaps another device"));
        }
        Ok(())
    }

    /// Puts a device on guest-physical `[base, base + len)`; the range must not be RAM.
    pub fn register_mmio(
        &mut self,
        base: u64,
        len: u64,
        device: Arc<dyn DeviceMmio + Send + Sync>,
    ) -> Result<()> {
        self.check_mmio(base, len)?;
        let range_error = range_error("MMIO", base, len);
        let range = MmioRange::new(MmioAddress(base), len)
            .map_err(|_| range_error("empty, or past the address space"))?;
        self.bus()?
            .register_mmio(range, device)
            .map_err(|_| range_error("overlaps another device"))?;
        self.claim(base, len);
        Ok(())
    }

    /// Maps `len` bytes of memory at guest-physical `base` for a device (a framebuffer): the
    /// guest reads and writes it like RAM, without exits, and the VMM reads it through the
    /// returned handle. `base` and `len` must be page aligned.
    pub fn map_device_memory(&mut self, base: u64, len: u64) -> Result<DeviceMemory> {
        self.map_window(base, len, false)
    }

    /// Maps `len` bytes of read-only memory at `base` (a ROM), as
    /// [`Vm::map_device_memory`] maps RAM-like memory: the VMM fills it through the handle;
    /// the guest reads it without exits, and its writes go nowhere, as on a PC.
    pub fn map_device_rom(&mut self, base: u64, len: u64) -> Result<DeviceMemory> {
        self.map_window(base, len, true)
    }

    fn map_window(&mut self, base: u64, len: u64, read_only: bool) -> Result<DeviceMemory> {
        self.map_window_slot(base, len, read_only)
            .map(|(memory, _)| memory)
    }

    /// Maps a device window as [`Vm::map_device_memory`] does, and says its slot in the
    /// memory map, so that the device can show something else there later (another bank) or
    /// nothing (its accesses then reach the MMIO bus, where `trap` takes them, when given).
    pub fn map_switchable_window(
        &mut self,
        base: u64,
        len: u64,
        trap: Option<Arc<dyn DeviceMmio + Send + Sync>>,
    ) -> Result<(DeviceMemory, SlotId)> {
        let (memory, slot) = self.map_window_slot(base, len, false)?;
        if let Some(device) = trap {
            let range = MmioRange::new(MmioAddress(base), len)
                .map_err(|_| range_error("MMIO", base, len)("empty, or past the address space"))?;
            self.bus()?
                .register_mmio(range, device)
                .map_err(|_| range_error("MMIO", base, len)("overlaps another device"))?;
        }
        Ok((memory, slot))
    }

    /// Fills the page-aligned stretches of `[base, end)` that hold neither RAM nor a device with
    /// empty read-only memory (zeros): a PC's option-ROM space, which a ROM scan reads without
    /// an exit per 2 KiB and finds no 0x55AA there.
    pub fn map_empty_rom(&mut self, base: u64, end: u64) -> Result<()> {
        let mut taken: Vec<(u64, u64)> = self.mmio_ranges.clone();
        taken.extend(self.ram.iter().map(|r| (r.base, r.size)));
        taken.sort_unstable();
        let mut at = base;
        for (start, len) in taken.into_iter().chain([(end, 0)]) {
            let gap_end = start.min(end) & !(PAGE_SIZE - 1);
            let gap_start = at.next_multiple_of(PAGE_SIZE);
            if gap_start < gap_end {
                self.map_window_slot(gap_start, gap_end - gap_start, true)?;
            }
            at = at.max(start.saturating_add(len));
        }
        Ok(())
    }

    fn map_window_slot(
        &mut self,
        base: u64,
        len: u64,
        read_only: bool,
    ) -> Result<(DeviceMemory, SlotId)> {
        let range_error = range_error("MMIO", base, len);
        if !base.is_multiple_of(PAGE_SIZE) || !len.is_multiple_of(PAGE_SIZE) {
            return Err(range_error("device memory must be page aligned"));
        }
        self.bus()?;
        self.check_mmio(base, len)?;
        let size = usize::try_from(len).map_err(|_| range_error("too large"))?;
        let memory =
            DeviceMemory::new(base, size, read_only).ok_or(range_error("cannot allocate it"))?;
        let mapping =
            Mapping::device(&memory, 0, len, base).ok_or(range_error("cannot allocate it"))?;
        self.map.keep_window(&memory);
        let slot = self
            .map
            .add(Some(mapping))
            .map_err(kvm_error("map device memory (KVM_SET_USER_MEMORY_REGION)"))?;
        self.device_memory.push(memory.clone());
        self.claim(base, len);
        Ok((memory, slot))
    }

    /// Creates the VM's one CPU, which takes the I/O bus: register devices before this. KVM's
    /// vCPU, or picovmm's interpreter.
    pub fn create_cpu(&mut self) -> Result<Box<dyn CpuBackend>> {
        if self.kvm.is_some() {
            return Ok(Box::new(self.create_vcpu()?));
        }
        let io = self.io.take().ok_or(VmError::VcpuCreated)?;
        Ok(Box::new(InterpCpu::new(
            self.map.clone(),
            self.memory.clone(),
            self.device_memory.clone(),
            Arc::new(io),
            self.control.clone(),
        )))
    }

    /// Creates the VM's one KVM vCPU, which takes the I/O bus: register devices before this.
    pub fn create_vcpu(&mut self) -> Result<Vcpu> {
        let kvm = self.kvm.as_ref().ok_or(VmError::NoKvm)?;
        let prefetched = crate::cpuid::prefetched();
        let fd = kvm
            .fd
            .create_vcpu(0)
            .map_err(kvm_error("create the vCPU"))?;
        let io = self.io.take().ok_or(VmError::VcpuCreated)?;
        let keep_alive = vcpu::KeepAlive {
            memory: self.memory.clone(),
            _device_memory: self.device_memory.clone(),
        };
        Vcpu::new(
            fd,
            &kvm.kvm,
            prefetched,
            Arc::new(io),
            self.control.clone(),
            keep_alive,
        )
    }
}

/// KVM taking over a machine another backend ran: a new KVM VM showing the same memory map
/// (RAM, device memory, the A20 gate's slot), and its vCPU on the same bus and control handle,
/// in its power-on state. The VM must outlive the vCPU (drop the vCPU first).
pub(crate) fn kvm_takeover(
    map: &MemoryMap,
    memory: &GuestMemoryMmap,
    device_memory: &[DeviceMemory],
    io: Arc<IoManager>,
    control: VcpuControl,
) -> Result<(Vcpu, KvmVm)> {
    let kvm_vm = open_kvm()?;
    map.attach(kvm_vm.fd.clone())
        .map_err(kvm_error("map guest memory (KVM_SET_USER_MEMORY_REGION)"))?;
    let fd = kvm_vm
        .fd
        .create_vcpu(0)
        .map_err(kvm_error("create the vCPU"))?;
    let keep_alive = vcpu::KeepAlive {
        memory: memory.clone(),
        _device_memory: device_memory.to_vec(),
    };
    let vcpu = Vcpu::new(fd, &kvm_vm.kvm, None, io, control, keep_alive)?;
    Ok((vcpu, kvm_vm))
}

/// The memory map of `memory`: a slot per RAM region, the region at 1 MiB cut so that its
/// first 64 KiB are a slot of their own (or an empty slot there when no RAM is), and the A20
/// gate over that slot.
fn ram_slots(memory: &GuestMemoryMmap, ram: &[RamRegion]) -> Result<(MemoryMap, A20Gate)> {
    let map = MemoryMap::default();
    map.keep_ram(memory);
    let not_mapped = || VmError::Memory(memory::MemoryError::NotMapped);
    let wrap_end = WRAP_BASE + WRAP_LEN;
    let mut gate_slot = None;
    for region in ram {
        let cuts = if region.base <= WRAP_BASE && wrap_end <= region.end() {
            vec![region.base, WRAP_BASE, wrap_end, region.end()]
        } else {
            vec![region.base, region.end()]
        };
        for piece in cuts.windows(2).filter(|p| p[0] < p[1]) {
            let (base, len) = (piece[0], piece[1] - piece[0]);
            let mapping = Mapping::ram(memory, base, len, base).ok_or_else(not_mapped)?;
            let id = map
                .add(Some(mapping))
                .map_err(kvm_error("map guest memory"))?;
            if base == WRAP_BASE && piece[1] == wrap_end {
                gate_slot = Some((id, Some(mapping)));
            }
        }
    }
    let touches_wrap = memory::overlapping(ram, WRAP_BASE, WRAP_LEN).is_some();
    let (slot, on) = match gate_slot {
        Some(found) => found,
        None => (map.add(None).map_err(kvm_error("map guest memory"))?, None),
    };
    // Folding is only for a stretch that is wholly RAM or wholly nothing.
    let off = (gate_slot.is_some() || !touches_wrap)
        .then(|| Mapping::ram(memory, 0, WRAP_LEN, WRAP_BASE))
        .flatten();
    let a20 = A20Gate::new(map.clone(), slot, on, off);
    Ok((map, a20))
}

/// Opens `/dev/kvm` and creates a VM.
fn open_kvm() -> Result<KvmVm> {
    let kvm = Kvm::new().map_err(kvm_open_error)?;
    let fd = kvm.create_vm().map_err(kvm_error("create a KVM VM"))?;
    if kvm.check_extension(Cap::SetTssAddr) {
        fd.set_tss_address(KVM_TSS_ADDRESS as usize)
            .map_err(kvm_error("set the TSS address (KVM_SET_TSS_ADDR)"))?;
    }
    Ok(KvmVm {
        fd: Arc::new(fd),
        kvm,
    })
}

fn range_error(space: &'static str, base: u64, len: u64) -> impl Fn(&'static str) -> VmError {
    move |reason| VmError::DeviceRange {
        space,
        base,
        len,
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_kvm_open_error_missing_device_says_no_kvm() {
        let err = kvm_open_error(kvm_ioctls::Error::new(libc::ENOENT));
        assert!(err
            .to_string()
            .starts_with("/dev/kvm does not exist: this host has no KVM"));
    }

    #[test]
    fn test_kvm_open_error_permission_names_kvm_group() {
        let err = kvm_open_error(kvm_ioctls::Error::new(libc::EACCES));
        assert_eq!(
            err.to_string(),
            "no permission to open /dev/kvm: add your user to the kvm group \
             (sudo usermod -aG kvm $USER, then log in again) or run as root"
        );
    }

    #[test]
    fn test_kvm_open_error_other_keeps_cause() {
        let err = kvm_open_error(kvm_ioctls::Error::new(libc::EMFILE));
        assert!(matches!(err, VmError::KvmOpen(_)));
    }

    #[test]
    fn test_range_error_names_space_and_reason() {
        let err = range_error("port", 0x60, 2)("overlaps another device");
        assert_eq!(
            err.to_string(),
            "cannot place port range [0x60, +0x2): overlaps another device"
        );
    }
}
