//! Blocks against the step: random code run once instruction by instruction and once through
//! the block cache (with the step for what blocks do not hold) must leave the same registers,
//! flags, IP and memory after the same number of instructions; and a block whose code changed
//! is never run stale.

mod common;
#[path = "common/flat.rs"]
mod flat;

use common::Random;
use vmm_interp::{Blocks, Bus, Cpu, Exit, FlatMemory, Model};

const CODE: u32 = 0x1000;
const DATA: u32 = 0x8000;

impl Random {
    /// A number below `n`.
    fn below(&mut self, n: u64) -> u8 {
        (self.next() % n) as u8
    }
}

/// One random instruction, mostly of the kinds blocks hold, sometimes one they do not (a
/// memory operand, a segment prefix, PUSH/POP, a flag instruction the step runs).
fn instruction(r: &mut Random, out: &mut Vec<u8>) {
    if r.below(3) == 0 {
        out.push(0x66);
    }
    let modrm_reg = 0xC0 | r.below(64);
    // A register, or memory through BX, SI or DI (or a random form, now and then).
    let modrm_any = match r.below(4) {
        0 | 1 => modrm_reg,
        2 => r.below(8) << 3 | [4, 5, 7][usize::from(r.below(3))],
        _ => r.below(255),
    };
    if r.below(3) == 0 {
        return more_instruction(r, modrm_any, out);
    }
    match r.below(16) {
        0 | 1 => out.extend([r.below(8) << 3 | r.below(4), modrm_reg]),
        2 => out.extend([r.below(8) << 3 | 4 | r.below(2), r.below(255), r.below(255)]),
        3 => out.extend([
            0x80 | [0, 1, 3][usize::from(r.below(3))],
            modrm_reg,
            r.below(255),
            0x12,
        ]),
        4 => out.push(0x40 | r.below(16)),
        5 => out.extend([0x84 | r.below(4), modrm_reg]),
        6 => out.extend([0x88 | r.below(4), modrm_reg]),
        7 => out.extend([0xB0 | r.below(16), r.below(255), r.below(255), 0x34, 0x12]),
        8 => out.push(0x90 | r.below(8)),
        9 => out.push([0xF5, 0xF8, 0xF9, 0xFC, 0xFD][usize::from(r.below(5))]),
        10 => out.extend([0x70 | r.below(16), r.below(12).wrapping_sub(6)]),
        11 => out.extend([0xE0 | r.below(4), r.below(12).wrapping_sub(6)]),
        12 => out.extend([0x0F, 0x80 | r.below(16), r.below(8), 0]),
        13 => out.extend([0xEB, r.below(12).wrapping_sub(4)]),
        // Not for blocks: a memory operand, a segment prefix, PUSH and POP, LAHF.
        14 => out.extend([r.below(4), 0x07 | r.below(8) << 3]),
        _ => out.extend([[0x26, 0x50, 0x58, 0x9F][usize::from(r.below(4))], 0x40]),
    }
}

/// One of the group instructions blocks hold (shifts, TEST/NOT/NEG, INC/DEC/CALL/JMP through
/// r/m, MOVZX/MOVSX, IMUL, CMOVcc, SETcc, PUSH imm, LEAVE, CBW/CWD, MOV to and from moffs), or
/// one of those groups' others (MUL, PUSH r/m) that go to the step.
fn more_instruction(r: &mut Random, modrm: u8, out: &mut Vec<u8>) {
    let reg = r.below(8) << 3;
    match r.below(16) {
        13 => out.extend([0x0F, 0xAF, (modrm & !0x38) | reg]),
        14 => out.extend([
            0x69 | r.below(2) << 1,
            (modrm & !0x38) | reg,
            r.below(255),
            r.below(255),
            r.below(255),
            r.below(255),
        ]),
        15 => out.extend([0x0F, 0x40 | r.below(16), (modrm & !0x38) | reg]),
        0 => out.extend([0xC0 | r.below(2), modrm, r.below(40)]),
        1 => out.extend([0xD0 | r.below(4), modrm]),
        2 => out.extend([
            0xF6 | r.below(2),
            (modrm & !0x38) | (r.below(4) << 3),
            r.below(255),
            0x80,
        ]),
        3 => out.extend([0xFE | r.below(2), (modrm & !0x38) | (r.below(2) << 3)]),
        4 => out.extend([
            0xFF,
            (modrm & !0x38) | [0x10, 0x20][usize::from(r.below(2))],
        ]),
        5 => out.extend([
            0x0F,
            [0xB6, 0xB7, 0xBE, 0xBF][usize::from(r.below(4))],
            (modrm & !0x38) | reg,
        ]),
        6 => out.extend([0x0F, 0x90 | r.below(16), modrm]),
        7 => out.extend([0x68, r.below(255), r.below(255), 0, 0]),
        8 => out.extend([0x6A, r.below(255)]),
        9 => out.push([0xC9, 0x98, 0x99][usize::from(r.below(3))]),
        10 => out.extend([0xF7, (modrm & !0x38) | 0x20]),
        // MOV between the accumulator and an offset in the data area.
        11 => out.extend([0xA0 | r.below(4), r.below(255), 0x80 | r.below(16)]),
        _ => out.extend([0xFF, (modrm & !0x38) | 0x30]),
    }
}

/// Where random code runs.
#[derive(Clone, Copy, Debug)]
enum Mode {
    /// Real mode.
    Real,
    /// Flat 32-bit protected mode.
    Flat32,
    /// Flat 32-bit protected mode with paging, the data area's first page not present: an
    /// access there is a page fault, delivered to a `hlt`.
    Paged32,
}

const PAGE_DIRECTORY: u32 = 0x20000;
const PAGE_TABLE: u32 = 0x21000;

/// A CPU at CODE with random registers and flags in `mode`, over `code`.
fn machine(r: &mut Random, code: &[u8], mode: Mode) -> (Cpu, FlatMemory) {
    let mut memory = FlatMemory::new(1 << 20);
    memory.load(CODE, code);
    let mut cpu = Cpu::new(Model::I386);
    cpu.set_real_mode_entry(0, CODE as u16);
    for reg in cpu.regs.iter_mut() {
        *reg = r.next() as u32;
    }
    // Memory operands stay in the data area, the stack beside it.
    for (reg, base) in [(3, DATA), (4, DATA + 0x4000), (6, 0x100), (7, 0x200)] {
        cpu.regs[reg] = (cpu.regs[reg] & 0xFFFF_0000) | base;
    }
    cpu.flags = 2 | (r.next() as u32 & 0x8D5);
    if !matches!(mode, Mode::Real) {
        flat::protected(&mut cpu, &mut memory);
        for reg in [3, 4, 6, 7] {
            cpu.regs[reg] &= 0xFFFF;
        }
    }
    if matches!(mode, Mode::Paged32) {
        for page in 0..1024 {
            let present = if page == DATA >> 12 { 0 } else { 3 };
            memory.write32(PAGE_TABLE + page * 4, (page << 12) | present);
        }
        memory.write32(PAGE_DIRECTORY, PAGE_TABLE | 3);
        cpu.cr[1] = PAGE_DIRECTORY;
        cpu.cr0 |= 1 << 31;
        cpu.refresh_modes();
    }
    (cpu, memory)
}

/// Flat 32-bit protected mode: code 0x08, data 0x10, every exception to a `hlt`.
fn run_with_blocks(cpu: &mut Cpu, memory: &mut FlatMemory, blocks: &mut Blocks, limit: u64) {
    while cpu.executed < limit {
        if blocks.run(cpu, memory) > 0 {
            continue;
        }
        if cpu.step(memory) != Exit::Continue {
            return;
        }
    }
}

/// Steps until `hlt` or exactly `count` instructions.
fn run_steps(cpu: &mut Cpu, memory: &mut FlatMemory, count: u64) {
    while cpu.executed < count && cpu.step(memory) == Exit::Continue {}
}

fn compare(seed: u64, mode: Mode) {
    let mut r = Random(seed);
    let mut code = Vec::new();
    while code.len() < 200 {
        instruction(&mut r, &mut code);
    }
    code.extend([0xF4; 16]);
    let (mut stepped, mut stepped_memory) = machine(&mut Random(seed), &code, mode);
    let (mut blocked, mut blocked_memory) = machine(&mut Random(seed), &code, mode);
    let mut blocks = Blocks::new();

    run_with_blocks(&mut blocked, &mut blocked_memory, &mut blocks, 3000);
    run_steps(&mut stepped, &mut stepped_memory, blocked.executed);

    let what = format!("seed {seed}, {mode:?}, code {code:02x?}");
    assert_eq!(blocked.executed, stepped.executed, "{what}");
    assert_eq!(blocked.regs, stepped.regs, "{what}");
    assert_eq!(blocked.ip, stepped.ip, "{what}");
    assert_eq!(blocked.flags, stepped.flags, "{what}");
    assert_eq!(blocked.cr, stepped.cr, "{what}");
    for addr in (0..0x10000).step_by(4) {
        assert_eq!(
            blocked_memory.read32(addr),
            stepped_memory.read32(addr),
            "{what}: memory at {addr:#x}"
        );
    }
}

#[test]
fn test_random_code_through_blocks_leaves_what_the_step_leaves() {
    for seed in 1..=600u64 {
        let mode = [Mode::Real, Mode::Flat32, Mode::Paged32][seed as usize % 3];
        compare(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15), mode);
    }
}

#[test]
fn test_a_block_whose_bytes_changed_is_decoded_again() {
    // mov ax, 1; jmp $+2 ... then the same place patched to mov ax, 2.
    let mut memory = FlatMemory::new(1 << 20);
    memory.load(CODE, &[0xB8, 0x01, 0x00, 0xEB, 0x00, 0xF4]);
    let mut cpu = Cpu::new(Model::I386);
    let mut blocks = Blocks::new();
    cpu.set_real_mode_entry(0, CODE as u16);
    assert_eq!(blocks.run(&mut cpu, &mut memory), 2);
    let decoded = blocks.decoded();
    memory.load(CODE + 1, &[0x02]);
    cpu.set_real_mode_entry(0, CODE as u16);

    let ran = blocks.run(&mut cpu, &mut memory);

    assert_eq!((ran, cpu.reg16(0)), (2, 2));
    assert_eq!(blocks.decoded(), decoded + 1);
}

#[test]
fn test_a_loop_of_one_block_counts_every_instruction() {
    // mov cx, 1000; l: add ax, bx; dec cx; jnz l; hlt
    let mut memory = FlatMemory::new(1 << 20);
    memory.load(
        CODE,
        &[0xB9, 0xE8, 0x03, 0x01, 0xD8, 0x49, 0x75, 0xFB, 0xF4],
    );
    let mut cpu = Cpu::new(Model::I386);
    let mut blocks = Blocks::new();
    cpu.set_real_mode_entry(0, CODE as u16);
    cpu.regs[3] = 3;

    run_with_blocks(&mut cpu, &mut memory, &mut blocks, u64::MAX);

    assert_eq!(cpu.reg16(0), 3000);
    assert_eq!(cpu.executed, 1 + 3 * 1000 + 1);
    assert_eq!(cpu.ip, CODE + 9);
}

#[test]
fn test_code_that_wraps_at_64k_is_not_run_past_the_segment_end() {
    // inc ax at FFFE, inc ax at FFFF, then IP wraps to 0000: hlt.
    let mut memory = FlatMemory::new(1 << 20);
    memory.load(0xFFFE, &[0x40, 0x40]);
    memory.load(0, &[0xF4]);
    let mut cpu = Cpu::new(Model::I386);
    let mut blocks = Blocks::new();
    cpu.set_real_mode_entry(0, 0xFFFE);

    run_with_blocks(&mut cpu, &mut memory, &mut blocks, u64::MAX);

    assert_eq!((cpu.reg16(0), cpu.ip), (2, 1));
}

#[test]
fn test_a_write_into_the_next_instruction_of_a_block_is_seen() {
    // mov byte [0x1006], 2 patches the immediate of the mov ax, 1 that follows it.
    let mut memory = FlatMemory::new(1 << 20);
    memory.load(
        CODE,
        &[0xC6, 0x06, 0x06, 0x10, 0x02, 0xB8, 0x01, 0x00, 0xF4],
    );
    let mut cpu = Cpu::new(Model::I386);
    let mut blocks = Blocks::new();
    cpu.set_real_mode_entry(0, CODE as u16);

    run_with_blocks(&mut cpu, &mut memory, &mut blocks, u64::MAX);

    assert_eq!((cpu.reg16(0), cpu.executed), (2, 3));
}

#[test]
fn test_a_block_patched_by_another_in_the_same_run_is_decoded_again() {
    // B: mov ax, 1; inc cx; cmp cx, 2; je done; jmp W.  W (a page away, so its store is not
    // near its own code): mov byte [B+1], 2; jmp B.  done: hlt.
    let mut memory = FlatMemory::new(1 << 20);
    memory.load(
        CODE,
        &[
            0xB8, 0x01, 0x00, 0x41, 0x83, 0xF9, 0x02, 0x74, 0x03, 0xE9, 0xF4, 0x00, 0xF4,
        ],
    );
    memory.load(
        CODE + 0x100,
        &[0xC6, 0x06, 0x01, 0x10, 0x02, 0xE9, 0xF8, 0xFE],
    );
    let mut cpu = Cpu::new(Model::I386);
    let mut blocks = Blocks::new();
    cpu.set_real_mode_entry(0, CODE as u16);

    let ran = blocks.run(&mut cpu, &mut memory);

    assert_eq!((ran, cpu.reg16(0), cpu.reg16(1)), (11, 2, 2));
}

/// Flat 32-bit protected mode with paging: the first 4 MiB mapped as they are, and linear
/// 0x400000 to the page at CODE too.
fn paged_with_alias(memory: &mut FlatMemory) -> Cpu {
    let mut cpu = Cpu::new(Model::I386);
    flat::protected(&mut cpu, memory);
    for page in 0..1024 {
        memory.write32(PAGE_TABLE + page * 4, (page << 12) | 3);
    }
    memory.write32(PAGE_DIRECTORY, PAGE_TABLE | 3);
    memory.write32(PAGE_DIRECTORY + 4, (PAGE_TABLE + 0x1000) | 3);
    memory.write32(PAGE_TABLE + 0x1000, CODE | 3);
    cpu.cr[1] = PAGE_DIRECTORY;
    cpu.cr0 |= 1 << 31;
    cpu.refresh_modes();
    cpu.ip = CODE;
    cpu
}

#[test]
fn test_a_block_patched_through_paging_by_another_in_the_same_run_is_decoded_again() {
    // B: mov eax, 1; inc ecx; cmp ecx, 2; je done; jmp W.  done: hlt.  W (on B's page):
    // mov byte [0x400001], 2 (B's immediate, through the alias); jmp B.
    let mut memory = FlatMemory::new(1 << 20);
    memory.load(
        CODE,
        &[
            0xB8, 0x01, 0x00, 0x00, 0x00, 0x41, 0x83, 0xF9, 0x02, 0x74, 0x05, 0xE9, 0xF0, 0x07,
            0x00, 0x00, 0xF4,
        ],
    );
    memory.load(
        CODE + 0x800,
        &[
            0xC6, 0x05, 0x01, 0x00, 0x40, 0x00, 0x02, 0xE9, 0xF4, 0xF7, 0xFF, 0xFF,
        ],
    );
    let mut cpu = paged_with_alias(&mut memory);
    cpu.regs[1] = 0;
    let mut blocks = Blocks::new();

    let ran = blocks.run(&mut cpu, &mut memory);

    assert_eq!((ran, cpu.regs[0], cpu.regs[1]), (11, 2, 2));
}

#[test]
fn test_a_write_through_another_linear_address_into_a_blocks_code_is_seen() {
    // Paging maps linear 0x400000 to the code's page too. mov byte [0x400008], 2 patches the
    // immediate of the mov eax, 1 that follows it (at CODE + 7).
    let mut memory = FlatMemory::new(1 << 20);
    memory.load(
        CODE,
        &[
            0xC6, 0x05, 0x08, 0x00, 0x40, 0x00, 0x02, 0xB8, 0x01, 0x00, 0x00, 0x00, 0xF4,
        ],
    );
    let mut cpu = paged_with_alias(&mut memory);
    let mut blocks = Blocks::new();

    run_with_blocks(&mut cpu, &mut memory, &mut blocks, u64::MAX);

    assert_eq!((cpu.regs[0], cpu.executed), (2, 3));
}

#[test]
fn test_an_interrupt_waits_until_the_fault_a_block_met_is_delivered() {
    // mov eax, [DATA] in flat paged mode, DATA's page not present: the block stops with the
    // page fault pending. An interrupt offered then is not taken: the fault goes first, from
    // the instruction that made it (CR2 = DATA, the frame's EIP = CODE).
    let mut r = Random(7);
    let code = [0x8B, 0x05, 0x00, 0x80, 0x00, 0x00, 0xF4];
    let (mut cpu, mut memory) = machine(&mut r, &code, Mode::Paged32);
    cpu.ip = CODE;
    cpu.flags |= 1 << 9;
    let mut blocks = Blocks::new();

    assert_eq!(blocks.run(&mut cpu, &mut memory), 1);
    assert!(!cpu.can_interrupt());
    assert!(!cpu.external_interrupt(&mut memory, 0x20));
    cpu.step(&mut memory);

    assert_eq!(cpu.cr[0], DATA);
    let esp = cpu.regs[4];
    assert_eq!(memory.read32(esp + 4), CODE, "the fault's EIP");
    assert_eq!(
        memory.read32(esp),
        0,
        "a supervisor read of a page not present"
    );
}
