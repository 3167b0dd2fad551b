//! The vCPU's state at entry, for each CPU mode.
//!
//! Real mode (the only mode so far) is what a PC BIOS leaves to a boot sector: CS:IP at the
//! entry point, DS = ES = FS = GS = SS = 0, SP just below the boot sector, RFLAGS = 0x2 (only
//! the reserved bit), CR0.PE = 0, every other general register zero. Segment limits are 64 KiB.

use std::fmt;
use std::str::FromStr;

use kvm_bindings::{kvm_regs, kvm_segment};
use kvm_ioctls::VcpuFd;

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
pub enum Error {
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
}

impl CpuMode {
    /// The name used in machine files and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            CpuMode::Real => "real",
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
    pub entry: RealAddress,
    /// Initial stack pointer (SS = 0).
    pub stack: u16,
}

fn real_mode_segment(mut seg: kvm_segment, selector: u16) -> kvm_segment {
    seg.selector = selector;
    seg.base = u64::from(selector) << 4;
    seg.limit = REAL_MODE_SEGMENT_LIMIT;
    seg
}

/// Puts the vCPU in the documented entry state for `boot`.
pub fn set_boot_state(vcpu: &VcpuFd, boot: &BootCpu) -> Result<(), Error> {
    let mut sregs = vcpu.get_sregs().map_err(|source| Error::Kvm {
        what: "read the segment registers",
        source,
    })?;
    sregs.cs = real_mode_segment(sregs.cs, boot.entry.segment);
    for seg in [
        &mut sregs.ds,
        &mut sregs.es,
        &mut sregs.fs,
        &mut sregs.gs,
        &mut sregs.ss,
    ] {
        *seg = real_mode_segment(*seg, 0);
    }
    sregs.cr0 &= !CR0_PE;
    vcpu.set_sregs(&sregs).map_err(|source| Error::Kvm {
        what: "set the segment registers",
        source,
    })?;
    let regs = kvm_regs {
        rip: u64::from(boot.entry.offset),
        rsp: u64::from(boot.stack),
        rflags: RFLAGS_RESERVED,
        ..Default::default()
    };
    vcpu.set_regs(&regs).map_err(|source| Error::Kvm {
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
