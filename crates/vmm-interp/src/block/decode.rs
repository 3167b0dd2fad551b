//! Decoding a run of instruction bytes into a block's operations, once: the ALU operations,
//! MOV, XCHG, TEST, INC/DEC, LEA, PUSH and POP of registers, the flag instructions, the
//! conditional jumps and LOOP, and the near jumps, calls and returns that end a block (the
//! groups' instructions are in groups.rs). Anything else (segment loads, ports, string
//! instructions, far transfers, what is privileged...) ends the block before it: the CPU's
//! own step runs it.

use super::groups;
use super::memory::{rm, Bytes, Mem, Rm};
pub(super) use super::op::Op;
use crate::alu::AluOp;
use crate::cpu::{BYTE, DWORD, WORD};

/// The most instructions in a block.
pub(super) const MAX_OPS: usize = 16;

/// An instruction decoded: what it does and where it ends (bytes from the block's start).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Decoded {
    pub op: Op,
    pub end: u8,
}

impl Decoded {
    /// A placeholder for the unused places of a block.
    pub const NONE: Decoded = Decoded {
        op: Op::SetFlags { and: !0, xor: 0 },
        end: 0,
    };
}

/// Decodes the instructions at the start of `bytes` (code of 32-bit default size when
/// `code32`) into `ops`: how many, and how many bytes the decoder looked at (the bytes whose
/// change would change what it decided, those of the first one it declined included).
pub(super) fn decode_block(
    bytes: &[u8],
    code32: bool,
    ops: &mut [Decoded; MAX_OPS],
) -> (usize, usize) {
    let mut at = 0;
    for (count, place) in ops.iter_mut().enumerate() {
        let mut reader = Reader {
            bytes,
            at,
            looked: at,
        };
        let Some(op) = decode_one(&mut reader, code32) else {
            return (count, reader.looked.max(at + 1).min(bytes.len()));
        };
        at = reader.at;
        *place = Decoded { op, end: at as u8 };
        if op.ends_block() {
            return (count + 1, at);
        }
    }
    (MAX_OPS, at)
}

/// Reads instruction bytes, failing at the end of what the block may cover.
pub(super) struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
    /// One past the furthest byte looked at.
    looked: usize,
}

impl Bytes for Reader<'_> {
    fn u8(&mut self) -> Option<u8> {
        let b = *self.bytes.get(self.at)?;
        self.at += 1;
        self.looked = self.looked.max(self.at);
        Some(b)
    }
}

impl Reader<'_> {
    /// An 8-bit displacement or immediate, sign-extended.
    pub(super) fn imm8s(&mut self) -> Option<u32> {
        Some(self.u8()? as i8 as i32 as u32)
    }
}

/// An instruction's prefixes and sizes.
pub(super) struct Form {
    pub op32: bool,
    pub addr32: bool,
    pub seg: Option<u8>,
    /// The operand size (2 or 4).
    pub osize: u8,
    /// The opcode's operand size: a byte for even opcodes of the ALU, MOV and TEST rows.
    pub size: u8,
}

/// One instruction, when it is one a block runs.
fn decode_one(r: &mut Reader, code32: bool) -> Option<Op> {
    let (f, opcode) = form(r, code32)?;
    let (op32, osize, size) = (f.op32, f.osize, f.size);
    match opcode {
        0x00..=0x3F if opcode & 7 < 4 => alu_rm(r, &f, opcode),
        0x00..=0x3F if opcode & 7 < 6 => Some(Op::AluImm {
            op: AluOp::from_index(opcode >> 3),
            size,
            dst: 0,
            imm: r.imm(size)?,
        }),
        0x40..=0x4F => Some(Op::IncDec {
            size: osize,
            reg: opcode & 7,
            dec: opcode >= 0x48,
        }),
        0x50..=0x57 => Some(Op::Push {
            size: osize,
            reg: opcode & 7,
        }),
        0x58..=0x5F => Some(Op::Pop {
            size: osize,
            reg: opcode & 7,
        }),
        0x68 => Some(Op::PushImm {
            size: osize,
            imm: r.imm(osize)?,
        }),
        0x6A => Some(Op::PushImm {
            size: osize,
            imm: r.imm8s()? & crate::cpu::mask(osize),
        }),
        0x69 | 0x6B => groups::imul(r, &f, opcode),
        0x70..=0x7F => Some(Op::Jcc {
            cc: opcode & 0x0F,
            disp: r.imm8s()?,
            wide: op32,
        }),
        0x80 | 0x81 | 0x83 => group1(r, &f, opcode),
        0x84..=0x8B | 0x8D => moves(r, &f, opcode),
        0x90..=0x97 => Some(Op::Xchg {
            size: osize,
            a: 0,
            b: opcode & 7,
        }),
        0x98 | 0x99 => Some(Op::Convert {
            size: osize,
            into_dx: opcode == 0x99,
        }),
        // MOV between the accumulator and a memory offset (moffs: no ModR/M, the address as
        // wide as the address size, in DS unless overridden).
        0xA0..=0xA3 => {
            let mem = Mem::offset(r.imm(if f.addr32 { DWORD } else { WORD })?, f.addr32, f.seg);
            Some(if opcode < 0xA2 {
                Op::Load { size, dst: 0, mem }
            } else {
                Op::Store {
                    size,
                    src: Some(0),
                    imm: 0,
                    mem,
                }
            })
        }
        0xA8 | 0xA9 => Some(Op::Test {
            size,
            a: 0,
            src: None,
            imm: r.imm(size)?,
        }),
        0xB0..=0xBF => {
            let size = if opcode < 0xB8 { BYTE } else { osize };
            Some(Op::MovImm {
                size,
                dst: opcode & 7,
                imm: r.imm(size)?,
            })
        }
        0xC2 | 0xC3 => Some(Op::Ret {
            size: osize,
            release: if opcode == 0xC2 {
                r.imm(WORD)? as u16
            } else {
                0
            },
        }),
        0xC6 | 0xC7 => mov_imm(r, &f),
        0xC0 | 0xC1 | 0xD0..=0xD3 => groups::shifts(r, &f, opcode),
        0xC9 => Some(Op::Leave { size: osize }),
        0xF6 | 0xF7 => groups::group3(r, &f, opcode),
        0xFE | 0xFF => groups::group45(r, &f, opcode),
        _ => jumps(r, &f, opcode),
    }
}

/// The prefixes (operand and address size, segment; LOCK and REP go to the step) and the
/// opcode after them.
fn form(r: &mut Reader, code32: bool) -> Option<(Form, u8)> {
    let (mut op32, mut addr32, mut seg) = (code32, code32, None);
    let mut opcode = r.u8()?;
    for _ in 0..4 {
        match opcode {
            0x66 => op32 = !code32,
            0x67 => addr32 = !code32,
            0x26 | 0x2E | 0x36 | 0x3E => seg = Some((opcode >> 3) & 3),
            0x64 | 0x65 => seg = Some(opcode - 0x60),
            _ => break,
        }
        opcode = r.u8()?;
    }
    let osize = if op32 { DWORD } else { WORD };
    let size = if opcode & 1 == 0 { BYTE } else { osize };
    let form = Form {
        op32,
        addr32,
        seg,
        osize,
        size,
    };
    Some((form, opcode))
}

/// The near jumps and calls, LOOP and JCXZ, and the flag instructions.
fn jumps(r: &mut Reader, f: &Form, opcode: u8) -> Option<Op> {
    let wide = f.op32;
    match opcode {
        0xE0..=0xE3 => Some(Op::Loop {
            kind: opcode & 3,
            disp: r.imm8s()?,
            wide,
            count32: f.addr32,
        }),
        0xE8 => Some(Op::Call {
            disp: relative(r.imm(f.osize)?, f.osize),
            size: f.osize,
        }),
        0xE9 => Some(Op::Jmp {
            disp: relative(r.imm(f.osize)?, f.osize),
            wide,
        }),
        0xEB => Some(Op::Jmp {
            disp: r.imm8s()?,
            wide,
        }),
        0xF5 | 0xF8 | 0xF9 | 0xFC | 0xFD => Some(set_flags(opcode)),
        0x0F => {
            let second = r.u8()?;
            match second {
                0x80..=0x8F => Some(Op::Jcc {
                    cc: second & 0x0F,
                    disp: relative(r.imm(f.osize)?, f.osize),
                    wide,
                }),
                0x40..=0x4F => groups::cmov(r, f, second),
                0x90..=0x9F => groups::set_cc(r, f, second),
                0xAF => groups::imul(r, f, second),
                0xB6 | 0xB7 | 0xBE | 0xBF => groups::extend(r, f, second),
                _ => None,
            }
        }
        _ => None,
    }
}

/// `op r/m, r` and `op r, r/m` (00h-3Fh).
fn alu_rm(r: &mut Reader, f: &Form, opcode: u8) -> Option<Op> {
    let modrm = r.u8()?;
    let (op, size, reg) = (AluOp::from_index(opcode >> 3), f.size, (modrm >> 3) & 7);
    let to_reg = opcode & 2 != 0;
    Some(match (rm(r, modrm, f.addr32, f.seg)?, to_reg) {
        (Rm::Reg(rm), true) => Op::Alu {
            op,
            size,
            dst: reg,
            src: rm,
        },
        (Rm::Reg(rm), false) => Op::Alu {
            op,
            size,
            dst: rm,
            src: reg,
        },
        (Rm::Mem(mem), true) => Op::AluLoad {
            op,
            size,
            dst: reg,
            mem,
        },
        (Rm::Mem(mem), false) => Op::AluStore {
            op,
            size,
            src: Some(reg),
            imm: 0,
            mem,
        },
    })
}

/// TEST, XCHG and MOV between a register and r/m (84h-8Bh), and LEA (8Dh).
fn moves(r: &mut Reader, f: &Form, opcode: u8) -> Option<Op> {
    let modrm = r.u8()?;
    let (size, reg) = (f.size, (modrm >> 3) & 7);
    let operand = rm(r, modrm, f.addr32, f.seg)?;
    Some(match (opcode, operand) {
        (0x84 | 0x85, Rm::Reg(a)) => Op::Test {
            size,
            a,
            src: Some(reg),
            imm: 0,
        },
        (0x84 | 0x85, Rm::Mem(mem)) => Op::TestMem {
            size,
            src: Some(reg),
            imm: 0,
            mem,
        },
        (0x86 | 0x87, Rm::Reg(a)) => Op::Xchg { size, a, b: reg },
        (0x88 | 0x89, Rm::Reg(dst)) => Op::Mov {
            size,
            dst,
            src: reg,
        },
        (0x88 | 0x89, Rm::Mem(mem)) => Op::Store {
            size,
            src: Some(reg),
            imm: 0,
            mem,
        },
        (0x8A | 0x8B, Rm::Reg(src)) => Op::Mov {
            size,
            dst: reg,
            src,
        },
        (0x8A | 0x8B, Rm::Mem(mem)) => Op::Load {
            size,
            dst: reg,
            mem,
        },
        (0x8D, Rm::Mem(mem)) => Op::Lea {
            size: f.osize,
            dst: reg,
            mem,
        },
        // XCHG with memory is locked (the step runs it); LEA of a register is invalid.
        _ => return None,
    })
}

/// MOV r/m, imm (C6h, C7h).
fn mov_imm(r: &mut Reader, f: &Form) -> Option<Op> {
    let modrm = r.u8()?;
    if (modrm >> 3) & 7 != 0 {
        return None;
    }
    let operand = rm(r, modrm, f.addr32, f.seg)?;
    let imm = r.imm(f.size)?;
    Some(match operand {
        Rm::Reg(dst) => Op::MovImm {
            size: f.size,
            dst,
            imm,
        },
        Rm::Mem(mem) => Op::Store {
            size: f.size,
            src: None,
            imm,
            mem,
        },
    })
}

/// 80h, 81h, 83h: `op r/m, imm`.
fn group1(r: &mut Reader, f: &Form, opcode: u8) -> Option<Op> {
    let modrm = r.u8()?;
    let operand = rm(r, modrm, f.addr32, f.seg)?;
    let size = f.size;
    let imm = if opcode == 0x83 {
        r.imm8s()? & crate::cpu::mask(size)
    } else {
        r.imm(size)?
    };
    let op = AluOp::from_index(modrm >> 3);
    Some(match operand {
        Rm::Reg(dst) => Op::AluImm { op, size, dst, imm },
        Rm::Mem(mem) => Op::AluStore {
            op,
            size,
            src: None,
            imm,
            mem,
        },
    })
}

/// A 16-bit relative displacement sign-extended (a 32-bit one as it is).
fn relative(disp: u32, size: u8) -> u32 {
    if size == WORD {
        disp as u16 as i16 as i32 as u32
    } else {
        disp
    }
}

/// CLC, STC, CMC, CLD, STD as a mask and a toggle.
fn set_flags(opcode: u8) -> Op {
    use crate::flags::Flags;
    let (and, xor) = match opcode {
        0xF5 => (!0, Flags::CF),
        0xF8 => (!Flags::CF, 0),
        0xF9 => (!Flags::CF, Flags::CF),
        0xFC => (!Flags::DF, 0),
        _ => (!Flags::DF, Flags::DF),
    };
    Op::SetFlags { and, xor }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(bytes: &[u8], code32: bool) -> (Vec<Decoded>, usize) {
        let mut ops = [Decoded::NONE; MAX_OPS];
        let (count, looked) = decode_block(bytes, code32, &mut ops);
        (ops[..count].to_vec(), looked)
    }

    #[test]
    fn test_decode_block_goes_on_past_a_conditional_jump_and_ends_at_a_jump() {
        // add ax, bx; dec cx; jnz -6; nop; jmp $; (then anything)
        let (ops, looked) = decode(
            &[0x01, 0xD8, 0x49, 0x75, 0xFA, 0x90, 0xEB, 0xFE, 0x40],
            false,
        );

        assert_eq!(
            ops.iter().map(|d| d.end).collect::<Vec<_>>(),
            vec![2, 3, 5, 6, 8]
        );
        assert_eq!(
            ops[2].op,
            Op::Jcc {
                cc: 5,
                disp: (-6i32) as u32,
                wide: false
            }
        );
        assert_eq!(looked, 8);
    }

    #[test]
    fn test_decode_block_port_access_ends_block_before_it() {
        // inc ax; out dx, al
        let (ops, looked) = decode(&[0x40, 0xEE, 0x40], false);

        assert_eq!(ops.len(), 1);
        assert_eq!(looked, 2);
    }

    #[test]
    fn test_decode_block_bp_based_address_is_in_ss_unless_overridden() {
        // mov ax, [bp+2]; mov ax, es:[bp+si]
        let (ops, _) = decode(&[0x8B, 0x46, 0x02, 0x26, 0x8B, 0x02], false);

        let segs: Vec<u8> = ops
            .iter()
            .filter_map(|d| match d.op {
                Op::Load { mem, .. } => Some(mem.seg),
                _ => None,
            })
            .collect();
        assert_eq!(segs, vec![2, 0]);
    }

    #[test]
    fn test_decode_block_operand_size_prefix_makes_32_bit_immediate() {
        // mov eax, 0x12345678 in 16-bit code
        let (ops, _) = decode(&[0x66, 0xB8, 0x78, 0x56, 0x34, 0x12], false);

        assert_eq!(
            ops[0].op,
            Op::MovImm {
                size: 4,
                dst: 0,
                imm: 0x1234_5678
            }
        );
    }

    #[test]
    fn test_decode_block_moffs_moves_address_ds_unless_overridden() {
        // mov ax, [0x6000]; mov es:[0x1234], al
        let (ops, _) = decode(&[0xA1, 0x00, 0x60, 0x26, 0xA2, 0x34, 0x12], false);

        assert_eq!(
            ops.iter().map(|d| d.op).collect::<Vec<_>>(),
            vec![
                Op::Load {
                    size: 2,
                    dst: 0,
                    mem: Mem::offset(0x6000, false, None)
                },
                Op::Store {
                    size: 1,
                    src: Some(0),
                    imm: 0,
                    mem: Mem::offset(0x1234, false, Some(0))
                },
            ]
        );
    }

    #[test]
    fn test_decode_block_imul_immediates_follow_the_operand_size_and_cmov_reads_r_m() {
        // imul ax, bx, 0x1234; imul eax, ecx, -2; imul dx, [bx]; cmovz cx, dx (16-bit code)
        let (ops, looked) = decode(
            &[
                0x69, 0xC3, 0x34, 0x12, 0x66, 0x6B, 0xC1, 0xFE, 0x0F, 0xAF, 0x17, 0x0F, 0x44, 0xCA,
            ],
            false,
        );

        let imul = |size, dst, src, imm| Op::Imul {
            size,
            dst,
            src,
            imm,
        };
        assert_eq!(
            ops.iter().map(|d| d.op).collect::<Vec<_>>(),
            vec![
                imul(2, 0, Rm::Reg(3), Some(0x1234)),
                imul(4, 0, Rm::Reg(1), Some(0xFFFF_FFFE)),
                imul(2, 2, rm_of(&[0x17]), None),
                Op::Cmov {
                    cc: 4,
                    size: 2,
                    dst: 1,
                    src: Rm::Reg(2)
                },
            ]
        );
        assert_eq!(looked, 14);
    }

    /// The r/m operand of a ModR/M byte (and what follows it) in 16-bit code.
    fn rm_of(bytes: &[u8]) -> Rm {
        let mut r = Reader {
            bytes,
            at: 1,
            looked: 1,
        };
        rm(&mut r, bytes[0], false, None).unwrap()
    }

    #[test]
    fn test_decode_block_cut_instruction_decodes_nothing() {
        // mov ax, imm16 with one byte of it before the end of the page
        let (ops, looked) = decode(&[0xB8, 0x34], false);

        assert!(ops.is_empty());
        assert_eq!(looked, 2);
    }

    #[test]
    fn test_decode_block_lock_prefix_goes_to_step() {
        let (ops, looked) = decode(&[0xF0, 0x01, 0x07], false);

        assert!(ops.is_empty());
        assert_eq!(looked, 1);
    }
}
