//! The timer driven from the interpreter's own thread ([`VcpuTimer`]): due ticks are raised
//! between slices of instructions, and a halted CPU sleeps until the next one, so a tick costs
//! no wake-up of a timer thread. KVM cannot look between instructions: a hand-over gives the
//! timer back its own thread.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::InterpCpu;
use crate::control::PAUSED_POLL;
use crate::interrupt::VcpuTimer;

impl InterpCpu {
    /// Takes `timer` over from its thread.
    pub(super) fn adopt_timer(&mut self, timer: Arc<dyn VcpuTimer>) {
        timer.drive_from_vcpu(true);
        self.timer_due = timer.service();
        self.timer = Some(timer);
    }

    /// Raises what the timer has due, when its time has come (or something may have changed
    /// it: a device was touched, an interrupt taken).
    #[inline]
    pub(super) fn service_timer(&mut self) {
        let Some(timer) = &self.timer else {
            return;
        };
        let due = self.timer_stale || self.timer_due.is_some_and(|due| Instant::now() >= due);
        if due {
            self.timer_stale = false;
            self.timer_due = timer.service();
            self.irq_check = true;
        }
    }

    /// The timer is to be looked at at the next look (a flag: a device access costs no
    /// reading of the clock).
    pub(super) fn timer_changed(&mut self) {
        self.timer_stale = self.timer.is_some();
    }

    /// How long a halted CPU may sleep: until the timer's next deadline, at most
    /// [`PAUSED_POLL`].
    pub(super) fn halt_timeout(&self) -> Duration {
        match self.timer_due {
            Some(due) => due
                .saturating_duration_since(Instant::now())
                .min(PAUSED_POLL),
            None => PAUSED_POLL,
        }
    }

    /// KVM takes the machine (`false`) or gives it back (`true`): the timer goes with it.
    pub(super) fn timer_to_vcpu(&mut self, on: bool) {
        if let Some(timer) = &self.timer {
            timer.drive_from_vcpu(on);
            self.timer_stale = on;
        }
    }
}
