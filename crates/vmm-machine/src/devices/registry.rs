//! The board's devices: each with a name, its type, its ranges and a typed handle, found by
//! name or by kind, with its state saved and restored through [`Stateful`].

use std::sync::{Arc, Mutex};

use serde::de::DeserializeOwned;
use serde::Serialize;
use vmm_core::DeviceMemory;
use vmm_devices::debugcon::DebugConsole;
use vmm_devices::i8042::I8042;
use vmm_devices::pic::PicPair;
use vmm_devices::plugin::PluginDevice;
use vmm_devices::serial::Uart16550;
use vmm_devices::state::{StateError, Stateful};
use vmm_devices::vga_planar::VgaPlanes;
use vmm_devices::vga_regs::VgaRegisters;
use vmm_devices::vga_text::VgaTextState;

use super::pit_clock::ClockedPit;
use super::plugin_host::BoardPluginHost;
use super::screen::Screen;
use crate::spec::{DeviceRange, DeviceType};

/// Where a debug console's or serial port's output goes.
pub type ConsoleOutput = Box<dyn std::io::Write + Send>;

/// Which kind of device a console output is made for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConsoleKind {
    /// A 16550 UART printing to the console, at its first port.
    Serial(u16),
    /// A debug console (port 0xe9).
    Debugcon,
}

impl ConsoleKind {
    /// The device type's name, as machine files spell it.
    pub fn name(self) -> &'static str {
        match self {
            ConsoleKind::Serial(_) => "serial",
            ConsoleKind::Debugcon => "debugcon",
        }
    }
}

/// A device as the board holds it.
pub enum DeviceHandle {
    /// VGA text, trapped or memory-mapped.
    VgaText(Screen),
    /// A debug console.
    Debugcon(Arc<Mutex<DebugConsole<ConsoleOutput>>>),
    /// isa-debug-exit (it has no state).
    DebugExit,
    /// A 16550 UART.
    Serial(Arc<Mutex<Uart16550<ConsoleOutput>>>),
    /// The 8259A pair.
    Pic(Arc<Mutex<PicPair>>),
    /// The 8254 on the host clock.
    Pit(Arc<Mutex<ClockedPit>>),
    /// The MC146818 on the host clock.
    Rtc(Arc<Mutex<super::rtc_clock::ClockedRtc>>),
    /// The keyboard controller.
    I8042(Arc<Mutex<I8042>>),
    /// The BIOS's hardware: the VGA registers and the graphics window (the ROM and the
    /// services are the vCPU's firmware).
    Bios {
        /// The VGA's registers.
        vga: Arc<Mutex<VgaRegisters>>,
        /// The 64 KiB window at 0xA0000 (mode 13h).
        graphics: DeviceMemory,
        /// The ROM at 0xF0000 (the guest may write it, as shadow RAM).
        rom: DeviceMemory,
        /// The planes behind the graphics window in planar modes.
        planes: Arc<Mutex<VgaPlanes>>,
        /// The graphics window's slot: memory, or the planes.
        window: super::vga_window::GraphicsWindow,
        /// The VESA display, unless its frame buffer's place was taken.
        vbe: Option<super::vbe::Vbe>,
    },
    /// A plugin device and its host.
    Plugin {
        /// The device.
        device: Arc<Mutex<PluginDevice>>,
        /// Its host (where its failure is kept).
        host: Arc<BoardPluginHost>,
    },
}

/// One device on the board.
pub struct DeviceEntry {
    /// Unique on the board: the type (or the plugin's name) and a number, like `serial0`.
    pub name: String,
    /// Its type.
    pub kind: DeviceType,
    /// The ports or MMIO ranges it occupies.
    pub ranges: Vec<DeviceRange>,
    /// The device.
    pub handle: DeviceHandle,
    /// The name before its number.
    base: String,
}

/// Errors saving or restoring a device's state.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// No device has that name.
    #[error("no device named {0}")]
    NoDevice(String),
    /// The device refused the state.
    #[error("device {device}: {source}")]
    State {
        /// The device's name.
        device: String,
        /// Why.
        #[source]
        source: StateError,
    },
    /// The state is not the device's.
    #[error("device {device}: the saved state does not fit it: {message}")]
    Format {
        /// The device's name.
        device: String,
        /// The decoder's message.
        message: String,
    },
}

/// The board's devices, in the order the machine description lists them.
#[derive(Default)]
pub struct DeviceRegistry {
    entries: Vec<DeviceEntry>,
}

impl DeviceRegistry {
    /// Adds a device named after `base` and how many devices so far share that base name.
    /// The name the next device of base name `base` gets.
    pub(crate) fn next_name(&self, base: &str) -> String {
        let n = self.entries.iter().filter(|e| e.base == base).count();
        format!("{base}{n}")
    }

    pub(crate) fn add(
        &mut self,
        base: &str,
        kind: DeviceType,
        ranges: Vec<DeviceRange>,
        handle: DeviceHandle,
    ) {
        let n = self.entries.iter().filter(|e| e.base == base).count();
        self.entries.push(DeviceEntry {
            name: format!("{base}{n}"),
            kind,
            ranges,
            handle,
            base: base.to_owned(),
        });
    }

    /// Every device, in order.
    pub fn iter(&self) -> impl Iterator<Item = &DeviceEntry> {
        self.entries.iter()
    }

    /// The device at `index`.
    pub fn get(&self, index: usize) -> Option<&DeviceEntry> {
        self.entries.get(index)
    }

    /// The device called `name`.
    pub fn find(&self, name: &str) -> Option<&DeviceEntry> {
        self.entries.iter().find(|e| e.name == name)
    }

    /// The VGA text screen, if the board has one.
    pub fn screen(&self) -> Option<Screen> {
        self.entries.iter().find_map(|e| match &e.handle {
            DeviceHandle::VgaText(screen) => Some(screen.clone()),
            _ => None,
        })
    }

    /// The debug consoles.
    pub fn consoles(&self) -> impl Iterator<Item = &Arc<Mutex<DebugConsole<ConsoleOutput>>>> {
        self.entries.iter().filter_map(|e| match &e.handle {
            DeviceHandle::Debugcon(c) => Some(c),
            _ => None,
        })
    }

    /// The serial ports.
    pub fn serials(&self) -> impl Iterator<Item = &Arc<Mutex<Uart16550<ConsoleOutput>>>> {
        self.entries.iter().filter_map(|e| match &e.handle {
            DeviceHandle::Serial(s) => Some(s),
            _ => None,
        })
    }

    /// The serial port whose first port is `port`, if the board has one there.
    pub fn serial_at(&self, port: u16) -> Option<&Arc<Mutex<Uart16550<ConsoleOutput>>>> {
        self.entries
            .iter()
            .find_map(|e| match (&e.handle, e.ranges.first()) {
                (DeviceHandle::Serial(s), Some(DeviceRange::Port { base, .. }))
                    if *base == port =>
                {
                    Some(s)
                }
                _ => None,
            })
    }

    /// The keyboard controller, if the board has one.
    pub fn keyboard(&self) -> Option<&Arc<Mutex<I8042>>> {
        self.entries.iter().find_map(|e| match &e.handle {
            DeviceHandle::I8042(k) => Some(k),
            _ => None,
        })
    }

    /// The first device whose state cannot be saved (a plugin without picovmm.state/1).
    pub fn unsaveable(&self) -> Option<String> {
        self.entries.iter().find_map(|e| match &e.handle {
            DeviceHandle::Plugin { device, .. } => {
                let d = crate::sync::lock(device);
                (!d.can_save_state()).then(|| format!("plugin device {}", e.name))
            }
            _ => None,
        })
    }

    /// The state of device `name`, as JSON.
    pub fn save_state(&self, name: &str) -> Result<serde_json::Value, RegistryError> {
        let entry = self
            .find(name)
            .ok_or_else(|| RegistryError::NoDevice(name.to_owned()))?;
        let unsupported = |what: &str| RegistryError::State {
            device: name.to_owned(),
            source: StateError::Unsupported(what.to_owned()),
        };
        let json = |v: Result<serde_json::Value, serde_json::Error>| {
            v.map_err(|e| RegistryError::Format {
                device: name.to_owned(),
                message: e.to_string(),
            })
        };
        match &entry.handle {
            DeviceHandle::VgaText(Screen::Trapped(vga)) => json(save(vga)),
            DeviceHandle::VgaText(Screen::Mapped(memory)) => {
                let mut bytes = vec![0u8; memory.len() as usize];
                memory.read(0, &mut bytes);
                json(serde_json::to_value(VgaTextState { memory: bytes }))
            }
            DeviceHandle::Debugcon(c) => json(save(c)),
            DeviceHandle::DebugExit => Ok(serde_json::Value::Null),
            DeviceHandle::Serial(s) => json(save(s)),
            DeviceHandle::Pic(p) => json(save(p)),
            DeviceHandle::Pit(p) => json(save(p)),
            DeviceHandle::Rtc(r) => json(save(r)),
            DeviceHandle::I8042(k) => json(save(k)),
            DeviceHandle::Bios { vga, .. } => {
                let vga = crate::sync::lock(vga);
                Ok(serde_json::json!({ "vga": vga.to_bytes() }))
            }
            DeviceHandle::Plugin { device, .. } => {
                let device = crate::sync::lock(device);
                let bytes = device.save_state().map_err(|e| unsupported(&e))?;
                Ok(serde_json::json!({ "plugin": device.name(), "state": bytes }))
            }
        }
    }

    /// Puts `state` (from [`DeviceRegistry::save_state`]) back into device `name`.
    pub fn restore_state(&self, name: &str, state: serde_json::Value) -> Result<(), RegistryError> {
        let entry = self
            .find(name)
            .ok_or_else(|| RegistryError::NoDevice(name.to_owned()))?;
        let result = match &entry.handle {
            DeviceHandle::VgaText(Screen::Trapped(vga)) => restore(vga, state),
            DeviceHandle::VgaText(Screen::Mapped(memory)) => {
                serde_json::from_value::<VgaTextState>(state)
                    .map_err(|e| Refusal::Undecodable(e.to_string()))
                    .and_then(|s| {
                        if memory.write(0, &s.memory) && s.memory.len() as u64 == memory.len() {
                            Ok(())
                        } else {
                            Err(Refusal::Refused(StateError::Invalid(
                                "the VGA text window is not 32 KiB",
                            )))
                        }
                    })
            }
            DeviceHandle::Debugcon(c) => restore(c, state),
            DeviceHandle::DebugExit => Ok(()),
            DeviceHandle::Serial(s) => restore(s, state),
            DeviceHandle::Pic(p) => restore(p, state),
            DeviceHandle::Pit(p) => restore(p, state),
            DeviceHandle::Rtc(r) => restore(r, state),
            DeviceHandle::I8042(k) => restore(k, state),
            DeviceHandle::Bios { vga, .. } => {
                let regs = state
                    .get("vga")
                    .cloned()
                    .map(serde_json::from_value::<Vec<u8>>);
                match regs {
                    Some(Ok(bytes)) => match VgaRegisters::from_bytes(&bytes) {
                        Some(r) => {
                            *crate::sync::lock(vga) = r;
                            Ok(())
                        }
                        None => Err(Refusal::Undecodable(
                            "the VGA registers are not 868 bytes".to_owned(),
                        )),
                    },
                    Some(Err(e)) => Err(Refusal::Undecodable(e.to_string())),
                    None => Err(Refusal::Undecodable("no VGA registers".to_owned())),
                }
            }
            DeviceHandle::Plugin { device, .. } => {
                let bytes: Result<Vec<u8>, _> = state
                    .get("state")
                    .cloned()
                    .map(serde_json::from_value)
                    .unwrap_or_else(|| Ok(Vec::new()));
                match bytes {
                    Ok(bytes) => crate::sync::lock(device)
                        .load_state(&bytes)
                        .map_err(|e| Refusal::Refused(StateError::Unsupported(e))),
                    Err(e) => Err(Refusal::Undecodable(e.to_string())),
                }
            }
        };
        result.map_err(|e| match e {
            Refusal::Refused(source) => RegistryError::State {
                device: name.to_owned(),
                source,
            },
            Refusal::Undecodable(message) => RegistryError::Format {
                device: name.to_owned(),
                message,
            },
        })
    }
}

fn save<T: Stateful>(device: &Mutex<T>) -> Result<serde_json::Value, serde_json::Error>
where
    T::State: Serialize,
{
    let state = device
        .lock()
        .map_err(|_| serde::ser::Error::custom("the device's lock is poisoned"))?
        .save();
    serde_json::to_value(state)
}

/// Why a saved state did not go back into a device.
enum Refusal {
    /// The device refused the state.
    Refused(StateError),
    /// The state does not decode as the device's.
    Undecodable(String),
}

fn restore<T: Stateful>(device: &Mutex<T>, state: serde_json::Value) -> Result<(), Refusal>
where
    T::State: DeserializeOwned,
{
    let state: T::State =
        serde_json::from_value(state).map_err(|e| Refusal::Undecodable(e.to_string()))?;
    crate::sync::lock(device)
        .restore(state)
        .map_err(Refusal::Refused)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry_with_serial() -> DeviceRegistry {
        let mut registry = DeviceRegistry::default();
        let uart: Arc<Mutex<Uart16550<ConsoleOutput>>> =
            Arc::new(Mutex::new(Uart16550::new(Box::new(std::io::sink()))));
        let range = DeviceRange::Port {
            base: 0x3F8,
            len: 8,
        };
        registry.add(
            "serial",
            DeviceType::Serial,
            vec![range],
            DeviceHandle::Serial(uart),
        );
        registry
    }

    #[test]
    fn test_devices_are_named_by_type_and_number() {
        let mut registry = registry_with_serial();
        registry.add(
            "serial",
            DeviceType::Serial,
            vec![],
            DeviceHandle::DebugExit,
        );
        let names: Vec<&str> = registry.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["serial0", "serial1"]);
    }

    #[test]
    fn test_serial_state_round_trips_through_the_registry() {
        let registry = registry_with_serial();
        if let Some(uart) = registry.serials().next() {
            if let Ok(mut u) = uart.lock() {
                u.write(7, 0x42);
                u.enqueue(b"xy");
            }
        }
        let saved = registry.save_state("serial0").expect("save");
        let fresh = registry_with_serial();
        fresh
            .restore_state("serial0", saved.clone())
            .expect("restore");
        assert_eq!(fresh.save_state("serial0").expect("save"), saved);
    }

    #[test]
    fn test_restore_of_a_foreign_state_is_a_format_error() {
        let registry = registry_with_serial();
        let err = registry
            .restore_state("serial0", serde_json::json!({"last": 10}))
            .err()
            .map(|e| e.to_string());
        assert!(
            err.is_some_and(|e| e.starts_with("device serial0: the saved state does not fit it"))
        );
    }

    #[test]
    fn test_unknown_device_is_named_in_the_error() {
        let err = DeviceRegistry::default().save_state("vga9").err();
        assert_eq!(
            err.map(|e| e.to_string()),
            Some("no device named vga9".to_owned())
        );
    }
}
