//! `debugcon`: a byte written to its port is output (QEMU's debugcon, port 0xE9).

use std::sync::{Arc, Mutex};

use vmm_devices::debugcon::{self, DebugConsole};

use super::attach::{port_or, ports, Attach};
use super::registry::{ConsoleKind, DeviceHandle};
use crate::config::schema::DeviceTable;
use crate::diagnostic::Diagnostic;
use crate::error::MachineError;
use crate::spec::{DeviceKind, DeviceRange};

/// The keys its table takes.
pub(super) const KEYS: &[&str] = &["port"];

pub(super) fn parse(d: &DeviceTable) -> Result<DeviceKind, Diagnostic> {
    Ok(DeviceKind::Debugcon {
        port: port_or(d, debugcon::DEFAULT_PORT)?,
    })
}

pub(super) fn ranges(port: u16) -> Vec<DeviceRange> {
    vec![ports(port, 1)]
}

pub(super) fn attach(port: u16, at: &mut Attach<'_>) -> Result<DeviceHandle, MachineError> {
    let dev = Arc::new(Mutex::new(DebugConsole::new((at.console)(
        ConsoleKind::Debugcon,
    ))));
    at.vm.register_pio(port, 1, dev.clone())?;
    Ok(DeviceHandle::Debugcon(dev))
}
