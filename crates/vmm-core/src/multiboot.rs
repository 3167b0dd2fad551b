//! Multiboot (v1) kernels, the format of GRUB-bootable hobby kernels: the header in the first
//! 8 KiB, loading by its address fields or as ELF, and the information structure the kernel
//! receives in EBX (with EAX = 0x2BADB002) when it is entered in 32-bit protected mode.

use vm_memory::GuestMemoryMmap;

use crate::elf;
use crate::layout::MULTIBOOT_INFO;
use crate::memory::RamRegion;

/// The header's magic number.
pub const HEADER_MAGIC: u32 = 0x1BAD_B002;
/// What the kernel finds in EAX.
pub const BOOTLOADER_MAGIC: u32 = 0x2BAD_B002;
/// The header must be in the first 8 KiB, 4-byte aligned.
const SEARCH_BYTES: usize = 8192;
/// Header flag: the address fields are valid (load without ELF).
const FLAG_ADDRESSES: u32 = 1 << 16;
/// Header flags picovmm honours: page-align modules (it loads none), memory information.
const FLAGS_SUPPORTED: u32 = 0b11;
/// Info flags: mem_lower/upper, cmdline, mmap, boot loader name.
const INFO_MEMORY: u32 = 1 << 0;
const INFO_CMDLINE: u32 = 1 << 2;
const INFO_MMAP: u32 = 1 << 6;
const INFO_LOADER_NAME: u32 = 1 << 9;
/// Where in the info page each part goes.
const MMAP_OFFSET: u64 = 0x100;
const NAME_OFFSET: u64 = 0x380;
const CMDLINE_OFFSET: u64 = 0x400;
/// The longest command line (with its NUL) that fits the page.
pub const MAX_CMDLINE: usize = 0xC00 - 1;
/// Memory map entries that fit before the name.
const MAX_MMAP_ENTRIES: usize = ((NAME_OFFSET - MMAP_OFFSET) / 24) as usize;
const LOADER_NAME: &[u8] = b"picovmm\0";

/// Why a multiboot kernel cannot be loaded.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum MultibootError {
    /// The header's checksum does not add up.
    #[error(
        "multiboot header at {offset:#x} has a bad checksum (magic + flags + checksum must be 0)"
    )]
    Checksum {
        /// Where the header is.
        offset: usize,
    },
    /// The kernel asks for something picovmm does not provide.
    #[error("multiboot header asks for features {flags:#x} (video mode, or unknown) that picovmm does not provide; it provides memory information (bits 0-1)")]
    Unsupported {
        /// The unsupported required flags.
        flags: u32,
    },
    /// The address fields are inconsistent with the file.
    #[error("multiboot header's address fields are inconsistent: {0}")]
    Addresses(String),
    /// Without address fields, the kernel must be ELF.
    #[error("multiboot kernel has no address fields and is not loadable ELF: {0}")]
    Elf(#[from] elf::ElfError),
    /// The kernel does not fit in guest RAM.
    #[error("multiboot kernel at [{addr:#x}, +{len:#x}) does not fit in guest RAM")]
    DoesNotFit {
        /// Load address.
        addr: u64,
        /// Bytes.
        len: u64,
    },
    /// The command line is too long for the info page.
    #[error("the command line is {0} bytes; multiboot kernels get at most {MAX_CMDLINE}")]
    CmdlineTooLong(usize),
    /// The info page is not in RAM.
    #[error("multiboot information needs RAM at {MULTIBOOT_INFO:#x}")]
    InfoNotInRam,
}

/// The header's address fields (flag 16).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Addresses {
    /// Where the header is in memory.
    pub header_addr: u32,
    /// Where the file's loaded part starts in memory.
    pub load_addr: u32,
    /// Where it ends (0: the end of the file).
    pub load_end_addr: u32,
    /// Where the zeroed BSS ends (0: no BSS).
    pub bss_end_addr: u32,
    /// The entry point.
    pub entry_addr: u32,
}

/// A multiboot header found in a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Its offset in the file.
    pub offset: usize,
    /// Its flags.
    pub flags: u32,
    /// Its address fields, when flag 16 is set.
    pub addresses: Option<Addresses>,
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    bytes
        .get(at..at + 4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// The multiboot header in the first 8 KiB of `bytes`, if there is one.
pub fn find(bytes: &[u8]) -> Option<Result<Header, MultibootError>> {
    let offset = (0..SEARCH_BYTES.min(bytes.len()))
        .step_by(4)
        .find(|&at| u32_at(bytes, at) == Some(HEADER_MAGIC))?;
    Some(header_at(bytes, offset))
}

fn header_at(bytes: &[u8], offset: usize) -> Result<Header, MultibootError> {
    let field = |i: usize| {
        u32_at(bytes, offset + 4 * i).ok_or_else(|| {
            MultibootError::Addresses("the header runs past the end of the file".into())
        })
    };
    let flags = field(1)?;
    let checksum = field(2)?;
    if HEADER_MAGIC.wrapping_add(flags).wrapping_add(checksum) != 0 {
        return Err(MultibootError::Checksum { offset });
    }
    let required = flags & 0xFFFF & !FLAGS_SUPPORTED;
    if required != 0 {
        return Err(MultibootError::Unsupported { flags: required });
    }
    let addresses = if flags & FLAG_ADDRESSES != 0 {
        Some(Addresses {
            header_addr: field(3)?,
            load_addr: field(4)?,
            load_end_addr: field(5)?,
            bss_end_addr: field(6)?,
            entry_addr: field(7)?,
        })
    } else {
        None
    };
    Ok(Header {
        offset,
        flags,
        addresses,
    })
}

/// What loading placed where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// What goes where: file bytes to guest addresses, the rest of each memory size zeroed.
    pub segments: Vec<elf::Segment>,
    /// The entry point.
    pub entry: u64,
}

/// Where the kernel in `bytes` goes, by its header's address fields or as ELF.
pub fn plan(bytes: &[u8], header: &Header) -> Result<Plan, MultibootError> {
    let Some(a) = header.addresses else {
        let image = elf::parse(bytes)?;
        if image.is_64 {
            return Err(MultibootError::Elf(elf::ElfError::Unsupported(
                "a multiboot kernel is 32-bit ELF".into(),
            )));
        }
        return Ok(Plan {
            segments: image.segments,
            entry: image.entry,
        });
    };
    let bad = |m: &str| MultibootError::Addresses(m.to_owned());
    if a.load_addr > a.header_addr {
        return Err(bad("load_addr is above header_addr"));
    }
    let file_start = (header.offset as u64)
        .checked_sub(u64::from(a.header_addr - a.load_addr))
        .ok_or_else(|| bad("load_addr would start before the file"))?;
    let load_end = if a.load_end_addr == 0 {
        u64::from(a.load_addr) + (bytes.len() as u64 - file_start)
    } else {
        u64::from(a.load_end_addr)
    };
    let file_bytes = load_end
        .checked_sub(u64::from(a.load_addr))
        .filter(|n| file_start + n <= bytes.len() as u64)
        .ok_or_else(|| bad("load_end_addr is before load_addr or past the end of the file"))?;
    let mem_end = if a.bss_end_addr == 0 {
        load_end
    } else {
        u64::from(a.bss_end_addr).max(load_end)
    };
    Ok(Plan {
        segments: vec![elf::Segment {
            addr: u64::from(a.load_addr),
            offset: file_start,
            file_size: file_bytes,
            mem_size: mem_end - u64::from(a.load_addr),
        }],
        entry: u64::from(a.entry_addr),
    })
}

/// Copies the kernel into guest memory by `plan`.
pub fn load(memory: &GuestMemoryMmap, bytes: &[u8], plan: &Plan) -> Result<(), MultibootError> {
    elf::load_segments(memory, bytes, &plan.segments).map_err(|e| match e {
        elf::ElfError::DoesNotFit { addr, len, .. } => MultibootError::DoesNotFit { addr, len },
        other => MultibootError::Elf(other),
    })
}

/// Whether `cmdline` fits the information page.
pub fn check_cmdline(cmdline: &str) -> Result<(), MultibootError> {
    if cmdline.len() > MAX_CMDLINE {
        return Err(MultibootError::CmdlineTooLong(cmdline.len()));
    }
    Ok(())
}

/// The information structure for a machine with `ram` and `cmdline`, as bytes for
/// `layout::MULTIBOOT_INFO`.
pub fn info(ram: &[RamRegion], cmdline: &str) -> Result<Vec<u8>, MultibootError> {
    check_cmdline(cmdline)?;
    let kib = |bytes: u64| u32::try_from(bytes / 1024).unwrap_or(u32::MAX);
    let lower = ram
        .iter()
        .find(|r| r.base == 0)
        .map_or(0, |r| r.size.min(0xA_0000));
    let upper = ram
        .iter()
        .find(|r| r.base == 0x10_0000)
        .map_or(0, |r| r.size);
    let mut page = vec![0u8; 0x1000];
    let mut put = |at: u64, value: u32| {
        page[at as usize..at as usize + 4].copy_from_slice(&value.to_le_bytes())
    };
    let mut regions = ram.to_vec();
    regions.sort_by_key(|r| r.base);
    regions.truncate(MAX_MMAP_ENTRIES);
    put(0, INFO_MEMORY | INFO_CMDLINE | INFO_MMAP | INFO_LOADER_NAME);
    put(4, kib(lower));
    put(8, kib(upper));
    put(16, (MULTIBOOT_INFO + CMDLINE_OFFSET) as u32);
    put(44, (regions.len() * 24) as u32);
    put(48, (MULTIBOOT_INFO + MMAP_OFFSET) as u32);
    put(64, (MULTIBOOT_INFO + NAME_OFFSET) as u32);
    for (i, r) in regions.iter().enumerate() {
        let at = (MMAP_OFFSET + i as u64 * 24) as usize;
        page[at..at + 4].copy_from_slice(&20u32.to_le_bytes()); // size of the rest of the entry
        page[at + 4..at + 12].copy_from_slice(&r.base.to_le_bytes());
        page[at + 12..at + 20].copy_from_slice(&r.size.to_le_bytes());
        page[at + 20..at + 24].copy_from_slice(&1u32.to_le_bytes()); // available RAM
    }
    page[NAME_OFFSET as usize..NAME_OFFSET as usize + LOADER_NAME.len()]
        .copy_from_slice(LOADER_NAME);
    page[CMDLINE_OFFSET as usize..CMDLINE_OFFSET as usize + cmdline.len()]
        .copy_from_slice(cmdline.as_bytes());
    Ok(page)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(flags: u32, addresses: &[u32]) -> Vec<u8> {
        let mut h = Vec::new();
        for v in [
            HEADER_MAGIC,
            flags,
            0u32.wrapping_sub(HEADER_MAGIC).wrapping_sub(flags),
        ] {
            h.extend_from_slice(&v.to_le_bytes());
        }
        for v in addresses {
            h.extend_from_slice(&v.to_le_bytes());
        }
        h
    }

    #[test]
    fn test_find_header_after_code() {
        let mut file = vec![0x90u8; 16];
        file.extend(header(3, &[]));
        assert_eq!(
            find(&file),
            Some(Ok(Header {
                offset: 16,
                flags: 3,
                addresses: None
            }))
        );
    }

    #[test]
    fn test_find_none_in_plain_binary() {
        assert_eq!(find(&[0xF4; 64]), None);
    }

    #[test]
    fn test_bad_checksum_is_refused() {
        let mut file = header(3, &[]);
        file[8] ^= 1;
        assert_eq!(
            find(&file),
            Some(Err(MultibootError::Checksum { offset: 0 }))
        );
    }

    #[test]
    fn test_video_flag_is_refused() {
        assert_eq!(
            find(&header(1 << 2, &[])),
            Some(Err(MultibootError::Unsupported { flags: 4 }))
        );
    }

    #[test]
    fn test_plan_by_address_fields_loads_whole_file_and_bss() {
        // Header at file offset 0, loaded at 1 MiB, file to its end, BSS to 1 MiB + 0x100.
        let mut file = header(
            FLAG_ADDRESSES | 3,
            &[0x10_0000, 0x10_0000, 0, 0x10_0100, 0x10_0020],
        );
        file.resize(0x40, 0xF4);
        let h = find(&file).expect("header").expect("valid");
        assert_eq!(
            plan(&file, &h),
            Ok(Plan {
                segments: vec![elf::Segment {
                    addr: 0x10_0000,
                    offset: 0,
                    file_size: 0x40,
                    mem_size: 0x100,
                }],
                entry: 0x10_0020
            })
        );
    }

    #[test]
    fn test_info_reports_memory_cmdline_and_map() {
        let ram = [
            RamRegion {
                base: 0,
                size: 0xA_0000,
            },
            RamRegion {
                base: 0x10_0000,
                size: 0xF0_0000,
            },
        ];
        let page = info(&ram, "console=ttyS0").expect("info");
        let word =
            |at: usize| u32::from_le_bytes([page[at], page[at + 1], page[at + 2], page[at + 3]]);
        assert_eq!((word(0), word(4), word(8)), (0x245, 640, 15 * 1024));
        assert_eq!(&page[0x400..0x40E], b"console=ttyS0\0");
        assert_eq!((word(44), word(0x100), word(0x100 + 20)), (48, 20, 1));
    }
}
