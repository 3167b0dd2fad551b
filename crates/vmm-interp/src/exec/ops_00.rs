//! Opcodes 00h-3Fh: the eight ALU operations in their six forms, segment pushes and pops,
//! and the decimal adjustments.

use crate::alu::AluOp;
use crate::bus::Bus;
use crate::cpu::{Cpu, Exit, Model, BYTE, CS, SS};

impl Cpu {
    pub(super) fn ops_00(&mut self, bus: &mut impl Bus, op: u8) -> Exit {
        match op & 7 {
            0..=5 => self.alu_forms(bus, op),
            6 => {
                let seg = usize::from((op >> 3) & 3);
                let selector = u32::from(self.segs[seg].selector);
                self.push(bus, self.osize(), selector);
                Exit::Continue
            }
            _ => match op {
                0x27 => self.daa(),
                0x2F => self.das(),
                0x37 => self.aaa(),
                0x3F => self.aas(),
                0x0F if self.model == Model::I386 => self.ops_0f(bus),
                _ => {
                    // POP ES, (8086) POP CS, POP SS, POP DS.
                    let seg = usize::from((op >> 3) & 3);
                    let value = self.pop(bus, self.osize());
                    if seg == CS {
                        self.load_segment(seg, value as u16);
                    } else {
                        self.set_segment(bus, seg, value as u16);
                    }
                    self.shadow = seg == SS || seg == CS;
                    Exit::Continue
                }
            },
        }
    }

    /// `op r/m8, r8`, `op r/m, r`, `op r8, r/m8`, `op r, r/m`, `op al, imm8`, `op ax, imm`.
    fn alu_forms(&mut self, bus: &mut impl Bus, op: u8) -> Exit {
        let alu = AluOp::from_index(op >> 3);
        let size = if op & 1 == 0 { BYTE } else { self.osize() };
        match op & 7 {
            0 | 1 => {
                let m = self.modrm(bus);
                let (a, b) = (self.get_rm(bus, &m, size), self.get_reg(&m, size));
                let r = self.alu(alu, a, b, size);
                if alu != AluOp::Cmp {
                    self.set_rm(bus, &m, size, r);
                }
            }
            2 | 3 => {
                let m = self.modrm(bus);
                let (a, b) = (self.get_reg(&m, size), self.get_rm(bus, &m, size));
                let r = self.alu(alu, a, b, size);
                if alu != AluOp::Cmp {
                    self.set_reg(usize::from(m.reg), size, r);
                }
            }
            _ => {
                let b = self.imm(bus, size);
                let a = self.reg(0, size);
                let r = self.alu(alu, a, b, size);
                if alu != AluOp::Cmp {
                    self.set_reg(0, size, r);
                }
            }
        }
        Exit::Continue
    }
}
