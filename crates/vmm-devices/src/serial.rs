//! A 16550A UART (the PC's COM ports) on rust-vmm's vm-superio model.
//!
//! picovmm's machines have no interrupt controller yet, so guests drive the port by polling the
//! line status register, as BIOSes and early kernels do: transmitted bytes go straight to the
//! output; received bytes wait in the 64-byte FIFO that the VMM fills with [`Uart16550::enqueue`].

use std::io::Write;

use vm_device::bus::{PioAddress, PioAddressOffset};
use vm_device::MutDevicePio;
use vm_superio::serial::NoEvents;
use vm_superio::{Serial, Trigger};

/// COM1's first port.
pub const COM1_PORT: u16 = 0x3F8;
/// Ports a 16550 occupies.
pub const PORTS: u16 = 8;

/// The interrupt line of a machine without an interrupt controller: raising it does nothing.
pub struct NoInterrupt;

impl Trigger for NoInterrupt {
    type E = std::convert::Infallible;

    fn trigger(&self) -> Result<(), Self::E> {
        Ok(())
    }
}

/// A 16550A UART writing what the guest transmits to `W`.
pub struct Uart16550<W: Write> {
    serial: Serial<NoInterrupt, NoEvents, W>,
}

impl<W: Write> Uart16550<W> {
    /// A UART whose transmitted bytes go to `out`.
    pub fn new(out: W) -> Self {
        Uart16550 {
            serial: Serial::new(NoInterrupt, out),
        }
    }

    /// A register write at `offset` (0-7). A failing output is ignored: the guest's view of
    /// the UART does not depend on where its bytes go.
    pub fn write(&mut self, offset: u8, value: u8) {
        let _ = self.serial.write(offset, value);
    }

    /// A register read at `offset` (0-7).
    pub fn read(&mut self, offset: u8) -> u8 {
        self.serial.read(offset)
    }

    /// Puts as much of `input` as fits into the receive FIFO; returns how many bytes fit.
    pub fn enqueue(&mut self, input: &[u8]) -> usize {
        self.serial.enqueue_raw_bytes(input).unwrap_or(0)
    }

    /// The output sink.
    pub fn output(&self) -> &W {
        self.serial.writer()
    }

    /// Flushes the output.
    pub fn flush(&mut self) {
        let _ = self.serial.writer_mut().flush();
    }
}

impl<W: Write> MutDevicePio for Uart16550<W> {
    fn pio_read(&mut self, _base: PioAddress, offset: PioAddressOffset, data: &mut [u8]) {
        // The UART's registers are bytes; a wider access reads the first and open bus above.
        data.fill(0xFF);
        if let (Ok(offset), Some(first)) = (u8::try_from(offset), data.first_mut()) {
            *first = self.read(offset);
        }
    }

    fn pio_write(&mut self, _base: PioAddress, offset: PioAddressOffset, data: &[u8]) {
        if let (Ok(offset), [value]) = (u8::try_from(offset), data) {
            self.write(offset, *value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Line status register offset and its bits.
    const LSR: u8 = 5;
    const LSR_DATA_READY: u8 = 0b0000_0001;
    const LSR_THR_EMPTY: u8 = 0b0010_0000;

    #[test]
    fn test_write_to_data_register_reaches_output() {
        let mut uart = Uart16550::new(Vec::new());
        uart.write(0, b'h');
        uart.write(0, b'i');
        assert_eq!(uart.output(), b"hi");
    }

    #[test]
    fn test_transmitter_is_always_ready() {
        let mut uart = Uart16550::new(Vec::new());
        assert_ne!(uart.read(LSR) & LSR_THR_EMPTY, 0);
    }

    #[test]
    fn test_enqueued_bytes_are_read_in_order_with_data_ready() {
        let mut uart = Uart16550::new(Vec::new());
        assert_eq!(uart.enqueue(b"ok"), 2);
        assert_ne!(uart.read(LSR) & LSR_DATA_READY, 0);
        assert_eq!((uart.read(0), uart.read(0)), (b'o', b'k'));
        assert_eq!(uart.read(LSR) & LSR_DATA_READY, 0);
    }

    #[test]
    fn test_enqueue_stops_at_fifo_capacity() {
        let mut uart = Uart16550::new(Vec::new());
        assert_eq!(uart.enqueue(&[b'x'; 100]), 64);
        assert_eq!(uart.enqueue(b"y"), 0);
    }

    #[test]
    fn test_wide_read_gives_register_then_open_bus() {
        let mut uart = Uart16550::new(Vec::new());
        let mut data = [0u8; 2];
        uart.pio_read(PioAddress(COM1_PORT), 5, &mut data);
        assert_eq!(data[1], 0xFF);
        assert_ne!(data[0] & LSR_THR_EMPTY, 0);
    }
}
