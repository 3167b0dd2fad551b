//! EFLAGS as software probes it: a 486 lets AC be toggled (a 386 does not) and a CPU with CPUID
//! lets ID be toggled; Linux's and DOS programs' CPU checks depend on both.

use vmm_interp::{Cpu, Exit, FlatMemory, Model};

const AC: u32 = 1 << 18;
const ID: u32 = 1 << 21;

/// Runs `pushfd; pop eax; xor eax, BITS; push eax; popfd; pushfd; pop ebx` in real mode and
/// returns EAX (what was written) and EBX (what reads back).
fn toggled(bits: u32) -> (u32, u32) {
    let mut code = vec![0x66, 0x9C, 0x66, 0x58, 0x66, 0x35];
    code.extend(bits.to_le_bytes());
    code.extend([0x66, 0x50, 0x66, 0x9D, 0x66, 0x9C, 0x66, 0x5B, 0xF4]);
    let mut memory = FlatMemory::new(1 << 20);
    memory.load(0x7C00, &code);
    let mut cpu = Cpu::new(Model::I386);
    cpu.set_real_mode_entry(0, 0x7C00);
    cpu.regs[4] = 0x7C00;
    while cpu.step(&mut memory) == Exit::Continue {}
    (cpu.regs[0], cpu.regs[3])
}

#[test]
fn test_ac_and_id_toggle_in_eflags() {
    let (written, read) = toggled(AC | ID);

    assert_eq!(written & (AC | ID), AC | ID);
    assert_eq!(read & (AC | ID), AC | ID);
}

#[test]
fn test_vif_and_vip_stay_clear_without_vme() {
    let (_, read) = toggled(3 << 19);

    assert_eq!(read & (3 << 19), 0);
}
