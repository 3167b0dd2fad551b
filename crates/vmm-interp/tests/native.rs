//! The interpreter's integer instructions against the host CPU's: one random instruction on
//! registers (ALU, shifts and rotates, double shifts, MUL/IMUL/DIV/IDIV, the bit
//! instructions, BSF/BSR, MOVZX/MOVSX, SETcc, CMOVcc, XADD, CMPXCHG, BSWAP, LEA with 32-bit
//! addresses, LAHF/SAHF...) from random registers and flags, run by the host in 64-bit mode
//! (the same bytes: a 16-bit operand has its 66h prefix there) and by the interpreter in real
//! mode and in flat 32-bit protected mode, instruction by instruction and through the block
//! cache. The seven registers (ESP aside) must agree, and so must every flag the instruction
//! defines (the flags Intel leaves undefined differ between CPU generations and are left out).
#![cfg(all(target_arch = "x86_64", target_os = "linux"))]

mod common;
#[path = "common/flat.rs"]
mod flat;

use common::Random;
use vmm_interp::{Blocks, Cpu, Exit, Flags, FlatMemory, Model};

const CF: u32 = Flags::CF;
const PF: u32 = Flags::PF;
const AF: u32 = Flags::AF;
const ZF: u32 = Flags::ZF;
const SF: u32 = Flags::SF;
const OF: u32 = Flags::OF;
const ARITH: u32 = Flags::ARITH;
/// The general registers the cases use (ESP is the host's stack pointer).
const GENERAL: [u8; 7] = [0, 1, 2, 3, 5, 6, 7];
const CODE: u32 = 0x1000;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Size {
    Byte,
    Word,
    Dword,
}

impl Size {
    fn bits(self) -> u32 {
        match self {
            Size::Byte => 8,
            Size::Word => 16,
            Size::Dword => 32,
        }
    }

    /// The opcode's low bit: 0 for a byte operand.
    fn w(self) -> u8 {
        u8::from(self != Size::Byte)
    }
}

/// One instruction: its bytes without the operand-size prefix, its operand size, whether it
/// addresses with 32 bits (LEA), and the flags it defines.
#[derive(Debug)]
struct Case {
    bytes: Vec<u8>,
    size: Size,
    addr32: bool,
    defined: u32,
}

impl Case {
    fn new(bytes: Vec<u8>, size: Size, defined: u32) -> Case {
        Case {
            bytes,
            size,
            addr32: false,
            defined,
        }
    }

    /// The bytes where the default operand size is 32-bit (the host's 64-bit mode, flat
    /// protected mode) or 16-bit (real mode), and the default address size is 32-bit (flat
    /// protected mode) or not (real mode: 16; the host: 64).
    fn encoded(&self, operand32: bool, address32: bool) -> Vec<u8> {
        let mut out = Vec::new();
        if self.size != Size::Byte && (self.size == Size::Word) == operand32 {
            out.push(0x66);
        }
        if self.addr32 && !address32 {
            out.push(0x67);
        }
        out.extend(&self.bytes);
        out
    }
}

/// Registers before and after (EAX..EDI, ESP unused) and the flags, as the host code reads
/// and writes them.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct State {
    regs: [u32; 8],
    flags: u64,
}

impl State {
    fn random(r: &mut Random) -> State {
        let mut state = State::default();
        for reg in GENERAL {
            state.regs[usize::from(reg)] = interesting(r);
        }
        state.flags = 0x202 | (r.next() as u32 & ARITH) as u64;
        state
    }

    /// The value of register `reg` of `size` (AH..BH for bytes 4-7).
    fn value(&self, reg: u8, size: Size) -> u32 {
        let reg = usize::from(reg);
        match size {
            Size::Byte if reg >= 4 => (self.regs[reg - 4] >> 8) & 0xFF,
            Size::Byte => self.regs[reg] & 0xFF,
            Size::Word => self.regs[reg] & 0xFFFF,
            Size::Dword => self.regs[reg],
        }
    }
}

/// A register value: random, or one of the edges that flags and overflows turn on.
fn interesting(r: &mut Random) -> u32 {
    const EDGES: [u32; 12] = [
        0,
        1,
        0x7F,
        0x80,
        0xFF,
        0x7FFF,
        0x8000,
        0xFFFF,
        0x7FFF_FFFF,
        0x8000_0000,
        0xFFFF_FFFF,
        0x0001_0000,
    ];
    match r.below(4) {
        0 => EDGES[usize::from(r.below(EDGES.len() as u64))],
        1 => r.next() as u32 & 0xFF,
        _ => r.next() as u32,
    }
}

impl Random {
    /// A number below `n`.
    fn below(&mut self, n: u64) -> u8 {
        (self.next() % n) as u8
    }

    fn size(&mut self) -> Size {
        [Size::Byte, Size::Word, Size::Dword][usize::from(self.below(3))]
    }

    fn wide(&mut self) -> Size {
        [Size::Word, Size::Dword][usize::from(self.below(2))]
    }

    /// A register operand of `size`: any for bytes, not ESP for words and dwords.
    fn reg(&mut self, size: Size) -> u8 {
        match size {
            Size::Byte => self.below(8),
            _ => GENERAL[usize::from(self.below(7))],
        }
    }

    /// ModRM for two registers of `size`.
    fn modrm(&mut self, size: Size) -> u8 {
        0xC0 | self.reg(size) << 3 | self.reg(size)
    }

    /// An immediate of `size`.
    fn imm(&mut self, size: Size, out: &mut Vec<u8>) {
        let v = interesting(self).to_le_bytes();
        out.extend(&v[..size.bits() as usize / 8]);
    }
}

/// A random case; it may set CL (a shift count) in `state`.
fn case(r: &mut Random, state: &mut State) -> Case {
    match r.below(12) {
        0..=2 => alu(r),
        3 => unary(r, state),
        4 | 5 => shift(r, state),
        6 => double_shift(r, state),
        7 => bits(r),
        8 => moves(r),
        9 => multiply(r),
        10 => conditions(r),
        _ => lea(r),
    }
}

/// ADD, OR, ADC, SBB, AND, SUB, XOR, CMP in their four forms; INC, DEC, XADD, CMPXCHG.
fn alu(r: &mut Random) -> Case {
    let (size, op) = (r.size(), r.below(8));
    let logic = matches!(op, 1 | 4 | 6);
    let defined = if logic { ARITH & !AF } else { ARITH };
    let mut bytes = match r.below(7) {
        0 => vec![op << 3 | size.w(), r.modrm(size)],
        1 => vec![op << 3 | 2 | size.w(), r.modrm(size)],
        2 => vec![op << 3 | 4 | size.w()],
        3 if size == Size::Byte => vec![0x80, 0xC0 | op << 3 | r.reg(size)],
        3 if r.below(2) == 0 => vec![0x83, 0xC0 | op << 3 | r.reg(size), r.below(255)],
        3 => vec![0x81, 0xC0 | op << 3 | r.reg(size)],
        4 => {
            let inc = 0xC0 | r.below(2) << 3 | r.reg(size);
            return Case::new(vec![0xFE | size.w(), inc], size, ARITH);
        }
        5 => return Case::new(vec![0x0F, 0xC0 | size.w(), r.modrm(size)], size, ARITH),
        _ => return Case::new(vec![0x0F, 0xB0 | size.w(), r.modrm(size)], size, ARITH),
    };
    if bytes.len() == 1 || (bytes.len() == 2 && bytes[0] & 0xFC == 0x80) {
        let imm_size = if bytes[0] == 0x83 { Size::Byte } else { size };
        r.imm(imm_size, &mut bytes);
    }
    Case::new(bytes, size, defined)
}

/// F6/F7: TEST imm, NOT, NEG, MUL, IMUL, and DIV and IDIV where they do not fault.
fn unary(r: &mut Random, state: &State) -> Case {
    let (size, rm) = (r.size(), r.below(8));
    let rm = if size == Size::Byte { rm } else { r.reg(size) };
    let sub = [0, 2, 3, 4, 5, 6, 7][usize::from(r.below(7))];
    if sub >= 6 && !divides(state, state.value(rm, size), size, sub == 7) {
        return Case::new(vec![0xF6 | size.w(), 0xD8 | rm], size, ARITH);
    }
    let mut bytes = vec![0xF6 | size.w(), 0xC0 | sub << 3 | rm];
    let defined = match sub {
        0 => {
            r.imm(size, &mut bytes);
            ARITH & !AF
        }
        2 | 3 => ARITH,
        4 | 5 => CF | OF,
        _ => 0,
    };
    Case::new(bytes, size, defined)
}

/// Whether DIV (or IDIV) of the accumulator by `divisor` leaves a quotient that fits.
fn divides(state: &State, divisor: u32, size: Size, signed: bool) -> bool {
    let bits = size.bits();
    let (a, d) = (state.regs[0], state.regs[2]);
    let dividend: u64 = match size {
        Size::Byte => u64::from(a & 0xFFFF),
        Size::Word => u64::from((d & 0xFFFF) << 16 | (a & 0xFFFF)),
        Size::Dword => u64::from(d) << 32 | u64::from(a),
    };
    if divisor == 0 {
        return false;
    }
    if !signed {
        return dividend / u64::from(divisor) < 1 << bits;
    }
    let shift = 64 - 2 * bits;
    let dividend = ((dividend << shift) as i64 >> shift) as i128;
    let divisor = i128::from((u64::from(divisor) << (64 - bits)) as i64 >> (64 - bits));
    let quotient = dividend / divisor;
    let half = 1i128 << (bits - 1);
    (-half..half).contains(&quotient)
}

/// ROL, ROR, RCL, RCR, SHL, SHR, SAR by 1, by an immediate and by CL.
fn shift(r: &mut Random, state: &mut State) -> Case {
    let (size, sub) = (r.size(), [0, 1, 2, 3, 4, 5, 7][usize::from(r.below(7))]);
    let modrm = 0xC0 | sub << 3 | r.reg(size);
    let count = if r.below(4) == 0 {
        r.below(256)
    } else {
        r.below(40)
    };
    let (bytes, count) = match r.below(3) {
        0 => (vec![0xD0 | size.w(), modrm], 1),
        1 => (vec![0xC0 | size.w(), modrm, count], count),
        _ => {
            state.regs[1] = (state.regs[1] & !0xFF) | u32::from(count);
            (vec![0xD2 | size.w(), modrm], count)
        }
    };
    let count = u32::from(count) & 31;
    let defined = match (count, sub) {
        (0, _) => ARITH,
        (_, 0..=3) => CF | if count == 1 { OF } else { 0 },
        (_, _) => {
            let cf = if sub != 7 && count >= size.bits() {
                0
            } else {
                CF
            };
            cf | PF | ZF | SF | if count == 1 { OF } else { 0 }
        }
    };
    Case::new(bytes, size, defined)
}

/// SHLD and SHRD by an immediate and by CL (16-bit counts up to 16: beyond, undefined).
fn double_shift(r: &mut Random, state: &mut State) -> Case {
    let size = r.wide();
    let limit = if size == Size::Word { 17 } else { 32 };
    let count = r.below(limit) | r.below(8) << 5;
    let op = 0xA4 | r.below(2) << 3 | r.below(2);
    let mut bytes = vec![0x0F, op, r.modrm(size)];
    if op & 1 == 0 {
        bytes.push(count);
    } else {
        state.regs[1] = (state.regs[1] & !0xFF) | u32::from(count);
    }
    let count = count & 31;
    let defined = match count {
        0 => ARITH,
        1 => CF | PF | ZF | SF | OF,
        _ => CF | PF | ZF | SF,
    };
    Case::new(bytes, size, defined)
}

/// BT, BTS, BTR, BTC by a register and by an immediate; BSF and BSR.
fn bits(r: &mut Random) -> Case {
    let size = r.wide();
    match r.below(3) {
        0 => {
            let op = 0xA3 | r.below(4) << 3;
            Case::new(vec![0x0F, op, r.modrm(size)], size, CF)
        }
        1 => {
            let modrm = 0xC0 | (4 + r.below(4)) << 3 | r.reg(size);
            Case::new(vec![0x0F, 0xBA, modrm, r.below(255)], size, CF)
        }
        _ => Case::new(vec![0x0F, 0xBC | r.below(2), r.modrm(size)], size, ZF),
    }
}

/// MOV, XCHG, MOVZX, MOVSX, CBW/CWDE, CWD/CDQ, BSWAP: no flag changes.
fn moves(r: &mut Random) -> Case {
    let size = r.size();
    let wide = r.wide();
    let mut bytes = match r.below(9) {
        0 => vec![0x88 | r.below(4) & 2 | size.w(), r.modrm(size)],
        1 => vec![0x86 | size.w(), r.modrm(size)],
        2 => vec![0xB0 | size.w() << 3 | r.reg(size)],
        3 => vec![0xC6 | size.w(), 0xC0 | r.reg(size)],
        4 => {
            let op = 0xB6 | r.below(2) << 3;
            let from = 0xC0 | r.reg(wide) << 3 | r.reg(Size::Byte);
            return Case::new(vec![0x0F, op, from], wide, ARITH);
        }
        5 => {
            let op = 0xB7 | r.below(2) << 3;
            return Case::new(vec![0x0F, op, r.modrm(wide)], wide, ARITH);
        }
        6 => return Case::new(vec![0x98 | r.below(2)], wide, ARITH),
        7 => return Case::new(vec![0x90 | r.reg(wide)], wide, ARITH),
        _ => return Case::new(vec![0x0F, 0xC8 | r.reg(Size::Dword)], Size::Dword, ARITH),
    };
    if bytes[0] & 0xF0 == 0xB0 || bytes[0] & 0xFE == 0xC6 {
        r.imm(size, &mut bytes);
    }
    Case::new(bytes, size, ARITH)
}

/// IMUL's two- and three-operand forms.
fn multiply(r: &mut Random) -> Case {
    let size = r.wide();
    let modrm = r.modrm(size);
    let bytes = match r.below(3) {
        0 => vec![0x0F, 0xAF, modrm],
        1 => vec![0x6B, modrm, r.below(255)],
        _ => {
            let mut bytes = vec![0x69, modrm];
            r.imm(size, &mut bytes);
            bytes
        }
    };
    Case::new(bytes, size, CF | OF)
}

/// SETcc, CMOVcc, CLC, STC, CMC, LAHF, SAHF.
fn conditions(r: &mut Random) -> Case {
    let cc = r.below(16);
    match r.below(4) {
        0 => {
            let rm = 0xC0 | r.reg(Size::Byte);
            Case::new(vec![0x0F, 0x90 | cc, rm], Size::Byte, ARITH)
        }
        1 => {
            let size = r.wide();
            Case::new(vec![0x0F, 0x40 | cc, r.modrm(size)], size, ARITH)
        }
        _ => {
            let op = [0xF5, 0xF8, 0xF9, 0x9E, 0x9F][usize::from(r.below(5))];
            Case::new(vec![op], Size::Byte, ARITH)
        }
    }
}

/// LEA with a 32-bit address: base, index and scale (SIB), displacements.
fn lea(r: &mut Random) -> Case {
    let size = r.wide();
    let mode = r.below(3);
    let mut rm = r.below(8);
    if mode == 0 && rm == 5 {
        rm = 3;
    }
    let mut bytes = vec![0x8D, mode << 6 | r.reg(size) << 3 | rm];
    let mut disp32 = mode == 2;
    if rm == 4 {
        let base = [0, 1, 2, 3, 5, 6, 7][usize::from(r.below(7))];
        bytes.push(r.below(4) << 6 | r.below(8) << 3 | base);
        disp32 |= mode == 0 && base == 5;
    }
    if mode == 1 {
        bytes.push(r.below(255));
    }
    if disp32 {
        r.imm(Size::Dword, &mut bytes);
    }
    Case {
        bytes,
        size,
        addr32: true,
        defined: ARITH,
    }
}

/// The host: the instruction between code that loads the registers and flags from a `State`
/// and stores them back, in a page of its own.
struct Host {
    page: *mut u8,
}

const PAGE: usize = 4096;

impl Host {
    fn new() -> Host {
        // SAFETY: an anonymous private mapping at an address the kernel chooses; nothing
        // else refers to it.
        let page = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                PAGE,
                libc::PROT_READ | libc::PROT_WRITE | libc::PROT_EXEC,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert_ne!(page, libc::MAP_FAILED, "mmap of an executable page");
        Host { page: page.cast() }
    }

    fn run(&self, case: &Case, before: &State) -> State {
        let mut code = vec![0x53, 0x55, 0x49, 0x89, 0xFB]; // push rbx; push rbp; mov r11, rdi
        for reg in GENERAL {
            code.extend([0x41, 0x8B, 0x43 | reg << 3, reg * 4]); // mov reg, [r11 + reg*4]
        }
        code.extend([0x41, 0xFF, 0x73, 32, 0x9D]); // push qword [r11 + 32]; popfq
        code.extend(case.encoded(true, false));
        code.extend([0x9C, 0x41, 0x8F, 0x43, 32]); // pushfq; pop qword [r11 + 32]
        for reg in GENERAL {
            code.extend([0x41, 0x89, 0x43 | reg << 3, reg * 4]); // mov [r11 + reg*4], reg
        }
        code.extend([0xFC, 0x5D, 0x5B, 0xC3]); // cld; pop rbp; pop rbx; ret
        assert!(code.len() <= PAGE);
        // SAFETY: the page is this Host's own, PAGE bytes long, and nothing runs it meanwhile.
        unsafe { std::ptr::copy_nonoverlapping(code.as_ptr(), self.page, code.len()) };
        // SAFETY: the page now holds a complete function of this signature: it saves and
        // restores the callee-saved registers it uses (RBX, RBP), touches no memory but the
        // State it is given and its own stack, and leaves DF clear. The instruction in it
        // operates on registers only (LEA computes an address and does not use it), and
        // DIV/IDIV are generated only where they cannot fault.
        let function: extern "sysv64" fn(*mut State) = unsafe { std::mem::transmute(self.page) };
        let mut state = *before;
        function(&mut state);
        state
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        // SAFETY: the page was mapped by `new` with this length and is not used after this.
        unsafe { libc::munmap(self.page.cast(), PAGE) };
    }
}

/// The interpreter with its memory and block caches, one per mode.
struct Interpreter {
    memory: FlatMemory,
    blocks: [Blocks; 2],
}

impl Interpreter {
    fn run(&mut self, case: &Case, before: &State, protected: bool, blocks: bool) -> State {
        let mut code = case.encoded(protected, protected);
        code.push(0xF4);
        self.memory.load(CODE, &code);
        let mut cpu = Cpu::new(Model::I386);
        cpu.set_real_mode_entry(0, CODE as u16);
        if protected {
            flat::protected(&mut cpu, &mut self.memory);
        }
        cpu.regs = before.regs;
        cpu.regs[4] = 0x8000;
        cpu.flags = 2 | (before.flags as u32 & ARITH);
        let ran = if blocks {
            self.blocks[usize::from(protected)].run(&mut cpu, &mut self.memory)
        } else {
            0
        };
        if ran == 0 {
            assert_eq!(cpu.step(&mut self.memory), Exit::Continue, "{case:02x?}");
        }
        assert_eq!(cpu.executed, 1, "{case:02x?}");
        assert_eq!(cpu.ip, CODE + code.len() as u32 - 1, "{case:02x?}");
        let mut after = State {
            regs: cpu.regs,
            flags: u64::from(cpu.flags),
        };
        after.regs[4] = 0;
        after
    }
}

fn compare(seed: u64, host: &Host, interpreter: &mut Interpreter) {
    let mut r = Random(seed);
    let mut before = State::random(&mut r);
    let case = case(&mut r, &mut before);
    let mut expected = host.run(&case, &before);
    expected.regs[4] = 0;
    for (protected, blocks) in [(false, false), (false, true), (true, false), (true, true)] {
        let got = interpreter.run(&case, &before, protected, blocks);
        let what = format!(
            "seed {seed:#x}, {case:02x?}, protected {protected}, blocks {blocks}, before {before:08x?}"
        );
        assert_eq!(got.regs, expected.regs, "{what}");
        let flags = |s: &State| s.flags as u32 & case.defined;
        assert_eq!(
            flags(&got),
            flags(&expected),
            "flags {:#x}: {what}",
            case.defined
        );
    }
}

#[test]
fn test_random_register_instructions_agree_with_the_host_cpu() {
    let host = Host::new();
    let mut interpreter = Interpreter {
        memory: FlatMemory::new(1 << 20),
        blocks: [Blocks::new(), Blocks::new()],
    };
    for seed in 1..=40_000u64 {
        compare(
            seed.wrapping_mul(0x9E37_79B9_7F4A_7C15),
            &host,
            &mut interpreter,
        );
    }
}
