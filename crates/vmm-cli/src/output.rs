//! The guest's output to stdout (debug console, serial port), written by a thread of its own so
//! that a stop always wins over output: a reader that stops reading (`| less`, a full pipe)
//! blocks that thread, never the vCPU. Devices append to a bounded buffer; when it is full the
//! vCPU waits for room, as a real UART would, but only until a stop is asked for, so
//! `--timeout` and Ctrl-C end the run on time. Nothing the guest wrote is dropped: after the run,
//! [`GuestStdout::finish`] waits until the reader has taken every byte.
//!
//! The thread starts with the first byte, so a guest that prints nothing costs nothing.

use std::collections::VecDeque;
use std::io::Write;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::thread;
use std::time::Duration;

use vmm_core::VcpuControl;

/// Set when the rest of the guest's output was given up: the writer thread may hold stdout
/// (blocked in a write), so nothing more may be written there.
static ABANDONED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether stdout was given up (see [`GuestStdout::finish`]).
pub fn abandoned() -> bool {
    ABANDONED.load(std::sync::atomic::Ordering::SeqCst)
}

/// How much guest output waits in memory before the vCPU waits for the reader.
pub const BUFFER_BYTES: usize = 64 * 1024;
/// How often a vCPU waiting for room looks for a stop request.
const STOP_POLL: Duration = Duration::from_millis(10);
/// How long the writer lets bytes gather after the first one: a guest printing a byte per port
/// exit then costs one `write` per millisecond, not one per byte, and no wake-up per byte.
const BATCH: Duration = Duration::from_millis(1);

#[derive(Default)]
struct State {
    pending: VecDeque<u8>,
    /// The writer thread is running.
    started: bool,
    /// The writer thread holds bytes it took but has not written yet.
    writing: bool,
    /// How many: what it holds.
    writing_len: usize,
    /// The writer thread waits for bytes: the next write must wake it.
    idle: bool,
    /// stdout failed (closed pipe): further output is dropped, as a failed write would be.
    failed: bool,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    /// Signalled when bytes arrive (for the writer) and when room or completion appears.
    changed: Condvar,
    control: OnceLock<VcpuControl>,
}

/// Guest output to stdout through the writer thread; cloned into every device that prints.
#[derive(Clone, Default)]
pub struct GuestStdout {
    shared: Arc<Shared>,
}

impl GuestStdout {
    /// A new, idle output.
    pub fn new() -> Self {
        Self::default()
    }

    /// The vCPU whose stop requests end a wait for room.
    pub fn stop_waiting_on(&self, control: VcpuControl) {
        let _ = self.shared.control.set(control);
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        vmm_machine::sync::lock(&self.shared.state)
    }

    fn stop_requested(&self) -> bool {
        self.shared
            .control
            .get()
            .is_some_and(|c| c.reason().is_some())
    }

    /// Waits at most `limit` for the reader to take what the guest wrote, so that a message
    /// about the run's end follows the guest's output on a shared terminal (a reader that is
    /// not reading only delays it by `limit`).
    pub fn drain_for(&self, limit: Duration) {
        let deadline = std::time::Instant::now() + limit;
        let mut state = self.lock();
        while state.started && !state.failed && (!state.pending.is_empty() || state.writing) {
            let now = std::time::Instant::now();
            if now >= deadline {
                return;
            }
            state = self
                .shared
                .changed
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .0;
        }
    }

    /// Waits until every byte written so far is in stdout (or stdout failed).
    /// A second stop signal (Ctrl-C again, SIGTERM) ends the wait at once: then it returns
    /// how many bytes were not delivered (0 when all were).
    pub fn finish(&self) -> usize {
        let mut state = self.lock();
        while state.started && !state.failed && (!state.pending.is_empty() || state.writing) {
            if crate::signals::received() >= 2 {
                ABANDONED.store(true, std::sync::atomic::Ordering::SeqCst);
                return state.pending.len() + state.writing_len;
            }
            state = self
                .shared
                .changed
                .wait_timeout(state, STOP_POLL)
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .0;
        }
        drop(state);
        let _ = std::io::stdout().flush();
        0
    }

    fn start_writer(&self, state: &mut State) {
        if state.started {
            return;
        }
        let shared = self.shared.clone();
        let spawned = thread::Builder::new()
            .name("guest-stdout".into())
            .stack_size(WRITER_STACK)
            .spawn(move || write_out(&shared));
        // Without the thread, fall back to dropping output rather than blocking the vCPU.
        state.started = spawned.is_ok();
        state.failed = spawned.is_err();
    }
}

/// The writer thread: takes what is pending and writes it to stdout, blocking as long as the
/// reader makes it.
fn write_out(shared: &Shared) {
    let mut stdout = std::io::stdout();
    loop {
        {
            let mut state = vmm_machine::sync::lock(&shared.state);
            while state.pending.is_empty() {
                state.idle = true;
                state = vmm_machine::sync::wait(&shared.changed, state);
            }
            state.idle = false;
        }
        thread::sleep(BATCH);
        let chunk: Vec<u8> = {
            let mut state = vmm_machine::sync::lock(&shared.state);
            state.writing = true;
            state.writing_len = state.pending.len();
            state.pending.drain(..).collect()
        };
        let ok = stdout
            .write_all(&chunk)
            .and_then(|()| stdout.flush())
            .is_ok();
        let mut state = vmm_machine::sync::lock(&shared.state);
        state.writing = false;
        state.writing_len = 0;
        state.failed |= !ok;
        shared.changed.notify_all();
        if state.failed {
            return;
        }
    }
}

/// The writer thread only copies bytes: a small stack keeps its start cheap.
const WRITER_STACK: usize = 64 * 1024;

impl Write for GuestStdout {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut state = self.lock();
        if state.failed {
            return Err(std::io::Error::from(std::io::ErrorKind::BrokenPipe));
        }
        self.start_writer(&mut state);
        // Wait for room, but never past a stop request: then the bytes are kept anyway, and
        // `finish` writes them once the reader reads.
        while state.pending.len() + buf.len() > BUFFER_BYTES
            && !state.pending.is_empty()
            && !state.failed
            && !self.stop_requested()
        {
            state = self
                .shared
                .changed
                .wait_timeout(state, STOP_POLL)
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .0;
        }
        state.pending.extend(buf);
        if state.idle {
            state.idle = false;
            self.shared.changed.notify_all();
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Whether stdout and stderr are one stream (a terminal, `2>&1`): only then does the order of
/// the guest's output and picovmm's messages show.
pub fn shares_stderr() -> bool {
    use std::os::fd::AsFd;
    use std::os::unix::fs::MetadataExt;
    let identity = |fd: std::os::fd::BorrowedFd<'_>| {
        let file = std::fs::File::from(fd.try_clone_to_owned().ok()?);
        let meta = file.metadata().ok()?;
        Some((meta.dev(), meta.ino(), meta.rdev()))
    };
    let out = identity(std::io::stdout().as_fd());
    out.is_some() && out == identity(std::io::stderr().as_fd())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_idle_output_starts_no_thread() {
        let out = GuestStdout::new();
        out.finish();
        assert!(!out.lock().started);
    }
}
