//! Guest console output as events: a writer that passes everything on to the console and, while
//! a client asked for them, sends each line as `SERIAL_OUTPUT` or `DEBUGCON_OUTPUT`.

use std::io::Write;

use serde_json::json;
use vmm_machine::board::{ConsoleKind, ConsoleOutput};

use crate::events::Events;

/// The longest line kept before it is sent anyway.
const MAX_LINE: usize = 4096;

/// A console output that also sends its lines as events.
pub struct LineTee {
    inner: ConsoleOutput,
    events: Events,
    kind: ConsoleKind,
    line: Vec<u8>,
}

/// The event a device's lines are sent as.
pub fn event_name(kind: ConsoleKind) -> &'static str {
    match kind {
        ConsoleKind::Serial(_) => "SERIAL_OUTPUT",
        ConsoleKind::Debugcon => "DEBUGCON_OUTPUT",
    }
}

impl LineTee {
    /// `inner`, with its lines sent on `events` as `kind`'s event.
    pub fn wrap(kind: ConsoleKind, inner: ConsoleOutput, events: Events) -> ConsoleOutput {
        Box::new(LineTee {
            inner,
            events,
            kind,
            line: Vec::new(),
        })
    }

    fn send_line(&mut self) {
        if self.events.wants(event_name(self.kind)) {
            let text = String::from_utf8_lossy(&self.line);
            let text = text.strip_suffix('\r').unwrap_or(&text);
            self.events.emit(
                event_name(self.kind),
                json!({"device": self.kind.name(), "line": text}),
            );
        }
        self.line.clear();
    }

    /// Collects lines whether or not anyone listens, so that a client subscribing mid-line
    /// gets that line whole.
    fn tee(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            if byte == b'\n' {
                self.send_line();
            } else {
                self.line.push(byte);
                if self.line.len() >= MAX_LINE {
                    self.send_line();
                }
            }
        }
    }
}

impl Write for LineTee {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.tee(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc::sync_channel;

    #[test]
    fn test_tee_sends_each_line_to_a_subscriber() {
        let events = Events::new();
        let (tx, rx) = sync_channel(4);
        let id = events.join(tx);
        events.subscribe(id, &["SERIAL_OUTPUT".into()]).unwrap();
        let mut out = LineTee::wrap(
            ConsoleKind::Serial(0x3f8),
            Box::new(std::io::sink()),
            events,
        );
        out.write_all(b"hel").unwrap();
        out.write_all(b"lo\r\nx").unwrap();
        let line: serde_json::Value = serde_json::from_str(&rx.try_recv().unwrap()).unwrap();
        assert_eq!(line["data"], json!({"device": "serial", "line": "hello"}));
    }

    #[test]
    fn test_tee_sends_a_line_begun_before_the_subscription_whole() {
        let events = Events::new();
        let (tx, rx) = sync_channel(4);
        let id = events.join(tx);
        let mut out = LineTee::wrap(
            ConsoleKind::Debugcon,
            Box::new(std::io::sink()),
            events.clone(),
        );
        out.write_all(b"ab").unwrap();
        events.subscribe(id, &["DEBUGCON_OUTPUT".into()]).unwrap();
        out.write_all(b"c\n").unwrap();
        let line: serde_json::Value = serde_json::from_str(&rx.try_recv().unwrap()).unwrap();
        assert_eq!(line["data"]["line"], "abc");
    }
}
