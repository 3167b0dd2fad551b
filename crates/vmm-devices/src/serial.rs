//! A 16550A UART (the PC's COM ports) on rust-vmm's vm-superio model.
//!
//! Transmitted bytes go straight to the output; received bytes wait in the 64-byte FIFO that the
//! VMM fills with [`Uart16550::enqueue`]. The UART raises its interrupt line (IRQ 4 for COM1)
//! as vm-superio decides, through a [`LineTrigger`]: received data available and transmitter
//! empty, each enabled in the IER. A guest may poll the line status register instead.

use std::io::Write;

use serde::{Deserialize, Serialize};
use vm_device::bus::{PioAddress, PioAddressOffset};
use vm_device::MutDevicePio;
use vm_superio::serial::{NoEvents, SerialState};
use vm_superio::Serial;

use crate::irq::{IrqLine, LineTrigger};
use crate::state::{StateError, Stateful};

/// COM1's first port.
pub const COM1_PORT: u16 = 0x3F8;
/// Ports a 16550 occupies.
pub const PORTS: u16 = 8;

/// COM1's interrupt line on a PC.
pub const COM1_IRQ: u8 = 4;

/// The line a PC wires a UART at `port` to: IRQ 3 for COM2 and COM4 (0x2F8, 0x2E8), IRQ 4
/// otherwise (COM1 and COM3).
pub fn default_irq(port: u16) -> u8 {
    match port {
        0x2F8 | 0x2E8 => 3,
        _ => COM1_IRQ,
    }
}

/// Registers that tell the guest is after input: the receive buffer, the line status, and the
/// interrupt enable register's "data available" bit.
const RBR: u8 = 0;
const IER: u8 = 1;
const IER_RX: u8 = 0x01;
const LSR_OFFSET: u8 = 5;

/// A 16550A UART writing what the guest transmits to `W`.
///
/// vm-superio's model transmits into a byte buffer that is handed on to `W` after each
/// register write, so the model itself owns no host resource and its state can be replaced
/// whole ([`Stateful::restore`]).
pub struct Uart16550<W: Write> {
    serial: Serial<LineTrigger, NoEvents, Vec<u8>>,
    irq: LineTrigger,
    out: W,
    /// Called once, the first time the guest looks for input (see
    /// [`Uart16550::when_input_wanted`]).
    input_wanted: Option<Box<dyn FnOnce() + Send>>,
}

impl<W: Write> Uart16550<W> {
    /// A UART whose transmitted bytes go to `out`, with no interrupt line.
    pub fn new(out: W) -> Self {
        Self::with_irq(out, LineTrigger::none())
    }

    /// A UART whose transmitted bytes go to `out` and whose interrupts raise `irq`.
    pub fn with_irq(out: W, irq: LineTrigger) -> Self {
        Uart16550 {
            serial: Serial::new(irq.clone(), Vec::new()),
            irq,
            out,
            input_wanted: None,
        }
    }

    /// Calls `wanted` once, the first time the guest may be looking for input: a read of the
    /// receive buffer or the line status (a poll), or receive interrupts enabled. Whoever
    /// feeds the UART (stdin) can start then, and not at all for a guest that never asks.
    pub fn when_input_wanted(&mut self, wanted: impl FnOnce() + Send + 'static) {
        self.input_wanted = Some(Box::new(wanted));
    }

    fn input_wanted(&mut self) {
        if let Some(wanted) = self.input_wanted.take() {
            wanted();
        }
    }

    /// A UART on the line `irq`.
    pub fn with_line(out: W, irq: std::sync::Arc<dyn IrqLine>) -> Self {
        Self::with_irq(out, LineTrigger(irq))
    }

    /// A register write at `offset` (0-7). A failing output is ignored: the guest's view of
    /// the UART does not depend on where its bytes go.
    pub fn write(&mut self, offset: u8, value: u8) {
        if offset == IER && value & IER_RX != 0 {
            self.input_wanted();
        }
        let _ = self.serial.write(offset, value);
        let sent = self.serial.writer_mut();
        if !sent.is_empty() {
            let _ = self.out.write_all(sent);
            sent.clear();
        }
    }

    /// A register read at `offset` (0-7).
    pub fn read(&mut self, offset: u8) -> u8 {
        if offset == RBR || offset == LSR_OFFSET {
            self.input_wanted();
        }
        self.serial.read(offset)
    }

    /// Puts as much of `input` as fits into the receive FIFO; returns how many bytes fit.
    pub fn enqueue(&mut self, input: &[u8]) -> usize {
        self.serial.enqueue_raw_bytes(input).unwrap_or(0)
    }

    /// The output sink.
    pub fn output(&self) -> &W {
        &self.out
    }

    /// Flushes the output.
    pub fn flush(&mut self) {
        let _ = self.out.flush();
    }
}

/// The UART's registers and receive FIFO (vm-superio's `SerialState`, as plain data).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UartState {
    /// Divisor latch, low byte.
    pub baud_divisor_low: u8,
    /// Divisor latch, high byte.
    pub baud_divisor_high: u8,
    /// Interrupt enable register.
    pub interrupt_enable: u8,
    /// Interrupt identification register.
    pub interrupt_identification: u8,
    /// Line control register.
    pub line_control: u8,
    /// Line status register.
    pub line_status: u8,
    /// Modem control register.
    pub modem_control: u8,
    /// Modem status register.
    pub modem_status: u8,
    /// Scratch register.
    pub scratch: u8,
    /// Received bytes not yet read by the guest.
    pub in_buffer: Vec<u8>,
}

impl<W: Write> Stateful for Uart16550<W> {
    type State = UartState;

    fn save(&self) -> UartState {
        let s = self.serial.state();
        UartState {
            baud_divisor_low: s.baud_divisor_low,
            baud_divisor_high: s.baud_divisor_high,
            interrupt_enable: s.interrupt_enable,
            interrupt_identification: s.interrupt_identification,
            line_control: s.line_control,
            line_status: s.line_status,
            modem_control: s.modem_control,
            modem_status: s.modem_status,
            scratch: s.scratch,
            in_buffer: s.in_buffer,
        }
    }

    fn restore(&mut self, state: UartState) -> Result<(), StateError> {
        let s = SerialState {
            baud_divisor_low: state.baud_divisor_low,
            baud_divisor_high: state.baud_divisor_high,
            interrupt_enable: state.interrupt_enable,
            interrupt_identification: state.interrupt_identification,
            line_control: state.line_control,
            line_status: state.line_status,
            modem_control: state.modem_control,
            modem_status: state.modem_status,
            scratch: state.scratch,
            in_buffer: state.in_buffer,
        };
        self.serial = Serial::from_state(&s, self.irq.clone(), NoEvents, Vec::new())
            .map_err(|_| StateError::Invalid("the receive FIFO holds more than 64 bytes"))?;
        Ok(())
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

    fn counting() -> (
        Uart16550<Vec<u8>>,
        std::sync::Arc<std::sync::atomic::AtomicUsize>,
    ) {
        let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = calls.clone();
        let mut uart = Uart16550::new(Vec::new());
        uart.when_input_wanted(move || {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        });
        (uart, calls)
    }

    #[test]
    fn test_input_is_wanted_once_at_the_first_poll_or_receive_interrupt_not_for_output() {
        use std::sync::atomic::Ordering::SeqCst;
        let (mut uart, calls) = counting();
        uart.write(0, b'x');
        uart.write(3, 0x03);
        assert_eq!(calls.load(SeqCst), 0, "output alone");
        uart.read(LSR);
        uart.read(LSR);
        uart.read(0);
        assert_eq!(calls.load(SeqCst), 1);
        let (mut uart, calls) = counting();
        uart.write(1, 0x02); // transmit interrupts only
        assert_eq!(calls.load(SeqCst), 0);
        uart.write(1, 0x01);
        assert_eq!(calls.load(SeqCst), 1);
    }

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
    fn test_state_round_trips_registers_and_fifo() {
        let mut uart = Uart16550::new(Vec::new());
        uart.write(7, 0x5A); // scratch
        uart.enqueue(b"abc");
        let saved = uart.save();
        let mut other = Uart16550::new(Vec::new());
        other.restore(saved.clone()).expect("restore");
        assert_eq!(other.save(), saved);
        assert_eq!((other.read(7), other.read(0)), (0x5A, b'a'));
    }

    #[test]
    fn test_restore_refuses_an_overfull_fifo() {
        let state = UartState {
            in_buffer: vec![0; 65],
            ..Default::default()
        };
        let err = Uart16550::new(Vec::new()).restore(state).err();
        assert_eq!(
            err.map(|e| e.to_string()),
            Some("invalid device state: the receive FIFO holds more than 64 bytes".to_owned())
        );
    }

    #[test]
    fn test_received_data_raises_the_line_when_enabled() {
        use crate::irq::testing::RecordingLine;
        let line = std::sync::Arc::new(RecordingLine::default());
        let mut uart = Uart16550::with_line(Vec::new(), line.clone());
        uart.enqueue(b"a");
        assert_eq!(line.edges(), 0, "IER clear: no interrupt");
        uart.write(1, 0x01); // IER: received data available
        uart.enqueue(b"b");
        assert_eq!(line.edges(), 1);
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
