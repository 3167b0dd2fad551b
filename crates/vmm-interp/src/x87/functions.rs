//! D9 F0-FF: F2XM1, FYL2X, FPTAN, FPATAN, FXTRACT, FPREM1, FDECSTP, FINCSTP, FPREM, FYL2XP1,
//! FSQRT, FSINCOS, FRNDINT, FSCALE, FSIN, FCOS. FSQRT, FPREM, FPREM1, FRNDINT, FSCALE and
//! FXTRACT are exact to the 80-bit format; the transcendental ones go through the host's double
//! precision (53 bits of the 64), from the `libm` crate (Rust: no libm.so to load).

use super::value::{self, Ext};
use super::{C0, C1, C2, C3, IE, ZE};
use crate::bus::Bus;
use crate::cpu::{Cpu, Exit};
use rustc_apfloat::{Float, Round, Status};

/// The fewest bits of quotient one FPREM or FPREM1 step finds when the reduction is left
/// partial (C2 set) for the program to run the instruction again.
const PARTIAL_BITS_MIN: i32 = 32;

impl Cpu {
    /// D9 F0+`index`.
    pub(super) fn x87_functions(&mut self, _bus: &mut impl Bus, index: u8) -> Exit {
        let fpu = &mut self.fpu;
        let round = value::rounding(fpu.control);
        fpu.status &= !C1;
        fpu.check_operands(index);
        if matches!(index, 1 | 3 | 9) && fpu.propagate_pair() {
            return Exit::Continue;
        }
        match index {
            0 => {
                let x = value::to_f64(fpu.st(0));
                fpu.set_st(0, value::from_f64(libm::exp2(x) - 1.0));
            }
            1 | 9 => {
                let (x, y) = (value::to_f64(fpu.st(0)), value::to_f64(fpu.st(1)));
                let x = if index == 9 { x + 1.0 } else { x };
                if x < 0.0 || (x == 0.0 && y == 0.0) {
                    fpu.raise(IE);
                    fpu.set_st(1, value::ext(value::INDEFINITE));
                } else {
                    if x == 0.0 {
                        fpu.raise(ZE);
                    }
                    fpu.set_st(1, value::from_f64(y * libm::log2(x)));
                }
                fpu.pop();
            }
            2 | 14 | 15 | 11 => return self.x87_trig(index),
            3 => fpu.arctangent(round),
            4 => fpu.extract(),
            5 | 8 => {
                let (x, y) = (fpu.st(0), fpu.st(1));
                self.x87_remainder(x, y, index == 5);
            }
            6 => {
                let top = fpu.top();
                fpu.status = (fpu.status & !0x3800) | ((((top + 7) & 7) as u16) << 11);
            }
            7 => {
                let top = fpu.top();
                fpu.status = (fpu.status & !0x3800) | ((((top + 1) & 7) as u16) << 11);
            }
            10 => {
                let v = fpu.st(0);
                let r = value::rounded(fpu.control, |round| value::sqrt(v, round));
                fpu.put(0, r);
            }
            12 => {
                let v = fpu.st(0);
                let r = v.round_to_integral(round);
                fpu.note(r.status);
                fpu.set_st(0, r.value);
            }
            _ => {
                let (x, y) = (fpu.st(0), fpu.st(1));
                let scaled = value::scale(x, y, round);
                fpu.note(scaled.status);
                fpu.set_st(0, scaled.value);
            }
        }
        Exit::Continue
    }

    /// FPTAN (2), FSINCOS (11), FSIN (14), FCOS (15).
    fn x87_trig(&mut self, index: u8) -> Exit {
        let fpu = &mut self.fpu;
        let v = fpu.st(0);
        if v.is_nan() {
            return Exit::Continue;
        }
        // Below 2^-64, sin x and tan x are x and cos x is 1 to the format's precision (and a
        // double would lose such an x altogether).
        if v.is_finite_non_zero() && v.ilogb() < -64 {
            let underflow = if v.is_denormal() && index != 15 {
                1 << 4
            } else {
                0
            };
            fpu.raise((1 << 5) | underflow);
            fpu.status &= !C2;
            match index {
                2 => fpu.push(value::constant(0)),
                11 => fpu.push(value::constant(0)),
                15 => fpu.set_st(0, value::constant(0)),
                _ => {}
            }
            return Exit::Continue;
        }
        if v.is_infinite() {
            fpu.raise(IE);
            fpu.set_st(0, value::ext(value::INDEFINITE));
            return Exit::Continue;
        }
        if v.is_finite_non_zero() && v.ilogb() >= 63 {
            fpu.status |= C2;
            return Exit::Continue;
        }
        let x = value::to_f64(value::reduce(v));
        fpu.status &= !C2;
        match index {
            2 => {
                fpu.set_st(0, value::from_f64(libm::tan(x)));
                fpu.push(value::constant(0));
            }
            11 => {
                fpu.set_st(0, value::from_f64(libm::sin(x)));
                fpu.push(value::from_f64(libm::cos(x)));
            }
            14 => fpu.set_st(0, value::from_f64(libm::sin(x))),
            _ => fpu.set_st(0, value::from_f64(libm::cos(x))),
        }
        Exit::Continue
    }

    /// FPREM (`ieee` false: the quotient truncated) and FPREM1 (rounded to nearest): the
    /// whole reduction at once (C2 clear), the quotient's low three bits in C0, C3, C1.
    fn x87_remainder(&mut self, x: Ext, y: Ext, ieee: bool) {
        let fpu = &mut self.fpu;
        if let Some(nan) = value::propagate(x, y) {
            if x.is_signaling() || y.is_signaling() {
                fpu.raise(IE);
            }
            fpu.set_st(0, nan);
            return;
        }
        if x.is_infinite() || y.is_zero() {
            fpu.raise(IE);
            fpu.set_st(0, value::ext(value::INDEFINITE));
            return;
        }
        fpu.denormal_operands(&[x, y]);
        if y.is_infinite() {
            fpu.status &= !(C0 | C1 | C2 | C3);
            return;
        }
        let distance = if x.is_zero() {
            0
        } else {
            x.ilogb().saturating_sub(y.ilogb())
        };
        if distance >= 64 {
            // A partial step, as the 387 makes it: the remainder modulo y * 2^(distance - n),
            // n between 32 and 63 so that the scale is a multiple of 32.
            let n = PARTIAL_BITS_MIN + distance % 32;
            let r = x.c_fmod(y.scalbn(distance - n));
            fpu.status = (fpu.status & !(C0 | C1 | C3)) | C2;
            fpu.set_st(0, r.value);
            return;
        }
        let r = if ieee { x.ieee_rem(y) } else { x.c_fmod(y) };
        fpu.note(r.status & !Status::INEXACT);
        // The quotient's low three bits: |x| modulo 8|y|, divided by |y| (exact enough: an
        // integer when the remainder is zero).
        let eight = y.abs().scalbn(3);
        let low = (x.abs().c_fmod(eight).value / y.abs()).value;
        let rounding = if ieee {
            Round::NearestTiesToEven
        } else {
            Round::TowardZero
        };
        let q = value::to_integer(low, 64, rounding).value as u64 & 7;
        fpu.status &= !(C0 | C1 | C2 | C3);
        let bit = |n: u32, flag: u16| if q >> n & 1 != 0 { flag } else { 0 };
        fpu.status |= bit(2, C0) | bit(1, C3) | bit(0, C1);
        fpu.set_st(0, r.value);
    }
}

impl super::Fpu {
    /// FPATAN: ST(1) = the angle of (ST(0), ST(1)), popping.
    fn arctangent(&mut self, round: Round) {
        let (x, y) = (self.st(0), self.st(1));
        let tiny = x.is_finite_non_zero()
            && !x.is_negative()
            && y.is_finite_non_zero()
            && y.ilogb() < x.ilogb() - 40;
        let result = if tiny {
            // atan(t) is t to the format's precision: a double would lose a tiny t.
            let t = y.div_r(x, round);
            self.note(t.status | Status::INEXACT);
            t.value
        } else {
            // Both scaled alike into a double's range: only their ratio matters.
            let finite = |v: Ext| v.is_finite_non_zero().then(|| v.ilogb());
            let shift = finite(x).max(finite(y)).unwrap_or(0);
            let (x, y) = (x.scalbn(-shift), y.scalbn(-shift));
            value::from_f64(libm::atan2(value::to_f64(y), value::to_f64(x)))
        };
        self.set_st(1, result);
        self.pop();
    }

    /// FXTRACT: ST(0) becomes its exponent, and its significand is pushed.
    fn extract(&mut self) {
        let v = self.st(0);
        if v.is_nan() || v.is_infinite() {
            let quiet = value::propagate(v, v).unwrap_or(v);
            self.set_st(0, if v.is_nan() { quiet } else { Ext::INFINITY });
            self.push(quiet);
        } else if v.is_zero() {
            self.raise(ZE);
            self.set_st(0, -Ext::INFINITY);
            self.push(v);
        } else {
            let mut exponent = 0;
            let significand = v.frexp(&mut exponent).scalbn(1);
            self.set_st(0, value::from_integer(i128::from(exponent - 1)));
            self.push(significand);
        }
    }

    /// The denormal-operand exception for D9 F0+`index`'s operands (not for NaNs, nor for
    /// FSQRT of a negative number, which is invalid; FPREM and FPREM1 judge theirs).
    fn check_operands(&mut self, index: u8) {
        if matches!(index, 5..=8) {
            return;
        }
        let operand = |i: usize| {
            let r = self.physical(i);
            (self.empty & (1 << r) == 0).then(|| value::ext(self.regs[r]))
        };
        let (x, y) = (operand(0), operand(1));
        let two = matches!(index, 1 | 3 | 9 | 13);
        let nan = x.is_some_and(|v| v.is_nan()) || (two && y.is_some_and(|v| v.is_nan()));
        let invalid = index == 10 && x.is_some_and(|v| v.is_negative());
        if let (Some(x), false, false) = (x, nan, invalid) {
            self.denormal_operands(&[x]);
            if let (Some(y), true) = (y, two) {
                self.denormal_operands(&[y]);
            }
        }
    }

    /// For FYL2X, FPATAN, FYL2XP1: a NaN operand goes to ST(1), and ST(0) is popped; true
    /// when there was one.
    fn propagate_pair(&mut self) -> bool {
        let (x, y) = (self.st(0), self.st(1));
        let Some(nan) = value::propagate(x, y) else {
            return false;
        };
        if x.is_signaling() || y.is_signaling() {
            self.raise(IE);
        }
        self.set_st(1, nan);
        self.pop();
        true
    }
}
