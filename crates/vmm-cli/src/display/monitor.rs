//! The monitor in the live display: Ctrl-a c opens a one-line prompt on the terminal's last
//! row; a line there is a control command in the human syntax (`pause`, `cont`, `screendump
//! x.png`, `sendkey ctrl-alt-delete`, `savevm FILE`, `info registers`, `help`), run on the
//! same session as the control socket, its reply shown where the prompt was until the next key.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use vmm_control::commands::Caller;
use vmm_control::{human, Session};

use super::worker::Worker;

/// Lines drawn over the bottom of the live view, and a count that changes whenever they do.
#[derive(Clone, Default)]
pub struct Overlay(Arc<Mutex<(Vec<String>, u64)>>);

impl Overlay {
    /// Shows `lines` (replacing what was shown).
    pub fn show(&self, lines: Vec<String>) {
        let mut shown = vmm_machine::sync::lock(&self.0);
        shown.0 = lines;
        shown.1 += 1;
    }

    /// Shows nothing.
    pub fn clear(&self) {
        let mut shown = vmm_machine::sync::lock(&self.0);
        if !shown.0.is_empty() {
            shown.0.clear();
            shown.1 += 1;
        }
    }

    /// The lines shown, and their generation.
    pub fn lines(&self) -> (Vec<String>, u64) {
        vmm_machine::sync::lock(&self.0).clone()
    }

    /// Whether anything is shown.
    pub fn is_shown(&self) -> bool {
        !vmm_machine::sync::lock(&self.0).0.is_empty()
    }
}

/// The prompt shown before the line typed.
pub const PROMPT: &str = "(picovmm) ";

/// What Ctrl-a h shows.
pub const HELP: &[&str] = &[
    "Ctrl-a x  leave: stop the guest and end the run",
    "Ctrl-a s  save the screen as a PNG (the next free picovmm-N.png)",
    "Ctrl-a c  the monitor: pause, cont, step, screendump FILE, sendkey ctrl-alt-delete,",
    "          type TEXT, savevm FILE, info registers|status|stats, quit, help",
    "Ctrl-a 1 2 3  hold Shift, Ctrl, Alt down (again: let go), for games on held modifiers",
    "Ctrl-a h  this list        Ctrl-a Ctrl-a  send Ctrl-a to the guest",
];

/// The prompt's state: closed, or the line typed so far.
pub struct Monitor {
    session: Arc<Session>,
    line: Option<String>,
    overlay: Overlay,
    worker: Worker,
    /// Bumped each time the prompt opens: a command's reply that comes back after the user
    /// opened the prompt again does not cover the new prompt.
    opened: Arc<AtomicU64>,
}

impl Monitor {
    /// A closed monitor over `session`, drawing on `overlay`, its commands run on `worker`.
    pub fn new(session: Arc<Session>, overlay: Overlay, worker: Worker) -> Monitor {
        Monitor {
            session,
            line: None,
            overlay,
            worker,
            opened: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Opens the prompt.
    pub fn open(&mut self) {
        self.opened.fetch_add(1, Ordering::SeqCst);
        self.line = Some(String::new());
        self.render();
    }

    /// Whether the prompt is open.
    pub fn is_open(&self) -> bool {
        self.line.is_some()
    }

    /// Takes bytes typed while the prompt is open: Enter runs the line, Esc or Ctrl-c closes
    /// the prompt, Backspace and Ctrl-u edit. Returns what was typed after the prompt closed
    /// (for the guest).
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<u8> {
        for (i, &b) in bytes.iter().enumerate() {
            let Some(line) = self.line.as_mut() else {
                return bytes[i..].to_vec();
            };
            match b {
                b'\r' | b'\n' => {
                    let typed = std::mem::take(line);
                    self.line = None;
                    self.run(&typed);
                    return bytes[i + 1..].to_vec();
                }
                // Esc (and any escape sequence it starts) or Ctrl-c: close without running.
                0x1b | 0x03 => {
                    self.line = None;
                    self.overlay.clear();
                    return Vec::new();
                }
                0x7f | 0x08 => {
                    line.pop();
                }
                0x15 => line.clear(),
                0x20..=0x7e => line.push(char::from(b)),
                _ => {}
            }
        }
        self.render();
        Vec::new()
    }

    fn render(&self) {
        if let Some(line) = &self.line {
            self.overlay.show(vec![format!("{PROMPT}{line}_")]);
        }
    }

    /// Runs a typed line on the worker and shows its reply.
    fn run(&self, typed: &str) {
        if typed.trim().is_empty() {
            self.overlay.clear();
            return;
        }
        let (session, overlay) = (self.session.clone(), self.overlay.clone());
        let (opened, when) = (self.opened.clone(), self.opened.load(Ordering::SeqCst));
        let typed = typed.to_owned();
        overlay.show(vec![format!("{PROMPT}{typed}")]);
        self.worker.run(move || {
            let lines = reply(&session, &typed);
            if opened.load(Ordering::SeqCst) == when {
                overlay.show(lines);
            }
        });
    }
}

/// The lines that answer a typed command: the command, then its reply or error.
fn reply(session: &Session, typed: &str) -> Vec<String> {
    let mut lines = vec![format!("{PROMPT}{typed}")];
    match human::parse(typed) {
        Err(e) => lines.push(e),
        Ok(request) => match vmm_control::execute(session, &request, Caller::default()) {
            Ok(value) => {
                let text = human::describe(&request, &value);
                lines.extend(text.lines().map(str::to_owned));
            }
            Err(e) => lines.push(format!("error: {}", e.desc)),
        },
    }
    lines
}
