//! Protected mode through the public API: a flat 32-bit machine in plain memory, and what an
//! instruction that faults part-way leaves behind.

use vmm_interp::{Bus, Cpu, Exit, FlatMemory, Model, Segment};

const GDT: u32 = 0x1000;
const IDT: u32 = 0x2000;
const HANDLER: u32 = 0x3000;
const CODE: u32 = 0x4000;
const STACK: u32 = 0x8000;

/// A CPU in 32-bit protected mode (flat code 0x08, data 0x10; an IDT whose every gate goes to
/// HANDLER, a `hlt`), about to run `code` at CODE.
fn machine(code: &[u8]) -> (Cpu, FlatMemory) {
    let mut memory = FlatMemory::new(1 << 20);
    memory.write32(GDT + 8, 0x0000_FFFF);
    memory.write32(GDT + 12, 0x00CF_9A00);
    memory.write32(GDT + 16, 0x0000_FFFF);
    memory.write32(GDT + 20, 0x00CF_9200);
    for vector in 0..32 {
        memory.write32(IDT + vector * 8, (8 << 16) | (HANDLER & 0xFFFF));
        memory.write32(IDT + vector * 8 + 4, (HANDLER & 0xFFFF_0000) | 0x8E00);
    }
    memory.load(HANDLER, &[0xF4]);
    memory.load(CODE, code);
    let mut cpu = Cpu::new(Model::I386);
    let flat = |selector, attrs| Segment {
        selector,
        base: 0,
        limit: u32::MAX,
        attrs,
    };
    cpu.segs = [
        flat(0x10, 0xC093),
        flat(0x08, 0xC09B),
        flat(0x10, 0xC093),
        flat(0x10, 0xC093),
        flat(0x10, 0xC093),
        flat(0x10, 0xC093),
    ];
    cpu.gdt = (GDT, 23);
    cpu.idt = (IDT, 32 * 8 - 1);
    cpu.cr0 = 1;
    cpu.ip = CODE;
    cpu.regs[4] = STACK;
    cpu.refresh_modes();
    (cpu, memory)
}

#[test]
fn test_a_pop_that_faults_leaves_esp_as_it_was() {
    // push 0x48 (a selector past the GDT's limit); pop ds: #GP(0x48) at the pop.
    let (mut cpu, mut memory) = machine(&[0x6A, 0x48, 0x1F]);
    assert_eq!(cpu.step(&mut memory), Exit::Continue);
    let esp = cpu.regs[4];
    assert_eq!(cpu.step(&mut memory), Exit::Continue);
    assert_eq!(cpu.ip, HANDLER);
    // The frame sits right below the ESP the pop started with: error code, EIP, CS, EFLAGS.
    assert_eq!(cpu.regs[4], esp - 16);
    assert_eq!(memory.read32(esp - 16), 0x48);
    assert_eq!(memory.read32(esp - 12), CODE + 2);
    assert_eq!(memory.read32(esp - 8), 8);
    assert_eq!(cpu.segs[3].selector, 0x10, "DS kept");
}

#[test]
fn test_int_n_pushes_the_next_instruction_and_iret_returns_there() {
    // int 0x1f; (at HANDLER: iret instead of hlt)
    let (mut cpu, mut memory) = machine(&[0xCD, 0x1F, 0xF4]);
    memory.load(HANDLER, &[0xCF]);
    cpu.step(&mut memory);
    assert_eq!(cpu.ip, HANDLER);
    assert_eq!(memory.read32(STACK - 12), CODE + 2);
    cpu.step(&mut memory);
    assert_eq!((cpu.ip, cpu.regs[4]), (CODE + 2, STACK));
    assert_eq!(cpu.step(&mut memory), Exit::Halt);
}

#[test]
fn test_int_n_past_the_idt_limit_is_a_gp_naming_the_gate() {
    let (mut cpu, mut memory) = machine(&[0xCD, 0x21]);
    cpu.step(&mut memory);
    assert_eq!(cpu.ip, HANDLER);
    // IDT entry 0x21, IDT bit set, pushed below EIP, CS and EFLAGS.
    assert_eq!(memory.read32(cpu.regs[4]), 0x21 * 8 + 2);
    assert_eq!(memory.read32(cpu.regs[4] + 4), CODE);
}

#[test]
fn test_a_fault_with_no_gate_doubles_then_shuts_down() {
    // ud2 with an IDT of one gate (vector 0): #UD and #GP find none, nor does #DF.
    let (mut cpu, mut memory) = machine(&[0x0F, 0x0B]);
    cpu.idt = (IDT, 7);
    assert_eq!(cpu.step(&mut memory), Exit::TripleFault);
}

#[test]
fn test_a_gate_that_is_not_present_makes_a_double_fault_with_code_zero() {
    // A #GP (mov ds, 0x48) whose gate is not present: #NP while delivering #GP: #DF.
    let (mut cpu, mut memory) = machine(&[0x66, 0xB8, 0x48, 0x00, 0x8E, 0xD8]);
    memory.write32(IDT + 13 * 8 + 4, (HANDLER & 0xFFFF_0000) | 0x0E00);
    cpu.step(&mut memory);
    cpu.step(&mut memory);
    assert_eq!(cpu.ip, HANDLER);
    assert_eq!(
        memory.read32(cpu.regs[4]),
        0,
        "the double fault's error code"
    );
    assert_eq!(
        memory.read32(cpu.regs[4] + 4),
        CODE + 4,
        "at the faulting mov"
    );
}
