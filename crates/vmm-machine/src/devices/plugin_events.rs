//! Plugins' file-descriptor watches and timers (ABI 1.1's events extension): one thread polls
//! the watched descriptors and keeps the timers, and hands each due callback to the vCPU
//! thread (`VcpuControl::post`), where it runs between guest instructions, never during
//! another call into a plugin. A watch or timer is not armed again until its callback ran, so a
//! slow plugin gets no flood of callbacks. The thread starts with the first registration.

use std::collections::HashMap;
use std::os::fd::AsRawFd;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use vmm_core::VcpuControl;
use vmm_devices::plugin::EventCallback;
use vmm_sys_util::eventfd::EventFd;

/// How many watches and timers all plugins together may have.
pub const MAX_EVENTS: usize = 1024;

enum Source {
    Fd(i32),
    Timer {
        due: Instant,
        period: Option<Duration>,
    },
}

struct Event {
    source: Source,
    /// Waiting to fire (false while its callback is queued or running).
    armed: bool,
    callback: Arc<Mutex<EventCallback>>,
}

#[derive(Default)]
struct State {
    events: HashMap<u64, Event>,
    next_id: u64,
    stop: bool,
}

struct Shared {
    state: Mutex<State>,
    wake: EventFd,
    control: VcpuControl,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        crate::sync::lock(&self.state)
    }

    fn poke(&self) {
        let _ = self.wake.write(1);
    }
}

/// The board's event loop for plugins.
pub struct PluginEvents {
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl PluginEvents {
    /// An event loop whose callbacks run on `control`'s vCPU.
    pub fn new(control: VcpuControl) -> std::io::Result<PluginEvents> {
        Ok(PluginEvents {
            shared: Arc::new(Shared {
                state: Mutex::new(State {
                    next_id: 1,
                    ..State::default()
                }),
                wake: EventFd::new(libc::EFD_NONBLOCK)?,
                control,
            }),
            thread: Mutex::new(None),
        })
    }

    fn add(&self, source: Source, callback: EventCallback) -> Option<u64> {
        let id = {
            let mut state = self.shared.lock();
            if state.events.len() >= MAX_EVENTS || state.stop {
                return None;
            }
            let id = state.next_id;
            state.next_id += 1;
            let callback = Arc::new(Mutex::new(callback));
            state.events.insert(
                id,
                Event {
                    source,
                    armed: true,
                    callback,
                },
            );
            id
        };
        self.start()?;
        self.shared.poke();
        Some(id)
    }

    /// Watches `fd` for reading.
    pub fn watch_fd(&self, fd: i32, callback: EventCallback) -> Option<u64> {
        if fd < 0 {
            return None;
        }
        self.add(Source::Fd(fd), callback)
    }

    /// A timer due after `delay`, then every `period`.
    pub fn add_timer(
        &self,
        delay: Duration,
        period: Option<Duration>,
        callback: EventCallback,
    ) -> Option<u64> {
        let due = Instant::now().checked_add(delay)?;
        // A period under 100 us would keep the vCPU busy with callbacks alone.
        let period = period.map(|p| p.max(Duration::from_micros(100)));
        self.add(Source::Timer { due, period }, callback)
    }

    /// Forgets a watch or timer.
    pub fn cancel(&self, id: u64) -> bool {
        let found = self.shared.lock().events.remove(&id).is_some();
        self.shared.poke();
        found
    }

    fn start(&self) -> Option<()> {
        let mut thread = crate::sync::lock(&self.thread);
        if thread.is_none() {
            let shared = self.shared.clone();
            *thread = Some(
                std::thread::Builder::new()
                    .name("plugin-events".into())
                    .spawn(move || event_loop(&shared))
                    .ok()?,
            );
        }
        Some(())
    }
}

impl Drop for PluginEvents {
    fn drop(&mut self) {
        self.shared.lock().stop = true;
        self.shared.poke();
        if let Some(t) = self.thread.lock().ok().and_then(|mut t| t.take()) {
            let _ = t.join();
        }
    }
}

/// Queues `id`'s callback on the vCPU thread, re-arming it afterwards.
fn fire(shared: &Arc<Shared>, id: u64, callback: Arc<Mutex<EventCallback>>) {
    let after = shared.clone();
    shared.control.post(move |_vcpu| {
        if let Ok(mut cb) = callback.lock() {
            cb();
        }
        let mut state = after.lock();
        if let Some(event) = state.events.get_mut(&id) {
            match &mut event.source {
                Source::Timer {
                    period: Some(p),
                    due,
                } => {
                    *due = (*due + *p).max(Instant::now());
                    event.armed = true;
                }
                Source::Timer { period: None, .. } => {
                    state.events.remove(&id);
                }
                Source::Fd(_) => event.armed = true,
            }
        }
        drop(state);
        after.poke();
    });
}

fn event_loop(shared: &Arc<Shared>) {
    loop {
        let (mut fds, ids, timeout) = {
            let state = shared.lock();
            if state.stop {
                return;
            }
            let mut fds = vec![libc::pollfd {
                fd: shared.wake.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            }];
            let mut ids = vec![0];
            let now = Instant::now();
            let mut timeout: Option<Duration> = None;
            for (&id, event) in state.events.iter().filter(|(_, e)| e.armed) {
                match event.source {
                    Source::Fd(fd) => {
                        fds.push(libc::pollfd {
                            fd,
                            events: libc::POLLIN,
                            revents: 0,
                        });
                        ids.push(id);
                    }
                    Source::Timer { due, .. } => {
                        let left = due.saturating_duration_since(now);
                        timeout = Some(timeout.map_or(left, |t| t.min(left)));
                    }
                }
            }
            (fds, ids, timeout)
        };
        let ms = timeout.map_or(-1, |t| {
            i32::try_from(t.as_micros().div_ceil(1000)).unwrap_or(i32::MAX)
        });
        // SAFETY: `fds` is a valid array of pollfd for the call's duration.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
        if n < 0 {
            if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return;
        }
        if fds[0].revents != 0 {
            let _ = shared.wake.read();
        }
        let now = Instant::now();
        let mut due = Vec::new();
        {
            let mut state = shared.lock();
            for (pfd, &id) in fds.iter().zip(&ids).skip(1) {
                if pfd.revents == 0 {
                    continue;
                }
                if let Some(event) = state.events.get_mut(&id) {
                    if pfd.revents & libc::POLLNVAL != 0 {
                        // The plugin closed the descriptor without cancelling: stop watching.
                        state.events.remove(&id);
                        continue;
                    }
                    event.armed = false;
                    due.push((id, event.callback.clone()));
                }
            }
            for (&id, event) in state.events.iter_mut() {
                if let Source::Timer { due: at, .. } = event.source {
                    if event.armed && at <= now {
                        event.armed = false;
                        due.push((id, event.callback.clone()));
                    }
                }
            }
        }
        for (id, callback) in due {
            fire(shared, id, callback);
        }
    }
}
