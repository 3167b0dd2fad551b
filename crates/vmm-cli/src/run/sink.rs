//! Where an output the run writes goes: a file, created before the guest starts so a bad path
//! never costs a run, or stdout for a path of `-`, as command-line tools read it.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{create_output, CliError};

/// An output's destination.
pub(crate) enum Sink {
    /// `-`: standard output.
    Stdout,
    /// A file, and its path for messages.
    File(PathBuf, File),
}

impl Sink {
    /// Opens `path` (`-` is stdout).
    pub fn open(path: &Path) -> Result<Sink, CliError> {
        if path == Path::new("-") {
            return Ok(Sink::Stdout);
        }
        Ok(Sink::File(path.to_path_buf(), create_output(path)?))
    }

    /// Writes `bytes` to it.
    pub fn write(self, bytes: &[u8]) -> Result<(), CliError> {
        match self {
            Sink::Stdout => {
                let mut out = std::io::stdout().lock();
                out.write_all(bytes)
                    .and_then(|()| out.flush())
                    .map_err(|source| CliError::Output {
                        path: PathBuf::from("-"),
                        source,
                    })
            }
            Sink::File(path, mut file) => file
                .write_all(bytes)
                .map_err(|source| CliError::Output { path, source }),
        }
    }
}
