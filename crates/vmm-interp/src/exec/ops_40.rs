//! Opcodes 40h-7Fh: INC, DEC, PUSH and POP of registers, the 186's PUSHA, POPA, BOUND,
//! PUSH imm, IMUL imm, INS and OUTS (on the 8086, 60h-6Fh are the conditional jumps again),
//! and the short conditional jumps.

use crate::bus::Bus;
use crate::cpu::{Cpu, Exit, Model, BYTE, WORD};

impl Cpu {
    pub(super) fn ops_40(&mut self, bus: &mut impl Bus, op: u8) -> Exit {
        let size = self.osize();
        match op {
            0x40..=0x4F => {
                let r = usize::from(op & 7);
                let v = self.inc_dec(self.reg(r, size), op >= 0x48, size);
                self.set_reg(r, size, v);
            }
            0x50..=0x57 => {
                let r = usize::from(op & 7);
                // PUSH SP: the 8086 pushes SP as it is after the decrement.
                let value = if r == 4 && self.model == Model::I8086 {
                    self.reg(4, WORD).wrapping_sub(2) & 0xFFFF
                } else {
                    self.reg(r, size)
                };
                self.push(bus, size, value);
            }
            0x58..=0x5F => {
                let v = self.pop(bus, size);
                self.set_reg(usize::from(op & 7), size, v);
            }
            0x60..=0x6F if self.model == Model::I8086 => return self.jcc8(bus, op),
            0x70..=0x7F => return self.jcc8(bus, op),
            _ => return self.ops_186(bus, op),
        }
        Exit::Continue
    }

    /// A short conditional jump.
    fn jcc8(&mut self, bus: &mut impl Bus, op: u8) -> Exit {
        let disp = self.fetch8(bus) as i8 as i32 as u32;
        if self.condition(op & 0x0F) {
            self.jump_relative(disp);
        }
        Exit::Continue
    }

    /// 60h-6Fh on the 186 and later.
    fn ops_186(&mut self, bus: &mut impl Bus, op: u8) -> Exit {
        let size = self.osize();
        match op {
            0x60 => {
                let sp = self.reg(4, size);
                for r in 0..8 {
                    let v = if r == 4 { sp } else { self.reg(r, size) };
                    self.push(bus, size, v);
                }
            }
            0x61 => {
                for r in (0..8).rev() {
                    let v = self.pop(bus, size);
                    if r != 4 {
                        self.set_reg(r, size, v);
                    }
                }
            }
            0x62 => return self.bound(bus, size),
            0x68 => {
                let v = self.imm(bus, size);
                self.push(bus, size, v);
            }
            0x6A => {
                let v = self.imm8s(bus, size);
                self.push(bus, size, v);
            }
            0x69 | 0x6B => {
                let m = self.modrm(bus);
                let a = self.get_rm(bus, &m, size);
                let b = if op == 0x69 {
                    self.imm(bus, size)
                } else {
                    self.imm8s(bus, size)
                };
                let r = self.imul3(a, b, size);
                self.set_reg(usize::from(m.reg), size, r);
            }
            0x6C..=0x6F => return self.string(bus, op),
            _ => return self.invalid(op, 0),
        }
        Exit::Continue
    }

    /// BOUND: #BR when the register is outside the bounds in memory.
    fn bound(&mut self, bus: &mut impl Bus, size: u8) -> Exit {
        let m = self.modrm(bus);
        let crate::decode::Operand::Mem(at) = m.rm else {
            return self.fault(bus, 6);
        };
        let index = crate::alu::sign_extend(self.get_reg(&m, size), size);
        let lower = crate::alu::sign_extend(self.read(bus, at, size), size);
        let upper_at = crate::cpu::Address {
            seg: at.seg,
            offset: at.offset.wrapping_add(u32::from(size)),
        };
        let upper = crate::alu::sign_extend(self.read(bus, upper_at, size), size);
        if index < lower || index > upper {
            return self.fault(bus, 5);
        }
        Exit::Continue
    }

    /// The two- and three-operand IMUL: the truncated product; CF and OF when it overflowed.
    pub(crate) fn imul3(&mut self, a: u32, b: u32, size: u8) -> u32 {
        let p = crate::alu::sign_extend(a, size) * crate::alu::sign_extend(b, size);
        let r = p as u32 & crate::cpu::mask(size);
        let fits = crate::alu::sign_extend(r, size) == p;
        self.set_flag(crate::flags::Flags::CF | crate::flags::Flags::OF, !fits);
        self.set_szp(r, size.max(BYTE));
        r
    }
}
