//! A flat 32-bit protected mode for the interpreter's tests: code 0x08 and data 0x10 over the
//! whole 4 GiB, and every exception through an interrupt gate to a `hlt`.

use vmm_interp::{Bus, Cpu, FlatMemory, Segment};

const GDT: u32 = 0x5000;
const IDT: u32 = 0x6000;
const HANDLER: u32 = 0x7000;

/// Puts `cpu` in ring 0 of flat protected mode, its tables in `memory` at 0x5000-0x7000.
pub fn protected(cpu: &mut Cpu, memory: &mut FlatMemory) {
    memory.write32(GDT + 8, 0x0000_FFFF);
    memory.write32(GDT + 12, 0x00CF_9A00);
    memory.write32(GDT + 16, 0x0000_FFFF);
    memory.write32(GDT + 20, 0x00CF_9200);
    for vector in 0..32 {
        memory.write32(IDT + vector * 8, (8 << 16) | HANDLER);
        memory.write32(IDT + vector * 8 + 4, 0x8E00);
    }
    memory.load(HANDLER, &[0xF4]);
    let flat = |selector, attrs| Segment {
        selector,
        base: 0,
        limit: u32::MAX,
        attrs,
    };
    let data = flat(0x10, 0xC093);
    cpu.segs = [data, flat(0x08, 0xC09B), data, data, data, data];
    cpu.gdt = (GDT, 23);
    cpu.idt = (IDT, 32 * 8 - 1);
    cpu.cr0 = 1;
    cpu.refresh_modes();
}
