//! QEMU's `isa-debug-exit`: a port that ends the run when the guest writes to it.
//!
//! The guest writes a value `v`; the VMM exits with status `(v << 1) | 1`, QEMU's convention,
//! so test harnesses written for QEMU work unchanged. The device only reports the value through
//! its [`ExitRequest`]; how the run stops is the VMM's business.

use vm_device::bus::{PioAddress, PioAddressOffset};
use vm_device::MutDevicePio;

/// QEMU's default port for the device on PCs.
pub const DEFAULT_PORT: u16 = 0xF4;

/// Receives the value the guest wrote, asking the VMM to end the run.
pub trait ExitRequest: Send {
    /// The guest asked to exit with `value`.
    fn request_exit(&mut self, value: u32);
}

impl<F: FnMut(u32) + Send> ExitRequest for F {
    fn request_exit(&mut self, value: u32) {
        self(value)
    }
}

/// The exit status a process should end with when the guest wrote `value`: `(value << 1) | 1`,
/// truncated to the 8 bits a process status has.
pub fn exit_status(value: u32) -> u8 {
    ((value << 1) | 1) as u8
}

/// The isa-debug-exit device.
pub struct IsaDebugExit<E: ExitRequest> {
    on_exit: E,
}

impl<E: ExitRequest> IsaDebugExit<E> {
    /// A device that calls `on_exit` with the value the guest writes.
    pub fn new(on_exit: E) -> Self {
        IsaDebugExit { on_exit }
    }

    /// Handles a write of 1, 2 or 4 bytes (little-endian); other widths are ignored.
    pub fn write(&mut self, data: &[u8]) {
        let value = match *data {
            [b0] => u32::from(b0),
            [b0, b1] => u32::from(u16::from_le_bytes([b0, b1])),
            [b0, b1, b2, b3] => u32::from_le_bytes([b0, b1, b2, b3]),
            _ => return,
        };
        self.on_exit.request_exit(value);
    }
}

impl<E: ExitRequest> MutDevicePio for IsaDebugExit<E> {
    fn pio_read(&mut self, _base: PioAddress, _offset: PioAddressOffset, data: &mut [u8]) {
        // Like QEMU's device, a read gives nothing back.
        data.fill(0);
    }

    fn pio_write(&mut self, _base: PioAddress, offset: PioAddressOffset, data: &[u8]) {
        // Only a write at the first port counts, whatever its width.
        if offset == 0 {
            self.write(data);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    #[test]
    fn test_write_byte_requests_exit_with_value() {
        let (tx, rx) = mpsc::channel();
        let mut dev = IsaDebugExit::new(move |v| tx.send(v).unwrap_or(()));
        dev.write(&[0x2A]);
        assert_eq!(rx.try_recv(), Ok(0x2A));
    }

    #[test]
    fn test_write_dword_is_little_endian() {
        let (tx, rx) = mpsc::channel();
        let mut dev = IsaDebugExit::new(move |v| tx.send(v).unwrap_or(()));
        dev.write(&0x0102_0304u32.to_le_bytes());
        assert_eq!(rx.try_recv(), Ok(0x0102_0304));
    }

    #[test]
    fn test_write_odd_width_is_ignored() {
        let (tx, rx) = mpsc::channel::<u32>();
        let mut dev = IsaDebugExit::new(move |v| tx.send(v).unwrap_or(()));
        dev.write(&[1, 2, 3]);
        assert!(rx.try_recv().is_err());
    }

    #[test]
    fn test_exit_status_follows_qemu_convention() {
        assert_eq!(exit_status(0), 1);
        assert_eq!(exit_status(0x2A), 85);
        assert_eq!(exit_status(0x7F), 255);
    }
}
