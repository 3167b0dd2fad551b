//! Executing one instruction: prefixes, then the opcode's room (one file per quarter of the
//! one-byte opcode map, and one for the 386's 0Fh map).

mod bcd;
mod ext;
mod group;
mod ops_00;
mod ops_40;
mod ops_80;
mod ops_c0;
mod p6;

use crate::bus::Bus;
use crate::cpu::{Cpu, Exit, Model, Rep};
use crate::flags::Flags;

/// The most prefixes one instruction may carry on a 386 (an instruction is at most 15 bytes).
const MAX_PREFIXES: usize = 14;

impl Cpu {
    /// Executes one instruction (a whole `rep` string instruction, or a piece of a long one).
    #[inline]
    pub fn step(&mut self, bus: &mut impl Bus) -> Exit {
        if self.protected || self.pending.is_some() {
            return self.step_protected(bus);
        }
        self.begin(false);
        let exit = self.execute(bus);
        if self.pending.is_none() {
            return exit;
        }
        match self.pending.take() {
            Some(trap) => self.raise(bus, trap, None),
            None => exit,
        }
    }

    /// A step in protected mode: the registers are kept, so that an instruction that faults
    /// part-way can start again.
    #[inline(never)]
    fn step_protected(&mut self, bus: &mut impl Bus) -> Exit {
        if let Some(trap) = self.pending.take() {
            // A shutdown met while taking an external interrupt.
            return self.raise(bus, trap, None);
        }
        self.begin(self.code32);
        let saved = self.save();
        let exit = self.execute(bus);
        match self.pending.take() {
            Some(trap) => self.raise(bus, trap, Some(saved)),
            None => exit,
        }
    }

    /// The state of a new instruction: no prefixes yet, operands and addresses of the code
    /// segment's size (32-bit when `wide`).
    #[inline(always)]
    fn begin(&mut self, wide: bool) {
        self.start_ip = self.ip;
        self.seg_override = None;
        self.op32 = wide;
        self.addr32 = wide;
        self.rep = Rep::None;
        self.shadow = false;
    }

    /// Decodes the prefixes and runs the instruction.
    #[inline(always)]
    fn execute(&mut self, bus: &mut impl Bus) -> Exit {
        let mut prefixes = 0;
        let opcode = loop {
            let b = self.fetch8(bus);
            match (b, self.model) {
                (0x26 | 0x2E | 0x36 | 0x3E, _) => {
                    self.seg_override = Some(usize::from((b >> 3) & 3))
                }
                (0x64 | 0x65, Model::I386) => self.seg_override = Some(usize::from(b - 0x60)),
                (0x66, Model::I386) => self.op32 = !self.code32,
                (0x67, Model::I386) => self.addr32 = !self.code32,
                (0xF0, _) | (0xF1, Model::I8086) => {}
                (0xF2, _) => self.rep = Rep::NotEqual,
                (0xF3, _) => self.rep = Rep::Equal,
                _ => break b,
            }
            prefixes += 1;
            if prefixes > MAX_PREFIXES && self.model == Model::I386 {
                return self.fault(bus, 13);
            }
        };
        self.executed += 1;
        let exit = match opcode {
            0x00..=0x3F => self.ops_00(bus, opcode),
            0x40..=0x7F => self.ops_40(bus, opcode),
            0x80..=0xBF => self.ops_80(bus, opcode),
            _ => self.ops_c0(bus, opcode),
        };
        if self.flag(Flags::TF) && exit == Exit::Continue && !self.shadow {
            let ret = self.ip;
            if self.protected {
                if self.pending.is_none() {
                    return self.exception(bus, crate::trap::Trap::fault(1), ret);
                }
                return exit;
            }
            return self.interrupt(bus, 1, ret);
        }
        exit
    }

    /// An opcode this interpreter does not implement: the 8086 executes something for every
    /// opcode (here, nothing); for a 386 the run stops and says which.
    pub(crate) fn invalid(&mut self, opcode: u8, second: u8) -> Exit {
        if self.model == Model::I386 {
            self.pend(crate::trap::Trap::Unsupported { opcode, second });
        }
        Exit::Continue
    }

    /// Whether condition `cc` (the low nibble of Jcc, SETcc) holds.
    pub(crate) fn condition(&self, cc: u8) -> bool {
        let f = |flag| self.flag(flag);
        let r = match cc >> 1 {
            0 => f(Flags::OF),
            1 => f(Flags::CF),
            2 => f(Flags::ZF),
            3 => f(Flags::CF) || f(Flags::ZF),
            4 => f(Flags::SF),
            5 => f(Flags::PF),
            6 => f(Flags::SF) != f(Flags::OF),
            _ => f(Flags::ZF) || f(Flags::SF) != f(Flags::OF),
        };
        r != (cc & 1 != 0)
    }

    /// A relative jump by `disp` from the next instruction.
    pub(crate) fn jump_relative(&mut self, disp: u32) {
        let target = self.ip.wrapping_add(disp);
        self.ip = if self.op32 { target } else { target & 0xFFFF };
    }
}
