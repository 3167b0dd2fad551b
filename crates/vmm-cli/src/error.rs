//! The command line's errors, each with its exit status.

use std::path::PathBuf;

use crate::{config, status};

/// Why a command failed before or around the run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The machine file could not be read or is invalid.
    #[error(transparent)]
    Config(#[from] config::Error),
    /// The merged machine description is invalid, at a place of the file or a flag.
    #[error(transparent)]
    Invalid(#[from] crate::diagnostic::Report),
    /// A validated image could not be loaded into guest memory.
    #[error("cannot load the ELF image")]
    LoadElf(#[source] vmm_core::elf::Error),
    /// A validated multiboot kernel could not be loaded into guest memory.
    #[error("cannot load the multiboot kernel")]
    LoadMultiboot(#[source] vmm_core::multiboot::Error),
    /// The command line asks for something impossible.
    #[error("{0}")]
    Usage(String),
    /// A snapshot cannot be written or restored.
    #[error(transparent)]
    Snapshot(#[from] crate::snapshot::Error),
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
    /// The stop signals' handler could not be installed.
    #[error("cannot install the handler for Ctrl-C and the other stop signals")]
    Signals(#[source] std::io::Error),
    /// picovmm broke one of its own rules: a bug to report.
    #[error("internal error: {0}")]
    Internal(&'static str),
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

impl Error {
    /// The process exit status for this error.
    pub fn status(&self) -> i32 {
        match self {
            Error::Config(_)
            | Error::Invalid(_)
            | Error::LoadElf(_)
            | Error::LoadMultiboot(_)
            | Error::Usage(_)
            | Error::Output { .. }
            | Error::GdbListen { .. }
            | Error::Snapshot(_) => status::USAGE,
            Error::Host(vmm_core::Error::Memory(_)) => status::USAGE,
            Error::Host(_) | Error::Thread { .. } | Error::Signals(_) | Error::Internal(_) => {
                status::HOST
            }
        }
    }
}
