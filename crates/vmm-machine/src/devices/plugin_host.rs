//! What a plugin can do to a running machine: picovmm's side of the plugin host table. Each
//! plugin device has its own host, which knows the device's place in the board's registry, so
//! a failure is reported as "this device failed", with the device's own message.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use vm_memory::{Bytes, GuestAddress, GuestMemory, GuestMemoryMmap, Permissions};
use vmm_core::{StopReason, VcpuControl};
use vmm_devices::irq::IrqLine;
use vmm_devices::plugin::{ConfigValue, EventCallback, LogLevel, PluginHost};

use super::plugin_events::PluginEvents;
use crate::plugin_config::PluginSurroundings;

/// Set to `debug` to see plugins' debug-level messages.
pub const LOG_ENV_VAR: &str = "PICOVMM_PLUGIN_LOG";

/// The host of one plugin device.
pub struct BoardPluginHost {
    /// The device's index in the board's registry.
    index: u32,
    /// Whether debug-level plugin messages are shown (`PICOVMM_PLUGIN_LOG=debug`).
    debug: bool,
    memory: GuestMemoryMmap,
    control: VcpuControl,
    failure: Mutex<Option<String>>,
    /// Its interrupt lines, in the order the machine file lists them.
    lines: Vec<Arc<dyn IrqLine>>,
    events: Arc<PluginEvents>,
    /// Watches and timers this device registered, cancelled when it goes.
    registered: Mutex<Vec<u64>>,
    surroundings: PluginSurroundings,
}

/// What a plugin device is given beyond memory and the vCPU.
pub struct PluginWiring {
    /// Its interrupt lines.
    pub lines: Vec<Arc<dyn IrqLine>>,
    /// The board's event loop.
    pub events: Arc<PluginEvents>,
    /// Its name, folder and configuration.
    pub surroundings: PluginSurroundings,
}

impl BoardPluginHost {
    /// A host over the machine's RAM and vCPU for the device at `index`.
    pub fn new(
        index: u32,
        memory: GuestMemoryMmap,
        control: VcpuControl,
        wiring: PluginWiring,
    ) -> Self {
        let debug = std::env::var(LOG_ENV_VAR).is_ok_and(|v| v == "debug");
        BoardPluginHost {
            index,
            debug,
            memory,
            control,
            failure: Mutex::new(None),
            lines: wiring.lines,
            events: wiring.events,
            registered: Mutex::new(Vec::new()),
            surroundings: wiring.surroundings,
        }
    }

    fn remember(&self, id: Option<u64>) -> Option<u64> {
        if let (Some(id), Ok(mut ids)) = (id, self.registered.lock()) {
            ids.push(id);
        }
        id
    }

    /// The first failure the device reported, if any.
    pub fn failure(&self) -> Option<String> {
        self.failure.lock().ok().and_then(|f| f.clone())
    }

    fn in_ram(&self, addr: u64, len: usize) -> bool {
        len == 0
            || self
                .memory
                .check_range(GuestAddress(addr), len, Permissions::ReadWrite)
    }
}

impl PluginHost for BoardPluginHost {
    fn log(&self, plugin: &str, level: LogLevel, message: &str) {
        if level != LogLevel::Debug || self.debug {
            log::warn!("plugin {plugin}: {}: {message}", level.name());
        }
    }

    fn read_guest(&self, addr: u64, buf: &mut [u8]) -> bool {
        self.in_ram(addr, buf.len()) && self.memory.read_slice(buf, GuestAddress(addr)).is_ok()
    }

    fn write_guest(&self, addr: u64, buf: &[u8]) -> bool {
        self.in_ram(addr, buf.len()) && self.memory.write_slice(buf, GuestAddress(addr)).is_ok()
    }

    fn request_stop(&self, value: u32) {
        self.control.stop(StopReason::GuestExit(value));
    }

    fn device_failed(&self, message: String) {
        if let Ok(mut slot) = self.failure.lock() {
            slot.get_or_insert(message);
        }
        self.control.stop(StopReason::DeviceFailed(self.index));
    }

    fn device_halted(&self, message: String) {
        if let Ok(mut slot) = self.failure.lock() {
            slot.get_or_insert(message);
        }
        self.control.stop(StopReason::DeviceHalted(self.index));
    }

    fn irq_lines(&self) -> u32 {
        self.lines.len() as u32
    }

    fn set_irq(&self, line: u32, high: bool) -> bool {
        self.lines
            .get(line as usize)
            .map(|l| l.set_level(high))
            .is_some()
    }

    fn pulse_irq(&self, line: u32) -> bool {
        self.lines.get(line as usize).map(|l| l.pulse()).is_some()
    }

    fn watch_fd(&self, fd: i32, callback: EventCallback) -> Option<u64> {
        self.remember(self.events.watch_fd(fd, callback))
    }

    fn add_timer(
        &self,
        delay: Duration,
        period: Option<Duration>,
        callback: EventCallback,
    ) -> Option<u64> {
        self.remember(self.events.add_timer(delay, period, callback))
    }

    fn cancel_event(&self, id: u64) -> bool {
        let mine = self
            .registered
            .lock()
            .map(|mut ids| {
                let before = ids.len();
                ids.retain(|&i| i != id);
                ids.len() != before
            })
            .unwrap_or(false);
        mine && self.events.cancel(id)
    }

    fn instance_name(&self) -> &str {
        &self.surroundings.name
    }

    fn machine_dir(&self) -> &str {
        &self.surroundings.dir
    }

    fn config_value(&self, key: &str) -> Option<ConfigValue<'_>> {
        self.surroundings.value(key)
    }
}

impl Drop for BoardPluginHost {
    fn drop(&mut self) {
        if let Ok(ids) = self.registered.lock() {
            for &id in ids.iter() {
                self.events.cancel(id);
            }
        }
    }
}
