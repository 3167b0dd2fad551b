//! The phases in order, for `run` and `restore` alike.

use vmm_machine::snapshot::Snapshot;
use vmm_machine::Machine;

use super::console::Console;
use super::{attach, prepare, report};
use crate::cli::RunArgs;
use crate::error::CliError;

/// The phases, for a machine described by `args` (and, on restore, the snapshot to continue).
pub(super) fn run_machine(args: &RunArgs, restored: Option<Snapshot>) -> Result<i32, CliError> {
    let prepared = prepare::prepare(args, restored.as_ref())?;
    let events = prepared
        .files
        .control
        .is_some()
        .then(vmm_control::Events::new);
    let routes = prepared.files.chardevs.routes();
    let console = Console::new(prepared.live, events, routes);
    let mut machine = Machine::from_valid(prepared.valid, console.outputs())?;
    if let Some(snap) = &restored {
        machine.restore(snap)?;
    }
    // A restored machine's power-on state is not in the snapshot: it does not reboot.
    if args.reboot && restored.is_none() {
        machine.enable_reboot()?;
    }
    if args.output.snapshot_on_exit.is_some() {
        if let Some(name) = machine.unsaveable() {
            return Err(CliError::Usage(format!(
                "--snapshot-on-exit: {name} cannot save its state (a plugin without picovmm.state/1)"
            )));
        }
    }
    let mut files = prepared.files;
    if let Some(save) = &mut files.pmemsave {
        save.check(machine.memory())?;
    }
    let mut front = attach::attach(&machine, &mut files, args, &console)?;
    let report = front.run(&mut machine);
    report::report(&machine, report, front, files, &console, args)
}
