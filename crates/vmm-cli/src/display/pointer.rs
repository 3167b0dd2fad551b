//! The terminal's mouse as the guest's PS/2 mouse: the view asks the terminal for SGR 1006
//! reports (presses, releases, moves while a button is held) when the machine has a mouse, and
//! turns each report into movement from the last one (8 counts a column, 16 a row, as a pixel
//! of the 640x400 text screen) and the buttons.

use vmm_devices::ps2_mouse::Buttons;
use vmm_machine::MachineHandle;

use super::input::MouseReport;

/// Turns on the terminal's mouse reports (press and release, motion with a button, SGR).
pub const ENABLE: &[u8] = b"\x1b[?1000h\x1b[?1002h\x1b[?1006h";
/// Turns them off again.
pub const DISABLE: &[u8] = b"\x1b[?1006l\x1b[?1002l\x1b[?1000l";

/// Counts per terminal column and row.
const PER_COLUMN: i32 = 8;
const PER_ROW: i32 = 16;

/// Where the terminal's mouse was, and its buttons.
#[derive(Default)]
pub struct Pointer {
    last: Option<(u16, u16)>,
    buttons: Buttons,
}

impl Pointer {
    /// Moves the guest's mouse as `report` says.
    pub fn report(&mut self, r: MouseReport, machine: &MachineHandle) {
        let (dx, dy) = match self.last {
            Some((x, y)) => (
                (i32::from(r.x) - i32::from(x)) * PER_COLUMN,
                // The terminal's rows grow downwards, PS/2's Y upwards.
                (i32::from(y) - i32::from(r.y)) * PER_ROW,
            ),
            None => (0, 0),
        };
        self.last = Some((r.x, r.y));
        if !r.motion {
            let down = !r.release;
            match r.button {
                0 => self.buttons.left = down,
                1 => self.buttons.middle = down,
                2 => self.buttons.right = down,
                _ => {}
            }
        }
        machine.mouse(dx, dy, self.buttons);
    }
}
