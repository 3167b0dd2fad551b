//! Ctrl-C: SIGINT stops the running machine (outcome "interrupted", exit status 130) instead of
//! killing the process, so the screen is still printed and the terminal left as it was.

use std::sync::OnceLock;

use vmm_core::{StopHandle, StopReason};

static RUNNING: OnceLock<StopHandle> = OnceLock::new();

extern "C" fn on_sigint(_signal: libc::c_int) {
    // OnceLock::get is an atomic load and StopHandle::stop is async-signal-safe.
    if let Some(handle) = RUNNING.get() {
        handle.stop(StopReason::Interrupted);
    }
}

/// Routes SIGINT to `handle` for the rest of the process.
pub fn stop_on_sigint(handle: StopHandle) {
    if RUNNING.set(handle).is_err() {
        return;
    }
    // SAFETY: a zeroed sigaction is valid (no flags, empty mask); the handler only does an
    // atomic load, atomic stores and pthread_kill, all async-signal-safe.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_sigint as *const () as libc::sighandler_t;
        action.sa_flags = libc::SA_RESTART;
        libc::sigemptyset(&mut action.sa_mask);
        libc::sigaction(libc::SIGINT, &action, std::ptr::null_mut());
    }
}
