//! The instructions after the 486 that compiled code uses once CPUID advertises them (KVM's
//! table does, and the machine may be handed to KVM): CMOVcc (P6), CMPXCHG8B (Pentium), the
//! multi-byte NOP and the prefetch hints, the fences and CLFLUSH (and, in `x87/fxsave.rs`,
//! FXSAVE and FXRSTOR). On one CPU with no caches to
//! model, the hints, fences and flushes have nothing to do.

use crate::bus::Bus;
use crate::cpu::{Address, Cpu, Exit};
use crate::decode::Operand;
use crate::flags::Flags;

impl Cpu {
    /// 0Fh 40h-4Fh: CMOVcc r, r/m. The source is read whatever the condition, as a CPU does
    /// (a memory source can fault either way).
    pub(super) fn cmov(&mut self, bus: &mut impl Bus, op: u8) -> Exit {
        let size = self.osize();
        let m = self.modrm(bus);
        let v = self.get_rm(bus, &m, size);
        if self.condition(op & 0x0F) {
            self.set_reg(usize::from(m.reg), size, v);
        }
        Exit::Continue
    }

    /// 0Fh 0Dh and 18h-1Fh: PREFETCH hints and NOP r/m. The operand is decoded (its length
    /// counts) but memory is not touched.
    pub(super) fn hint(&mut self, bus: &mut impl Bus) -> Exit {
        self.modrm(bus);
        Exit::Continue
    }

    /// 0Fh AEh: FXSAVE, FXRSTOR, LDMXCSR, STMXCSR (/0-/3 with memory: `x87/fxsave.rs`),
    /// LFENCE, MFENCE, SFENCE (register forms of /5-/7) and CLFLUSH (/7 with memory). XSAVE's
    /// forms are not the interpreter's.
    pub(super) fn fence(&mut self, bus: &mut impl Bus) -> Exit {
        let m = self.modrm(bus);
        match (m.reg, m.rm) {
            (0..=3, Operand::Mem(at)) => self.fx_state(bus, m.reg, at),
            (5..=7, Operand::Reg(_)) | (7, Operand::Mem(_)) => Exit::Continue,
            _ => self.invalid(0x0F, 0xAE),
        }
    }

    /// 0Fh C7h /1: CMPXCHG8B m64. EDX:EAX against the quadword: equal, ECX:EBX is stored and ZF
    /// set; otherwise the quadword is loaded into EDX:EAX and ZF cleared. The destination is
    /// written either way (with its own value when unequal), as the Pentium does.
    pub(super) fn cmpxchg8b(&mut self, bus: &mut impl Bus) -> Exit {
        let m = self.modrm(bus);
        let (1, Operand::Mem(low)) = (m.reg, m.rm) else {
            return self.fault(bus, 6);
        };
        let high = Address {
            seg: low.seg,
            offset: low.offset.wrapping_add(4),
        };
        let old = [self.read(bus, low, 4), self.read(bus, high, 4)];
        let equal = old == [self.reg(0, 4), self.reg(2, 4)];
        let new = if equal {
            [self.reg(3, 4), self.reg(1, 4)]
        } else {
            old
        };
        self.write(bus, low, 4, new[0]);
        self.write(bus, high, 4, new[1]);
        if !equal {
            self.set_reg(0, 4, old[0]);
            self.set_reg(2, 4, old[1]);
        }
        self.set_flag(Flags::ZF, equal);
        Exit::Continue
    }
}

#[cfg(test)]
mod tests {
    use crate::bus::{Bus, FlatMemory};
    use crate::cpu::{Cpu, Exit, Model};

    const CODE: u16 = 0x7C00;
    const DATA: u32 = 0x500;

    /// Runs `code` (real mode, at 0000:7C00) for one instruction.
    fn one(code: &[u8], setup: impl FnOnce(&mut Cpu, &mut FlatMemory)) -> (Cpu, FlatMemory) {
        let mut memory = FlatMemory::new(1 << 20);
        memory.load(u32::from(CODE), code);
        let mut cpu = Cpu::new(Model::I386);
        cpu.set_real_mode_entry(0, CODE);
        setup(&mut cpu, &mut memory);
        assert_eq!(cpu.step(&mut memory), Exit::Continue);
        (cpu, memory)
    }

    #[test]
    fn test_cmpxchg8b_equal_stores_ecx_ebx_and_sets_zf() {
        let (cpu, mut memory) = one(&[0x0F, 0xC7, 0x0E, 0x00, 0x05], |cpu, memory| {
            memory.write32(DATA, 0x1111_1111);
            memory.write32(DATA + 4, 0x2222_2222);
            cpu.regs = [0x1111_1111, 0xCCCC, 0x2222_2222, 0xBBBB, 0, 0, 0, 0];
        });

        assert_eq!(
            (memory.read32(DATA), memory.read32(DATA + 4)),
            (0xBBBB, 0xCCCC)
        );
        assert!(cpu.flag(crate::flags::Flags::ZF));
    }

    #[test]
    fn test_cmpxchg8b_unequal_loads_edx_eax_and_clears_zf() {
        let (cpu, mut memory) = one(&[0x0F, 0xC7, 0x0E, 0x00, 0x05], |cpu, memory| {
            memory.write32(DATA, 0x1111_1111);
            memory.write32(DATA + 4, 0x2222_2222);
            cpu.regs = [5, 0xCCCC, 6, 0xBBBB, 0, 0, 0, 0];
            cpu.flags |= crate::flags::Flags::ZF;
        });

        assert_eq!((cpu.regs[0], cpu.regs[2]), (0x1111_1111, 0x2222_2222));
        assert_eq!(memory.read32(DATA), 0x1111_1111);
        assert!(!cpu.flag(crate::flags::Flags::ZF));
    }

    #[test]
    fn test_cmov_from_memory_moves_only_when_the_condition_holds() {
        let code = [0x0F, 0x44, 0x06, 0x00, 0x05]; // cmove ax, [0x500]
        let (taken, _) = one(&code, |cpu, memory| {
            memory.write16(DATA, 0x1234);
            cpu.flags |= crate::flags::Flags::ZF;
        });
        let (not_taken, _) = one(&code, |_, memory| memory.write16(DATA, 0x1234));

        assert_eq!((taken.regs[0], not_taken.regs[0]), (0x1234, 0));
    }

    #[test]
    fn test_multi_byte_nop_skips_its_whole_operand() {
        // nop dword [eax+eax*1+0x0] with an address-size prefix: 66 67 0F 1F 44 00 00.
        let (cpu, _) = one(&[0x66, 0x67, 0x0F, 0x1F, 0x44, 0x00, 0x00], |_, _| {});

        assert_eq!(cpu.ip, u32::from(CODE) + 7);
    }

    #[test]
    fn test_mfence_runs_and_xsave_is_not_the_interpreters() {
        let (fence, _) = one(&[0x0F, 0xAE, 0xF0], |_, _| {});
        let mut memory = FlatMemory::new(1 << 20);
        memory.load(u32::from(CODE), &[0x0F, 0xAE, 0x26, 0x00, 0x05]);
        let mut cpu = Cpu::new(Model::I386);
        cpu.set_real_mode_entry(0, CODE);

        let exit = cpu.step(&mut memory);

        assert_eq!(fence.ip, u32::from(CODE) + 3);
        assert!(matches!(exit, Exit::Unsupported { second: 0xAE, .. }));
    }
}
