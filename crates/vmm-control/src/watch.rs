//! `SCREEN_CHANGED`: while a client asked for it, the screen is looked at a few times a second
//! and a change is sent with the new text (at most [`PERIOD`] apart, however fast the guest
//! draws).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::json;
use vmm_machine::MachineHandle;

use crate::events::Events;

/// How often the screen is compared.
pub const PERIOD: Duration = Duration::from_millis(200);

/// The thread that watches the screen; it ends when this drops.
pub struct ScreenWatch {
    done: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl ScreenWatch {
    /// Starts watching `handle`'s screen for `events`' subscribers.
    pub fn start(handle: MachineHandle, events: Events) -> std::io::Result<ScreenWatch> {
        let done = Arc::new(AtomicBool::new(false));
        let flag = done.clone();
        let thread = std::thread::Builder::new()
            .name("control-screen".into())
            .spawn(move || watch(&handle, &events, &flag))?;
        Ok(ScreenWatch {
            done,
            thread: Some(thread),
        })
    }
}

fn watch(handle: &MachineHandle, events: &Events, done: &AtomicBool) {
    let mut last: Option<Vec<u8>> = None;
    while !done.load(Ordering::Relaxed) {
        std::thread::park_timeout(PERIOD);
        if !events.wants("SCREEN_CHANGED") {
            last = None;
            continue;
        }
        let Some(frame) = handle.capture() else {
            return;
        };
        let text = frame.text();
        let key = match &text {
            Some(t) => t.as_bytes().to_vec(),
            None => frame.png(),
        };
        if last.as_ref() != Some(&key) {
            if last.is_some() {
                let mode = if text.is_some() { "text" } else { "graphics" };
                events.emit("SCREEN_CHANGED", json!({"mode": mode, "text": text}));
            }
            last = Some(key);
        }
    }
}

impl Drop for ScreenWatch {
    fn drop(&mut self) {
        self.done.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            thread.thread().unpark();
            let _ = thread.join();
        }
    }
}
