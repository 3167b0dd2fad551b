//! The interpreter's registers as KVM's structures (the format every backend shares: the
//! firmware, the debugger and snapshots read and write these), and back.

use kvm_bindings::{kvm_fpu, kvm_regs, kvm_segment, kvm_sregs};
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
        efer: cpu.msrs.efer,
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
    set_segments(cpu, sregs);
    cpu.tr = segment_from(&sregs.tr);
    cpu.ldtr = segment_from(&sregs.ldt);
    cpu.idt = (sregs.idt.base as u32, sregs.idt.limit);
    cpu.gdt = (sregs.gdt.base as u32, sregs.gdt.limit);
    cpu.cr0 = sregs.cr0 as u32 & !0x10;
    cpu.cr = [sregs.cr2 as u32, sregs.cr3 as u32, sregs.cr4 as u32];
    cpu.msrs.restore(vmm_interp::EFER, sregs.efer);
    cpu.refresh_modes();
}

/// The MSRs the interpreter keeps that a snapshot keeps too (EFER goes with the segment
/// registers), as KVM's entries.
pub(super) fn msrs_of(cpu: &Cpu) -> Vec<kvm_bindings::kvm_msr_entry> {
    cpu.msrs
        .entries()
        .filter(|(index, _)| crate::vcpu::SAVED_MSRS.contains(index))
        .map(|(index, data)| kvm_bindings::kvm_msr_entry {
            index,
            data,
            ..Default::default()
        })
        .collect()
}

/// Puts the MSRs of a snapshot or of KVM's vCPU into the CPU (those it keeps).
pub(super) fn set_msrs(cpu: &mut Cpu, msrs: &[kvm_bindings::kvm_msr_entry]) {
    for entry in msrs {
        cpu.msrs.restore(entry.index, entry.data);
    }
}

/// The whole state in the shared format: registers and segments; the FPU, MSRs and events
/// as a CPU without them has them.
pub(super) fn vcpu_state(cpu: &Cpu) -> crate::vcpu::VcpuState {
    crate::vcpu::VcpuState {
        regs: regs_of(cpu),
        sregs: sregs_of(cpu),
        fpu: fpu_of(cpu),
        xsave: None,
        xcrs: None,
        debugregs: Default::default(),
        msrs: msrs_of(cpu),
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

/// The x87 as KVM lays it out (FXSAVE's: ST(0)-ST(7) in stack order, the abridged tag by
/// physical register); MXCSR at its reset value (the interpreter has no SSE).
pub(super) fn fpu_of(cpu: &Cpu) -> kvm_fpu {
    let fpu = &cpu.fpu;
    let mut out = kvm_fpu {
        fcw: fpu.control,
        fsw: fpu.status,
        ftwx: !fpu.empty,
        last_opcode: fpu.last_opcode,
        mxcsr: fpu.mxcsr,
        ..Default::default()
    };
    for (i, slot) in out.fpr.iter_mut().enumerate() {
        slot[..10].copy_from_slice(&fpu.regs[fpu.physical(i)].to_le_bytes()[..10]);
    }
    for (slot, value) in out.xmm.iter_mut().zip(fpu.xmm) {
        *slot = value.to_le_bytes();
    }
    out
}

/// Puts KVM's x87 state into the interpreter's.
pub(super) fn set_fpu(cpu: &mut Cpu, state: &kvm_fpu) {
    let fpu = &mut cpu.fpu;
    fpu.control = state.fcw;
    fpu.status = state.fsw;
    fpu.empty = !state.ftwx;
    fpu.last_opcode = state.last_opcode;
    fpu.mxcsr = state.mxcsr;
    for (value, slot) in fpu.xmm.iter_mut().zip(state.xmm) {
        *value = u128::from_le_bytes(slot);
    }
    for (i, slot) in state.fpr.iter().enumerate() {
        let mut bytes = [0u8; 16];
        bytes[..10].copy_from_slice(&slot[..10]);
        let r = fpu.physical(i);
        fpu.regs[r] = u128::from_le_bytes(bytes);
    }
}

/// Puts only the six segment registers of `sregs` into the CPU (what a firmware call may
/// change; the control registers, and so the translations, stand).
pub(super) fn set_segments(cpu: &mut Cpu, sregs: &kvm_sregs) {
    let segs = [sregs.es, sregs.cs, sregs.ss, sregs.ds, sregs.fs, sregs.gs];
    for (mine, theirs) in cpu.segs.iter_mut().zip(segs) {
        *mine = segment_from(&theirs);
    }
    cpu.refresh_segments();
}

#[cfg(test)]
mod tests {
    use super::*;
    use vmm_interp::Model;

    #[test]
    fn test_the_x87_goes_out_in_stack_order_and_comes_back() {
        let mut cpu = Cpu::new(Model::I386);
        cpu.fpu.status = 5 << 11; // TOP = 5
        cpu.fpu.regs[5] = 0x3FFF_8000_0000_0000_0000; // ST(0) = 1.0
        cpu.fpu.regs[6] = 0x4000_C90F_DAA2_2168_C235; // ST(1) = pi
        cpu.fpu.empty = !0b0110_0000;
        cpu.fpu.control = 0x027F;
        let out = fpu_of(&cpu);
        assert_eq!(
            out.fpr[0][..10],
            0x3FFF_8000_0000_0000_0000u128.to_le_bytes()[..10]
        );
        assert_eq!(out.fpr[1][9], 0x40);
        assert_eq!((out.fcw, out.ftwx), (0x027F, 0b0110_0000));
        let mut back = Cpu::new(Model::I386);
        set_fpu(&mut back, &out);
        assert_eq!(back.fpu, cpu.fpu);
    }
}
