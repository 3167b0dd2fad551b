//! The command line's errors, each with its exit status.

use std::path::PathBuf;

use vmm_machine::MachineError;

use crate::status;

/// Why a command failed before or around the run.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The machine could not be described, built, saved or restored.
    #[error(transparent)]
    Machine(#[from] MachineError),
    /// The command line asks for something impossible.
    #[error("{0}")]
    Usage(String),
    /// A helper thread could not be started.
    #[error("cannot start the {name} thread")]
    Thread {
        /// The thread's name.
        name: &'static str,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The stop signals' handler could not be installed.
    #[error("cannot install the handler for Ctrl-C and the other stop signals")]
    Signals(#[source] std::io::Error),
    /// The gdb stub cannot listen where it was asked to.
    #[error("cannot listen for gdb on {address}")]
    GdbListen {
        /// The address.
        address: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// An output file could not be written.
    #[error("cannot write {path}")]
    Output {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

impl From<vmm_machine::config::ConfigError> for CliError {
    fn from(e: vmm_machine::config::ConfigError) -> Self {
        CliError::Machine(e.into())
    }
}

impl From<vmm_machine::diagnostic::Report> for CliError {
    fn from(e: vmm_machine::diagnostic::Report) -> Self {
        CliError::Machine(e.into())
    }
}

impl From<vmm_machine::snapshot::SnapshotError> for CliError {
    fn from(e: vmm_machine::snapshot::SnapshotError) -> Self {
        CliError::Machine(e.into())
    }
}

impl CliError {
    /// The process exit status for this error.
    pub fn status(&self) -> i32 {
        match self {
            CliError::Machine(e) if e.is_host() => status::HOST,
            CliError::Thread { .. } | CliError::Signals(_) => status::HOST,
            CliError::Machine(_)
            | CliError::Usage(_)
            | CliError::Output { .. }
            | CliError::GdbListen { .. } => status::USAGE,
        }
    }
}

/// A helper thread's start, failed.
pub fn thread(name: &'static str) -> impl FnOnce(std::io::Error) -> CliError {
    move |source| CliError::Thread { name, source }
}

/// Creates an output file, or says which one could not be.
pub fn create_output(path: &std::path::Path) -> Result<std::fs::File, CliError> {
    std::fs::File::create(path).map_err(|source| CliError::Output {
        path: path.to_path_buf(),
        source,
    })
}
