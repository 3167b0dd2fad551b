//! The control session of a run: what the control socket (`--control`) and the live display's
//! monitor both drive, and the end of the run told to them.

use std::sync::Arc;

use serde_json::json;
use vmm_control::server::Server;
use vmm_control::session::Ended;
use vmm_control::{RunEnd, Session, SnapshotTarget};
use vmm_core::{DebugEvent, RunOutcome};
use vmm_machine::Machine;

use super::console::Console;
use super::prepare::OutputFiles;
use crate::cli::RunArgs;
use crate::error::{thread as thread_error, CliError};
use crate::status;

/// The run's control session, and the socket serving it when `--control` asked for one.
pub(super) struct Control {
    pub session: Arc<Session>,
    server: Option<Server>,
}

/// Builds the session and starts the socket's server.
pub(super) fn start(
    machine: &Machine,
    files: &mut OutputFiles,
    args: &RunArgs,
    console: &Console,
) -> Result<Control, CliError> {
    let refusal = files.snapshot_refusal.clone().or_else(|| {
        machine
            .unsaveable()
            .map(|name| format!("{name} cannot save its state (a plugin without picovmm.state/1)"))
    });
    let session = Arc::new(Session {
        handle: machine.handle(),
        events: console.events.clone().unwrap_or_default(),
        end: RunEnd::default(),
        snapshot: SnapshotTarget {
            def: files.def.clone(),
            drives: files.drive_paths.clone(),
            refusal,
        },
        base: args
            .output
            .folder
            .clone()
            .unwrap_or_else(|| std::env::current_dir().unwrap_or_default()),
        reboots: machine.reboots(),
    });
    let server = match files.control.take() {
        Some((listener, path)) => {
            let server =
                Server::start(listener, &path, session.clone()).map_err(thread_error("control"))?;
            crate::errln!("picovmm: control socket at {}", path.display());
            Some(server)
        }
        None => None,
    };
    Ok(Control { session, server })
}

impl Control {
    /// Tells the clients how the run ended (`SHUTDOWN`, `quit`'s reply) and closes the socket.
    pub fn finish(&mut self, outcome: &RunOutcome) {
        let ended = Ended {
            outcome: outcome.name().to_owned(),
            description: outcome.to_string(),
            status: status::for_outcome(outcome),
        };
        match self.server.take() {
            Some(server) => server.finish(ended),
            None => self.session.end.finish(ended),
        }
    }

    /// What a breakpoint under gdb tells the clients.
    pub fn breakpoint_reporter(&self) -> impl Fn(&DebugEvent) {
        let events = self.session.events.clone();
        move |event| {
            events.emit(
                "BREAKPOINT",
                json!({"pc": event.pc, "exception": event.exception}),
            );
        }
    }
}
