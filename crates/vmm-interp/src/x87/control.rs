//! The x87's control instructions with memory operands: FLDCW, FNSTCW, FNSTSW, FLDENV,
//! FNSTENV, FRSTOR, FNSAVE. The environment's instruction and operand pointers are stored as
//! zeros (this x87 does not keep them); its control, status and tag words are exact.

use super::Fpu;
use crate::bus::Bus;
use crate::cpu::{Address, Cpu, Exit, WORD};

impl Cpu {
    /// The environment's size: 14 bytes with a 16-bit operand size, 28 with a 32-bit one.
    fn environment_size(&self) -> u32 {
        if self.op32 {
            28
        } else {
            14
        }
    }

    /// Stores the environment at `at` and then masks every exception (as FNSTENV does).
    fn store_environment(&mut self, bus: &mut impl Bus, at: Address) {
        let step = if self.op32 { 4 } else { 2 };
        let words = [self.fpu.control, self.fpu.status, self.fpu.tag_word()];
        for (n, w) in words.into_iter().enumerate() {
            let field = Address {
                seg: at.seg,
                offset: at.offset.wrapping_add(n as u32 * step),
            };
            self.write_bytes(bus, field, step, u128::from(w));
        }
        let pointers = Address {
            seg: at.seg,
            offset: at.offset.wrapping_add(3 * step),
        };
        self.write_bytes(bus, pointers, 4 * step, 0);
    }

    /// Loads the environment at `at`.
    fn load_environment(&mut self, bus: &mut impl Bus, at: Address) {
        let step = if self.op32 { 4 } else { 2 };
        let field = |n: u32| Address {
            seg: at.seg,
            offset: at.offset.wrapping_add(n * step),
        };
        let control = self.read(bus, field(0), WORD) as u16;
        let status = self.read(bus, field(1), WORD) as u16;
        let tags = self.read(bus, field(2), WORD) as u16;
        self.fpu.control = control;
        self.fpu.status = status;
        self.fpu.set_tag_word(tags);
    }

    /// D9h /4-/7 and DDh /4-/7 with a memory operand.
    pub(super) fn x87_environment(
        &mut self,
        bus: &mut impl Bus,
        op: u8,
        reg: u8,
        at: Address,
    ) -> Exit {
        match (op, reg) {
            (0xD9, 4) => self.load_environment(bus, at),
            (0xD9, 5) => self.fpu.control = self.read(bus, at, WORD) as u16,
            (0xD9, 6) => {
                self.store_environment(bus, at);
                self.fpu.control |= 0x3F;
            }
            (0xD9, 7) => {
                let v = u32::from(self.fpu.control);
                self.write(bus, at, WORD, v);
            }
            (0xDD, 4) => {
                self.load_environment(bus, at);
                let base = at.offset.wrapping_add(self.environment_size());
                for i in 0..8 {
                    let reg = Address {
                        seg: at.seg,
                        offset: base.wrapping_add(10 * i),
                    };
                    let bits = self.read_bytes(bus, reg, 10);
                    let r = self.fpu.physical(i as usize);
                    self.fpu.regs[r] = bits;
                }
            }
            (0xDD, 6) => {
                self.store_environment(bus, at);
                let base = at.offset.wrapping_add(self.environment_size());
                for i in 0..8 {
                    let reg = Address {
                        seg: at.seg,
                        offset: base.wrapping_add(10 * i),
                    };
                    let bits = self.fpu.regs[self.fpu.physical(i as usize)];
                    self.write_bytes(bus, reg, 10, bits);
                }
                self.fpu = Fpu::default();
            }
            (0xDD, 7) => {
                let v = u32::from(self.fpu.status);
                self.write(bus, at, WORD, v);
            }
            _ => return self.invalid(op, reg << 3),
        }
        Exit::Continue
    }
}
