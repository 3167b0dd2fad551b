//! Loading ELF executables (32- and 64-bit x86) by their program headers: each `PT_LOAD`
//! segment's file bytes are copied to its physical address and the rest of its memory size
//! zeroed. (rust-vmm's linux-loader loads only 64-bit vmlinux images; multiboot kernels are
//! 32-bit ELF, so picovmm reads both classes itself.) Every field is checked against the file
//! and against guest RAM before anything is written.
//!
//! One exception: a segment that holds nothing but the ELF and program headers and lies in the
//! PC's legacy hole (0xA0000-0xFFFFF, VGA memory and ROMs, never RAM) is not loaded. Debian's
//! gcc links position-independent executables by default, which puts such a segment just below
//! a kernel linked at 1 MiB (at 0xff000); QEMU loads it into its ROM area, and no kernel reads
//! it. A segment there with code or data is still refused by the caller's RAM check.

use vm_memory::GuestMemoryMmap;

use crate::layout::{HIGH_RAM_START, LOW_RAM_END};
use crate::memory;

const MAGIC: &[u8; 4] = b"\x7fELF";
const CLASS_32: u8 = 1;
const CLASS_64: u8 = 2;
const LITTLE_ENDIAN: u8 = 1;
const TYPE_EXEC: u16 = 2;
const MACHINE_386: u16 = 3;
const MACHINE_X86_64: u16 = 62;
const PT_LOAD: u32 = 1;

/// Why a file is not a loadable ELF executable.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ElfError {
    /// Not an ELF file at all.
    #[error("not an ELF file (no \\x7fELF magic)")]
    NotElf,
    /// An ELF file picovmm cannot run.
    #[error("unsupported ELF file: {0}")]
    Unsupported(String),
    /// A header or segment points outside the file.
    #[error("malformed ELF file: {0}")]
    Malformed(String),
    /// A segment does not fit in guest RAM.
    #[error("ELF segment {index} at [{addr:#x}, +{len:#x}) does not fit in guest RAM")]
    DoesNotFit {
        /// Program header index.
        index: usize,
        /// Physical address.
        addr: u64,
        /// Memory size.
        len: u64,
    },
}

/// A loadable segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    /// Offset of its bytes in the file.
    pub offset: u64,
    /// Bytes in the file.
    pub file_size: u64,
    /// Physical load address.
    pub addr: u64,
    /// Bytes in memory (the rest zeroed).
    pub mem_size: u64,
}

impl Segment {
    /// Whether the segment holds only the file's first `headers_end` bytes (the ELF and
    /// program headers).
    fn is_headers_only(&self, headers_end: u64) -> bool {
        self.offset == 0 && self.file_size == self.mem_size && self.file_size <= headers_end
    }

    /// Whether any of the segment lies in the PC's legacy hole (VGA memory and ROMs).
    fn in_legacy_hole(&self) -> bool {
        let end = self.addr.saturating_add(self.mem_size);
        self.addr < HIGH_RAM_START && end > LOW_RAM_END
    }
}

/// What an ELF file says about itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ElfImage {
    /// 64-bit (x86-64) rather than 32-bit (i386).
    pub is_64: bool,
    /// Entry point.
    pub entry: u64,
    /// The `PT_LOAD` segments.
    pub segments: Vec<Segment>,
}

fn field(bytes: &[u8], at: usize, len: usize) -> Result<u64, ElfError> {
    let slice = bytes.get(at..at + len).ok_or_else(|| {
        ElfError::Malformed(format!("a header at {at:#x} runs past the end of the file"))
    })?;
    let mut buf = [0u8; 8];
    buf[..len].copy_from_slice(slice);
    Ok(u64::from_le_bytes(buf))
}

/// Whether `bytes` starts like an ELF file.
pub fn is_elf(bytes: &[u8]) -> bool {
    bytes.starts_with(MAGIC)
}

/// Parses the headers of an ELF executable.
pub fn parse(bytes: &[u8]) -> Result<ElfImage, ElfError> {
    if !is_elf(bytes) {
        return Err(ElfError::NotElf);
    }
    let class = *bytes.get(4).ok_or(ElfError::NotElf)?;
    if bytes.get(5) != Some(&LITTLE_ENDIAN) {
        return Err(ElfError::Unsupported("not little-endian".into()));
    }
    let is_64 = match class {
        CLASS_32 => false,
        CLASS_64 => true,
        other => return Err(ElfError::Unsupported(format!("ELF class {other}"))),
    };
    let e_type = field(bytes, 16, 2)? as u16;
    let machine = field(bytes, 18, 2)? as u16;
    if e_type != TYPE_EXEC {
        return Err(ElfError::Unsupported(format!(
            "type {e_type}, not an executable (ET_EXEC)"
        )));
    }
    match (is_64, machine) {
        (false, MACHINE_386) | (true, MACHINE_X86_64) => {}
        _ => return Err(ElfError::Unsupported(format!("machine {machine}, not x86"))),
    }
    // Offsets of e_entry, e_phoff, e_phentsize, e_phnum and the width of addresses.
    let (entry_at, phoff_at, phentsize_at, phnum_at, word) = if is_64 {
        (24, 32, 54, 56, 8)
    } else {
        (24, 28, 42, 44, 4)
    };
    let entry = field(bytes, entry_at, word)?;
    let phoff = field(bytes, phoff_at, word)? as usize;
    let phentsize = field(bytes, phentsize_at, 2)? as usize;
    let phnum = field(bytes, phnum_at, 2)? as usize;
    let min_entry = if is_64 { 56 } else { 32 };
    if phentsize < min_entry {
        return Err(ElfError::Malformed(format!(
            "program header entries of {phentsize} bytes"
        )));
    }
    // The ELF header and the program headers: a segment holding nothing else is the linker's
    // copy of them, which no kernel needs in memory.
    let headers_end = phoff
        .saturating_add(phnum.saturating_mul(phentsize))
        .max(if is_64 { 64 } else { 52 }) as u64;
    let mut segments = Vec::new();
    for i in 0..phnum {
        let at = phoff.checked_add(i * phentsize).ok_or_else(|| {
            ElfError::Malformed("program headers past the end of the file".into())
        })?;
        if field(bytes, at, 4)? as u32 != PT_LOAD {
            continue;
        }
        let s = if is_64 {
            Segment {
                offset: field(bytes, at + 8, 8)?,
                addr: field(bytes, at + 24, 8)?,
                file_size: field(bytes, at + 32, 8)?,
                mem_size: field(bytes, at + 40, 8)?,
            }
        } else {
            Segment {
                offset: field(bytes, at + 4, 4)?,
                addr: field(bytes, at + 12, 4)?,
                file_size: field(bytes, at + 16, 4)?,
                mem_size: field(bytes, at + 20, 4)?,
            }
        };
        if s.offset
            .checked_add(s.file_size)
            .is_none_or(|end| end > bytes.len() as u64)
        {
            return Err(ElfError::Malformed(format!(
                "segment {i}'s bytes run past the end of the file"
            )));
        }
        if s.file_size > s.mem_size {
            return Err(ElfError::Malformed(format!(
                "segment {i} has more file bytes than memory"
            )));
        }
        if s.is_headers_only(headers_end) && s.in_legacy_hole() {
            continue;
        }
        segments.push(s);
    }
    if segments.is_empty() {
        return Err(ElfError::Malformed("no loadable (PT_LOAD) segment".into()));
    }
    Ok(ElfImage {
        is_64,
        entry,
        segments,
    })
}

/// Copies `image`'s segments from `bytes` into guest memory, zeroing each segment's tail.
pub fn load(memory: &GuestMemoryMmap, bytes: &[u8], image: &ElfImage) -> Result<(), ElfError> {
    load_segments(memory, bytes, &image.segments)
}

/// Copies each segment's file bytes from `bytes` to its address and zeroes the rest of its
/// memory size: the one loader behind ELF and multiboot images.
pub fn load_segments(
    memory: &GuestMemoryMmap,
    bytes: &[u8],
    segments: &[Segment],
) -> Result<(), ElfError> {
    for (index, s) in segments.iter().enumerate() {
        let does_not_fit = || ElfError::DoesNotFit {
            index,
            addr: s.addr,
            len: s.mem_size,
        };
        let mem_size = usize::try_from(s.mem_size).map_err(|_| does_not_fit())?;
        let mut contents = vec![0u8; mem_size];
        let (start, len) = (s.offset as usize, s.file_size as usize);
        let file_bytes = start
            .checked_add(len)
            .and_then(|end| bytes.get(start..end))
            .filter(|_| len <= mem_size)
            .ok_or_else(does_not_fit)?;
        contents[..len].copy_from_slice(file_bytes);
        memory::load_image(memory, s.addr, &contents).map_err(|_| does_not_fit())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal ELF32 executable with one segment of `code` at 0x100000.
    fn elf32(code: &[u8]) -> Vec<u8> {
        let mut f = vec![0u8; 0x54];
        f[..4].copy_from_slice(MAGIC);
        f[4] = CLASS_32;
        f[5] = LITTLE_ENDIAN;
        f[6] = 1;
        f[16..18].copy_from_slice(&TYPE_EXEC.to_le_bytes());
        f[18..20].copy_from_slice(&MACHINE_386.to_le_bytes());
        f[24..28].copy_from_slice(&0x10_0000u32.to_le_bytes()); // entry
        f[28..32].copy_from_slice(&0x34u32.to_le_bytes()); // phoff
        f[42..44].copy_from_slice(&32u16.to_le_bytes()); // phentsize
        f[44..46].copy_from_slice(&1u16.to_le_bytes()); // phnum
        let ph = 0x34;
        f[ph..ph + 4].copy_from_slice(&PT_LOAD.to_le_bytes());
        f[ph + 4..ph + 8].copy_from_slice(&0x54u32.to_le_bytes()); // offset
        f[ph + 12..ph + 16].copy_from_slice(&0x10_0000u32.to_le_bytes()); // paddr
        f[ph + 16..ph + 20].copy_from_slice(&(code.len() as u32).to_le_bytes());
        f[ph + 20..ph + 24].copy_from_slice(&(code.len() as u32 + 16).to_le_bytes());
        f.extend_from_slice(code);
        f
    }

    #[test]
    fn test_parse_elf32_finds_entry_and_segment() {
        let image = parse(&elf32(&[0xF4])).expect("valid");
        assert_eq!((image.is_64, image.entry), (false, 0x10_0000));
        assert_eq!(
            image.segments,
            vec![Segment {
                offset: 0x54,
                file_size: 1,
                addr: 0x10_0000,
                mem_size: 17
            }]
        );
    }

    #[test]
    fn test_headers_only_segment_in_legacy_hole_is_skipped() {
        let headers = Segment {
            offset: 0,
            file_size: 0x134,
            addr: 0xF_F000,
            mem_size: 0x134,
        };
        assert!(headers.is_headers_only(0x134) && headers.in_legacy_hole());
    }

    #[test]
    fn test_code_segment_in_legacy_hole_is_not_headers_only() {
        let code = Segment {
            offset: 0x1000,
            file_size: 0x200,
            addr: 0xF_F000,
            mem_size: 0x200,
        };
        assert!(!code.is_headers_only(0x134));
    }

    #[test]
    fn test_headers_only_segment_in_ram_is_kept() {
        let headers = Segment {
            offset: 0,
            file_size: 0x134,
            addr: 0x10_0000,
            mem_size: 0x134,
        };
        assert!(!headers.in_legacy_hole());
    }

    #[test]
    fn test_parse_not_elf_is_rejected() {
        assert_eq!(parse(b"MZ\x90\x00"), Err(ElfError::NotElf));
    }

    #[test]
    fn test_parse_truncated_segment_is_malformed() {
        let mut f = elf32(&[0xF4, 0xF4]);
        f.truncate(f.len() - 1);
        assert!(matches!(parse(&f), Err(ElfError::Malformed(_))));
    }

    #[test]
    fn test_parse_truncated_header_is_malformed_not_a_panic() {
        let f = elf32(&[0xF4]);
        assert!(matches!(parse(&f[..40]), Err(ElfError::Malformed(_))));
    }

    #[test]
    fn test_load_copies_bytes_and_zeroes_tail() {
        let mem = memory::create(&[memory::RamRegion {
            base: 0x10_0000,
            size: 0x1000,
        }])
        .expect("mem");
        memory::load_image(&mem, 0x10_0001, &[0xAA; 4]).expect("dirty");
        let f = elf32(&[0xF4]);
        load(&mem, &f, &parse(&f).expect("valid")).expect("load");
        let mut got = [0xFFu8; 3];
        memory::read_prefix(&mem, 0x10_0000, &mut got);
        assert_eq!(got, [0xF4, 0, 0]);
    }
}
