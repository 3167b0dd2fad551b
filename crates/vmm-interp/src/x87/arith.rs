//! x87 arithmetic and comparisons: the six operations in their memory and register forms,
//! FCOM/FUCOM/FCOMI and FTST/FXAM, and the register forms of D9h-DFh (FLD ST(i), FXCH, the
//! constants, FCHS ... FCOS, FFREE, FST ST(i), FNSTSW AX).

use super::value::{self, Ext};
use super::{Fpu, C0, C1, C2, C3, CC, IE};
use crate::bus::Bus;
use crate::cpu::{Cpu, Exit};
use crate::flags::Flags;
use rustc_apfloat::{Float, Round, Status, StatusAnd};
use std::cmp::Ordering;

/// The operation of an arithmetic form's reg field, for `dest = x op y`.
fn operate(reg: u8, x: Ext, y: Ext, round: Round) -> StatusAnd<Ext> {
    match reg {
        0 => x.add_r(y, round),
        1 => x.mul_r(y, round),
        4 => x.sub_r(y, round),
        5 => y.sub_r(x, round),
        6 => x.div_r(y, round),
        _ => y.div_r(x, round),
    }
}

impl Fpu {
    /// A result with the masked invalid operation's indefinite where the 387 gives it (an
    /// invalid operation on operands that were not NaNs).
    fn fix_invalid(result: StatusAnd<Ext>, x: Ext, y: Ext) -> StatusAnd<Ext> {
        if result.status.contains(Status::INVALID_OP) && !x.is_nan() && !y.is_nan() {
            return result.status.and(value::ext(value::INDEFINITE));
        }
        result
    }

    /// The denormal-operand exception (DE) when an operand is a denormal.
    pub(super) fn denormal_operands(&mut self, operands: &[Ext]) {
        if operands.iter().any(|v| v.is_denormal()) {
            self.raise(1 << 1);
        }
    }

    /// `ST(dest) = x op y` for an arithmetic reg field.
    fn arith(&mut self, reg: u8, dest: usize, x: Ext, y: Ext) {
        self.status &= !C1;
        if let Some(nan) = value::propagate(x, y) {
            if x.is_signaling() || y.is_signaling() {
                self.raise(IE);
            }
            self.set_st(dest, nan);
            return;
        }
        // A division by zero is reported as that alone.
        let divisor = if reg == 6 { y } else { x };
        if !(reg >= 6 && divisor.is_zero()) {
            self.denormal_operands(&[x, y]);
        }
        let control = self.control;
        let result = value::rounded(control, |round| operate(reg, x, y, round));
        self.put(dest, Self::fix_invalid(result, x, y));
    }

    /// Compares ST(0) with `y` into C3, C2, C0 (unordered: all three; `quiet` compares raise
    /// invalid only for signalling NaNs).
    fn compare(&mut self, x: Ext, y: Ext, quiet: bool) -> Option<Ordering> {
        let order = x.partial_cmp(&y);
        if order.is_none() && (!quiet || x.is_signaling() || y.is_signaling()) {
            self.raise(IE);
        } else if order.is_some() {
            self.denormal_operands(&[x, y]);
        }
        let cc = match order {
            Some(Ordering::Greater) => 0,
            Some(Ordering::Less) => C0,
            Some(Ordering::Equal) => C3,
            None => C3 | C2 | C0,
        };
        self.status = (self.status & !CC) | cc;
        order
    }
}

impl Cpu {
    /// D8h/DAh/DCh/DEh with a memory operand: ST(0) op operand, or a compare.
    pub(super) fn arith_operand(&mut self, reg: u8, operand: StatusAnd<Ext>) {
        self.fpu.note(operand.status);
        let x = self.fpu.st(0);
        match reg {
            2 | 3 => {
                self.fpu.compare(x, operand.value, false);
                if reg == 3 {
                    self.fpu.pop();
                }
            }
            _ => self.fpu.arith(reg, 0, x, operand.value),
        }
    }

    /// The register forms (mod = 3) of D8h-DFh, ST(i) being `i`.
    pub(super) fn x87_register(&mut self, bus: &mut impl Bus, op: u8, reg: u8, i: usize) -> Exit {
        let fpu = &mut self.fpu;
        match (op, reg) {
            (0xD8, 2 | 3) | (0xDC, 2 | 3) | (0xDE, 2) => {
                let (x, y) = (fpu.st(0), fpu.st(i));
                fpu.compare(x, y, false);
                if reg == 3 || op == 0xDE {
                    fpu.pop();
                }
            }
            (0xD8, r) => {
                let (x, y) = (fpu.st(0), fpu.st(i));
                fpu.arith(r, 0, x, y);
            }
            // DC and DE name the reversed operations the other way round (SDM: FSUBR ST(i)).
            (0xDC | 0xDE, r) if r != 3 => {
                let (x, y) = (fpu.st(i), fpu.st(0));
                let r = if r >= 4 { r ^ 1 } else { r };
                fpu.arith(r, i, x, y);
                if op == 0xDE {
                    fpu.pop();
                }
            }
            (0xDE, 3) if i == 1 => {
                let (x, y) = (fpu.st(0), fpu.st(1));
                fpu.compare(x, y, false);
                fpu.pop();
                fpu.pop();
            }
            (0xD9, _) => return self.x87_d9(bus, reg, i),
            _ => return self.x87_register_more(op, reg, i),
        }
        Exit::Continue
    }

    /// DAh /0-/3 and DBh /0-/3 with a register operand: FCMOVB, FCMOVE, FCMOVBE, FCMOVU and
    /// their negations (the P6's), ST(i) into ST(0) when EFLAGS says so.
    fn fcmov(&mut self, op: u8, reg: u8, i: usize) -> Exit {
        let holds = match reg {
            0 => self.flag(Flags::CF),
            1 => self.flag(Flags::ZF),
            2 => self.flag(Flags::CF) || self.flag(Flags::ZF),
            _ => self.flag(Flags::PF),
        };
        if holds != (op == 0xDB) {
            let v = self.fpu.st(i);
            self.fpu.set_st(0, v);
        }
        Exit::Continue
    }

    /// DAh, DBh, DDh, DFh with a register operand.
    fn x87_register_more(&mut self, op: u8, reg: u8, i: usize) -> Exit {
        if matches!((op, reg), (0xDA | 0xDB, 0..=3)) {
            return self.fcmov(op, reg, i);
        }
        let fpu = &mut self.fpu;
        match (op, reg) {
            (0xDA, 5) if i == 1 => {
                let (x, y) = (fpu.st(0), fpu.st(1));
                fpu.compare(x, y, true);
                fpu.pop();
                fpu.pop();
            }
            (0xDB, 4) => match i {
                2 => fpu.status &= !(0x00FF | super::B),
                3 => *fpu = Fpu::default(),
                // FENI, FDISI (8087), FSETPM (287): nothing on a 387.
                0 | 1 | 4 => {}
                _ => return self.invalid(op, 0xE0 | i as u8),
            },
            (0xDB | 0xDF, 5 | 6) => {
                let (x, y) = (fpu.st(0), fpu.st(i));
                let order = fpu.compare(x, y, reg == 5);
                fpu.status &= !CC;
                let (zf, pf, cf) = match order {
                    Some(Ordering::Greater) => (false, false, false),
                    Some(Ordering::Less) => (false, false, true),
                    Some(Ordering::Equal) => (true, false, false),
                    None => (true, true, true),
                };
                self.flags &=
                    !(Flags::ZF | Flags::PF | Flags::CF | Flags::OF | Flags::SF | Flags::AF);
                self.set_flag(Flags::ZF, zf);
                self.set_flag(Flags::PF, pf);
                self.set_flag(Flags::CF, cf);
                if op == 0xDF {
                    self.fpu.pop();
                }
            }
            (0xDD, 0) | (0xDF, 0) => {
                let r = fpu.physical(i);
                fpu.empty |= 1 << r;
                if op == 0xDF {
                    fpu.pop();
                }
            }
            (0xDD, 2 | 3) => {
                let v = fpu.st(0);
                fpu.set_st(i, v);
                if reg == 3 {
                    fpu.pop();
                }
            }
            (0xDD, 4 | 5) => {
                let (x, y) = (fpu.st(0), fpu.st(i));
                fpu.compare(x, y, true);
                if reg == 5 {
                    fpu.pop();
                }
            }
            (0xDF, 4) if i == 0 => {
                let status = u32::from(fpu.status);
                self.set_reg(0, crate::cpu::WORD, status);
            }
            _ => return self.invalid(op, 0xC0 | (reg << 3) | i as u8),
        }
        Exit::Continue
    }

    /// D9h with a register operand: FLD ST(i), FXCH, FNOP, and D9 E0-FF.
    fn x87_d9(&mut self, bus: &mut impl Bus, reg: u8, i: usize) -> Exit {
        let fpu = &mut self.fpu;
        match reg {
            0 => {
                let v = fpu.st(i);
                fpu.push(v);
            }
            1 => {
                let (a, b) = (fpu.st(0), fpu.st(i));
                fpu.set_st(0, b);
                fpu.set_st(i, a);
                fpu.status &= !C1;
            }
            3 => {
                let v = fpu.st(0);
                fpu.set_st(i, v);
                fpu.pop();
            }
            2 if i == 0 => {}
            4 => match i {
                0 => {
                    let v = fpu.st(0);
                    fpu.set_st(0, -v);
                }
                1 => {
                    let v = fpu.st(0);
                    fpu.set_st(0, v.abs());
                }
                4 => {
                    let v = fpu.st(0);
                    fpu.compare(v, Ext::ZERO, false);
                }
                5 => {
                    let r = fpu.physical(0);
                    let (class, sign) = if fpu.empty & (1 << r) != 0 {
                        (C3 | C0, false)
                    } else {
                        let v = value::ext(fpu.regs[r]);
                        (value::class(v), v.is_negative())
                    };
                    fpu.status = (fpu.status & !CC) | class | if sign { C1 } else { 0 };
                }
                _ => return self.invalid(0xD9, 0xE0 | i as u8),
            },
            5 if i < 7 => fpu.push(value::constant(i as u8)),
            6 | 7 => return self.x87_functions(bus, (reg - 6) * 8 + i as u8),
            _ => return self.invalid(0xD9, 0xC0 | (reg << 3) | i as u8),
        }
        Exit::Continue
    }
}

#[cfg(test)]
mod tests {
    use crate::bus::FlatMemory;
    use crate::cpu::{Cpu, Exit, Model};

    /// ST(0) after `fld1; fldz; FLAG; fcmovb st0, st1` (FLAG: stc or clc), as an f64.
    fn fcmovb_after(flag: u8) -> u128 {
        let mut memory = FlatMemory::new(1 << 20);
        memory.load(0x7C00, &[0xD9, 0xE8, 0xD9, 0xEE, flag, 0xDA, 0xC1, 0xF4]);
        let mut cpu = Cpu::new(Model::I386);
        cpu.set_real_mode_entry(0, 0x7C00);
        while cpu.step(&mut memory) == Exit::Continue {}
        cpu.fpu.regs[cpu.fpu.physical(0)]
    }

    #[test]
    fn test_fcmovb_moves_when_carry_is_set_and_not_otherwise() {
        let one = 0x3FFF_8000_0000_0000_0000u128;

        assert_eq!((fcmovb_after(0xF9), fcmovb_after(0xF8)), (one, 0));
    }
}
