//! Running a block's decoded operations, with the same arithmetic and flags as the step.

use super::decode::{Decoded, Op};
use super::fast::Fast;
use super::lazy::{Kind, Lazy};
use super::pages::CodePages;
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
    /// The operation has no handler of its own: the general path runs it.
    Slow,
}

/// What running a block did.
pub(super) struct Ran {
    /// Instructions run.
    pub count: u32,
    /// Whether the next block may follow (no device touched, no fault, no write near the
    /// code).
    pub go_on: bool,
}

/// Where a block's code is: its physical address (the linear one when paging is off) and its
/// length (a write there ends the block); and the pages any block's code is in (a write there
/// makes the blocks look at their bytes again).
#[derive(Clone, Copy, Debug)]
pub(super) struct Code<'a> {
    pub physical: u32,
    pub len: u32,
    pub pages: &'a CodePages,
}

impl Cpu {
    /// Runs a block's `ops` (specialised as `fast`), decoded at IP `ip`, and again while they
    /// jump back to their start (without looking at the code again: a write near it stops the
    /// block), until the last one, a jump elsewhere, a reason to stop or `budget` instructions;
    /// returns how many ran and whether the next block may follow (no device touched, no
    /// fault, no write near the code). IP is left at the next instruction; the arithmetic
    /// flags may be left in `lazy`.
    #[inline(always)]
    pub(super) fn run_passes(
        &mut self,
        bus: &mut impl Bus,
        (ip, code, budget): (u32, Code, u32),
        (ops, fast): (&[Decoded], &[Fast]),
        lazy: &mut Lazy,
    ) -> Ran {
        let mut passes = 0;
        let mut i = 0;
        loop {
            let f = &fast[i];
            let mut flow = (f.run)(self, f, lazy);
            if flow == Flow::Slow {
                let d = &ops[usize::from(f.index)];
                let next = self.block_ip(ip.wrapping_add(u32::from(d.end)));
                flow = self.run_op(bus, code, &d.op, next, lazy);
            }
            match flow {
                Flow::Next if i + 1 < fast.len() => i += 1,
                Flow::Jump(to) if to == ip && passes + f.ran() < budget => {
                    passes += f.ran();
                    i = 0;
                }
                _ => {
                    let (count, go_on) = self.leave_block(ip, ops, f, passes, flow);
                    return Ran { count, go_on };
                }
            }
        }
    }

    /// Leaves a block after handler `f` ended it with `flow`, `passes` instructions after the
    /// first entry: sets IP (and the instruction's start, for a fault) and counts.
    fn leave_block(
        &mut self,
        ip: u32,
        ops: &[Decoded],
        f: &Fast,
        passes: u32,
        flow: Flow,
    ) -> (u32, bool) {
        let last = usize::from(f.index);
        let start = if last == 0 { 0 } else { ops[last - 1].end };
        let start = self.block_ip(ip.wrapping_add(u32::from(start)));
        self.ip = match flow {
            Flow::Fault => start,
            Flow::Jump(to) => to,
            _ => self.block_ip(ip.wrapping_add(u32::from(ops[last].end))),
        };
        self.start_ip = start;
        self.shadow = false;
        // A faulting instruction is counted, as the step counts it.
        let ran = passes + f.ran();
        self.executed += u64::from(ran);
        (ran, matches!(flow, Flow::Next | Flow::Jump(_)))
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
            Op::Xchg { size, a, b } => {
                let (va, vb) = (self.reg(a.into(), size), self.reg(b.into(), size));
                self.set_reg(a.into(), size, vb);
                self.set_reg(b.into(), size, va);
            }
            Op::SetFlags { and, xor } => {
                lazy.settle(self);
                self.flags = (self.flags & and) ^ xor;
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
