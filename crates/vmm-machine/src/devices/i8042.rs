//! `i8042`: the keyboard controller with its keyboard (IRQ 1); `keys` are typed as the machine
//! starts; `mouse = true` puts a PS/2 mouse on its auxiliary port (IRQ 12). Its output port and
//! port 0x92 beside it (fast A20) switch the machine's A20 gate.

use std::sync::{Arc, Mutex};

use vmm_core::{A20Gate, StopReason};
use vmm_devices::a20::{A20Line, FastA20, FAST_A20_PORT};
use vmm_devices::i8042::{self, I8042};
use vmm_devices::keymap::{self, KeyEvent};

use super::attach::{ports, Attach};
use super::registry::DeviceHandle;
use super::typist::Typist;
use crate::config::fields::at;
use crate::config::schema::DeviceTable;
use crate::diagnostic::Diagnostic;
use crate::error::MachineError;
use crate::spec::{DeviceKind, DeviceRange};

/// The keys its table takes.
pub(super) const KEYS: &[&str] = &["keys", "mouse"];

pub(super) fn parse(d: &DeviceTable) -> Result<DeviceKind, Diagnostic> {
    let keys = match &d.keys {
        Some(text) => {
            keymap::type_text(text.get_ref()).map_err(|e| at(text, format!("keys: {e}")))?
        }
        None => Vec::new(),
    };
    let mouse = d.mouse.as_ref().is_some_and(|m| *m.get_ref());
    Ok(DeviceKind::I8042 { keys, mouse })
}

pub(super) fn ranges() -> Vec<DeviceRange> {
    vec![
        ports(i8042::DATA_PORT, 1),
        ports(i8042::COMMAND_PORT, 1),
        ports(FAST_A20_PORT, 1),
    ]
}

pub(super) fn attach(
    keys: &[KeyEvent],
    mouse: bool,
    at: &mut Attach<'_>,
) -> Result<DeviceHandle, MachineError> {
    let reset = at.control.clone();
    let gate: Arc<dyn A20Line> = Arc::new(Gate(at.vm.a20()));
    let mut kbc = I8042::new(at.lines.line(i8042::KEYBOARD_IRQ), move || {
        reset.stop(StopReason::Reset)
    })
    .with_a20(gate.clone());
    if mouse {
        kbc = kbc.with_mouse(at.lines.line(i8042::MOUSE_IRQ));
    }
    let dev = Arc::new(Mutex::new(kbc));
    if !keys.is_empty() {
        let typist =
            Typist::start(dev.clone(), keys.to_vec()).map_err(|source| MachineError::Thread {
                name: "typist",
                source,
            })?;
        at.started.typist = Some(typist);
    }
    at.vm.register_pio(i8042::DATA_PORT, 1, dev.clone())?;
    at.vm.register_pio(i8042::COMMAND_PORT, 1, dev.clone())?;
    let reset = at.control.clone();
    let fast = FastA20::new(gate, move || reset.stop(StopReason::Reset));
    at.vm
        .register_pio(FAST_A20_PORT, 1, Arc::new(Mutex::new(fast)))?;
    Ok(DeviceHandle::I8042(dev))
}

/// The machine's A20 gate, as the switches see it.
struct Gate(A20Gate);

impl A20Line for Gate {
    fn set(&self, on: bool) {
        if let Err(e) = self.0.set(on) {
            log::error!(
                "cannot switch the A20 gate {}: {e}",
                if on { "on" } else { "off" }
            );
        }
    }

    fn enabled(&self) -> bool {
        self.0.enabled()
    }
}

pub(super) fn describe(keys: &[KeyEvent], mouse: bool) -> String {
    let mut text = " irq 1, port 0x92 (fast A20)".to_owned();
    if mouse {
        text.push_str(", a PS/2 mouse on irq 12");
    }
    if !keys.is_empty() {
        text.push_str(&format!(", {} key events typed at start", keys.len()));
    }
    text
}
