//! The A20 gate's switches: the [`A20Line`] a machine gives them, and port 0x92 ("system
//! control port A", fast A20), whose bit 1 is the gate and bit 0 a reset pulse. The keyboard
//! controller's output port is the other switch ([`crate::i8042::I8042::with_a20`]); the last
//! write wins, as on a PC whose chipset ORs nothing and QEMU, where both drive one line.

use std::sync::Arc;

use vm_device::bus::{PioAddress, PioAddressOffset};
use vm_device::MutDevicePio;

use crate::i8042::ResetRequest;

/// Port 0x92.
pub const FAST_A20_PORT: u16 = 0x92;

/// Port 0x92's bits.
const PORT_RESET: u8 = 0x01;
const PORT_A20: u8 = 0x02;

/// The gate as devices see it.
pub trait A20Line: Send + Sync {
    /// Switches the gate on (addresses from 1 MiB reach memory there) or off (they wrap).
    fn set(&self, on: bool);
    /// Whether it is on.
    fn enabled(&self) -> bool;
}

/// Port 0x92.
pub struct FastA20 {
    line: Arc<dyn A20Line>,
    reset: Box<dyn ResetRequest>,
}

impl FastA20 {
    /// The port, switching `line` and calling `reset` when bit 0 is written as 1.
    pub fn new(line: Arc<dyn A20Line>, reset: impl ResetRequest + 'static) -> Self {
        FastA20 {
            line,
            reset: Box::new(reset),
        }
    }

    /// A read: the gate in bit 1 (bit 0, the reset, reads 0 once done).
    pub fn read(&self) -> u8 {
        if self.line.enabled() {
            PORT_A20
        } else {
            0
        }
    }

    /// A write: the gate from bit 1; bit 0 resets the machine.
    pub fn write(&mut self, value: u8) {
        self.line.set(value & PORT_A20 != 0);
        if value & PORT_RESET != 0 {
            self.reset.request_reset();
        }
    }
}

impl MutDevicePio for FastA20 {
    fn pio_read(&mut self, _base: PioAddress, _offset: PioAddressOffset, data: &mut [u8]) {
        data.fill(0xFF);
        if let Some(first) = data.first_mut() {
            *first = self.read();
        }
    }

    fn pio_write(&mut self, _base: PioAddress, _offset: PioAddressOffset, data: &[u8]) {
        if let Some(&value) = data.first() {
            self.write(value);
        }
    }
}

/// A gate in a cell, for tests of the switches.
pub mod testing {
    use std::sync::atomic::{AtomicBool, Ordering};

    /// A gate that only remembers.
    pub struct Gate(pub AtomicBool);

    impl Default for Gate {
        fn default() -> Self {
            Gate(AtomicBool::new(true))
        }
    }

    impl super::A20Line for Gate {
        fn set(&self, on: bool) {
            self.0.store(on, Ordering::SeqCst);
        }
        fn enabled(&self) -> bool {
            self.0.load(Ordering::SeqCst)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn test_port_92_switches_the_gate_and_reads_it_back() {
        let gate = Arc::new(testing::Gate::default());
        let mut port = FastA20::new(gate.clone(), || {});
        assert_eq!(port.read(), 0x02);
        port.write(0x00);
        assert!(!gate.enabled());
        assert_eq!(port.read(), 0x00);
        port.write(0x02);
        assert!(gate.enabled());
    }

    #[test]
    fn test_port_92_bit_0_resets() {
        let resets = Arc::new(AtomicUsize::new(0));
        let counted = resets.clone();
        let gate = Arc::new(testing::Gate::default());
        let mut port = FastA20::new(gate, move || {
            counted.fetch_add(1, Ordering::SeqCst);
        });
        port.write(0x02);
        assert_eq!(resets.load(Ordering::SeqCst), 0);
        port.write(0x03);
        assert_eq!(resets.load(Ordering::SeqCst), 1);
    }
}
