//! Running what the groups decode (block/groups.rs): read-modify-writes whose flags the step's
//! own arithmetic works out at once, MOVZX/MOVSX, IMUL, CMOVcc, SETcc, PUSH imm, LEAVE,
//! CBW/CWD, and near jumps and calls through a register or memory. A fault leaves the registers and flags as
//! they were.

use super::decode::Op;
use super::groups::{Count, Modify};
use super::lazy::Lazy;
use super::memory::Rm;
use super::run::{Code, Flow};
use crate::alu::sign_extend;
use crate::bus::Bus;
use crate::cpu::{mask, sign, Cpu, BYTE};

impl Cpu {
    /// Runs one of the groups' operations (`next` is the following instruction's IP).
    pub(super) fn run_modify(
        &mut self,
        bus: &mut impl Bus,
        code: Code,
        op: &Op,
        next: u32,
        lazy: &mut Lazy,
    ) -> Flow {
        match *op {
            Op::Modify { what, size, target } => self.modify(bus, code, what, size, target, lazy),
            Op::Extend {
                size,
                from,
                signed,
                dst,
                src,
            } => {
                let Some(v) = self.get_target(bus, src, from) else {
                    return Flow::Fault;
                };
                let v = if signed {
                    sign_extend(v, from) as u32
                } else {
                    v
                };
                self.set_reg(dst.into(), size, v);
                self.after_target(bus, src)
            }
            Op::Imul {
                size,
                dst,
                src,
                imm,
            } => {
                let Some(v) = self.get_target(bus, src, size) else {
                    return Flow::Fault;
                };
                let (a, b) = match imm {
                    Some(imm) => (v, imm),
                    None => (self.reg(dst.into(), size), v),
                };
                // IMUL sets CF, OF, SF, ZF and PF at once, and keeps AF.
                lazy.settle(self);
                let r = self.imul3(a, b, size);
                self.set_reg(dst.into(), size, r);
                self.after_target(bus, src)
            }
            Op::Cmov { cc, size, dst, src } => {
                let Some(v) = self.get_target(bus, src, size) else {
                    return Flow::Fault;
                };
                if lazy.condition(self, cc) {
                    self.set_reg(dst.into(), size, v);
                }
                self.after_target(bus, src)
            }
            Op::SetCc { cc, target } => {
                let v = u32::from(lazy.condition(self, cc));
                self.put_target(bus, code, target, BYTE, v)
            }
            Op::PushImm { size, imm } => self.push_or_fault(bus, code, size, imm),
            Op::Leave { size } => self.leave(bus, size),
            Op::Convert { size, into_dx } => {
                if into_dx {
                    let negative = self.reg(0, size) & sign(size) != 0;
                    self.set_reg(2, size, if negative { u32::MAX } else { 0 });
                } else {
                    let half = size / 2;
                    let v = sign_extend(self.reg(0, half), half) as u32;
                    self.set_reg(0, size, v);
                }
                Flow::Next
            }
            Op::JumpIndirect { call, size, target } => {
                let Some(to) = self.get_target(bus, target, size) else {
                    return Flow::Fault;
                };
                if call && self.push_or_fault(bus, code, size, next) == Flow::Fault {
                    return Flow::Fault;
                }
                Flow::Jump(to)
            }
            _ => Flow::Next,
        }
    }

    /// A read-modify-write of `target`, its flags worked out by the step's arithmetic.
    fn modify(
        &mut self,
        bus: &mut impl Bus,
        code: Code,
        what: Modify,
        size: u8,
        target: Rm,
        lazy: &mut Lazy,
    ) -> Flow {
        // Shifts keep some flags and rotates through CF read it: FLAGS must be up to date.
        lazy.settle(self);
        let flags = self.flags;
        let Some(a) = self.get_target(bus, target, size) else {
            return Flow::Fault;
        };
        let r = match what {
            Modify::Shift { op, count } => {
                let count = match count {
                    Count::One => 1,
                    Count::Cl => self.reg(1, BYTE),
                    Count::Imm(n) => u32::from(n),
                };
                self.shift(op, a, count, size)
            }
            Modify::Not => !a & mask(size),
            Modify::Neg => self.neg(a, size),
            Modify::Inc => self.inc_dec(a, false, size),
            Modify::Dec => self.inc_dec(a, true, size),
        };
        let flow = self.put_target(bus, code, target, size, r);
        if flow == Flow::Fault {
            self.flags = flags;
        }
        flow
    }

    /// LEAVE: SP from BP, then BP popped (SP as it was when the pop faults).
    fn leave(&mut self, bus: &mut impl Bus, size: u8) -> Flow {
        let esp = self.regs[4];
        self.set_sp(self.reg(5, self.stack_size()));
        let Some(v) = self.pop_or_fault(bus, size) else {
            self.regs[4] = esp;
            return Flow::Fault;
        };
        self.set_reg(5, size, v);
        self.after_access(bus)
    }

    /// The value of a register or of memory; `None` when the read faulted.
    fn get_target(&mut self, bus: &mut impl Bus, target: Rm, size: u8) -> Option<u32> {
        match target {
            Rm::Reg(r) => Some(self.reg(r.into(), size)),
            Rm::Mem(mem) => self.load(bus, &mem, size),
        }
    }

    /// Sets a register, or writes memory (a write near the code, or one that reached a
    /// device, ends the block).
    fn put_target(&mut self, bus: &mut impl Bus, code: Code, target: Rm, size: u8, v: u32) -> Flow {
        match target {
            Rm::Reg(r) => {
                self.set_reg(r.into(), size, v);
                Flow::Next
            }
            Rm::Mem(mem) => self.store(bus, code, self.effective(&mem), size, v),
        }
    }

    /// After reading `target`: the block ends when the read reached a device.
    fn after_target(&self, bus: &mut impl Bus, target: Rm) -> Flow {
        match target {
            Rm::Reg(_) => Flow::Next,
            Rm::Mem(_) => self.after_access(bus),
        }
    }
}
