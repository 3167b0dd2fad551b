//! Device plugins: shared libraries built against `plugins/api` (the C header or the Rust
//! SDK), loaded with libloading and put on the bus like a built-in device.
//!
//! [`library`] loads and validates a library without calling into it; [`device`] creates an
//! instance and adapts its accesses to vm-device's traits. What an instance may do to the
//! machine goes through a [`PluginHost`], which the VMM implements: this crate knows no KVM.

pub mod device;
pub mod library;

pub use device::{CreateError, PluginDevice};
pub use library::{LoadError, PluginInfo, PluginLibrary};

/// Log levels a plugin writes at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogLevel {
    /// Something failed.
    Error,
    /// Something looks wrong.
    Warn,
    /// Worth knowing.
    Info,
    /// Detail.
    Debug,
}

impl LogLevel {
    /// From the ABI's number; unknown levels count as `Info`.
    pub fn from_raw(raw: u32) -> Self {
        match raw {
            picovmm_plugin::abi::LOG_ERROR => LogLevel::Error,
            picovmm_plugin::abi::LOG_WARN => LogLevel::Warn,
            picovmm_plugin::abi::LOG_DEBUG => LogLevel::Debug,
            _ => LogLevel::Info,
        }
    }

    /// Lower-case name, for log lines.
    pub fn name(self) -> &'static str {
        match self {
            LogLevel::Error => "error",
            LogLevel::Warn => "warning",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
        }
    }
}

/// What a plugin instance can do to the machine, implemented by the VMM.
pub trait PluginHost: Send + Sync {
    /// A log line from plugin `plugin`.
    fn log(&self, plugin: &str, level: LogLevel, message: &str);
    /// Copies guest RAM at `addr` into `buf`; false, with nothing copied, outside RAM.
    fn read_guest(&self, addr: u64, buf: &mut [u8]) -> bool;
    /// Copies `buf` into guest RAM at `addr`; false, with nothing written, outside RAM.
    fn write_guest(&self, addr: u64, buf: &[u8]) -> bool;
    /// Ends the run as isa-debug-exit does, with `value`.
    fn request_stop(&self, value: u32);
    /// A plugin failed an access: end the run as a guest fault, with this message.
    fn device_failed(&self, message: String);

    /// The plugin ends the run as a halt (exit status 0), with this message (ABI 1.1).
    fn device_halted(&self, message: String) {
        let _ = message;
    }

    /// How many interrupt lines the device has (its machine-file `irq` key).
    fn irq_lines(&self) -> u32 {
        0
    }

    /// Drives line `line` high or low; false when the device has no such line.
    fn set_irq(&self, line: u32, high: bool) -> bool {
        let _ = (line, high);
        false
    }

    /// One edge on line `line`; false when the device has no such line.
    fn pulse_irq(&self, line: u32) -> bool {
        let _ = line;
        false
    }

    /// Calls `callback` on the vCPU thread whenever `fd` is readable; its id, or `None` when
    /// the host cannot watch it.
    fn watch_fd(&self, fd: i32, callback: EventCallback) -> Option<u64> {
        let _ = (fd, callback);
        None
    }

    /// Calls `callback` on the vCPU thread after `delay`, then every `period` if given.
    fn add_timer(
        &self,
        delay: std::time::Duration,
        period: Option<std::time::Duration>,
        callback: EventCallback,
    ) -> Option<u64> {
        let _ = (delay, period, callback);
        None
    }

    /// Cancels a watch or timer; false for an unknown id.
    fn cancel_event(&self, id: u64) -> bool {
        let _ = id;
        false
    }

    /// The device's name on the board.
    fn instance_name(&self) -> &str {
        ""
    }

    /// The machine file's folder.
    fn machine_dir(&self) -> &str {
        ""
    }

    /// The value at dotted `key` in the device's `config` table.
    fn config_value(&self, key: &str) -> Option<ConfigValue<'_>> {
        let _ = key;
        None
    }
}

/// A plugin's event callback, ready to run: the plugin's function with its instance and
/// token. Run on the vCPU thread only.
pub type EventCallback = Box<dyn FnMut() + Send>;

/// A value of a plugin's `config` table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigValue<'a> {
    /// An integer.
    Int(i64),
    /// A string.
    Str(&'a str),
    /// A boolean.
    Bool(bool),
    /// A table.
    Table,
    /// Anything else (a float, an array, a date).
    Other,
}
