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
}
