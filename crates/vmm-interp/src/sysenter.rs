//! SYSENTER and SYSEXIT: the fast system call of 32-bit kernels (Linux's vDSO enters the
//! kernel this way when CPUID advertises SEP). The segments are not read from the GDT: SYSENTER
//! loads flat ring-0 code and stack segments at IA32_SYSENTER_CS and the selector after it,
//! SYSEXIT flat ring-3 ones at SYSENTER_CS + 16 and + 24, as the processor does.

use crate::bus::Bus;
use crate::cpu::{Cpu, Exit, Segment, CS, SS};
use crate::flags::Flags;

/// IA32_SYSENTER_CS, _ESP, _EIP.
const SYSENTER_CS: u32 = 0x174;
const SYSENTER_ESP: u32 = 0x175;
const SYSENTER_EIP: u32 = 0x176;
/// Flat 32-bit code and data segments' attributes (G, D/B, present, DPL in bits 5-6).
const CODE: u16 = 0xC09B;
const DATA: u16 = 0xC093;
/// The general-protection exception.
const GP: u8 = 13;

fn flat(selector: u16, attrs: u16) -> Segment {
    Segment {
        selector,
        base: 0,
        limit: u32::MAX,
        attrs,
    }
}

impl Cpu {
    /// The SYSENTER MSR `index` (0 if never written).
    fn sysenter_msr(&self, index: u32) -> u32 {
        self.msrs.get(index).unwrap_or(0) as u32
    }

    /// 0Fh 34h: SYSENTER, to ring 0 at SYSENTER_EIP on SYSENTER_ESP; IF, VM and RF cleared.
    pub(crate) fn sysenter(&mut self, bus: &mut impl Bus) -> Exit {
        let cs = self.sysenter_msr(SYSENTER_CS) as u16 & !3;
        if !self.protected || cs == 0 {
            return self.fault(bus, GP);
        }
        self.flags &= !(Flags::IF | Flags::VM | 1 << 16);
        self.segs[CS] = flat(cs, CODE);
        self.segs[SS] = flat(cs.wrapping_add(8), DATA);
        self.regs[4] = self.sysenter_msr(SYSENTER_ESP);
        self.ip = self.sysenter_msr(SYSENTER_EIP);
        self.refresh_segments();
        Exit::Continue
    }

    /// 0Fh 35h: SYSEXIT, from ring 0 to ring 3 at EDX on the stack ECX.
    pub(crate) fn sysexit(&mut self, bus: &mut impl Bus) -> Exit {
        let cs = self.sysenter_msr(SYSENTER_CS) as u16 & !3;
        if !self.protected || cs == 0 || self.cpl() != 0 {
            return self.fault(bus, GP);
        }
        self.segs[CS] = flat(cs.wrapping_add(16) | 3, CODE | 3 << 5);
        self.segs[SS] = flat(cs.wrapping_add(24) | 3, DATA | 3 << 5);
        self.regs[4] = self.regs[1];
        self.ip = self.regs[2];
        self.refresh_segments();
        Exit::Continue
    }
}

#[cfg(test)]
mod tests {
    use crate::bus::FlatMemory;
    use crate::cpu::{Cpu, Exit, Model, Segment};

    fn flat_protected() -> Cpu {
        let mut cpu = Cpu::new(Model::I386);
        let seg = |selector, attrs| Segment {
            selector,
            base: 0,
            limit: u32::MAX,
            attrs,
        };
        cpu.segs = [
            seg(0x10, 0xC093),
            seg(0x08, 0xC09B),
            seg(0x10, 0xC093),
            seg(0x10, 0xC093),
            seg(0x10, 0xC093),
            seg(0x10, 0xC093),
        ];
        cpu.cr0 = 1;
        cpu.refresh_modes();
        cpu.msrs.restore(0x174, 0x60);
        cpu.msrs.restore(0x175, 0x9000);
        cpu.msrs.restore(0x176, 0x2000);
        cpu
    }

    #[test]
    fn test_a_sysenter_cs_at_the_top_wraps_its_selectors() {
        let mut memory = FlatMemory::new(1 << 20);
        memory.load(0x1000, &[0x0F, 0x34]);
        let mut cpu = flat_protected();
        cpu.msrs.restore(0x174, 0xFFFC);
        cpu.ip = 0x1000;

        assert_eq!(cpu.step(&mut memory), Exit::Continue);

        assert_eq!(
            (cpu.segs[1].selector, cpu.segs[2].selector),
            (0xFFFC, 0x0004)
        );
    }

    #[test]
    fn test_sysexit_then_sysenter_go_to_ring_3_and_back() {
        let mut memory = FlatMemory::new(1 << 20);
        memory.load(0x1000, &[0x0F, 0x35]); // sysexit
        memory.load(0x3000, &[0x0F, 0x34]); // sysenter (in ring 3)
        memory.load(0x2000, &[0xF4]);
        let mut cpu = flat_protected();
        cpu.ip = 0x1000;
        (cpu.regs[1], cpu.regs[2]) = (0x7000, 0x3000);

        assert_eq!(cpu.step(&mut memory), Exit::Continue);
        let user = (
            cpu.cpl(),
            cpu.segs[1].selector,
            cpu.segs[2].selector,
            cpu.regs[4],
        );
        assert_eq!(cpu.step(&mut memory), Exit::Continue);

        assert_eq!(user, (3, 0x73, 0x7B, 0x7000));
        assert_eq!(
            (cpu.cpl(), cpu.segs[1].selector, cpu.segs[2].selector),
            (0, 0x60, 0x68)
        );
        assert_eq!((cpu.ip, cpu.regs[4]), (0x2000, 0x9000));
    }
}
