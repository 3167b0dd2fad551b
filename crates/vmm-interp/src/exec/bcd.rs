//! The decimal adjustments: DAA, DAS, AAA, AAS, AAM, AAD.

use crate::bus::Bus;
use crate::cpu::{Cpu, Exit, Model, BYTE, WORD};
use crate::flags::Flags;

impl Cpu {
    pub(super) fn daa(&mut self) -> Exit {
        let al = self.reg(0, BYTE);
        let (cf, af) = (self.flag(Flags::CF), self.flag(Flags::AF));
        let mut r = al;
        let low = al & 0x0F > 9 || af;
        if low {
            r = r.wrapping_add(6);
        }
        let high = al > 0x99 || cf;
        if high {
            r = r.wrapping_add(0x60);
        }
        self.set_reg(0, BYTE, r);
        self.set_szp(r, BYTE);
        self.set_flag(Flags::AF, low);
        self.set_flag(Flags::CF, high);
        self.set_flag(Flags::OF, (al ^ r) & r & 0x80 != 0);
        Exit::Continue
    }

    pub(super) fn das(&mut self) -> Exit {
        let al = self.reg(0, BYTE);
        let (cf, af) = (self.flag(Flags::CF), self.flag(Flags::AF));
        let mut r = al;
        let low = al & 0x0F > 9 || af;
        if low {
            r = r.wrapping_sub(6);
        }
        let high = al > 0x99 || cf;
        if high {
            r = r.wrapping_sub(0x60);
        }
        self.set_reg(0, BYTE, r);
        self.set_szp(r, BYTE);
        self.set_flag(Flags::AF, low);
        self.set_flag(Flags::CF, high);
        self.set_flag(Flags::OF, (al ^ r) & al & 0x80 != 0);
        Exit::Continue
    }

    pub(super) fn aaa(&mut self) -> Exit {
        self.ascii_adjust(true)
    }

    pub(super) fn aas(&mut self) -> Exit {
        self.ascii_adjust(false)
    }

    fn ascii_adjust(&mut self, add: bool) -> Exit {
        let ax = self.reg(0, WORD);
        let adjust = ax & 0x0F > 9 || self.flag(Flags::AF);
        let mut r = ax;
        if adjust {
            r = match (add, self.model) {
                (true, Model::I8086) => (ax & 0xFF00).wrapping_add(0x100) | ((ax + 6) & 0xFF),
                (true, Model::I386) => ax.wrapping_add(0x106),
                (false, Model::I8086) => {
                    (ax & 0xFF00).wrapping_sub(0x100) | (ax.wrapping_sub(6) & 0xFF)
                }
                (false, Model::I386) => ax.wrapping_sub(6).wrapping_sub(0x100),
            };
        }
        let al = r & 0xFF;
        let adjusted = if add {
            (ax & 0xFF) + 6
        } else {
            (ax & 0xFF).wrapping_sub(6)
        } & 0xFF;
        self.set_reg(0, WORD, r & 0xFF0F);
        self.set_flag(Flags::AF | Flags::CF, adjust);
        let shown = if adjust { adjusted } else { al };
        self.set_szp(shown, BYTE);
        self.set_flag(Flags::OF, false);
        Exit::Continue
    }

    pub(super) fn aam(&mut self, bus: &mut impl Bus) -> Exit {
        let base = u32::from(self.fetch8(bus));
        if base == 0 {
            return self.fault(bus, 0);
        }
        let al = self.reg(0, BYTE);
        let r = ((al / base) << 8) | (al % base);
        self.set_reg(0, WORD, r);
        self.set_szp(r, BYTE);
        self.set_flag(Flags::CF | Flags::OF | Flags::AF, false);
        Exit::Continue
    }

    pub(super) fn aad(&mut self, bus: &mut impl Bus) -> Exit {
        let base = u32::from(self.fetch8(bus));
        let (al, ah) = (self.reg(0, BYTE), self.reg(4, BYTE));
        let product = (ah * base) & 0xFF;
        let r = self.add(al, product, 0, BYTE);
        self.set_reg(0, WORD, r);
        Exit::Continue
    }
}
