//! The interpreter's x87 against the host's: the same instruction bytes run on both with the
//! same random operands (normal, tiny, huge, zero, infinite and NaN values, both signs), and
//! the result's 80 bits and the status word must agree. C1 is left out of the comparison (the
//! 387 sets it when a result was rounded up; this x87 does not say), and so are the inexact
//! flag and the last bits of the transcendental functions (FSIN, FPATAN), which go through
//! double precision: those must be within 2^-40.
#![cfg(target_arch = "x86_64")]

mod common;

use common::Random;
use std::arch::asm;
use vmm_interp::{Bus, Cpu, Exit, FlatMemory, Model};

const A: u32 = 0x1000;
const B: u32 = 0x1010;
const OUT: u32 = 0x1020;
const STATUS: u32 = 0x1030;
const CONTROL: u32 = 0x1040;
/// C1 and the busy bit.
const IGNORED: u16 = (1 << 9) | (1 << 15);

/// Runs `fninit; fldcw; fld B; fld A; OP; fstp OUT; fnstsw STATUS` on the interpreter.
fn interpreted(op: [u8; 2], a: u128, b: u128, control: u16) -> (u128, u16) {
    let mut memory = FlatMemory::new(1 << 20);
    memory.load(A, &a.to_le_bytes()[..10]);
    memory.load(B, &b.to_le_bytes()[..10]);
    memory.write16(CONTROL, control);
    let code = [
        0xDB, 0xE3, // fninit
        0xD9, 0x2E, 0x40, 0x10, // fldcw [0x1040]
        0xDB, 0x2E, 0x10, 0x10, // fld tword [0x1010]
        0xDB, 0x2E, 0x00, 0x10, // fld tword [0x1000]
        op[0], op[1], 0xDB, 0x3E, 0x20, 0x10, // fstp tword [0x1020]
        0xDD, 0x3E, 0x30, 0x10, // fnstsw [0x1030]
        0xF4,
    ];
    memory.load(0x7C00, &code);
    let mut cpu = Cpu::new(Model::I386);
    cpu.set_real_mode_entry(0, 0x7C00);
    for _ in 0..16 {
        if cpu.step(&mut memory) == Exit::Halt {
            break;
        }
    }
    let mut bytes = [0u8; 16];
    for (i, byte) in bytes.iter_mut().take(10).enumerate() {
        *byte = memory.read8(OUT + i as u32);
    }
    (u128::from_le_bytes(bytes), memory.read16(STATUS))
}

macro_rules! host {
    ($name:ident, $b0:literal, $b1:literal) => {
        fn $name(a: u128, b: u128, control: u16) -> (u128, u16) {
            let (a, b) = (a.to_le_bytes(), b.to_le_bytes());
            let mut out = [0u8; 16];
            let mut status: u16 = 0;
            // SAFETY: the asm reads the two 10-byte operands and the control word and writes
            // the 10-byte result and the status word, all locals that outlive it; it leaves
            // the x87 as FNINIT does (empty, default control word), as the ABI expects.
            unsafe {
                asm!(
                    "fninit",
                    "fldcw word ptr [{control}]",
                    "fld tbyte ptr [{b}]",
                    "fld tbyte ptr [{a}]",
                    concat!(".byte ", $b0, ", ", $b1),
                    "fstp tbyte ptr [{out}]",
                    "fnstsw word ptr [{status}]",
                    "fninit",
                    control = in(reg) &control,
                    a = in(reg) a.as_ptr(),
                    b = in(reg) b.as_ptr(),
                    out = in(reg) out.as_mut_ptr(),
                    status = in(reg) &mut status,
                    options(nostack),
                );
            }
            (u128::from_le_bytes(out), status)
        }
    };
}

host!(fadd, "0xD8", "0xC1");
host!(fsub, "0xD8", "0xE1");
host!(fsubr, "0xD8", "0xE9");
host!(fmul, "0xD8", "0xC9");
host!(fdiv, "0xD8", "0xF1");
host!(fdivr, "0xD8", "0xF9");
host!(fsubp, "0xDE", "0xE9");
host!(fdivp, "0xDE", "0xF9");
host!(fsqrt, "0xD9", "0xFA");
host!(fprem, "0xD9", "0xF8");
host!(fprem1, "0xD9", "0xF5");
host!(frndint, "0xD9", "0xFC");
host!(fscale, "0xD9", "0xFD");
host!(fxtract, "0xD9", "0xF4");
host!(fcom, "0xD8", "0xD1");
host!(fucom, "0xDD", "0xE1");
host!(fxam, "0xD9", "0xE5");
host!(fchs, "0xD9", "0xE0");
host!(fsin, "0xD9", "0xFE");
host!(fpatan, "0xD9", "0xF3");

impl Random {
    /// An 80-bit value: mostly normal numbers near 1, some anywhere, and the special ones.
    fn value(&mut self) -> u128 {
        let sign = u128::from(self.next() & 1) << 79;
        let significand = u128::from(self.next() | (1 << 63));
        let exponent: u128 = match self.next() % 16 {
            0 => 0,      // zero or denormal
            1 => 0x7FFF, // infinity or NaN
            2..=4 => u128::from(self.next() % 0x7FFE) + 1,
            _ => 0x3FFF - 40 + u128::from(self.next() % 80),
        };
        let significand = match (exponent, self.next() % 3) {
            (0, 0) => 0,
            (0, _) => significand >> 1,
            (0x7FFF, 0) => 1 << 63,
            (0x7FFF, _) => significand | (1 << 62),
            _ => significand,
        };
        sign | (exponent << 64) | significand
    }
}

/// Compares `count` random cases of one instruction; `loose` for the functions computed in
/// double precision: results within 2^-40 relative, and the inexact flag ignored.
fn check(
    name: &str,
    op: [u8; 2],
    host: fn(u128, u128, u16) -> (u128, u16),
    count: usize,
    loose: bool,
) {
    let mut random = Random(0x9E37_79B9_7F4A_7C15 ^ u64::from(op[1]));
    let controls = [0x037F, 0x077F, 0x0B7F, 0x0F7F, 0x027F];
    for case in 0..count {
        let (mut a, b) = (random.value(), random.value());
        if loose && (a >> 64) & 0x7FFF > 0x3FFF + 8 && (a >> 64) & 0x7FFF != 0x7FFF {
            // Beyond 2^8 the 387 reduces the argument against its own, shorter pi.
            a = (a & !(0x7FFF << 64)) | ((0x3FFF + (a >> 64) % 8) << 64);
        }
        let control = controls[case % controls.len()];
        let mine = interpreted(op, a, b, control);
        let theirs = host(a, b, control);
        let ignored = IGNORED | if loose { 1 << 5 } else { 0 };
        let same = mine.0 == theirs.0 || (loose && close(mine.0, theirs.0));
        assert!(
            same && mine.1 & !ignored == theirs.1 & !ignored,
            "{name} with A={a:020x} B={b:020x} CW={control:04x}: mine {:020x} sw {:04x}, host {:020x} sw {:04x}",
            mine.0,
            mine.1,
            theirs.0,
            theirs.1
        );
    }
}

/// Two results with the same sign and exponent within 2^-40 of each other (relative): the
/// functions computed in double precision (arguments below 2^8: beyond, the 387 reduces them
/// against its own, shorter pi).
fn close(x: u128, y: u128) -> bool {
    let (ex, ey) = (x >> 64, y >> 64);
    if ex != ey {
        return false;
    }
    let (mx, my) = (x as u64, y as u64);
    mx.abs_diff(my) < 1 << 24
}

#[test]
fn test_arithmetic_matches_the_host() {
    check("fadd", [0xD8, 0xC1], fadd, 3000, false);
    check("fsub", [0xD8, 0xE1], fsub, 3000, false);
    check("fsubr", [0xD8, 0xE9], fsubr, 3000, false);
    check("fmul", [0xD8, 0xC9], fmul, 3000, false);
    check("fdiv", [0xD8, 0xF1], fdiv, 3000, false);
    check("fdivr", [0xD8, 0xF9], fdivr, 3000, false);
    check("fsubp", [0xDE, 0xE9], fsubp, 3000, false);
    check("fdivp", [0xDE, 0xF9], fdivp, 3000, false);
}

#[test]
fn test_exact_functions_match_the_host() {
    check("fsqrt", [0xD9, 0xFA], fsqrt, 3000, false);
    check("frndint", [0xD9, 0xFC], frndint, 3000, false);
    check("fxtract", [0xD9, 0xF4], fxtract, 3000, false);
    check("fchs", [0xD9, 0xE0], fchs, 1000, false);
}

#[test]
fn test_comparisons_and_classes_match_the_host() {
    check("fcom", [0xD8, 0xD1], fcom, 3000, false);
    check("fucom", [0xDD, 0xE1], fucom, 3000, false);
    check("fxam", [0xD9, 0xE5], fxam, 3000, false);
}

#[test]
fn test_remainders_and_scaling_match_the_host() {
    check("fprem", [0xD9, 0xF8], fprem, 3000, false);
    check("fprem1", [0xD9, 0xF5], fprem1, 3000, false);
    check("fscale", [0xD9, 0xFD], fscale, 3000, false);
}

#[test]
fn test_transcendental_functions_are_close_to_the_host() {
    check("fsin", [0xD9, 0xFE], fsin, 2000, true);
    check("fpatan", [0xD9, 0xF3], fpatan, 2000, true);
}
