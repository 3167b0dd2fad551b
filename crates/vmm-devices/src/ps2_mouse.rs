//! A PS/2 mouse on the i8042's auxiliary port: the commands a BIOS, a DOS driver or a kernel
//! sends it (reset, defaults, enable and disable reporting, sample rate, resolution, scaling,
//! identify, status, read data) and its replies, and the three-byte movement packets it sends in
//! stream mode while reporting is enabled (button bits, X and Y as 9-bit two's complement with
//! their overflow bits, Y up). It has the standard device ID 0: no wheel.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

/// Replies.
pub const ACK: u8 = 0xFA;
/// The self-test passed (after reset).
pub const SELF_TEST_OK: u8 = 0xAA;
/// The standard PS/2 mouse's ID.
pub const DEVICE_ID: u8 = 0x00;
/// Bytes the mouse keeps for the controller before it drops packets.
pub const QUEUE_LIMIT: usize = 255;

/// Packet byte 0 bits: buttons, the always-one bit, signs and overflows.
const LEFT: u8 = 0x01;
const RIGHT: u8 = 0x02;
const MIDDLE: u8 = 0x04;
const ALWAYS_ONE: u8 = 0x08;
const X_SIGN: u8 = 0x10;
const Y_SIGN: u8 = 0x20;
const X_OVERFLOW: u8 = 0x40;
const Y_OVERFLOW: u8 = 0x80;

/// The buttons, as a packet's low bits say them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Buttons {
    /// The left button is down.
    pub left: bool,
    /// The right button is down.
    pub right: bool,
    /// The middle button is down.
    pub middle: bool,
}

impl Buttons {
    fn bits(self) -> u8 {
        let bit = |on: bool, mask: u8| if on { mask } else { 0 };
        bit(self.left, LEFT) | bit(self.right, RIGHT) | bit(self.middle, MIDDLE)
    }
}

/// The mouse's state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ps2Mouse {
    /// Stream mode is reporting movement.
    pub reporting: bool,
    /// Samples per second.
    pub sample_rate: u8,
    /// Counts per millimetre, as the code 0-3.
    pub resolution: u8,
    /// 2:1 scaling.
    pub scaling: bool,
    /// Remote mode: packets only on request (0xEB).
    pub remote: bool,
    /// A command waiting for its parameter byte.
    pub pending: Option<u8>,
    /// The buttons as last reported.
    pub buttons: Buttons,
    /// Movement not yet sent (remote mode, or reporting off).
    pub dx: i32,
    /// Movement not yet sent, up positive.
    pub dy: i32,
    /// Bytes for the controller.
    pub out: VecDeque<u8>,
}

impl Default for Ps2Mouse {
    fn default() -> Self {
        Ps2Mouse {
            reporting: false,
            sample_rate: 100,
            resolution: 2,
            scaling: false,
            remote: false,
            pending: None,
            buttons: Buttons::default(),
            dx: 0,
            dy: 0,
            out: VecDeque::new(),
        }
    }
}

impl Ps2Mouse {
    /// A byte from the host (through the controller's 0xD4).
    pub fn command(&mut self, byte: u8) {
        if let Some(cmd) = self.pending.take() {
            match cmd {
                0xF3 => self.sample_rate = byte,
                0xE8 => self.resolution = byte & 3,
                _ => {}
            }
            self.reply(&[ACK]);
            return;
        }
        match byte {
            0xE6 => self.ack_then(|m| m.scaling = false),
            0xE7 => self.ack_then(|m| m.scaling = true),
            0xE8 | 0xF3 => {
                self.pending = Some(byte);
                self.reply(&[ACK]);
            }
            0xE9 => {
                let status = u8::from(self.remote) << 6
                    | u8::from(self.reporting) << 5
                    | u8::from(self.scaling) << 4
                    | self.buttons.bits();
                self.reply(&[ACK, status, self.resolution, self.sample_rate]);
            }
            0xEA => self.ack_then(|m| m.remote = false),
            0xEB => {
                self.reply(&[ACK]);
                self.packet();
            }
            0xF0 => self.ack_then(|m| m.remote = true),
            0xF2 => self.reply(&[ACK, DEVICE_ID]),
            // Enabling or disabling reporting also clears the movement counters.
            0xF4 => self.ack_then(|m| (m.reporting, m.dx, m.dy) = (true, 0, 0)),
            0xF5 => self.ack_then(|m| (m.reporting, m.dx, m.dy) = (false, 0, 0)),
            0xF6 => self.ack_then(Ps2Mouse::defaults),
            0xFF => {
                self.out.clear();
                self.defaults();
                self.reply(&[ACK, SELF_TEST_OK, DEVICE_ID]);
            }
            _ => self.reply(&[0xFE]),
        }
    }

    fn ack_then(&mut self, change: impl FnOnce(&mut Ps2Mouse)) {
        change(self);
        self.reply(&[ACK]);
    }

    fn defaults(&mut self) {
        let out = std::mem::take(&mut self.out);
        *self = Ps2Mouse {
            out,
            ..Ps2Mouse::default()
        };
    }

    fn reply(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if self.out.len() < QUEUE_LIMIT {
                self.out.push_back(b);
            }
        }
    }

    /// The host moved the mouse by `dx`, `dy` (right and up positive) with `buttons` down:
    /// a packet when reporting in stream mode, else the movement is kept.
    pub fn moved(&mut self, dx: i32, dy: i32, buttons: Buttons) {
        self.dx = self.dx.saturating_add(dx);
        self.dy = self.dy.saturating_add(dy);
        let changed = buttons != self.buttons;
        self.buttons = buttons;
        if self.reporting && !self.remote && (changed || self.dx != 0 || self.dy != 0) {
            // A full queue drops the packet whole, never a part of one.
            if self.out.len() + 3 <= QUEUE_LIMIT {
                self.packet();
            }
        }
    }

    /// Sends the movement since the last packet, and the buttons.
    fn packet(&mut self) {
        let axis = |v: i32| (v.clamp(-256, 255), !(-256..=255).contains(&v));
        let (x, x_over) = axis(self.dx);
        let (y, y_over) = axis(self.dy);
        let mut flags = ALWAYS_ONE | self.buttons.bits();
        flags |= if x < 0 { X_SIGN } else { 0 } | if y < 0 { Y_SIGN } else { 0 };
        flags |= if x_over { X_OVERFLOW } else { 0 } | if y_over { Y_OVERFLOW } else { 0 };
        self.dx = 0;
        self.dy = 0;
        self.reply(&[flags, x as u8, y as u8]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(m: &mut Ps2Mouse) -> Vec<u8> {
        m.out.drain(..).collect()
    }

    #[test]
    fn test_reset_answers_ack_self_test_and_id() {
        let mut m = Ps2Mouse::default();
        m.command(0xFF);
        assert_eq!(drain(&mut m), [ACK, SELF_TEST_OK, DEVICE_ID]);
    }

    #[test]
    fn test_no_packets_until_reporting_is_enabled() {
        let mut m = Ps2Mouse::default();
        m.moved(5, 0, Buttons::default());
        m.command(0xF4);
        m.moved(
            1,
            -2,
            Buttons {
                left: true,
                ..Buttons::default()
            },
        );
        // Enabling cleared the movement made before it.
        assert_eq!(drain(&mut m), [ACK, 0x08 | 0x20 | 0x01, 1, 0xFE]);
    }

    #[test]
    fn test_large_movement_sets_overflow_and_clamps() {
        let mut m = Ps2Mouse::default();
        m.command(0xF4);
        drain(&mut m);
        m.moved(400, 0, Buttons::default());
        assert_eq!(drain(&mut m), [0x08 | 0x40, 0xFF, 0]);
    }

    #[test]
    fn test_sample_rate_takes_its_parameter_and_status_reports_it() {
        let mut m = Ps2Mouse::default();
        m.command(0xF3);
        m.command(40);
        m.command(0xE9);
        assert_eq!(drain(&mut m), [ACK, ACK, ACK, 0x00, 2, 40]);
    }
}
