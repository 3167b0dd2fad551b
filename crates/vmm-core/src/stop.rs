//! Asking a running vCPU to stop, from any thread or from a signal handler.
//!
//! A vCPU spinning in guest code (`jmp $`) never exits on its own, so setting a flag is not
//! enough. The standard pattern (Firecracker, Cloud Hypervisor): record the reason, then send a
//! real-time signal to the vCPU thread. The signal's handler sets `immediate_exit` in that
//! thread's `kvm_run`, so `KVM_RUN` returns `EINTR` whether the signal lands while the guest runs
//! or while the thread is in userspace about to re-enter it.

use std::cell::Cell;
use std::ptr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Once};

use kvm_bindings::kvm_run;

/// Why a run was asked to stop from outside the guest's own exits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// The run's time limit passed.
    Timeout,
    /// The user interrupted it (Ctrl-C).
    Interrupted,
    /// A device (isa-debug-exit, a plugin) asked to end the run with this value.
    GuestExit(u32),
    /// A device failed an access (a plugin returned an error or panicked).
    DeviceFailed,
}

const NO_REASON: u64 = 0;
const TIMEOUT: u64 = 1;
const INTERRUPTED: u64 = 2;
const GUEST_EXIT: u64 = 3;
const DEVICE_FAILED: u64 = 4;

impl StopReason {
    fn encode(self) -> u64 {
        match self {
            StopReason::Timeout => TIMEOUT,
            StopReason::Interrupted => INTERRUPTED,
            StopReason::GuestExit(v) => GUEST_EXIT | (u64::from(v) << 8),
            StopReason::DeviceFailed => DEVICE_FAILED,
        }
    }

    fn decode(raw: u64) -> Option<Self> {
        match raw & 0xFF {
            TIMEOUT => Some(StopReason::Timeout),
            INTERRUPTED => Some(StopReason::Interrupted),
            GUEST_EXIT => Some(StopReason::GuestExit((raw >> 8) as u32)),
            DEVICE_FAILED => Some(StopReason::DeviceFailed),
            _ => None,
        }
    }
}

#[derive(Default)]
struct Shared {
    /// The first reason given, encoded; 0 while none.
    reason: AtomicU64,
    /// The vCPU thread's `pthread_t` while it runs; 0 otherwise.
    thread: AtomicU64,
}

/// A cloneable handle that stops a machine's run. Cheap, lock-free and async-signal-safe.
#[derive(Clone, Default)]
pub struct StopHandle {
    shared: Arc<Shared>,
}

impl StopHandle {
    /// Asks the run to stop. The first reason wins; later calls only kick the vCPU again.
    pub fn stop(&self, reason: StopReason) {
        let _ = self.shared.reason.compare_exchange(
            NO_REASON,
            reason.encode(),
            Ordering::SeqCst,
            Ordering::SeqCst,
        );
        let thread = self.shared.thread.load(Ordering::SeqCst);
        if thread != 0 {
            // SAFETY: `thread` is the pthread_t of the vCPU thread, stored by `attach` while
            // that thread runs; the kick signal has a handler (installed by `attach`), so it
            // cannot kill the process. pthread_kill is async-signal-safe.
            unsafe { libc::pthread_kill(thread as libc::pthread_t, kick_signal()) };
        }
    }

    /// The reason given so far, if any.
    pub fn reason(&self) -> Option<StopReason> {
        StopReason::decode(self.shared.reason.load(Ordering::SeqCst))
    }

    /// Registers the calling thread as the vCPU thread and `run` as its `kvm_run`, until the
    /// returned guard is dropped.
    pub(crate) fn attach(&self, run: *mut kvm_run) -> Attached<'_> {
        install_kick_handler();
        KVM_RUN.with(|p| p.set(run));
        // SAFETY: pthread_self has no preconditions.
        let me = unsafe { libc::pthread_self() };
        self.shared.thread.store(me as u64, Ordering::SeqCst);
        Attached { handle: self }
    }
}

/// Keeps a vCPU thread registered with its [`StopHandle`].
pub(crate) struct Attached<'a> {
    handle: &'a StopHandle,
}

impl Drop for Attached<'_> {
    fn drop(&mut self) {
        self.handle.shared.thread.store(0, Ordering::SeqCst);
        KVM_RUN.with(|p| p.set(ptr::null_mut()));
    }
}

thread_local! {
    /// This thread's `kvm_run`, while it is a vCPU thread.
    static KVM_RUN: Cell<*mut kvm_run> = const { Cell::new(ptr::null_mut()) };
}

/// The signal that kicks a vCPU thread out of `KVM_RUN`.
fn kick_signal() -> libc::c_int {
    libc::SIGRTMIN()
}

extern "C" fn on_kick(_signal: libc::c_int) {
    // `try_with`: never panic in a signal handler, even during thread teardown.
    let _ = KVM_RUN.try_with(|p| {
        let run = p.get();
        if !run.is_null() {
            // SAFETY: `run` is this thread's mapped `kvm_run`, registered by `attach` and cleared
            // before the mapping can go away. A volatile byte store is what the kernel reads.
            unsafe { ptr::addr_of_mut!((*run).immediate_exit).write_volatile(1) };
        }
    });
}

fn install_kick_handler() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: a zeroed sigaction is a valid "no flags, empty mask" value; we set the
        // handler to a function that only touches a thread-local pointer and a byte of kvm_run,
        // which is async-signal-safe. No SA_RESTART: KVM_RUN must return EINTR.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_kick as *const () as libc::sighandler_t;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(kick_signal(), &action, ptr::null_mut());
        }
    });
}

/// Clears `immediate_exit` so the next `KVM_RUN` enters the guest again.
pub(crate) fn clear_immediate_exit(run: &mut kvm_run) {
    // SAFETY: `run` is a valid, exclusively borrowed kvm_run; volatile so the store is not
    // merged with the signal handler's.
    unsafe { ptr::addr_of_mut!(run.immediate_exit).write_volatile(0) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_stop_first_reason_wins() {
        let handle = StopHandle::default();
        handle.stop(StopReason::Timeout);
        handle.stop(StopReason::Interrupted);
        assert_eq!(handle.reason(), Some(StopReason::Timeout));
    }

    #[test]
    fn test_stop_guest_exit_keeps_full_value() {
        let handle = StopHandle::default();
        handle.stop(StopReason::GuestExit(0xDEAD_BEEF));
        assert_eq!(handle.reason(), Some(StopReason::GuestExit(0xDEAD_BEEF)));
    }

    #[test]
    fn test_reason_before_stop_is_none() {
        assert_eq!(StopHandle::default().reason(), None);
    }
}
