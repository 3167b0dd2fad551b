//! The Bochs/QEMU debug console: a port where every byte the guest writes is output.
//!
//! Reading the port returns 0xE9, which is how guests detect that the console is there
//! (the Bochs convention).

use std::io::Write;

use vm_device::bus::{PioAddress, PioAddressOffset};
use vm_device::MutDevicePio;

/// The conventional port, also the value a read returns.
pub const DEFAULT_PORT: u16 = 0xE9;
/// What a read of the port returns: the port number, "the console is present".
const PRESENCE_BYTE: u8 = 0xE9;

/// A debug console writing to `out`.
pub struct DebugConsole<W: Write> {
    out: W,
    failed: bool,
    last: Option<u8>,
}

impl<W: Write> DebugConsole<W> {
    /// A console whose output goes to `out`, byte by byte, as the guest writes it.
    pub fn new(out: W) -> Self {
        DebugConsole {
            out,
            failed: false,
            last: None,
        }
    }

    /// Handles a write of `data`, every byte output. On the bus the console is one port, so a
    /// wider guest access reaches it as its low byte (the exit handler splits it, as QEMU does).
    pub fn write(&mut self, data: &[u8]) {
        if let Some(&b) = data.last() {
            self.last = Some(b);
        }
        // A closed stdout must not stop the guest; stop trying after the first failure.
        if !self.failed && self.out.write_all(data).is_err() {
            self.failed = true;
        }
    }

    /// Handles a read: every byte reads as 0xE9.
    pub fn read(&self, data: &mut [u8]) {
        data.fill(PRESENCE_BYTE);
    }

    /// Flushes buffered output.
    pub fn flush(&mut self) {
        if !self.failed && self.out.flush().is_err() {
            self.failed = true;
        }
    }

    /// Whether output so far ends inside a line (something written, no final newline).
    pub fn ends_mid_line(&self) -> bool {
        self.last.is_some_and(|b| b != b'\n')
    }

    /// The output sink.
    pub fn output(&self) -> &W {
        &self.out
    }
}

/// The debug console's state: the last byte written (for "does output end mid-line").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DebugConsoleState {
    /// The last byte the guest wrote, if any.
    pub last: Option<u8>,
}

impl<W: Write> crate::state::Stateful for DebugConsole<W> {
    type State = DebugConsoleState;

    fn save(&self) -> DebugConsoleState {
        DebugConsoleState { last: self.last }
    }

    fn restore(&mut self, state: DebugConsoleState) -> Result<(), crate::state::StateError> {
        self.last = state.last;
        Ok(())
    }
}

impl<W: Write> MutDevicePio for DebugConsole<W> {
    fn pio_read(&mut self, _base: PioAddress, _offset: PioAddressOffset, data: &mut [u8]) {
        self.read(data);
    }

    fn pio_write(&mut self, _base: PioAddress, _offset: PioAddressOffset, data: &[u8]) {
        self.write(data);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_write_bytes_reach_output_in_order() {
        let mut con = DebugConsole::new(Vec::new());
        con.write(b"he");
        con.write(b"llo\n");
        assert_eq!(con.output(), b"hello\n");
    }

    #[test]
    fn test_ends_mid_line_tracks_last_byte() {
        let mut con = DebugConsole::new(Vec::new());
        assert!(!con.ends_mid_line());
        con.write(b"ab");
        assert!(con.ends_mid_line());
        con.write(b"\n");
        assert!(!con.ends_mid_line());
    }

    #[test]
    fn test_read_returns_presence_byte() {
        let con = DebugConsole::new(Vec::new());
        let mut data = [0u8; 2];
        con.read(&mut data);
        assert_eq!(data, [0xE9, 0xE9]);
    }

    #[test]
    fn test_write_to_failing_sink_is_dropped_without_error() {
        struct Broken;
        impl Write for Broken {
            fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
                Err(std::io::Error::other("closed"))
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Err(std::io::Error::other("closed"))
            }
        }
        let mut con = DebugConsole::new(Broken);
        con.write(b"x");
        con.flush();
        assert!(con.failed);
    }
}
