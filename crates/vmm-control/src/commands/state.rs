//! The machine's state: `registers`, `snapshot-save`, `query-stats`, and `subscribe` to
//! the opt-in events.

use serde_json::{json, Value};
use vmm_machine::snapshot::{self, DriveRecord};

use crate::args::Args;
use crate::caller::Caller;
use crate::protocol::CommandError;
use crate::session::Session;

pub(super) fn snapshot_save(s: &Session, a: &Args<'_>, _: Caller) -> Result<Value, CommandError> {
    if let Some(ended) = s.end.get() {
        return Err(CommandError::generic(format!(
            "the run is over ({})",
            ended.outcome
        )));
    }
    if let Some(why) = &s.snapshot.refusal {
        return Err(CommandError::generic(why.clone()));
    }
    let path = s.resolve(a.string("filename")?);
    let refused = |e: String| CommandError::generic(format!("snapshot {}: {e}", path.display()));
    snapshot::check_destination(&path).map_err(|e| CommandError::generic(chain(&e)))?;
    let drives = s
        .snapshot
        .drives
        .iter()
        .map(|p| DriveRecord::of(p))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| refused(e.to_string()))?;
    let was_paused = s.handle.is_paused();
    s.pause_now().map_err(CommandError::generic)?;
    let saved = s.handle.save_snapshot(&s.snapshot.def, &drives, &path);
    if !was_paused {
        s.handle.resume();
    }
    let bytes = saved.map_err(|e| CommandError::generic(chain(&e)))?;
    Ok(json!({"filename": path.display().to_string(), "bytes": bytes}))
}

/// An error with its causes: `what: why: why`.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(&format!(": {c}"));
        cause = c.source();
    }
    text
}

pub(super) fn query_stats(s: &Session, _: &Args<'_>, _: Caller) -> Result<Value, CommandError> {
    let (exits, accel) = s
        .handle
        .control()
        .call(|cpu| (cpu.exits(), cpu.accel()))
        .ok_or_else(|| CommandError::generic("the machine is gone"))?;
    let by_reason: serde_json::Map<String, Value> = exits
        .by_reason()
        .iter()
        .map(|(name, n)| ((*name).to_owned(), json!(n)))
        .collect();
    Ok(json!({
        "accel": accel.name(),
        "exits": exits.total,
        "exits_by_reason": by_reason,
        "instructions": exits.instructions,
        "firmware_calls": exits.firmware_calls,
        "injected": exits.injected,
    }))
}

pub(super) fn subscribe(s: &Session, a: &Args<'_>, caller: Caller) -> Result<Value, CommandError> {
    let names = a
        .array("events")?
        .iter()
        .map(|v| {
            v.as_str()
                .map(str::to_owned)
                .ok_or_else(|| CommandError::generic("'events' is a list of event names"))
        })
        .collect::<Result<Vec<String>, _>>()?;
    let Some(client) = caller.client else {
        return Err(CommandError::generic(
            "subscribe needs a connection to send the events on",
        ));
    };
    s.events
        .subscribe(client, &names)
        .map_err(CommandError::generic)?;
    Ok(json!({"events": names}))
}
