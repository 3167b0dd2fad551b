//! The identity page tables picovmm writes for long mode entry: virtual = physical for the
//! first 4 GiB, in 2 MiB pages.

/// Page-table entry bits: present, writable.
const PRESENT_WRITABLE: u64 = 0b11;
/// Page-directory entry bit: this entry maps a 2 MiB page.
const PAGE_SIZE_2M: u64 = 1 << 7;
/// Bytes a page directory entry maps.
const TWO_MIB: u64 = 2 << 20;
/// Page directories needed for 4 GiB.
const DIRECTORIES: u64 = 4;
/// Entries per table.
const ENTRIES: u64 = 512;
/// Bytes per table.
const TABLE_BYTES: u64 = 4096;
/// Bytes of all the tables: PML4, PDPT, four page directories.
pub const TABLES_BYTES: u64 = TABLE_BYTES * (2 + DIRECTORIES);

/// The tables as bytes, to be placed at guest-physical `base` (page aligned); CR3 = `base`.
pub fn identity_tables(base: u64) -> Vec<u8> {
    let pdpt = base + TABLE_BYTES;
    let first_pd = pdpt + TABLE_BYTES;
    let mut entries = vec![0u64; (TABLES_BYTES / 8) as usize];
    entries[0] = pdpt | PRESENT_WRITABLE;
    for d in 0..DIRECTORIES {
        entries[(ENTRIES + d) as usize] = (first_pd + d * TABLE_BYTES) | PRESENT_WRITABLE;
        for e in 0..ENTRIES {
            let page = (d * ENTRIES + e) * TWO_MIB;
            entries[(ENTRIES * (2 + d) + e) as usize] = page | PAGE_SIZE_2M | PRESENT_WRITABLE;
        }
    }
    entries.iter().flat_map(|e| e.to_le_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(tables: &[u8], index: usize) -> u64 {
        let mut b = [0u8; 8];
        b.copy_from_slice(&tables[index * 8..index * 8 + 8]);
        u64::from_le_bytes(b)
    }

    #[test]
    fn test_identity_tables_pml4_points_at_pdpt() {
        assert_eq!(entry(&identity_tables(0x9000), 0), 0xA003);
    }

    #[test]
    fn test_identity_tables_map_last_2mib_of_4gib() {
        let tables = identity_tables(0x9000);
        let last = (ENTRIES * 2 + DIRECTORIES * ENTRIES - 1) as usize;
        assert_eq!(entry(&tables, last), 0xFFE0_0000 | 0x83);
    }
}
