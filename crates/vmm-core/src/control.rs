//! Asking a vCPU, from any thread, to stop, pause, resume or do work on its own thread.
//!
//! A vCPU spinning in guest code (`jmp $`) never exits on its own, so setting a flag is not
//! enough. The standard pattern (Firecracker, Cloud Hypervisor): record the request, then send
//! a real-time signal to the vCPU thread. The signal's handler sets `immediate_exit` in that
//! thread's `kvm_run`, so `KVM_RUN` returns `EINTR` whether the signal lands while the guest runs
//! or while the thread is in userspace about to re-enter it.
//!
//! The signal is sent without a race: a kick announces itself (`kicks_in_flight`) before it
//! reads the vCPU thread's id, and the vCPU thread, when it detaches, clears the id and then
//! waits until no kick is in flight. So a thread id is never signalled after its thread left.
//!
//! Work that must run on the vCPU thread (reading registers, writing memory, saving state) is
//! queued with [`VcpuControl::call`]; the vCPU serves it between two `KVM_RUN`s, or while it is
//! paused. Only [`VcpuControl::stop_from_signal_handler`] may be called from a signal handler.

use std::cell::Cell;
use std::collections::VecDeque;
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Once};

use kvm_bindings::kvm_run;

use crate::vcpu::CpuBackend;

/// Why a run was asked to stop from outside the guest's own exits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// The run's time limit passed.
    Timeout,
    /// The user interrupted it (Ctrl-C).
    Interrupted,
    /// A signal other than SIGINT asked the process to end (SIGTERM, SIGHUP, SIGQUIT).
    Signal(i32),
    /// A device (isa-debug-exit, a plugin) asked to end the run with this value.
    GuestExit(u32),
    /// A device failed an access (a plugin returned an error or panicked); the device's
    /// index in the board's registry says which.
    DeviceFailed(u32),
    /// A device (a plugin) ended the run as a halt; its index in the board's registry.
    DeviceHalted(u32),
    /// The guest asked for a reset of the machine.
    Reset,
    /// A front end (the control socket's `quit`) asked to end the run.
    Quit,
}

const NO_REASON: u64 = 0;
const TIMEOUT: u64 = 1;
const INTERRUPTED: u64 = 2;
const GUEST_EXIT: u64 = 3;
const DEVICE_FAILED: u64 = 4;
const SIGNAL: u64 = 5;
const RESET: u64 = 6;
const DEVICE_HALTED: u64 = 7;
const QUIT: u64 = 8;

impl StopReason {
    fn encode(self) -> u64 {
        match self {
            StopReason::Timeout => TIMEOUT,
            StopReason::Interrupted => INTERRUPTED,
            StopReason::Signal(s) => SIGNAL | (u64::from(s as u32) << 8),
            StopReason::GuestExit(v) => GUEST_EXIT | (u64::from(v) << 8),
            StopReason::DeviceFailed(d) => DEVICE_FAILED | (u64::from(d) << 8),
            StopReason::DeviceHalted(d) => DEVICE_HALTED | (u64::from(d) << 8),
            StopReason::Reset => RESET,
            StopReason::Quit => QUIT,
        }
    }

    fn decode(raw: u64) -> Option<Self> {
        let value = (raw >> 8) as u32;
        match raw & 0xFF {
            TIMEOUT => Some(StopReason::Timeout),
            INTERRUPTED => Some(StopReason::Interrupted),
            SIGNAL => Some(StopReason::Signal(value as i32)),
            GUEST_EXIT => Some(StopReason::GuestExit(value)),
            DEVICE_FAILED => Some(StopReason::DeviceFailed(value)),
            DEVICE_HALTED => Some(StopReason::DeviceHalted(value)),
            RESET => Some(StopReason::Reset),
            QUIT => Some(StopReason::Quit),
            _ => None,
        }
    }
}

/// How often a paused vCPU looks for a stop given from a signal handler.
pub const PAUSED_POLL: std::time::Duration = std::time::Duration::from_millis(20);

/// Work for the vCPU thread.
pub(crate) type Request = Box<dyn FnOnce(&mut dyn CpuBackend) + Send>;

#[derive(Default)]
struct Queue {
    requests: VecDeque<Request>,
    /// Set when the vCPU is gone: nothing will serve a request any more.
    closed: bool,
}

#[derive(Default)]
struct Shared {
    /// The first stop reason given, encoded; 0 while none.
    stop: AtomicU64,
    /// Whether a pause is asked for.
    pause: AtomicBool,
    /// Whether `queue` may hold requests (read on the hot path without the lock).
    pending: AtomicBool,
    /// The vCPU thread's `pthread_t` while it runs; 0 otherwise.
    thread: AtomicU64,
    /// Kicks between reading `thread` and signalling it.
    kicks_in_flight: AtomicUsize,
    /// An interrupt controller asserted INTR since the vCPU last looked.
    interrupt: AtomicBool,
    /// The vCPU waits in `hlt` for an interrupt (no kick needed: the condvar wakes it).
    halted: AtomicBool,
    queue: Mutex<Queue>,
    /// Wakes a paused vCPU: a resume, a stop or a request.
    wake: Condvar,
}

/// A cloneable handle on one vCPU: stop, pause, resume, kick, and work on its thread.
#[derive(Clone, Default)]
pub struct VcpuControl {
    shared: Arc<Shared>,
}

impl VcpuControl {
    /// Asks the run to stop. The first reason wins until the vCPU reports it; later calls only
    /// kick the vCPU again.
    pub fn stop(&self, reason: StopReason) {
        let _ = self.shared.stop.compare_exchange(
            NO_REASON,
            reason.encode(),
            Ordering::SeqCst,
            Ordering::SeqCst,
        );
        self.wake_paused();
        self.kick();
    }

    /// [`VcpuControl::stop`] for a signal handler: only atomic operations and the kick's
    /// `pthread_kill`, all async-signal-safe. A running vCPU stops at once; a paused one sees it
    /// within [`PAUSED_POLL`].
    pub fn stop_from_signal_handler(&self, reason: StopReason) {
        let _ = self.shared.stop.compare_exchange(
            NO_REASON,
            reason.encode(),
            Ordering::SeqCst,
            Ordering::SeqCst,
        );
        self.kick();
    }

    /// The stop reason given and not yet reported by the vCPU, if any.
    pub fn reason(&self) -> Option<StopReason> {
        StopReason::decode(self.shared.stop.load(Ordering::SeqCst))
    }

    /// Asks the vCPU to pause: its run returns [`crate::VcpuEvent::Paused`] (at once if it is
    /// spinning in guest code).
    pub fn pause(&self) {
        self.shared.pause.store(true, Ordering::SeqCst);
        self.kick();
    }

    /// Lets a paused vCPU go on.
    pub fn resume(&self) {
        self.shared.pause.store(false, Ordering::SeqCst);
        self.wake_paused();
    }

    /// Whether a pause is asked for.
    pub fn pause_requested(&self) -> bool {
        self.shared.pause.load(Ordering::SeqCst)
    }

    /// Makes the vCPU leave `KVM_RUN` once and look at its requests; the run goes on.
    pub fn kick(&self) {
        let shared = &self.shared;
        shared.kicks_in_flight.fetch_add(1, Ordering::SeqCst);
        let thread = shared.thread.load(Ordering::SeqCst);
        if thread != 0 {
            // SAFETY: `thread` is the pthread_t of the vCPU thread, stored by `attach`. That
            // thread cannot have left: `Attached::drop` clears `thread` and then waits until no
            // kick is in flight, and ours was announced before we read `thread`. The kick
            // signal has a handler (installed by `attach`), so it cannot kill the process.
            unsafe { libc::pthread_kill(thread as libc::pthread_t, kick_signal()) };
        }
        shared.kicks_in_flight.fetch_sub(1, Ordering::SeqCst);
    }

    /// Tells the vCPU its interrupt controller asserted INTR: a halted vCPU wakes, a running
    /// one is kicked out of the guest so the interrupt can be injected. Called by devices on
    /// any thread; repeated calls before the vCPU looks cost nothing more.
    pub fn interrupt(&self) {
        let shared = &self.shared;
        if shared.interrupt.swap(true, Ordering::SeqCst) {
            return;
        }
        if shared.halted.load(Ordering::SeqCst) {
            self.wake_paused();
            return;
        }
        // SAFETY: pthread_self has no preconditions.
        let me = unsafe { libc::pthread_self() } as u64;
        // On the vCPU's own thread (a device raising a line during an exit) the loop looks
        // at the controller before it enters the guest again.
        if shared.thread.load(Ordering::SeqCst) != me {
            self.kick();
        }
    }

    /// Whether the vCPU is idle: its guest waits in `hlt` for an interrupt, or its firmware
    /// waits on the guest's behalf (for a key). A front end that must not type before the guest
    /// is ready to take keys waits for this.
    pub fn is_idle(&self) -> bool {
        self.shared.halted.load(Ordering::SeqCst)
    }

    /// Whether a line was raised since the notice was last cleared (one atomic load: the
    /// interpreter looks at it between instructions rather than locking the controller).
    #[inline]
    pub(crate) fn interrupt_noticed(&self) -> bool {
        self.shared.interrupt.load(Ordering::Acquire)
    }

    /// Clears the interrupt notice; the vCPU then asks the controller itself.
    pub(crate) fn take_interrupt(&self) {
        self.shared.interrupt.store(false, Ordering::SeqCst);
    }

    /// Blocks a vCPU halted with interrupts enabled until an interrupt notice, a stop, a pause
    /// or a request arrives, or [`PAUSED_POLL`] passes.
    pub(crate) fn wait_for_interrupt(&self) {
        self.idle(PAUSED_POLL);
    }

    /// Wakes a vCPU idling in firmware ([`VcpuControl::idle`]) because something it may be
    /// waiting for arrived (input on the console): a notice like [`VcpuControl::interrupt`],
    /// for any thread.
    pub fn wake(&self) {
        self.interrupt();
    }

    /// Forgets earlier notices: the firmware calls this before it looks for what it waits
    /// for, then [`VcpuControl::idle`]s, so a notice in between is never lost.
    pub fn clear_notice(&self) {
        self.take_interrupt();
    }

    /// Blocks the vCPU thread while its firmware waits on the guest's behalf (a key, a delay)
    /// until a notice ([`VcpuControl::interrupt`], [`VcpuControl::wake`]), a stop, a pause or a
    /// request arrives, or `timeout` passes. Called on the vCPU thread only.
    pub fn idle(&self, timeout: std::time::Duration) {
        let shared = &self.shared;
        let queue = self.lock_queue();
        shared.halted.store(true, Ordering::SeqCst);
        let _unused = shared
            .wake
            .wait_timeout_while(queue, timeout.min(PAUSED_POLL), |q| {
                q.requests.is_empty()
                    && !shared.interrupt.load(Ordering::SeqCst)
                    && !shared.pause.load(Ordering::SeqCst)
                    && shared.stop.load(Ordering::SeqCst) == NO_REASON
            })
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        shared.halted.store(false, Ordering::SeqCst);
    }

    /// Runs `work` on the vCPU thread (between two `KVM_RUN`s, or while it is paused) and
    /// returns its result; `None` when the vCPU is gone or never serves it.
    pub fn call<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut dyn CpuBackend) -> T + Send + 'static,
    ) -> Option<T> {
        let (tx, rx) = mpsc::sync_channel(1);
        {
            let mut queue = self.lock_queue();
            if queue.closed {
                return None;
            }
            queue
                .requests
                .push_back(Box::new(move |vcpu: &mut dyn CpuBackend| {
                    let _ = tx.send(work(vcpu));
                }));
            self.shared.pending.store(true, Ordering::SeqCst);
        }
        self.shared.wake.notify_all();
        self.kick();
        // A dropped request (the vCPU went away) drops `tx`, which ends the wait.
        rx.recv().ok()
    }

    /// Queues `work` for the vCPU thread and returns at once, without its result: for work
    /// that must happen before the vCPU next enters the guest (a paused vCPU runs it before it
    /// resumes). Returns `false` when the vCPU is gone.
    pub fn post(&self, work: impl FnOnce(&mut dyn CpuBackend) + Send + 'static) -> bool {
        {
            let mut queue = self.lock_queue();
            if queue.closed {
                return false;
            }
            queue.requests.push_back(Box::new(work));
            self.shared.pending.store(true, Ordering::SeqCst);
        }
        self.shared.wake.notify_all();
        self.kick();
        true
    }

    fn lock_queue(&self) -> MutexGuard<'_, Queue> {
        // The queue holds no invariant a panic could break: recover it.
        self.shared
            .queue
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn wake_paused(&self) {
        drop(self.lock_queue());
        self.shared.wake.notify_all();
    }

    /// Takes the stop reason, so that the vCPU can run again afterwards.
    pub(crate) fn take_stop(&self) -> Option<StopReason> {
        if self.shared.stop.load(Ordering::SeqCst) == NO_REASON {
            return None;
        }
        StopReason::decode(self.shared.stop.swap(NO_REASON, Ordering::SeqCst))
    }

    /// The requests queued so far (cheap when there are none).
    pub(crate) fn take_requests(&self) -> VecDeque<Request> {
        if !self.shared.pending.load(Ordering::SeqCst) {
            return VecDeque::new();
        }
        let mut queue = self.lock_queue();
        self.shared.pending.store(false, Ordering::SeqCst);
        std::mem::take(&mut queue.requests)
    }

    /// Blocks until a resume, a stop or a request arrives while paused, or [`PAUSED_POLL`]
    /// passes (a stop from a signal handler cannot notify).
    pub(crate) fn wait_paused(&self) {
        let queue = self.lock_queue();
        let shared = &self.shared;
        let _unused = shared
            .wake
            .wait_timeout_while(queue, PAUSED_POLL, |q| {
                q.requests.is_empty()
                    && shared.pause.load(Ordering::SeqCst)
                    && shared.stop.load(Ordering::SeqCst) == NO_REASON
            })
            .unwrap_or_else(|poisoned| poisoned.into_inner());
    }

    /// Refuses further requests and drops the queued ones (their callers get `None`).
    pub(crate) fn close(&self) {
        let dropped = {
            let mut queue = self.lock_queue();
            queue.closed = true;
            std::mem::take(&mut queue.requests)
        };
        drop(dropped);
    }

    /// Registers the calling thread as the vCPU thread and `run` as its `kvm_run`, until the
    /// returned guard is dropped.
    pub(crate) fn attach(&self, run: *mut kvm_run) -> Attached<'_> {
        install_kick_handler();
        KVM_RUN.with(|p| p.set(run));
        // SAFETY: pthread_self has no preconditions.
        let me = unsafe { libc::pthread_self() };
        self.shared.thread.store(me as u64, Ordering::SeqCst);
        Attached { control: self }
    }
}

/// Keeps a vCPU thread registered with its [`VcpuControl`].
pub(crate) struct Attached<'a> {
    control: &'a VcpuControl,
}

impl Drop for Attached<'_> {
    fn drop(&mut self) {
        let shared = &self.control.shared;
        shared.thread.store(0, Ordering::SeqCst);
        // A kick that read our id before the store is still signalling us: let it finish, so
        // that no signal is ever sent to a thread id after its thread is gone.
        while shared.kicks_in_flight.load(Ordering::SeqCst) != 0 {
            std::hint::spin_loop();
        }
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

extern "C" fn on_kick(_signal: libc::c_int, _info: *mut libc::siginfo_t, _: *mut libc::c_void) {
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
    // The handler only touches a thread-local pointer and a byte of kvm_run, which is
    // async-signal-safe. vmm-sys-util installs it without SA_RESTART: KVM_RUN must return
    // EINTR. A failure leaves the default action, which would end the process on a kick, so
    // there is nothing better to do than to go on: SIGRTMIN is always valid here.
    ONCE.call_once(|| {
        let _ = vmm_sys_util::signal::register_signal_handler(kick_signal(), on_kick);
    });
}

/// Sets or clears `immediate_exit`: while set, `KVM_RUN` completes a pending port or MMIO
/// access and returns `EINTR` without entering the guest.
pub(crate) fn set_immediate_exit(run: &mut kvm_run, value: u8) {
    // SAFETY: `run` is a valid, exclusively borrowed kvm_run; volatile so the store is not
    // merged with the signal handler's.
    unsafe { ptr::addr_of_mut!(run.immediate_exit).write_volatile(value) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_stop_first_reason_wins() {
        let control = VcpuControl::default();
        control.stop(StopReason::Timeout);
        control.stop(StopReason::Interrupted);
        assert_eq!(control.reason(), Some(StopReason::Timeout));
    }

    #[test]
    fn test_stop_guest_exit_keeps_full_value() {
        let control = VcpuControl::default();
        control.stop(StopReason::GuestExit(0xDEAD_BEEF));
        assert_eq!(control.reason(), Some(StopReason::GuestExit(0xDEAD_BEEF)));
    }

    #[test]
    fn test_reason_before_stop_is_none() {
        assert_eq!(VcpuControl::default().reason(), None);
    }

    #[test]
    fn test_take_stop_clears_reason_for_the_next_run() {
        let control = VcpuControl::default();
        control.stop(StopReason::Signal(15));
        let taken = control.take_stop();
        assert_eq!(
            (taken, control.reason()),
            (Some(StopReason::Signal(15)), None)
        );
    }

    #[test]
    fn test_call_after_close_returns_none() {
        let control = VcpuControl::default();
        control.close();
        assert_eq!(control.call(|_| 1), None);
    }

    #[test]
    fn test_kick_without_vcpu_thread_does_nothing() {
        let control = VcpuControl::default();
        control.kick();
        assert_eq!(control.shared.kicks_in_flight.load(Ordering::SeqCst), 0);
    }
}
