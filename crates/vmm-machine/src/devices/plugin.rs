//! `plugin`: a device from a shared library speaking picovmm's plugin ABI, on ports or MMIO,
//! with interrupt lines, a config table and the host's services.

use std::path::Path;
use std::sync::{Arc, Mutex};

use toml::Spanned;
use vmm_devices::plugin::{PluginDevice, PluginHost};

use super::attach::{Attach, Attached};
use super::plugin_host::{BoardPluginHost, PluginWiring};
use super::registry::DeviceHandle;
use crate::config::fields::{at, irqs, located, port};
use crate::config::schema::DeviceTable;
use crate::diagnostic::{Diagnostic, Report};
use crate::error::MachineError;
use crate::plugin_config::PluginSurroundings;
use crate::spec::{DeviceKind, DeviceRange, Origin, PluginSpec};
use crate::validate::ValidMachine;

/// The keys its table takes.
pub(super) const KEYS: &[&str] = &["library", "port", "ports", "mmio", "size", "config", "irq"];

pub(super) fn parse(
    d: &DeviceTable,
    whole: std::ops::Range<usize>,
    base_dir: &Path,
) -> Result<DeviceKind, Diagnostic> {
    let library = d.library.as_ref().ok_or_else(|| {
        Diagnostic::new(
            Origin::File(whole.clone()),
            "a plugin device needs `library`: a plugin name or a path to a .so",
        )
    })?;
    let range = match (&d.port, &d.mmio) {
        (Some(p), None) => {
            let len = match &d.ports {
                Some(n) => u16::try_from(n.get_ref().0)
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or_else(|| at(n, "ports must be from 1 to 65536"))?,
                None => 1,
            };
            if let Some(size) = &d.size {
                return Err(at(
                    size,
                    "`size` is for MMIO plugins; a port plugin takes `ports`",
                ));
            }
            DeviceRange::Port {
                base: port(p)?,
                len,
            }
        }
        (None, Some(m)) => {
            if let Some(ports) = &d.ports {
                return Err(at(
                    ports,
                    "`ports` is for port plugins; an MMIO plugin takes `size`",
                ));
            }
            let len = d.size.as_ref().map_or(0x1000, |s| s.get_ref().0);
            if len == 0 {
                let span = d.size.as_ref().map_or_else(|| m.span(), Spanned::span);
                return Err(Diagnostic::new(
                    Origin::File(span),
                    "size must be more than 0",
                ));
            }
            DeviceRange::Mmio {
                base: m.get_ref().0,
                len,
            }
        }
        (Some(p), Some(_)) => {
            return Err(at(p, "a plugin device takes `port` or `mmio`, not both"))
        }
        (None, None) => {
            return Err(Diagnostic::new(
                Origin::File(whole),
                "a plugin device needs `port` (with `ports`) or `mmio` (with `size`)",
            ))
        }
    };
    let (config_toml, config_origin) = match &d.config {
        Some(c) => (
            toml::to_string(c.get_ref()).unwrap_or_default(),
            Origin::File(c.span()),
        ),
        None => (String::new(), Origin::File(library.span())),
    };
    Ok(DeviceKind::Plugin(Box::new(PluginSpec {
        library: located(library.get_ref().clone(), library.span()),
        irqs: d.irq.as_ref().map(irqs).transpose()?.unwrap_or_default(),
        base_dir: base_dir.to_owned(),
        range,
        config_toml,
        config_origin,
    })))
}

pub(super) fn attach(plugin: &PluginSpec, at: &mut Attach<'_>) -> Result<Attached, MachineError> {
    let library = at.valid.library(at.index).ok_or(MachineError::Internal(
        "a plugin device was validated without its library",
    ))?;
    let wiring = PluginWiring {
        lines: plugin.irqs.iter().map(|&n| at.lines.line(n)).collect(),
        events: at.plugin_events.clone(),
        surroundings: PluginSurroundings::new(
            at.devices.next_name(&library.info().name),
            &plugin.base_dir,
            &plugin.config_toml,
        ),
    };
    let host = Arc::new(BoardPluginHost::new(
        at.index as u32,
        at.vm.memory().clone(),
        at.control.clone(),
        wiring,
    ));
    let dyn_host: Arc<dyn PluginHost> = host.clone();
    let dev = PluginDevice::create(library, dyn_host, &plugin.config_toml).map_err(|e| {
        let d = Diagnostic::new(plugin.config_origin.clone(), e.to_string());
        Report::new(d, at.valid.spec.source.as_ref())
    })?;
    let dev = Arc::new(Mutex::new(dev));
    match plugin.range {
        DeviceRange::Port { base, len } => at.vm.register_pio(base, len, dev.clone())?,
        DeviceRange::Mmio { base, len } => at.vm.register_mmio(base, len, dev.clone())?,
    }
    let handle = DeviceHandle::Plugin { device: dev, host };
    Ok((library.info().name.clone(), handle))
}

pub(super) fn describe(valid: &ValidMachine, index: usize) -> String {
    valid
        .library(index)
        .map(|p| format!(" {} from {}", p.info(), p.path().display()))
        .unwrap_or_default()
}
