//! The PIT on the board: the 8254 model on the host's monotonic clock, and the thread that
//! raises IRQ 0 when channel 0's output rises.
//!
//! The model computes counts from time; only the interrupt needs a thread, started when the
//! guest first programs the PIT (a guest that never does, like the sample, costs no thread
//! start). It sleeps until the
//! next edge [`Pit::next_irq`] gives (timer slack 1 ns, so it wakes within tens of
//! microseconds), counts it as due, and starts over; a guest write to the PIT wakes it to
//! recompute. Edges are counted at their scheduled times, so a late wake-up does not change the
//! rate.
//!
//! Ticks are not lost, as with KVM's in-kernel PIT (its default "reinject" policy): a due tick
//! is raised only once the CPU has acknowledged the previous one (the PIC's INTA for IRQ 0
//! calls the timer's [`AckNotifier`]), so a vCPU kept off its CPU for longer than a period (a
//! busy host) gets every tick late rather than some never; the PIC alone would merge them.
//! At most [`MAX_PENDING`] ticks wait, and a tick not acknowledged within [`ACK_TIMEOUT`]
//! (masked, or taken by the PIC's poll command) no longer holds the next one back.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::interrupts::AckNotifier;
use serde::{Deserialize, Serialize};
use vm_device::bus::{PioAddress, PioAddressOffset};
use vm_device::MutDevicePio;
use vmm_core::interrupt::VcpuTimer;
use vmm_devices::irq::IrqLine;
use vmm_devices::pit::{Pit, SPEAKER_PORT};
use vmm_devices::state::{StateError, Stateful};

/// How far behind the timer thread replays missed edges (the process was stopped, say).
const MAX_CATCH_UP: u64 = 100_000_000;
/// Ticks due and not yet raised, at most.
pub const MAX_PENDING: u32 = 1_000;
/// How long a raised tick waits for its acknowledgement before the next is raised anyway.
pub const ACK_TIMEOUT: Duration = Duration::from_millis(50);

/// The clock everything here reads, in nanoseconds since the board was built.
#[derive(Clone, Copy)]
struct Clock(Instant);

impl Clock {
    fn now(&self) -> u64 {
        u64::try_from(self.0.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }
}

#[derive(Default)]
struct Wakeup {
    /// The guest has programmed the PIT (a timer thread has something to do).
    programmed: bool,
    /// The last edge counted as due, when the vCPU drives the timer, and before the first one
    /// when it started looking.
    last: Option<u64>,
    since: Option<u64>,
    /// Bumped on every guest write: the schedule may have changed.
    generation: u64,
    shutdown: bool,
    /// Ticks due and not yet raised.
    pending: u32,
    /// When the last raised tick was raised, while it waits for the CPU's acknowledgement.
    unacknowledged: Option<Instant>,
}

struct TimerShared {
    state: Mutex<Wakeup>,
    cond: Condvar,
    clock: Clock,
    irq0: Arc<dyn IrqLine>,
    /// The device the thread reads (weak: the device holds this).
    pit: Mutex<Weak<Mutex<ClockedPit>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    /// The vCPU's thread drives the timer ([`VcpuTimer`]): no thread of its own runs.
    vcpu_driven: AtomicBool,
}

impl TimerShared {
    fn lock(&self) -> MutexGuard<'_, Wakeup> {
        crate::sync::lock(&self.state)
    }

    /// The schedule may have changed: start the thread if it is not running, wake it if it is.
    fn poke(self: &Arc<Self>) {
        self.lock().programmed = true;
        let mut thread = crate::sync::lock(&self.thread);
        if thread.is_none() && !self.vcpu_driven.load(Ordering::SeqCst) {
            let pit = crate::sync::lock(&self.pit).clone();
            let timer = self.clone();
            // Without the thread the guest gets no timer interrupt, which it sees as a PIT
            // with its interrupt line cut; nothing better can be done mid-run, and the next
            // write tries again.
            *thread = thread::Builder::new()
                .name("pit".into())
                .stack_size(64 * 1024)
                .spawn(move || {
                    if let Some(pit) = pit.upgrade() {
                        raise_edges(&pit, &timer)
                    }
                })
                .ok();
        }
        let mut w = self.lock();
        w.generation = w.generation.wrapping_add(1);
        self.cond.notify_all();
    }

    fn shutdown(&self) {
        self.lock().shutdown = true;
        self.cond.notify_all();
        let thread = crate::sync::lock(&self.thread).take();
        if let Some(thread) = thread {
            let _ = thread.join();
        }
    }
}

/// The PIT as a bus device: ports 0x40-0x43 and 0x61.
pub struct ClockedPit {
    pit: Pit,
    clock: Clock,
    timer: Arc<TimerShared>,
}

impl ClockedPit {
    /// When IRQ 0 is next due after `after`.
    fn next_irq(&self, after: u64, last: Option<u64>) -> Option<u64> {
        self.pit.next_irq(after, last)
    }
}

/// A wide access to 8-bit ports is split into byte accesses at consecutive ports, as the ISA
/// bus does (QEMU too): `in ax, 0x40` reads channel 0 into AL and channel 1 into AH.
impl MutDevicePio for ClockedPit {
    fn pio_read(&mut self, base: PioAddress, offset: PioAddressOffset, data: &mut [u8]) {
        let now = self.clock.now();
        for (i, byte) in data.iter_mut().enumerate() {
            let port = offset + i as u16;
            *byte = match (base.0, port) {
                (SPEAKER_PORT, 0) => self.pit.speaker_read(now),
                (SPEAKER_PORT, _) => 0xFF,
                (_, 0..=3) => self.pit.read(port, now),
                _ => 0xFF,
            };
        }
    }

    fn pio_write(&mut self, base: PioAddress, offset: PioAddressOffset, data: &[u8]) {
        let now = self.clock.now();
        for (i, &value) in data.iter().enumerate() {
            let port = offset + i as u16;
            match (base.0, port) {
                (SPEAKER_PORT, 0) => self.pit.speaker_write(value, now),
                (SPEAKER_PORT, _) => {}
                (_, 0..=3) => {
                    self.pit.write(port, value, now);
                    self.timer.poke();
                }
                _ => {}
            }
        }
    }
}

/// The PIT's state with each counter's age instead of its load time, so it means the same on
/// another clock.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PitState {
    /// The 8254, load times zeroed.
    pub pit: Pit,
    /// Nanoseconds since each channel's count was loaded.
    pub ages: [u64; 3],
}

impl Stateful for ClockedPit {
    type State = PitState;

    fn save(&self) -> PitState {
        let now = self.clock.now();
        let mut pit = self.pit.clone();
        let mut ages = [0; 3];
        for (c, age) in pit.channels.iter_mut().zip(&mut ages) {
            *age = now.saturating_sub(c.load_time);
            c.load_time = 0;
        }
        PitState { pit, ages }
    }

    fn restore(&mut self, state: PitState) -> Result<(), StateError> {
        let now = self.clock.now();
        let mut pit = state.pit;
        for (c, age) in pit.channels.iter_mut().zip(state.ages) {
            c.load_time = now.saturating_sub(age);
        }
        self.pit.restore(pit)?;
        self.timer.poke();
        Ok(())
    }
}

/// The PIT and its timer thread; dropping it stops the thread.
pub struct PitTimer {
    pit: Arc<Mutex<ClockedPit>>,
    timer: Arc<TimerShared>,
}

impl PitTimer {
    /// A PIT at power-on raising `irq0`; its thread starts when the guest first writes it.
    pub fn new(irq0: Arc<dyn IrqLine>) -> PitTimer {
        let clock = Clock(Instant::now());
        let timer = Arc::new(TimerShared {
            state: Mutex::default(),
            cond: Condvar::new(),
            clock,
            irq0,
            pit: Mutex::new(Weak::new()),
            thread: Mutex::new(None),
            vcpu_driven: AtomicBool::new(false),
        });
        let pit = Arc::new(Mutex::new(ClockedPit {
            pit: Pit::new(),
            clock,
            timer: timer.clone(),
        }));
        *crate::sync::lock(&timer.pit) = Arc::downgrade(&pit);
        PitTimer { pit, timer }
    }

    /// The bus device.
    pub fn device(&self) -> Arc<Mutex<ClockedPit>> {
        self.pit.clone()
    }

    /// The timer as the vCPU's thread may drive it (the interpreter).
    pub fn vcpu_timer(&self) -> Arc<dyn VcpuTimer> {
        self.timer.clone()
    }

    /// What the PIC calls when the CPU acknowledges IRQ 0: the next due tick may be raised.
    pub fn ack_notifier(&self) -> AckNotifier {
        let timer = self.timer.clone();
        Arc::new(move || {
            let mut w = timer.lock();
            if w.unacknowledged.take().is_some() && w.pending > 0 {
                timer.cond.notify_all();
            }
        })
    }
}

impl Drop for PitTimer {
    fn drop(&mut self) {
        self.timer.shutdown();
    }
}

fn raise_edges(pit: &Mutex<ClockedPit>, timer: &TimerShared) {
    let clock = timer.clock;
    // SAFETY: PR_SET_TIMERSLACK takes an integer argument and only affects this thread.
    unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong) };
    let mut last: Option<u64> = None;
    loop {
        let generation = timer.lock().generation;
        let next = {
            let pit = crate::sync::lock(pit);
            let now = clock.now();
            let after = last.map_or(now, |l| l.max(now.saturating_sub(MAX_CATCH_UP)));
            pit.next_irq(after, last)
        };
        let mut wake = timer.lock();
        loop {
            if wake.shutdown || timer.vcpu_driven.load(Ordering::SeqCst) {
                return;
            }
            let acked = match wake.unacknowledged {
                Some(at) => at.elapsed() >= ACK_TIMEOUT,
                None => true,
            };
            if acked && wake.pending > 0 {
                wake.pending -= 1;
                wake.unacknowledged = Some(Instant::now());
                drop(wake);
                timer.irq0.pulse();
                wake = timer.lock();
                continue;
            }
            if wake.generation != generation {
                break;
            }
            let now = clock.now();
            // Sleep until the next edge, or until the raised tick's acknowledgement is overdue.
            let overdue = wake
                .unacknowledged
                .filter(|_| wake.pending > 0)
                .map(|at| ACK_TIMEOUT.saturating_sub(at.elapsed()));
            let until_edge = match next {
                Some(at) if at <= now => {
                    wake.pending = (wake.pending + 1).min(MAX_PENDING);
                    last = Some(at);
                    break;
                }
                Some(at) => Some(Duration::from_nanos(at - now)),
                None => None,
            };
            let wait = match (until_edge, overdue) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            wake = match wait {
                Some(wait) => {
                    timer
                        .cond
                        .wait_timeout(wake, wait)
                        .unwrap_or_else(|p| p.into_inner())
                        .0
                }
                None => crate::sync::wait(&timer.cond, wake),
            };
        }
    }
}

impl VcpuTimer for TimerShared {
    fn drive_from_vcpu(&self, on: bool) {
        self.vcpu_driven.store(on, Ordering::SeqCst);
        if on {
            let mut w = self.lock();
            (w.last, w.since) = (None, None);
            drop(w);
            self.cond.notify_all();
            let thread = crate::sync::lock(&self.thread).take();
            if let Some(thread) = thread {
                let _ = thread.join();
            }
        } else if self.lock().programmed {
            // (Each lock taken and let go before the next: poke takes them again.)
            let pit = crate::sync::lock(&self.pit).upgrade();
            if let Some(pit) = pit {
                let timer = crate::sync::lock(&pit).timer.clone();
                timer.poke();
            }
        }
    }

    fn service(&self) -> Option<Instant> {
        // The timer's own thread raises the ticks while KVM runs the guest.
        if !self.vcpu_driven.load(Ordering::SeqCst) {
            return None;
        }
        let pit = crate::sync::lock(&self.pit).upgrade()?;
        let mut next_edge = None;
        // Count the edges due by now (at most MAX_PENDING at once: a long pause catches up
        // as the thread would).
        for _ in 0..MAX_PENDING {
            let now = self.clock.now();
            let (last, since) = {
                let mut w = self.lock();
                (w.last, *w.since.get_or_insert(now))
            };
            let base = last.unwrap_or(since);
            let after = base.max(now.saturating_sub(MAX_CATCH_UP));
            let next = crate::sync::lock(&pit).next_irq(after, last);
            match next {
                Some(at) if at <= now => {
                    let mut w = self.lock();
                    w.pending = (w.pending + 1).min(MAX_PENDING);
                    w.last = Some(at);
                }
                other => {
                    next_edge = other;
                    break;
                }
            }
        }
        let mut w = self.lock();
        let acked = w
            .unacknowledged
            .is_none_or(|at| at.elapsed() >= ACK_TIMEOUT);
        if acked && w.pending > 0 {
            w.pending -= 1;
            w.unacknowledged = Some(Instant::now());
            drop(w);
            self.irq0.pulse();
            w = self.lock();
        }
        let edge = next_edge.map(|at| self.clock.0 + Duration::from_nanos(at));
        let overdue = w
            .unacknowledged
            .filter(|_| w.pending > 0)
            .map(|at| at + ACK_TIMEOUT);
        match (edge, overdue) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}
