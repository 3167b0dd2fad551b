//! `vga-text`: the 32 KiB text window, backed by memory mapped into the guest (no exits) or
//! trapped to the device model (the seed's way, an exit per access).

use std::sync::{Arc, Mutex};

use vmm_core::layout::VGA_TEXT_BASE;
use vmm_devices::vga_text::{VgaText, WINDOW_SIZE};

use super::attach::Attach;
use super::registry::DeviceHandle;
use super::screen::Screen;
use crate::config::schema::DeviceTable;
use crate::diagnostic::Diagnostic;
use crate::error::MachineError;
use crate::spec::{DeviceKind, DeviceRange, VgaMode};

/// The keys its table takes.
pub(super) const KEYS: &[&str] = &["mmio", "mode"];

pub(super) fn parse(d: &DeviceTable) -> Result<DeviceKind, Diagnostic> {
    let mode = match d.mode.as_ref() {
        None => VgaMode::default(),
        Some(m) => crate::config::fields::named(m, "vga-text mode")?,
    };
    Ok(DeviceKind::VgaText {
        mmio: d.mmio.as_ref().map_or(VGA_TEXT_BASE, |m| m.get_ref().0),
        mode,
    })
}

pub(super) fn ranges(mmio: u64) -> Vec<DeviceRange> {
    vec![DeviceRange::Mmio {
        base: mmio,
        len: WINDOW_SIZE,
    }]
}

pub(super) fn attach(
    mmio: u64,
    mode: VgaMode,
    at: &mut Attach<'_>,
) -> Result<DeviceHandle, MachineError> {
    let screen = match mode {
        VgaMode::Trap => {
            let dev = Arc::new(Mutex::new(VgaText::new()));
            at.vm.register_mmio(mmio, WINDOW_SIZE, dev.clone())?;
            Screen::Trapped(dev)
        }
        VgaMode::Memory => Screen::Mapped(at.vm.map_device_memory(mmio, WINDOW_SIZE)?),
    };
    Ok(DeviceHandle::VgaText(screen))
}

pub(super) fn describe(mode: VgaMode) -> String {
    format!(" ({})", mode.name())
}
