//! The interpreter's view of the machine: guest RAM and device memory read and written in
//! place, everything else on the port and MMIO bus, exactly as KVM's exits reach it.

use std::sync::Arc;

use vm_device::bus::MmioAddress;
use vm_device::device_manager::{IoManager, MmioManager};
use vm_memory::GuestMemoryMmap;

use crate::device_memory::DeviceMemory;
use crate::exit::{Access, Space};
use crate::memory_map::MemoryMap;

/// The most unclaimed accesses one instruction reports (more than the log ever shows).
const MAX_UNCLAIMED_PER_STEP: usize = 64;

/// A stretch of memory the guest reads and writes directly.
struct Window {
    base: u32,
    len: u32,
    host: *mut u8,
    /// A ROM: the guest's writes go nowhere.
    read_only: bool,
}

/// Guest memory and the bus, as the interpreter reaches them.
pub(super) struct GuestBus {
    windows: Vec<Window>,
    /// The memory map `windows` show, and its generation when they were built.
    map: MemoryMap,
    seen: u64,
    /// The window the last access hit, tried first.
    last: usize,
    io: Arc<IoManager>,
    /// Kept alive as long as `windows` point into them.
    _memory: GuestMemoryMmap,
    _device_memory: Vec<DeviceMemory>,
    /// The firmware's port: a write there stops the CPU (the run loop decides whether it is a
    /// call), and goes nowhere else.
    pub firmware_port: Option<u16>,
    /// A write to the firmware's port waits for the run loop: its value.
    pub firmware_write: Option<u32>,
    /// The accesses no device claimed since the run loop last looked (a `rep` string
    /// instruction makes many; at most [`MAX_UNCLAIMED_PER_STEP`] are kept).
    pub unclaimed: Vec<Access>,
    /// Port and MMIO reads and writes, by kind, as KVM would have counted exits.
    pub counts: [u64; 4],
    /// A device was accessed since the run loop last looked (it may have asked for a stop).
    pub touched: bool,
    /// The CPU fetched an instruction byte where there is no memory.
    pub fetched_outside: bool,
    /// What CPUID answers, read when the guest first asks.
    cpuid: Option<Vec<kvm_bindings::kvm_cpuid_entry2>>,
    /// The host's time-stamp counter when the bus was made: RDTSC counts from there.
    tsc_origin: u64,
}

// SAFETY: the raw pointers in `windows` point into mappings the memory map keeps alive (and
// `_memory`, `_device_memory`), which this struct holds; the bus is used by one thread at a time.
unsafe impl Send for GuestBus {}

impl GuestBus {
    pub fn new(
        map: MemoryMap,
        memory: GuestMemoryMmap,
        device_memory: Vec<DeviceMemory>,
        io: Arc<IoManager>,
    ) -> GuestBus {
        let mut bus = GuestBus {
            windows: Vec::new(),
            seen: map.generation().wrapping_sub(1),
            map,
            last: 0,
            io,
            _memory: memory,
            _device_memory: device_memory,
            firmware_port: None,
            firmware_write: None,
            unclaimed: Vec::new(),
            counts: [0; 4],
            touched: false,
            fetched_outside: false,
            cpuid: None,
            tsc_origin: host_time_stamp(),
        };
        bus.refresh();
        bus
    }

    /// Builds the windows again when the memory map changed (a device or the BIOS switched
    /// the A20 gate or a VGA window) since they were built.
    #[inline]
    pub fn refresh(&mut self) {
        let generation = self.map.generation();
        if generation == self.seen {
            return;
        }
        self.seen = generation;
        self.windows = self
            .map
            .mappings()
            .into_iter()
            .map(|m| Window {
                base: m.base as u32,
                len: m.len.min(u64::from(u32::MAX)) as u32,
                host: m.host(),
                read_only: m.read_only,
            })
            .collect();
        self.last = 0;
    }

    /// The memory map.
    pub fn map(&self) -> &MemoryMap {
        &self.map
    }

    /// Guest RAM.
    pub fn memory(&self) -> &GuestMemoryMmap {
        &self._memory
    }

    /// The port and MMIO bus.
    pub fn io(&self) -> &IoManager {
        &self.io
    }

    /// The bus, shared.
    pub fn io_shared(&self) -> Arc<IoManager> {
        self.io.clone()
    }

    /// The device memory windows.
    pub fn device_memory(&self) -> &[DeviceMemory] {
        &self._device_memory
    }

    /// The host address of guest-physical `addr`, when it is memory.
    #[inline]
    fn host(&mut self, addr: u32) -> Option<*mut u8> {
        let hit = |w: &Window| addr.wrapping_sub(w.base) < w.len;
        if let Some(w) = self.windows.get(self.last).filter(|w| hit(w)) {
            // SAFETY: `addr - base < len`, inside the window's mapping.
            return Some(unsafe { w.host.add((addr - w.base) as usize) });
        }
        let i = self.windows.iter().position(hit)?;
        self.last = i;
        let w = &self.windows[i];
        // SAFETY: as above.
        Some(unsafe { w.host.add((addr - w.base) as usize) })
    }

    fn mmio_read(&mut self, addr: u32, data: &mut [u8]) {
        self.counts[2] += 1;
        self.touched = true;
        data.fill(0);
        if self
            .io
            .mmio_read(MmioAddress(u64::from(addr)), data)
            .is_err()
        {
            data.fill(0xFF);
            self.note_unclaimed(Space::Mmio, u64::from(addr), data, false);
        }
    }

    fn mmio_write(&mut self, addr: u32, data: &[u8]) {
        self.counts[3] += 1;
        self.touched = true;
        if self
            .io
            .mmio_write(MmioAddress(u64::from(addr)), data)
            .is_err()
        {
            self.note_unclaimed(Space::Mmio, u64::from(addr), data, true);
        }
    }

    fn note_unclaimed(&mut self, space: Space, addr: u64, data: &[u8], write: bool) {
        if self.unclaimed.len() < MAX_UNCLAIMED_PER_STEP {
            self.unclaimed.push(Access::new(space, addr, data, write));
        }
    }

    /// A `size`-byte read at `addr`: from memory when all of it is memory, else one access of
    /// that width on the bus (as a KVM exit would be). The way for what is not all in one
    /// window ([`GuestBus::read_in_window`] is the common one).
    #[cold]
    #[inline(never)]
    fn read_wide(&mut self, addr: u32, size: usize) -> u32 {
        let mut bytes = [0u8; 4];
        if self.in_memory(addr, size) {
            for (i, b) in bytes[..size].iter_mut().enumerate() {
                *b = vmm_interp::Bus::read8(self, addr.wrapping_add(i as u32));
            }
        } else {
            self.mmio_read(addr, &mut bytes[..size]);
        }
        u32::from_le_bytes(bytes)
    }

    /// A `size`-byte write, as [`GuestBus::read_wide`] reads.
    #[cold]
    #[inline(never)]
    fn write_wide(&mut self, addr: u32, size: usize, value: u32) {
        let bytes = value.to_le_bytes();
        if self.in_memory(addr, size) {
            for (i, &b) in bytes[..size].iter().enumerate() {
                vmm_interp::Bus::write8(self, addr.wrapping_add(i as u32), b);
            }
        } else {
            self.mmio_write(addr, &bytes[..size]);
        }
    }

    /// `N` bytes at `addr`, when they are all in one window of memory.
    #[inline]
    fn read_in_window<const N: usize>(&mut self, addr: u32) -> Option<[u8; N]> {
        let p = self.within_window(addr, N)?;
        // SAFETY: `within_window` checked that the window holds `N` bytes from `p`; an array
        // of bytes needs no alignment.
        Some(unsafe { p.cast::<[u8; N]>().read_volatile() })
    }

    /// Writes `bytes` at `addr` when they all fall in one window of memory (a ROM's window
    /// takes and drops them); false when they do not.
    #[inline]
    fn write_in_window<const N: usize>(&mut self, addr: u32, bytes: [u8; N]) -> bool {
        let Some(p) = self.within_window(addr, N) else {
            return false;
        };
        if !self.windows[self.last].read_only {
            // SAFETY: as in `read_in_window`.
            unsafe { p.cast::<[u8; N]>().write_volatile(bytes) };
        }
        true
    }

    /// The host address of `len` bytes at `addr`, when they are all in one window (then the
    /// window is `last`): a word's bytes found with one lookup instead of one each.
    #[inline]
    fn within_window(&mut self, addr: u32, len: usize) -> Option<*mut u8> {
        let p = self.host(addr)?;
        let w = &self.windows[self.last];
        (u64::from(addr - w.base) + len as u64 <= u64::from(w.len)).then_some(p)
    }

    /// The host address of `len` bytes of code at `addr`, when they are all in one window.
    #[inline]
    fn code(&mut self, addr: u32, len: usize) -> Option<*const u8> {
        self.within_window(addr, len).map(<*mut u8>::cast_const)
    }

    /// Whether `[addr, addr + size)` is all memory (RAM or device memory).
    fn in_memory(&mut self, addr: u32, size: usize) -> bool {
        self.host(addr).is_some() && self.host(addr.wrapping_add(size as u32 - 1)).is_some()
    }
}

impl vmm_interp::Bus for GuestBus {
    #[inline]
    fn read8(&mut self, addr: u32) -> u8 {
        match self.host(addr) {
            // SAFETY: `host` points into a live mapping of guest memory.
            Some(p) => unsafe { p.read_volatile() },
            None => {
                let mut b = [0u8; 1];
                self.mmio_read(addr, &mut b);
                b[0]
            }
        }
    }

    #[inline]
    fn write8(&mut self, addr: u32, value: u8) {
        match self.host(addr) {
            // `host` found the window and made it `last`: a ROM's writes go nowhere.
            Some(_) if self.windows[self.last].read_only => {}
            // SAFETY: `host` points into a live mapping of guest memory.
            Some(p) => unsafe { p.write_volatile(value) },
            None => self.mmio_write(addr, &[value]),
        }
    }

    #[inline]
    fn read16(&mut self, addr: u32) -> u16 {
        match self.read_in_window(addr) {
            Some(bytes) => u16::from_le_bytes(bytes),
            None => self.read_wide(addr, 2) as u16,
        }
    }

    #[inline]
    fn write16(&mut self, addr: u32, value: u16) {
        if !self.write_in_window(addr, value.to_le_bytes()) {
            self.write_wide(addr, 2, u32::from(value));
        }
    }

    #[inline]
    fn read32(&mut self, addr: u32) -> u32 {
        match self.read_in_window(addr) {
            Some(bytes) => u32::from_le_bytes(bytes),
            None => self.read_wide(addr, 4),
        }
    }

    #[inline]
    fn write32(&mut self, addr: u32, value: u32) {
        if !self.write_in_window(addr, value.to_le_bytes()) {
            self.write_wide(addr, 4, value);
        }
    }

    fn fetch8(&mut self, addr: u32) -> u8 {
        match self.host(addr) {
            // SAFETY: `host` points into a live mapping of guest memory.
            Some(p) => unsafe { p.read_volatile() },
            None => {
                self.fetched_outside = true;
                0xF4
            }
        }
    }

    fn read_code(&mut self, addr: u32, out: &mut [u8]) -> bool {
        let Some(p) = self.code(addr, out.len()) else {
            return false;
        };
        // SAFETY: `code` checked that the window holds all `out.len()` bytes from `p`; `out`
        // is a separate buffer of the CPU's.
        unsafe { std::ptr::copy_nonoverlapping(p, out.as_mut_ptr(), out.len()) };
        true
    }

    #[inline]
    fn code_matches(&mut self, addr: u32, expected: &[u8]) -> bool {
        let Some(p) = self.code(addr, expected.len()) else {
            return false;
        };
        // Eight bytes at a time: a block's bytes are few, and a call to memcmp cost more than
        // the comparison.
        let mut chunks = expected.chunks_exact(8);
        for (i, chunk) in chunks.by_ref().enumerate() {
            let want = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
            // SAFETY: `code` checked that the window holds `expected.len()` bytes from `p`,
            // and this chunk lies inside them.
            let have = unsafe { p.add(i * 8).cast::<u64>().read_unaligned() };
            if u64::from_le(have) != want {
                return false;
            }
        }
        let done = expected.len() - chunks.remainder().len();
        chunks.remainder().iter().enumerate().all(|(i, &b)| {
            // SAFETY: as above, for the bytes after the whole chunks.
            unsafe { p.add(done + i).read() == b }
        })
    }

    #[inline]
    fn device_touched(&self) -> bool {
        self.touched
    }

    fn io_in(&mut self, port: u16, size: u8) -> u32 {
        self.counts[0] += 1;
        self.touched = true;
        let mut data = [0xFFu8; 4];
        let data = &mut data[..usize::from(size)];
        if !crate::exit::port_read(&self.io, port, data) {
            let data = data.to_vec();
            self.note_unclaimed(Space::Port, u64::from(port), &data, false);
        }
        let mut value = [0u8; 4];
        value[..data.len()].copy_from_slice(data);
        u32::from_le_bytes(value)
    }

    fn io_out(&mut self, port: u16, size: u8, value: u32) -> bool {
        self.counts[1] += 1;
        self.touched = true;
        if Some(port) == self.firmware_port {
            self.firmware_write = Some(value);
            return true;
        }
        let bytes = value.to_le_bytes();
        if !crate::exit::port_write(&self.io, port, &bytes[..usize::from(size)]) {
            self.note_unclaimed(
                Space::Port,
                u64::from(port),
                &bytes[..usize::from(size)],
                true,
            );
        }
        false
    }

    fn time_stamp(&mut self, _executed: u64) -> u64 {
        host_time_stamp().wrapping_sub(self.tsc_origin)
    }

    fn cpuid(&mut self, leaf: u32, subleaf: u32) -> [u32; 4] {
        // With KVM on this host, the machine may be handed over to it: the guest sees the
        // table KVM's vCPU has (less the x87); without, the interpreter's own CPU.
        let table = self
            .cpuid
            .get_or_insert_with(|| crate::cpuid::kvm_table_for_interp().unwrap_or_default());
        if table.is_empty() {
            return crate::cpuid::interp_leaf(leaf, subleaf);
        }
        crate::cpuid::lookup(table, leaf, subleaf)
    }
}

/// A time-stamp counter that runs with the host's clock: on x86-64 the host's own TSC (so a
/// guest that calibrates it against the PIT, or reads its frequency from CPUID, measures time
/// right whatever its instruction rate), elsewhere nanoseconds since the first call (1 GHz).
fn host_time_stamp() -> u64 {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: RDTSC exists on every x86-64 CPU and has no effect but reading the counter.
        unsafe { std::arch::x86_64::_rdtsc() }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
        START
            .get_or_init(std::time::Instant::now)
            .elapsed()
            .as_nanos() as u64
    }
}
