//! `picovmm restore`: the machine a snapshot describes, built again in the snapshot's folder
//! from the stored command and machine file text, with its state put back, under the restore
//! command's output arguments.

use clap::Parser as _;
use vmm_machine::snapshot;

use crate::cli::{Cli, Command, RestoreArgs};
use crate::error::CliError;

/// Runs `picovmm restore`; returns the exit status.
pub fn restore(args: &RestoreArgs) -> Result<i32, CliError> {
    let here = std::env::current_dir().unwrap_or_default();
    let snap = snapshot::load(&args.file)?;
    let changed = snap.changed_drives();
    if !changed.is_empty() && !args.force_drives {
        return Err(CliError::Usage(format!(
            "disk image {:?} changed since the snapshot (its size or time); the guest would read data that differs from what it saw: restore with --force-drives to use it anyway",
            changed[0]
        )));
    }
    let mut argv = vec!["picovmm".to_owned()];
    argv.extend(snap.machine.args.iter().cloned());
    let parsed = Cli::try_parse_from(&argv)
        .map_err(|e| CliError::Usage(format!("the snapshot's command does not parse: {e}")))?;
    let Command::Run(stored) = parsed.command else {
        return Err(CliError::Usage(
            "the snapshot's command is not `run`".into(),
        ));
    };
    let mut run_args = *stored;
    run_args.output = args.output.absolute(&here);
    if args.accel.is_some() {
        run_args.accel = args.accel;
    }
    run_args.pmemsave = None;
    run_args.gdb = None;
    run_args.gdb_wait = false;
    std::env::set_current_dir(&snap.machine.cwd).map_err(|e| {
        CliError::Usage(format!(
            "the snapshot's folder {:?} is gone: {e}",
            snap.machine.cwd
        ))
    })?;
    super::phases::run_machine(&run_args, Some(snap))
}
