//! The debug registers: MOV to and from DR0-DR3, DR6 and DR7 (DR4 and DR5 are DR6 and DR7,
//! as with CR4.DE clear), ring 0 only. Kernels clear and save them as they start and switch
//! tasks; the values are kept, but the breakpoints they describe do not fire (picovmm's own
//! debugger sets breakpoints through the gdb stub instead).

use crate::bus::Bus;
use crate::cpu::{Cpu, Exit};

/// DR6 and DR7 as after reset.
pub(crate) const DR6_RESET: u32 = 0xFFFF_0FF0;
pub(crate) const DR7_RESET: u32 = 0x0000_0400;

/// DR0-DR3, DR6, DR7.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DebugRegisters {
    /// DR0-DR3: breakpoint addresses.
    pub addresses: [u32; 4],
    /// DR6: debug status.
    pub status: u32,
    /// DR7: debug control.
    pub control: u32,
}

impl Default for DebugRegisters {
    fn default() -> DebugRegisters {
        DebugRegisters {
            addresses: [0; 4],
            status: DR6_RESET,
            control: DR7_RESET,
        }
    }
}

impl Cpu {
    /// 0Fh 21h (MOV r32, DRn) and 0Fh 23h (MOV DRn, r32).
    pub(crate) fn move_debug(&mut self, bus: &mut impl Bus, to_debug: bool) -> Exit {
        let m = self.modrm(bus);
        if !self.ring0() {
            return Exit::Continue;
        }
        let rm = match m.rm {
            crate::decode::Operand::Reg(r) => r,
            crate::decode::Operand::Mem(_) => return self.fault(bus, 6),
        };
        let dr = usize::from(m.reg);
        if to_debug {
            let v = self.reg(rm, 4);
            match dr {
                0..=3 => self.debug.addresses[dr] = v,
                4 | 6 => self.debug.status = (v & 0xE00F) | DR6_RESET,
                _ => self.debug.control = (v & 0xFFFF_2BFF) | DR7_RESET,
            }
        } else {
            let v = match dr {
                0..=3 => self.debug.addresses[dr],
                4 | 6 => self.debug.status,
                _ => self.debug.control,
            };
            self.set_reg(rm, 4, v);
        }
        Exit::Continue
    }
}

#[cfg(test)]
mod tests {
    use crate::bus::FlatMemory;
    use crate::cpu::{Cpu, Exit, Model};

    #[test]
    fn test_dr7_written_reads_back_with_its_fixed_bit() {
        // mov eax, 0x155; mov dr7, eax; xor eax, eax; mov eax, dr7; hlt
        let code = [
            0x66, 0xB8, 0x55, 0x01, 0, 0, 0x0F, 0x23, 0xF8, 0x66, 0x31, 0xC0, 0x0F, 0x21, 0xF8,
            0xF4,
        ];
        let mut memory = FlatMemory::new(1 << 20);
        memory.load(0x7C00, &code);
        let mut cpu = Cpu::new(Model::I386);
        cpu.set_real_mode_entry(0, 0x7C00);

        while cpu.step(&mut memory) == Exit::Continue {}

        assert_eq!(cpu.regs[0], 0x555);
    }

    #[test]
    fn test_dr6_reads_its_reset_value() {
        // mov ebx, dr6; hlt
        let mut memory = FlatMemory::new(1 << 20);
        memory.load(0x7C00, &[0x0F, 0x21, 0xF3, 0xF4]);
        let mut cpu = Cpu::new(Model::I386);
        cpu.set_real_mode_entry(0, 0x7C00);

        while cpu.step(&mut memory) == Exit::Continue {}

        assert_eq!(cpu.regs[3], 0xFFFF_0FF0);
    }
}
