//! What an access nobody claims does, the same for every CPU backend: under `stop`, a fault;
//! under `log`, a warning once per address (at most [`MAX_REPORTED_UNCLAIMED`] of them).

use std::collections::HashSet;
use std::io::Write;

use super::{Fault, UnclaimedPolicy, MAX_REPORTED_UNCLAIMED};
use crate::exit::{Access, Space};

/// Warnings as `log` records, a line each (the front end prints them, or files them).
#[derive(Default)]
struct LogLines(Vec<u8>);

impl Write for LogLines {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        for &b in buf {
            if b == b'\n' {
                log::warn!("{}", String::from_utf8_lossy(&self.0));
                self.0.clear();
            } else {
                self.0.push(b);
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The policy and what was reported so far.
pub(crate) struct UnclaimedLog {
    pub policy: UnclaimedPolicy,
    reported: HashSet<(Space, u64)>,
    pub warnings: Box<dyn Write + Send>,
}

impl Default for UnclaimedLog {
    fn default() -> Self {
        UnclaimedLog {
            policy: UnclaimedPolicy::default(),
            reported: HashSet::new(),
            warnings: Box::new(LogLines::default()),
        }
    }
}

impl UnclaimedLog {
    /// The fault `access` is under `stop`; under `log`, reports it (once) and gives `None`.
    /// `at` says where the guest was (CS:IP).
    pub fn on(&mut self, access: Access, at: impl FnOnce() -> String) -> Option<Fault> {
        if self.policy == UnclaimedPolicy::Stop {
            return Some(Fault::UnclaimedAccess(access));
        }
        let key = (access.space, access.addr);
        if self.reported.len() > MAX_REPORTED_UNCLAIMED || self.reported.contains(&key) {
            return None;
        }
        self.reported.insert(key);
        let _ = if self.reported.len() > MAX_REPORTED_UNCLAIMED {
            writeln!(
                self.warnings,
                "warning: more than {MAX_REPORTED_UNCLAIMED} unclaimed addresses; \
                 not reporting further ones"
            )
        } else {
            writeln!(
                self.warnings,
                "warning: unclaimed {access} at {} ignored (reported once per address)",
                at()
            )
        };
        let _ = self.warnings.flush();
        None
    }
}
