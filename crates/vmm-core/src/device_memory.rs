//! Guest-physical memory that belongs to a device, such as a framebuffer: mapped into the guest
//! like RAM, so the guest's accesses never exit, and read by the VMM when it needs the contents.
//! A read-only window (a ROM) is filled by the VMM; the guest's writes to it go nowhere.

use std::sync::Arc;

use vm_memory::{Bytes, GuestAddress, GuestRegionMmap, MemoryRegionAddress};

/// A device's memory window, shared between the guest (through a KVM memory slot) and the VMM.
#[derive(Clone)]
pub struct DeviceMemory {
    region: Arc<GuestRegionMmap>,
    base: u64,
    read_only: bool,
}

impl DeviceMemory {
    pub(crate) fn new(base: u64, size: usize, read_only: bool) -> Option<Self> {
        let region = GuestRegionMmap::from_range(GuestAddress(base), size, None).ok()?;
        Some(DeviceMemory {
            region: Arc::new(region),
            base,
            read_only,
        })
    }

    /// Whether the guest's writes go nowhere (a ROM).
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// The host address of the byte at `offset`.
    pub(crate) fn host_address(&self, offset: u64) -> Option<usize> {
        use vm_memory::GuestMemoryRegion;
        let host = self
            .region
            .get_host_address(MemoryRegionAddress(offset))
            .ok()?;
        Some(host as usize)
    }

    /// The guest-physical base.
    pub fn base(&self) -> u64 {
        self.base
    }

    /// Copies `buf.len()` bytes from `offset` into `buf`; bytes past the window read as 0xFF.
    pub fn read(&self, offset: u64, buf: &mut [u8]) {
        if self
            .region
            .read_slice(buf, MemoryRegionAddress(offset))
            .is_err()
        {
            buf.fill(0xFF);
        }
    }

    /// A write the guest makes (through the BIOS's services): copied as [`DeviceMemory::write`]
    /// copies, except into a ROM, where it goes nowhere (true: a PC drops it without a fault).
    pub fn guest_write(&self, offset: u64, buf: &[u8]) -> bool {
        self.read_only || self.write(offset, buf)
    }

    /// Copies `buf` into the window at `offset` (the VMM filling it, even a ROM); false, with
    /// nothing written, past its end.
    pub fn write(&self, offset: u64, buf: &[u8]) -> bool {
        let fits = offset
            .checked_add(buf.len() as u64)
            .is_some_and(|end| end <= self.len());
        fits && self
            .region
            .write_slice(buf, MemoryRegionAddress(offset))
            .is_ok()
    }

    /// The window's size in bytes.
    pub fn len(&self) -> u64 {
        use vm_memory::GuestMemoryRegion;
        self.region.len()
    }

    /// Whether the window is empty (never, for a mapped window).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
