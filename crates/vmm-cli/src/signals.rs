//! Signals that end a run: SIGINT (Ctrl-C), SIGTERM, SIGHUP and SIGQUIT stop the running
//! machine instead of killing the process, so the screen is still printed, the terminal is
//! restored and the exit status says what happened (130 for SIGINT, 128 + the signal for the
//! others, as shells report them).
//!
//! The signals are blocked in every thread and taken by one thread of their own with
//! `sigwait`, which turns each into a stop request: no code runs in a signal handler but the
//! vCPU kick's one store.

use std::thread;

use vmm_core::{StopReason, VcpuControl};

/// The signals that stop a run.
pub const STOP_SIGNALS: [libc::c_int; 4] =
    [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT];

fn stop_set() -> libc::sigset_t {
    // SAFETY: a zeroed sigset_t is valid storage; sigemptyset and sigaddset initialise it and
    // only fail for invalid signal numbers, which these are not.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for signal in STOP_SIGNALS {
            libc::sigaddset(&mut set, signal);
        }
        set
    }
}

/// Blocks the stop signals in the calling thread and every thread it starts afterwards, and
/// starts the thread that turns them into stop requests to `control`. Call it before any
/// other thread starts.
pub fn stop_on_signals(control: VcpuControl) -> std::io::Result<()> {
    let set = stop_set();
    // SAFETY: `set` is an initialised signal set; the old mask is not wanted.
    let rc = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
    if rc != 0 {
        return Err(std::io::Error::from_raw_os_error(rc));
    }
    thread::Builder::new()
        .name("signals".into())
        .stack_size(SIGNAL_THREAD_STACK)
        .spawn(move || loop {
            let mut signal: libc::c_int = 0;
            // SAFETY: `set` is initialised and `signal` is valid storage for the result.
            if unsafe { libc::sigwait(&set, &mut signal) } != 0 {
                return;
            }
            control.stop(stop_reason(signal));
        })?;
    Ok(())
}

/// The stop reason for a signal.
fn stop_reason(signal: libc::c_int) -> StopReason {
    if signal == libc::SIGINT {
        StopReason::Interrupted
    } else {
        StopReason::Signal(signal)
    }
}

/// The signal thread only waits: a small stack keeps its start cheap.
const SIGNAL_THREAD_STACK: usize = 64 * 1024;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_sigint_is_interrupted() {
        assert_eq!(stop_reason(libc::SIGINT), StopReason::Interrupted);
    }

    #[test]
    fn test_sigterm_keeps_its_number() {
        assert_eq!(
            stop_reason(libc::SIGTERM),
            StopReason::Signal(libc::SIGTERM)
        );
    }
}
