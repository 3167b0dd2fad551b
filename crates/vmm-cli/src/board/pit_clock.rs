//! The PIT on the board: the 8254 model on the host's monotonic clock, and the thread that
//! raises IRQ 0 when channel 0's output rises.
//!
//! The model computes counts from time; only the interrupt needs a thread. It sleeps until the
//! next edge [`Pit::next_irq`] gives (timer slack 1 ns, so it wakes within tens of
//! microseconds), raises the line, and starts over; a guest write to the PIT wakes it to
//! recompute. Edges are raised at their scheduled times, so a late wake-up does not change the
//! rate; after a long stall (the process stopped), at most [`MAX_CATCH_UP`] of missed edges are
//! raised, which the PIC merges into one request as the hardware would.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use vm_device::bus::{PioAddress, PioAddressOffset};
use vm_device::MutDevicePio;
use vmm_devices::irq::IrqLine;
use vmm_devices::pit::{Pit, SPEAKER_PORT};
use vmm_devices::state::{StateError, Stateful};

/// How far behind the timer thread replays missed edges.
const MAX_CATCH_UP: u64 = 10_000_000;

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
    /// Bumped on every guest write: the schedule may have changed.
    generation: u64,
    shutdown: bool,
}

#[derive(Default)]
struct TimerShared {
    state: Mutex<Wakeup>,
    cond: Condvar,
}

impl TimerShared {
    fn lock(&self) -> MutexGuard<'_, Wakeup> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn poke(&self, shutdown: bool) {
        let mut w = self.lock();
        w.generation = w.generation.wrapping_add(1);
        w.shutdown |= shutdown;
        self.cond.notify_all();
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

impl MutDevicePio for ClockedPit {
    fn pio_read(&mut self, base: PioAddress, offset: PioAddressOffset, data: &mut [u8]) {
        data.fill(0xFF);
        let now = self.clock.now();
        if let Some(first) = data.first_mut() {
            *first = if base.0 == SPEAKER_PORT {
                self.pit.speaker_read(now)
            } else {
                self.pit.read(offset, now)
            };
        }
    }

    fn pio_write(&mut self, base: PioAddress, offset: PioAddressOffset, data: &[u8]) {
        let now = self.clock.now();
        if let Some(&value) = data.first() {
            if base.0 == SPEAKER_PORT {
                self.pit.speaker_write(value, now);
            } else {
                self.pit.write(offset, value, now);
                self.timer.poke(false);
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
        self.timer.poke(false);
        Ok(())
    }
}

/// The PIT and its timer thread; dropping it stops the thread.
pub struct PitTimer {
    pit: Arc<Mutex<ClockedPit>>,
    timer: Arc<TimerShared>,
    thread: Option<JoinHandle<()>>,
}

impl PitTimer {
    /// A PIT at power-on raising `irq0`; its thread starts at once.
    pub fn start(irq0: Arc<dyn IrqLine>) -> std::io::Result<PitTimer> {
        let timer = Arc::new(TimerShared::default());
        let clock = Clock(Instant::now());
        let pit = Arc::new(Mutex::new(ClockedPit {
            pit: Pit::new(),
            clock,
            timer: timer.clone(),
        }));
        let thread = {
            let (pit, timer) = (pit.clone(), timer.clone());
            thread::Builder::new()
                .name("pit".into())
                .stack_size(64 * 1024)
                .spawn(move || raise_edges(&pit, &timer, clock, irq0.as_ref()))?
        };
        Ok(PitTimer {
            pit,
            timer,
            thread: Some(thread),
        })
    }

    /// The bus device.
    pub fn device(&self) -> Arc<Mutex<ClockedPit>> {
        self.pit.clone()
    }
}

impl Drop for PitTimer {
    fn drop(&mut self) {
        self.timer.poke(true);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn raise_edges(pit: &Mutex<ClockedPit>, timer: &TimerShared, clock: Clock, irq0: &dyn IrqLine) {
    // SAFETY: PR_SET_TIMERSLACK takes an integer argument and only affects this thread.
    unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong) };
    let mut last: Option<u64> = None;
    loop {
        let generation = timer.lock().generation;
        let next = {
            let pit = pit.lock().unwrap_or_else(|p| p.into_inner());
            let now = clock.now();
            let after = last.map_or(now, |l| l.max(now.saturating_sub(MAX_CATCH_UP)));
            pit.next_irq(after, last)
        };
        let mut wake = timer.lock();
        loop {
            if wake.shutdown {
                return;
            }
            if wake.generation != generation {
                break;
            }
            let now = clock.now();
            wake = match next {
                Some(at) if at <= now => {
                    drop(wake);
                    irq0.pulse();
                    last = Some(at);
                    break;
                }
                Some(at) => {
                    let wait = Duration::from_nanos(at - now);
                    timer
                        .cond
                        .wait_timeout(wake, wait)
                        .unwrap_or_else(|p| p.into_inner())
                        .0
                }
                None => timer.cond.wait(wake).unwrap_or_else(|p| p.into_inner()),
            };
        }
    }
}
