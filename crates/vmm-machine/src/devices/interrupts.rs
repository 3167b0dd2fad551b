//! The board's interrupt wiring: the PIC pair as the vCPU's interrupt controller, and the lines
//! devices raise (a PIC input, or nothing on a machine without a PIC).

use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use vmm_core::{InterruptController, VcpuControl};
use vmm_devices::irq::{IrqLine, NoLine};
use vmm_devices::pic::{PicLine, PicPair};

/// Called when the CPU acknowledges an interrupt of one line (KVM's irq ack notifier).
pub type AckNotifier = Arc<dyn Fn() + Send + Sync>;

/// The PIC pair as the CPU sees it.
pub struct PicController {
    pic: Arc<Mutex<PicPair>>,
    notifiers: Vec<(u8, AckNotifier)>,
    /// The lines a device drives (bit n for IRQ n).
    connected: u16,
}

impl PicController {
    /// The CPU's side of `pic`; `notifiers` hear of acknowledged lines; `connected` are the
    /// lines devices drive (from [`Lines::connected`]).
    pub fn new(
        pic: Arc<Mutex<PicPair>>,
        notifiers: Vec<(u8, AckNotifier)>,
        connected: u16,
    ) -> Self {
        PicController {
            pic,
            notifiers,
            connected,
        }
    }

    fn pic(&self) -> MutexGuard<'_, PicPair> {
        // The registers are plain bytes: a panic elsewhere cannot leave them half-written.
        crate::sync::lock(&self.pic)
    }
}

impl InterruptController for PicController {
    fn pending(&self) -> bool {
        self.pic().intr()
    }

    fn acknowledge(&self) -> u8 {
        let (vector, line) = self.pic().acknowledge_line();
        for (irq, notify) in &self.notifiers {
            if line == Some(*irq) {
                notify();
            }
        }
        vector
    }

    fn can_interrupt(&self) -> bool {
        self.pic().can_interrupt(self.connected)
    }
}

/// Makes the lines devices raise, and remembers which it made.
#[derive(Clone)]
pub struct Lines {
    pic: Option<Arc<Mutex<PicPair>>>,
    control: VcpuControl,
    connected: Arc<AtomicU16>,
}

impl Lines {
    /// Lines into `pic` (none without one), waking the vCPU behind `control`.
    pub fn new(pic: Option<Arc<Mutex<PicPair>>>, control: VcpuControl) -> Self {
        Lines {
            pic,
            control,
            connected: Arc::default(),
        }
    }

    /// The lines handed out so far (bit n for IRQ n).
    pub fn connected(&self) -> u16 {
        self.connected.load(Ordering::SeqCst)
    }

    /// Line `irq`: a PIC input, or a line to nowhere on a machine without a PIC.
    pub fn line(&self, irq: u8) -> Arc<dyn IrqLine> {
        if let Some(bit) = 1u16.checked_shl(u32::from(irq)) {
            self.connected.fetch_or(bit, Ordering::SeqCst);
        }
        match &self.pic {
            Some(pic) => {
                let control = self.control.clone();
                let wake = Arc::new(move || control.interrupt());
                Arc::new(PicLine::new(pic.clone(), irq, wake))
            }
            None => Arc::new(NoLine),
        }
    }
}
