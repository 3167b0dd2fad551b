//! Model-specific registers, RDMSR and WRMSR: the ones a 32-bit kernel reads and writes as it
//! boots (EFER, the time-stamp counter, PAT, MISC_ENABLE, SYSENTER's, the microcode revision,
//! the machine-check and MTRR capabilities, which say there are none), kept as values, with the
//! power-on values picovmm's KVM vCPU starts with. Another MSR is #GP(0), as on a CPU that
//! does not have it (kernels probe optional MSRs that way); the CPUID the interpreter shows
//! advertises none that it lacks (`vmm-core`'s `cpuid.rs`).

use crate::bus::Bus;
use crate::cpu::{Cpu, Exit};

/// The general-protection exception: a read-only MSR written, a bit EFER does not have.
const GP: u8 = 13;

/// IA32_TIME_STAMP_COUNTER: what RDTSC reads.
pub const TSC: u32 = 0x10;
/// IA32_EFER.
pub const EFER: u32 = 0xC000_0080;
/// EFER.LME: long mode enabled (active once paging is on, which the interpreter hands to KVM).
pub const EFER_LME: u64 = 1 << 8;
/// EFER's bits a write keeps: SCE (SYSCALL), LME and NXE (no-execute pages).
const EFER_WRITABLE: u64 = 1 | EFER_LME | 1 << 11;

/// The MSRs kept besides EFER and the TSC: index, power-on value, whether WRMSR may change it.
const KEPT: [(u32, u64, bool); 18] = [
    (0x17, 0, false),                     // IA32_PLATFORM_ID
    (0x8B, 0, true),                      // IA32_BIOS_SIGN_ID: the microcode revision
    (0xFE, 0, false),                     // IA32_MTRRCAP: no MTRRs
    (0x174, 0, true),                     // IA32_SYSENTER_CS
    (0x175, 0, true),                     // IA32_SYSENTER_ESP
    (0x176, 0, true),                     // IA32_SYSENTER_EIP
    (0x179, 0, false),                    // IA32_MCG_CAP: no machine-check banks
    (0x17A, 0, true),                     // IA32_MCG_STATUS
    (0x1A0, 1, true),                     // IA32_MISC_ENABLE: fast strings
    (0x1D9, 0, true),                     // IA32_DEBUGCTL
    (0x277, 0x0007_0406_0007_0406, true), // IA32_PAT: WB, WT, UC-, UC, twice
    (0x2FF, 0, true),                     // IA32_MTRR_DEF_TYPE
    (0xC000_0081, 0, true),               // STAR
    (0xC000_0082, 0, true),               // LSTAR
    (0xC000_0083, 0, true),               // CSTAR
    (0xC000_0084, 0, true),               // SYSCALL_MASK
    (0xC000_0102, 0, true),               // KERNEL_GS_BASE
    (0xC000_0103, 0, true),               // TSC_AUX
];

/// The MSRs the interpreter keeps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Msrs {
    /// EFER (LMA is never set: the interpreter does not run long mode).
    pub efer: u64,
    /// Added to the bus's time stamp: what a write to the TSC set.
    pub tsc_offset: u64,
    values: [u64; KEPT.len()],
}

impl Default for Msrs {
    fn default() -> Msrs {
        Msrs {
            efer: 0,
            tsc_offset: 0,
            values: KEPT.map(|(_, value, _)| value),
        }
    }
}

impl Msrs {
    /// The value of MSR `index` kept here (EFER included, the TSC not: it runs).
    pub fn get(&self, index: u32) -> Option<u64> {
        if index == EFER {
            return Some(self.efer);
        }
        let i = KEPT.iter().position(|&(kept, _, _)| kept == index)?;
        Some(self.values[i])
    }

    /// Sets MSR `index` as a hand-over or a snapshot restores it (read-only ones too); false
    /// for one not kept here.
    pub fn restore(&mut self, index: u32, value: u64) -> bool {
        if index == EFER {
            self.efer = value & EFER_WRITABLE;
            return true;
        }
        match KEPT.iter().position(|&(kept, _, _)| kept == index) {
            Some(i) => {
                self.values[i] = value;
                true
            }
            None => false,
        }
    }

    /// Every MSR kept but EFER, as (index, value).
    pub fn entries(&self) -> impl Iterator<Item = (u32, u64)> + '_ {
        KEPT.iter()
            .zip(self.values)
            .map(|(&(index, _, _), v)| (index, v))
    }

    /// Whether WRMSR may write MSR `index` (kept, and not read-only).
    fn writable(index: u32) -> bool {
        index == EFER || KEPT.iter().any(|&(kept, _, w)| kept == index && w)
    }
}

impl Cpu {
    /// 0Fh 32h: RDMSR, ECX's MSR into EDX:EAX (ring 0 only).
    pub(crate) fn rdmsr(&mut self, bus: &mut impl Bus) -> Exit {
        if !self.ring0() {
            return Exit::Continue;
        }
        let index = self.reg(1, 4);
        let value = match index {
            TSC => bus
                .time_stamp(self.executed)
                .wrapping_add(self.msrs.tsc_offset),
            _ => match self.msrs.get(index) {
                Some(value) => value,
                None => return self.fault(bus, GP),
            },
        };
        self.set_reg(0, 4, value as u32);
        self.set_reg(2, 4, (value >> 32) as u32);
        Exit::Continue
    }

    /// 0Fh 30h: WRMSR, EDX:EAX into ECX's MSR (ring 0 only). Writing a read-only MSR, or
    /// bits EFER does not have, or an MSR not kept here, is #GP(0); so is changing EFER.LME
    /// while paging is on.
    pub(crate) fn wrmsr(&mut self, bus: &mut impl Bus) -> Exit {
        if !self.ring0() {
            return Exit::Continue;
        }
        let index = self.reg(1, 4);
        let value = u64::from(self.reg(2, 4)) << 32 | u64::from(self.reg(0, 4));
        let lme_changes = (value ^ self.msrs.efer) & EFER_LME != 0;
        match index {
            TSC => self.msrs.tsc_offset = value.wrapping_sub(bus.time_stamp(self.executed)),
            EFER if value & !EFER_WRITABLE != 0 || (lme_changes && self.paging) => {
                return self.fault(bus, GP);
            }
            _ if Msrs::writable(index) => {
                self.msrs.restore(index, value);
            }
            _ => return self.fault(bus, GP),
        }
        Exit::Continue
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bus::FlatMemory;
    use crate::cpu::Model;

    /// Runs `code` in real mode from 0000:7C00 until it halts (or 20 instructions).
    fn run(code: &[u8], ecx: u32, edx_eax: u64) -> Cpu {
        let mut memory = FlatMemory::new(1 << 20);
        memory.load(0, &[0xF4]); // where the IVT's empty entries lead
        memory.load(0x7C00, code);
        memory.load(0x7C00 + code.len() as u32, &[0xF4]);
        let mut cpu = Cpu::new(Model::I386);
        cpu.set_real_mode_entry(0, 0x7C00);
        cpu.regs[1] = ecx;
        cpu.regs[0] = edx_eax as u32;
        cpu.regs[2] = (edx_eax >> 32) as u32;
        for _ in 0..20 {
            if cpu.step(&mut memory) != Exit::Continue {
                break;
            }
        }
        cpu
    }

    #[test]
    fn test_rdmsr_reads_pat_at_its_power_on_value() {
        let cpu = run(&[0x0F, 0x32], 0x277, 0);

        assert_eq!((cpu.regs[2], cpu.regs[0]), (0x0007_0406, 0x0007_0406));
    }

    #[test]
    fn test_wrmsr_then_rdmsr_gives_back_sysenter_eip() {
        // wrmsr; xor eax, eax; xor edx, edx; rdmsr
        let code = [0x0F, 0x30, 0x66, 0x31, 0xC0, 0x66, 0x31, 0xD2, 0x0F, 0x32];

        let cpu = run(&code, 0x176, 0x1234_5678);

        assert_eq!(cpu.regs[0], 0x1234_5678);
        assert_eq!(cpu.msrs.get(0x176), Some(0x1234_5678));
    }

    #[test]
    fn test_wrmsr_keeps_efers_lme_and_nxe() {
        let cpu = run(&[0x0F, 0x30], EFER, 0x901);

        assert_eq!(cpu.msrs.efer, 0x901);
    }

    #[test]
    fn test_wrmsr_to_a_read_only_msr_is_a_general_protection_fault() {
        // Real mode: #GP is vector 13 through the IVT, whose entry 0:0 runs a `hlt` at 0.
        let cpu = run(&[0x0F, 0x30], 0xFE, 5);

        assert_eq!(cpu.msrs.get(0xFE), Some(0));
        assert_eq!(cpu.ip, 1);
    }

    #[test]
    fn test_rdmsr_of_an_msr_not_kept_here_is_a_general_protection_fault() {
        let cpu = run(&[0x0F, 0x32], 0x3A, 0); // IA32_FEATURE_CONTROL

        assert_eq!(cpu.ip, 1);
    }

    #[test]
    fn test_the_tsc_msr_moves_rdtsc() {
        // wrmsr (TSC := 1000); rdtsc: FlatMemory's time stamp is the instruction count.
        let cpu = run(&[0x0F, 0x30, 0x0F, 0x31], TSC, 1000);

        assert_eq!(cpu.regs[0], 1000 + 1);
    }
}
