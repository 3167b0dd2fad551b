//! IRET outside real mode, done by picovmm when KVM's emulator gives up on it.
//!
//! On hosts where KVM emulates ring-0 guest code in software (this project's `kvm_pvm`), KVM's
//! instruction emulator executes IRET only in real mode: a protected- or long-mode kernel's
//! interrupt handler would end the run at its `iretd`/`iretq` with an emulation failure. The
//! run loop asks [`Vcpu::emulate_iret`] first: a same-privilege return (a kernel interrupted
//! at ring 0, the case of a kernel's timer and keyboard handlers) is done here, by popping the
//! frame the CPU pushed and reloading CS (and, in 64-bit mode, SS) from the GDT. Anything else
//! (a return to another privilege level, task switches, virtual-8086 mode) is left as the
//! emulation failure it was.

use kvm_bindings::{kvm_regs, kvm_segment, kvm_sregs};
use vm_memory::{Bytes, GuestAddress};

use super::Vcpu;

const CR0_PE: u64 = 1;
const CR0_PG: u64 = 1 << 31;
const EFLAGS_VM: u64 = 1 << 17;
const EFLAGS_NT: u64 = 1 << 14;

impl Vcpu {
    /// Completes an IRET KVM could not emulate; `true` when it did and the guest may go on.
    pub(crate) fn emulate_iret(&mut self) -> bool {
        // SAFETY: the last exit was KVM_EXIT_INTERNAL_ERROR, so `internal` is the union member
        // the kernel filled in.
        let suberror = unsafe { self.fd.get_kvm_run().__bindgen_anon_1.internal.suberror };
        if suberror != kvm_bindings::KVM_INTERNAL_ERROR_EMULATION {
            return false;
        }
        let (Ok(regs), Ok(sregs)) = (self.regs(), self.sregs()) else {
            return false;
        };
        let Some((regs, sregs)) = self.iret(regs, sregs) else {
            return false;
        };
        self.set_sregs(&sregs).is_ok() && self.set_regs(&regs).is_ok()
    }

    fn iret(&self, mut regs: kvm_regs, mut sregs: kvm_sregs) -> Option<(kvm_regs, kvm_sregs)> {
        if sregs.cr0 & CR0_PE == 0 || regs.rflags & (EFLAGS_VM | EFLAGS_NT) != 0 {
            return None;
        }
        let long = sregs.cs.l != 0;
        let code = self.read_linear(sregs.cs.base.wrapping_add(regs.rip), 2)?;
        // IRETQ is REX.W + CF in 64-bit code; a 32-bit segment's plain CF is IRETD.
        let width: u64 = match (long, code[0], code[1]) {
            (true, 0x48, 0xCF) => 8,
            (false, 0xCF, _) if sregs.cs.db != 0 => 4,
            _ => return None,
        };
        let cpl = sregs.cs.selector & 3;
        let sp = if long {
            regs.rsp
        } else {
            regs.rsp & 0xFFFF_FFFF
        };
        let frame_len = if long { 5 } else { 3 };
        let frame =
            self.read_linear(sregs.ss.base.wrapping_add(sp), (width * frame_len) as usize)?;
        let word = |i: usize| {
            let mut b = [0u8; 8];
            b[..width as usize]
                .copy_from_slice(&frame[i * width as usize..(i + 1) * width as usize]);
            u64::from_le_bytes(b)
        };
        let (ip, cs, flags) = (word(0), word(1) as u16, word(2));
        if cs & 3 != cpl || cs & !3 == 0 {
            return None; // another privilege level, or a null selector: not ours to do
        }
        if cs != sregs.cs.selector {
            sregs.cs = self.descriptor(&sregs, cs)?;
        }
        if long {
            let (new_sp, ss) = (word(3), word(4) as u16);
            if ss != sregs.ss.selector {
                if ss & !3 == 0 {
                    sregs.ss.selector = ss; // a null SS is allowed at ring 0 in 64-bit mode
                } else {
                    sregs.ss = self.descriptor(&sregs, ss)?;
                }
            }
            regs.rsp = new_sp;
        } else {
            regs.rsp = (sp + width * frame_len) & 0xFFFF_FFFF;
        }
        regs.rip = ip;
        regs.rflags = (flags & 0x003F_7FD7) | 0x2;
        Some((regs, sregs))
    }

    /// Guest RAM at a linear address, through the guest's paging when it is on; `None` when any
    /// byte is unmapped or not RAM.
    pub fn read_linear(&self, linear: u64, len: usize) -> Option<Vec<u8>> {
        let paging = self.sregs().ok()?.cr0 & CR0_PG != 0;
        let mut out = Vec::with_capacity(len);
        while out.len() < len {
            let at = linear.wrapping_add(out.len() as u64);
            let n = ((0x1000 - (at & 0xFFF)) as usize).min(len - out.len());
            let physical = if paging { self.translate(at)? } else { at };
            let mut chunk = vec![0u8; n];
            self.memory()
                .read_slice(&mut chunk, GuestAddress(physical))
                .ok()?;
            out.extend_from_slice(&chunk);
        }
        Some(out)
    }

    /// The segment register a selector loads, from the GDT.
    fn descriptor(&self, sregs: &kvm_sregs, selector: u16) -> Option<kvm_segment> {
        if selector & 4 != 0 {
            return None; // LDT selectors: not supported
        }
        let index = u64::from(selector & !7);
        if index + 7 > u64::from(sregs.gdt.limit) {
            return None;
        }
        let raw = self.read_linear(sregs.gdt.base.wrapping_add(index), 8)?;
        let d = u64::from_le_bytes(raw.try_into().ok()?);
        let access = (d >> 40) as u8;
        let flags = (d >> 52) as u8 & 0xF;
        let present = access & 0x80 != 0;
        if !present {
            return None;
        }
        let granular = flags & 0x8 != 0;
        let raw_limit = ((d & 0xFFFF) | ((d >> 32) & 0xF_0000)) as u32;
        Some(kvm_segment {
            base: ((d >> 16) & 0xFF_FFFF) | ((d >> 32) & 0xFF00_0000),
            limit: if granular {
                (raw_limit << 12) | 0xFFF
            } else {
                raw_limit
            },
            selector,
            type_: access & 0xF,
            present: 1,
            dpl: (access >> 5) & 3,
            db: (flags >> 2) & 1,
            s: (access >> 4) & 1,
            l: (flags >> 1) & 1,
            g: u8::from(granular),
            avl: flags & 1,
            unusable: 0,
            padding: 0,
        })
    }
}
