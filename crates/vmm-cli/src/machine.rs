//! `picovmm machine --default`: the built-in default machine as a machine file, a start for
//! one's own (QEMU users reach for `-machine help`; Cloud Hypervisor's `vm.info` shows one).

use std::io::Write;
use std::path::PathBuf;

use vmm_machine::config::DEFAULT_MACHINE;

use crate::error::CliError;

/// Prints the default machine's TOML on stdout.
pub fn print_default() -> Result<i32, CliError> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(DEFAULT_MACHINE.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|source| CliError::Output {
            path: PathBuf::from("stdout"),
            source,
        })?;
    Ok(0)
}
