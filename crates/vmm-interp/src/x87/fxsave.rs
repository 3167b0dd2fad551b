//! FXSAVE, FXRSTOR, LDMXCSR and STMXCSR (0Fh AEh /0-/3): the x87 and SSE state in FXSAVE's
//! 512-byte layout, as kernels save and restore a task's FPU. The interpreter keeps the SSE
//! registers and MXCSR (a hand-over to KVM carries them) but runs no SSE arithmetic: those
//! instructions go to KVM.

use crate::bus::Bus;
use crate::cpu::{Address, Cpu, Exit, DWORD};

/// MXCSR as after reset: every exception masked, round to nearest.
pub(crate) const MXCSR_RESET: u32 = 0x1F80;
/// The MXCSR bits that exist (FXSAVE's MXCSR_MASK): DAZ and everything below it.
const MXCSR_MASK: u32 = 0xFFFF;
/// The general-protection exception.
const GP: u8 = 13;

impl Cpu {
    /// 0Fh AEh /0-/3 with a memory operand at `at`.
    pub(crate) fn fx_state(&mut self, bus: &mut impl Bus, reg: u8, at: Address) -> Exit {
        let misaligned = self.linear(at.seg, at.offset) & 15 != 0;
        match reg {
            0 | 1 if misaligned => self.fault(bus, GP),
            0 => {
                self.fxsave(bus, at);
                Exit::Continue
            }
            1 => self.fxrstor(bus, at),
            2 => {
                let v = self.read(bus, at, DWORD);
                self.set_mxcsr(bus, v)
            }
            _ => {
                let v = self.fpu.mxcsr;
                self.write(bus, at, DWORD, v);
                Exit::Continue
            }
        }
    }

    fn at(base: Address, offset: u32) -> Address {
        Address {
            seg: base.seg,
            offset: base.offset.wrapping_add(offset),
        }
    }

    fn fxsave(&mut self, bus: &mut impl Bus, at: Address) {
        let fpu = &self.fpu;
        // FCW, FSW, the abridged tag byte (a bit per valid register), FOP; the instruction
        // and operand pointers are zeros (this x87 does not keep them).
        let header = u128::from(fpu.control)
            | u128::from(fpu.status) << 16
            | u128::from(!fpu.empty) << 32
            | u128::from(fpu.last_opcode) << 48;
        let mxcsr = u128::from(fpu.mxcsr) | u128::from(MXCSR_MASK) << 32;
        let stack: Vec<u128> = (0..8).map(|i| fpu.regs[fpu.physical(i)]).collect();
        let xmm = fpu.xmm;
        self.write_bytes(bus, at, 16, header);
        self.write_bytes(bus, Self::at(at, 16), 16, mxcsr << 64);
        for (i, value) in stack.into_iter().enumerate() {
            let slot = Self::at(at, 32 + 16 * i as u32);
            self.write_bytes(bus, slot, 16, value & ((1 << 80) - 1));
        }
        for (i, value) in xmm.into_iter().enumerate() {
            self.write_bytes(bus, Self::at(at, 160 + 16 * i as u32), 16, value);
        }
    }

    fn fxrstor(&mut self, bus: &mut impl Bus, at: Address) -> Exit {
        let header = self.read_bytes(bus, at, 16);
        let mxcsr = self.read_bytes(bus, Self::at(at, 24), 4) as u32;
        if mxcsr & !MXCSR_MASK != 0 {
            return self.fault(bus, GP);
        }
        let stack: Vec<u128> = (0..8)
            .map(|i| self.read_bytes(bus, Self::at(at, 32 + 16 * i), 10))
            .collect();
        let xmm: Vec<u128> = (0..8)
            .map(|i| self.read_bytes(bus, Self::at(at, 160 + 16 * i), 16))
            .collect();
        let fpu = &mut self.fpu;
        fpu.control = header as u16;
        fpu.status = (header >> 16) as u16;
        fpu.empty = !((header >> 32) as u8);
        fpu.last_opcode = (header >> 48) as u16 & 0x7FF;
        for (i, value) in stack.into_iter().enumerate() {
            let r = fpu.physical(i);
            fpu.regs[r] = value;
        }
        for (slot, value) in fpu.xmm.iter_mut().zip(xmm) {
            *slot = value;
        }
        fpu.mxcsr = mxcsr;
        Exit::Continue
    }

    fn set_mxcsr(&mut self, bus: &mut impl Bus, value: u32) -> Exit {
        if value & !MXCSR_MASK != 0 {
            return self.fault(bus, GP);
        }
        self.fpu.mxcsr = value;
        Exit::Continue
    }
}

#[cfg(test)]
mod tests {
    use crate::bus::{Bus, FlatMemory};
    use crate::cpu::{Cpu, Exit, Model};

    fn run(code: &[u8], cpu: &mut Cpu, memory: &mut FlatMemory) {
        memory.load(0x7C00, code);
        cpu.set_real_mode_entry(0, 0x7C00);
        while cpu.step(memory) == Exit::Continue {}
    }

    #[test]
    fn test_fxsave_then_fxrstor_brings_the_x87_and_sse_state_back() {
        // fldpi; fld1; fxsave [0x1000]; fninit; fxrstor [0x1000]; hlt
        let code = [
            0xD9, 0xEB, 0xD9, 0xE8, 0x0F, 0xAE, 0x06, 0x00, 0x10, 0xDB, 0xE3, 0x0F, 0xAE, 0x0E,
            0x00, 0x10, 0xF4,
        ];
        const XMM3: u128 = 0x0123_4567_89AB_CDEF_0011_2233_4455_6677;
        let mut reference = Cpu::new(Model::I386);
        run(
            &[0xD9, 0xEB, 0xD9, 0xE8, 0xF4],
            &mut reference,
            &mut FlatMemory::new(1 << 20),
        );
        let mut memory = FlatMemory::new(1 << 20);
        let mut cpu = Cpu::new(Model::I386);
        cpu.fpu.xmm[3] = XMM3;

        run(&code, &mut cpu, &mut memory);

        assert_eq!(cpu.fpu.regs, reference.fpu.regs);
        assert_eq!(
            (cpu.fpu.status, cpu.fpu.empty),
            (reference.fpu.status, reference.fpu.empty)
        );
        assert_eq!(cpu.fpu.xmm[3], XMM3);
        assert_eq!(memory.read32(0x1000 + 24), 0x1F80); // MXCSR
        assert_eq!(memory.read16(0x1000 + 4) & 0xFF, 0xC0); // two registers valid
    }

    #[test]
    fn test_ldmxcsr_with_a_reserved_bit_is_a_general_protection_fault() {
        // ldmxcsr [0x1000]; hlt (the IVT's empty entries lead to a `hlt` at 0)
        let mut memory = FlatMemory::new(1 << 20);
        memory.load(0, &[0xF4]);
        memory.write32(0x1000, 0x1_0000);
        let mut cpu = Cpu::new(Model::I386);

        run(&[0x0F, 0xAE, 0x16, 0x00, 0x10, 0xF4], &mut cpu, &mut memory);

        assert_eq!((cpu.fpu.mxcsr, cpu.ip), (0x1F80, 1));
    }
}
