//! The screen: `screendump` (a PNG file, and the text as the reply) and `query-screen`.

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
