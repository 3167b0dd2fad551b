//! Every guest-physical address picovmm itself chooses, in one place.
//!
//! The guest's own memory map (RAM regions, device ranges) comes from the machine description;
//! these are the fixed points of the PC that picovmm's defaults and boot setup use.

/// Top of conventional memory: the default machine's RAM is `[0, LOW_RAM_END)` (640 KiB).
pub const LOW_RAM_END: u64 = 0xA_0000;
/// Start of extended memory, above the legacy hole (1 MiB).
pub const HIGH_RAM_START: u64 = 0x10_0000;
/// Base of the VGA colour text window.
pub const VGA_TEXT_BASE: u64 = 0xB_8000;
/// Where a PC BIOS loads a boot sector, and so the default load address.
pub const BOOT_SECTOR_LOAD: u64 = 0x7C00;
/// Initial real-mode stack pointer (SS = 0): just below the boot sector, as BIOSes leave it.
pub const REAL_MODE_STACK: u64 = 0x7C00;
/// The three pages Intel VMX needs for the real-mode TSS (`KVM_SET_TSS_ADDR`): just below the
/// 4 GiB boundary, where QEMU and Firecracker put them, away from any RAM a machine file can
/// reach in real mode.
pub const KVM_TSS_ADDRESS: u64 = 0xFFFB_D000;
/// Guest memory must be mapped in whole pages.
pub const PAGE_SIZE: u64 = 0x1000;
/// The end of the guest-physical space picovmm lets a machine use: 64 GiB (36 address bits,
/// which every x86-64 CPU has). RAM and device ranges must end at or below it.
pub const GUEST_PHYS_LIMIT: u64 = 1 << 36;
/// The GDT picovmm writes for protected and long mode entry: null, 32-bit code, data, 64-bit
/// code (see `gdt.rs`). In low memory, below the real-mode IVT's traditional BIOS data area end.
pub const BOOT_GDT: u64 = 0x500;
/// The identity page tables picovmm writes for long mode entry: the PML4, then the PDPT, then
/// four page directories of 2 MiB pages mapping the first 4 GiB (see `paging.rs`), 24 KiB.
pub const BOOT_PAGE_TABLES: u64 = 0x9000;
/// The multiboot information structure, its memory map, the command line and the boot loader
/// name, which picovmm writes for a multiboot kernel: one page (see `multiboot.rs`).
pub const MULTIBOOT_INFO: u64 = 0x6000;
