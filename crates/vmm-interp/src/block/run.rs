//! Running a block's decoded operations, with the same arithmetic and flags as the step.

use super::decode::{Decoded, Op};
use super::lazy::{Kind, Lazy};
use crate::alu::AluOp;
use crate::bus::Bus;
use crate::cpu::{mask, Cpu};

/// What comes after an operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Flow {
    /// The next operation.
    Next,
    /// A jump (or call, or return) to this IP.
    Jump(u32),
    /// The instruction touched a device or wrote near code: the block ends after it, so that
    /// the machine looks at once (and the code is looked at again).
    Leave,
    /// The instruction faulted, leaving the registers as they were: the block ends before it,
    /// with the fault pending for the step to deliver.
    Fault,
}

/// Where a block's code is: its linear address and length (a write there ends the block).
#[derive(Clone, Copy, Debug)]
pub(super) struct Code {
    pub linear: u32,
    pub len: u32,
}

impl Cpu {
    /// Runs `ops`, decoded at IP `ip`, until the last one, a jump taken or a reason to stop;
    /// returns how many ran and whether the block may go on (no device touched, no fault, no
    /// write near its code). IP is left at the next instruction; the arithmetic flags may be
    /// left in `lazy`.
    #[inline(always)]
    pub(super) fn run_ops(
        &mut self,
        bus: &mut impl Bus,
        ip: u32,
        code: Code,
        ops: &[Decoded],
        lazy: &mut Lazy,
    ) -> (u32, bool) {
        let mut start = 0;
        for (i, d) in ops.iter().enumerate() {
            let next = self.block_ip(ip.wrapping_add(u32::from(d.end)));
            let flow = self.run_op(bus, code, &d.op, next, lazy);
            if flow != Flow::Next || i + 1 == ops.len() {
                let (ran, ip_now) = match flow {
                    // Counted, as the step counts an instruction that faults.
                    Flow::Fault => (i + 1, self.block_ip(ip.wrapping_add(u32::from(start)))),
                    Flow::Jump(target) => (i + 1, target),
                    _ => (i + 1, next),
                };
                self.start_ip = self.block_ip(ip.wrapping_add(u32::from(start)));
                self.ip = ip_now;
                self.shadow = false;
                self.executed += ran as u64;
                return (ran as u32, matches!(flow, Flow::Next | Flow::Jump(_)));
            }
            start = d.end;
        }
        (0, false)
    }

    /// IP as the code segment's size wraps it.
    pub(super) fn block_ip(&self, ip: u32) -> u32 {
        if self.code32 {
            ip
        } else {
            ip & 0xFFFF
        }
    }

    /// Runs one operation (`next` is the following instruction's IP).
    #[inline(always)]
    fn run_op(
        &mut self,
        bus: &mut impl Bus,
        code: Code,
        op: &Op,
        next: u32,
        lazy: &mut Lazy,
    ) -> Flow {
        match *op {
            Op::Alu { op, size, dst, src } => {
                let (a, b) = (self.reg(dst.into(), size), self.reg(src.into(), size));
                self.alu_to(op, dst, a, b, size, lazy);
            }
            Op::AluImm { op, size, dst, imm } => {
                let a = self.reg(dst.into(), size);
                self.alu_to(op, dst, a, imm, size, lazy);
            }
            Op::Test { size, a, src, imm } => {
                let b = src.map_or(imm, |s| self.reg(s.into(), size));
                let r = self.reg(a.into(), size) & b;
                lazy.set(Kind::Logic, size, 0, 0, 0, r);
            }
            Op::IncDec { size, reg, dec } => {
                let carry = lazy.carry(self);
                let a = self.reg(reg.into(), size);
                let (kind, r) = if dec {
                    (Kind::Dec, a.wrapping_sub(1) & mask(size))
                } else {
                    (Kind::Inc, a.wrapping_add(1) & mask(size))
                };
                lazy.set(kind, size, a, 1, carry, r);
                self.set_reg(reg.into(), size, r);
            }
            Op::Mov { size, dst, src } => {
                self.set_reg(dst.into(), size, self.reg(src.into(), size))
            }
            Op::MovImm { size, dst, imm } => self.set_reg(dst.into(), size, imm),
            Op::Xchg { size, a, b } => {
                let (va, vb) = (self.reg(a.into(), size), self.reg(b.into(), size));
                self.set_reg(a.into(), size, vb);
                self.set_reg(b.into(), size, va);
            }
            Op::SetFlags { and, xor } => {
                lazy.settle(self);
                self.flags = (self.flags & and) ^ xor;
            }
            Op::Jcc { cc, disp, wide } => {
                if lazy.condition(self, cc) {
                    return Flow::Jump(target(next, disp, wide));
                }
            }
            Op::Jmp { disp, wide } => return Flow::Jump(target(next, disp, wide)),
            Op::Loop {
                kind,
                disp,
                wide,
                count32,
            } => {
                let zf = lazy.zero(self);
                if self.loop_taken(kind, count32, zf) {
                    return Flow::Jump(target(next, disp, wide));
                }
            }
            _ => return self.run_access(bus, code, op, next, lazy),
        }
        Flow::Next
    }

    /// `a op b` into register `dst` (CMP keeps it), its flags left in `lazy`.
    #[inline(always)]
    pub(super) fn alu_to(&mut self, op: AluOp, dst: u8, a: u32, b: u32, size: u8, lazy: &mut Lazy) {
        let r = self.alu_lazy(op, a, b, size, lazy);
        if op != AluOp::Cmp {
            self.set_reg(dst.into(), size, r);
        }
    }

    /// `a op b`, its flags left in `lazy`.
    #[inline(always)]
    pub(super) fn alu_lazy(&mut self, op: AluOp, a: u32, b: u32, size: u8, lazy: &mut Lazy) -> u32 {
        let m = mask(size);
        let r = match op {
            AluOp::Add | AluOp::Adc => {
                let carry = if op == AluOp::Adc {
                    lazy.carry(self)
                } else {
                    0
                };
                let r = a.wrapping_add(b).wrapping_add(carry) & m;
                lazy.set(Kind::Add, size, a, b, carry, r);
                r
            }
            AluOp::Sub | AluOp::Sbb | AluOp::Cmp => {
                let carry = if op == AluOp::Sbb {
                    lazy.carry(self)
                } else {
                    0
                };
                let r = a.wrapping_sub(b).wrapping_sub(carry) & m;
                lazy.set(Kind::Sub, size, a, b, carry, r);
                r
            }
            AluOp::Or => a | b,
            AluOp::And => a & b,
            AluOp::Xor => a ^ b,
        };
        if matches!(op, AluOp::Or | AluOp::And | AluOp::Xor) {
            lazy.set(Kind::Logic, size, 0, 0, 0, r & m);
        }
        r & m
    }

    /// LOOPNE, LOOPE, LOOP (which count CX or ECX down first) and JCXZ: whether they jump
    /// (`zf`: ZF).
    fn loop_taken(&mut self, kind: u8, count32: bool, zf: bool) -> bool {
        let csize = if count32 { 4 } else { 2 };
        let cx = if kind == 3 {
            self.reg(1, csize)
        } else {
            let cx = self.reg(1, csize).wrapping_sub(1) & mask(csize);
            self.set_reg(1, csize, cx);
            cx
        };
        match kind {
            0 => cx != 0 && !zf,
            1 => cx != 0 && zf,
            2 => cx != 0,
            _ => cx == 0,
        }
    }
}

/// A relative jump's target: 16-bit unless the operand size is 32-bit.
pub(super) fn target(next: u32, disp: u32, wide: bool) -> u32 {
    let target = next.wrapping_add(disp);
    if wide {
        target
    } else {
        target & 0xFFFF
    }
}
