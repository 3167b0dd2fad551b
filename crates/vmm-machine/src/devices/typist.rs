//! Keys from the machine file, typed on the i8042's keyboard at a typist's pace once the guest
//! runs: the first [`FIRST_KEY`] after the board is built, then one key event every
//! [`KEY_INTERVAL`]. A real keyboard's keys arrive over time, and software counts on it: a
//! guest initialising its interrupt controller after a key is already waiting would never see
//! that key's interrupt edge (the 8259A's ICW1 resets edge sensing, as on the part), and a
//! BIOS's 16-key buffer would overflow if a whole line arrived at once.

use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use vmm_devices::i8042::I8042;
use vmm_devices::keymap::KeyEvent;

/// When the first key goes down, after the board is built.
pub const FIRST_KEY: Duration = Duration::from_millis(50);
/// Between two key events (a press or a release).
pub const KEY_INTERVAL: Duration = Duration::from_millis(10);

/// The typing thread; dropping it stops the typing.
pub struct Typist {
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Typist {
    /// Starts typing `events` on `keyboard`.
    pub fn start(keyboard: Arc<Mutex<I8042>>, events: Vec<KeyEvent>) -> std::io::Result<Typist> {
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = thread::Builder::new()
            .name("typist".into())
            .stack_size(64 * 1024)
            .spawn(move || {
                let mut wait = FIRST_KEY;
                for event in events {
                    // A message or a hang-up both mean the board is going away.
                    if stopped.recv_timeout(wait) != Err(RecvTimeoutError::Timeout) {
                        return;
                    }
                    let mut kbc = crate::sync::lock(&keyboard);
                    kbc.type_ahead(&[event]);
                    wait = KEY_INTERVAL;
                }
            })?;
        Ok(Typist {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for Typist {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
