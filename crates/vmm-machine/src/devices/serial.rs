//! `serial`: a 16550 UART; its output goes to a file or to the console sink, its input comes
//! from the handle (stdin, a control client).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use toml::Spanned;
use vmm_devices::serial::{self, Uart16550};

use super::attach::{port_or, ports, Attach};
use super::registry::{ConsoleKind, ConsoleOutput, DeviceHandle};
use crate::config::fields::{irq, located};
use crate::config::schema::DeviceTable;
use crate::diagnostic::Diagnostic;
use crate::error::MachineError;
use crate::spec::{DeviceKind, DeviceRange, Located};

/// The keys its table takes.
pub(super) const KEYS: &[&str] = &["port", "irq", "output"];

pub(super) fn parse(d: &DeviceTable, base_dir: &Path) -> Result<DeviceKind, Diagnostic> {
    let port = port_or(d, serial::COM1_PORT)?;
    Ok(DeviceKind::Serial {
        port,
        irq: d
            .irq
            .as_ref()
            .map(irq)
            .transpose()?
            .unwrap_or(serial::default_irq(port)),
        output: d
            .output
            .as_ref()
            .map(|o| located(base_dir.join(o.get_ref()), Spanned::span(o))),
    })
}

pub(super) fn ranges(port: u16) -> Vec<DeviceRange> {
    vec![ports(port, serial::PORTS)]
}

pub(super) fn attach(
    port: u16,
    irq: u8,
    output: Option<&Located<PathBuf>>,
    at: &mut Attach<'_>,
) -> Result<DeviceHandle, MachineError> {
    let out: ConsoleOutput =
        match output {
            None => (at.console)(ConsoleKind::Serial(port)),
            Some(path) => Box::new(std::fs::File::create(&path.value).map_err(|source| {
                MachineError::Output {
                    path: path.value.clone(),
                    source,
                }
            })?),
        };
    let dev = Arc::new(Mutex::new(Uart16550::with_line(out, at.lines.line(irq))));
    at.vm.register_pio(port, serial::PORTS, dev.clone())?;
    Ok(DeviceHandle::Serial(dev))
}

pub(super) fn describe(irq: u8) -> String {
    format!(" irq {irq}")
}
