//! The ModR/M byte (and SIB, and displacement) of an instruction: which register, and which
//! register or memory operand.

use crate::bus::Bus;
use crate::cpu::{Address, Cpu, BYTE, DS, SS};

/// A decoded ModR/M byte.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ModRm {
    /// The reg field (a register, or an opcode extension).
    pub reg: u8,
    /// The r/m operand: a register (mod = 3) or memory.
    pub rm: Operand,
}

/// An r/m operand.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Operand {
    Reg(usize),
    Mem(Address),
}

impl Cpu {
    /// Reads a ModR/M byte and what follows it.
    pub(crate) fn modrm(&mut self, bus: &mut impl Bus) -> ModRm {
        let byte = self.fetch8(bus);
        let (md, reg, rm) = (byte >> 6, (byte >> 3) & 7, byte & 7);
        if md == 3 {
            return ModRm {
                reg,
                rm: Operand::Reg(usize::from(rm)),
            };
        }
        let address = if self.addr32 {
            self.address32(bus, md, rm)
        } else {
            self.address16(bus, md, rm)
        };
        ModRm {
            reg,
            rm: Operand::Mem(address),
        }
    }

    /// A 16-bit effective address: [BX+SI], [BX+DI], [BP+SI], [BP+DI], [SI], [DI], [BP] or
    /// disp16, [BX]; BP-based ones in SS.
    fn address16(&mut self, bus: &mut impl Bus, md: u8, rm: u8) -> Address {
        let r = |cpu: &Cpu, i: usize| cpu.regs[i] & 0xFFFF;
        let (base, seg) = match rm {
            0 => (r(self, 3) + r(self, 6), DS),
            1 => (r(self, 3) + r(self, 7), DS),
            2 => (r(self, 5) + r(self, 6), SS),
            3 => (r(self, 5) + r(self, 7), SS),
            4 => (r(self, 6), DS),
            5 => (r(self, 7), DS),
            6 if md == 0 => (0, DS),
            6 => (r(self, 5), SS),
            _ => (r(self, 3), DS),
        };
        let disp = match (md, rm) {
            (0, 6) => self.fetch(bus, 2),
            (0, _) => 0,
            (1, _) => self.fetch8(bus) as i8 as i32 as u32,
            _ => self.fetch(bus, 2),
        };
        Address {
            seg: self.seg_override.unwrap_or(seg),
            offset: base.wrapping_add(disp) & 0xFFFF,
        }
    }

    /// A 32-bit effective address, with a SIB byte when rm = 4; EBP- and ESP-based ones in SS.
    fn address32(&mut self, bus: &mut impl Bus, md: u8, rm: u8) -> Address {
        let (base, seg) = if rm == 4 {
            let sib = self.fetch8(bus);
            let (scale, index, b) = (sib >> 6, (sib >> 3) & 7, sib & 7);
            let index = if index == 4 {
                0
            } else {
                self.regs[usize::from(index)] << scale
            };
            let (base, seg) = match (b, md) {
                (5, 0) => (self.fetch(bus, 4), DS),
                (4 | 5, _) => (self.regs[usize::from(b)], SS),
                _ => (self.regs[usize::from(b)], DS),
            };
            (base.wrapping_add(index), seg)
        } else {
            match (rm, md) {
                (5, 0) => (self.fetch(bus, 4), DS),
                (5, _) => (self.regs[5], SS),
                _ => (self.regs[usize::from(rm)], DS),
            }
        };
        let disp = match md {
            1 => self.fetch8(bus) as i8 as i32 as u32,
            2 => self.fetch(bus, 4),
            _ => 0,
        };
        Address {
            seg: self.seg_override.unwrap_or(seg),
            offset: base.wrapping_add(disp),
        }
    }

    /// The r/m operand's value.
    pub(crate) fn get_rm(&mut self, bus: &mut impl Bus, m: &ModRm, size: u8) -> u32 {
        match m.rm {
            Operand::Reg(r) => self.reg(r, size),
            Operand::Mem(at) => self.read(bus, at, size),
        }
    }

    /// Sets the r/m operand.
    pub(crate) fn set_rm(&mut self, bus: &mut impl Bus, m: &ModRm, size: u8, value: u32) {
        match m.rm {
            Operand::Reg(r) => self.set_reg(r, size, value),
            Operand::Mem(at) => self.write(bus, at, size, value),
        }
    }

    /// The reg field's register's value.
    #[inline]
    pub(crate) fn get_reg(&self, m: &ModRm, size: u8) -> u32 {
        self.reg(usize::from(m.reg), size)
    }

    /// An immediate of `size` bytes.
    pub(crate) fn imm(&mut self, bus: &mut impl Bus, size: u8) -> u32 {
        self.fetch(bus, size)
    }

    /// An 8-bit immediate sign-extended to `size` bytes.
    pub(crate) fn imm8s(&mut self, bus: &mut impl Bus, size: u8) -> u32 {
        (self.fetch8(bus) as i8 as i32 as u32) & crate::cpu::mask(size.max(BYTE))
    }
}
