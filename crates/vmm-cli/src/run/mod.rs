//! `picovmm run` and `picovmm restore`, as named phases over the machine crate:
//!
//! ```text
//! prepare (arguments + machine file -> a validated description; every output file opened)
//!   -> build (the machine, with its console output routed)
//!   -> attach (signals, stdin, the live display, the gdb stub, the time limit)
//!   -> run (to the end, or under the debugger)
//!   -> report (the screen, the outcome, statistics, memory and snapshot files)
//! ```
//!
//! `restore` differs only in where the description comes from (the snapshot) and in putting
//! the saved state into the built machine before it runs.

mod attach;
mod pmemsave;
mod prepare;
mod report;
mod restore;

use vmm_machine::snapshot::Snapshot;
use vmm_machine::{Machine, Outputs};

use crate::cli::RunArgs;
use crate::display::HeldOutput;
use crate::error::CliError;
use crate::output::GuestStdout;

pub use restore::restore;

/// Runs `picovmm run`; returns the exit status.
pub fn run(args: &RunArgs) -> Result<i32, CliError> {
    run_machine(args, None)
}

/// The phases, for a machine described by `args` (and, on restore, the snapshot to continue).
fn run_machine(args: &RunArgs, restored: Option<Snapshot>) -> Result<i32, CliError> {
    let prepared = prepare::prepare(args, restored.as_ref())?;
    let console = Console::new(prepared.live);
    let mut machine = Machine::from_valid(prepared.valid, console.outputs())?;
    if let Some(snap) = &restored {
        machine.restore(snap)?;
    }
    if args.output.snapshot_on_exit.is_some() {
        if let Some(name) = machine.unsaveable() {
            return Err(CliError::Usage(format!(
                "--snapshot-on-exit: {name} cannot save its state (a plugin without picovmm.state/1)"
            )));
        }
    }
    let mut files = prepared.files;
    let mut front = attach::attach(&machine, &mut files, args, &console)?;
    let report = front.run(&mut machine);
    report::report(&machine, report, front, files, &console, args)
}

/// Where the guest's console output goes: stdout through its writer thread, or, while the
/// live display owns the terminal, held in memory until it closes.
pub(crate) struct Console {
    live: bool,
    stdout: GuestStdout,
    held: HeldOutput,
}

impl Console {
    fn new(live: bool) -> Console {
        Console {
            live,
            stdout: GuestStdout::new(),
            held: HeldOutput::default(),
        }
    }

    /// A sink for each device that prints.
    fn outputs(&self) -> Outputs {
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
