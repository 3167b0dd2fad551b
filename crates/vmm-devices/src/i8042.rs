//! The PC's i8042 keyboard controller at 0x60 (data) and 0x64 (status and command), with a
//! PS/2 keyboard behind it on IRQ 1.
//!
//! Controller commands: read and write the command byte (0x20, 0x60), self-test (0xAA, answers
//! 0x55), interface tests (0xAB, 0xA9), disable and enable the keyboard and auxiliary ports
//! (0xAD, 0xAE, 0xA7, 0xA8), the output port (0xD0, 0xD1), writes into the output buffer as
//! if from the keyboard or the mouse (0xD2, 0xD3), and the pulse of the output lines
//! (0xF0-0xFF) whose bit 0 is the CPU's reset line: 0xFE, as software that reboots a PC sends
//! it, asks the machine to reset ([`ResetRequest`]). There is no mouse: bytes sent to it
//! (0xD4) go to the PS/2 mouse when the controller has one ([`I8042::with_mouse`]), and get no
//! answer otherwise, as from an empty port. The mouse's bytes raise IRQ 12 while the command
//! byte enables it (bit 1).
//!
//! The keyboard answers reset (0xFF: 0xFA, 0xAA), enable and disable scanning, LEDs, typematic,
//! scancode set, identify, echo and resend. It sends scancode set 2, which the controller
//! translates to set 1 while bit 6 of the command byte is set (the power-on value here, as a
//! BIOS leaves it); software that turns translation off reads set 2.
//!
//! Keys come from the host as [`KeyEvent`]s into a type-ahead queue, and reach the keyboard's
//! own 16-byte buffer one key event at a time, while scanning is enabled. IRQ 1 is the output
//! buffer holding a keyboard byte with interrupts enabled in the command byte, as on the part.

use std::collections::VecDeque;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use vm_device::bus::{PioAddress, PioAddressOffset};
use vm_device::MutDevicePio;

use crate::a20::A20Line;
use crate::irq::IrqLine;
use crate::keymap::KeyEvent;
use crate::ps2_mouse::{Buttons, Ps2Mouse};
use crate::state::{StateError, Stateful};

/// The data port.
pub const DATA_PORT: u16 = 0x60;
/// The status (read) and command (write) port.
pub const COMMAND_PORT: u16 = 0x64;
/// The keyboard's interrupt line.
pub const KEYBOARD_IRQ: u8 = 1;
/// The mouse's interrupt line.
pub const MOUSE_IRQ: u8 = 12;
/// Key events the host may type ahead of the guest.
pub const TYPEAHEAD_LIMIT: usize = 4096;
/// The keyboard's own buffer, in bytes.
const KEYBOARD_BUFFER: usize = 16;

/// Status register bits.
const STAT_OBF: u8 = 0x01;
const STAT_SYS: u8 = 0x04;
const STAT_CMD: u8 = 0x08;
const STAT_UNLOCKED: u8 = 0x10;
const STAT_AUX_OBF: u8 = 0x20;

/// Command byte bits.
const CB_KBD_INT: u8 = 0x01;
const CB_AUX_INT: u8 = 0x02;
const CB_SYS: u8 = 0x04;
const CB_KBD_DISABLE: u8 = 0x10;
const CB_AUX_DISABLE: u8 = 0x20;
const CB_TRANSLATE: u8 = 0x40;

/// Output port bits: the CPU reset line (active low) and the A20 gate.
const OUT_RESET: u8 = 0x01;
const OUT_A20: u8 = 0x02;

/// Keyboard replies.
const ACK: u8 = 0xFA;
const RESEND: u8 = 0xFE;
const SELF_TEST_OK: u8 = 0xAA;

/// Receives the guest's request to reset the machine.
pub trait ResetRequest: Send {
    /// The guest pulsed the reset line.
    fn request_reset(&mut self);
}

impl<F: FnMut() + Send> ResetRequest for F {
    fn request_reset(&mut self) {
        self()
    }
}

/// A byte in the controller's output buffer, and whether it came from the mouse port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Output {
    /// The byte.
    pub byte: u8,
    /// From the auxiliary (mouse) port.
    pub aux: bool,
}

/// The controller's and the keyboard's state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct I8042State {
    /// The command byte (controller configuration).
    pub command_byte: u8,
    /// The status bits the model keeps (system flag, last write was a command).
    pub status: u8,
    /// The output port (reset line, A20).
    pub output_port: u8,
    /// A controller command waiting for its data byte.
    pub pending_command: Option<u8>,
    /// The output buffer.
    pub output: Option<Output>,
    /// The last byte read from the data port (what a read of an empty buffer gives).
    pub last_read: u8,
    /// Controller replies waiting for the output buffer.
    pub controller_queue: VecDeque<Output>,
    /// The keyboard's buffer.
    pub keyboard_queue: VecDeque<u8>,
    /// A keyboard command waiting for its parameter byte.
    pub keyboard_pending: Option<u8>,
    /// The keyboard scans (sends key events).
    pub scanning: bool,
    /// The keyboard's last reply, for its resend command.
    pub keyboard_last: u8,
    /// Key events typed by the host, not yet sent.
    pub typeahead: VecDeque<KeyEvent>,
    /// The mouse on the auxiliary port, when there is one.
    #[serde(default)]
    pub mouse: Option<Ps2Mouse>,
    /// The A20 gate when saved (whichever switch set it last).
    #[serde(default = "gate_on")]
    pub a20: bool,
}

fn gate_on() -> bool {
    true
}

impl Default for I8042State {
    fn default() -> Self {
        I8042State {
            command_byte: CB_TRANSLATE | CB_AUX_DISABLE | CB_SYS | CB_KBD_INT,
            status: STAT_SYS,
            output_port: OUT_RESET | OUT_A20,
            pending_command: None,
            output: None,
            last_read: 0,
            controller_queue: VecDeque::new(),
            keyboard_queue: VecDeque::new(),
            keyboard_pending: None,
            scanning: true,
            keyboard_last: ACK,
            typeahead: VecDeque::new(),
            mouse: None,
            a20: true,
        }
    }
}

/// The i8042 with its keyboard.
pub struct I8042 {
    state: I8042State,
    irq: Arc<dyn IrqLine>,
    irq_level: bool,
    reset: Box<dyn ResetRequest>,
    /// IRQ 12, when there is a mouse.
    aux_irq: Option<Arc<dyn IrqLine>>,
    aux_level: bool,
    /// The A20 gate the output port switches, when the machine has one.
    a20: Option<Arc<dyn A20Line>>,
}

impl I8042 {
    /// The controller with a PS/2 mouse on its auxiliary port, raising `aux_irq` (IRQ 12).
    pub fn with_mouse(mut self, aux_irq: Arc<dyn IrqLine>) -> Self {
        self.state.mouse = Some(Ps2Mouse::default());
        self.aux_irq = Some(aux_irq);
        self
    }

    /// Whether a mouse is on the auxiliary port.
    pub fn has_mouse(&self) -> bool {
        self.state.mouse.is_some()
    }

    /// The host moved the mouse (right and up positive) with `buttons` down; `false` without
    /// a mouse.
    pub fn mouse_moved(&mut self, dx: i32, dy: i32, buttons: Buttons) -> bool {
        let Some(mouse) = self.state.mouse.as_mut() else {
            return false;
        };
        mouse.moved(dx, dy, buttons);
        self.refill();
        true
    }

    /// The buttons the mouse last reported (none without a mouse).
    pub fn mouse_buttons(&self) -> Buttons {
        self.state
            .mouse
            .as_ref()
            .map(|m| m.buttons)
            .unwrap_or_default()
    }

    /// A controller raising `irq` (IRQ 1) and calling `reset` on a reset pulse.
    pub fn new(irq: Arc<dyn IrqLine>, reset: impl ResetRequest + 'static) -> Self {
        I8042 {
            state: I8042State::default(),
            irq,
            irq_level: false,
            reset: Box::new(reset),
            aux_irq: None,
            aux_level: false,
            a20: None,
        }
    }

    /// The controller with its output port's bit 1 driving `line` (the A20 gate).
    pub fn with_a20(mut self, line: Arc<dyn A20Line>) -> Self {
        self.a20 = Some(line);
        self
    }

    /// Sets the output port; its A20 bit switches the gate.
    fn set_output_port(&mut self, value: u8) {
        self.state.output_port = value;
        if let Some(line) = &self.a20 {
            line.set(value & OUT_A20 != 0);
        }
    }

    /// The output port as read: the gate's bit as the gate is.
    fn output_port(&self) -> u8 {
        match &self.a20 {
            Some(line) if line.enabled() => self.state.output_port | OUT_A20,
            Some(_) => self.state.output_port & !OUT_A20,
            None => self.state.output_port,
        }
    }

    /// Types `events` ahead; returns how many fit in the type-ahead queue.
    pub fn type_ahead(&mut self, events: &[KeyEvent]) -> usize {
        let room = TYPEAHEAD_LIMIT.saturating_sub(self.state.typeahead.len());
        let taken = events.len().min(room);
        self.state.typeahead.extend(&events[..taken]);
        self.refill();
        taken
    }

    /// Key events typed ahead and not yet sent to the guest.
    pub fn typeahead_len(&self) -> usize {
        self.state.typeahead.len()
    }

    /// A read of the status port.
    pub fn read_status(&self) -> u8 {
        let s = &self.state;
        let mut status = s.status | STAT_UNLOCKED;
        if let Some(out) = s.output {
            status |= STAT_OBF;
            if out.aux {
                status |= STAT_AUX_OBF;
            }
        }
        status
    }

    /// A read of the data port: the output buffer's byte (the last one again when empty).
    pub fn read_data(&mut self) -> u8 {
        if let Some(out) = self.state.output.take() {
            self.state.last_read = out.byte;
            // The line drops with the buffer; the next byte raises it again: a new edge.
            self.update_irq();
        }
        self.refill();
        self.state.last_read
    }

    /// A write of the command port.
    pub fn write_command(&mut self, cmd: u8) {
        let s = &mut self.state;
        s.status |= STAT_CMD;
        s.pending_command = None;
        match cmd {
            0x20 => self.reply(self.state.command_byte),
            0x60 | 0xD1 | 0xD2 | 0xD3 | 0xD4 => s.pending_command = Some(cmd),
            0xA7 => s.command_byte |= CB_AUX_DISABLE,
            0xA8 => s.command_byte &= !CB_AUX_DISABLE,
            0xA9 | 0xAB => self.reply(0x00),
            0xAA => {
                s.status |= STAT_SYS;
                self.reply(0x55);
            }
            0xAD => s.command_byte |= CB_KBD_DISABLE,
            0xAE => s.command_byte &= !CB_KBD_DISABLE,
            0xC0 => self.reply(0x80),
            0xD0 => self.reply(self.output_port()),
            0xDD => self.set_output_port(self.state.output_port & !OUT_A20),
            0xDF => self.set_output_port(self.state.output_port | OUT_A20),
            0xE0 => self.reply(0x00),
            // Pulse output lines low; bit 0 is the reset line.
            0xF0..=0xFF if cmd & 1 == 0 => self.reset.request_reset(),
            _ => {}
        }
        self.refill();
    }

    /// A write of the data port: a command's parameter, or a byte for the keyboard.
    pub fn write_data(&mut self, value: u8) {
        let s = &mut self.state;
        s.status &= !STAT_CMD;
        match s.pending_command.take() {
            Some(0x60) => {
                s.command_byte = value;
                s.status = (s.status & !STAT_SYS) | (value & CB_SYS);
            }
            Some(0xD1) => {
                self.set_output_port(value);
                if value & OUT_RESET == 0 {
                    self.reset.request_reset();
                }
            }
            Some(0xD2) => s.controller_queue.push_back(Output {
                byte: value,
                aux: false,
            }),
            Some(0xD3) => s.controller_queue.push_back(Output {
                byte: value,
                aux: true,
            }),
            Some(_) => {
                // 0xD4: to the mouse (nothing answers when there is none).
                if let Some(mouse) = s.mouse.as_mut() {
                    s.command_byte &= !CB_AUX_DISABLE;
                    mouse.command(value);
                }
            }
            None => {
                // Sending to the keyboard enables its interface again, as on the part.
                s.command_byte &= !CB_KBD_DISABLE;
                self.keyboard_command(value);
            }
        }
        self.refill();
    }

    fn keyboard_command(&mut self, value: u8) {
        let translated = self.state.command_byte & CB_TRANSLATE != 0;
        let s = &mut self.state;
        if let Some(cmd) = s.keyboard_pending.take() {
            // The parameter of 0xED (LEDs), 0xF3 (typematic) or 0xF0 (scancode set).
            self.keyboard_reply(&[ACK]);
            if cmd == 0xF0 && value == 0 {
                self.keyboard_reply(&[if translated { 0x41 } else { 0x02 }]);
            }
            return;
        }
        match value {
            0xED | 0xF0 | 0xF3 => {
                s.keyboard_pending = Some(value);
                self.keyboard_reply(&[ACK]);
            }
            0xEE => self.keyboard_reply(&[0xEE]),
            0xF2 => self.keyboard_reply(&[ACK, 0xAB, if translated { 0x41 } else { 0x83 }]),
            0xF4 => {
                s.scanning = true;
                self.keyboard_reply(&[ACK]);
            }
            0xF5 => {
                s.scanning = false;
                self.keyboard_reply(&[ACK]);
            }
            0xF6..=0xFD => self.keyboard_reply(&[ACK]),
            0xFE => {
                let last = s.keyboard_last;
                self.keyboard_reply(&[last]);
            }
            0xFF => {
                s.keyboard_queue.clear();
                s.scanning = true;
                self.keyboard_reply(&[ACK, SELF_TEST_OK]);
            }
            _ => self.keyboard_reply(&[RESEND]),
        }
    }

    fn keyboard_reply(&mut self, bytes: &[u8]) {
        let s = &mut self.state;
        for &b in bytes {
            if s.keyboard_queue.len() < KEYBOARD_BUFFER {
                s.keyboard_queue.push_back(b);
            }
            s.keyboard_last = b;
        }
    }

    fn reply(&mut self, byte: u8) {
        self.state
            .controller_queue
            .push_back(Output { byte, aux: false });
    }

    /// Moves the next byte into an empty output buffer and drives IRQ 1.
    fn refill(&mut self) {
        let s = &mut self.state;
        let translated = s.command_byte & CB_TRANSLATE != 0;
        if s.scanning && s.keyboard_queue.is_empty() {
            if let Some(event) = s.typeahead.pop_front() {
                s.keyboard_queue.extend(event.scancodes(translated));
            }
        }
        if s.output.is_none() {
            s.output = s.controller_queue.pop_front().or_else(|| {
                if s.command_byte & CB_KBD_DISABLE != 0 {
                    return None;
                }
                s.keyboard_queue
                    .pop_front()
                    .map(|byte| Output { byte, aux: false })
            });
        }
        if s.output.is_none() && s.command_byte & CB_AUX_DISABLE == 0 {
            s.output = s
                .mouse
                .as_mut()
                .and_then(|m| m.out.pop_front())
                .map(|byte| Output { byte, aux: true });
        }
        self.update_irq();
    }

    /// IRQ 1's level: the output buffer holds a keyboard byte and its interrupt is enabled.
    fn irq_level(&self) -> bool {
        let s = &self.state;
        s.output.is_some_and(|o| !o.aux) && s.command_byte & CB_KBD_INT != 0
    }

    /// IRQ 12's level: the output buffer holds a mouse byte and its interrupt is enabled.
    fn aux_level_now(&self) -> bool {
        let s = &self.state;
        s.output.is_some_and(|o| o.aux) && s.command_byte & CB_AUX_INT != 0
    }

    /// Drives IRQ 1 (and IRQ 12) where it changed.
    fn update_irq(&mut self) {
        let level = self.irq_level();
        if level != self.irq_level {
            self.irq_level = level;
            self.irq.set_level(level);
        }
        let aux = self.aux_level_now();
        if let Some(line) = &self.aux_irq {
            if aux != self.aux_level {
                self.aux_level = aux;
                line.set_level(aux);
            }
        }
    }
}

impl MutDevicePio for I8042 {
    fn pio_read(&mut self, base: PioAddress, _offset: PioAddressOffset, data: &mut [u8]) {
        data.fill(0xFF);
        if let Some(first) = data.first_mut() {
            *first = match base.0 {
                DATA_PORT => self.read_data(),
                _ => self.read_status(),
            };
        }
    }

    fn pio_write(&mut self, base: PioAddress, _offset: PioAddressOffset, data: &[u8]) {
        if let Some(&value) = data.first() {
            match base.0 {
                DATA_PORT => self.write_data(value),
                _ => self.write_command(value),
            }
        }
    }
}

impl Stateful for I8042 {
    type State = I8042State;

    fn save(&self) -> I8042State {
        let mut state = self.state.clone();
        state.a20 = self.a20.as_ref().is_none_or(|line| line.enabled());
        state
    }

    fn restore(&mut self, state: I8042State) -> Result<(), StateError> {
        if state.keyboard_queue.len() > KEYBOARD_BUFFER || state.typeahead.len() > TYPEAHEAD_LIMIT {
            return Err(StateError::Invalid("an i8042 queue longer than it can be"));
        }
        if state.mouse.is_some() != self.has_mouse() {
            return Err(StateError::Invalid(
                "a saved keyboard controller with or without a mouse, unlike this one",
            ));
        }
        if let Some(line) = &self.a20 {
            line.set(state.a20);
        }
        self.state = state;
        // Drive the lines to the restored levels, whatever they were.
        self.irq_level = !self.irq_level();
        self.aux_level = !self.aux_level_now();
        self.update_irq();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::irq::testing::RecordingLine;
    use crate::keymap::type_text;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn kbc() -> (I8042, Arc<RecordingLine>, Arc<AtomicUsize>) {
        let line = Arc::new(RecordingLine::default());
        let resets = Arc::new(AtomicUsize::new(0));
        let r = resets.clone();
        let dev = I8042::new(line.clone(), move || {
            r.fetch_add(1, Ordering::SeqCst);
        });
        (dev, line, resets)
    }

    fn drain(dev: &mut I8042) -> Vec<u8> {
        let mut bytes = Vec::new();
        while dev.read_status() & STAT_OBF != 0 {
            bytes.push(dev.read_data());
        }
        bytes
    }

    #[test]
    fn test_self_test_answers_55() {
        let (mut dev, _, _) = kbc();
        dev.write_command(0xAA);
        assert_eq!(drain(&mut dev), [0x55]);
    }

    #[test]
    fn test_command_byte_round_trip() {
        let (mut dev, _, _) = kbc();
        dev.write_command(0x60);
        dev.write_data(0x47);
        dev.write_command(0x20);
        assert_eq!(drain(&mut dev), [0x47]);
    }

    #[test]
    fn test_typed_keys_read_as_set_1_with_irq() {
        let (mut dev, line, _) = kbc();
        dev.type_ahead(&type_text("hi").unwrap());
        assert!(line.level());
        assert_eq!(drain(&mut dev), [0x23, 0xA3, 0x17, 0x97]);
        assert_eq!(line.edges(), 4, "one edge per byte");
        assert!(!line.level());
    }

    #[test]
    fn test_translation_off_gives_set_2() {
        let (mut dev, _, _) = kbc();
        dev.write_command(0x60);
        dev.write_data(0x01);
        dev.type_ahead(&type_text("a").unwrap());
        assert_eq!(drain(&mut dev), [0x1C, 0xF0, 0x1C]);
    }

    #[test]
    fn test_no_irq_when_disabled_in_command_byte() {
        let (mut dev, line, _) = kbc();
        dev.write_command(0x60);
        dev.write_data(0x44);
        dev.type_ahead(&type_text("a").unwrap());
        assert_eq!(line.edges(), 0);
        assert_eq!(drain(&mut dev), [0x1E, 0x9E], "polling still works");
    }

    #[test]
    fn test_keyboard_reset_and_identify() {
        let (mut dev, _, _) = kbc();
        dev.write_data(0xFF);
        assert_eq!(drain(&mut dev), [0xFA, 0xAA]);
        dev.write_data(0xF2);
        assert_eq!(drain(&mut dev), [0xFA, 0xAB, 0x41]);
    }

    #[test]
    fn test_leds_take_a_parameter() {
        let (mut dev, _, _) = kbc();
        dev.write_data(0xED);
        dev.write_data(0x07);
        assert_eq!(drain(&mut dev), [0xFA, 0xFA]);
    }

    #[test]
    fn test_scanning_disabled_holds_keys() {
        let (mut dev, _, _) = kbc();
        dev.write_data(0xF5);
        assert_eq!(drain(&mut dev), [0xFA]);
        dev.type_ahead(&type_text("a").unwrap());
        assert_eq!(drain(&mut dev), []);
        dev.write_data(0xF4);
        assert_eq!(drain(&mut dev), [0xFA, 0x1E, 0x9E]);
    }

    #[test]
    fn test_disabled_interface_holds_keys() {
        let (mut dev, _, _) = kbc();
        dev.write_command(0xAD);
        dev.type_ahead(&type_text("a").unwrap());
        assert_eq!(drain(&mut dev), []);
        dev.write_command(0xAE);
        assert_eq!(drain(&mut dev), [0x1E, 0x9E]);
    }

    #[test]
    fn test_reset_pulse() {
        let (mut dev, _, resets) = kbc();
        dev.write_command(0xFE);
        dev.write_command(0xFF); // no line pulsed
        dev.write_command(0xD1);
        dev.write_data(0x00); // reset line low through the output port
        assert_eq!(resets.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn test_empty_read_repeats_last_byte() {
        let (mut dev, _, _) = kbc();
        dev.write_command(0xAA);
        assert_eq!((dev.read_data(), dev.read_data()), (0x55, 0x55));
    }

    #[test]
    fn test_typeahead_is_bounded() {
        let (mut dev, _, _) = kbc();
        let many = type_text(&"a".repeat(5000)).unwrap();
        assert_eq!(dev.type_ahead(&many), TYPEAHEAD_LIMIT);
    }

    #[test]
    fn test_nonsense_never_panics() {
        let (mut dev, _, _) = kbc();
        for v in 0..=255u8 {
            dev.write_command(v);
            dev.write_data(v);
            dev.write_data(!v);
            let _ = dev.read_data();
            let _ = dev.read_status();
        }
    }

    #[test]
    fn test_state_round_trip() {
        let (mut dev, _, _) = kbc();
        dev.type_ahead(&type_text("xyz").unwrap());
        let saved = dev.save();
        let (mut other, line, _) = kbc();
        other.restore(saved.clone()).unwrap();
        assert_eq!(other.save(), saved);
        assert!(line.level());
    }

    #[test]
    fn test_mouse_bytes_come_through_the_aux_port_with_irq_12() {
        let irq1 = Arc::new(RecordingLine::default());
        let irq12 = Arc::new(RecordingLine::default());
        let mut k = I8042::new(irq1.clone(), || {}).with_mouse(irq12.clone());
        // Enable IRQ 12 in the command byte, then enable the mouse's reporting.
        k.write_command(0x60);
        k.write_data(0x47 | CB_AUX_INT);
        k.write_command(0xD4);
        k.write_data(0xF4);
        assert_eq!(
            (k.read_status() & STAT_AUX_OBF, irq12.level()),
            (STAT_AUX_OBF, true)
        );
        assert_eq!(k.read_data(), crate::ps2_mouse::ACK);
        k.mouse_moved(3, 1, Buttons::default());
        let packet: Vec<u8> = (0..3).map(|_| k.read_data()).collect();
        assert_eq!((packet, irq1.level()), (vec![0x08, 3, 1], false));
    }

    #[test]
    fn test_without_a_mouse_its_bytes_get_no_answer() {
        let mut k = I8042::new(Arc::new(RecordingLine::default()), || {});
        k.write_command(0xD4);
        k.write_data(0xFF);
        assert_eq!(k.read_status() & STAT_OBF, 0);
    }

    #[test]
    fn test_output_port_switches_a20_and_reads_the_gate_back() {
        let gate = Arc::new(crate::a20::testing::Gate::default());
        let mut k = I8042::new(Arc::new(RecordingLine::default()), || {}).with_a20(gate.clone());
        k.write_command(0xD1);
        k.write_data(0xDD);
        assert!(!gate.enabled());
        k.write_command(0xD0);
        assert_eq!(k.read_data(), 0xDD);
        // Another switch (port 0x92) turns it on: the output port reads what the gate is.
        gate.set(true);
        k.write_command(0xD0);
        assert_eq!(k.read_data(), 0xDF);
        k.write_command(0xDD);
        assert!(!gate.enabled());
        let saved = k.save();
        assert!(!saved.a20);
        k.write_command(0xDF);
        assert!(gate.enabled());
        k.restore(saved).expect("restore");
        assert!(!gate.enabled());
    }
}
