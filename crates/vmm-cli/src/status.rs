//! The process exit statuses scripts rely on (docs/command-line.md).

use vmm_core::{Fault, RunOutcome};
use vmm_devices::debug_exit;

/// The guest halted, or asked for a reset (which ends the run, as QEMU's `-no-reboot` does),
/// or the control socket's `quit` ended it (QEMU's `quit` exits 0 too).
pub const HALTED: i32 = 0;
/// Bad usage, machine file, image or plugin.
pub const USAGE: i32 = 2;
/// The host could not run the machine: no usable /dev/kvm, or a KVM call failed. Even, so
/// that it never collides with a guest's isa-debug-exit status, which is always odd.
pub const HOST: i32 = 6;
/// The guest faulted: triple fault, KVM internal error, a device (plugin) failing an access,
/// an unclaimed access under `stop`.
pub const GUEST_FAULT: i32 = 4;
/// The `--timeout` passed.
pub const TIMEOUT: i32 = 124;
/// Interrupted by Ctrl-C (128 + SIGINT).
pub const INTERRUPTED: i32 = 130;
/// Ended by another signal: 128 + its number (SIGHUP 129, SIGQUIT 131, SIGTERM 143).
pub const SIGNALLED: i32 = 128;

/// The exit status for a run's outcome.
pub fn for_outcome(outcome: &RunOutcome) -> i32 {
    match outcome {
        RunOutcome::Halted
        | RunOutcome::Reset
        | RunOutcome::Quit
        | RunOutcome::DeviceHalted { .. } => HALTED,
        RunOutcome::GuestExit(v) => i32::from(debug_exit::exit_status(*v)),
        RunOutcome::Timeout => TIMEOUT,
        RunOutcome::Interrupted => INTERRUPTED,
        RunOutcome::Signal(signal) => SIGNALLED + signal,
        RunOutcome::Fault(Fault::Kvm(_)) => HOST,
        RunOutcome::DeviceFailed { .. } | RunOutcome::Fault(_) => GUEST_FAULT,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_for_outcome_guest_exit_uses_qemu_convention() {
        assert_eq!(for_outcome(&RunOutcome::GuestExit(0x10)), 0x21);
    }

    #[test]
    fn test_for_outcome_triple_fault_is_guest_fault() {
        assert_eq!(
            for_outcome(&RunOutcome::Fault(Fault::TripleFault)),
            GUEST_FAULT
        );
    }

    #[test]
    fn test_host_status_is_never_a_guest_exit_status() {
        assert_eq!(HOST % 2, 0);
    }

    #[test]
    fn test_for_outcome_sigterm_is_143() {
        assert_eq!(for_outcome(&RunOutcome::Signal(libc::SIGTERM)), 143);
    }

    #[test]
    fn test_for_outcome_timeout_is_124() {
        assert_eq!(for_outcome(&RunOutcome::Timeout), 124);
    }
}
