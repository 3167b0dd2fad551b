//! Where the vCPU thread tells the gdb thread that the guest stopped: a queue and an eventfd
//! the gdb thread polls beside its socket, so it waits for either without a polling period.

use std::collections::VecDeque;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};

use vmm_core::DebugEvent;
use vmm_sys_util::eventfd::{EventFd, EFD_NONBLOCK};

/// Why the vCPU stopped, as the gdb thread hears it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// A pause was asked for (gdb's interrupt, an attach).
    Paused,
    /// A single step or a hardware breakpoint.
    Debug(DebugEvent),
    /// Watched memory changed: the index of the watch.
    Watch(usize),
    /// The run is over, with this exit status.
    Ended(i32),
}

/// Guest memory watched for writes: the vCPU steps and compares it after every instruction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Watch {
    /// Linear address.
    pub addr: u64,
    /// Its value when the guest was last resumed, or last seen changed.
    pub value: Vec<u8>,
}

/// Shared by the vCPU's run policy and the gdb thread.
pub struct Hub {
    stops: Mutex<VecDeque<Stop>>,
    ready: EventFd,
    attached: AtomicBool,
    paused: AtomicBool,
    watches: Mutex<Vec<Watch>>,
    /// gdb asked for one step (not a continue that steps for the watches).
    user_step: AtomicBool,
}

impl Hub {
    /// A hub with nothing reported.
    pub fn new() -> std::io::Result<Hub> {
        Ok(Hub {
            stops: Mutex::default(),
            ready: EventFd::new(EFD_NONBLOCK)?,
            attached: AtomicBool::new(false),
            paused: AtomicBool::new(false),
            watches: Mutex::default(),
            user_step: AtomicBool::new(false),
        })
    }

    fn stops(&self) -> MutexGuard<'_, VecDeque<Stop>> {
        vmm_machine::sync::lock(&self.stops)
    }

    /// The vCPU thread reports a stop.
    pub fn report(&self, stop: Stop) {
        self.stops().push_back(stop);
        let _ = self.ready.write(1);
    }

    /// The oldest stop not yet taken.
    pub fn take(&self) -> Option<Stop> {
        let _ = self.ready.read();
        let mut stops = self.stops();
        let stop = stops.pop_front();
        if !stops.is_empty() {
            let _ = self.ready.write(1);
        }
        stop
    }

    /// Drops every stop reported so far.
    pub fn clear(&self) {
        let _ = self.ready.read();
        self.stops().clear();
    }

    /// Blocks until a stop is reported.
    pub fn wait(&self) -> Stop {
        loop {
            if let Some(stop) = self.wait_for(-1) {
                return stop;
            }
        }
    }

    /// Waits for a stop report at most `timeout_ms` (-1: no limit); `None` when none came.
    pub fn wait_for(&self, timeout_ms: i32) -> Option<Stop> {
        if let Some(stop) = self.take() {
            return Some(stop);
        }
        let mut fds = [libc::pollfd {
            fd: self.fd(),
            events: libc::POLLIN,
            revents: 0,
        }];
        // SAFETY: `fds` is a valid array of one pollfd for the duration of the call.
        unsafe { libc::poll(fds.as_mut_ptr(), 1, timeout_ms) };
        self.take()
    }

    /// The descriptor that is readable while a stop waits to be taken.
    pub fn fd(&self) -> RawFd {
        self.ready.as_raw_fd()
    }

    /// Whether a gdb client is attached (debug events stop the guest only then).
    pub fn attached(&self) -> bool {
        self.attached.load(Ordering::SeqCst)
    }

    /// Records whether a client is attached.
    pub fn set_attached(&self, attached: bool) {
        self.attached.store(attached, Ordering::SeqCst);
    }

    /// Sets the watches the vCPU checks after every step (empty: none), and whether gdb asked
    /// for a single step (reported as a step when no watch changed) or a continue.
    pub fn set_watches(&self, watches: Vec<Watch>, user_step: bool) {
        *vmm_machine::sync::lock(&self.watches) = watches;
        self.user_step.store(user_step, Ordering::SeqCst);
    }

    /// Whether gdb asked for a single step.
    pub fn user_step(&self) -> bool {
        self.user_step.load(Ordering::SeqCst)
    }

    /// The index of the first watch whose memory differs from its value, as `read` gives the
    /// memory now; that watch takes the new value.
    pub fn changed_watch(&self, mut read: impl FnMut(u64, usize) -> Vec<u8>) -> Option<usize> {
        let mut watches = vmm_machine::sync::lock(&self.watches);
        watches.iter_mut().position(|w| {
            let now = read(w.addr, w.value.len());
            if now != w.value {
                w.value = now;
                true
            } else {
                false
            }
        })
    }

    /// Whether the vCPU steps to check watches.
    pub fn watching(&self) -> bool {
        !vmm_machine::sync::lock(&self.watches).is_empty()
    }

    /// Whether the vCPU waits paused now.
    pub fn paused(&self) -> bool {
        self.paused.load(Ordering::SeqCst)
    }

    /// The vCPU records whether it waits paused.
    pub fn set_paused(&self, paused: bool) {
        self.paused.store(paused, Ordering::SeqCst);
    }
}
