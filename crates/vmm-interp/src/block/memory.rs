//! A block's memory operands: the ModR/M (and SIB) addressing forms decoded once, and the
//! effective address worked out from the registers when the instruction runs.

use crate::cpu::{Address, Cpu, DS, SS};

/// No register in this place of an address.
const NONE: u8 = 8;

/// A decoded memory operand: segment, base and index registers, scale and displacement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Mem {
    pub seg: u8,
    pub base: u8,
    pub index: u8,
    pub scale: u8,
    /// 32-bit addressing (else the offset wraps at 64 KiB).
    pub addr32: bool,
    pub disp: u32,
}

impl Mem {
    /// A bare offset (MOV's moffs forms), in DS unless `seg` overrides it.
    pub fn offset(disp: u32, addr32: bool, seg: Option<u8>) -> Mem {
        Mem {
            seg: seg.unwrap_or(DS as u8),
            base: NONE,
            index: NONE,
            scale: 0,
            addr32,
            disp,
        }
    }
}

/// A ModR/M byte's operand: a register, or memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Rm {
    Reg(u8),
    Mem(Mem),
}

/// Reads instruction bytes one at a time (`None` past the end of the block's bytes).
pub(super) trait Bytes {
    fn u8(&mut self) -> Option<u8>;
    fn imm(&mut self, size: u8) -> Option<u32> {
        let mut value = 0;
        for i in 0..size {
            value |= u32::from(self.u8()?) << (8 * i);
        }
        Some(value)
    }
}

/// Decodes the r/m operand of `modrm` (a SIB byte and displacement following), with segment
/// `seg_override` if the instruction had one.
pub(super) fn rm(
    r: &mut impl Bytes,
    modrm: u8,
    addr32: bool,
    seg_override: Option<u8>,
) -> Option<Rm> {
    let (md, rm) = (modrm >> 6, modrm & 7);
    if md == 3 {
        return Some(Rm::Reg(rm));
    }
    let mut mem = if addr32 {
        address32(r, md, rm)?
    } else {
        address16(r, md, rm)?
    };
    if let Some(seg) = seg_override {
        mem.seg = seg;
    }
    Some(Rm::Mem(mem))
}

/// [BX+SI], [BX+DI], [BP+SI], [BP+DI], [SI], [DI], [BP] or disp16, [BX]; BP-based in SS.
fn address16(r: &mut impl Bytes, md: u8, rm: u8) -> Option<Mem> {
    let (base, index) = match rm {
        0 => (3, 6),
        1 => (3, 7),
        2 => (5, 6),
        3 => (5, 7),
        4 => (6, NONE),
        5 => (7, NONE),
        6 if md == 0 => (NONE, NONE),
        6 => (5, NONE),
        _ => (3, NONE),
    };
    let disp = match (md, rm) {
        (0, 6) | (2, _) => r.imm(2)?,
        (1, _) => r.u8()? as i8 as i32 as u32,
        _ => 0,
    };
    Some(Mem {
        seg: if base == 5 { SS as u8 } else { DS as u8 },
        base,
        index,
        scale: 0,
        addr32: false,
        disp,
    })
}

/// A 32-bit address, with a SIB byte when rm = 4; EBP- and ESP-based in SS.
fn address32(r: &mut impl Bytes, md: u8, rm: u8) -> Option<Mem> {
    let (mut base, mut index, mut scale) = (rm, NONE, 0);
    if rm == 4 {
        let sib = r.u8()?;
        (scale, index, base) = (sib >> 6, (sib >> 3) & 7, sib & 7);
        if index == 4 {
            index = NONE;
        }
    }
    let mut disp = 0;
    if base == 5 && md == 0 {
        base = NONE;
        disp = r.imm(4)?;
    }
    disp = disp.wrapping_add(match md {
        1 => r.u8()? as i8 as i32 as u32,
        2 => r.imm(4)?,
        _ => 0,
    });
    Some(Mem {
        seg: if base == 4 || base == 5 {
            SS as u8
        } else {
            DS as u8
        },
        base,
        index,
        scale,
        addr32: true,
        disp,
    })
}

impl Cpu {
    /// Where `mem` points now.
    #[inline(always)]
    pub(super) fn effective(&self, mem: &Mem) -> Address {
        let reg = |r: u8| self.regs.get(usize::from(r)).copied().unwrap_or(0);
        let offset = reg(mem.base)
            .wrapping_add(reg(mem.index) << mem.scale)
            .wrapping_add(mem.disp);
        Address {
            seg: usize::from(mem.seg),
            offset: if mem.addr32 { offset } else { offset & 0xFFFF },
        }
    }
}
