//! One place per device type: each file here carries everything the machine knows of one
//! type of device: the keys its `[[device]]` table takes and how they are read (`parse`), the
//! ranges it occupies (`ranges`), how it is built and put on the bus (`attach`) and how
//! `picovmm check` describes it (`describe`). [`DeviceType`] lists the types once; every
//! `match` on it is exhaustive, so a new type cannot be half added.
//!
//! docs/architecture.md ("Adding a device") walks through adding one.

mod bios;
mod debug_exit;
mod debugcon;
mod i8042;
mod pic;
mod pit;
mod plugin;
mod serial;
mod vga_text;

use std::path::Path;
use std::sync::{Arc, Mutex};

use toml::Spanned;
use vmm_core::{VcpuControl, Vm};
use vmm_devices::pic::PicPair;

use crate::board::{
    ConsoleOutput, DeviceHandle, DeviceRegistry, Lines, PitTimer, PluginEvents,
};
use crate::config::schema::DeviceTable;
use crate::config::{located, named, only_keys};
use crate::diagnostic::Diagnostic;
use crate::error::MachineError;
use crate::named::Named;
use crate::spec::{DeviceKind, DeviceRange, Located};
use crate::validate::ValidMachine;

pub use bios::BIOS_RANGES;
pub use debug_exit::DEBUG_EXIT_PORTS;

/// The device types a machine file may name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceType {
    /// VGA text mode (`vga-text`).
    VgaText,
    /// The debug console (`debugcon`).
    Debugcon,
    /// QEMU's isa-debug-exit (`isa-debug-exit`).
    IsaDebugExit,
    /// A 16550 UART (`serial`).
    Serial,
    /// The 8259A pair (`pic`).
    Pic,
    /// The 8254 timer (`pit`).
    Pit,
    /// The keyboard controller (`i8042`).
    I8042,
    /// picovmm's BIOS (`bios`).
    Bios,
    /// A device from a plugin library (`plugin`).
    Plugin,
}

impl Named for DeviceType {
    const ALL: &'static [Self] = &[
        DeviceType::VgaText,
        DeviceType::Debugcon,
        DeviceType::IsaDebugExit,
        DeviceType::Serial,
        DeviceType::Pic,
        DeviceType::Pit,
        DeviceType::I8042,
        DeviceType::Bios,
        DeviceType::Plugin,
    ];

    fn name(self) -> &'static str {
        match self {
            DeviceType::VgaText => "vga-text",
            DeviceType::Debugcon => "debugcon",
            DeviceType::IsaDebugExit => "isa-debug-exit",
            DeviceType::Serial => "serial",
            DeviceType::Pic => "pic",
            DeviceType::Pit => "pit",
            DeviceType::I8042 => "i8042",
            DeviceType::Bios => "bios",
            DeviceType::Plugin => "plugin",
        }
    }

    fn help(self) -> &'static str {
        match self {
            DeviceType::VgaText => "VGA text mode: the 32 KiB window at 0xB8000",
            DeviceType::Debugcon => "a byte written to its port is output (QEMU's debugcon)",
            DeviceType::IsaDebugExit => "a value written ends the run (QEMU's isa-debug-exit)",
            DeviceType::Serial => "a 16550 UART",
            DeviceType::Pic => "the two 8259A interrupt controllers",
            DeviceType::Pit => "the 8254 timer and the speaker port",
            DeviceType::I8042 => "the keyboard controller and its keyboard",
            DeviceType::Bios => "picovmm's BIOS, the VGA's registers and graphics window",
            DeviceType::Plugin => "a device from a plugin library",
        }
    }
}

impl DeviceType {
    /// The keys its `[[device]]` table takes besides `type`.
    fn keys(self) -> &'static [&'static str] {
        match self {
            DeviceType::VgaText => vga_text::KEYS,
            DeviceType::Debugcon => debugcon::KEYS,
            DeviceType::IsaDebugExit => debug_exit::KEYS,
            DeviceType::Serial => serial::KEYS,
            DeviceType::Pic | DeviceType::Pit | DeviceType::Bios => &[],
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
    only_keys(d, ty.name(), ty.keys())?;
    let kind = match ty {
        DeviceType::VgaText => vga_text::parse(d)?,
        DeviceType::Debugcon => debugcon::parse(d)?,
        DeviceType::IsaDebugExit => debug_exit::parse(d)?,
        DeviceType::Serial => serial::parse(d, base_dir)?,
        DeviceType::Pic => DeviceKind::Pic,
        DeviceType::Pit => DeviceKind::Pit,
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
            DeviceKind::I8042 { keys } => i8042::describe(keys),
            DeviceKind::Debugcon { .. }
            | DeviceKind::IsaDebugExit { .. }
            | DeviceKind::Pic
            | DeviceKind::Bios => String::new(),
        }
    }
}

/// What building a board gives each device: the VM to register on, the vCPU's control, the
/// interrupt lines, where console output goes, and what the devices before it started.
pub(crate) struct Attach<'a> {
    /// The VM whose buses the device joins.
    pub vm: &'a mut Vm,
    /// The vCPU's control (stops, resets, wake-ups).
    pub control: VcpuControl,
    /// The PIC pair, when the machine has one.
    pub pic: Option<Arc<Mutex<PicPair>>>,
    /// The PIC's lines.
    pub lines: Lines,
    /// Makes the sink of each debug console and stdout serial port.
    pub console: &'a mut dyn FnMut() -> ConsoleOutput,
    /// The plugins' event thread.
    pub plugin_events: Arc<PluginEvents>,
    /// The devices attached so far (for names).
    pub devices: &'a DeviceRegistry,
    /// The machine being built.
    pub valid: &'a ValidMachine,
    /// This device's place in the machine.
    pub index: usize,
    /// What devices started that the board keeps running.
    pub started: &'a mut Started,
}

/// Threads and hardware some devices start, kept by the board.
#[derive(Default)]
pub(crate) struct Started {
    /// The PIT's timer thread.
    pub pit: Option<PitTimer>,
    /// The keyboard's typist (the machine file's `keys`).
    pub typist: Option<crate::board::Typist>,
    /// The BIOS's graphics window and ROM.
    pub bios: Option<(vmm_core::DeviceMemory, vmm_core::DeviceMemory)>,
}

/// A device built and on the bus: the name its instances are numbered after, and its handle.
pub(crate) type Attached = (String, DeviceHandle);

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
            DeviceKind::I8042 { keys } => i8042::attach(keys, at)?,
            DeviceKind::Bios => bios::attach(at)?,
            DeviceKind::Plugin(plugin) => return plugin::attach(plugin, at),
        };
        Ok((name, handle))
    }
}

/// `port = N`, or `default` without one.
fn port_or(d: &DeviceTable, default: u16) -> Result<u16, Diagnostic> {
    Ok(d.port
        .as_ref()
        .map(crate::config::port)
        .transpose()?
        .unwrap_or(default))
}

/// Ports `[base, base + len)`.
fn ports(base: u16, len: u16) -> DeviceRange {
    DeviceRange::Port { base, len }
}
