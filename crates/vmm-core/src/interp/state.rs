//! The interpreter's registers as KVM's structures (the format every backend shares: the
//! firmware, the debugger and snapshots read and write these), and back.

use kvm_bindings::{kvm_regs, kvm_segment, kvm_sregs};
use vmm_interp::{Cpu, Segment};

/// The general registers, IP and FLAGS.
pub(super) fn regs_of(cpu: &Cpu) -> kvm_regs {
    let r = |i: usize| u64::from(cpu.regs[i]);
    kvm_regs {
        rax: r(0),
        rcx: r(1),
        rdx: r(2),
        rbx: r(3),
        rsp: r(4),
        rbp: r(5),
        rsi: r(6),
        rdi: r(7),
        rip: u64::from(cpu.ip),
        rflags: u64::from(cpu.flags),
        ..Default::default()
    }
}

/// Puts `regs` into the CPU.
pub(super) fn set_regs(cpu: &mut Cpu, regs: &kvm_regs) {
    let values = [
        regs.rax, regs.rcx, regs.rdx, regs.rbx, regs.rsp, regs.rbp, regs.rsi, regs.rdi,
    ];
    for (r, v) in cpu.regs.iter_mut().zip(values) {
        *r = v as u32;
    }
    cpu.ip = regs.rip as u32;
    cpu.flags = (regs.rflags as u32) | 2;
}

/// A segment register as KVM describes it.
fn segment_of(seg: &Segment) -> kvm_segment {
    let bit = |n: u16| u8::from(seg.attrs & (1 << n) != 0);
    kvm_segment {
        base: u64::from(seg.base),
        limit: seg.limit,
        selector: seg.selector,
        type_: (seg.attrs & 0xF) as u8,
        s: bit(4),
        dpl: ((seg.attrs >> 5) & 3) as u8,
        present: bit(7),
        avl: bit(12),
        l: bit(13),
        db: bit(14),
        g: bit(15),
        unusable: u8::from(seg.attrs & 0x80 == 0),
        ..Default::default()
    }
}

/// KVM's description of a segment register as the interpreter keeps it.
fn segment_from(seg: &kvm_segment) -> Segment {
    let bit = |v: u8, n: u16| u16::from(v & 1) << n;
    let present = seg.present != 0 && seg.unusable == 0;
    Segment {
        selector: seg.selector,
        base: seg.base as u32,
        limit: seg.limit,
        attrs: u16::from(seg.type_ & 0xF)
            | bit(seg.s, 4)
            | u16::from(seg.dpl & 3) << 5
            | bit(u8::from(present), 7)
            | bit(seg.avl, 12)
            | bit(seg.l, 13)
            | bit(seg.db, 14)
            | bit(seg.g, 15),
    }
}

/// The segment and control registers.
pub(super) fn sregs_of(cpu: &Cpu) -> kvm_sregs {
    let s = |i: usize| segment_of(&cpu.segs[i]);
    let mut sregs = kvm_sregs {
        es: s(0),
        cs: s(1),
        ss: s(2),
        ds: s(3),
        fs: s(4),
        gs: s(5),
        cr0: u64::from(cpu.cr0) | 0x10,
        cr2: u64::from(cpu.cr[0]),
        cr3: u64::from(cpu.cr[1]),
        cr4: u64::from(cpu.cr[2]),
        tr: segment_of(&cpu.tr),
        ldt: segment_of(&cpu.ldtr),
        ..Default::default()
    };
    sregs.idt.base = u64::from(cpu.idt.0);
    sregs.idt.limit = cpu.idt.1;
    sregs.gdt.base = u64::from(cpu.gdt.0);
    sregs.gdt.limit = cpu.gdt.1;
    sregs
}

/// Puts `sregs` into the CPU: segments, the task and LDT registers, the descriptor tables,
/// the control registers.
pub(super) fn set_sregs(cpu: &mut Cpu, sregs: &kvm_sregs) {
    let segs = [sregs.es, sregs.cs, sregs.ss, sregs.ds, sregs.fs, sregs.gs];
    for (mine, theirs) in cpu.segs.iter_mut().zip(segs) {
        *mine = segment_from(&theirs);
    }
    cpu.tr = segment_from(&sregs.tr);
    cpu.ldtr = segment_from(&sregs.ldt);
    cpu.idt = (sregs.idt.base as u32, sregs.idt.limit);
    cpu.gdt = (sregs.gdt.base as u32, sregs.gdt.limit);
    cpu.cr0 = sregs.cr0 as u32 & !0x10;
    cpu.cr = [sregs.cr2 as u32, sregs.cr3 as u32, sregs.cr4 as u32];
    cpu.refresh_modes();
}

/// The whole state in the shared format: registers and segments; the FPU, MSRs and events
/// as a CPU without them has them.
pub(super) fn vcpu_state(cpu: &Cpu) -> crate::vcpu::VcpuState {
    crate::vcpu::VcpuState {
        regs: regs_of(cpu),
        sregs: sregs_of(cpu),
        fpu: Default::default(),
        xsave: None,
        xcrs: None,
        debugregs: Default::default(),
        msrs: Vec::new(),
        mp_state: Default::default(),
        events: Default::default(),
    }
}

/// The state a protected-mode boot leaves (as the KVM vCPU's: cpu.rs): the boot GDT at
/// `gdt_base`, flat 32-bit code and data segments, CR0.PE.
pub(super) fn set_flat_protected(cpu: &mut Cpu, gdt_base: u64) {
    let code = segment_from(&crate::gdt::segment(crate::gdt::CODE32_SELECTOR));
    let data = segment_from(&crate::gdt::segment(crate::gdt::DATA_SELECTOR));
    cpu.segs = [data, code, data, data, data, data];
    cpu.gdt = (gdt_base as u32, (crate::gdt::GDT.len() * 8 - 1) as u16);
    cpu.cr0 = 1;
    cpu.refresh_modes();
}
