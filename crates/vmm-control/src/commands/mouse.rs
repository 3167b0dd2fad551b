//! Mouse events in QMP's `input-send-event` form: `{"type": "rel", "data": {"axis": "x"|"y",
//! "value": N}}` (QEMU's screen axes: Y grows downwards) and `{"type": "btn", "data": {"down":
//! BOOL, "button": "left"|"right"|"middle"}}`, handed to the PS/2 mouse as movement packets.

use serde_json::Value;
use vmm_devices::ps2_mouse::Buttons;

use crate::protocol::CommandError;
use crate::session::Session;

/// Movement and buttons gathered from a request's events, sent as one packet per button change.
pub struct Pending {
    dx: i32,
    dy: i32,
    buttons: Buttons,
    any: bool,
}

impl Pending {
    /// Starting from the buttons the guest last saw.
    pub fn new(buttons: Buttons) -> Pending {
        Pending {
            dx: 0,
            dy: 0,
            buttons,
            any: false,
        }
    }

    /// Adds one `rel` or `btn` event; a button change sends what was gathered.
    pub fn add(&mut self, s: &Session, event: &Value) -> Result<(), CommandError> {
        let data = &event["data"];
        let bad = |what: &str| {
            CommandError::generic(format!("a {} event {what}, not {data}", event["type"]))
        };
        self.any = true;
        if event["type"] == "rel" {
            let value = data["value"]
                .as_i64()
                .ok_or_else(|| bad("needs an integer \"value\""))?;
            let value = i32::try_from(value).map_err(|_| bad("moves at most 2^31 counts"))?;
            match data["axis"].as_str() {
                Some("x") => self.dx = self.dx.saturating_add(value),
                // PS/2's Y grows upwards.
                Some("y") => self.dy = self.dy.saturating_sub(value),
                _ => return Err(bad("needs \"axis\": \"x\" or \"y\"")),
            }
            return Ok(());
        }
        let down = data["down"]
            .as_bool()
            .ok_or_else(|| bad("needs \"down\": true or false"))?;
        match data["button"].as_str() {
            Some("left") => self.buttons.left = down,
            Some("right") => self.buttons.right = down,
            Some("middle") => self.buttons.middle = down,
            _ => return Err(bad("needs \"button\": \"left\", \"right\" or \"middle\"")),
        }
        self.send(s)
    }

    /// Sends what was gathered, if anything.
    pub fn send(&mut self, s: &Session) -> Result<(), CommandError> {
        if !self.any {
            return Ok(());
        }
        if !s.handle.mouse(self.dx, self.dy, self.buttons) {
            return Err(CommandError::no_device(
                "this machine has no mouse (an i8042 device with mouse = true)",
            ));
        }
        (self.dx, self.dy, self.any) = (0, 0, false);
        Ok(())
    }
}
