//! The x87 floating-point unit, as a 387 (and a 486DX's) has it: eight 80-bit registers used
//! as a stack, the control word (rounding, precision, exception masks), the status word and
//! the tags; loads and stores of every memory format, the arithmetic, comparisons, constants,
//! FSQRT, FPREM, FSCALE, FXTRACT, FRNDINT, the transcendental functions (from the host's
//! double precision), and the environment (FNSTENV, FLDENV, FNSAVE, FRSTOR). Exceptions set
//! the status word's flags and give the masked responses; an unmasked one makes the next x87
//! instruction raise #MF (with CR0.NE). CR0.EM and CR0.TS make the escapes #NM.

mod arith;
mod control;
mod functions;
mod fxsave;
mod memory;
mod value;

use crate::bus::Bus;
use crate::cpu::{Cpu, Exit};
use crate::decode::{ModRm, Operand};
use rustc_apfloat::{Float, Status, StatusAnd};
use value::Ext;

/// Status word bits.
const IE: u16 = 1;
const ZE: u16 = 1 << 2;
const SF: u16 = 1 << 6;
const ES: u16 = 1 << 7;
const C0: u16 = 1 << 8;
const C1: u16 = 1 << 9;
const C2: u16 = 1 << 10;
const C3: u16 = 1 << 14;
const B: u16 = 1 << 15;
/// The condition code bits.
const CC: u16 = C0 | C1 | C2 | C3;

/// The x87's state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fpu {
    /// The registers in physical order (ST(i) is `regs[(top + i) % 8]`), 80-bit patterns.
    pub regs: [u128; 8],
    /// The control word.
    pub control: u16,
    /// The status word, TOP (bits 11-13) included.
    pub status: u16,
    /// Bit i set: physical register i is empty.
    pub empty: u8,
    /// The last instruction's opcode (11 bits), as FNSTENV stores it.
    pub last_opcode: u16,
    /// The SSE registers XMM0-XMM7, kept for FXSAVE and FXRSTOR (and a hand-over).
    pub xmm: [u128; 8],
    /// MXCSR, the SSE control and status register.
    pub mxcsr: u32,
}

impl Default for Fpu {
    /// As FNINIT leaves it.
    fn default() -> Fpu {
        Fpu {
            regs: [0; 8],
            control: 0x037F,
            status: 0,
            empty: 0xFF,
            last_opcode: 0,
            xmm: [0; 8],
            mxcsr: fxsave::MXCSR_RESET,
        }
    }
}

impl Fpu {
    /// TOP: the physical register that is ST(0).
    pub fn top(&self) -> usize {
        usize::from((self.status >> 11) & 7)
    }

    fn set_top(&mut self, top: usize) {
        self.status = (self.status & !0x3800) | ((top as u16 & 7) << 11);
    }

    /// The physical register of ST(i).
    pub fn physical(&self, i: usize) -> usize {
        (self.top() + i) & 7
    }

    /// The full tag word: 00 valid, 01 zero, 10 special, 11 empty, two bits a register.
    pub fn tag_word(&self) -> u16 {
        (0..8).fold(0, |tags, r| {
            let tag = if self.empty & (1 << r) != 0 {
                3
            } else {
                let v = value::ext(self.regs[r]);
                match v.category() {
                    rustc_apfloat::Category::Zero => 1,
                    rustc_apfloat::Category::Normal if !v.is_denormal() => 0,
                    _ => 2,
                }
            };
            tags | (tag << (2 * r))
        })
    }

    /// Takes a tag word: registers tagged 11 become empty, the others hold their values.
    pub fn set_tag_word(&mut self, tags: u16) {
        self.empty = (0..8).fold(0, |e, r| e | (u8::from((tags >> (2 * r)) & 3 == 3) << r));
    }

    /// Records exceptions `flags` (status word bits 0-5); an unmasked one sets ES and B.
    fn raise(&mut self, flags: u16) {
        self.status |= flags & 0x7F;
        if flags & !self.control & 0x3F != 0 {
            self.status |= ES | B;
        }
    }

    /// Records what an operation's `status` says, in the x87's flags.
    fn note(&mut self, status: Status) {
        let mut flags = 0;
        for (s, f) in [
            (Status::INVALID_OP, IE),
            (Status::DIV_BY_ZERO, ZE),
            (Status::OVERFLOW, 1 << 3),
            (Status::UNDERFLOW, 1 << 4),
            (Status::INEXACT, 1 << 5),
        ] {
            if status.contains(s) {
                flags |= f;
            }
        }
        if status.contains(Status::INEXACT) && status.contains(Status::OVERFLOW) {
            self.status |= C1;
        }
        self.raise(flags);
    }

    /// ST(i), or the indefinite and a stack underflow when it is empty.
    fn st(&mut self, i: usize) -> Ext {
        let r = self.physical(i);
        if self.empty & (1 << r) != 0 {
            self.status &= !C1;
            self.raise(IE | SF);
            return value::ext(value::INDEFINITE);
        }
        value::ext(self.regs[r])
    }

    /// Sets ST(i).
    fn set_st(&mut self, i: usize, v: Ext) {
        let r = self.physical(i);
        self.regs[r] = v.to_bits();
        self.empty &= !(1 << r);
    }

    /// Pushes `v` (a stack overflow when ST(7) is in use: the indefinite is pushed).
    fn push(&mut self, v: Ext) {
        let top = (self.top() + 7) & 7;
        self.set_top(top);
        if self.empty & (1 << top) == 0 {
            self.status |= C1;
            self.raise(IE | SF);
            self.regs[top] = value::INDEFINITE;
            return;
        }
        self.set_st(0, v);
    }

    /// Pops ST(0).
    fn pop(&mut self) {
        let top = self.top();
        self.empty |= 1 << top;
        self.set_top(top + 1);
    }

    /// Stores the result of an operation in ST(i), rounded to the precision control's width.
    fn put(&mut self, i: usize, result: StatusAnd<Ext>) {
        let mut result = value::to_precision(result, self.control);
        // Rounded toward zero (or away from the overflow's side), an overflow gives the
        // largest finite number: still an overflow.
        if result.value.is_largest() && result.status.contains(Status::INEXACT) {
            result.status |= Status::OVERFLOW;
        }
        self.note(result.status);
        self.set_st(i, result.value);
    }
}

impl Cpu {
    /// An x87 escape, D8h-DFh.
    pub(crate) fn x87(&mut self, bus: &mut impl Bus, op: u8) -> Exit {
        if self.cr0 & 0xC != 0 {
            // CR0.EM: the kernel emulates the x87; CR0.TS: it switches its state lazily.
            return self.fault(bus, 7);
        }
        let m = self.modrm(bus);
        let control = matches!((op, m.reg, m.rm), (0xD9, 4..=7, Operand::Mem(_)))
            || matches!((op, m.reg, m.rm), (0xDD, 4 | 6 | 7, Operand::Mem(_)))
            || matches!((op, m.reg, m.rm), (0xDB, 4, Operand::Reg(2 | 3)))
            || matches!((op, m.reg, m.rm), (0xDF, 4, Operand::Reg(0)));
        if !control && self.fpu.status & ES != 0 && self.cr0 & (1 << 5) != 0 {
            return self.fault(bus, 16);
        }
        let opcode = (u16::from(op & 7) << 8) | u16::from(m.reg << 3);
        self.fpu.last_opcode = opcode;
        match m.rm {
            Operand::Mem(_) => self.x87_memory(bus, op, &m),
            Operand::Reg(i) => self.x87_register(bus, op, m.reg, i),
        }
    }

    /// FWAIT: an unmasked exception waiting is #MF (with CR0.NE); #NM with CR0.MP and TS.
    pub(crate) fn fwait(&mut self, bus: &mut impl Bus) -> Exit {
        if self.cr0 & 0xA == 0xA {
            return self.fault(bus, 7);
        }
        if self.fpu.status & ES != 0 && self.cr0 & (1 << 5) != 0 {
            return self.fault(bus, 16);
        }
        Exit::Continue
    }

    /// The memory forms.
    fn x87_memory(&mut self, bus: &mut impl Bus, op: u8, m: &ModRm) -> Exit {
        use memory::Format::*;
        let Operand::Mem(at) = m.rm else {
            return Exit::Continue;
        };
        let (load, store) = match (op, m.reg) {
            (0xD8 | 0xDA | 0xDC | 0xDE, r) => {
                let format = [Single, Int32, Double, Int16][usize::from((op >> 1) & 3)];
                let v = self.x87_load(bus, at, format);
                self.arith_operand(r, v);
                return Exit::Continue;
            }
            (0xD9, 0) => (Some(Single), None),
            (0xDB, 0) => (Some(Int32), None),
            (0xDD, 0) => (Some(Double), None),
            (0xDF, 0) => (Some(Int16), None),
            (0xDB, 5) => (Some(Extended), None),
            (0xDF, 5) => (Some(Int64), None),
            (0xDF, 4) => (Some(Bcd), None),
            (0xD9, 2 | 3) => (None, Some(Single)),
            (0xDD, 2 | 3) => (None, Some(Double)),
            (0xDB, 1..=3) => (None, Some(Int32)),
            (0xDF, 1..=3) => (None, Some(Int16)),
            (0xDD, 1) => (None, Some(Int64)),
            (0xDB, 7) => (None, Some(Extended)),
            (0xDF, 6) => (None, Some(Bcd)),
            (0xDF, 7) => (None, Some(Int64)),
            _ => return self.x87_environment(bus, op, m.reg, at),
        };
        if let Some(format) = load {
            let v = self.x87_load(bus, at, format);
            self.fpu.note(v.status);
            self.fpu.push(v.value);
        }
        if let Some(format) = store {
            // /1 is FISTTP (truncating), /2 a store, /3 and up a store that pops.
            let v = self.fpu.st(0);
            self.x87_store(bus, at, format, v, m.reg == 1);
            if m.reg != 2 {
                self.fpu.pop();
            }
        }
        Exit::Continue
    }
}
