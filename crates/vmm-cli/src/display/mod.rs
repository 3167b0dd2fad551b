//! The screen, live and in pictures: `--display terminal` draws the guest's screen in the
//! user's terminal as it changes and sends the terminal's keys to the guest's keyboard;
//! `--screenshot` saves it as a PNG.
//!
//! ```text
//!   refresh thread, every 16 ms:  MachineHandle::capture ─► ansi::drawing ─► ansi::draw ─► stdout
//!   input thread:  stdin ─► InputParser ─► i8042 type-ahead (keys)  |  Quit  |  Screenshot
//! ```
//!
//! Reading the screen costs the guest nothing: the text and graphics windows are memory the
//! guest writes directly, and the VGA registers are read under their lock.

pub mod ansi;
pub mod input;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use vmm_core::StopReason;
use vmm_devices::keymap::KeyEvent;
use vmm_machine::MachineHandle;

use input::{Action, InputParser};

use crate::terminal::RawMode;

/// How often the live view looks at the screen (about 60 Hz at most).
pub const REFRESH: Duration = Duration::from_millis(16);

/// How much console output (debug console, serial) the live view holds back while it owns the
/// terminal; it is printed when the view closes.
pub const HELD_OUTPUT_LIMIT: usize = 1 << 20;

/// Console output held while the live view owns the terminal: the first
/// [`HELD_OUTPUT_LIMIT`] bytes, and how many more were dropped.
#[derive(Clone, Default)]
pub struct HeldOutput {
    inner: Arc<Mutex<(Vec<u8>, u64)>>,
}

impl HeldOutput {
    /// The bytes held and how many were dropped.
    pub fn take(&self) -> (Vec<u8>, u64) {
        let mut held = vmm_machine::sync::lock(&self.inner);
        (std::mem::take(&mut held.0), std::mem::take(&mut held.1))
    }
}

impl Write for HeldOutput {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut held = vmm_machine::sync::lock(&self.inner);
        let room = HELD_OUTPUT_LIMIT.saturating_sub(held.0.len());
        let kept = buf.len().min(room);
        held.0.extend_from_slice(&buf[..kept]);
        held.1 += (buf.len() - kept) as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Saves the screen as a PNG at `path` (nothing on a machine without a screen).
pub fn save_screenshot(machine: &MachineHandle, path: &Path) -> std::io::Result<()> {
    match machine.capture() {
        Some(frame) => std::fs::write(path, frame.png()),
        None => Ok(()),
    }
}

/// The live view: restores the terminal when dropped.
pub struct LiveDisplay {
    stop: Arc<AtomicBool>,
    refresh: Option<JoinHandle<()>>,
    _raw: Option<RawMode>,
}

/// Where Ctrl-a s saves: next to `--screenshot`'s file, or in the current folder.
fn numbered_path(base: Option<&Path>, n: usize) -> PathBuf {
    match base {
        Some(path) => {
            let stem = path
                .file_stem()
                .map_or_else(|| "picovmm".into(), |s| s.to_string_lossy().into_owned());
            path.with_file_name(format!("{stem}-{n}.png"))
        }
        None => PathBuf::from(format!("picovmm-{n}.png")),
    }
}

impl LiveDisplay {
    /// Takes over the terminal: alternate screen, raw keys (Ctrl-C goes to the guest; Ctrl-a x
    /// leaves), a refresh thread and an input thread.
    pub fn start(
        machine: MachineHandle,
        screenshot: Option<PathBuf>,
    ) -> std::io::Result<LiveDisplay> {
        let raw = RawMode::enable_all_keys();
        let mut out = std::io::stdout();
        out.write_all(b"\x1b[?1049h\x1b[H\x1b[2J")?;
        out.flush()?;
        let stop = Arc::new(AtomicBool::new(false));
        let refresh = {
            let (stop, machine) = (stop.clone(), machine.clone());
            thread::Builder::new()
                .name("display".into())
                .spawn(move || refresh_loop(&machine, &stop))?
        };
        let parser = Mutex::new(InputParser::default());
        let shots = AtomicUsize::new(0);
        crate::stdin::read_stdin("display-input", move |bytes| {
            let actions = vmm_machine::sync::lock(&parser).feed(bytes);
            for action in actions {
                match action {
                    Action::Keys(events) => type_keys(&machine, &events),
                    Action::Quit => machine.stop(StopReason::Interrupted),
                    Action::Screenshot => {
                        let n = shots.fetch_add(1, Ordering::SeqCst) + 1;
                        let _ = save_screenshot(&machine, &numbered_path(screenshot.as_deref(), n));
                    }
                }
            }
        })?;
        Ok(LiveDisplay {
            stop,
            refresh: Some(refresh),
            _raw: raw,
        })
    }
}

/// Hands `events` to the keyboard. Keys past its type-ahead are dropped, as a PC's keyboard
/// buffer drops them (with a beep): the input thread never waits, so Ctrl-a x always gets
/// through, however many keys were pasted into a guest that does not read them.
fn type_keys(machine: &MachineHandle, events: &[KeyEvent]) {
    if !machine.has_keyboard() {
        return;
    }
    if machine.keys(events) < events.len() {
        let mut out = std::io::stdout();
        let _ = out.write_all(b"\x07");
        let _ = out.flush();
    }
}

fn refresh_loop(machine: &MachineHandle, stop: &AtomicBool) {
    let mut shown: Option<ansi::Drawing> = None;
    let mut last = None;
    let mut out = std::io::stdout();
    let mut buf = String::new();
    while !stop.load(Ordering::SeqCst) {
        let size = terminal_size();
        let Some(frame) = machine.capture() else {
            return;
        };
        let key = (frame, size);
        if last.as_ref() != Some(&key) {
            let drawing = ansi::drawing(&key.0, size);
            buf.clear();
            ansi::draw(shown.as_ref(), &drawing, &mut buf);
            if !buf.is_empty() {
                let _ = out.write_all(buf.as_bytes());
                let _ = out.flush();
            }
            shown = Some(drawing);
            last = Some(key);
        }
        thread::sleep(REFRESH);
    }
}

/// The terminal's columns and rows (80x25 when it cannot say).
fn terminal_size() -> (usize, usize) {
    // SAFETY: a zeroed winsize is a valid buffer for TIOCGWINSZ to fill.
    let mut size: libc::winsize = unsafe { std::mem::zeroed() };
    // SAFETY: TIOCGWINSZ writes one winsize into `size`, which lives for the call.
    let ok = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut size) } == 0;
    if ok && size.ws_col > 0 && size.ws_row > 0 {
        (usize::from(size.ws_col), usize::from(size.ws_row))
    } else {
        (80, 25)
    }
}

impl Drop for LiveDisplay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.refresh.take() {
            let _ = t.join();
        }
        let mut out = std::io::stdout();
        let _ = out.write_all(b"\x1b[0m\x1b[?25h\x1b[?1049l");
        let _ = out.flush();
        // `_raw` drops after this: the terminal's settings come back last.
    }
}
