//! What every command works on: the machine's handle, its events, how its run ended, and what
//! a snapshot of it records.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use vmm_machine::snapshot::MachineDef;
use vmm_machine::MachineHandle;

use crate::events::Events;

/// One running machine as the control front ends see it.
pub struct Session {
    /// The machine's handle.
    pub handle: MachineHandle,
    /// Its event bus.
    pub events: Events,
    /// How its run ended, once it has.
    pub end: RunEnd,
    /// What a snapshot of it records.
    pub snapshot: SnapshotTarget,
    /// The folder relative file names are resolved in.
    pub base: PathBuf,
    /// A reset powers the machine on again (`--reboot`) rather than ending the run.
    pub reboots: bool,
}

impl Session {
    /// Refuses what needs a running machine once the run is over.
    pub fn alive(&self) -> Result<(), String> {
        match self.end.get() {
            Some(ended) => Err(format!(
                "the run is over ({}): {}",
                ended.outcome, ended.description
            )),
            None => Ok(()),
        }
    }

    /// Pauses the guest and waits until the vCPU is out of it (it serves a request only then).
    pub fn pause_now(&self) -> Result<(), String> {
        self.handle.pause();
        self.handle
            .control()
            .call(|_| ())
            .ok_or_else(|| "the machine is gone".to_owned())
    }

    /// `path` resolved in [`Session::base`].
    pub fn resolve(&self, path: &str) -> PathBuf {
        let path = Path::new(path);
        if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.base.join(path)
        }
    }
}

/// What describes the running machine for a snapshot, or why it cannot be saved.
#[derive(Clone, Debug)]
pub struct SnapshotTarget {
    /// The command and machine file text that built it.
    pub def: MachineDef,
    /// Its disk images (recorded by size and time in the snapshot).
    pub drives: Vec<PathBuf>,
    /// Why a snapshot would not restore this machine (a plugin without state, a drive whose
    /// writes live only in memory), if it would not.
    pub refusal: Option<String>,
}

/// How a run ended: its outcome's name, a sentence, and the exit status the front end gives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ended {
    /// The outcome's stable name (`halted`, `exit`, `timeout`, `quit`...).
    pub outcome: String,
    /// What happened, for people.
    pub description: String,
    /// The process's exit status for it.
    pub status: i32,
}

/// The end of a run, set once by the front end that ran it and awaited by `quit`.
#[derive(Clone, Default)]
pub struct RunEnd(Arc<(Mutex<Option<Ended>>, Condvar)>);

impl RunEnd {
    /// Records the end and wakes everyone waiting for it.
    pub fn finish(&self, ended: Ended) {
        let (slot, ready) = &*self.0;
        *vmm_machine::sync::lock(slot) = Some(ended);
        ready.notify_all();
    }

    /// The end, if the run is over.
    pub fn get(&self) -> Option<Ended> {
        vmm_machine::sync::lock(&self.0 .0).clone()
    }

    /// Waits up to `timeout` for the end.
    pub fn wait(&self, timeout: Duration) -> Option<Ended> {
        let (slot, ready) = &*self.0;
        let deadline = Instant::now() + timeout;
        let mut ended = vmm_machine::sync::lock(slot);
        while ended.is_none() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            ended = match ready.wait_timeout(ended, left) {
                Ok((guard, _)) => guard,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
        ended.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_run_end_wait_returns_the_end_once_finished() {
        let end = RunEnd::default();
        let ended = Ended {
            outcome: "quit".into(),
            description: "quit".into(),
            status: 0,
        };
        end.finish(ended.clone());
        assert_eq!(end.wait(Duration::from_millis(1)), Some(ended));
    }

    #[test]
    fn test_run_end_wait_gives_up_after_the_timeout() {
        assert_eq!(RunEnd::default().wait(Duration::from_millis(1)), None);
    }
}
