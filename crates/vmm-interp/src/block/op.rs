//! What a block's decoded instructions do: one operation each, with its operands decoded.

use super::groups::Modify;
use super::memory::{Mem, Rm};
use crate::alu::AluOp;

/// What one decoded instruction does. Registers are numbered as instructions encode them
/// (for bytes, 4-7 are AH CH DH BH); `size` is the operand's size in bytes.
///
/// A plain tag byte (`repr(u8)`) rather than a niche in a field: the dispatch on it is one
/// table jump. The handlers take operations by reference (copying each to the stack cost the
/// loop of `add; dec; jnz` a fifth of its speed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(super) enum Op {
    /// `dst = dst op src` (CMP only sets the flags).
    Alu {
        op: AluOp,
        size: u8,
        dst: u8,
        src: u8,
    },
    /// `dst = dst op imm`.
    AluImm {
        op: AluOp,
        size: u8,
        dst: u8,
        imm: u32,
    },
    /// TEST of two registers, or of a register and an immediate (`imm` when `src` is `None`).
    Test {
        size: u8,
        a: u8,
        src: Option<u8>,
        imm: u32,
    },
    /// INC or DEC of a register.
    IncDec {
        size: u8,
        reg: u8,
        dec: bool,
    },
    /// `dst = src`.
    Mov {
        size: u8,
        dst: u8,
        src: u8,
    },
    /// `dst = imm`.
    MovImm {
        size: u8,
        dst: u8,
        imm: u32,
    },
    /// Swaps two registers.
    Xchg {
        size: u8,
        a: u8,
        b: u8,
    },
    /// FLAGS = (FLAGS & `and`) ^ `xor`: CLC, STC, CMC, CLD, STD.
    SetFlags {
        and: u32,
        xor: u32,
    },
    /// A conditional jump by `disp` (condition `cc`, the opcode's low nibble); ends the block.
    Jcc {
        cc: u8,
        disp: u32,
        wide: bool,
    },
    /// A jump by `disp`; ends the block.
    Jmp {
        disp: u32,
        wide: bool,
    },
    /// LOOPNE, LOOPE, LOOP, JCXZ (`kind` 0-3, as E0h-E3h) on CX, or ECX when `count32`; ends
    /// the block.
    Loop {
        kind: u8,
        disp: u32,
        wide: bool,
        count32: bool,
    },
    /// `dst = [mem]`.
    Load {
        size: u8,
        dst: u8,
        mem: Mem,
    },
    /// `[mem] = src`, or `imm` when `src` is `None`.
    Store {
        size: u8,
        src: Option<u8>,
        imm: u32,
        mem: Mem,
    },
    /// `dst = dst op [mem]`.
    AluLoad {
        op: AluOp,
        size: u8,
        dst: u8,
        mem: Mem,
    },
    /// `[mem] = [mem] op src` (or `imm` when `src` is `None`; CMP stores nothing).
    AluStore {
        op: AluOp,
        size: u8,
        src: Option<u8>,
        imm: u32,
        mem: Mem,
    },
    /// TEST of memory and a register (or `imm` when `src` is `None`).
    TestMem {
        size: u8,
        src: Option<u8>,
        imm: u32,
        mem: Mem,
    },
    /// `dst = offset of mem`.
    Lea {
        size: u8,
        dst: u8,
        mem: Mem,
    },
    /// PUSH and POP of a register.
    Push {
        size: u8,
        reg: u8,
    },
    Pop {
        size: u8,
        reg: u8,
    },
    /// A near call by `disp` (pushing `size` bytes of the return address); ends the block.
    Call {
        disp: u32,
        size: u8,
    },
    /// A near return (popping `size` bytes, then releasing `release` more); ends the block.
    Ret {
        size: u8,
        release: u16,
    },
    /// A shift, rotate, NOT, NEG, INC or DEC of a register or memory.
    Modify {
        what: Modify,
        size: u8,
        target: Rm,
    },
    /// MOVZX, MOVSX: `dst` (of `size` bytes) from `from` bytes of `src`.
    Extend {
        size: u8,
        from: u8,
        signed: bool,
        dst: u8,
        src: Rm,
    },
    /// IMUL's two-operand form (`dst = dst * src`) and three-operand forms (`dst = src *
    /// imm`, when `imm` is given).
    Imul {
        size: u8,
        dst: u8,
        src: Rm,
        imm: Option<u32>,
    },
    /// CMOVcc: `dst = src` when condition `cc` holds (memory is read either way).
    Cmov {
        cc: u8,
        size: u8,
        dst: u8,
        src: Rm,
    },
    /// SETcc of a byte.
    SetCc {
        cc: u8,
        target: Rm,
    },
    /// PUSH of an immediate.
    PushImm {
        size: u8,
        imm: u32,
    },
    /// LEAVE.
    Leave {
        size: u8,
    },
    /// CBW/CWDE (`into_dx` false) or CWD/CDQ.
    Convert {
        size: u8,
        into_dx: bool,
    },
    /// A near CALL or JMP to an address in a register or memory; ends the block.
    JumpIndirect {
        call: bool,
        size: u8,
        target: Rm,
    },
}

impl Op {
    /// Whether the operation ends its block: it always jumps. (A conditional jump or a LOOP
    /// does not: the block goes on after it, and leaves there when it jumps.)
    pub(super) fn ends_block(&self) -> bool {
        matches!(
            self,
            Op::Jmp { .. } | Op::Call { .. } | Op::Ret { .. } | Op::JumpIndirect { .. }
        )
    }
}
