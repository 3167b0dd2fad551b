//! Guest debugging as KVM offers it: single-stepping and the four hardware breakpoint slots
//! (DR0-DR3 with DR7's enable, type and length fields), set with `KVM_SET_GUEST_DEBUG`.

use kvm_bindings::{
    kvm_guest_debug, KVM_GUESTDBG_ENABLE, KVM_GUESTDBG_SINGLESTEP, KVM_GUESTDBG_USE_HW_BP,
};

/// How many hardware breakpoint slots x86 has.
pub const HW_BREAKPOINT_SLOTS: usize = 4;
/// DR7 bit 9 (GE): exact breakpoint detection, as debuggers set it.
const DR7_GE: u64 = 1 << 9;

/// What a hardware breakpoint watches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BreakOn {
    /// Executing the instruction at the address.
    Execute,
    /// Writes to the address range.
    Write,
    /// Reads or writes of the address range.
    Access,
}

/// One hardware breakpoint or watchpoint, at a linear address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HwBreakpoint {
    /// The linear address.
    pub addr: u64,
    /// What it watches.
    pub on: BreakOn,
    /// Bytes watched: 1, 2, 4 or 8 (1 for execution).
    pub len: u8,
}

/// The debugging a vCPU does.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GuestDebug {
    /// Stop after every instruction.
    pub single_step: bool,
    /// Up to four hardware breakpoints.
    pub breakpoints: Vec<HwBreakpoint>,
}

/// Why a debug setting cannot be given to KVM.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum DebugRegsError {
    /// More than four hardware breakpoints.
    #[error("x86 has {HW_BREAKPOINT_SLOTS} hardware breakpoint slots; {0} were asked for")]
    TooManyBreakpoints(usize),
    /// A watch length x86 cannot express.
    #[error("a hardware watchpoint covers 1, 2, 4 or 8 bytes, not {0}")]
    Length(u8),
}

impl GuestDebug {
    /// The `kvm_guest_debug` for this setting.
    pub fn to_kvm(&self) -> Result<kvm_guest_debug, DebugRegsError> {
        if self.breakpoints.len() > HW_BREAKPOINT_SLOTS {
            return Err(DebugRegsError::TooManyBreakpoints(self.breakpoints.len()));
        }
        let mut debug = kvm_guest_debug::default();
        let mut dr7 = 0u64;
        for (slot, bp) in self.breakpoints.iter().enumerate() {
            let rw: u64 = match bp.on {
                BreakOn::Execute => 0b00,
                BreakOn::Write => 0b01,
                BreakOn::Access => 0b11,
            };
            let len: u64 = match (bp.on, bp.len) {
                (BreakOn::Execute, _) | (_, 1) => 0b00,
                (_, 2) => 0b01,
                (_, 4) => 0b11,
                (_, 8) => 0b10,
                (_, other) => return Err(DebugRegsError::Length(other)),
            };
            debug.arch.debugreg[slot] = bp.addr;
            dr7 |= 0b11 << (slot * 2); // local and global enable
            dr7 |= (rw | len << 2) << (16 + slot * 4);
        }
        let mut control = 0;
        if self.single_step || !self.breakpoints.is_empty() {
            control |= KVM_GUESTDBG_ENABLE;
        }
        if self.single_step {
            control |= KVM_GUESTDBG_SINGLESTEP;
        }
        if !self.breakpoints.is_empty() {
            control |= KVM_GUESTDBG_USE_HW_BP;
            debug.arch.debugreg[7] = dr7 | DR7_GE;
        }
        debug.control = control;
        Ok(debug)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_single_step_sets_enable_and_singlestep() {
        let debug = GuestDebug {
            single_step: true,
            breakpoints: vec![],
        };
        let kvm = debug.to_kvm().expect("valid");
        assert_eq!(kvm.control, KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP);
    }

    #[test]
    fn test_write_watchpoint_in_slot_1_encodes_dr7() {
        let exec = HwBreakpoint {
            addr: 0x7C10,
            on: BreakOn::Execute,
            len: 1,
        };
        let watch = HwBreakpoint {
            addr: 0xB8000,
            on: BreakOn::Write,
            len: 2,
        };
        let kvm = GuestDebug {
            single_step: false,
            breakpoints: vec![exec, watch],
        }
        .to_kvm()
        .expect("valid");
        assert_eq!(kvm.arch.debugreg[1], 0xB8000);
        assert_eq!(kvm.arch.debugreg[7], 0b1111 | DR7_GE | (0b0101 << 20));
    }

    #[test]
    fn test_five_breakpoints_are_refused() {
        let bp = HwBreakpoint {
            addr: 0,
            on: BreakOn::Execute,
            len: 1,
        };
        let debug = GuestDebug {
            single_step: false,
            breakpoints: vec![bp; 5],
        };
        assert_eq!(debug.to_kvm(), Err(DebugRegsError::TooManyBreakpoints(5)));
    }
}
