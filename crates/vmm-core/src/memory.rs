//! The guest's RAM: a set of regions, each one KVM memory slot, backed by anonymous mmaps.

use vm_memory::{
    Address, Bytes, GuestAddress, GuestMemoryBackend, GuestMemoryMmap, GuestMemoryRegion,
};

use crate::layout::{GUEST_PHYS_LIMIT, PAGE_SIZE};

/// Errors building or loading guest memory.
#[derive(Debug, thiserror::Error)]
pub enum MemoryError {
    /// The machine has no RAM at all.
    #[error("the machine has no memory regions")]
    NoRegions,
    /// A region has no host mapping (vm-memory could not give its address).
    #[error("guest memory has a region without a host mapping")]
    NotMapped,
    /// A region of size zero.
    #[error("memory region at {base:#x} has size 0")]
    EmptyRegion {
        /// Base of the region.
        base: u64,
    },
    /// Base or size not page aligned.
    #[error("memory region [{base:#x}, +{size:#x}) is not aligned to {PAGE_SIZE:#x} bytes")]
    Unaligned {
        /// Base of the region.
        base: u64,
        /// Size of the region.
        size: u64,
    },
    /// Region ends past the 64-bit address space.
    #[error("memory region at {base:#x} of size {size:#x} ends past the address space")]
    Overflow {
        /// Base of the region.
        base: u64,
        /// Size of the region.
        size: u64,
    },
    /// Region ends past the guest-physical space picovmm supports.
    #[error(
        "memory region [{base:#x}, {end:#x}) ends past {GUEST_PHYS_LIMIT:#x} (64 GiB), the end of the guest-physical space"
    )]
    BeyondLimit {
        /// Base of the region.
        base: u64,
        /// End of the region.
        end: u64,
    },
    /// Two regions overlap.
    #[error("memory region [{base:#x}, {end:#x}) overlaps [{other_base:#x}, {other_end:#x})")]
    Overlap {
        /// Base of the later region.
        base: u64,
        /// End of the later region.
        end: u64,
        /// Base of the region it overlaps.
        other_base: u64,
        /// End of the region it overlaps.
        other_end: u64,
    },
    /// The host refused the memory.
    #[error("cannot allocate {size:#x} bytes of guest memory")]
    Allocate {
        /// Total bytes asked for.
        size: u64,
        /// Why.
        #[source]
        source: vm_memory::mmap::FromRangesError,
    },
    /// An image that does not fit in one RAM region at its load address.
    #[error("image of {len} bytes at {addr:#x} does not fit in guest RAM ({ram})")]
    ImageDoesNotFit {
        /// Load address.
        addr: u64,
        /// Image length.
        len: usize,
        /// The RAM regions, for the message.
        ram: String,
    },
}

/// Result alias for this module.
pub type Result<T> = std::result::Result<T, MemoryError>;

/// One region of guest RAM.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RamRegion {
    /// Guest-physical base.
    pub base: u64,
    /// Size in bytes.
    pub size: u64,
}

impl RamRegion {
    /// The address one past the end (callers validated that it does not overflow).
    pub fn end(&self) -> u64 {
        self.base.saturating_add(self.size)
    }

    /// Whether `[addr, addr + len)` lies inside this region.
    pub fn contains(&self, addr: u64, len: u64) -> bool {
        addr >= self.base && addr.checked_add(len).is_some_and(|end| end <= self.end())
    }
}

/// The first region that overlaps guest-physical `[base, base + len)`, if any.
pub fn overlapping(regions: &[RamRegion], base: u64, len: u64) -> Option<RamRegion> {
    let end = base.saturating_add(len);
    regions
        .iter()
        .copied()
        .find(|r| base < r.end() && r.base < end)
}

/// Checks that regions are non-empty, page aligned, and disjoint.
pub fn validate(regions: &[RamRegion]) -> Result<()> {
    if regions.is_empty() {
        return Err(MemoryError::NoRegions);
    }
    for (i, r) in regions.iter().enumerate() {
        if r.size == 0 {
            return Err(MemoryError::EmptyRegion { base: r.base });
        }
        if r.base % PAGE_SIZE != 0 || r.size % PAGE_SIZE != 0 {
            return Err(MemoryError::Unaligned {
                base: r.base,
                size: r.size,
            });
        }
        if r.base.checked_add(r.size).is_none() {
            return Err(MemoryError::Overflow {
                base: r.base,
                size: r.size,
            });
        }
        if r.end() > GUEST_PHYS_LIMIT {
            return Err(MemoryError::BeyondLimit {
                base: r.base,
                end: r.end(),
            });
        }
        if let Some(o) = regions[..i]
            .iter()
            .find(|o| r.base < o.end() && o.base < r.end())
        {
            return Err(MemoryError::Overlap {
                base: r.base,
                end: r.end(),
                other_base: o.base,
                other_end: o.end(),
            });
        }
    }
    Ok(())
}

/// Allocates guest memory for `regions` (validated first).
pub fn create(regions: &[RamRegion]) -> Result<GuestMemoryMmap> {
    validate(regions)?;
    let mut sorted = regions.to_vec();
    sorted.sort_by_key(|r| r.base);
    let total = sorted.iter().map(|r| r.size).sum();
    let ranges = sorted
        .iter()
        .map(|r| usize::try_from(r.size).map(|size| (GuestAddress(r.base), size)))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|_| MemoryError::Overflow {
            base: 0,
            size: total,
        })?;
    GuestMemoryMmap::from_ranges(&ranges).map_err(|source| MemoryError::Allocate {
        size: total,
        source,
    })
}

/// Copies `image` into guest memory at `addr`; it must fit inside a single region.
pub fn load_image(memory: &GuestMemoryMmap, addr: u64, image: &[u8]) -> Result<()> {
    let fits = memory.iter().any(|region| {
        let r = RamRegion {
            base: region.start_addr().raw_value(),
            size: region.len(),
        };
        r.contains(addr, image.len() as u64)
    });
    if !fits {
        return Err(MemoryError::ImageDoesNotFit {
            addr,
            len: image.len(),
            ram: describe(memory),
        });
    }
    memory
        .write_slice(image, GuestAddress(addr))
        .map_err(|_| MemoryError::ImageDoesNotFit {
            addr,
            len: image.len(),
            ram: describe(memory),
        })
}

/// Reads up to `buf.len()` bytes at `addr`, stopping at the end of RAM; returns how many.
pub fn read_prefix(memory: &GuestMemoryMmap, addr: u64, buf: &mut [u8]) -> usize {
    let mut n = 0;
    while n < buf.len() {
        let Some(at) = addr.checked_add(n as u64) else {
            break;
        };
        if memory
            .read_slice(&mut buf[n..=n], GuestAddress(at))
            .is_err()
        {
            break;
        }
        n += 1;
    }
    n
}

/// "[0x0, 0xa0000)" for each region, for messages.
pub fn describe(memory: &GuestMemoryMmap) -> String {
    let parts: Vec<String> = memory
        .iter()
        .map(|r| {
            let base = r.start_addr().raw_value();
            format!("[{:#x}, {:#x})", base, base + r.len())
        })
        .collect();
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn region(base: u64, size: u64) -> RamRegion {
        RamRegion { base, size }
    }

    #[test]
    fn test_validate_disjoint_regions_is_ok() {
        assert!(validate(&[region(0, 0xA0000), region(0x100000, 0x100000)]).is_ok());
    }

    #[test]
    fn test_validate_overlap_names_both_regions() {
        let err = validate(&[region(0, 0xA0000), region(0x9F000, 0x1000)]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "memory region [0x9f000, 0xa0000) overlaps [0x0, 0xa0000)"
        );
    }

    #[test]
    fn test_validate_unaligned_is_rejected() {
        let err = validate(&[region(0x10, 0x1000)]).unwrap_err();
        assert!(matches!(err, MemoryError::Unaligned { base: 0x10, .. }));
    }

    #[test]
    fn test_validate_empty_region_is_rejected() {
        assert!(matches!(
            validate(&[region(0, 0)]),
            Err(MemoryError::EmptyRegion { base: 0 })
        ));
    }

    #[test]
    fn test_validate_overflowing_region_is_rejected() {
        let err = validate(&[region(u64::MAX - 0xFFF, 0x2000)]).unwrap_err();
        assert!(matches!(err, MemoryError::Overflow { .. }));
    }

    #[test]
    fn test_validate_region_past_phys_limit_is_rejected() {
        let err = validate(&[region(GUEST_PHYS_LIMIT - 0x1000, 0x2000)]).unwrap_err();
        assert!(matches!(err, MemoryError::BeyondLimit { .. }));
    }

    #[test]
    fn test_load_image_inside_region_is_readable() {
        let mem = create(&[region(0, 0x10000)]).expect("allocate");
        load_image(&mem, 0x7C00, &[0xF4]).expect("load");
        let mut byte = [0u8; 1];
        assert_eq!(read_prefix(&mem, 0x7C00, &mut byte), 1);
        assert_eq!(byte, [0xF4]);
    }

    #[test]
    fn test_load_image_past_end_is_rejected() {
        let mem = create(&[region(0, 0x1000)]).expect("allocate");
        let err = load_image(&mem, 0xF00, &[0u8; 0x200]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "image of 512 bytes at 0xf00 does not fit in guest RAM ([0x0, 0x1000))"
        );
    }

    #[test]
    fn test_read_prefix_stops_at_end_of_ram() {
        let mem = create(&[region(0, 0x1000)]).expect("allocate");
        let mut buf = [0u8; 16];
        assert_eq!(read_prefix(&mem, 0xFF8, &mut buf), 8);
    }
}
