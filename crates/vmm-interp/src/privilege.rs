//! What protected mode keeps from the outer rings: instructions only ring 0 may run, and
//! ports (IN, OUT, INS, OUTS) only where CPL ≤ IOPL or the TSS's I/O bitmap allows them.

use crate::bus::Bus;
use crate::cpu::Cpu;
use crate::trap::Trap;

impl Cpu {
    /// IOPL from EFLAGS.
    pub(crate) fn iopl(&self) -> u8 {
        ((self.flags >> 12) & 3) as u8
    }

    /// True in ring 0 (and real mode); otherwise #GP(0) is pending and the instruction must
    /// do nothing.
    pub(crate) fn ring0(&mut self) -> bool {
        if self.cpl() == 0 {
            return true;
        }
        self.pend(Trap::gp(0));
        false
    }

    /// True where CPL ≤ IOPL (CLI, STI); otherwise #GP(0) is pending.
    pub(crate) fn iopl_allows(&mut self) -> bool {
        if self.cpl() <= self.iopl() {
            return true;
        }
        self.pend(Trap::gp(0));
        false
    }

    /// Whether `size` bytes at `port` may be accessed: always where CPL ≤ IOPL, otherwise
    /// when the 32-bit TSS's I/O bitmap clears their bits. #GP(0) is pending when not.
    pub(crate) fn port_allowed(&mut self, bus: &mut impl Bus, port: u16, size: u8) -> bool {
        // In virtual-8086 mode only the bitmap counts.
        if !self.protected || (!self.v86() && self.cpl() <= self.iopl()) {
            return true;
        }
        if self.bitmap_allows(bus, port, size) {
            return true;
        }
        self.pend(Trap::gp(0));
        false
    }

    /// The I/O permission bitmap's answer (a 286 TSS has none: refused).
    fn bitmap_allows(&mut self, bus: &mut impl Bus, port: u16, size: u8) -> bool {
        let (base, limit) = (self.tr.base, self.tr.limit);
        if self.tr.attrs & 8 == 0 || limit < 0x67 {
            return false;
        }
        let Ok(offset) = self.read_linear(bus, base.wrapping_add(0x66), 2, false) else {
            return false;
        };
        let at = offset + u32::from(port / 8);
        if at + 1 > limit {
            return false;
        }
        let Ok(bits) = self.read_linear(bus, base.wrapping_add(at), 2, false) else {
            return false;
        };
        let mask = ((1u32 << size) - 1) << (port % 8);
        bits & mask == 0
    }
}
