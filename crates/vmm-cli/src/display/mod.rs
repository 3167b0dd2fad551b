//! The screen, live and in pictures: `--display terminal` draws the guest's screen in the
//! user's terminal as it changes and sends the terminal's keys to the guest's keyboard;
//! `--screenshot` saves it as a PNG.
//!
//! ```text
//!   refresh thread, every 16 ms:  MachineHandle::capture ─► ansi::drawing ─► ansi::draw ─► stdout
//!   input thread:  stdin ─► InputParser ─► i8042 type-ahead (keys)  |  Quit  |  Screenshot
//!                                        └─► Monitor (Ctrl-a c) ─► vmm_control::execute
//! ```
//!
//! The monitor's prompt and replies, and the Ctrl-a h list, are an [`Overlay`] the refresh
//! thread draws over the bottom rows.
//!
//! Reading the screen costs the guest nothing: the text and graphics windows are memory the
//! guest writes directly, and the VGA registers are read under their lock.

pub mod ansi;
pub mod input;
pub mod kitty;
pub mod monitor;
pub mod pointer;
pub mod worker;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use vmm_control::Session;
use vmm_core::StopReason;
use vmm_devices::keymap::KeyEvent;
use vmm_machine::MachineHandle;

use input::{Action, InputParser};
use monitor::{Monitor, Overlay};
use worker::Worker;

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
    /// The terminal reports its mouse (turned off again on drop).
    mouse: bool,
    _raw: Option<RawMode>,
}

/// Where Ctrl-a s saves: the first numbered file that does not exist yet (an earlier run's
/// pictures are kept), next to `--screenshot`'s file or in the current folder.
fn free_numbered_path(base: Option<&Path>, from: usize) -> (PathBuf, usize) {
    let mut n = from;
    loop {
        let path = numbered_path(base, n);
        if !path.exists() {
            return (path, n);
        }
        n += 1;
    }
}

/// The `n`th picture's path next to `base`.
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
        session: Arc<Session>,
        screenshot: Option<PathBuf>,
    ) -> std::io::Result<LiveDisplay> {
        let raw = RawMode::enable_all_keys();
        let mut out = std::io::stdout();
        out.write_all(b"\x1b[?1049h\x1b[H\x1b[2J")?;
        // Each key's press and release, modifiers alone too, where the terminal can.
        out.write_all(kitty::PUSH)?;
        let mouse = session.handle.has_mouse();
        if mouse {
            out.write_all(pointer::ENABLE)?;
        }
        out.flush()?;
        let stop = Arc::new(AtomicBool::new(false));
        let overlay = Overlay::default();
        let machine = session.handle.clone();
        let refresh = {
            let (stop, machine, overlay) = (stop.clone(), machine.clone(), overlay.clone());
            thread::Builder::new()
                .name("display".into())
                .spawn(move || refresh_loop(&machine, &overlay, &stop))?
        };
        let worker = Worker::start()?;
        let input = Mutex::new(Input {
            parser: InputParser::default(),
            monitor: Monitor::new(session, overlay.clone(), worker.clone()),
            overlay,
            machine,
            screenshot,
            shots: Arc::new(AtomicUsize::new(1)),
            worker,
            held: Vec::new(),
            pointer: pointer::Pointer::default(),
        });
        crate::stdin::read_stdin("display-input", move |bytes| {
            vmm_machine::sync::lock(&input).feed(bytes);
        })?;
        Ok(LiveDisplay {
            stop,
            refresh: Some(refresh),
            mouse,
            _raw: raw,
        })
    }
}

/// The input thread's state: keys for the guest, or lines for the monitor.
struct Input {
    parser: InputParser,
    monitor: Monitor,
    overlay: Overlay,
    machine: MachineHandle,
    screenshot: Option<PathBuf>,
    shots: Arc<AtomicUsize>,
    worker: Worker,
    /// Modifiers held down with Ctrl-a 1, 2, 3.
    held: Vec<vmm_devices::keymap::Key>,
    /// The terminal's mouse, as the guest's.
    pointer: pointer::Pointer,
}

impl Input {
    fn feed(&mut self, bytes: &[u8]) {
        let mut bytes = bytes.to_vec();
        if self.monitor.is_open() {
            // The prompt reads text: kitty's key events become the bytes they type.
            if self.parser.kitty() {
                bytes = kitty::to_text(&bytes);
            }
            bytes = self.monitor.feed(&bytes);
        } else if !bytes.is_empty() && self.overlay.is_shown() {
            // A reply or the key list stays until the next key, which then goes on as usual;
            // the held modifiers' line stays while they are held.
            self.overlay.clear();
            self.show_held();
        }
        if bytes.is_empty() {
            return;
        }
        for action in self.parser.feed(&bytes) {
            match action {
                Action::Keys(events) => type_keys(&self.machine, &events),
                Action::Quit => self.machine.stop(StopReason::Interrupted),
                Action::Screenshot => self.screenshot(),
                Action::Help => self
                    .overlay
                    .show(monitor::HELP.iter().map(|l| (*l).to_owned()).collect()),
                Action::Monitor(rest) => {
                    self.monitor.open();
                    let rest = if self.parser.kitty() {
                        kitty::to_text(&rest)
                    } else {
                        rest
                    };
                    let after = self.monitor.feed(&rest);
                    if !after.is_empty() {
                        self.feed(&after);
                    }
                }
                Action::Toggle(key) => self.toggle(key),
                Action::Mouse(report) => self.pointer.report(report, &self.machine),
            }
        }
    }

    /// Ctrl-a 1, 2, 3: holds a modifier down (its make code to the guest) or lets it go.
    fn toggle(&mut self, key: vmm_devices::keymap::Key) {
        let release = match self.held.iter().position(|k| *k == key) {
            Some(at) => {
                self.held.remove(at);
                true
            }
            None => {
                self.held.push(key);
                false
            }
        };
        type_keys(&self.machine, &[KeyEvent { key, release }]);
        self.overlay.clear();
        self.show_held();
    }

    /// The bottom row says which modifiers are held, while any is.
    fn show_held(&self) {
        if self.held.is_empty() {
            return;
        }
        let names: Vec<&str> = self
            .held
            .iter()
            .filter_map(|k| {
                vmm_devices::keymap::NAMED_KEYS
                    .iter()
                    .find(|(_, named)| named == k)
                    .map(|(n, _)| *n)
            })
            .collect();
        self.overlay.show(vec![format!(
            "held: {} (Ctrl-a 1 Shift, 2 Ctrl, 3 Alt: press again to let go)",
            names.join(" ")
        )]);
    }

    /// Ctrl-a s: the screen into the next free numbered file (on the worker), and where it
    /// went.
    fn screenshot(&mut self) {
        let (machine, overlay) = (self.machine.clone(), self.overlay.clone());
        let (base, shots) = (self.screenshot.clone(), self.shots.clone());
        self.worker.run(move || {
            let from = shots.load(Ordering::SeqCst);
            let (path, n) = free_numbered_path(base.as_deref(), from);
            shots.store(n + 1, Ordering::SeqCst);
            let message = match save_screenshot(&machine, &path) {
                Ok(()) => format!("saved the screen to {}", path.display()),
                Err(e) => format!("could not save the screen to {}: {e}", path.display()),
            };
            overlay.show(vec![message]);
        });
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

fn refresh_loop(machine: &MachineHandle, overlay: &Overlay, stop: &AtomicBool) {
    let mut shown: Option<ansi::Drawing> = None;
    let mut last = None;
    let mut out = std::io::stdout();
    let mut buf = String::new();
    while !stop.load(Ordering::SeqCst) {
        let size = terminal_size();
        let Some(frame) = machine.capture() else {
            return;
        };
        let (lines, generation) = overlay.lines();
        let key = (frame, size, generation);
        if last.as_ref() != Some(&key) {
            let drawing = ansi::drawing(&key.0, size);
            buf.clear();
            // The overlay covers cells the last drawing thinks are on screen: redraw them all
            // when it changes.
            let overlay_changed = last
                .as_ref()
                .is_some_and(|l: &(_, _, u64)| l.2 != generation);
            let previous = if overlay_changed {
                None
            } else {
                shown.as_ref()
            };
            ansi::draw(previous, &drawing, &mut buf);
            draw_overlay(&lines, size, &mut buf);
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

/// Draws `lines` over the bottom rows, in reverse video, the cursor after the last.
fn draw_overlay(lines: &[String], (columns, rows): (usize, usize), out: &mut String) {
    use std::fmt::Write as _;
    let first = rows.saturating_sub(lines.len()) + 1;
    for (i, line) in lines.iter().enumerate() {
        let text: String = line.chars().take(columns).collect();
        let _ = write!(
            out,
            "\x1b[{};1H\x1b[0m\x1b[7m{text:<columns$}\x1b[0m",
            first + i
        );
    }
    if let Some(last) = lines.last() {
        let column = last.chars().count().min(columns) + 1;
        let _ = write!(out, "\x1b[{};{column}H", first + lines.len() - 1);
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
        if self.mouse {
            let _ = out.write_all(pointer::DISABLE);
        }
        let _ = out.write_all(kitty::POP);
        let _ = out.write_all(b"\x1b[0m\x1b[?25h\x1b[?1049l");
        let _ = out.flush();
        // `_raw` drops after this: the terminal's settings come back last.
    }
}
