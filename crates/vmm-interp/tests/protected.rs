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

/// Puts the CPU in ring 3: code 0x1B and data 0x23 of DPL 3 (GDT entries 0x18 and 0x20), and a
/// TSS at 0x7000 (TR 0x30) with ring 0's stack at 0010:9000.
fn in_ring3(cpu: &mut Cpu, memory: &mut FlatMemory) {
    memory.write32(GDT + 24, 0x0000_FFFF);
    memory.write32(GDT + 28, 0x00CF_FA00);
    memory.write32(GDT + 32, 0x0000_FFFF);
    memory.write32(GDT + 36, 0x00CF_F200);
    let user = |selector, attrs| Segment {
        selector,
        base: 0,
        limit: u32::MAX,
        attrs,
    };
    let data = user(0x23, 0xC0F3);
    cpu.segs = [data, user(0x1B, 0xC0FB), data, data, data, data];
    cpu.tr = Segment {
        selector: 0x30,
        base: 0x7000,
        limit: 0x67,
        attrs: 0x8B,
    };
    memory.write32(0x7004, 0x9000);
    memory.write32(0x7008, 0x10);
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

/// Random bytes as code, in 16- and 32-bit protected mode and virtual-8086 mode, with and
/// without paging, with and without the x87's exceptions unmasked: whatever they do (faults, double faults, shutdowns,
/// instructions left to KVM), the interpreter neither panics nor loops inside one step.
#[test]
fn test_random_code_never_panics() {
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let rounds = std::env::var("PICOVMM_FUZZ_ROUNDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(3000);
    for round in 0..rounds {
        let code: Vec<u8> = (0..64).map(|_| next() as u8).collect();
        let (mut cpu, mut memory) = machine(&code);
        // Handlers that return, a page directory of random entries for some rounds.
        memory.load(HANDLER, &[0xCF]);
        if round % 3 == 1 {
            for i in 0..1024 {
                memory.write32(0x5000 + i * 4, next() as u32);
            }
            memory.write32(0x5000, 0x6000 | 7);
            for i in 0..1024 {
                memory.write32(0x6000 + i * 4, (i << 12) | 7);
            }
            cpu.cr = [0, 0x5000, (next() as u32) & 0x30];
            cpu.cr0 |= 1 << 31;
        }
        if round % 4 == 2 {
            cpu.segs[1].attrs &= !(1 << 14); // 16-bit code
            cpu.fpu.control = 0x0300; // every x87 exception unmasked
        }
        if round % 5 == 3 {
            // Random descriptors past the two good ones, random gates past vector 13.
            for at in (GDT + 24..GDT + 256).step_by(4) {
                memory.write32(at, next() as u32);
            }
            cpu.gdt.1 = 255;
            for at in (IDT + 14 * 8..IDT + 32 * 8).step_by(4) {
                memory.write32(at, next() as u32);
            }
        }
        if round % 7 == 5 {
            cpu.tr = Segment {
                selector: 0x28,
                base: 0x7000,
                limit: 0x67,
                attrs: 0x8B,
            };
            for at in (0x7000..0x7068).step_by(4) {
                memory.write32(at, next() as u32);
            }
        }
        if round % 6 == 4 {
            // Ring 3: code and data of DPL 3, and a TSS with ring 0's stack.
            in_ring3(&mut cpu, &mut memory);
            cpu.gdt.1 = 255;
        }
        if round % 8 == 6 {
            // Virtual-8086 mode, with a random IOPL.
            let v86 = |selector: u16| Segment {
                selector,
                base: u32::from(selector) << 4,
                limit: 0xFFFF,
                attrs: 0xF3,
            };
            cpu.segs = [v86(0), v86(0x0400), v86(0), v86(0), v86(0), v86(0)];
            cpu.ip = CODE - 0x4000;
            cpu.flags |= (1 << 17) | ((next() as u32 & 3) << 12);
            cpu.tr = Segment {
                selector: 0x28,
                base: 0x7000,
                limit: 0x67,
                attrs: 0x8B,
            };
            memory.write32(0x7004, 0x9000);
            memory.write32(0x7008, 0x10);
        }
        cpu.refresh_modes();
        for _ in 0..200 {
            match cpu.step(&mut memory) {
                Exit::Continue => {}
                _ => break,
            }
        }
    }
}

/// LAR, LSL, VERR and VERW on the flat code and data segments, and on a selector past the GDT.
#[test]
fn test_lar_lsl_verr_verw_answer_in_zf() {
    const ZF: u32 = 1 << 6;
    let code = [
        0xB8, 0x08, 0x00, 0x00, 0x00, // mov eax, 0x08
        0x0F, 0x02, 0xD8, // lar ebx, eax
        0x0F, 0x03, 0xC8, // lsl ecx, eax
        0x0F, 0x00, 0xE0, // verr ax
        0x0F, 0x00, 0xE8, // verw ax
        0xB8, 0x48, 0x00, 0x00, 0x00, // mov eax, 0x48
        0x0F, 0x02, 0xD0, // lar edx, eax
        0xB8, 0x10, 0x00, 0x00, 0x00, // mov eax, 0x10
        0x0F, 0x00, 0xE8, // verw ax
    ];
    let (mut cpu, mut memory) = machine(&code);
    let mut zf_after = Vec::new();
    for _ in 0..9 {
        cpu.step(&mut memory);
        zf_after.push(cpu.flags & ZF != 0);
    }
    assert_eq!(cpu.regs[3], 0x00CF_9A00, "code segment's access rights");
    assert_eq!(cpu.regs[1], u32::MAX, "its limit, 4 GiB with G");
    assert_eq!(cpu.regs[2], 0, "nothing loaded for a selector past the GDT");
    // lar, lsl, verr (code is readable), verw (code is not writable), lar 0x48, verw data.
    assert_eq!(
        [
            zf_after[1],
            zf_after[2],
            zf_after[3],
            zf_after[4],
            zf_after[6],
            zf_after[8]
        ],
        [true, true, true, false, false, true]
    );
}

/// Ring 3 calls ring 0 through a call gate with one parameter: the TSS's ring-0 stack, the
/// parameter copied across, and `retf 4` back to ring 3's stack with the parameter dropped.
#[test]
fn test_a_call_gate_takes_ring_3_to_ring_0_and_back() {
    const ROUTINE: u32 = 0x3100;
    let code = [
        0x68, 0x34, 0x12, 0x00, 0x00, // push 0x1234
        0x9A, 0x00, 0x00, 0x00, 0x00, 0x2B, 0x00, // call 0x2B:0 (the gate)
        0x90, // nop
    ];
    let (mut cpu, mut memory) = machine(&code);
    memory.load(ROUTINE, &[0x8B, 0x44, 0x24, 0x08, 0xCA, 0x04, 0x00]); // mov eax, [esp+8]; retf 4
    in_ring3(&mut cpu, &mut memory);
    memory.write32(GDT + 40, (8 << 16) | (ROUTINE & 0xFFFF)); // 0x28: a 32-bit call gate,
    memory.write32(GDT + 44, (ROUTINE & 0xFFFF_0000) | 0xEC01); // DPL 3, one parameter
    cpu.gdt.1 = 47;
    cpu.refresh_modes();
    cpu.step(&mut memory);
    cpu.step(&mut memory);
    assert_eq!((cpu.segs[1].selector, cpu.ip), (0x08, ROUTINE));
    assert_eq!((cpu.segs[2].selector, cpu.regs[4]), (0x10, 0x9000 - 20));
    cpu.step(&mut memory);
    cpu.step(&mut memory);
    assert_eq!(cpu.regs[0], 0x1234, "the parameter, read on ring 0's stack");
    assert_eq!((cpu.segs[1].selector, cpu.ip), (0x1B, CODE + 12));
    assert_eq!(
        (cpu.segs[2].selector, cpu.regs[4]),
        (0x23, STACK),
        "the parameter dropped"
    );
}

/// Virtual-8086 mode: IRETD from ring 0 with VM set enters it (segments as in real mode);
/// `int 21h` with IOPL 3 goes through a DPL-3 gate to ring 0 on the TSS's stack, pushing the
/// virtual-8086 segment registers and nulling them; IRETD goes back; `hlt` is the monitor's
/// #GP.
#[test]
fn test_virtual_8086_mode_enters_leaves_and_comes_back() {
    const INT21: u32 = 0x3200;
    let code = [
        0x6A, 0x00, // push 0 (gs)
        0x6A, 0x00, // push 0 (fs)
        0x68, 0x00, 0x10, 0x00, 0x00, // push 0x1000 (ds)
        0x6A, 0x00, // push 0 (es)
        0x68, 0x00, 0x20, 0x00, 0x00, // push 0x2000 (ss)
        0x68, 0xFE, 0xFF, 0x00, 0x00, // push 0xfffe (esp)
        0x68, 0x02, 0x30, 0x02, 0x00, // push VM | IOPL 3
        0x68, 0x00, 0x05, 0x00, 0x00, // push 0x0500 (cs)
        0x68, 0x10, 0x00, 0x00, 0x00, // push 0x0010 (ip)
        0xCF, // iretd
    ];
    let (mut cpu, mut memory) = machine(&code);
    // At 0500:0010: mov ax, 0x1234; int 21h; hlt.
    memory.load(0x5010, &[0xB8, 0x34, 0x12, 0xCD, 0x21, 0xF4]);
    memory.load(INT21, &[0xCF]); // iretd
    memory.write32(IDT + 0x21 * 8, (8 << 16) | (INT21 & 0xFFFF));
    memory.write32(IDT + 0x21 * 8 + 4, (INT21 & 0xFFFF_0000) | 0xEE00);
    cpu.idt.1 = 0x22 * 8 - 1;
    cpu.tr = Segment {
        selector: 0x18,
        base: 0x7000,
        limit: 0x67,
        attrs: 0x8B,
    };
    memory.write32(0x7004, 0x9000);
    memory.write32(0x7008, 0x10);
    for _ in 0..10 {
        cpu.step(&mut memory);
    }
    assert_eq!(
        (cpu.segs[1].selector, cpu.ip),
        (0x0500, 0x0010),
        "in virtual-8086 mode"
    );
    assert_eq!((cpu.segs[3].base, cpu.cpl()), (0x10000, 3));
    cpu.step(&mut memory); // mov ax
    cpu.step(&mut memory); // int 21h
    assert_eq!((cpu.segs[1].selector, cpu.ip, cpu.cpl()), (0x08, INT21, 0));
    assert_eq!(cpu.segs[3].selector, 0, "DS nulled");
    let esp = cpu.regs[4];
    assert_eq!(esp, 0x9000 - 36, "EIP CS EFLAGS ESP SS ES DS FS GS");
    assert_eq!(memory.read32(esp), 0x15);
    assert_eq!(
        memory.read32(esp + 8) & (1 << 17),
        1 << 17,
        "VM in the pushed EFLAGS"
    );
    assert_eq!(memory.read32(esp + 24), 0x1000, "DS pushed");
    cpu.step(&mut memory); // iretd: back
    assert_eq!((cpu.segs[1].selector, cpu.ip, cpu.cpl()), (0x0500, 0x15, 3));
    assert_eq!(
        (cpu.segs[3].selector, cpu.regs[0] & 0xFFFF),
        (0x1000, 0x1234)
    );
    cpu.step(&mut memory); // hlt: #GP(0) to the monitor
    assert_eq!((cpu.ip, cpu.cpl()), (HANDLER, 0));
    assert_eq!(memory.read32(cpu.regs[4]), 0, "#GP's error code");
    assert_eq!(memory.read32(cpu.regs[4] + 4), 0x15, "at the hlt");
}

/// A far CALL to a TSS switches tasks (the old one saved, the back link and NT set, CR0.TS),
/// and the called task's IRET switches back, its own registers saved in its TSS.
#[test]
fn test_a_task_switch_by_call_and_back_by_iret() {
    const TASK_B: u32 = 0x3300;
    const TSS_A: u32 = 0x7000;
    const TSS_B: u32 = 0x7100;
    let code = [
        0xB8, 0xAA, 0x00, 0x00, 0x00, // mov eax, 0xaa
        0x9A, 0x00, 0x00, 0x00, 0x00, 0x20, 0x00, // call 0x20:0 (task B's TSS)
        0x90, // nop
    ];
    let (mut cpu, mut memory) = machine(&code);
    memory.load(TASK_B, &[0xB8, 0x0B, 0x00, 0x00, 0x00, 0xCF]); // mov eax, 0xb; iretd
    let tss_descriptor = |base: u32, kind: u32| {
        let low = (base << 16) | 0x67;
        let high = (base & 0xFF00_0000) | ((base >> 16) & 0xFF) | 0x8000 | (kind << 8);
        (low, high)
    };
    for (selector, base, kind) in [(0x18, TSS_A, 0xB), (0x20, TSS_B, 9)] {
        let (low, high) = tss_descriptor(base, kind);
        memory.write32(GDT + selector, low);
        memory.write32(GDT + selector + 4, high);
    }
    cpu.gdt.1 = 0x27;
    cpu.tr = Segment {
        selector: 0x18,
        base: TSS_A,
        limit: 0x67,
        attrs: 0x8B,
    };
    memory.write32(TSS_B + 0x20, TASK_B); // EIP
    memory.write32(TSS_B + 0x24, 2); // EFLAGS
    memory.write32(TSS_B + 0x28 + 4 * 4, 0xA000); // ESP
    for (i, selector) in [0x10u32, 0x08, 0x10, 0x10, 0x10, 0x10]
        .into_iter()
        .enumerate()
    {
        memory.write32(TSS_B + 0x48 + 4 * i as u32, selector);
    }
    cpu.step(&mut memory); // mov eax
    cpu.step(&mut memory); // call: to task B
    assert_eq!(
        (cpu.tr.selector, cpu.ip, cpu.regs[4]),
        (0x20, TASK_B, 0xA000)
    );
    assert_eq!(cpu.flags & (1 << 14), 1 << 14, "NT: task B was called");
    assert_eq!(cpu.cr0 & (1 << 3), 1 << 3, "CR0.TS");
    assert_eq!(memory.read16(TSS_B), 0x18, "the back link");
    assert_eq!(memory.read32(TSS_A + 0x20), CODE + 12, "task A's EIP saved");
    assert_eq!(memory.read32(TSS_A + 0x28), 0xAA, "task A's EAX saved");
    cpu.step(&mut memory); // mov eax, 0xb
    cpu.step(&mut memory); // iretd: back to task A
    assert_eq!(
        (cpu.tr.selector, cpu.ip, cpu.regs[0]),
        (0x18, CODE + 12, 0xAA)
    );
    assert_eq!(memory.read32(TSS_B + 0x28), 0x0B, "task B's EAX saved");
    assert_eq!(
        (memory.read32(GDT + 0x24) >> 8) & 0xF,
        9,
        "task B free again"
    );
    assert_eq!((memory.read32(GDT + 0x1C) >> 8) & 0xF, 0xB, "task A busy");
}
