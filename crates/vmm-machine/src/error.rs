//! The machine's errors. They say what went wrong and where; which exit status each one means
//! is the command line's business, not the machine's.

use std::path::PathBuf;

use crate::{config, diagnostic, snapshot};

/// Why a machine could not be described, built, saved or restored.
#[derive(Debug, thiserror::Error)]
pub enum MachineError {
    /// The machine file could not be read or is invalid.
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    /// The machine description is invalid, at a place of the file or a flag.
    #[error(transparent)]
    Invalid(#[from] diagnostic::Report),
    /// A validated image could not be loaded into guest memory.
    #[error("cannot load the ELF image")]
    LoadElf(#[source] vmm_core::elf::Error),
    /// A validated multiboot kernel could not be loaded into guest memory.
    #[error("cannot load the multiboot kernel")]
    LoadMultiboot(#[source] vmm_core::multiboot::Error),
    /// A snapshot cannot be written or restored.
    #[error(transparent)]
    Snapshot(#[from] snapshot::SnapshotError),
    /// KVM could not build or run the machine.
    #[error(transparent)]
    Host(#[from] vmm_core::Error),
    /// A helper thread could not be started.
    #[error("cannot start the {name} thread")]
    Thread {
        /// The thread's name.
        name: &'static str,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// An output file of a device (a serial port's `output`) could not be created.
    #[error("cannot write {path}")]
    Output {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// What was asked cannot be done with this machine (a snapshot of a device that cannot
    /// save its state, a screen on a machine without one).
    #[error("{0}")]
    Refused(String),
    /// picovmm broke one of its own rules: a bug to report.
    #[error("internal error: {0}")]
    Internal(&'static str),
}

impl MachineError {
    /// Whether the fault is the host's (KVM, threads, picovmm itself) rather than the
    /// description's: a front end maps the first to "the host cannot run it".
    pub fn is_host(&self) -> bool {
        match self {
            MachineError::Host(vmm_core::Error::Memory(_)) => false,
            MachineError::Host(_) | MachineError::Thread { .. } | MachineError::Internal(_) => {
                true
            }
            _ => false,
        }
    }
}
