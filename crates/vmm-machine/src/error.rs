//! The machine's errors. They say what went wrong and where; which exit status each one means
//! is the command line's business, not the machine's.

use std::path::PathBuf;

use crate::diagnostic;
use crate::snapshot::format::FormatError;

/// Why a machine could not be described, built, saved or restored.
#[derive(Debug, thiserror::Error)]
pub enum MachineError {
    /// The machine file could not be read or is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The machine description is invalid, at a place of the file or a flag.
    #[error(transparent)]
    Invalid(#[from] diagnostic::Report),
    /// A validated image could not be loaded into guest memory.
    #[error("cannot load the ELF image")]
    LoadElf(#[source] vmm_core::elf::ElfError),
    /// A validated multiboot kernel could not be loaded into guest memory.
    #[error("cannot load the multiboot kernel")]
    LoadMultiboot(#[source] vmm_core::multiboot::MultibootError),
    /// A snapshot cannot be written or restored.
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    /// KVM could not build or run the machine.
    #[error(transparent)]
    Host(#[from] vmm_core::VmError),
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
            MachineError::Host(vmm_core::VmError::Memory(_)) => false,
            MachineError::Host(_) | MachineError::Thread { .. } | MachineError::Internal(_) => true,
            _ => false,
        }
    }
}

/// Errors reading a machine file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read machine file {path}")]
    Read {
        /// The path.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The path is not a file.
    #[error("{} is {what}, not a machine file", path.display())]
    NotAFile {
        /// The path.
        path: PathBuf,
        /// What it is.
        what: &'static str,
    },
    /// The file is larger than any machine file should be.
    #[error("machine file {} is {len} bytes; picovmm reads machine files of at most 1048576 bytes (1 MiB)", path.display())]
    TooLarge {
        /// The path.
        path: PathBuf,
        /// Its size.
        len: u64,
    },
    /// The file is binary, not text.
    #[error("{} is not a machine file: it is not UTF-8 text; {hint}", path.display())]
    NotText {
        /// The path.
        path: PathBuf,
        /// What it looks like instead, and what to do.
        hint: &'static str,
    },
    /// A machine file that is not a regular file gave more than the limit.
    #[error("machine file {} gives more than 1048576 bytes (1 MiB), the most picovmm reads", path.display())]
    StreamTooLarge {
        /// The path.
        path: PathBuf,
    },
    /// The file is not a valid machine description.
    #[error(transparent)]
    Invalid(#[from] crate::diagnostic::Report),
}

/// Why a snapshot cannot be written or restored.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// The file's container is wrong.
    #[error("snapshot {}: {problem}", path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        problem: FormatError,
    },
    /// Reading or writing the file failed.
    #[error("snapshot {}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The machine's state cannot be taken or put back.
    #[error("snapshot: {0}")]
    State(String),
}
