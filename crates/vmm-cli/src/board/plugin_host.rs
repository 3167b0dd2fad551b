//! What a plugin can do to a running machine: picovmm's side of the plugin host table. Each
//! plugin device has its own host, which knows the device's place in the board's registry, so
//! a failure is reported as "this device failed", with the device's own message.

use std::sync::Mutex;

use vm_memory::{Bytes, GuestAddress, GuestMemory, GuestMemoryMmap, Permissions};
use vmm_core::{StopReason, VcpuControl};
use vmm_devices::plugin::{LogLevel, PluginHost};

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
}

impl BoardPluginHost {
    /// A host over the machine's RAM and vCPU for the device at `index`.
    pub fn new(index: u32, memory: GuestMemoryMmap, control: VcpuControl) -> Self {
        let debug = std::env::var(LOG_ENV_VAR).is_ok_and(|v| v == "debug");
        BoardPluginHost {
            index,
            debug,
            memory,
            control,
            failure: Mutex::new(None),
        }
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
            crate::errln!("picovmm: plugin {plugin}: {}: {message}", level.name());
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
}
