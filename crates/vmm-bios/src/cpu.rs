//! The guest's registers as a BIOS service sees them (real mode), and the interrupt frame the
//! `int` instruction pushed, whose flags image carries CF and ZF back to the caller.

use crate::machine::Machine;

/// FLAGS: carry.
pub const CF: u16 = 1 << 0;
/// FLAGS: zero.
pub const ZF: u16 = 1 << 6;
/// FLAGS: interrupts enabled.
pub const IF: u16 = 1 << 9;

/// The registers of a real-mode caller. The general registers are 32 bits wide: a few services
/// (E820) use EAX..EDX.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cpu {
    /// EAX.
    pub eax: u32,
    /// EBX.
    pub ebx: u32,
    /// ECX.
    pub ecx: u32,
    /// EDX.
    pub edx: u32,
    /// ESI.
    pub esi: u32,
    /// EDI.
    pub edi: u32,
    /// EBP.
    pub ebp: u32,
    /// ESP.
    pub esp: u32,
    /// Instruction pointer (just past the stub's `out`).
    pub ip: u16,
    /// Code segment.
    pub cs: u16,
    /// Data segment.
    pub ds: u16,
    /// Extra segment.
    pub es: u16,
    /// Stack segment.
    pub ss: u16,
}

macro_rules! reg16 {
    ($($get:ident $set:ident $field:ident;)*) => {$(
        #[doc = concat!("The low 16 bits of ", stringify!($field), ".")]
        pub fn $get(&self) -> u16 {
            self.$field as u16
        }
        #[doc = concat!("Sets the low 16 bits of ", stringify!($field), ".")]
        pub fn $set(&mut self, value: u16) {
            self.$field = (self.$field & 0xFFFF_0000) | u32::from(value);
        }
    )*};
}

macro_rules! reg8 {
    ($($lo:ident $hi:ident $set_lo:ident $set_hi:ident $field:ident;)*) => {$(
        #[doc = concat!("Bits 0-7 of ", stringify!($field), ".")]
        pub fn $lo(&self) -> u8 {
            self.$field as u8
        }
        #[doc = concat!("Bits 8-15 of ", stringify!($field), ".")]
        pub fn $hi(&self) -> u8 {
            (self.$field >> 8) as u8
        }
        #[doc = concat!("Sets bits 0-7 of ", stringify!($field), ".")]
        pub fn $set_lo(&mut self, value: u8) {
            self.$field = (self.$field & !0xFF) | u32::from(value);
        }
        #[doc = concat!("Sets bits 8-15 of ", stringify!($field), ".")]
        pub fn $set_hi(&mut self, value: u8) {
            self.$field = (self.$field & !0xFF00) | (u32::from(value) << 8);
        }
    )*};
}

impl Cpu {
    reg16! {
        ax set_ax eax; bx set_bx ebx; cx set_cx ecx; dx set_dx edx;
        si set_si esi; di set_di edi; bp set_bp ebp; sp set_sp esp;
    }
    reg8! {
        al ah set_al set_ah eax; bl bh set_bl set_bh ebx;
        cl ch set_cl set_ch ecx; dl dh set_dl set_dh edx;
    }

    /// The linear address of the code that trapped (the stub's `out`).
    pub fn trap_address(&self) -> u32 {
        (u32::from(self.cs) << 4) + u32::from(self.ip.wrapping_sub(2))
    }

    /// The linear address of `segment:offset`.
    pub fn linear(segment: u16, offset: u16) -> u32 {
        (u32::from(segment) << 4) + u32::from(offset)
    }

    /// Where the caller's FLAGS image is: the third word of the `int` frame at SS:SP.
    fn flags_address(&self) -> u32 {
        Self::linear(self.ss, self.sp().wrapping_add(4))
    }

    /// Sets or clears `bits` in the caller's FLAGS, which `iret` restores.
    pub fn set_caller_flag(&self, m: &mut dyn Machine, bits: u16, on: bool) {
        let at = self.flags_address();
        let flags = m.read_u16(at);
        m.write_u16(at, if on { flags | bits } else { flags & !bits });
    }

    /// Sets CF in the caller's FLAGS when `failed`, clears it otherwise.
    pub fn set_carry(&self, m: &mut dyn Machine, failed: bool) {
        self.set_caller_flag(m, CF, failed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_byte_and_word_views_share_the_register() {
        let mut cpu = Cpu {
            eax: 0x1234_5678,
            ..Cpu::default()
        };
        assert_eq!((cpu.ax(), cpu.ah(), cpu.al()), (0x5678, 0x56, 0x78));
        cpu.set_ah(0xAB);
        assert_eq!(cpu.eax, 0x1234_AB78);
        cpu.set_ax(0);
        assert_eq!(cpu.eax, 0x1234_0000);
    }

    #[test]
    fn test_trap_address_is_the_out_before_ip() {
        let cpu = Cpu {
            cs: 0xF000,
            ip: 0x1012,
            ..Cpu::default()
        };
        assert_eq!(cpu.trap_address(), 0xF1010);
    }
}
