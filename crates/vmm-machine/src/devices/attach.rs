//! What building a board gives each device, and what some devices start that the board keeps.

use std::sync::{Arc, Mutex};

use vmm_core::{VcpuControl, Vm};
use vmm_devices::pic::PicPair;

use super::interrupts::Lines;
use super::pit_clock::PitTimer;
use super::plugin_events::PluginEvents;
use super::registry::{ConsoleKind, ConsoleOutput, DeviceHandle, DeviceRegistry};
use super::typist::Typist;
use crate::config::fields::port;
use crate::config::schema::DeviceTable;
use crate::diagnostic::Diagnostic;
use crate::spec::DeviceRange;
use crate::validate::ValidMachine;

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
    pub console: &'a mut dyn FnMut(ConsoleKind) -> ConsoleOutput,
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
    /// The RTC's interrupt thread.
    pub rtc: Option<super::rtc_clock::RtcTimer>,
    /// The keyboard's typist (the machine file's `keys`).
    pub typist: Option<Typist>,
    /// The BIOS's graphics window and ROM.
    pub bios: Option<(
        vmm_core::DeviceMemory,
        vmm_core::DeviceMemory,
        super::vga_window::GraphicsWindow,
        Option<vmm_core::DeviceMemory>,
    )>,
}

/// A device built and on the bus: the name its instances are numbered after, and its handle.
pub(crate) type Attached = (String, DeviceHandle);

/// `port = N`, or `default` without one.
pub(crate) fn port_or(d: &DeviceTable, default: u16) -> Result<u16, Diagnostic> {
    Ok(d.port.as_ref().map(port).transpose()?.unwrap_or(default))
}

/// Ports `[base, base + len)`.
pub(crate) fn ports(base: u16, len: u16) -> DeviceRange {
    DeviceRange::Port { base, len }
}
