//! Where the guest's console output goes during a run.

use vmm_control::tee::LineTee;
use vmm_control::Events;
use vmm_machine::Outputs;

use crate::chardev::Routes;

use crate::display::HeldOutput;
use crate::output::GuestStdout;

/// Where the guest's console output goes: stdout through its writer thread, or, while the
/// live display owns the terminal, held in memory until it closes.
pub(crate) struct Console {
    pub live: bool,
    pub stdout: GuestStdout,
    pub held: HeldOutput,
    /// The control socket's events, when there is one: console lines are sent on it too.
    pub events: Option<Events>,
    /// Devices whose output goes elsewhere than the console (`--serial`, `--debugcon`).
    pub routes: Routes,
}

impl Console {
    pub fn new(live: bool, events: Option<Events>, routes: Routes) -> Console {
        Console {
            live,
            stdout: GuestStdout::new(),
            held: HeldOutput::default(),
            events,
            routes,
        }
    }

    /// A sink for each device that prints.
    pub fn outputs(&self) -> Outputs {
        let (live, stdout, held) = (self.live, self.stdout.clone(), self.held.clone());
        let (events, routes) = (self.events.clone(), self.routes.clone());
        Outputs::new(move |kind| {
            let out: vmm_machine::board::ConsoleOutput = match routes.output(kind) {
                Some(elsewhere) => elsewhere,
                None if live => Box::new(held.clone()),
                None => Box::new(stdout.clone()),
            };
            match &events {
                Some(events) => LineTee::wrap(kind, out, events.clone()),
                None => out,
            }
        })
    }
}
