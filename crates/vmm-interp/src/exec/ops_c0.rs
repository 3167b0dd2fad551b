//! Opcodes C0h-FFh: shifts, returns, LES/LDS, MOV imm, ENTER/LEAVE, INT and IRET, AAM/AAD,
//! SALC, XLAT, the x87 escapes, loops, IN/OUT, CALL and JMP, HLT, the flag instructions and
//! the groups F6h/F7h/FEh/FFh.

use crate::bus::Bus;
use crate::cpu::{Address, Cpu, Exit, Model, BYTE, CS, DS, WORD};
use crate::decode::Operand;
use crate::flags::Flags;

impl Cpu {
    pub(super) fn ops_c0(&mut self, bus: &mut impl Bus, op: u8) -> Exit {
        // The 8086 decodes C0h, C1h, C8h and C9h as C2h, C3h, CAh and CBh.
        let op = match (op, self.model) {
            (0xC0 | 0xC1 | 0xC8 | 0xC9, Model::I8086) => op | 2,
            _ => op,
        };
        match op {
            0xC0..=0xCF => self.ops_c0_cf(bus, op),
            0xD0..=0xD3 => {
                let size = if op & 1 == 0 { BYTE } else { self.osize() };
                let m = self.modrm(bus);
                let count = if op < 0xD2 { 1 } else { self.reg(1, BYTE) };
                let a = self.get_rm(bus, &m, size);
                let r = self.shift(m.reg, a, count, size);
                self.set_rm(bus, &m, size, r);
                Exit::Continue
            }
            0xD4 => self.aam(bus),
            0xD5 => self.aad(bus),
            0xD6 => {
                let v = if self.flag(Flags::CF) { 0xFF } else { 0 };
                self.set_reg(0, BYTE, v);
                Exit::Continue
            }
            0xD7 => {
                let asize = if self.addr32 { 4 } else { WORD };
                let offset =
                    self.reg(3, asize).wrapping_add(self.reg(0, BYTE)) & crate::cpu::mask(asize);
                let at = Address {
                    seg: self.seg_override.unwrap_or(DS),
                    offset,
                };
                let v = self.read(bus, at, BYTE);
                self.set_reg(0, BYTE, v);
                Exit::Continue
            }
            0xD8..=0xDF if self.model == Model::I386 => self.x87(bus, op),
            0xD8..=0xDF => {
                // The 8086 without its 8087: the escape's operand is decoded and nothing else
                // happens.
                let _ = self.modrm(bus);
                Exit::Continue
            }
            0xE0..=0xEF => self.ops_e0(bus, op),
            0xF4 if !self.ring0() => Exit::Continue,
            0xF4 => Exit::Halt,
            0xF5 => {
                self.flags ^= Flags::CF;
                Exit::Continue
            }
            0xF6 | 0xF7 => self.group3(bus, op),
            0xF8..=0xFD => {
                let (flag, on) = match op {
                    0xF8 | 0xF9 => (Flags::CF, op == 0xF9),
                    0xFA | 0xFB => (Flags::IF, op == 0xFB),
                    _ => (Flags::DF, op == 0xFD),
                };
                if flag == Flags::IF && self.protected && !self.iopl_allows() {
                    return Exit::Continue;
                }
                let was_off = !self.flag(Flags::IF);
                self.set_flag(flag, on);
                self.shadow = op == 0xFB && was_off;
                Exit::Continue
            }
            0xFE | 0xFF => self.group45(bus, op),
            _ => self.invalid(op, 0),
        }
    }

    /// C0h-CFh.
    fn ops_c0_cf(&mut self, bus: &mut impl Bus, op: u8) -> Exit {
        let size = self.osize();
        match op {
            0xC0 | 0xC1 => {
                let size = if op == 0xC0 { BYTE } else { size };
                let m = self.modrm(bus);
                let a = self.get_rm(bus, &m, size);
                let count = u32::from(self.fetch8(bus));
                let r = self.shift(m.reg, a, count, size);
                self.set_rm(bus, &m, size, r);
            }
            0xC2 | 0xC3 => {
                let extra = if op == 0xC2 { self.imm(bus, WORD) } else { 0 };
                self.ip = self.pop(bus, size);
                self.set_sp(self.sp().wrapping_add(extra));
            }
            0xC4 | 0xC5 => {
                let m = self.modrm(bus);
                let at = match m.rm {
                    Operand::Mem(at) => at,
                    // The 8086 loads from wherever its last address pointed; not modelled.
                    Operand::Reg(_) => return self.invalid(op, 0),
                };
                let offset = self.read(bus, at, size);
                let next = Address {
                    seg: at.seg,
                    offset: at.offset.wrapping_add(u32::from(size)),
                };
                let segment = self.read(bus, next, WORD);
                if self.set_segment(bus, if op == 0xC4 { 0 } else { DS }, segment as u16) {
                    self.set_reg(usize::from(m.reg), size, offset);
                }
            }
            0xC6 | 0xC7 => {
                let size = if op == 0xC6 { BYTE } else { size };
                let m = self.modrm(bus);
                let v = self.imm(bus, size);
                self.set_rm(bus, &m, size, v);
            }
            0xC8 => return self.enter(bus),
            0xC9 => {
                let bp = self.reg(5, self.stack_size());
                self.set_sp(bp);
                let v = self.pop(bus, size);
                self.set_reg(5, size, v);
            }
            0xCA | 0xCB => {
                let extra = if op == 0xCA { self.imm(bus, WORD) } else { 0 };
                if self.segmented() {
                    if let Err(trap) = self.return_far_protected(bus, extra) {
                        self.pend(trap);
                    }
                    return Exit::Continue;
                }
                self.ip = self.pop(bus, size);
                let cs = self.pop(bus, size);
                self.load_segment(CS, cs as u16);
                self.set_sp(self.sp().wrapping_add(extra));
            }
            0xCC => return self.interrupt(bus, 3, self.ip),
            0xCD => {
                let vector = self.fetch8(bus);
                return self.interrupt(bus, vector, self.ip);
            }
            0xCE if self.flag(Flags::OF) => return self.interrupt(bus, 4, self.ip),
            0xCE => {}
            _ if self.v86() => return self.iret_v86(bus, size),
            _ if self.protected => {
                if let Err(trap) = self.iret_protected(bus) {
                    self.pend(trap);
                }
            }
            _ => {
                self.ip = self.pop(bus, size);
                let cs = self.pop(bus, size);
                self.load_segment(CS, cs as u16);
                let flags = self.pop(bus, size);
                self.set_flags_from(flags, size);
            }
        }
        Exit::Continue
    }

    /// ENTER imm16, imm8.
    fn enter(&mut self, bus: &mut impl Bus) -> Exit {
        let size = self.osize();
        let frame = self.imm(bus, WORD);
        let level = self.fetch8(bus) & 0x1F;
        let bp = self.reg(5, size);
        self.push(bus, size, bp);
        let stack = self.stack_size();
        let frame_ptr = self.reg(4, stack);
        for i in 1..u32::from(level) {
            let at = Address {
                seg: crate::cpu::SS,
                offset: bp.wrapping_sub(i * u32::from(size)) & crate::cpu::mask(stack),
            };
            let v = self.read(bus, at, size);
            self.push(bus, size, v);
        }
        if level > 0 {
            self.push(bus, size, frame_ptr);
        }
        self.set_reg(5, size, frame_ptr);
        self.set_sp(self.sp().wrapping_sub(frame));
        Exit::Continue
    }

    /// E0h-EFh: LOOPNZ, LOOPZ, LOOP, JCXZ, IN, OUT, CALL, JMP.
    fn ops_e0(&mut self, bus: &mut impl Bus, op: u8) -> Exit {
        let size = if op & 1 == 0 { BYTE } else { self.osize() };
        match op {
            0xE0..=0xE3 => {
                let disp = self.fetch8(bus) as i8 as i32 as u32;
                let csize = if self.addr32 { 4 } else { WORD };
                let cx = if op == 0xE3 {
                    self.reg(1, csize)
                } else {
                    let cx = self.reg(1, csize).wrapping_sub(1) & crate::cpu::mask(csize);
                    self.set_reg(1, csize, cx);
                    cx
                };
                let zf = self.flag(Flags::ZF);
                let taken = match op {
                    0xE0 => cx != 0 && !zf,
                    0xE1 => cx != 0 && zf,
                    0xE2 => cx != 0,
                    _ => cx == 0,
                };
                if taken {
                    self.jump_relative(disp);
                }
            }
            0xE4 | 0xE5 | 0xEC | 0xED => {
                let port = if op < 0xEC {
                    u16::from(self.fetch8(bus))
                } else {
                    self.reg(2, WORD) as u16
                };
                if !self.port_allowed(bus, port, size) {
                    return Exit::Continue;
                }
                let v = bus.io_in(port, size);
                self.set_reg(0, size, v);
            }
            0xE6 | 0xE7 | 0xEE | 0xEF => {
                let port = if op < 0xEE {
                    u16::from(self.fetch8(bus))
                } else {
                    self.reg(2, WORD) as u16
                };
                if !self.port_allowed(bus, port, size) {
                    return Exit::Continue;
                }
                let v = self.reg(0, size);
                if bus.io_out(port, size, v) {
                    return Exit::Io;
                }
            }
            0xE8 => {
                let disp = self.imm(bus, self.osize());
                let ip = self.ip;
                self.push(bus, self.osize(), ip);
                self.jump_relative(disp);
            }
            0xE9 => {
                let disp = self.imm(bus, self.osize());
                self.jump_relative(disp);
            }
            0xEA => {
                let offset = self.imm(bus, self.osize());
                let segment = self.imm(bus, WORD);
                self.jump_far(bus, segment as u16, offset);
            }
            _ => {
                let disp = self.fetch8(bus) as i8 as i32 as u32;
                self.jump_relative(disp);
            }
        }
        Exit::Continue
    }
}
