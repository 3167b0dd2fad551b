//! Running and stopping: `query-status`, `stop`, `cont`, `step`, `quit`, `system_reset`.

use std::time::Duration;

use serde_json::{json, Value};
use vmm_core::StopReason;

use serde_json::Map;

use crate::args::Args;
use crate::caller::Caller;
use crate::protocol::CommandError;
use crate::session::Session;

/// How long `quit` waits for the run to end after stopping it.
const QUIT_WAIT: Duration = Duration::from_secs(30);

pub(super) fn query_status(s: &Session, _: &Args<'_>, _: Caller) -> Result<Value, CommandError> {
    if let Some(ended) = s.end.get() {
        return Ok(object([
            ("running", json!(false)),
            ("singlestep", json!(false)),
            ("status", json!("shutdown")),
            ("outcome", json!(ended.outcome)),
        ]));
    }
    let paused = s.handle.is_paused();
    Ok(object([
        ("running", json!(!paused)),
        ("singlestep", json!(false)),
        ("status", json!(if paused { "paused" } else { "running" })),
    ]))
}

pub(super) fn stop(s: &Session, _: &Args<'_>, _: Caller) -> Result<Value, CommandError> {
    s.alive().map_err(CommandError::generic)?;
    let was_paused = s.handle.is_paused();
    s.pause_now().map_err(CommandError::generic)?;
    if !was_paused {
        s.events.emit("STOP", json!({"reason": "pause"}));
    }
    Ok(json!({}))
}

pub(super) fn cont(s: &Session, _: &Args<'_>, _: Caller) -> Result<Value, CommandError> {
    s.alive().map_err(CommandError::generic)?;
    if s.handle.is_paused() {
        s.handle.resume();
        s.events.emit("RESUME", json!({}));
    }
    Ok(json!({}))
}

pub(super) fn step(s: &Session, _: &Args<'_>, _: Caller) -> Result<Value, CommandError> {
    s.alive().map_err(CommandError::generic)?;
    s.handle
        .step()
        .map_err(|e| CommandError::generic(e.to_string()))?;
    s.events.emit("STOP", json!({"reason": "step"}));
    super::registers::registers(s, &Args::new(&Default::default(), &[])?, Caller::default())
}

pub(super) fn quit(s: &Session, _: &Args<'_>, _: Caller) -> Result<Value, CommandError> {
    if s.end.get().is_none() {
        s.handle.stop(StopReason::Quit);
    }
    let ended = s
        .end
        .wait(QUIT_WAIT)
        .ok_or_else(|| CommandError::generic("the run did not end within 30 s of quit"))?;
    Ok(json!({
        "outcome": ended.outcome,
        "description": ended.description,
        "status": ended.status,
    }))
}

pub(super) fn system_reset(s: &Session, _: &Args<'_>, _: Caller) -> Result<Value, CommandError> {
    s.alive().map_err(CommandError::generic)?;
    s.handle.stop(StopReason::Reset);
    if s.reboots {
        // The machine powers on again: QEMU's RESET event, and the run goes on.
        s.events.emit(
            "RESET",
            json!({"guest": false, "reason": "host-qmp-system-reset"}),
        );
        return Ok(json!({}));
    }
    // The reset ends the run here: the reply comes after it (and after SHUTDOWN).
    s.end
        .wait(QUIT_WAIT)
        .ok_or_else(|| CommandError::generic("the run did not end within 30 s of the reset"))?;
    Ok(json!({}))
}

/// An object from name-value pairs.
fn object<const N: usize>(pairs: [(&str, Value); N]) -> Value {
    Value::Object(
        pairs
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect::<Map<_, _>>(),
    )
}
