//! What plugins can do to a running machine: picovmm's side of the plugin host table.

use std::sync::{Arc, Mutex};

use vm_memory::{Bytes, GuestAddress, GuestMemory, GuestMemoryMmap, Permissions};
use vmm_core::{StopHandle, StopReason};
use vmm_devices::plugin::{LogLevel, PluginHost};

/// Set to `debug` to see plugins' debug-level messages.
pub const LOG_ENV_VAR: &str = "PICOVMM_PLUGIN_LOG";

/// The host for every plugin of one machine.
pub struct MachineHost {
    /// Whether debug-level plugin messages are shown (`PICOVMM_PLUGIN_LOG=debug`).
    debug: bool,
    memory: GuestMemoryMmap,
    stop: StopHandle,
    failure: Arc<Mutex<Option<String>>>,
}

impl MachineHost {
    /// A host over the machine's RAM and stop handle; the first device failure is kept in
    /// `failure` for the run's report.
    pub fn new(
        memory: GuestMemoryMmap,
        stop: StopHandle,
        failure: Arc<Mutex<Option<String>>>,
    ) -> Self {
        let debug = std::env::var(LOG_ENV_VAR).is_ok_and(|v| v == "debug");
        MachineHost {
            debug,
            memory,
            stop,
            failure,
        }
    }

    fn in_ram(&self, addr: u64, len: usize) -> bool {
        len == 0
            || self
                .memory
                .check_range(GuestAddress(addr), len, Permissions::ReadWrite)
    }
}

impl PluginHost for MachineHost {
    fn log(&self, plugin: &str, level: LogLevel, message: &str) {
        if level != LogLevel::Debug || self.debug {
            eprintln!("picovmm: plugin {plugin}: {}: {message}", level.name());
        }
    }

    fn read_guest(&self, addr: u64, buf: &mut [u8]) -> bool {
        self.in_ram(addr, buf.len()) && self.memory.read_slice(buf, GuestAddress(addr)).is_ok()
    }

    fn write_guest(&self, addr: u64, buf: &[u8]) -> bool {
        self.in_ram(addr, buf.len()) && self.memory.write_slice(buf, GuestAddress(addr)).is_ok()
    }

    fn request_stop(&self, value: u32) {
        self.stop.stop(StopReason::GuestExit(value));
    }

    fn device_failed(&self, message: String) {
        if let Ok(mut slot) = self.failure.lock() {
            slot.get_or_insert(message);
        }
        self.stop.stop(StopReason::DeviceFailed);
    }
}
