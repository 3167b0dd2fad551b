//! The string instructions (MOVS, CMPS, STOS, LODS, SCAS, INS, OUTS) with their repeat
//! prefixes. A long `rep` runs in pieces: after [`Cpu::rep_chunk`] iterations the instruction
//! is left to run again (IP on it), so the machine can take interrupts and stop requests.

use crate::bus::Bus;
use crate::cpu::{Address, Cpu, Exit, Rep, BYTE, DS, ES, WORD};
use crate::flags::Flags;

impl Cpu {
    /// A string instruction, `op` one of 6Ch-6Fh, A4h-A7h, AAh-AFh.
    pub(crate) fn string(&mut self, bus: &mut impl Bus, op: u8) -> Exit {
        let size = if op & 1 == 0 { BYTE } else { self.osize() };
        let asize = if self.addr32 { 4 } else { WORD };
        let compares = matches!(op, 0xA6 | 0xA7 | 0xAE | 0xAF);
        if self.rep == Rep::None {
            return self.string_once(bus, op, size, asize);
        }
        let mut done = 0;
        loop {
            if self.reg(1, asize) == 0 {
                return Exit::Continue;
            }
            if done == self.rep_chunk {
                self.ip = self.start_ip;
                return Exit::Continue;
            }
            let before = (self.regs[1], self.regs[6], self.regs[7], self.flags);
            let exit = self.string_once(bus, op, size, asize);
            if self.pending.is_some() {
                if done > 0 {
                    // The iterations before this one stand: the instruction runs again from
                    // here, and faults at once (with nothing done) if the fault is real.
                    (self.regs[1], self.regs[6], self.regs[7], self.flags) = before;
                    self.pending = None;
                    self.ip = self.start_ip;
                }
                return Exit::Continue;
            }
            done += 1;
            let cx = self.reg(1, asize).wrapping_sub(1);
            self.set_reg(1, asize, cx);
            if exit != Exit::Continue {
                return exit;
            }
            if compares && self.flag(Flags::ZF) != (self.rep == Rep::Equal) {
                return Exit::Continue;
            }
        }
    }

    /// One iteration.
    fn string_once(&mut self, bus: &mut impl Bus, op: u8, size: u8, asize: u8) -> Exit {
        let src = Address {
            seg: self.seg_override.unwrap_or(DS),
            offset: self.reg(6, asize),
        };
        let dst = Address {
            seg: ES,
            offset: self.reg(7, asize),
        };
        let mut exit = Exit::Continue;
        let port = self.reg(2, WORD) as u16;
        if matches!(op, 0x6C..=0x6F) && !self.port_allowed(bus, port, size) {
            return Exit::Continue;
        }
        let (si, di) = match op {
            0x6C | 0x6D => {
                let v = bus.io_in(port, size);
                self.write(bus, dst, size, v);
                (false, true)
            }
            0x6E | 0x6F => {
                let v = self.read(bus, src, size);
                if self.pending.is_none() && bus.io_out(port, size, v) {
                    exit = Exit::Io;
                }
                (true, false)
            }
            0xA4 | 0xA5 => {
                let v = self.read(bus, src, size);
                self.write(bus, dst, size, v);
                (true, true)
            }
            0xA6 | 0xA7 => {
                let (a, b) = (self.read(bus, src, size), self.read(bus, dst, size));
                self.sub(a, b, 0, size);
                (true, true)
            }
            0xAA | 0xAB => {
                let v = self.reg(0, size);
                self.write(bus, dst, size, v);
                (false, true)
            }
            0xAC | 0xAD => {
                let v = self.read(bus, src, size);
                self.set_reg(0, size, v);
                (true, false)
            }
            _ => {
                let (a, b) = (self.reg(0, size), self.read(bus, dst, size));
                self.sub(a, b, 0, size);
                (false, true)
            }
        };
        let step = if self.flag(Flags::DF) {
            0u32.wrapping_sub(u32::from(size))
        } else {
            u32::from(size)
        };
        if si {
            let v = self.reg(6, asize).wrapping_add(step);
            self.set_reg(6, asize, v);
        }
        if di {
            let v = self.reg(7, asize).wrapping_add(step);
            self.set_reg(7, asize, v);
        }
        exit
    }
}
