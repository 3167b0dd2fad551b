//! `picovmm run` and `picovmm restore`, as named phases over the machine crate:
//!
//! ```text
//! prepare (arguments + machine file -> a validated description; every output file opened)
//!   -> build (the machine, with its console output routed)
//!   -> attach (signals, stdin, the control socket, the live display, the gdb stub, the time
//!      limit)
//!   -> run (to the end, or under the debugger)
//!   -> report (the screen, the outcome, statistics, memory and snapshot files)
//! ```
//!
//! `restore` differs only in where the description comes from (the snapshot) and in putting
//! the saved state into the built machine before it runs.

mod attach;
mod console;
mod control;
mod phases;
mod pmemsave;
mod prepare;
mod report;
mod restore;
mod routing;
mod sink;

use crate::cli::RunArgs;
use crate::error::CliError;

pub use restore::restore;

/// Runs `picovmm run`; returns the exit status.
pub fn run(args: &RunArgs) -> Result<i32, CliError> {
    phases::run_machine(args, None)
}
