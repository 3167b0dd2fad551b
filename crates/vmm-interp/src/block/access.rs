//! A block's operations on memory: loads, stores, ALU operations on memory, the stack, near
//! calls and returns. Each goes through the CPU's own reads and writes (segments, paging,
//! devices), and leaves the registers as they were when it faults, so that the step can
//! deliver the fault as if it had run the instruction itself.

use super::decode::Op;
use super::lazy::{Kind, Lazy};
use super::memory::Mem;
use super::pages::CodePages;
use super::run::{target, Code, Flow};
use crate::alu::AluOp;
use crate::bus::Bus;
use crate::cpu::{Address, Cpu, SS};

impl Cpu {
    /// Runs an operation on memory (`next` is the following instruction's IP).
    #[inline(always)]
    pub(super) fn run_access(
        &mut self,
        bus: &mut impl Bus,
        code: Code,
        op: &Op,
        next: u32,
        lazy: &mut Lazy,
    ) -> Flow {
        match *op {
            Op::Load { size, dst, mem } => {
                let Some(v) = self.load(bus, &mem, size) else {
                    return Flow::Fault;
                };
                self.set_reg(dst.into(), size, v);
            }
            Op::Store {
                size,
                src,
                imm,
                mem,
            } => {
                let v = src.map_or(imm, |s| self.reg(s.into(), size));
                return self.store(bus, code, self.effective(&mem), size, v);
            }
            Op::AluLoad { op, size, dst, mem } => {
                let Some(b) = self.load(bus, &mem, size) else {
                    return Flow::Fault;
                };
                let a = self.reg(dst.into(), size);
                self.alu_to(op, dst, a, b, size, lazy);
            }
            Op::AluStore {
                op,
                size,
                src,
                imm,
                mem,
            } => {
                return self.alu_store(
                    bus,
                    code,
                    op,
                    size,
                    src.map_or(imm, |s| self.reg(s.into(), size)),
                    mem,
                    lazy,
                )
            }
            Op::TestMem {
                size,
                src,
                imm,
                mem,
            } => {
                let Some(a) = self.load(bus, &mem, size) else {
                    return Flow::Fault;
                };
                let b = src.map_or(imm, |s| self.reg(s.into(), size));
                lazy.set(Kind::Logic, size, 0, 0, 0, a & b);
            }
            Op::Lea { size, dst, mem } => {
                let offset = self.effective(&mem).offset;
                self.set_reg(dst.into(), size, offset);
                return Flow::Next;
            }
            _ => return self.run_stack(bus, code, op, next, lazy),
        }
        self.after_access(bus)
    }

    /// PUSH, POP, CALL, RET.
    #[inline(always)]
    fn run_stack(
        &mut self,
        bus: &mut impl Bus,
        code: Code,
        op: &Op,
        next: u32,
        lazy: &mut Lazy,
    ) -> Flow {
        match *op {
            Op::Push { size, reg } => {
                let value = self.reg(reg.into(), size);
                self.push_or_fault(bus, code, size, value)
            }
            Op::Pop { size, reg } => {
                let Some(v) = self.pop_or_fault(bus, size) else {
                    return Flow::Fault;
                };
                self.set_reg(reg.into(), size, v);
                self.after_access(bus)
            }
            Op::Call { disp, size } => match self.push_or_fault(bus, code, size, next) {
                Flow::Fault => Flow::Fault,
                _ => Flow::Jump(target(next, disp, size == 4)),
            },
            Op::Ret { size, release } => {
                let Some(ip) = self.pop_or_fault(bus, size) else {
                    return Flow::Fault;
                };
                self.set_sp(self.sp().wrapping_add(u32::from(release)));
                Flow::Jump(ip)
            }
            _ => self.run_modify(bus, code, op, next, lazy),
        }
    }

    /// `[mem] = [mem] op b` (CMP only reads).
    #[allow(clippy::too_many_arguments)]
    fn alu_store(
        &mut self,
        bus: &mut impl Bus,
        code: Code,
        op: AluOp,
        size: u8,
        b: u32,
        mem: Mem,
        lazy: &mut Lazy,
    ) -> Flow {
        let Some(a) = self.load(bus, &mem, size) else {
            return Flow::Fault;
        };
        let at = self.effective(&mem);
        let before = *lazy;
        let r = self.alu_lazy(op, a, b, size, lazy);
        if op == AluOp::Cmp {
            return self.after_access(bus);
        }
        let flow = self.store(bus, code, at, size, r);
        if flow == Flow::Fault {
            *lazy = before;
        }
        flow
    }

    /// Writes `value` at `at`: the block ends after a write near its own code (through
    /// paging, compared by physical address: another linear address may map to the code's
    /// page; a write across two pages ends it too), and a write to any page that holds code
    /// makes the blocks compare their bytes again.
    #[inline(always)]
    pub(super) fn store(
        &mut self,
        bus: &mut impl Bus,
        code: Code,
        at: Address,
        size: u8,
        value: u32,
    ) -> Flow {
        self.write(bus, at, size, value);
        if self.pending.is_some() {
            return Flow::Fault;
        }
        // A block's own code is on a page that holds code: only such a write is compared.
        let own = if !self.paging {
            let linear = self.linear(at.seg, at.offset);
            written_code_page(code.pages, linear, size) && {
                code.pages.note_written();
                near(linear, size, code)
            }
        } else if self.last_write == crate::cpu::WRITE_ACROSS_PAGES {
            code.pages.note_written();
            true
        } else {
            code.pages.holds(self.last_write) && {
                code.pages.note_written();
                overlaps(self.last_write, size, code.physical, code.len)
            }
        };
        if own {
            return Flow::Leave;
        }
        self.after_access(bus)
    }

    /// Reads `size` bytes of `mem`; `None` when the read faulted (the fault pending).
    #[inline(always)]
    pub(super) fn load(&mut self, bus: &mut impl Bus, mem: &Mem, size: u8) -> Option<u32> {
        let v = self.read(bus, self.effective(mem), size);
        self.pending.is_none().then_some(v)
    }

    /// Pushes `value`; SP is put back when the write faults.
    pub(super) fn push_or_fault(
        &mut self,
        bus: &mut impl Bus,
        code: Code,
        size: u8,
        value: u32,
    ) -> Flow {
        let esp = self.regs[4];
        self.set_sp(self.sp().wrapping_sub(u32::from(size)));
        let at = Address {
            seg: SS,
            offset: self.sp(),
        };
        let flow = self.store(bus, code, at, size, value);
        if flow == Flow::Fault {
            self.regs[4] = esp;
        }
        flow
    }

    /// Pops `size` bytes; `None` (SP as it was) when the read faults.
    pub(super) fn pop_or_fault(&mut self, bus: &mut impl Bus, size: u8) -> Option<u32> {
        let at = Address {
            seg: SS,
            offset: self.sp(),
        };
        let value = self.read(bus, at, size);
        if self.pending.is_some() {
            return None;
        }
        self.set_sp(self.sp().wrapping_add(u32::from(size)));
        Some(value)
    }

    /// After a read or write: the block ends when it reached a device.
    #[inline(always)]
    pub(super) fn after_access(&self, bus: &mut impl Bus) -> Flow {
        if bus.device_touched() {
            Flow::Leave
        } else {
            Flow::Next
        }
    }
}

/// Whether a write of `size` bytes at `linear` may reach the block's code: compared as is and
/// within the first megabyte (where the A20 gate may wrap one onto the other).
fn near(linear: u32, size: u8, code: Code) -> bool {
    overlaps(linear, size, code.physical, code.len)
        || overlaps(linear & 0xF_FFFF, size, code.physical & 0xF_FFFF, code.len)
}

/// Whether a write of `size` bytes at `linear` (paging off) reaches a page that holds code:
/// its last byte may be on the next page, and past 1 MiB the A20 gate may wrap it.
#[inline(always)]
fn written_code_page(pages: &CodePages, linear: u32, size: u8) -> bool {
    let last = linear.wrapping_add(u32::from(size) - 1);
    pages.holds(linear)
        || ((last ^ linear) >> 12 != 0 && pages.holds(last))
        || (last > 0xF_FFFF && (pages.holds(linear & 0xF_FFFF) || pages.holds(last & 0xF_FFFF)))
}

/// Whether `size` bytes at `a` and `len` bytes at `b` share one.
fn overlaps(a: u32, size: u8, b: u32, len: u32) -> bool {
    a.wrapping_sub(b) < len || b.wrapping_sub(a) < u32::from(size)
}
