//! The vCPU's registers as gdb sees them.
//!
//! In real mode gdb's program counter is the linear address CS*16+IP: gdb knows nothing of
//! segments, and a PC of IP alone is wrong whenever CS is not 0 (breakpoints, `x/i $pc`,
//! backtraces). A PC gdb writes is turned back into IP within the current CS when it falls in
//! CS's 64 KiB, and into a new CS:IP (IP below 16) when it does not. Segment selectors gdb
//! writes in real mode reload the segment's base (selector*16); in protected and long mode
//! they are left alone, since a selector means nothing without its descriptor. The x87's
//! registers are read (ST(0)-ST(7), control, status and the full tag word gdb wants, made from
//! the abridged one); writes to them are ignored.

use gdbstub_arch::x86::reg::{X86CoreRegs, X86SegmentRegs, X86_64CoreRegs, X87FpuInternalRegs};
use kvm_bindings::{kvm_fpu, kvm_regs, kvm_segment, kvm_sregs};

const CR0_PE: u64 = 1;
const EFER_LMA: u64 = 1 << 10;

/// The CPU mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Real mode: 16-bit code, segments are selector*16.
    Real,
    /// Protected mode without long mode.
    Protected,
    /// Long mode (64-bit or compatibility code).
    Long,
}

impl Mode {
    /// The mode the segment and control registers say.
    pub fn of(sregs: &kvm_sregs) -> Mode {
        if sregs.efer & EFER_LMA != 0 {
            Mode::Long
        } else if sregs.cr0 & CR0_PE != 0 {
            Mode::Protected
        } else {
            Mode::Real
        }
    }
}

/// The linear address of CS:IP in real mode, or RIP otherwise.
pub fn pc(regs: &kvm_regs, sregs: &kvm_sregs) -> u64 {
    match Mode::of(sregs) {
        Mode::Real => sregs.cs.base.wrapping_add(regs.rip & 0xFFFF),
        _ => regs.rip,
    }
}

/// Sets the PC to `linear`: in real mode through CS:IP, as the module says.
pub fn set_pc(regs: &mut kvm_regs, sregs: &mut kvm_sregs, linear: u64) {
    if Mode::of(sregs) != Mode::Real {
        regs.rip = linear;
        return;
    }
    match linear.checked_sub(sregs.cs.base) {
        Some(ip) if ip <= 0xFFFF => regs.rip = ip,
        // Above 1 MiB only FFFF:xxxx reaches (the high memory area, up to 0x10FFEF).
        _ if linear > 0xF_FFFF => {
            load_real_segment(&mut sregs.cs, 0xFFFF);
            regs.rip = (linear - 0xF_FFF0).min(0xFFFF);
        }
        _ => {
            load_real_segment(&mut sregs.cs, (linear >> 4) as u16);
            regs.rip = linear & 0xF;
        }
    }
}

fn load_real_segment(segment: &mut kvm_segment, selector: u16) {
    segment.selector = selector;
    segment.base = u64::from(selector) << 4;
}

fn segments(sregs: &kvm_sregs) -> X86SegmentRegs {
    X86SegmentRegs {
        cs: sregs.cs.selector.into(),
        ss: sregs.ss.selector.into(),
        ds: sregs.ds.selector.into(),
        es: sregs.es.selector.into(),
        fs: sregs.fs.selector.into(),
        gs: sregs.gs.selector.into(),
    }
}

fn set_segments(sregs: &mut kvm_sregs, from: &X86SegmentRegs) {
    if Mode::of(sregs) != Mode::Real {
        return;
    }
    for (segment, selector) in [
        (&mut sregs.cs, from.cs),
        (&mut sregs.ss, from.ss),
        (&mut sregs.ds, from.ds),
        (&mut sregs.es, from.es),
        (&mut sregs.fs, from.fs),
        (&mut sregs.gs, from.gs),
    ] {
        let selector = (selector & 0xFFFF) as u16;
        if segment.selector != selector {
            load_real_segment(segment, selector);
        }
    }
}

/// The x87's registers as gdb lays them out: ST(0)-ST(7) and the control, status and full tag
/// words (00 valid, 01 zero, 10 special, 11 empty, by physical register).
fn x87(fpu: &kvm_fpu) -> ([[u8; 10]; 8], X87FpuInternalRegs) {
    let mut st = [[0u8; 10]; 8];
    for (out, reg) in st.iter_mut().zip(&fpu.fpr) {
        out.copy_from_slice(&reg[..10]);
    }
    let top = usize::from((fpu.fsw >> 11) & 7);
    let mut tags = 0u32;
    for (i, value) in st.iter().enumerate() {
        let physical = (top + i) & 7;
        let exponent = u16::from_le_bytes([value[8], value[9]]) & 0x7FFF;
        let significand = u64::from_le_bytes([
            value[0], value[1], value[2], value[3], value[4], value[5], value[6], value[7],
        ]);
        let tag = if fpu.ftwx & (1 << physical) == 0 {
            3
        } else if exponent == 0 && significand == 0 {
            1
        } else if exponent == 0 || exponent == 0x7FFF || significand >> 63 == 0 {
            2
        } else {
            0
        };
        tags |= tag << (2 * physical);
    }
    let internal = X87FpuInternalRegs {
        fctrl: fpu.fcw.into(),
        fstat: fpu.fsw.into(),
        ftag: tags,
        fop: fpu.last_opcode.into(),
        ..Default::default()
    };
    (st, internal)
}

/// A gdb register file that converts to and from KVM's registers. The SSE registers read as
/// 0; writes to them and to the x87's are ignored.
pub trait GdbRegs: Sized {
    /// gdb's view of the vCPU.
    fn from_kvm(regs: &kvm_regs, sregs: &kvm_sregs, fpu: &kvm_fpu) -> Self;
    /// Puts gdb's values into KVM's registers.
    fn to_kvm(&self, regs: &mut kvm_regs, sregs: &mut kvm_sregs);
}

impl GdbRegs for X86CoreRegs {
    fn from_kvm(r: &kvm_regs, s: &kvm_sregs, fpu: &kvm_fpu) -> Self {
        let (st, fpu) = x87(fpu);
        X86CoreRegs {
            eax: r.rax as u32,
            ecx: r.rcx as u32,
            edx: r.rdx as u32,
            ebx: r.rbx as u32,
            esp: r.rsp as u32,
            ebp: r.rbp as u32,
            esi: r.rsi as u32,
            edi: r.rdi as u32,
            eip: pc(r, s) as u32,
            eflags: r.rflags as u32,
            segments: segments(s),
            st,
            fpu,
            ..Default::default()
        }
    }

    fn to_kvm(&self, r: &mut kvm_regs, s: &mut kvm_sregs) {
        r.rax = self.eax.into();
        r.rcx = self.ecx.into();
        r.rdx = self.edx.into();
        r.rbx = self.ebx.into();
        r.rsp = self.esp.into();
        r.rbp = self.ebp.into();
        r.rsi = self.esi.into();
        r.rdi = self.edi.into();
        r.rflags = u64::from(self.eflags) | 0x2;
        set_segments(s, &self.segments);
        set_pc(r, s, self.eip.into());
    }
}

impl GdbRegs for X86_64CoreRegs {
    fn from_kvm(r: &kvm_regs, s: &kvm_sregs, fpu: &kvm_fpu) -> Self {
        let (st, fpu) = x87(fpu);
        X86_64CoreRegs {
            regs: [
                r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi, r.rbp, r.rsp, r.r8, r.r9, r.r10, r.r11,
                r.r12, r.r13, r.r14, r.r15,
            ],
            rip: pc(r, s),
            eflags: r.rflags as u32,
            segments: segments(s),
            st,
            fpu,
            ..Default::default()
        }
    }

    fn to_kvm(&self, r: &mut kvm_regs, s: &mut kvm_sregs) {
        let [rax, rbx, rcx, rdx, rsi, rdi, rbp, rsp, r8, r9, r10, r11, r12, r13, r14, r15] =
            self.regs;
        *r = kvm_regs {
            rax,
            rbx,
            rcx,
            rdx,
            rsi,
            rdi,
            rbp,
            rsp,
            r8,
            r9,
            r10,
            r11,
            r12,
            r13,
            r14,
            r15,
            rip: r.rip,
            rflags: u64::from(self.eflags) | 0x2,
        };
        set_segments(s, &self.segments);
        set_pc(r, s, self.rip);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn real(cs: u16, ip: u64) -> (kvm_regs, kvm_sregs) {
        let mut s = kvm_sregs::default();
        load_real_segment(&mut s.cs, cs);
        let r = kvm_regs {
            rip: ip,
            ..Default::default()
        };
        (r, s)
    }

    #[test]
    fn test_real_mode_pc_is_linear() {
        let (r, s) = real(0x07C0, 0x0010);
        assert_eq!(
            X86CoreRegs::from_kvm(&r, &s, &kvm_fpu::default()).eip,
            0x7C10
        );
    }

    #[test]
    fn test_pc_written_within_cs_moves_ip() {
        let (mut r, mut s) = real(0x07C0, 0);
        set_pc(&mut r, &mut s, 0x7C20);
        assert_eq!((s.cs.selector, r.rip), (0x07C0, 0x20));
    }

    #[test]
    fn test_pc_written_outside_cs_moves_cs() {
        let (mut r, mut s) = real(0x07C0, 0);
        set_pc(&mut r, &mut s, 0x2_0005); // past 07C0's 64 KiB, which ends at 0x17bff
        assert_eq!((s.cs.selector, s.cs.base, r.rip), (0x2000, 0x2_0000, 0x5));
    }

    #[test]
    fn test_pc_above_1_mib_uses_ffff() {
        // Found by the gdb_inputs fuzz target: 1 MiB read back as 0.
        let (mut r, mut s) = real(0x07C0, 0);
        set_pc(&mut r, &mut s, 0x10_0000);
        assert_eq!((s.cs.selector, r.rip), (0xFFFF, 0x10));
        assert_eq!(pc(&r, &s), 0x10_0000);
    }

    #[test]
    fn test_protected_mode_pc_is_eip() {
        let (mut r, mut s) = real(0x08, 0x1000);
        s.cr0 |= CR0_PE;
        s.cs.base = 0;
        assert_eq!(
            X86CoreRegs::from_kvm(&r, &s, &kvm_fpu::default()).eip,
            0x1000
        );
        set_pc(&mut r, &mut s, 0x2000);
        assert_eq!(r.rip, 0x2000);
    }

    #[test]
    fn test_segment_written_in_real_mode_reloads_base() {
        let (mut r, mut s) = real(0, 0x7C00);
        let mut g = X86CoreRegs::from_kvm(&r, &s, &kvm_fpu::default());
        g.segments.ds = 0xB800;
        g.to_kvm(&mut r, &mut s);
        assert_eq!(
            (s.ds.selector, s.ds.base, r.rip),
            (0xB800, 0xB_8000, 0x7C00)
        );
    }
}
