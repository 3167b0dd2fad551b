//! The binary is linked with its hot code first (crates/vmm-cli/link/hot-code.ld, through
//! build.rs): its ELF file has the `.text.hot` and `.text.warm` sections, and they hold a good
//! part of the code a run uses. Without them a run keeps about 1.8 MiB more resident.

#![cfg(target_os = "linux")]

/// The sizes of the ELF64 file's sections, by name.
fn sections(elf: &[u8]) -> Vec<(String, u64)> {
    let u16_at = |at: usize| u16::from_le_bytes([elf[at], elf[at + 1]]) as usize;
    let u32_at = |at: usize| u32::from_le_bytes(elf[at..at + 4].try_into().unwrap()) as usize;
    let u64_at = |at: usize| u64::from_le_bytes(elf[at..at + 8].try_into().unwrap());
    assert_eq!(&elf[..5], b"\x7fELF\x02", "an ELF64 file");
    let (table, entry, count, names) = (
        u64_at(0x28) as usize,
        u16_at(0x3A),
        u16_at(0x3C),
        u16_at(0x3E),
    );
    let names_at = u64_at(table + names * entry + 0x18) as usize;
    (0..count)
        .map(|i| {
            let header = table + i * entry;
            let name_at = names_at + u32_at(header);
            let end = elf[name_at..].iter().position(|&b| b == 0).unwrap();
            let name = String::from_utf8_lossy(&elf[name_at..name_at + end]).into_owned();
            (name, u64_at(header + 0x20))
        })
        .collect()
}

#[test]
fn test_the_binary_has_its_hot_code_together() {
    let elf = std::fs::read(env!("CARGO_BIN_EXE_picovmm")).unwrap();

    let sections = sections(&elf);

    let size = |wanted: &str| {
        sections
            .iter()
            .find(|(name, _)| name == wanted)
            .map_or(0, |(_, size)| *size)
    };
    let together = size(".text.hot") + size(".text.warm");
    assert!(
        together > 200 * 1024,
        "hot and warm code: {together} bytes; sections {sections:?}"
    );
    assert!(size(".text") > together, "the rest of the code follows");
}
