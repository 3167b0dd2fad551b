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
    // The debugging the restore command asks for, and none of the stored run's.
    let absolute = |p: &std::path::PathBuf| here.join(p);
    run_args.gdb = args.debug.gdb.clone();
    run_args.gdb_wait = args.debug.gdb_wait;
    run_args.pmemsave = args.debug.pmemsave.clone().map(|mut a| {
        if let Some(file) = a.get_mut(2) {
            *file = here.join(&*file).to_string_lossy().into_owned();
        }
        a
    });
    if !args.debug.plugin_dirs.is_empty() {
        run_args.plugin_dirs = args.debug.plugin_dirs.iter().map(absolute).collect();
    }
    std::env::set_current_dir(&snap.machine.cwd).map_err(|e| {
        CliError::Usage(format!(
            "the snapshot's folder {:?} is gone: {e}",
            snap.machine.cwd
        ))
    })?;
    super::phases::run_machine(&run_args, Some(snap))
}
