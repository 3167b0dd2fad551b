//! Why a vCPU's run returned: the pause reasons a caller's policy decides on.

use std::fmt;

use kvm_bindings::kvm_debug_exit_arch;

use crate::control::StopReason;
use crate::exit::Access;

/// KVM's sub-error for an instruction it could not emulate.
pub const KVM_INTERNAL_ERROR_EMULATION: u32 = 1;
/// DR6 bit 14: the debug exception came from single-stepping.
const DR6_SINGLE_STEP: u64 = 1 << 14;
/// DR6 bits 0-3: which hardware breakpoint slot matched.
const DR6_BREAKPOINT_MASK: u64 = 0xF;

/// Why [`crate::Vcpu::run`] returned. Every event but a fault leaves the vCPU able to run on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VcpuEvent {
    /// The guest executed `hlt` with nothing to wake it.
    Halted,
    /// A stop was asked for through the control handle (a time limit, Ctrl-C, a device).
    Stopped(StopReason),
    /// A pause was asked for through the control handle.
    Paused,
    /// A debug event: a single step finished, or a hardware breakpoint or watchpoint hit.
    Debug(DebugEvent),
    /// The guest or KVM cannot go on.
    Fault(Fault),
}

/// A `KVM_EXIT_DEBUG`, decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DebugEvent {
    /// The exception vector (1 for #DB, 3 for #BP).
    pub exception: u32,
    /// The linear address of the next instruction.
    pub pc: u64,
    /// DR6 at the exit: which condition fired.
    pub dr6: u64,
    /// DR7 at the exit.
    pub dr7: u64,
}

impl From<kvm_debug_exit_arch> for DebugEvent {
    fn from(arch: kvm_debug_exit_arch) -> Self {
        DebugEvent {
            exception: arch.exception,
            pc: arch.pc,
            dr6: arch.dr6,
            dr7: arch.dr7,
        }
    }
}

impl DebugEvent {
    /// Whether a single step caused it.
    pub fn is_single_step(&self) -> bool {
        self.dr6 & DR6_SINGLE_STEP != 0
    }

    /// The hardware breakpoint slot (0-3) that matched, if one did.
    pub fn breakpoint_slot(&self) -> Option<usize> {
        let hits = self.dr6 & DR6_BREAKPOINT_MASK;
        (hits != 0).then(|| hits.trailing_zeros() as usize)
    }
}

/// Why the guest or KVM cannot go on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The guest triple-faulted (`KVM_EXIT_SHUTDOWN`).
    TripleFault,
    /// KVM could not go on (`KVM_EXIT_INTERNAL_ERROR`), most often an instruction it cannot
    /// emulate.
    InternalError {
        /// KVM's sub-error code (1 is an emulation failure).
        suberror: u32,
        /// Bytes at CS:IP, as far as they are in RAM.
        code: Vec<u8>,
    },
    /// The hardware refused to enter the guest (`KVM_EXIT_FAIL_ENTRY`).
    FailEntry {
        /// The hardware's reason code.
        reason: u64,
    },
    /// An access no device claims, under the `stop` policy.
    UnclaimedAccess(Access),
    /// An exit picovmm has no handler for.
    UnexpectedExit(String),
    /// `KVM_RUN` itself failed.
    Kvm(String),
    /// The guest's next instruction is where there is no memory (the interpreter's view of
    /// what KVM reports as an internal error with no code at CS:IP).
    CodeOutsideMemory,
    /// The interpreter met an instruction it does not implement (or a switch out of real
    /// mode, which it does not run yet): what, and where.
    Unsupported(String),
}

impl Fault {
    /// The fault's stable name, as `--stats-json` writes it.
    pub fn name(&self) -> &'static str {
        match self {
            Fault::TripleFault => "triple_fault",
            Fault::InternalError { .. } => "internal_error",
            Fault::FailEntry { .. } => "fail_entry",
            Fault::UnclaimedAccess(_) => "unclaimed_access",
            Fault::UnexpectedExit(_) => "unexpected_exit",
            Fault::Kvm(_) => "error",
            Fault::Unsupported(_) => "unsupported_instruction",
            Fault::CodeOutsideMemory => "code_outside_memory",
        }
    }

    /// Whether KVM could not emulate an instruction (for callers that explain it).
    pub fn is_emulation_failure(&self) -> bool {
        matches!(self, Fault::InternalError { suberror, .. } if *suberror == KVM_INTERNAL_ERROR_EMULATION)
    }
}

/// KVM's names for `KVM_EXIT_INTERNAL_ERROR` sub-errors.
pub fn internal_error_name(suberror: u32) -> &'static str {
    match suberror {
        1 => "emulation failure: KVM cannot emulate the instruction",
        2 => "simultaneous exceptions",
        3 => "exception while delivering an event",
        4 => "unexpected exit reason",
        _ => "unknown internal error",
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::TripleFault => write!(f, "the guest triple-faulted (KVM_EXIT_SHUTDOWN)"),
            Fault::InternalError { suberror, code } => {
                write!(
                    f,
                    "KVM internal error {suberror} ({})",
                    internal_error_name(*suberror)
                )?;
                if !code.is_empty() {
                    let hex: Vec<String> = code.iter().map(|b| format!("{b:02x}")).collect();
                    write!(f, "; code at CS:IP: {}", hex.join(" "))?;
                }
                Ok(())
            }
            Fault::FailEntry { reason } => write!(
                f,
                "KVM could not enter the guest (KVM_EXIT_FAIL_ENTRY, reason {reason:#x})"
            ),
            Fault::UnclaimedAccess(access) => write!(f, "unclaimed {access}"),
            Fault::UnexpectedExit(name) => write!(f, "unexpected vCPU exit {name}"),
            Fault::Kvm(e) => write!(f, "KVM_RUN failed: {e}"),
            Fault::Unsupported(what) => write!(f, "the interpreter cannot run {what}"),
            Fault::CodeOutsideMemory => write!(f, "the guest's next instruction is not in memory"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_internal_error_display_shows_code_bytes() {
        let fault = Fault::InternalError {
            suberror: 1,
            code: vec![0x0f, 0xc7, 0x0e],
        };
        assert_eq!(
            fault.to_string(),
            "KVM internal error 1 (emulation failure: KVM cannot emulate the instruction); \
             code at CS:IP: 0f c7 0e"
        );
    }

    #[test]
    fn test_debug_event_single_step_is_decoded_from_dr6() {
        let event = DebugEvent {
            exception: 1,
            pc: 0x7C01,
            dr6: 0xFFFF_4FF0,
            dr7: 0x400,
        };
        assert_eq!(
            (event.is_single_step(), event.breakpoint_slot()),
            (true, None)
        );
    }

    #[test]
    fn test_debug_event_breakpoint_slot_is_lowest_hit() {
        let event = DebugEvent {
            exception: 1,
            pc: 0x7C10,
            dr6: 0xFFFF_0FF4,
            dr7: 0x400,
        };
        assert_eq!(event.breakpoint_slot(), Some(2));
    }
}
