//! Opcodes 80h-BFh: the immediate ALU group, TEST, XCHG, MOV in its forms, LEA, POP r/m,
//! CBW/CWD, far CALL, PUSHF/POPF, SAHF/LAHF, the string instructions and MOV immediates.

use crate::alu::AluOp;
use crate::bus::Bus;
use crate::cpu::{Address, Cpu, Exit, Model, BYTE, CS, DS, SS, WORD};
use crate::decode::Operand;

impl Cpu {
    pub(super) fn ops_80(&mut self, bus: &mut impl Bus, op: u8) -> Exit {
        let size = if op & 1 == 0 { BYTE } else { self.osize() };
        match op {
            0x80..=0x83 => {
                let m = self.modrm(bus);
                let a = self.get_rm(bus, &m, size);
                let b = if op == 0x83 {
                    self.imm8s(bus, size)
                } else {
                    self.imm(bus, size)
                };
                let alu = AluOp::from_index(m.reg);
                let r = self.alu(alu, a, b, size);
                if alu != AluOp::Cmp {
                    self.set_rm(bus, &m, size, r);
                }
            }
            0x84 | 0x85 => {
                let m = self.modrm(bus);
                let (a, b) = (self.get_rm(bus, &m, size), self.get_reg(&m, size));
                self.logic(a & b, size);
            }
            0x86 | 0x87 => {
                let m = self.modrm(bus);
                let (a, b) = (self.get_rm(bus, &m, size), self.get_reg(&m, size));
                self.set_rm(bus, &m, size, b);
                self.set_reg(usize::from(m.reg), size, a);
            }
            0x88..=0x8B => {
                let m = self.modrm(bus);
                if op & 2 == 0 {
                    let v = self.get_reg(&m, size);
                    self.set_rm(bus, &m, size, v);
                } else {
                    let v = self.get_rm(bus, &m, size);
                    self.set_reg(usize::from(m.reg), size, v);
                }
            }
            0x8C..=0x8F => return self.ops_8c(bus, op),
            0x90..=0x97 => {
                let (r, size) = (usize::from(op & 7), self.osize());
                let (a, b) = (self.reg(0, size), self.reg(r, size));
                self.set_reg(0, size, b);
                self.set_reg(r, size, a);
            }
            0x98..=0x9F => return self.ops_98(bus, op),
            0xA0..=0xA3 => {
                let offset = self.imm(bus, if self.addr32 { 4 } else { WORD });
                let at = Address {
                    seg: self.seg_override.unwrap_or(DS),
                    offset,
                };
                if op < 0xA2 {
                    let v = self.read(bus, at, size);
                    self.set_reg(0, size, v);
                } else {
                    let v = self.reg(0, size);
                    self.write(bus, at, size, v);
                }
            }
            0xA8 | 0xA9 => {
                let b = self.imm(bus, size);
                let a = self.reg(0, size);
                self.logic(a & b, size);
            }
            0xA4..=0xAF => return self.string(bus, op),
            0xB0..=0xB7 => {
                let v = self.imm(bus, BYTE);
                self.set_reg(usize::from(op & 7), BYTE, v);
            }
            _ => {
                let size = self.osize();
                let v = self.imm(bus, size);
                self.set_reg(usize::from(op & 7), size, v);
            }
        }
        Exit::Continue
    }

    /// MOV r/m, Sreg; LEA; MOV Sreg, r/m; POP r/m.
    fn ops_8c(&mut self, bus: &mut impl Bus, op: u8) -> Exit {
        let m = self.modrm(bus);
        let seg_count = if self.model == Model::I8086 { 4 } else { 6 };
        match op {
            0x8C => {
                let seg = usize::from(m.reg) % seg_count;
                let v = u32::from(self.segs[seg].selector);
                // To memory always a word; to a register, the operand size.
                let size = if matches!(m.rm, Operand::Mem(_)) {
                    WORD
                } else {
                    self.osize()
                };
                self.set_rm(bus, &m, size, v);
            }
            0x8D => match m.rm {
                Operand::Mem(at) => self.set_reg(usize::from(m.reg), self.osize(), at.offset),
                Operand::Reg(_) => return self.invalid(op, 0),
            },
            0x8E => {
                let seg = usize::from(m.reg) % seg_count;
                if seg == CS && self.model == Model::I386 {
                    return self.invalid(op, 0);
                }
                let v = self.get_rm(bus, &m, WORD);
                if seg == CS {
                    self.load_segment(seg, v as u16);
                } else {
                    self.set_segment(bus, seg, v as u16);
                }
                self.shadow = seg == SS;
            }
            _ => {
                let size = self.osize();
                let v = self.pop(bus, size);
                self.set_rm(bus, &m, size, v);
            }
        }
        Exit::Continue
    }

    /// CBW/CWDE, CWD/CDQ, far CALL, WAIT, PUSHF, POPF, SAHF, LAHF.
    fn ops_98(&mut self, bus: &mut impl Bus, op: u8) -> Exit {
        let size = self.osize();
        match op {
            0x98 => {
                let half = size / 2;
                let v = crate::alu::sign_extend(self.reg(0, half), half) as u32;
                self.set_reg(0, size, v);
            }
            0x99 => {
                let negative = self.reg(0, size) & crate::cpu::sign(size) != 0;
                self.set_reg(2, size, if negative { u32::MAX } else { 0 });
            }
            0x9A => {
                let offset = self.imm(bus, size);
                let segment = self.imm(bus, WORD);
                self.call_far(bus, segment as u16, offset);
            }
            0x9B if self.model == crate::cpu::Model::I386 => return self.fwait(bus),
            0x9B => {}
            // PUSHF and POPF in virtual-8086 mode are IOPL-sensitive.
            0x9C | 0x9D if self.v86() && self.iopl() < 3 => self.pend(crate::trap::Trap::gp(0)),
            0x9C => {
                let flags = self.normalize_flags(self.flags);
                // RF and VM never show in the pushed image.
                self.push(bus, size, flags & !0x0003_0000);
            }
            0x9D => {
                let v = self.pop(bus, size);
                if self.protected {
                    let cpl = self.cpl();
                    self.set_flags_privileged(v, size, cpl);
                } else {
                    self.set_flags_from(v, size);
                }
            }
            0x9E => {
                let ah = self.reg(4, BYTE);
                let keep = self.flags & !0xD5;
                self.flags = self.normalize_flags(keep | (ah & 0xD5));
            }
            _ => {
                let low = self.normalize_flags(self.flags) & 0xFF;
                self.set_reg(4, BYTE, low);
            }
        }
        Exit::Continue
    }

    /// FLAGS from a POPF or IRET of `size` bytes.
    pub(crate) fn set_flags_from(&mut self, value: u32, size: u8) {
        let keep = if size == WORD {
            self.flags & 0xFFFF_0000
        } else {
            0
        };
        let value = if size == WORD { value & 0xFFFF } else { value };
        self.flags = self.normalize_flags(keep | value);
    }

    /// Jumps to `segment:offset`.
    pub(crate) fn jump_far(&mut self, bus: &mut impl Bus, segment: u16, offset: u32) {
        if self.segmented() {
            if let Err(trap) = self.jump_far_protected(bus, segment, offset) {
                self.pend(trap);
            }
            return;
        }
        self.load_segment(CS, segment);
        self.ip = offset;
    }

    /// Calls `segment:offset`, pushing CS and IP.
    pub(crate) fn call_far(&mut self, bus: &mut impl Bus, segment: u16, offset: u32) {
        if self.segmented() {
            if let Err(trap) = self.call_far_protected(bus, segment, offset) {
                self.pend(trap);
            }
            return;
        }
        let size = self.osize();
        let cs = u32::from(self.segs[CS].selector);
        self.push(bus, size, cs);
        let ip = self.ip;
        self.push(bus, size, ip);
        self.load_segment(CS, segment);
        self.ip = offset & crate::cpu::mask(size);
    }
}
