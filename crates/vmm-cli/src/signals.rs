//! Signals that end a run: SIGINT (Ctrl-C), SIGTERM, SIGHUP and SIGQUIT stop the running
//! machine instead of killing the process, so the screen is still printed, the terminal is
//! restored and the exit status says what happened (130 for SIGINT, 128 + the signal for the
//! others, as shells report them).
//!
//! The handler does only what is async-signal-safe: an atomic load of the vCPU's control handle
//! and `VcpuControl::stop_from_signal_handler` (atomics and the kick). It is installed with
//! vmm-sys-util, as the kick's is (no `SA_RESTART`: a thread blocked in a read sees `EINTR` and
//! retries, as the stdin reader does).
//! (A `sigwait` thread would do the same at the cost of a thread per run, about 5% of the
//! sample's whole run here.)

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use vmm_core::{StopReason, VcpuControl};

/// The signals that stop a run.
pub const STOP_SIGNALS: [libc::c_int; 4] =
    [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT];

static RUNNING: OnceLock<VcpuControl> = OnceLock::new();

/// Stop signals received so far.
static RECEIVED: AtomicUsize = AtomicUsize::new(0);

/// How many stop signals arrived: a second one means "now", even while guest output drains.
pub fn received() -> usize {
    RECEIVED.load(Ordering::SeqCst)
}

extern "C" fn on_stop_signal(signal: libc::c_int, _: *mut libc::siginfo_t, _: *mut libc::c_void) {
    RECEIVED.fetch_add(1, Ordering::SeqCst);
    // OnceLock::get is an atomic load; stop_from_signal_handler is async-signal-safe.
    if let Some(control) = RUNNING.get() {
        control.stop_from_signal_handler(stop_reason(signal));
    }
}

/// Routes the stop signals to `control` for the rest of the process.
pub fn stop_on_signals(control: VcpuControl) -> std::io::Result<()> {
    if RUNNING.set(control).is_err() {
        return Ok(());
    }
    for signal in STOP_SIGNALS {
        vmm_sys_util::signal::register_signal_handler(signal, on_stop_signal)
            .map_err(|e| std::io::Error::from_raw_os_error(e.errno()))?;
    }
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
