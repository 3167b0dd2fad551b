//! `--pmemsave ADDR SIZE FILE` (QEMU's monitor command): guest memory as the guest sees it
//! (RAM, the VGA windows, the BIOS ROM), checked and opened before the run, written after it.

use std::fs::File;
use std::io::Write;
use std::path::PathBuf;

use vmm_machine::{units, GuestView};

use crate::error::{create_output, CliError};

/// A stretch of guest memory to save, and the file it goes to.
pub(crate) struct MemorySave {
    addr: u64,
    size: u64,
    path: PathBuf,
    /// Created by [`MemorySave::check`], once the stretch is known to be there, so a refused
    /// one never truncates the file the user named.
    file: Option<File>,
}

impl MemorySave {
    /// Reads `ADDR SIZE FILE`; the stretch is checked against the built machine by
    /// [`MemorySave::check`].
    pub fn parse(values: &[String]) -> Result<Self, CliError> {
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
        Ok(MemorySave {
            addr,
            size,
            path: PathBuf::from(path),
            file: None,
        })
    }

    /// Refuses, before the run, a stretch the guest cannot address all of; then creates the
    /// file.
    pub fn check(&mut self, memory: &GuestView) -> Result<(), CliError> {
        let addressable = memory.addressable(self.addr, self.size);
        if addressable < self.size {
            return Err(CliError::Usage(format!(
                "--pmemsave: [{:#x}, +{:#x}) is not all guest memory: nothing at {:#x} (RAM, the VGA windows and the ROMs can be saved)",
                self.addr,
                self.size,
                self.addr + addressable
            )));
        }
        self.file = Some(create_output(&self.path)?);
        Ok(())
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
        let mut file = match self.file.take() {
            Some(file) => file,
            None => create_output(&self.path)?,
        };
        file.write_all(&bytes).map_err(output_error)
    }
}
