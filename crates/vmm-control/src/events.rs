//! Events for every connected client: each has a bounded queue, so a client that stops
//! reading loses events (and is told how many) but never holds up the guest or another client.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{SyncSender, TrySendError};
use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::protocol;

/// Events every client gets.
pub const ALWAYS: &[&str] = &["STOP", "RESUME", "RESET", "SHUTDOWN", "BREAKPOINT"];
/// Events a client asks for with `subscribe`: guest output lines and screen changes.
pub const OPT_IN: &[&str] = &["SERIAL_OUTPUT", "DEBUGCON_OUTPUT", "SCREEN_CHANGED"];

/// The event bus of one machine: cheap to clone.
#[derive(Clone, Default)]
pub struct Events {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    clients: Mutex<HashMap<u64, Subscriber>>,
    next_id: AtomicU64,
    /// Whether any client asked for an opt-in event (read on every guest output write).
    opted_in: AtomicBool,
}

struct Subscriber {
    queue: SyncSender<String>,
    opt_in: BTreeSet<String>,
    dropped: u64,
}

impl Events {
    /// A bus with no clients.
    pub fn new() -> Events {
        Events::default()
    }

    /// Adds a client whose lines go to `queue`; returns its id.
    pub fn join(&self, queue: SyncSender<String>) -> u64 {
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        let subscriber = Subscriber {
            queue,
            opt_in: BTreeSet::new(),
            dropped: 0,
        };
        vmm_machine::sync::lock(&self.inner.clients).insert(id, subscriber);
        id
    }

    /// Removes a client.
    pub fn leave(&self, id: u64) {
        let mut clients = vmm_machine::sync::lock(&self.inner.clients);
        clients.remove(&id);
        self.update_opted_in(&clients);
    }

    /// Sets the opt-in events client `id` receives; refuses names that are not opt-in events.
    pub fn subscribe(&self, id: u64, names: &[String]) -> Result<(), String> {
        if let Some(bad) = names.iter().find(|n| !OPT_IN.contains(&n.as_str())) {
            return Err(format!(
                "'{bad}' is not an event to subscribe to (these are: {}; {} come to every client)",
                OPT_IN.join(", "),
                ALWAYS.join(", ")
            ));
        }
        let mut clients = vmm_machine::sync::lock(&self.inner.clients);
        if let Some(client) = clients.get_mut(&id) {
            client.opt_in = names.iter().cloned().collect();
        }
        self.update_opted_in(&clients);
        Ok(())
    }

    fn update_opted_in(&self, clients: &HashMap<u64, Subscriber>) {
        let any = clients.values().any(|c| !c.opt_in.is_empty());
        self.inner.opted_in.store(any, Ordering::Relaxed);
    }

    /// Whether any client wants `name` (cheap for opt-in events nobody asked for).
    pub fn wants(&self, name: &str) -> bool {
        if ALWAYS.contains(&name) {
            return true;
        }
        self.inner.opted_in.load(Ordering::Relaxed)
            && vmm_machine::sync::lock(&self.inner.clients)
                .values()
                .any(|c| c.opt_in.contains(name))
    }

    /// Sends event `name` with `data` to every client that wants it.
    pub fn emit(&self, name: &str, data: Value) {
        let always = ALWAYS.contains(&name);
        if !always && !self.inner.opted_in.load(Ordering::Relaxed) {
            return;
        }
        let line = protocol::event(name, data);
        let mut clients = vmm_machine::sync::lock(&self.inner.clients);
        for client in clients.values_mut() {
            if !always && !client.opt_in.contains(name) {
                continue;
            }
            match client.queue.try_send(line.clone()) {
                Ok(()) => {}
                Err(TrySendError::Full(_)) => client.dropped += 1,
                Err(TrySendError::Disconnected(_)) => {}
            }
        }
    }

    /// Events lost by client `id` because its queue was full, since the last call.
    pub fn take_dropped(&self, id: u64) -> u64 {
        vmm_machine::sync::lock(&self.inner.clients)
            .get_mut(&id)
            .map_or(0, |c| std::mem::take(&mut c.dropped))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::sync::mpsc::sync_channel;

    #[test]
    fn test_emit_always_event_reaches_a_client_without_subscription() {
        let events = Events::new();
        let (tx, rx) = sync_channel(4);
        events.join(tx);
        events.emit("STOP", json!({}));
        assert!(rx.try_recv().unwrap().contains("\"event\":\"STOP\""));
    }

    #[test]
    fn test_emit_opt_in_event_skips_a_client_that_did_not_ask() {
        let events = Events::new();
        let (tx, rx) = sync_channel(4);
        events.join(tx);
        events.emit("SERIAL_OUTPUT", json!({"line": "x"}));
        assert!(rx.try_recv().is_err());
    }

    #[test]
    fn test_full_queue_counts_dropped_events() {
        let events = Events::new();
        let (tx, _rx) = sync_channel(1);
        let id = events.join(tx);
        events.emit("STOP", json!({}));
        events.emit("RESUME", json!({}));
        assert_eq!(events.take_dropped(id), 1);
    }

    #[test]
    fn test_subscribe_unknown_event_is_refused() {
        let events = Events::new();
        let (tx, _rx) = sync_channel(1);
        let id = events.join(tx);
        assert!(events.subscribe(id, &["NOPE".into()]).is_err());
    }
}
