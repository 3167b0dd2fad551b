//! The RTC on the board: the MC146818 model on the host's clock, and the thread that raises
//! IRQ 8 for its periodic, alarm and update-ended interrupts, started only when the guest
//! enables one of them (a guest that just reads the time costs no thread). The line goes up
//! with an interrupt and down when the guest reads register C, as the chip's does.

use std::sync::{Arc, Condvar, Mutex, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use vm_device::bus::{PioAddress, PioAddressOffset};
use vm_device::MutDevicePio;
use vmm_devices::irq::IrqLine;
use vmm_devices::rtc::{Rtc, DATA_PORT};
use vmm_devices::state::{StateError, Stateful};

/// Seconds since the epoch now, and the ns to the next whole second.
fn wall() -> (i64, u64) {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let secs = i64::try_from(since.as_secs()).unwrap_or(0);
    (secs, u64::from(1_000_000_000 - since.subsec_nanos()))
}

struct Shared {
    irq8: Arc<dyn IrqLine>,
    started: Instant,
    /// Bumped when the guest changes the schedule; `None` once the board goes.
    generation: Mutex<Option<u64>>,
    wake: Condvar,
    device: Mutex<Weak<Mutex<ClockedRtc>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Shared {
    fn now_ns(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// The schedule changed: start the thread if `needed` and not running; wake it.
    fn poke(self: &Arc<Self>, needed: bool) {
        let mut thread = crate::sync::lock(&self.thread);
        if thread.is_none() && needed {
            let shared = self.clone();
            *thread = std::thread::Builder::new()
                .name("rtc".into())
                .stack_size(64 * 1024)
                .spawn(move || run(&shared))
                .ok();
        }
        if let Some(g) = crate::sync::lock(&self.generation).as_mut() {
            *g = g.wrapping_add(1);
        }
        self.wake.notify_all();
    }
}

/// The thread: sleeps until the next interrupt the model asks for, then ticks it.
fn run(shared: &Shared) {
    loop {
        let Some(device) = crate::sync::lock(&shared.device).upgrade() else {
            return;
        };
        let (_, to_second) = wall();
        let due = crate::sync::lock(&device)
            .rtc
            .next_event(shared.now_ns(), to_second);
        drop(device);
        let generation = crate::sync::lock(&shared.generation);
        let Some(seen) = *generation else { return };
        let wait = due.map_or(Duration::from_secs(3600), |d| {
            Duration::from_nanos(d.saturating_sub(shared.now_ns()))
        });
        let (generation, timeout) = shared
            .wake
            .wait_timeout_while(generation, wait, |g| *g == Some(seen))
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if generation.is_none() {
            return;
        }
        drop(generation);
        if timeout.timed_out() && due.is_some() {
            if let Some(device) = crate::sync::lock(&shared.device).upgrade() {
                let (secs, _) = wall();
                let raise = crate::sync::lock(&device).rtc.tick(shared.now_ns(), secs);
                if raise {
                    shared.irq8.set_level(true);
                }
            }
        }
    }
}

/// The RTC as a bus device: ports 0x70 and 0x71.
pub struct ClockedRtc {
    rtc: Rtc,
    shared: Arc<Shared>,
}

impl MutDevicePio for ClockedRtc {
    fn pio_read(&mut self, base: PioAddress, _offset: PioAddressOffset, data: &mut [u8]) {
        let (secs, _) = wall();
        let value = if base.0 == DATA_PORT {
            let (value, acknowledged) = self.rtc.read_data(secs);
            if acknowledged {
                self.shared.irq8.set_level(false);
            }
            value
        } else {
            0xFF
        };
        data.fill(value);
    }

    fn pio_write(&mut self, base: PioAddress, _offset: PioAddressOffset, data: &[u8]) {
        let Some(&value) = data.first() else { return };
        if base.0 != DATA_PORT {
            self.rtc.write_index(value);
            return;
        }
        let (secs, _) = wall();
        if self.rtc.write_data(value, secs) {
            self.shared.poke(self.rtc.needs_clock());
        }
    }
}

impl Stateful for ClockedRtc {
    type State = Rtc;

    fn save(&self) -> Rtc {
        let mut rtc = self.rtc.clone();
        // Due times are on this process's clock: the restored one schedules its own.
        rtc.next_periodic = None;
        rtc
    }

    fn restore(&mut self, state: Rtc) -> Result<(), StateError> {
        if state.cmos.len() != 128 {
            return Err(StateError::Invalid("an RTC whose CMOS is not 128 bytes"));
        }
        self.rtc = state;
        self.shared.poke(self.rtc.needs_clock());
        Ok(())
    }
}

/// The RTC and its thread; the thread ends when this drops.
pub struct RtcTimer {
    device: Arc<Mutex<ClockedRtc>>,
    shared: Arc<Shared>,
}

impl RtcTimer {
    /// The RTC with `rtc`'s CMOS, raising `irq8`.
    pub fn new(rtc: Rtc, irq8: Arc<dyn IrqLine>) -> RtcTimer {
        let shared = Arc::new(Shared {
            irq8,
            started: Instant::now(),
            generation: Mutex::new(Some(0)),
            wake: Condvar::new(),
            device: Mutex::new(Weak::new()),
            thread: Mutex::new(None),
        });
        let device = Arc::new(Mutex::new(ClockedRtc {
            rtc,
            shared: shared.clone(),
        }));
        *crate::sync::lock(&shared.device) = Arc::downgrade(&device);
        RtcTimer { device, shared }
    }

    /// The bus device.
    pub fn device(&self) -> Arc<Mutex<ClockedRtc>> {
        self.device.clone()
    }
}

impl Drop for RtcTimer {
    fn drop(&mut self) {
        *crate::sync::lock(&self.shared.generation) = None;
        self.shared.wake.notify_all();
        if let Some(thread) = crate::sync::lock(&self.shared.thread).take() {
            let _ = thread.join();
        }
    }
}
