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

fn segment_of(seg: &Segment, code: bool) -> kvm_segment {
    kvm_segment {
        base: u64::from(seg.base),
        limit: seg.limit,
        selector: seg.selector,
        type_: if code { 0xB } else { 0x3 },
        present: 1,
        s: 1,
        ..Default::default()
    }
}

/// The segment and control registers.
pub(super) fn sregs_of(cpu: &Cpu) -> kvm_sregs {
    let s = |i: usize| segment_of(&cpu.segs[i], i == 1);
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
        ..Default::default()
    };
    sregs.idt.base = u64::from(cpu.idt.0);
    sregs.idt.limit = cpu.idt.1;
    sregs.gdt.base = u64::from(cpu.gdt.0);
    sregs.gdt.limit = cpu.gdt.1;
    sregs
}

/// Puts `sregs` into the CPU: segments (as real mode sees them: selector and base), the
/// descriptor tables, CR0.
pub(super) fn set_sregs(cpu: &mut Cpu, sregs: &kvm_sregs) {
    let segs = [sregs.es, sregs.cs, sregs.ss, sregs.ds, sregs.fs, sregs.gs];
    for (mine, theirs) in cpu.segs.iter_mut().zip(segs) {
        *mine = Segment {
            selector: theirs.selector,
            base: theirs.base as u32,
            limit: theirs.limit,
        };
    }
    cpu.idt = (sregs.idt.base as u32, sregs.idt.limit);
    cpu.gdt = (sregs.gdt.base as u32, sregs.gdt.limit);
    cpu.cr0 = sregs.cr0 as u32 & !0x10;
    cpu.cr = [sregs.cr2 as u32, sregs.cr3 as u32, sregs.cr4 as u32];
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
