//! The vCPU's state at entry, for each CPU mode. In every mode RFLAGS = 0x2 (interrupts off),
//! and the general registers other than the stack pointer, RAX and RBX (zero but for multiboot
//! kernels) are zero.
//!
//! - Real mode is what a PC BIOS leaves to a boot sector: CS:IP at the entry point, DS = ES =
//!   FS = GS = SS = 0, SP as given, CR0.PE = 0, segment limits 64 KiB.
//! - Protected mode: 32-bit flat segments from picovmm's GDT at `layout::BOOT_GDT` (CS = 0x08,
//!   DS = ES = FS = GS = SS = 0x10, base 0, limit 4 GiB), CR0 = PE|ET, paging off, EIP at the
//!   entry, ESP as given.
//! - Long mode: the same GDT with the 64-bit code segment (CS = 0x18), identity page tables for
//!   the first 4 GiB at `layout::BOOT_PAGE_TABLES` (CR3), CR4 = PAE, EFER = LME|LMA,
//!   CR0 = PE|ET|PG, RIP at the entry, RSP as given.

use std::fmt;
use std::str::FromStr;

use kvm_bindings::{kvm_regs, kvm_segment};
use kvm_ioctls::VcpuFd;

use crate::gdt;
use crate::layout::{BOOT_GDT, BOOT_PAGE_TABLES};

/// RFLAGS with only the always-one reserved bit 1 set.
const RFLAGS_RESERVED: u64 = 0x2;
/// CR0 bit 0: protection enabled.
const CR0_PE: u64 = 1 << 0;
/// Real-mode segments span 64 KiB.
const REAL_MODE_SEGMENT_LIMIT: u32 = 0xFFFF;
/// Highest address real mode can reach with CS:IP (0xFFFF:0xFFFF).
pub const REAL_MODE_MAX_LINEAR: u64 = 0x10_FFEF;

/// Errors setting up the vCPU.
#[derive(Debug, thiserror::Error)]
pub enum CpuError {
    /// A real-mode SEG:OFF entry outside real mode, or a flat entry in real mode.
    #[error(
        "entry {entry} does not fit {mode} mode (real mode takes SEG:OFF, the others an address)"
    )]
    EntryForMode {
        /// The mode's name.
        mode: &'static str,
        /// The entry as given.
        entry: String,
    },
    /// A KVM ioctl on the vCPU failed.
    #[error("cannot {what} of the vCPU")]
    Kvm {
        /// What we were doing.
        what: &'static str,
        /// The ioctl's error.
        #[source]
        source: kvm_ioctls::Error,
    },
}

/// The CPU mode a machine starts in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CpuMode {
    /// 16-bit real mode, as a BIOS leaves a boot sector.
    Real,
    /// 32-bit protected mode, flat segments, paging off.
    Protected,
    /// 64-bit long mode, the first 4 GiB identity-mapped.
    Long,
}

impl CpuMode {
    /// The name used in machine files and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            CpuMode::Real => "real",
            CpuMode::Protected => "protected",
            CpuMode::Long => "long",
        }
    }

    /// The largest stack pointer the mode can start with.
    pub fn max_stack(self) -> u64 {
        match self {
            CpuMode::Real => 0xFFFF,
            CpuMode::Protected => 0xFFFF_FFFF,
            CpuMode::Long => u64::MAX,
        }
    }
}

/// Where the first instruction is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entry {
    /// Real mode: CS:IP.
    Real(RealAddress),
    /// Protected and long mode: the instruction pointer (a flat address).
    Flat(u64),
}

impl Entry {
    /// The linear address of the first instruction.
    pub fn linear(self) -> u64 {
        match self {
            Entry::Real(a) => a.linear(),
            Entry::Flat(a) => a,
        }
    }
}

impl fmt::Display for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Entry::Real(a) => write!(f, "{a}"),
            Entry::Flat(a) => write!(f, "{a:#x}"),
        }
    }
}

/// A real-mode address, segment:offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RealAddress {
    /// Segment (CS).
    pub segment: u16,
    /// Offset (IP).
    pub offset: u16,
}

impl RealAddress {
    /// The segment:offset form of a linear address: segment 0 below 64 KiB (so `0x7c00` is
    /// `0000:7c00`, what boot sectors expect), otherwise the 64 KiB-aligned segment holding it.
    /// `None` above what real mode can reach.
    pub fn from_linear(addr: u64) -> Option<Self> {
        if addr > 0xF_FFFF {
            return None;
        }
        Some(RealAddress {
            segment: ((addr >> 4) & 0xF000) as u16,
            offset: (addr & 0xFFFF) as u16,
        })
    }

    /// `segment * 16 + offset`.
    pub fn linear(self) -> u64 {
        (u64::from(self.segment) << 4) + u64::from(self.offset)
    }
}

impl fmt::Display for RealAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04x}:{:04x}", self.segment, self.offset)
    }
}

/// Why a `SEG:OFF` string is not one.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("expected SEG:OFF with two hexadecimal numbers of at most 4 digits, like 0000:7c00")]
pub struct ParseRealAddressError;

impl FromStr for RealAddress {
    type Err = ParseRealAddressError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (seg, off) = s.split_once(':').ok_or(ParseRealAddressError)?;
        let hex = |t: &str| {
            let t = t.strip_prefix("0x").unwrap_or(t);
            if t.is_empty() || t.len() > 4 {
                return Err(ParseRealAddressError);
            }
            u16::from_str_radix(t, 16).map_err(|_| ParseRealAddressError)
        };
        Ok(RealAddress {
            segment: hex(seg)?,
            offset: hex(off)?,
        })
    }
}

/// Where and how the vCPU starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BootCpu {
    /// The CPU mode.
    pub mode: CpuMode,
    /// First instruction.
    pub entry: Entry,
    /// Initial stack pointer (in real mode with SS = 0).
    pub stack: u64,
    /// RAX at entry (multiboot: the boot loader magic; otherwise 0).
    pub rax: u64,
    /// RBX at entry (multiboot: the information structure's address; otherwise 0).
    pub rbx: u64,
}

/// CR0 bit 4: extension type (always 1 on modern CPUs).
const CR0_ET: u64 = 1 << 4;
/// CR0 bit 31: paging.
const CR0_PG: u64 = 1 << 31;
/// CR4 bit 5: physical address extension.
const CR4_PAE: u64 = 1 << 5;
/// EFER bit 8: long mode enable.
const EFER_LME: u64 = 1 << 8;
/// EFER bit 10: long mode active.
const EFER_LMA: u64 = 1 << 10;

fn real_mode_segment(mut seg: kvm_segment, selector: u16) -> kvm_segment {
    seg.selector = selector;
    seg.base = u64::from(selector) << 4;
    seg.limit = REAL_MODE_SEGMENT_LIMIT;
    seg
}

/// Puts the vCPU in the documented entry state for `boot`. For protected and long mode the GDT
/// (and for long mode the page tables) must already be in guest memory at their layout addresses.
pub fn set_boot_state(vcpu: &VcpuFd, boot: &BootCpu) -> Result<(), CpuError> {
    let mut sregs = vcpu.get_sregs().map_err(|source| CpuError::Kvm {
        what: "read the segment registers",
        source,
    })?;
    let data_segments = |sregs: &mut kvm_bindings::kvm_sregs,
                         seg: fn(kvm_segment) -> kvm_segment| {
        for s in [
            &mut sregs.ds,
            &mut sregs.es,
            &mut sregs.fs,
            &mut sregs.gs,
            &mut sregs.ss,
        ] {
            *s = seg(*s);
        }
    };
    let rip = match (boot.mode, boot.entry) {
        (CpuMode::Real, Entry::Real(entry)) => {
            sregs.cs = real_mode_segment(sregs.cs, entry.segment);
            data_segments(&mut sregs, |s| real_mode_segment(s, 0));
            sregs.cr0 &= !CR0_PE;
            u64::from(entry.offset)
        }
        (CpuMode::Real, Entry::Flat(_)) | (_, Entry::Real(_)) => {
            return Err(CpuError::EntryForMode {
                mode: boot.mode.name(),
                entry: boot.entry.to_string(),
            })
        }
        (mode, entry) => {
            let code = if mode == CpuMode::Long {
                gdt::CODE64_SELECTOR
            } else {
                gdt::CODE32_SELECTOR
            };
            sregs.cs = gdt::segment(code);
            data_segments(&mut sregs, |_| gdt::segment(gdt::DATA_SELECTOR));
            sregs.gdt.base = BOOT_GDT;
            sregs.gdt.limit = (gdt::GDT.len() * 8 - 1) as u16;
            sregs.cr0 = CR0_PE | CR0_ET;
            if mode == CpuMode::Long {
                sregs.cr3 = BOOT_PAGE_TABLES;
                sregs.cr4 |= CR4_PAE;
                sregs.efer |= EFER_LME | EFER_LMA;
                sregs.cr0 |= CR0_PG;
            }
            entry.linear()
        }
    };
    vcpu.set_sregs(&sregs).map_err(|source| CpuError::Kvm {
        what: "set the segment registers",
        source,
    })?;
    let regs = kvm_regs {
        rip,
        rsp: boot.stack,
        rax: boot.rax,
        rbx: boot.rbx,
        rflags: RFLAGS_RESERVED,
        ..Default::default()
    };
    vcpu.set_regs(&regs).map_err(|source| CpuError::Kvm {
        what: "set the registers",
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_real_address_parses_seg_off() {
        assert_eq!(
            "07c0:0000".parse(),
            Ok(RealAddress {
                segment: 0x07C0,
                offset: 0
            })
        );
    }

    #[test]
    fn test_real_address_rejects_missing_colon() {
        assert_eq!("7c00".parse::<RealAddress>(), Err(ParseRealAddressError));
    }

    #[test]
    fn test_real_address_rejects_five_digits() {
        assert_eq!("0:10000".parse::<RealAddress>(), Err(ParseRealAddressError));
    }

    #[test]
    fn test_from_linear_low_address_uses_segment_zero() {
        let a = RealAddress::from_linear(0x7C00);
        assert_eq!(a.map(|a| a.to_string()), Some("0000:7c00".to_owned()));
    }

    #[test]
    fn test_from_linear_high_address_round_trips() {
        let a = RealAddress::from_linear(0x9_1234);
        assert_eq!(a.map(RealAddress::linear), Some(0x9_1234));
    }

    #[test]
    fn test_from_linear_above_1mib_is_none() {
        assert_eq!(RealAddress::from_linear(0x10_0000), None);
    }
}
