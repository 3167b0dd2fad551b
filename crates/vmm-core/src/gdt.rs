//! The flat GDT picovmm writes for protected and long mode entry, and the segment registers
//! that use it.

use kvm_bindings::kvm_segment;

/// Selector of the 32-bit flat code segment.
pub const CODE32_SELECTOR: u16 = 0x08;
/// Selector of the flat data segment.
pub const DATA_SELECTOR: u16 = 0x10;
/// Selector of the 64-bit code segment.
pub const CODE64_SELECTOR: u16 = 0x18;

/// Descriptor flags nibble: G (4 KiB granularity) and D/B (32-bit).
const FLAGS_32: u64 = 0xC;
/// Descriptor flags nibble: G and L (64-bit code).
const FLAGS_64: u64 = 0xA;
/// Access byte: present, ring 0, code, execute/read.
const ACCESS_CODE: u64 = 0x9A;
/// Access byte: present, ring 0, data, read/write.
const ACCESS_DATA: u64 = 0x92;

const fn descriptor(flags: u64, access: u64) -> u64 {
    // Base 0, limit 0xFFFFF (with G, 4 GiB).
    (flags << 52) | (0xF << 48) | (access << 40) | 0xFFFF
}

/// The table: null, code32, data, code64.
pub const GDT: [u64; 4] = [
    0,
    descriptor(FLAGS_32, ACCESS_CODE),
    descriptor(FLAGS_32, ACCESS_DATA),
    descriptor(FLAGS_64, ACCESS_CODE),
];

/// The GDT as bytes, as the guest sees it in memory.
pub fn bytes() -> Vec<u8> {
    GDT.iter().flat_map(|d| d.to_le_bytes()).collect()
}

/// The hidden-part (descriptor cache) value of a segment register loaded with `selector`.
pub fn segment(selector: u16) -> kvm_segment {
    let entry = GDT[usize::from(selector >> 3)];
    let access = (entry >> 40) & 0xFF;
    let flags = (entry >> 52) & 0xF;
    kvm_segment {
        base: 0,
        limit: 0xFFFF_FFFF,
        selector,
        type_: (access & 0xF) as u8,
        present: ((access >> 7) & 1) as u8,
        dpl: ((access >> 5) & 3) as u8,
        db: ((flags >> 2) & 1) as u8,
        s: ((access >> 4) & 1) as u8,
        l: ((flags >> 1) & 1) as u8,
        g: ((flags >> 3) & 1) as u8,
        avl: 0,
        unusable: 0,
        padding: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_gdt_entries_are_the_classic_flat_values() {
        assert_eq!(
            GDT,
            [
                0,
                0x00CF_9A00_0000_FFFF,
                0x00CF_9200_0000_FFFF,
                0x00AF_9A00_0000_FFFF
            ]
        );
    }

    #[test]
    fn test_code64_segment_is_long_mode() {
        let cs = segment(CODE64_SELECTOR);
        assert_eq!((cs.l, cs.db, cs.type_, cs.present), (1, 0, 0xA, 1));
    }

    #[test]
    fn test_data_segment_is_flat_writable() {
        let ds = segment(DATA_SELECTOR);
        assert_eq!(
            (ds.base, ds.limit, ds.type_, ds.db, ds.g),
            (0, 0xFFFF_FFFF, 0x2, 1, 1)
        );
    }
}
