//! Decoding the rest of what blocks hold: the shift group (C0h, C1h, D0h-D3h), TEST, NOT and
//! NEG of F6h/F7h, INC, DEC, CALL and JMP of FEh/FFh, MOVZX/MOVSX, IMUL's two- and
//! three-operand forms, CMOVcc, SETcc, PUSH imm, LEAVE, CBW/CWD. What these groups also hold
//! (MUL, DIV, far transfers, PUSH r/m) goes to the step.

use super::decode::{Form, Op, Reader};
use super::memory::{rm, Bytes, Rm};
use crate::cpu::{mask, BYTE, WORD};

/// A read-modify-write whose flags the step's arithmetic works out at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Modify {
    /// A shift or rotate (the reg field of the shift group) by `count`.
    Shift {
        op: u8,
        count: Count,
    },
    Not,
    Neg,
    Inc,
    Dec,
}

/// How far a shift goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Count {
    One,
    Cl,
    Imm(u8),
}

/// C0h, C1h, D0h-D3h.
pub(super) fn shifts(r: &mut Reader, f: &Form, opcode: u8) -> Option<Op> {
    let modrm = r.u8()?;
    let target = rm(r, modrm, f.addr32, f.seg)?;
    let size = if opcode & 1 == 0 { BYTE } else { f.osize };
    let count = match opcode {
        0xC0 | 0xC1 => Count::Imm(r.u8()?),
        0xD0 | 0xD1 => Count::One,
        _ => Count::Cl,
    };
    let op = (modrm >> 3) & 7;
    Some(Op::Modify {
        what: Modify::Shift { op, count },
        size,
        target,
    })
}

/// F6h, F7h: TEST, NOT, NEG (MUL and DIV go to the step).
pub(super) fn group3(r: &mut Reader, f: &Form, opcode: u8) -> Option<Op> {
    let modrm = r.u8()?;
    let target = rm(r, modrm, f.addr32, f.seg)?;
    let size = if opcode == 0xF6 { BYTE } else { f.osize };
    let what = match (modrm >> 3) & 7 {
        0 | 1 => {
            let imm = r.imm(size)?;
            return Some(match target {
                Rm::Reg(a) => Op::Test {
                    size,
                    a,
                    src: None,
                    imm,
                },
                Rm::Mem(mem) => Op::TestMem {
                    size,
                    src: None,
                    imm,
                    mem,
                },
            });
        }
        2 => Modify::Not,
        3 => Modify::Neg,
        _ => return None,
    };
    Some(Op::Modify { what, size, target })
}

/// FEh, FFh: INC, DEC, and FFh's near CALL and JMP through r/m.
pub(super) fn group45(r: &mut Reader, f: &Form, opcode: u8) -> Option<Op> {
    let modrm = r.u8()?;
    let target = rm(r, modrm, f.addr32, f.seg)?;
    let size = if opcode == 0xFE { BYTE } else { f.osize };
    Some(match ((modrm >> 3) & 7, opcode) {
        (0, _) => Op::Modify {
            what: Modify::Inc,
            size,
            target,
        },
        (1, _) => Op::Modify {
            what: Modify::Dec,
            size,
            target,
        },
        (2, 0xFF) => Op::JumpIndirect {
            call: true,
            size,
            target,
        },
        (4, 0xFF) => Op::JumpIndirect {
            call: false,
            size,
            target,
        },
        _ => return None,
    })
}

/// 0Fh B6h, B7h, BEh, BFh: MOVZX, MOVSX.
pub(super) fn extend(r: &mut Reader, f: &Form, second: u8) -> Option<Op> {
    let modrm = r.u8()?;
    let src = rm(r, modrm, f.addr32, f.seg)?;
    Some(Op::Extend {
        size: f.osize,
        from: if second & 1 == 0 { BYTE } else { WORD },
        signed: second >= 0xBE,
        dst: (modrm >> 3) & 7,
        src,
    })
}

/// 0Fh 90h-9Fh: SETcc.
pub(super) fn set_cc(r: &mut Reader, f: &Form, second: u8) -> Option<Op> {
    let modrm = r.u8()?;
    let target = rm(r, modrm, f.addr32, f.seg)?;
    Some(Op::SetCc {
        cc: second & 0x0F,
        target,
    })
}

/// 69h, 6Bh (`second` is the opcode) and 0Fh AFh: IMUL's three- and two-operand forms.
pub(super) fn imul(r: &mut Reader, f: &Form, second: u8) -> Option<Op> {
    let modrm = r.u8()?;
    let src = rm(r, modrm, f.addr32, f.seg)?;
    let size = f.osize;
    let imm = match second {
        0x69 => Some(r.imm(size)?),
        0x6B => Some(r.imm8s()? & mask(size)),
        _ => None,
    };
    Some(Op::Imul {
        size,
        dst: (modrm >> 3) & 7,
        src,
        imm,
    })
}

/// 0Fh 40h-4Fh: CMOVcc.
pub(super) fn cmov(r: &mut Reader, f: &Form, second: u8) -> Option<Op> {
    let modrm = r.u8()?;
    let src = rm(r, modrm, f.addr32, f.seg)?;
    Some(Op::Cmov {
        cc: second & 0x0F,
        size: f.osize,
        dst: (modrm >> 3) & 7,
        src,
    })
}
