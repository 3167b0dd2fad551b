//! `--pmemsave ADDR SIZE FILE` (QEMU's monitor command): checked and opened before the run,
//! written after it.

use std::fs::File;
use std::io::Write;
use std::path::PathBuf;

use vmm_machine::validate::ValidMachine;
use vmm_machine::{units, GuestView};

use crate::error::{create_output, CliError};

/// A stretch of guest RAM to save, and the file it goes to.
pub(crate) struct MemorySave {
    addr: u64,
    size: u64,
    path: PathBuf,
    file: File,
}

impl MemorySave {
    /// Reads `ADDR SIZE FILE`: the stretch must lie in one region of the machine's RAM.
    pub fn parse(values: &[String], valid: &ValidMachine) -> Result<Self, CliError> {
        let [addr, size, path] = values else {
            return Err(CliError::Usage("--pmemsave takes ADDR SIZE FILE".into()));
        };
        let number = |what: &str, text: &str| {
            units::parse_u64(text).ok_or_else(|| {
                CliError::Usage(format!(
                    "--pmemsave: invalid {what} \"{text}\": expected a number like 0x400"
                ))
            })
        };
        let (addr, size) = (number("address", addr)?, number("size", size)?);
        if !valid
            .spec
            .memory
            .iter()
            .any(|r| r.value.contains(addr, size))
        {
            return Err(CliError::Usage(format!(
                "--pmemsave: [{addr:#x}, +{size:#x}) is not inside one region of guest RAM"
            )));
        }
        let path = PathBuf::from(path);
        let file = create_output(&path)?;
        Ok(MemorySave {
            addr,
            size,
            path,
            file,
        })
    }

    /// Writes the stretch from `memory`.
    pub fn write(mut self, memory: &GuestView) -> Result<(), CliError> {
        let mut bytes = vec![0u8; self.size as usize];
        let read = memory.read(self.addr, &mut bytes);
        let output_error = |source| CliError::Output {
            path: self.path.clone(),
            source,
        };
        if read < bytes.len() {
            return Err(output_error(std::io::Error::other(format!(
                "guest memory past {:#x} cannot be read",
                self.addr + read as u64
            ))));
        }
        self.file.write_all(&bytes).map_err(output_error)
    }
}
