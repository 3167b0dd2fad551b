//! Arithmetic and logic with the flags each operation leaves, for 8-, 16- and 32-bit operands.

use crate::cpu::{mask, sign, Cpu, Model, BYTE};
use crate::flags::{parity, Flags};

/// The eight ALU operations of opcodes 00h-3Fh and 80h-83h, by their reg field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AluOp {
    Add,
    Or,
    Adc,
    Sbb,
    And,
    Sub,
    Xor,
    Cmp,
}

impl AluOp {
    pub fn from_index(i: u8) -> AluOp {
        [
            AluOp::Add,
            AluOp::Or,
            AluOp::Adc,
            AluOp::Sbb,
            AluOp::And,
            AluOp::Sub,
            AluOp::Xor,
            AluOp::Cmp,
        ][usize::from(i & 7)]
    }
}

impl Cpu {
    /// SF, ZF and PF from `result`.
    pub(crate) fn set_szp(&mut self, result: u32, size: u8) {
        let r = result & mask(size);
        self.set_flag(Flags::ZF, r == 0);
        self.set_flag(Flags::SF, r & sign(size) != 0);
        self.set_flag(Flags::PF, parity(r));
    }

    /// `a op b`, with the flags it leaves; the result (which `cmp` discards).
    pub(crate) fn alu(&mut self, op: AluOp, a: u32, b: u32, size: u8) -> u32 {
        let carry = u32::from(self.flag(Flags::CF));
        match op {
            AluOp::Add => self.add(a, b, 0, size),
            AluOp::Adc => self.add(a, b, carry, size),
            AluOp::Sub | AluOp::Cmp => self.sub(a, b, 0, size),
            AluOp::Sbb => self.sub(a, b, carry, size),
            AluOp::Or => self.logic(a | b, size),
            AluOp::And => self.logic(a & b, size),
            AluOp::Xor => self.logic(a ^ b, size),
        }
    }

    pub(crate) fn add(&mut self, a: u32, b: u32, carry: u32, size: u8) -> u32 {
        let m = u64::from(mask(size));
        let wide = u64::from(a) + u64::from(b) + u64::from(carry);
        let r = (wide & m) as u32;
        self.set_flag(Flags::CF, wide > m);
        self.set_flag(Flags::AF, (a ^ b ^ r) & 0x10 != 0);
        self.set_flag(Flags::OF, (a ^ r) & (b ^ r) & sign(size) != 0);
        self.set_szp(r, size);
        r
    }

    pub(crate) fn sub(&mut self, a: u32, b: u32, borrow: u32, size: u8) -> u32 {
        let m = mask(size);
        let r = a.wrapping_sub(b).wrapping_sub(borrow) & m;
        self.set_flag(
            Flags::CF,
            u64::from(a & m) < u64::from(b & m) + u64::from(borrow),
        );
        self.set_flag(Flags::AF, (a ^ b ^ r) & 0x10 != 0);
        self.set_flag(Flags::OF, (a ^ b) & (a ^ r) & sign(size) != 0);
        self.set_szp(r, size);
        r
    }

    pub(crate) fn logic(&mut self, r: u32, size: u8) -> u32 {
        let r = r & mask(size);
        self.set_flag(Flags::CF | Flags::OF | Flags::AF, false);
        self.set_szp(r, size);
        r
    }

    /// `inc` and `dec`: as add and sub of 1, but CF stays.
    pub(crate) fn inc_dec(&mut self, a: u32, dec: bool, size: u8) -> u32 {
        let cf = self.flag(Flags::CF);
        let r = if dec {
            self.sub(a, 1, 0, size)
        } else {
            self.add(a, 1, 0, size)
        };
        self.set_flag(Flags::CF, cf);
        r
    }

    /// `neg`.
    pub(crate) fn neg(&mut self, a: u32, size: u8) -> u32 {
        let r = self.sub(0, a, 0, size);
        self.set_flag(Flags::CF, a & mask(size) != 0);
        r
    }

    /// Shifts and rotates (the reg field of C0h/C1h/D0h-D3h) of `a` by `count`.
    pub(crate) fn shift(&mut self, op: u8, a: u32, count: u32, size: u8) -> u32 {
        let count = match self.model {
            Model::I8086 => count & 0xFF,
            Model::I386 => count & 0x1F,
        };
        if count == 0 {
            return a & mask(size);
        }
        if op == 6 && self.model == Model::I8086 {
            return self.setmo(size);
        }
        let (r, cf) = shifted(op, a & mask(size), count, size, self.flag(Flags::CF));
        self.set_flag(Flags::CF, cf);
        let msb = r & sign(size) != 0;
        let next = r & (sign(size) >> 1) != 0;
        let of = match op & 7 {
            0 | 2 | 4 | 6 => msb != cf,
            1 | 3 => msb != next,
            5 => a & sign(size) != 0,
            _ => false,
        };
        self.set_flag(Flags::OF, of);
        if op & 7 >= 4 {
            self.set_szp(r, size);
            self.set_flag(Flags::AF, op & 7 != 7 || self.model == Model::I8086);
        }
        r
    }

    /// The 8086's undocumented SETMO (shift group reg 6): all ones.
    fn setmo(&mut self, size: u8) -> u32 {
        let r = mask(size);
        self.set_flag(Flags::CF | Flags::OF | Flags::AF, false);
        self.set_szp(r, size);
        r
    }

    /// Unsigned multiply of the accumulator by `b`: AX, DX:AX or EDX:EAX.
    pub(crate) fn mul(&mut self, b: u32, size: u8, signed: bool) {
        let a = self.reg(0, size);
        let (lo, hi, overflow) = if signed {
            let (a, b) = (sign_extend(a, size), sign_extend(b, size));
            let r = a * b;
            let fits = r == sign_extend((r as u64 & u64::from(mask(size))) as u32, size);
            (
                r as u32 & mask(size),
                (r >> (u32::from(size) * 8)) as u32 & mask(size),
                !fits,
            )
        } else {
            let r = u64::from(a) * u64::from(b);
            let hi = (r >> (u32::from(size) * 8)) as u32 & mask(size);
            (r as u32 & mask(size), hi, hi != 0)
        };
        if size == BYTE {
            self.set_reg(0, 2, lo | (hi << 8));
        } else {
            self.set_reg(0, size, lo);
            self.set_reg(2, size, hi);
        }
        self.set_flag(Flags::CF | Flags::OF, overflow);
    }

    /// Divides the double-size accumulator by `b`; false on a divide error.
    pub(crate) fn div(&mut self, b: u32, size: u8, signed: bool) -> bool {
        let bits = u32::from(size) * 8;
        let a = if size == BYTE {
            u64::from(self.reg(0, 2))
        } else {
            u64::from(self.reg(0, size)) | (u64::from(self.reg(2, size)) << bits)
        };
        if b & mask(size) == 0 {
            return false;
        }
        let (q, r) = if signed {
            let a = (a << (64 - 2 * bits)) as i64 >> (64 - 2 * bits);
            let b = sign_extend(b, size);
            let (q, r) = (a / b, a % b);
            let max = i64::from(mask(size) >> 1);
            let min = match self.model {
                Model::I8086 => -max,
                Model::I386 => -max - 1,
            };
            if q > max || q < min {
                return false;
            }
            // The 8086's microcode negates IDIV's quotient under a REP prefix.
            let q = if self.model == Model::I8086 && self.rep != crate::cpu::Rep::None {
                -q
            } else {
                q
            };
            (q as u64, r as u64)
        } else {
            let b = u64::from(b & mask(size));
            let q = a / b;
            if q > u64::from(mask(size)) {
                return false;
            }
            (q, a % b)
        };
        if size == BYTE {
            self.set_reg(0, 2, (q as u32 & 0xFF) | ((r as u32 & 0xFF) << 8));
        } else {
            self.set_reg(0, size, q as u32);
            self.set_reg(2, size, r as u32);
        }
        true
    }
}

/// `r` (of `size` bytes) shifted or rotated by `count` (1 or more) as the shift group's `op`
/// does, and the carry it leaves (`cf` is the carry before: RCL and RCR rotate through it):
/// worked out at once, as `count` single steps would leave them.
fn shifted(op: u8, r: u32, count: u32, size: u8, cf: bool) -> (u32, bool) {
    let bits = u32::from(size) * 8;
    let m = mask(size);
    match op & 7 {
        0 | 1 => {
            let k = count % bits;
            let r = if op & 7 == 0 {
                (r << k | r.checked_shr(bits - k).unwrap_or(0)) & m
            } else {
                (r >> k | r.checked_shl(bits - k).unwrap_or(0)) & m
            };
            // The last bit rotated out is the one now at the end it went to.
            let cf = if op & 7 == 0 {
                r & 1 != 0
            } else {
                r & sign(size) != 0
            };
            (r, cf)
        }
        2 | 3 => {
            // Through the carry: a rotate of bits + 1 bits, CF the top one.
            let width = bits + 1;
            let k = u64::from(count % width);
            let all = (1u64 << width) - 1;
            let v = u64::from(cf) << bits | u64::from(r);
            let v = if op & 7 == 2 {
                (v << k | v >> ((u64::from(width) - k) % u64::from(width))) & all
            } else {
                (v >> k | v << ((u64::from(width) - k) % u64::from(width))) & all
            };
            (v as u32 & m, v >> bits & 1 != 0)
        }
        4 | 6 => {
            let count = count.min(bits + 1);
            let v = u64::from(r) << count;
            (v as u32 & m, v >> bits & 1 != 0)
        }
        5 => {
            let count = count.min(bits + 1);
            let v = u64::from(r);
            ((v >> count) as u32, v >> (count - 1) & 1 != 0)
        }
        _ => {
            let count = count.min(bits);
            let v = sign_extend(r, size);
            ((v >> count) as u32 & m, v >> (count - 1) & 1 != 0)
        }
    }
}

/// `value` of `size` bytes, sign-extended.
pub(crate) fn sign_extend(value: u32, size: u8) -> i64 {
    let bits = 64 - u32::from(size) * 8;
    (i64::from(value) << bits) >> bits
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shift group one bit at a time, as the 8086's microcode loops: what [`shifted`]
    /// must equal.
    fn one_at_a_time(op: u8, mut r: u32, count: u32, size: u8, mut cf: bool) -> (u32, bool) {
        let (bits, m, top_bit) = (u32::from(size) * 8, mask(size), sign(size));
        for _ in 0..count {
            let (top, bottom) = (r & top_bit != 0, r & 1 != 0);
            r = match op {
                0 => ((r << 1) | u32::from(top)) & m,
                1 => (r >> 1) | (u32::from(bottom) << (bits - 1)),
                2 => ((r << 1) | u32::from(cf)) & m,
                3 => (r >> 1) | (u32::from(cf) << (bits - 1)),
                4 | 6 => (r << 1) & m,
                5 => r >> 1,
                _ => (r >> 1) | (r & top_bit),
            };
            cf = if op.is_multiple_of(2) { top } else { bottom };
        }
        (r, cf)
    }

    #[test]
    fn test_shifted_equals_shifting_one_bit_at_a_time() {
        let values = [
            0,
            1,
            2,
            0x55,
            0x80,
            0xFF,
            0x8001,
            0x7FFF,
            0xFFFF,
            0x1234_5678,
            0x8000_0000,
        ];
        for op in 0..8 {
            for size in [1u8, 2, 4] {
                for &value in &values {
                    let value = value & mask(size);
                    for count in 1..=255 {
                        for cf in [false, true] {
                            assert_eq!(
                                shifted(op, value, count, size, cf),
                                one_at_a_time(op, value, count, size, cf),
                                "op {op}, size {size}, {value:#x} by {count}, CF {cf}"
                            );
                        }
                    }
                }
            }
        }
    }
}
