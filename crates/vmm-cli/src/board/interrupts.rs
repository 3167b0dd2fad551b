//! The board's interrupt wiring: the PIC pair as the vCPU's interrupt controller, and the lines
//! devices raise (a PIC input, or nothing on a machine without a PIC).

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
}

impl PicController {
    /// The CPU's side of `pic`; `notifiers` hear of acknowledged lines.
    pub fn new(pic: Arc<Mutex<PicPair>>, notifiers: Vec<(u8, AckNotifier)>) -> Self {
        PicController { pic, notifiers }
    }

    fn pic(&self) -> MutexGuard<'_, PicPair> {
        // The registers are plain bytes: a panic elsewhere cannot leave them half-written.
        self.pic.lock().unwrap_or_else(|p| p.into_inner())
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
        self.pic().can_interrupt()
    }
}

/// Makes the lines devices raise.
#[derive(Clone)]
pub struct Lines {
    pic: Option<Arc<Mutex<PicPair>>>,
    control: VcpuControl,
}

impl Lines {
    /// Lines into `pic` (none without one), waking the vCPU behind `control`.
    pub fn new(pic: Option<Arc<Mutex<PicPair>>>, control: VcpuControl) -> Self {
        Lines { pic, control }
    }

    /// Line `irq`: a PIC input, or a line to nowhere on a machine without a PIC.
    pub fn line(&self, irq: u8) -> Arc<dyn IrqLine> {
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
