//! Where the guest's console output goes during a run.

use vmm_machine::Outputs;

use crate::display::HeldOutput;
use crate::output::GuestStdout;

/// Where the guest's console output goes: stdout through its writer thread, or, while the
/// live display owns the terminal, held in memory until it closes.
pub(crate) struct Console {
    pub live: bool,
    pub stdout: GuestStdout,
    pub held: HeldOutput,
}

impl Console {
    pub fn new(live: bool) -> Console {
        Console {
            live,
            stdout: GuestStdout::new(),
            held: HeldOutput::default(),
        }
    }

    /// A sink for each device that prints.
    pub fn outputs(&self) -> Outputs {
        let (live, stdout, held) = (self.live, self.stdout.clone(), self.held.clone());
        Outputs::new(move || {
            if live {
                Box::new(held.clone())
            } else {
                Box::new(stdout.clone())
            }
        })
    }
}
