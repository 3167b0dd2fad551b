//! Operations specialised when a block is decoded: the register forms a loop is made of (ALU
//! operations, TEST, INC/DEC, MOV, conditional jumps, JMP, LOOP) each get a handler of their
//! own, compiled once per operand size and operation, so running one is a call through a
//! pointer with no decision left in it. Every other operation has the handler [`slow`], which
//! sends the block back to the general `run_op` (the one that knows the bus).
//!
//! A handler's operands sit beside it ([`Fast`]), and a jump's target is worked out from the
//! block's IP when the block is decoded (a block is only ever entered at that IP). An
//! instruction that sets the flags on registers and the conditional jump after it (`dec cx;
//! jnz`, `cmp al, 13; je`) become one handler, which tests the condition on the result it has
//! just worked out: one call for two instructions.

use super::decode::{Decoded, Op};
use super::lazy::{Kind, Lazy};
use super::run::{target, Flow};
use crate::alu::AluOp;
use crate::cpu::{mask, Cpu, BYTE, DWORD, WORD};

/// Runs one specialised operation on the CPU's registers and the block's flags.
pub(super) type Handler = fn(&mut Cpu, &Fast, &mut Lazy) -> Flow;

/// An operation ready to run: its handler and its operands.
#[derive(Clone, Copy)]
pub(super) struct Fast {
    pub run: Handler,
    /// The first register (the destination).
    pub a: u8,
    /// The second register (the source).
    pub b: u8,
    /// A conditional jump's condition (the opcode's low nibble), when one is fused in.
    pub cc: u8,
    /// The index of the (last) decoded instruction this runs.
    pub index: u8,
    /// The immediate, or a jump's target IP.
    pub imm: u32,
    /// A fused conditional jump's target IP.
    pub to: u32,
}

impl Fast {
    /// The handler that defers to the general path.
    pub const SLOW: Fast = Fast {
        run: slow,
        a: 0,
        b: 0,
        cc: 0,
        index: 0,
        imm: 0,
        to: 0,
    };

    /// How many of the block's instructions have run once this handler has.
    pub fn ran(&self) -> u32 {
        u32::from(self.index) + 1
    }

    /// `d` specialised; `next` is the IP after it (jumps' targets are worked out from it).
    fn of(d: &Decoded, next: u32) -> Fast {
        let with = |run: Handler, a: u8, b: u8, imm: u32| Fast {
            run,
            a,
            b,
            imm,
            ..Fast::SLOW
        };
        match d.op {
            Op::Alu { op, size, dst, src } => with(alu_handler(op, size, true, false), dst, src, 0),
            Op::AluImm { op, size, dst, imm } => {
                with(alu_handler(op, size, false, false), dst, 0, imm)
            }
            Op::Test { size, a, src, imm } => match src {
                Some(b) => with(by_size(size, TEST_REG), a, b, 0),
                None => with(by_size(size, TEST_IMM), a, 0, imm),
            },
            Op::IncDec { size, reg, dec } => {
                with(by_size(size, if dec { DEC } else { INC }), reg, 0, 0)
            }
            Op::Mov { size, dst, src } => with(by_size(size, MOV), dst, src, 0),
            Op::MovImm { size, dst, imm } => with(by_size(size, MOV_IMM), dst, 0, imm),
            Op::Jcc { cc, disp, wide } => {
                with(JCC[usize::from(cc & 15)], 0, 0, target(next, disp, wide))
            }
            Op::Jmp { disp, wide } => with(jmp, 0, 0, target(next, disp, wide)),
            Op::Loop {
                kind,
                disp,
                wide,
                count32,
            } => {
                let run = match count32 {
                    false => LOOP16[usize::from(kind & 3)],
                    true => LOOP32[usize::from(kind & 3)],
                };
                with(run, 0, 0, target(next, disp, wide))
            }
            _ => Fast::SLOW,
        }
    }
}

/// `ops`, decoded at IP `ip`, specialised into `out` (a flag-setting instruction fused with
/// the conditional jump after it); how many handlers there are. `wrap` wraps an IP as the
/// code segment's size does.
pub(super) fn specialise(
    ops: &[Decoded],
    ip: u32,
    wrap: impl Fn(u32) -> u32,
    out: &mut [Fast],
) -> usize {
    let next = |d: &Decoded| wrap(ip.wrapping_add(u32::from(d.end)));
    let mut count = 0;
    let mut i = 0;
    while i < ops.len() && count < out.len() {
        let mut fast = Fast::of(&ops[i], next(&ops[i]));
        if let Some(jump) = ops.get(i + 1) {
            if let (Some(run), Op::Jcc { cc, disp, wide }) = (fused(&ops[i].op), jump.op) {
                fast = Fast {
                    run,
                    cc,
                    to: target(next(jump), disp, wide),
                    ..fast
                };
                i += 1;
            }
        }
        out[count] = Fast {
            index: i as u8,
            ..fast
        };
        count += 1;
        i += 1;
    }
    count
}

/// The handler of `op` fused with a conditional jump after it, for the operations that have
/// one (those on registers that set all the arithmetic flags).
fn fused(op: &Op) -> Option<Handler> {
    Some(match *op {
        Op::Alu { op, size, .. } => alu_handler(op, size, true, true),
        Op::AluImm { op, size, .. } => alu_handler(op, size, false, true),
        Op::Test { size, src, .. } => match src {
            Some(_) => by_size(size, TEST_REG_JCC),
            None => by_size(size, TEST_IMM_JCC),
        },
        Op::IncDec { size, dec, .. } => by_size(size, if dec { DEC_JCC } else { INC_JCC }),
        _ => return None,
    })
}

/// The handlers for each operand size (1, 2, 4 bytes).
const TEST_REG: [Handler; 3] = [test::<1, true>, test::<2, true>, test::<4, true>];
const TEST_IMM: [Handler; 3] = [test::<1, false>, test::<2, false>, test::<4, false>];
const INC: [Handler; 3] = [
    inc_dec::<1, false>,
    inc_dec::<2, false>,
    inc_dec::<4, false>,
];
const DEC: [Handler; 3] = [inc_dec::<1, true>, inc_dec::<2, true>, inc_dec::<4, true>];
const MOV: [Handler; 3] = [mov::<1>, mov::<2>, mov::<4>];
const MOV_IMM: [Handler; 3] = [mov_imm::<1>, mov_imm::<2>, mov_imm::<4>];
const TEST_REG_JCC: [Handler; 3] = [
    then_jcc::<1, 0, 0, true>,
    then_jcc::<2, 0, 0, true>,
    then_jcc::<4, 0, 0, true>,
];
const TEST_IMM_JCC: [Handler; 3] = [
    then_jcc::<1, 0, 0, false>,
    then_jcc::<2, 0, 0, false>,
    then_jcc::<4, 0, 0, false>,
];
const INC_JCC: [Handler; 3] = [
    then_jcc::<1, 1, 0, false>,
    then_jcc::<2, 1, 0, false>,
    then_jcc::<4, 1, 0, false>,
];
const DEC_JCC: [Handler; 3] = [
    then_jcc::<1, 2, 0, false>,
    then_jcc::<2, 2, 0, false>,
    then_jcc::<4, 2, 0, false>,
];

/// The general path runs this operation.
fn slow(_: &mut Cpu, _: &Fast, _: &mut Lazy) -> Flow {
    Flow::Slow
}

/// The handler of `size` bytes among one for each size.
fn by_size(size: u8, handlers: [Handler; 3]) -> Handler {
    match size {
        BYTE => handlers[0],
        WORD => handlers[1],
        _ => handlers[2],
    }
}

/// Register `r` of `SIZE` bytes (for bytes, 4-7 are AH CH DH BH): the CPU's own accessor,
/// its size decided at compile time and its index known to be in range.
#[inline(always)]
fn get<const SIZE: u8>(cpu: &Cpu, r: u8) -> u32 {
    cpu.reg(usize::from(r & 7), SIZE)
}

/// Sets register `r` of `SIZE` bytes, keeping the rest of it.
#[inline(always)]
fn put<const SIZE: u8>(cpu: &mut Cpu, r: u8, value: u32) {
    cpu.set_reg(usize::from(r & 7), SIZE, value);
}

/// The ALU handler for `op` on operands of `size` bytes: on two registers (`reg`) or a
/// register and an immediate; with a conditional jump fused in (`fused`) or not.
fn alu_handler(op: AluOp, size: u8, reg: bool, fused: bool) -> Handler {
    const TABLE: [[Handler; 8]; 12] = [
        alu_row::<1, false, false>(),
        alu_row::<2, false, false>(),
        alu_row::<4, false, false>(),
        alu_row::<1, true, false>(),
        alu_row::<2, true, false>(),
        alu_row::<4, true, false>(),
        alu_row::<1, false, true>(),
        alu_row::<2, false, true>(),
        alu_row::<4, false, true>(),
        alu_row::<1, true, true>(),
        alu_row::<2, true, true>(),
        alu_row::<4, true, true>(),
    ];
    TABLE[usize::from(fused) * 6 + usize::from(reg) * 3 + size_index(size)][op as usize]
}

/// The ALU handlers for operands of `SIZE` bytes, by operation (numbered as [`AluOp`]).
const fn alu_row<const SIZE: u8, const REG: bool, const FUSED: bool>() -> [Handler; 8] {
    if FUSED {
        [
            then_jcc::<SIZE, 3, 0, REG>,
            then_jcc::<SIZE, 3, 1, REG>,
            then_jcc::<SIZE, 3, 2, REG>,
            then_jcc::<SIZE, 3, 3, REG>,
            then_jcc::<SIZE, 3, 4, REG>,
            then_jcc::<SIZE, 3, 5, REG>,
            then_jcc::<SIZE, 3, 6, REG>,
            then_jcc::<SIZE, 3, 7, REG>,
        ]
    } else {
        [
            alu::<SIZE, 0, REG>,
            alu::<SIZE, 1, REG>,
            alu::<SIZE, 2, REG>,
            alu::<SIZE, 3, REG>,
            alu::<SIZE, 4, REG>,
            alu::<SIZE, 5, REG>,
            alu::<SIZE, 6, REG>,
            alu::<SIZE, 7, REG>,
        ]
    }
}

/// 0, 1, 2 for operands of 1, 2, 4 bytes.
fn size_index(size: u8) -> usize {
    match size {
        BYTE => 0,
        WORD => 1,
        _ => 2,
    }
}

/// `a = a op b` (or `a op imm`; CMP keeps `a`), operation `OP` numbered as [`AluOp`].
#[inline(always)]
fn alu<const SIZE: u8, const OP: u8, const REG: bool>(
    cpu: &mut Cpu,
    f: &Fast,
    lazy: &mut Lazy,
) -> Flow {
    let op = AluOp::from_index(OP);
    let a = get::<SIZE>(cpu, f.a);
    let b = if REG { get::<SIZE>(cpu, f.b) } else { f.imm };
    let r = cpu.alu_lazy(op, a, b, SIZE, lazy);
    if op != AluOp::Cmp {
        put::<SIZE>(cpu, f.a, r);
    }
    Flow::Next
}

/// An instruction that sets the flags (`WHAT`: 0 TEST, 1 INC, 2 DEC, 3 the ALU operation
/// `OP`; of two registers when `REG`, else of a register and an immediate), then the
/// conditional jump `cc` to `to`. The flags are still in `lazy`, just written: the condition
/// is worked out from the result in hand.
fn then_jcc<const SIZE: u8, const WHAT: u8, const OP: u8, const REG: bool>(
    cpu: &mut Cpu,
    f: &Fast,
    lazy: &mut Lazy,
) -> Flow {
    match WHAT {
        0 => test::<SIZE, REG>(cpu, f, lazy),
        1 => inc_dec::<SIZE, false>(cpu, f, lazy),
        2 => inc_dec::<SIZE, true>(cpu, f, lazy),
        _ => alu::<SIZE, OP, REG>(cpu, f, lazy),
    };
    if lazy.condition(cpu, f.cc) {
        Flow::Jump(f.to)
    } else {
        Flow::Next
    }
}

/// TEST of two registers (`REG`) or of a register and an immediate.
#[inline(always)]
fn test<const SIZE: u8, const REG: bool>(cpu: &mut Cpu, f: &Fast, lazy: &mut Lazy) -> Flow {
    let b = if REG { get::<SIZE>(cpu, f.b) } else { f.imm };
    let r = get::<SIZE>(cpu, f.a) & b;
    lazy.set(Kind::Logic, SIZE, 0, 0, 0, r);
    Flow::Next
}

/// INC or DEC (`DEC`) of a register: CF as it was.
#[inline(always)]
fn inc_dec<const SIZE: u8, const DEC: bool>(cpu: &mut Cpu, f: &Fast, lazy: &mut Lazy) -> Flow {
    let carry = lazy.carry(cpu);
    let a = get::<SIZE>(cpu, f.a);
    let (kind, r) = if DEC {
        (Kind::Dec, a.wrapping_sub(1) & mask(SIZE))
    } else {
        (Kind::Inc, a.wrapping_add(1) & mask(SIZE))
    };
    lazy.set(kind, SIZE, a, 1, carry, r);
    put::<SIZE>(cpu, f.a, r);
    Flow::Next
}

/// `a = b`.
fn mov<const SIZE: u8>(cpu: &mut Cpu, f: &Fast, _: &mut Lazy) -> Flow {
    put::<SIZE>(cpu, f.a, get::<SIZE>(cpu, f.b));
    Flow::Next
}

/// `a = imm`.
fn mov_imm<const SIZE: u8>(cpu: &mut Cpu, f: &Fast, _: &mut Lazy) -> Flow {
    put::<SIZE>(cpu, f.a, f.imm);
    Flow::Next
}

/// The conditional jumps, by condition (the opcode's low nibble).
const JCC: [Handler; 16] = [
    jcc::<0>, jcc::<1>, jcc::<2>, jcc::<3>, jcc::<4>, jcc::<5>, jcc::<6>, jcc::<7>, jcc::<8>,
    jcc::<9>, jcc::<10>, jcc::<11>, jcc::<12>, jcc::<13>, jcc::<14>, jcc::<15>,
];

/// A conditional jump to `imm`.
fn jcc<const CC: u8>(cpu: &mut Cpu, f: &Fast, lazy: &mut Lazy) -> Flow {
    if lazy.condition(cpu, CC) {
        Flow::Jump(f.imm)
    } else {
        Flow::Next
    }
}

/// A jump to `imm`.
fn jmp(_: &mut Cpu, f: &Fast, _: &mut Lazy) -> Flow {
    Flow::Jump(f.imm)
}

/// LOOPNE, LOOPE, LOOP and JCXZ on CX, and on ECX.
const LOOP16: [Handler; 4] = [
    lp::<0, false>,
    lp::<1, false>,
    lp::<2, false>,
    lp::<3, false>,
];
const LOOP32: [Handler; 4] = [lp::<0, true>, lp::<1, true>, lp::<2, true>, lp::<3, true>];

/// LOOP of kind `KIND` (as E0h-E3h) on CX, or ECX when `COUNT32`, to `imm`.
fn lp<const KIND: u8, const COUNT32: bool>(cpu: &mut Cpu, f: &Fast, lazy: &mut Lazy) -> Flow {
    let zf = KIND < 2 && lazy.zero(cpu);
    let size = if COUNT32 { DWORD } else { WORD };
    let cx = if KIND == 3 {
        cpu.reg(1, size)
    } else {
        let cx = cpu.reg(1, size).wrapping_sub(1) & mask(size);
        cpu.set_reg(1, size, cx);
        cx
    };
    let taken = match KIND {
        0 => cx != 0 && !zf,
        1 => cx != 0 && zf,
        2 => cx != 0,
        _ => cx == 0,
    };
    if taken {
        Flow::Jump(f.imm)
    } else {
        Flow::Next
    }
}
