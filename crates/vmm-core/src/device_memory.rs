//! Guest-physical memory that belongs to a device, such as a framebuffer: mapped into the guest
//! like RAM, so the guest's accesses never exit, and read by the VMM when it needs the contents.

use std::sync::Arc;

use vm_memory::{Bytes, GuestAddress, GuestRegionMmap, MemoryRegionAddress};

/// A device's memory window, shared between the guest (through a KVM memory slot) and the VMM.
#[derive(Clone)]
pub struct DeviceMemory {
    region: Arc<GuestRegionMmap>,
    base: u64,
}

impl DeviceMemory {
    pub(crate) fn new(base: u64, size: usize) -> Option<Self> {
        let region = GuestRegionMmap::from_range(GuestAddress(base), size, None).ok()?;
        Some(DeviceMemory {
            region: Arc::new(region),
            base,
        })
    }

    pub(crate) fn region(&self) -> &GuestRegionMmap {
        &self.region
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

    /// Copies `buf` into the window at `offset`; false, with nothing written, past its end.
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
