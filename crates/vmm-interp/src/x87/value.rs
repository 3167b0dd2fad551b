//! x87 numbers: the 80-bit extended format (through `rustc_apfloat`, which implements it
//! bit for bit, rounding modes and exceptions included), the formats memory holds (single,
//! double, extended, 16/32/64-bit integers, 18-digit packed BCD), and the constants.

use rustc_apfloat::ieee::{Double, Single, X87DoubleExtended};
use rustc_apfloat::{Category, Float, FloatConvert, Round, Status, StatusAnd};

/// An x87 register's value.
pub(crate) type Ext = X87DoubleExtended;

/// The "real indefinite": the quiet NaN a masked invalid operation produces.
pub(crate) const INDEFINITE: u128 = 0xFFFF_C000_0000_0000_0000;

/// The value with 80-bit pattern `bits`.
pub(crate) fn ext(bits: u128) -> Ext {
    Ext::from_bits(bits & ((1 << 80) - 1))
}

/// The rounding the control word's RC field asks for.
pub(crate) fn rounding(control: u16) -> Round {
    match (control >> 10) & 3 {
        0 => Round::NearestTiesToEven,
        1 => Round::TowardNegative,
        2 => Round::TowardPositive,
        _ => Round::TowardZero,
    }
}

/// A value rounded to the precision the control word's PC field asks for: 24, 53 or 64 bits
/// of the 64-bit significand, cut at that fixed place (so a denormal keeps fewer), the
/// exponent's range the extended format's.
pub(crate) fn to_precision(value: StatusAnd<Ext>, control: u16) -> StatusAnd<Ext> {
    let v = value.value;
    let kept_bits = match (control >> 8) & 3 {
        0 => 24,
        2 => 53,
        _ => return value,
    };
    if !v.is_finite_non_zero() {
        return value;
    }
    let bits = v.to_bits();
    let (negative, mut exponent) = (bits >> 79 != 0, (bits >> 64) as u32 & 0x7FFF);
    let significand = bits as u64;
    let dropped = 64 - kept_bits;
    let rest = significand & ((1 << dropped) - 1);
    let half = 1u64 << (dropped - 1);
    let mut kept = u128::from(significand >> dropped);
    let up = match rounding(control) {
        Round::TowardPositive => rest != 0 && !negative,
        Round::TowardNegative => rest != 0 && negative,
        Round::TowardZero => false,
        _ => rest > half || (rest == half && kept & 1 == 1),
    };
    kept += u128::from(up);
    if kept >> kept_bits != 0 {
        kept >>= 1;
        exponent += 1;
    }
    let mut rounded = kept << dropped;
    if exponent == 0 && rounded >> 63 != 0 {
        exponent = 1; // a denormal rounded up to the smallest normal
    }
    let mut status = value.status;
    if rest != 0 {
        status |= Status::INEXACT;
        if exponent == 0 {
            status |= Status::UNDERFLOW;
        }
    }
    if exponent >= 0x7FFF {
        status |= Status::OVERFLOW | Status::INEXACT;
        (exponent, rounded) = (0x7FFF, 1 << 63);
    }
    let result = (u128::from(negative) << 79) | (u128::from(exponent) << 64) | rounded;
    status.and(ext(result))
}

/// An operation's result for [`to_precision`] to round: with 64 bits of precision, the
/// operation rounded as the control word says; with 24 or 53, rounded "to odd" at 64 bits
/// (toward zero, the last bit set when inexact), which rounds once more without error.
pub(crate) fn rounded(control: u16, operation: impl Fn(Round) -> StatusAnd<Ext>) -> StatusAnd<Ext> {
    let round = rounding(control);
    if (control >> 8) & 3 == 3 {
        return operation(round);
    }
    let truncated = operation(Round::TowardZero);
    let v = truncated.value;
    if truncated.status.contains(Status::OVERFLOW) || !v.is_finite_non_zero() {
        return operation(round);
    }
    if truncated.status.contains(Status::INEXACT) {
        let odd = ext(v.to_bits() | 1);
        // Underflow is judged again after the final rounding.
        return (truncated.status - Status::UNDERFLOW).and(odd);
    }
    truncated
}

/// The NaN an operation on `x` and `y` gives when either is one: the 387's rule (a signalling
/// NaN made quiet; of two, the one with the larger significand).
pub(crate) fn propagate(x: Ext, y: Ext) -> Option<Ext> {
    let quiet = |v: Ext| ext(v.to_bits() | (1 << 62));
    let significand = |v: Ext| v.to_bits() & ((1 << 63) - 1);
    match (x.is_nan(), y.is_nan()) {
        (true, true) if significand(y) > significand(x) => Some(quiet(y)),
        (true, _) => Some(quiet(x)),
        (false, true) => Some(quiet(y)),
        _ => None,
    }
}

/// A single-precision pattern as an x87 value (exact).
pub(crate) fn from_single(bits: u32) -> StatusAnd<Ext> {
    let quiet = Single::from_bits(u128::from(bits));
    let status = if quiet.is_signaling() {
        Status::INVALID_OP
    } else {
        Status::OK
    };
    let wide: StatusAnd<Ext> = quiet.convert(&mut false);
    (status | wide.status).and(wide.value)
}

/// A double-precision pattern as an x87 value (exact).
pub(crate) fn from_double(bits: u64) -> StatusAnd<Ext> {
    let quiet = Double::from_bits(u128::from(bits));
    let status = if quiet.is_signaling() {
        Status::INVALID_OP
    } else {
        Status::OK
    };
    let wide: StatusAnd<Ext> = quiet.convert(&mut false);
    (status | wide.status).and(wide.value)
}

/// `value` as a single-precision pattern, rounded as `round` says.
pub(crate) fn to_single(value: Ext, round: Round) -> StatusAnd<u32> {
    let narrow: StatusAnd<Single> = value.convert_r(round, &mut false);
    narrow.map(|v| v.to_bits() as u32)
}

/// `value` as a double-precision pattern, rounded as `round` says.
pub(crate) fn to_double(value: Ext, round: Round) -> StatusAnd<u64> {
    let narrow: StatusAnd<Double> = value.convert_r(round, &mut false);
    narrow.map(|v| v.to_bits() as u64)
}

/// `value` as a `bits`-wide integer, rounded as `round` says; the integer indefinite (the
/// most negative one) and an invalid operation when it does not fit or is a NaN.
pub(crate) fn to_integer(value: Ext, bits: usize, round: Round) -> StatusAnd<i128> {
    let indefinite = -(1i128 << (bits - 1));
    if value.is_nan() || value.is_infinite() {
        return Status::INVALID_OP.and(indefinite);
    }
    let result = value.to_i128_r(bits, round, &mut false);
    if result.status.contains(Status::INVALID_OP) {
        return Status::INVALID_OP.and(indefinite);
    }
    result
}

/// An integer as an x87 value (exact).
pub(crate) fn from_integer(value: i128) -> Ext {
    Ext::from_i128(value).value
}

/// 18 packed BCD digits and a sign byte (FBLD's operand) as a value.
pub(crate) fn from_bcd(bytes: &[u8; 10]) -> Ext {
    let mut n: i128 = 0;
    for &b in bytes[..9].iter().rev() {
        n = n * 100 + i128::from(b >> 4) * 10 + i128::from(b & 0xF);
    }
    let v = from_integer(n);
    if bytes[9] & 0x80 != 0 {
        -v
    } else {
        v
    }
}

/// A value as 18 packed BCD digits and a sign byte (FBSTP), rounded as `round` says; the BCD
/// indefinite and an invalid operation beyond 18 digits.
pub(crate) fn to_bcd(value: Ext, round: Round) -> StatusAnd<[u8; 10]> {
    const INDEFINITE_BCD: [u8; 10] = [0, 0, 0, 0, 0, 0, 0, 0xC0, 0xFF, 0xFF];
    let n = to_integer(value, 64, round);
    let magnitude = n.value.unsigned_abs();
    if n.status.contains(Status::INVALID_OP) || magnitude >= 1_000_000_000_000_000_000 {
        return Status::INVALID_OP.and(INDEFINITE_BCD);
    }
    let mut bytes = [0u8; 10];
    let mut rest = magnitude;
    for b in bytes.iter_mut().take(9) {
        let (low, high) = ((rest % 10) as u8, ((rest / 10) % 10) as u8);
        *b = (high << 4) | low;
        rest /= 100;
    }
    if value.is_negative() {
        bytes[9] = 0x80;
    }
    n.status.and(bytes)
}

/// The constants FLD1, FLDL2T, FLDL2E, FLDPI, FLDLG2, FLDLN2, FLDZ load (D9 E8-EE), as the
/// 387 holds them (rounded to nearest).
pub(crate) fn constant(index: u8) -> Ext {
    let bits: u128 = match index {
        0 => 0x3FFF_8000_0000_0000_0000,
        1 => 0x4000_D49A_784B_CD1B_8AFE,
        2 => 0x3FFF_B8AA_3B29_5C17_F0BC,
        3 => 0x4000_C90F_DAA2_2168_C235,
        4 => 0x3FFD_9A20_9A84_FBCF_F799,
        5 => 0x3FFE_B172_17F7_D1CF_79AC,
        _ => 0,
    };
    ext(bits)
}

/// The FXAM class in C3, C2, C0 (bits 14, 10, 8) for a register's value.
pub(crate) fn class(value: Ext) -> u16 {
    match value.category() {
        Category::NaN => 0x0100,
        Category::Infinity => 0x0500,
        Category::Zero => 0x4000,
        Category::Normal if value.is_denormal() => 0x4400,
        Category::Normal => 0x0400,
    }
}

/// FSCALE: `x` times 2 to the power of `y` truncated, with the overflow and underflow a
/// multiplication would have.
pub(crate) fn scale(x: Ext, y: Ext, round: Round) -> StatusAnd<Ext> {
    if let Some(nan) = propagate(x, y) {
        return Status::OK.and(nan);
    }
    if y.is_infinite() || x.is_zero() || x.is_infinite() {
        let invalid =
            (y.is_pos_infinity() && x.is_zero()) || (y.is_neg_infinity() && x.is_infinite());
        if invalid {
            return Status::INVALID_OP.and(ext(INDEFINITE));
        }
        let v = match (y.is_pos_infinity(), y.is_neg_infinity()) {
            (true, _) if !x.is_zero() => Ext::INFINITY.copy_sign(x),
            (_, true) if !x.is_infinite() => Ext::ZERO.copy_sign(x),
            _ => x,
        };
        return Status::OK.and(v);
    }
    let n = if y.ilogb() >= 62 {
        if y.is_negative() {
            -100_000
        } else {
            100_000
        }
    } else {
        to_integer(y, 64, Round::TowardZero)
            .value
            .clamp(-100_000, 100_000) as i32
    };
    let target = x.ilogb() + n;
    if target > 16_384 {
        let overflow = Ext::largest().copy_sign(x).mul_r(from_integer(4), round);
        return (overflow.status | Status::OVERFLOW | Status::INEXACT).and(overflow.value);
    }
    if target < -16_447 {
        return Ext::SMALLEST
            .copy_sign(x)
            .mul_r(ext(0x3FFD_8000_0000_0000_0000), round);
    }
    let result = x.scalbn_r(n, round);
    let exact = result.scalbn(-n).bitwise_eq(x);
    let status = match (exact, result.is_denormal() || result.is_zero()) {
        (true, _) => Status::OK,
        (false, true) => Status::UNDERFLOW | Status::INEXACT,
        (false, false) => Status::INEXACT,
    };
    status.and(result)
}

/// `x` modulo 2*pi, near zero, for FSIN, FCOS, FSINCOS and FPTAN: against a 128-bit 2*pi in
/// two parts, so that a large argument keeps its low bits (a double would lose them).
pub(crate) fn reduce(x: Ext) -> Ext {
    let high = from_integer(0xC90F_DAA2_2168_C234).scalbn(-61);
    let low = from_integer(0xC4C6_628B_80DC_1CD1).scalbn(-125);
    let k = (x / high)
        .value
        .round_to_integral(Round::NearestTiesToEven)
        .value;
    if k.is_zero() {
        return x;
    }
    let partial = (-k).mul_add(high, x).value;
    (-k).mul_add(low, partial).value
}

/// `value` as the host's f64 (for the transcendental functions).
pub(crate) fn to_f64(value: Ext) -> f64 {
    f64::from_bits(to_double(value, Round::NearestTiesToEven).value)
}

/// The host's f64 as an x87 value.
pub(crate) fn from_f64(value: f64) -> Ext {
    from_double(value.to_bits()).value
}

/// The square root of `value`, correctly rounded as `round` says: the 64-bit integer square
/// root of the significand (scaled to an even exponent) and the remainder decide the last bit.
pub(crate) fn sqrt(value: Ext, round: Round) -> StatusAnd<Ext> {
    if value.is_nan() || value.is_zero() || value.is_pos_infinity() {
        return Status::OK.and(value);
    }
    if value.is_negative() {
        return Status::INVALID_OP.and(ext(INDEFINITE));
    }
    let mut exponent = 0;
    // value = m * 2^e, m a 64-bit integer with its top bit set.
    let fraction = value.frexp(&mut exponent);
    let m = fraction.scalbn(64).to_u128(64).value;
    let e = exponent - 64;
    // n * 2^(e - shift) with an even exponent and n of 127 or 128 bits: a 64-bit root.
    let shift = if e % 2 == 0 { 64 } else { 63 };
    let n = m << shift;
    let root = n.isqrt();
    let rest = n - root * root;
    let up = match round {
        Round::NearestTiesToEven | Round::NearestTiesToAway => rest > root,
        Round::TowardPositive => rest != 0,
        Round::TowardNegative | Round::TowardZero => false,
    };
    let status = if rest != 0 {
        Status::INEXACT
    } else {
        Status::OK
    };
    let significand = Ext::from_u128(root + u128::from(up)).value;
    status.and(significand.scalbn_r((e - shift) / 2, round))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_bcd_round_trips_and_refuses_nineteen_digits() {
        let v = from_integer(-123_456_789_012_345_678);
        let bcd = to_bcd(v, Round::NearestTiesToEven);
        assert_eq!(bcd.value[0], 0x78);
        assert_eq!(bcd.value[9], 0x80);
        assert_eq!(from_bcd(&bcd.value).to_bits(), v.to_bits());
        let big = from_integer(1_000_000_000_000_000_000);
        assert!(to_bcd(big, Round::NearestTiesToEven)
            .status
            .contains(Status::INVALID_OP));
    }

    #[test]
    fn test_sqrt_is_exact_where_it_can_be_and_rounds_otherwise() {
        let r = sqrt(from_integer(144), Round::NearestTiesToEven);
        assert_eq!(
            (r.value.to_bits(), r.status),
            (from_integer(12).to_bits(), Status::OK)
        );
        let two = sqrt(from_integer(2), Round::NearestTiesToEven).value;
        assert_eq!(two.to_bits(), 0x3FFF_B504_F333_F9DE_6484);
        assert!(sqrt(-from_integer(1), Round::NearestTiesToEven)
            .value
            .is_nan());
    }

    #[test]
    fn test_integer_stores_give_the_indefinite_when_out_of_range() {
        let big = from_integer(40_000);
        let r = to_integer(big, 16, Round::NearestTiesToEven);
        assert_eq!((r.value, r.status), (-32768, Status::INVALID_OP));
        let half = ext(0x3FFE_8000_0000_0000_0000); // 0.5
        assert_eq!(to_integer(half, 32, Round::NearestTiesToEven).value, 0);
        assert_eq!(to_integer(half, 32, Round::TowardPositive).value, 1);
    }
}
