//! Running and stopping: `query-status`, `stop`, `cont`, `step`, `quit`, `system_reset`.

use std::time::Duration;

use serde_json::{json, Value};
use vmm_core::StopReason;

use super::{object, Caller};
use crate::args::Args;
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

/// Refuses a command that needs a running machine once the run is over.
fn alive(s: &Session) -> Result<(), CommandError> {
    match s.end.get() {
        Some(ended) => Err(CommandError::generic(format!(
            "the run is over ({}): {}",
            ended.outcome, ended.description
        ))),
        None => Ok(()),
    }
}

/// Pauses the guest and waits until the vCPU is out of it (it serves a request only then).
pub(crate) fn pause_now(s: &Session) -> Result<(), CommandError> {
    s.handle.pause();
    s.handle
        .control()
        .call(|_| ())
        .ok_or_else(|| CommandError::generic("the machine is gone"))
}

pub(super) fn stop(s: &Session, _: &Args<'_>, _: Caller) -> Result<Value, CommandError> {
    alive(s)?;
    let was_paused = s.handle.is_paused();
    pause_now(s)?;
    if !was_paused {
        s.events.emit("STOP", json!({"reason": "pause"}));
    }
    Ok(json!({}))
}

pub(super) fn cont(s: &Session, _: &Args<'_>, _: Caller) -> Result<Value, CommandError> {
    alive(s)?;
    if s.handle.is_paused() {
        s.handle.resume();
        s.events.emit("RESUME", json!({}));
    }
    Ok(json!({}))
}

pub(super) fn step(s: &Session, _: &Args<'_>, _: Caller) -> Result<Value, CommandError> {
    alive(s)?;
    s.handle
        .step()
        .map_err(|e| CommandError::generic(e.to_string()))?;
    s.events.emit("STOP", json!({"reason": "step"}));
    super::state::registers(s, &Args::new(&Default::default(), &[])?, Caller::default())
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
    alive(s)?;
    s.handle.stop(StopReason::Reset);
    Ok(json!({}))
}
