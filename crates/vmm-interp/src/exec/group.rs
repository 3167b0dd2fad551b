//! The groups whose reg field picks the operation: F6h/F7h (TEST, NOT, NEG, MUL, IMUL, DIV,
//! IDIV) and FEh/FFh (INC, DEC, CALL, JMP, PUSH).

use crate::bus::Bus;
use crate::cpu::{Cpu, Exit, Model, BYTE};
use crate::decode::Operand;

impl Cpu {
    pub(super) fn group3(&mut self, bus: &mut impl Bus, op: u8) -> Exit {
        let size = if op == 0xF6 { BYTE } else { self.osize() };
        let m = self.modrm(bus);
        let a = self.get_rm(bus, &m, size);
        match m.reg {
            0 | 1 => {
                let b = self.imm(bus, size);
                self.logic(a & b, size);
            }
            2 => self.set_rm(bus, &m, size, !a),
            3 => {
                let r = self.neg(a, size);
                self.set_rm(bus, &m, size, r);
            }
            4 | 5 => self.mul(a, size, m.reg == 5),
            _ => {
                if !self.div(a, size, m.reg == 7) {
                    return self.fault(bus, 0);
                }
            }
        }
        Exit::Continue
    }

    pub(super) fn group45(&mut self, bus: &mut impl Bus, op: u8) -> Exit {
        let size = if op == 0xFE { BYTE } else { self.osize() };
        let m = self.modrm(bus);
        match (op, m.reg) {
            (_, 0 | 1) => {
                let a = self.get_rm(bus, &m, size);
                let r = self.inc_dec(a, m.reg == 1, size);
                self.set_rm(bus, &m, size, r);
            }
            (0xFF, 2) => {
                let target = self.get_rm(bus, &m, size);
                let ip = self.ip;
                self.push(bus, size, ip);
                self.ip = target;
            }
            (0xFF, 4) => self.ip = self.get_rm(bus, &m, size),
            (0xFF, 3 | 5) => {
                let Operand::Mem(at) = m.rm else {
                    return self.invalid(op, m.reg);
                };
                let (offset, segment) = self.far_pointer(bus, at, size);
                if m.reg == 3 {
                    self.call_far(bus, segment, offset);
                } else {
                    self.jump_far(bus, segment, offset);
                }
            }
            (0xFF, 6) | (0xFF, 7) if m.reg == 6 || self.model == Model::I8086 => {
                let v = self.get_rm(bus, &m, size);
                // PUSH SP through r/m: the 8086 pushes SP after the decrement.
                let v = match (m.rm, self.model) {
                    (Operand::Reg(4), Model::I8086) => v.wrapping_sub(2) & 0xFFFF,
                    _ => v,
                };
                self.push(bus, size, v);
            }
            _ => return self.invalid(op, m.reg),
        }
        Exit::Continue
    }
}
