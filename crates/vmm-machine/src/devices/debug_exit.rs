//! `isa-debug-exit`: a value written ends the run with status `(value << 1) | 1` (QEMU's).

use std::sync::{Arc, Mutex};

use vmm_core::StopReason;
use vmm_devices::debug_exit::{self, IsaDebugExit};

use super::attach::{port_or, ports, Attach};
use super::registry::DeviceHandle;
use crate::config::schema::DeviceTable;
use crate::diagnostic::Diagnostic;
use crate::error::MachineError;
use crate::spec::{DeviceKind, DeviceRange};

/// The keys its table takes.
pub(super) const KEYS: &[&str] = &["port"];

/// Ports isa-debug-exit spans, so 8-, 16- and 32-bit writes all reach it (QEMU's iosize=4).
pub const DEBUG_EXIT_PORTS: u16 = 4;

pub(super) fn parse(d: &DeviceTable) -> Result<DeviceKind, Diagnostic> {
    Ok(DeviceKind::IsaDebugExit {
        port: port_or(d, debug_exit::DEFAULT_PORT)?,
    })
}

pub(super) fn ranges(port: u16) -> Vec<DeviceRange> {
    vec![ports(port, DEBUG_EXIT_PORTS)]
}

pub(super) fn attach(port: u16, at: &mut Attach<'_>) -> Result<DeviceHandle, MachineError> {
    let stop = at.control.clone();
    let dev = IsaDebugExit::new(move |value| stop.stop(StopReason::GuestExit(value)));
    at.vm
        .register_pio(port, DEBUG_EXIT_PORTS, Arc::new(Mutex::new(dev)))?;
    Ok(DeviceHandle::DebugExit)
}
