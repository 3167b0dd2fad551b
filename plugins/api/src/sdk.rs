//! The safe side: implement [`Plugin`] for a type and export it with [`export_plugin!`].
//!
//! Every function the macro exports runs the plugin's code inside `catch_unwind`: a panic
//! becomes an error status (and a log line), never an unwind across the C boundary, which
//! would abort picovmm.

use std::ffi::{c_char, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::abi;

/// Log levels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// Something failed.
    Error,
    /// Something looks wrong.
    Warn,
    /// Worth knowing.
    Info,
    /// Detail for debugging.
    Debug,
}

impl Level {
    fn raw(self) -> u32 {
        match self {
            Level::Error => abi::LOG_ERROR,
            Level::Warn => abi::LOG_WARN,
            Level::Info => abi::LOG_INFO,
            Level::Debug => abi::LOG_DEBUG,
        }
    }
}

/// An access to guest memory outside RAM.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutsideRam {
    /// The first address asked for.
    pub addr: u64,
    /// How many bytes.
    pub len: u64,
}

impl std::fmt::Display for OutsideRam {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "guest memory [{:#x}, +{:#x}) is not all RAM",
            self.addr, self.len
        )
    }
}

/// picovmm's callbacks for one plugin instance. Valid from `create` until the instance is
/// destroyed; call it only from inside a call picovmm made into the plugin.
#[derive(Clone, Copy)]
pub struct Host {
    raw: *const abi::Host,
}

// SAFETY: the host table is immutable and outlives the instance; the ABI allows calling it
// from the thread picovmm calls the plugin on, which is where instances live.
unsafe impl Send for Host {}

impl Host {
    fn table(&self) -> &abi::Host {
        // SAFETY: picovmm passes a valid table to `create` and keeps it alive until destroy.
        unsafe { &*self.raw }
    }

    /// Writes `message` to picovmm's log at `level`.
    pub fn log(&self, level: Level, message: &str) {
        let t = self.table();
        // SAFETY: a function of the host table, called with its own context and a string
        // that lives for the duration of the call.
        unsafe {
            (t.log)(
                t.ctx,
                level.raw(),
                abi::Str {
                    ptr: message.as_ptr() as *const c_char,
                    len: message.len() as u64,
                },
            )
        }
    }

    /// Copies guest RAM at `addr` into `buf`.
    pub fn read_guest(&self, addr: u64, buf: &mut [u8]) -> Result<(), OutsideRam> {
        let t = self.table();
        // SAFETY: `buf` is writable for its length during the call.
        let status = unsafe { (t.read_guest)(t.ctx, addr, buf.as_mut_ptr(), buf.len() as u64) };
        (status == abi::OK).then_some(()).ok_or(OutsideRam {
            addr,
            len: buf.len() as u64,
        })
    }

    /// Copies `buf` into guest RAM at `addr`.
    pub fn write_guest(&self, addr: u64, buf: &[u8]) -> Result<(), OutsideRam> {
        let t = self.table();
        // SAFETY: `buf` is readable for its length during the call.
        let status = unsafe { (t.write_guest)(t.ctx, addr, buf.as_ptr(), buf.len() as u64) };
        (status == abi::OK).then_some(()).ok_or(OutsideRam {
            addr,
            len: buf.len() as u64,
        })
    }

    /// Ends the run with exit status `(value << 1) | 1`, after the current access.
    pub fn request_stop(&self, value: u32) {
        let t = self.table();
        // SAFETY: a function of the host table, called with its own context.
        unsafe { (t.request_stop)(t.ctx, value) }
    }
}

/// A device model in a plugin. Accesses the plugin does not serve return an error, which
/// stops the machine; declare the ones it serves in [`Plugin::ACCESSES`].
pub trait Plugin: Sized + Send + 'static {
    /// Short name, as machine files may name the library.
    const NAME: &'static str;
    /// The plugin's own version.
    const VERSION: &'static str;
    /// One line saying what it is.
    const DESCRIPTION: &'static str;
    /// `abi::ACCESS_PORT` and/or `abi::ACCESS_MMIO`.
    const ACCESSES: u32;

    /// Creates an instance from the device's `config` table as TOML text.
    fn create(host: Host, config_toml: &str) -> Result<Self, String>;

    /// Back to the power-on state.
    fn reset(&mut self) {}

    /// A port read of `data.len()` bytes at `offset` from the first port; `data` is zeroed.
    fn port_read(&mut self, offset: u16, data: &mut [u8]) -> Result<(), String> {
        let _ = data;
        Err(format!(
            "{} does not serve port reads (offset {offset:#x})",
            Self::NAME
        ))
    }

    /// A port write.
    fn port_write(&mut self, offset: u16, data: &[u8]) -> Result<(), String> {
        let _ = data;
        Err(format!(
            "{} does not serve port writes (offset {offset:#x})",
            Self::NAME
        ))
    }

    /// An MMIO read at `offset` from the base.
    fn mmio_read(&mut self, offset: u64, data: &mut [u8]) -> Result<(), String> {
        let _ = data;
        Err(format!(
            "{} does not serve MMIO reads (offset {offset:#x})",
            Self::NAME
        ))
    }

    /// An MMIO write.
    fn mmio_write(&mut self, offset: u64, data: &[u8]) -> Result<(), String> {
        let _ = data;
        Err(format!(
            "{} does not serve MMIO writes (offset {offset:#x})",
            Self::NAME
        ))
    }
}

struct Instance<P> {
    plugin: P,
    host: Host,
}

thread_local! {
    /// Where the last panic on this thread happened, recorded by the quiet hook.
    static PANIC_AT: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

/// Replaces the default panic output of this library's own std (a cdylib has its own copy, so
/// no one else's hook changes): the SDK logs each panic through the host instead, with the
/// place recorded here.
fn quiet_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            let at = info
                .location()
                .map(|l| format!(" at {}:{}", l.file(), l.line()))
                .unwrap_or_default();
            let _ = PANIC_AT.try_with(|p| *p.borrow_mut() = at);
        }));
    });
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".to_owned());
    let at = PANIC_AT
        .try_with(|p| std::mem::take(&mut *p.borrow_mut()))
        .unwrap_or_default();
    format!("{message}{at}")
}

/// Runs one access of instance `raw`, turning errors and panics into a log line and `ERROR`.
fn access<P: Plugin>(
    raw: *mut c_void,
    what: &str,
    f: impl FnOnce(&mut P) -> Result<(), String>,
) -> u32 {
    if raw.is_null() {
        return abi::ERROR;
    }
    // SAFETY: `raw` is what `create` returned (a boxed Instance<P>) and picovmm calls one
    // function at a time per instance, so this is the only reference.
    let instance = unsafe { &mut *(raw as *mut Instance<P>) };
    let host = instance.host;
    match catch_unwind(AssertUnwindSafe(|| f(&mut instance.plugin))) {
        Ok(Ok(())) => abi::OK,
        Ok(Err(message)) => {
            host.log(Level::Error, &format!("{what}: {message}"));
            abi::ERROR
        }
        Err(payload) => {
            host.log(
                Level::Error,
                &format!("{what}: panicked: {}", panic_message(payload.as_ref())),
            );
            abi::ERROR
        }
    }
}

/// Builds a mutable slice from an ABI pointer, or `None` for a bad one.
///
/// # Safety
/// `data` must be valid for `len` bytes for the duration of the call.
unsafe fn slice_mut<'a>(data: *mut u8, len: u32) -> Option<&'a mut [u8]> {
    // SAFETY: per the caller.
    (!data.is_null()).then(|| unsafe { std::slice::from_raw_parts_mut(data, len as usize) })
}

/// # Safety
/// As [`slice_mut`], read-only.
unsafe fn slice<'a>(data: *const u8, len: u32) -> Option<&'a [u8]> {
    // SAFETY: per the caller.
    (!data.is_null()).then(|| unsafe { std::slice::from_raw_parts(data, len as usize) })
}

unsafe extern "C" fn create<P: Plugin>(
    host: *const abi::Host,
    config_toml: abi::Str,
    error: *mut c_char,
    error_cap: u64,
    error_len: *mut u64,
) -> *mut c_void {
    quiet_panics();
    let result = catch_unwind(AssertUnwindSafe(|| {
        if host.is_null() {
            return Err("picovmm passed no host table".to_owned());
        }
        let handle = Host { raw: host };
        // SAFETY: picovmm passes a string valid for the call.
        let config = unsafe { config_toml.as_bytes() }
            .and_then(|b| std::str::from_utf8(b).ok())
            .ok_or_else(|| "the config is not UTF-8".to_owned())?;
        let plugin = P::create(handle, config)?;
        Ok(Box::into_raw(Box::new(Instance {
            plugin,
            host: handle,
        })) as *mut c_void)
    }));
    let message = match result {
        Ok(Ok(instance)) => return instance,
        Ok(Err(message)) => message,
        Err(payload) => format!("create panicked: {}", panic_message(payload.as_ref())),
    };
    if !error.is_null() && !error_len.is_null() {
        let n = message
            .len()
            .min(usize::try_from(error_cap).unwrap_or(usize::MAX));
        // SAFETY: picovmm owns `error_cap` writable bytes at `error` and a u64 at `error_len`.
        unsafe {
            std::ptr::copy_nonoverlapping(message.as_ptr(), error as *mut u8, n);
            *error_len = n as u64;
        }
    }
    std::ptr::null_mut()
}

unsafe extern "C" fn destroy<P: Plugin>(raw: *mut c_void) {
    if raw.is_null() {
        return;
    }
    // SAFETY: `raw` came from `create` and picovmm destroys an instance once.
    let instance = unsafe { Box::from_raw(raw as *mut Instance<P>) };
    let _ = catch_unwind(AssertUnwindSafe(move || drop(instance)));
}

unsafe extern "C" fn reset<P: Plugin>(raw: *mut c_void) -> u32 {
    access::<P>(raw, "reset", |p| {
        p.reset();
        Ok(())
    })
}

unsafe extern "C" fn port_read<P: Plugin>(
    raw: *mut c_void,
    offset: u16,
    data: *mut u8,
    len: u32,
) -> u32 {
    // SAFETY: picovmm passes `len` writable bytes.
    let Some(data) = (unsafe { slice_mut(data, len) }) else {
        return abi::ERROR;
    };
    access::<P>(raw, "port read", |p| p.port_read(offset, data))
}

unsafe extern "C" fn port_write<P: Plugin>(
    raw: *mut c_void,
    offset: u16,
    data: *const u8,
    len: u32,
) -> u32 {
    // SAFETY: picovmm passes `len` readable bytes.
    let Some(data) = (unsafe { slice(data, len) }) else {
        return abi::ERROR;
    };
    access::<P>(raw, "port write", |p| p.port_write(offset, data))
}

unsafe extern "C" fn mmio_read<P: Plugin>(
    raw: *mut c_void,
    offset: u64,
    data: *mut u8,
    len: u32,
) -> u32 {
    // SAFETY: picovmm passes `len` writable bytes.
    let Some(data) = (unsafe { slice_mut(data, len) }) else {
        return abi::ERROR;
    };
    access::<P>(raw, "MMIO read", |p| p.mmio_read(offset, data))
}

unsafe extern "C" fn mmio_write<P: Plugin>(
    raw: *mut c_void,
    offset: u64,
    data: *const u8,
    len: u32,
) -> u32 {
    // SAFETY: picovmm passes `len` readable bytes.
    let Some(data) = (unsafe { slice(data, len) }) else {
        return abi::ERROR;
    };
    access::<P>(raw, "MMIO write", |p| p.mmio_write(offset, data))
}

/// The descriptor for plugin type `P`; [`export_plugin!`] puts it in the exported symbol.
pub const fn descriptor<P: Plugin>() -> abi::Descriptor {
    abi::Descriptor {
        magic: abi::MAGIC,
        struct_size: abi::DESCRIPTOR_SIZE_1_0,
        abi_major: abi::ABI_MAJOR,
        abi_minor: abi::ABI_MINOR,
        accesses: P::ACCESSES,
        name: abi::Str::from_static(P::NAME),
        version: abi::Str::from_static(P::VERSION),
        description: abi::Str::from_static(P::DESCRIPTION),
        create: Some(create::<P>),
        destroy: Some(destroy::<P>),
        reset: Some(reset::<P>),
        port_read: Some(port_read::<P>),
        port_write: Some(port_write::<P>),
        mmio_read: Some(mmio_read::<P>),
        mmio_write: Some(mmio_write::<P>),
        get_extension: None,
    }
}

/// Exports `$plugin` (a type implementing [`Plugin`]) as this library's picovmm plugin: use it
/// once, at the crate's top level, as `picovmm_plugin::export_plugin!(MyDevice);` (the crate
/// documentation has a complete example).
#[macro_export]
macro_rules! export_plugin {
    ($plugin:ty) => {
        /// The picovmm plugin entry: the one symbol picovmm looks up.
        #[no_mangle]
        #[used]
        pub static picovmm_plugin_entry: $crate::abi::Descriptor =
            $crate::sdk::descriptor::<$plugin>();
    };
}
