//! One place per device type: each file here carries everything the machine knows of one
//! type of device: the keys its `[[device]]` table takes and how they are read (`parse`), the
//! ranges it occupies (`ranges`), how it is built and put on the bus (`attach`) and how
//! `picovmm check` describes it (`describe`). `DeviceType` (in `spec`) lists the types once; every
//! `match` on it is exhaustive, so a new type cannot be half added.
//!
//! docs/architecture.md ("Adding a device") walks through adding one.

pub mod attach;
mod bios;
mod debug_exit;
mod debugcon;
mod i8042;
pub mod interrupts;
mod pic;
mod pit;
pub mod pit_clock;
mod plugin;
pub mod plugin_events;
pub mod plugin_host;
pub mod registry;
pub mod rtc;
pub mod rtc_clock;
pub mod screen;
mod serial;
pub mod typist;
pub mod vbe;
mod vga_text;
pub mod vga_window;

use std::path::Path;

use toml::Spanned;

use crate::config::fields::{located, named, only_keys};
use crate::config::schema::DeviceTable;
use crate::diagnostic::Diagnostic;
use crate::error::MachineError;
use crate::named::Named;
use crate::spec::{DeviceKind, DeviceRange, DeviceType, Located};
use crate::validate::ValidMachine;
use attach::{Attach, Attached};

pub use bios::BIOS_RANGES;
pub use debug_exit::DEBUG_EXIT_PORTS;

/// The keys a `[[device]]` table of type `ty` takes besides `type`.
fn keys(ty: DeviceType) -> &'static [&'static str] {
    {
        match ty {
            DeviceType::VgaText => vga_text::KEYS,
            DeviceType::Debugcon => debugcon::KEYS,
            DeviceType::IsaDebugExit => debug_exit::KEYS,
            DeviceType::Serial => serial::KEYS,
            DeviceType::Pic | DeviceType::Pit | DeviceType::Rtc | DeviceType::Bios => &[],
            DeviceType::I8042 => i8042::KEYS,
            DeviceType::Plugin => plugin::KEYS,
        }
    }
}

/// The device types, as messages list them.
pub fn type_names() -> String {
    crate::named::allowed::<DeviceType>()
}

/// Reads one `[[device]]` table; relative paths are resolved against `base_dir`.
pub(crate) fn parse(
    table: &Spanned<DeviceTable>,
    base_dir: &Path,
) -> Result<Located<DeviceKind>, Diagnostic> {
    let d = table.get_ref();
    let ty: DeviceType = named(&d.kind, "device type")?;
    only_keys(d, ty.name(), keys(ty))?;
    let kind = match ty {
        DeviceType::VgaText => vga_text::parse(d)?,
        DeviceType::Debugcon => debugcon::parse(d)?,
        DeviceType::IsaDebugExit => debug_exit::parse(d)?,
        DeviceType::Serial => serial::parse(d, base_dir)?,
        DeviceType::Pic => DeviceKind::Pic,
        DeviceType::Pit => DeviceKind::Pit,
        DeviceType::Rtc => DeviceKind::Rtc,
        DeviceType::I8042 => i8042::parse(d)?,
        DeviceType::Bios => DeviceKind::Bios,
        DeviceType::Plugin => plugin::parse(d, table.span(), base_dir)?,
    };
    let span = d
        .mmio
        .as_ref()
        .or(d.port.as_ref())
        .map_or_else(|| d.kind.span(), Spanned::span);
    Ok(located(kind, span))
}

impl DeviceKind {
    /// Its type.
    pub fn device_type(&self) -> DeviceType {
        match self {
            DeviceKind::VgaText { .. } => DeviceType::VgaText,
            DeviceKind::Debugcon { .. } => DeviceType::Debugcon,
            DeviceKind::IsaDebugExit { .. } => DeviceType::IsaDebugExit,
            DeviceKind::Serial { .. } => DeviceType::Serial,
            DeviceKind::Pic => DeviceType::Pic,
            DeviceKind::Pit => DeviceType::Pit,
            DeviceKind::Rtc => DeviceType::Rtc,
            DeviceKind::I8042 { .. } => DeviceType::I8042,
            DeviceKind::Bios => DeviceType::Bios,
            DeviceKind::Plugin(_) => DeviceType::Plugin,
        }
    }

    /// The name used in machine files.
    pub fn type_name(&self) -> &'static str {
        self.device_type().name()
    }

    /// Every range the device occupies, its main one first.
    pub fn ranges(&self) -> Vec<DeviceRange> {
        match self {
            &DeviceKind::VgaText { mmio, .. } => vga_text::ranges(mmio),
            &DeviceKind::Debugcon { port } => debugcon::ranges(port),
            &DeviceKind::IsaDebugExit { port } => debug_exit::ranges(port),
            &DeviceKind::Serial { port, .. } => serial::ranges(port),
            DeviceKind::Pic => pic::ranges(),
            DeviceKind::Pit => pit::ranges(),
            DeviceKind::Rtc => rtc::ranges(),
            DeviceKind::I8042 { .. } => i8042::ranges(),
            DeviceKind::Bios => BIOS_RANGES.to_vec(),
            DeviceKind::Plugin(plugin) => vec![plugin.range],
        }
    }

    /// The device's main range (the first of [`DeviceKind::ranges`]).
    pub fn range(&self) -> DeviceRange {
        match self {
            DeviceKind::Plugin(plugin) => plugin.range,
            // Every type has at least one range.
            other => other.ranges()[0],
        }
    }

    /// What `picovmm check` says of it after its ranges (`index` is its place in the machine).
    pub fn describe(&self, valid: &ValidMachine, index: usize) -> String {
        match self {
            DeviceKind::VgaText { mode, .. } => vga_text::describe(*mode),
            DeviceKind::Plugin(_) => plugin::describe(valid, index),
            DeviceKind::Serial { irq, .. } => serial::describe(*irq),
            DeviceKind::Pit => pit::describe(),
            DeviceKind::Rtc => rtc::describe(),
            DeviceKind::I8042 { keys, mouse } => i8042::describe(keys, *mouse),
            DeviceKind::Debugcon { .. }
            | DeviceKind::IsaDebugExit { .. }
            | DeviceKind::Pic
            | DeviceKind::Bios => String::new(),
        }
    }
}

impl DeviceKind {
    /// Builds the device and puts it on the VM's buses.
    pub(crate) fn attach(&self, at: &mut Attach<'_>) -> Result<Attached, MachineError> {
        let name = self.type_name().to_owned();
        let handle = match self {
            &DeviceKind::VgaText { mmio, mode } => vga_text::attach(mmio, mode, at)?,
            &DeviceKind::Debugcon { port } => debugcon::attach(port, at)?,
            &DeviceKind::IsaDebugExit { port } => debug_exit::attach(port, at)?,
            DeviceKind::Serial { port, irq, output } => {
                serial::attach(*port, *irq, output.as_ref(), at)?
            }
            DeviceKind::Pic => pic::attach(at)?,
            DeviceKind::Pit => pit::attach(at)?,
            DeviceKind::Rtc => rtc::attach(at)?,
            DeviceKind::I8042 { keys, mouse } => i8042::attach(keys, *mouse, at)?,
            DeviceKind::Bios => bios::attach(at)?,
            DeviceKind::Plugin(plugin) => return plugin::attach(plugin, at),
        };
        Ok((name, handle))
    }
}
