//! The 386's two-byte opcodes (0Fh xx) that real-mode code uses: descriptor-table loads,
//! control registers, long conditional jumps, SETcc, FS and GS, CPUID, the bit instructions,
//! double shifts, IMUL r, r/m, MOVZX and MOVSX, BSF and BSR, and the 486's BSWAP, XADD and
//! CMPXCHG (later CPUs' additions are in `p6.rs`).

use crate::bus::Bus;
use crate::cpu::{Address, Cpu, Exit, BYTE, WORD};
use crate::decode::Operand;
use crate::flags::Flags;

impl Cpu {
    pub(super) fn ops_0f(&mut self, bus: &mut impl Bus) -> Exit {
        let op = self.fetch8(bus);
        let size = self.osize();
        match op {
            0x00 if self.segmented() => return self.system_registers(bus),
            0x00 | 0x0B => return self.fault(bus, 6),
            0x01 => return self.tables(bus),
            0x02 | 0x03 if self.segmented() => {
                let m = self.modrm(bus);
                return self.lar_lsl(bus, &m, op == 0x03);
            }
            0x02 | 0x03 => return self.fault(bus, 6),
            0x06 | 0x08 | 0x09 if !self.ring0() => {}
            0x06 => self.cr0 &= !(1 << 3),
            0x08 | 0x09 => {}
            0x21 | 0x23 => return self.move_debug(bus, op == 0x23),
            0x20 | 0x22 if !self.ring0() => {}
            0x20 => {
                let m = self.modrm(bus);
                let v = match m.reg {
                    0 => self.cr0,
                    2..=4 => self.cr[usize::from(m.reg) - 2],
                    _ => return self.fault(bus, 6),
                };
                self.set_rm(bus, &m, 4, v);
            }
            0x22 => {
                let m = self.modrm(bus);
                let v = self.get_rm(bus, &m, 4);
                return self.write_control(bus, m.reg, v);
            }
            0x0D | 0x18..=0x1F => return self.hint(bus),
            0x34 => return self.sysenter(bus),
            0x35 => return self.sysexit(bus),
            0x30 => return self.wrmsr(bus),
            0x32 => return self.rdmsr(bus),
            0x31 => {
                let t = bus
                    .time_stamp(self.executed)
                    .wrapping_add(self.msrs.tsc_offset);
                self.set_reg(0, 4, t as u32);
                self.set_reg(2, 4, (t >> 32) as u32);
            }
            0x40..=0x4F => return self.cmov(bus, op),
            0x80..=0x8F => {
                let disp = self.imm(bus, size);
                let disp = if size == WORD {
                    disp as u16 as i16 as i32 as u32
                } else {
                    disp
                };
                if self.condition(op & 0x0F) {
                    self.jump_relative(disp);
                }
            }
            0x90..=0x9F => {
                let m = self.modrm(bus);
                let v = u32::from(self.condition(op & 0x0F));
                self.set_rm(bus, &m, BYTE, v);
            }
            0xA0 | 0xA8 => {
                let v = u32::from(self.segs[if op == 0xA0 { 4 } else { 5 }].selector);
                self.push(bus, size, v);
            }
            0xA1 | 0xA9 => {
                let v = self.pop(bus, size);
                self.set_segment(bus, if op == 0xA1 { 4 } else { 5 }, v as u16);
            }
            0xA2 => {
                let (leaf, sub) = (self.reg(0, 4), self.reg(1, 4));
                let [a, b, c, d] = bus.cpuid(leaf, sub);
                for (r, v) in [(0, a), (3, b), (1, c), (2, d)] {
                    self.set_reg(r, 4, v);
                }
            }
            0xA3 | 0xAB | 0xB3 | 0xBB | 0xBA => return self.bit_test(bus, op),
            0xA4 | 0xA5 | 0xAC | 0xAD => return self.double_shift(bus, op),
            _ => return self.ops_0f_b0(bus, op),
        }
        Exit::Continue
    }

    /// 0Fh AFh-CFh.
    fn ops_0f_b0(&mut self, bus: &mut impl Bus, op: u8) -> Exit {
        let size = self.osize();
        match op {
            0xAE => return self.fence(bus),
            0xAF => {
                let m = self.modrm(bus);
                let (a, b) = (self.get_reg(&m, size), self.get_rm(bus, &m, size));
                let r = self.imul3(a, b, size);
                self.set_reg(usize::from(m.reg), size, r);
            }
            0xB0 | 0xB1 => {
                let size = if op == 0xB0 { BYTE } else { size };
                let m = self.modrm(bus);
                let (dest, acc) = (self.get_rm(bus, &m, size), self.reg(0, size));
                self.sub(acc, dest, 0, size);
                if acc == dest {
                    let v = self.get_reg(&m, size);
                    self.set_rm(bus, &m, size, v);
                } else {
                    self.set_reg(0, size, dest);
                }
            }
            0xB2 | 0xB4 | 0xB5 => {
                let m = self.modrm(bus);
                let Operand::Mem(at) = m.rm else {
                    return self.fault(bus, 6);
                };
                let offset = self.read(bus, at, size);
                let next = Address {
                    seg: at.seg,
                    offset: at.offset.wrapping_add(u32::from(size)),
                };
                let segment = self.read(bus, next, WORD) as u16;
                let seg = match op {
                    0xB2 => 2,
                    0xB4 => 4,
                    _ => 5,
                };
                if self.set_segment(bus, seg, segment) {
                    self.set_reg(usize::from(m.reg), size, offset);
                }
                self.shadow = seg == 2;
            }
            0xB6 | 0xB7 | 0xBE | 0xBF => {
                let from = if op & 1 == 0 { BYTE } else { WORD };
                let m = self.modrm(bus);
                let v = self.get_rm(bus, &m, from);
                let v = if op >= 0xBE {
                    crate::alu::sign_extend(v, from) as u32
                } else {
                    v
                };
                self.set_reg(usize::from(m.reg), size, v);
            }
            0xBC | 0xBD => {
                let m = self.modrm(bus);
                let v = self.get_rm(bus, &m, size);
                self.set_flag(Flags::ZF, v == 0);
                if v != 0 {
                    let index = if op == 0xBC {
                        v.trailing_zeros()
                    } else {
                        31 - v.leading_zeros()
                    };
                    self.set_reg(usize::from(m.reg), size, index);
                }
            }
            0xC0 | 0xC1 => {
                let size = if op == 0xC0 { BYTE } else { size };
                let m = self.modrm(bus);
                let (a, b) = (self.get_rm(bus, &m, size), self.get_reg(&m, size));
                let r = self.add(a, b, 0, size);
                self.set_reg(usize::from(m.reg), size, a);
                self.set_rm(bus, &m, size, r);
            }
            0xC7 => return self.cmpxchg8b(bus),
            0xC8..=0xCF => {
                let r = usize::from(op & 7);
                let v = self.reg(r, 4).swap_bytes();
                self.set_reg(r, 4, v);
            }
            _ => return self.invalid(0x0F, op),
        }
        Exit::Continue
    }

    /// 0Fh 01h: SGDT, SIDT, LGDT, LIDT, SMSW, LMSW, INVLPG.
    fn tables(&mut self, bus: &mut impl Bus) -> Exit {
        let m = self.modrm(bus);
        if matches!(m.reg, 2 | 3 | 6 | 7) && !self.ring0() {
            return Exit::Continue;
        }
        match (m.reg, m.rm) {
            (4, _) => {
                let v = self.cr0 & 0xFFFF;
                self.set_rm(bus, &m, WORD, v);
            }
            (6, _) => {
                // LMSW sets PE but never clears it.
                let v = self.get_rm(bus, &m, WORD);
                let cr0 = (self.cr0 & !0xE) | (v & 0xF);
                return self.write_control(bus, 0, cr0);
            }
            (7, Operand::Mem(at)) => {
                let linear = self.linear(at.seg, at.offset);
                self.tlb.flush_page(linear);
                self.fetch_page = crate::cpu::NO_PAGE;
            }
            (0..=3, Operand::Mem(at)) => {
                let base_at = Address {
                    seg: at.seg,
                    offset: at.offset.wrapping_add(2),
                };
                if m.reg >= 2 {
                    let limit = self.read(bus, at, WORD) as u16;
                    let base = self.read(bus, base_at, 4);
                    let base = if self.op32 { base } else { base & 0x00FF_FFFF };
                    if m.reg == 2 {
                        self.gdt = (base, limit);
                    } else {
                        self.idt = (base, limit);
                    }
                } else {
                    let (base, limit) = if m.reg == 0 { self.gdt } else { self.idt };
                    self.write(bus, at, WORD, u32::from(limit));
                    self.write(bus, base_at, 4, base);
                }
            }
            _ => return self.fault(bus, 6),
        }
        Exit::Continue
    }

    /// BT, BTS, BTR, BTC with a register or an immediate bit index.
    fn bit_test(&mut self, bus: &mut impl Bus, op: u8) -> Exit {
        let size = self.osize();
        let bits = u32::from(size) * 8;
        let m = self.modrm(bus);
        let (action, index) = if op == 0xBA {
            if m.reg < 4 {
                return self.fault(bus, 6);
            }
            (m.reg & 3, u32::from(self.fetch8(bus)) % bits)
        } else {
            ((op >> 3) & 3, self.get_reg(&m, size))
        };
        // A register index reaches memory past the operand: whole operands away.
        let m = match m.rm {
            Operand::Mem(at) if op != 0xBA => {
                let signed = crate::alu::sign_extend(index, size);
                let step = (signed.div_euclid(i64::from(bits)) * i64::from(size)) as u32;
                crate::decode::ModRm {
                    reg: m.reg,
                    rm: Operand::Mem(Address {
                        seg: at.seg,
                        offset: at.offset.wrapping_add(step),
                    }),
                }
            }
            _ => m,
        };
        let bit = 1u32 << (index % bits);
        let v = self.get_rm(bus, &m, size);
        self.set_flag(Flags::CF, v & bit != 0);
        let r = match action {
            0 => return Exit::Continue,
            1 => v | bit,
            2 => v & !bit,
            _ => v ^ bit,
        };
        self.set_rm(bus, &m, size, r);
        Exit::Continue
    }

    /// SHLD and SHRD by an immediate or CL.
    fn double_shift(&mut self, bus: &mut impl Bus, op: u8) -> Exit {
        let size = self.osize();
        let bits = u32::from(size) * 8;
        let m = self.modrm(bus);
        let count = if op & 1 == 0 {
            u32::from(self.fetch8(bus))
        } else {
            self.reg(1, BYTE)
        } & 0x1F;
        if count == 0 {
            return Exit::Continue;
        }
        let (dest, src) = (
            u64::from(self.get_rm(bus, &m, size)),
            u64::from(self.get_reg(&m, size)),
        );
        let m64 = u64::from(crate::cpu::mask(size));
        let (r, cf) = if op < 0xAC {
            let wide = (dest << bits) | src;
            let shifted = wide << count;
            (
                ((shifted >> bits) & m64) as u32,
                (wide >> (2 * bits - count)) & 1 != 0,
            )
        } else {
            let wide = (src << bits) | dest;
            (
                (wide >> count) as u32 & m64 as u32,
                (wide >> (count - 1)) & 1 != 0,
            )
        };
        self.set_flag(Flags::CF, cf);
        self.set_flag(Flags::OF, (u64::from(r) ^ dest) & (1 << (bits - 1)) != 0);
        self.set_szp(r, size);
        self.set_rm(bus, &m, size, r);
        Exit::Continue
    }
}

impl Cpu {
    /// MOV to CR0, CR2, CR3 or CR4 (and LMSW): entering and leaving protected mode, turning
    /// paging on and off (with or without PAE), a new page directory.
    fn write_control(&mut self, bus: &mut impl Bus, reg: u8, value: u32) -> Exit {
        const PE: u32 = 1;
        const PG: u32 = 1 << 31;
        let cr0 = if reg == 0 { value } else { self.cr0 };
        if cr0 & PG != 0 && cr0 & PE == 0 {
            self.pend(crate::trap::Trap::gp(0));
            return Exit::Continue;
        }
        if reg == 0 && cr0 & PG != 0 && self.msrs.efer & crate::msr::EFER_LME != 0 {
            // Long mode becomes active: not the interpreter's (KVM takes over here).
            return self.invalid(0x0F, 0x22);
        }
        match reg {
            0 => self.cr0 = cr0,
            2..=4 => self.cr[usize::from(reg) - 2] = value,
            _ => return self.fault(bus, 6),
        }
        let (code32, stack32) = (self.code32, self.stack32);
        self.refresh_modes();
        // CS and SS keep what they held until they are loaded again.
        (self.code32, self.stack32) = (code32 && self.protected, stack32 && self.protected);
        Exit::Continue
    }

    /// 0Fh 00h in protected mode: SLDT, STR, LLDT, LTR, VERR, VERW.
    fn system_registers(&mut self, bus: &mut impl Bus) -> Exit {
        let m = self.modrm(bus);
        match m.reg {
            0 | 1 => {
                let v = if m.reg == 0 { self.ldtr } else { self.tr }.selector;
                let size = match m.rm {
                    Operand::Reg(_) => self.osize(),
                    Operand::Mem(_) => WORD,
                };
                self.set_rm(bus, &m, size, u32::from(v));
            }
            2 | 3 if !self.ring0() => {}
            2 | 3 => {
                let selector = self.get_rm(bus, &m, WORD) as u16;
                let loaded = if m.reg == 2 {
                    self.load_ldt(bus, selector)
                } else {
                    self.load_task_register(bus, selector)
                };
                if let Err(trap) = loaded {
                    self.pend(trap);
                }
            }
            4 | 5 => return self.verify(bus, &m, m.reg == 5),
            _ => return self.invalid(0x0F, 0x00),
        }
        Exit::Continue
    }
}
