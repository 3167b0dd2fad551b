//! The screen: `screendump` (a PNG file, and the text as the reply) and `query-screen`.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use vmm_machine::Frame;

use crate::args::Args;
use crate::caller::Caller;
use crate::protocol::CommandError;
use crate::session::Session;

fn capture(s: &Session) -> Result<Frame, CommandError> {
    s.handle.capture().ok_or_else(|| {
        CommandError::no_device("this machine has no screen (no vga-text device, no BIOS)")
    })
}

pub(super) fn screendump(s: &Session, a: &Args<'_>, _: Caller) -> Result<Value, CommandError> {
    let filename = a.string("filename")?;
    match a.opt_string("format")? {
        None | Some("png") => {}
        Some(other) => {
            return Err(CommandError::generic(format!(
                "format '{other}' is not supported (png is)"
            )))
        }
    }
    let frame = capture(s)?;
    let path = s.resolve(filename);
    std::fs::write(&path, frame.png())
        .map_err(|e| CommandError::generic(format!("cannot write {}: {e}", path.display())))?;
    Ok(json!({"filename": path.display().to_string(), "text": frame.text()}))
}

pub(super) fn query_screen(s: &Session, _: &Args<'_>, _: Caller) -> Result<Value, CommandError> {
    let frame = capture(s)?;
    let text = frame.text();
    let mode = if text.is_some() { "text" } else { "graphics" };
    Ok(json!({"mode": mode, "text": text}))
}

/// The longest `screen-wait` waits, in milliseconds.
const MAX_WAIT_MS: u64 = 600_000;
/// How long `screen-wait` waits without a `timeout`, in milliseconds.
const DEFAULT_WAIT_MS: u64 = 10_000;
/// How often `screen-wait` looks.
const POLL: Duration = Duration::from_millis(5);

pub(super) fn screen_wait(s: &Session, a: &Args<'_>, _: Caller) -> Result<Value, CommandError> {
    let text = a.string("text")?;
    let timeout = a.opt_integer("timeout")?.unwrap_or(DEFAULT_WAIT_MS);
    if timeout > MAX_WAIT_MS {
        return Err(CommandError::generic(format!(
            "timeout {timeout} ms is more than {MAX_WAIT_MS}"
        )));
    }
    let start = Instant::now();
    loop {
        // The end is looked at first: what the guest drew before it is all in the next capture.
        let ended = s.end.get();
        let screen = capture(s)?.text().unwrap_or_default();
        if screen.contains(text) {
            let waited = start.elapsed().as_millis() as u64;
            return Ok(json!({"text": screen, "waited_ms": waited}));
        }
        if start.elapsed() >= Duration::from_millis(timeout) {
            return Err(CommandError::generic(format!(
                "the screen did not show {text:?} within {timeout} ms; it shows:\n{screen}"
            )));
        }
        if let Some(ended) = ended {
            return Err(CommandError::generic(format!(
                "the run ended ({}) before the screen showed {text:?}",
                ended.outcome
            )));
        }
        std::thread::sleep(POLL);
    }
}
