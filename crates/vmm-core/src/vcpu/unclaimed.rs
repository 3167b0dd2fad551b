//! What an access nobody claims does, the same for every CPU backend: under `stop`, a fault;
//! under `log`, a warning once per address (at most [`MAX_REPORTED_UNCLAIMED`] of them).

use std::collections::HashSet;
use std::io::Write;

use super::{Fault, UnclaimedPolicy, MAX_REPORTED_UNCLAIMED};
use crate::exit::{Access, Space};

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
            warnings: Box::new(std::io::stderr()),
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
                "picovmm: warning: more than {MAX_REPORTED_UNCLAIMED} unclaimed addresses; \
                 not reporting further ones"
            )
        } else {
            writeln!(
                self.warnings,
                "picovmm: warning: unclaimed {access} at {} ignored (reported once per address)",
                at()
            )
        };
        let _ = self.warnings.flush();
        None
    }
}
