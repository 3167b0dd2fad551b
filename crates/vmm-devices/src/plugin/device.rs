//! A plugin instance on the bus: creates it with a host table, adapts vm-device's accesses to
//! the ABI's, and turns a failed access into a stop request naming the plugin and the access.

use std::ffi::{c_char, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use picovmm_plugin::abi::{self, Descriptor};
use vm_device::bus::{MmioAddress, MmioAddressOffset, PioAddress, PioAddressOffset};
use vm_device::{MutDeviceMmio, MutDevicePio};

use std::sync::atomic::{AtomicPtr, Ordering};
use std::time::Duration;

use super::{ConfigValue, EventCallback, LogLevel, PluginHost, PluginLibrary};

/// Room for a `create` error message.
const CREATE_ERROR_CAP: usize = 1024;
/// The largest state a plugin may save (64 MiB).
const MAX_STATE: usize = 64 << 20;

/// `create` refused or failed.
#[derive(Debug, thiserror::Error)]
#[error("plugin {plugin} refused its configuration: {message}")]
pub struct CreateError {
    /// The plugin's name.
    pub plugin: String,
    /// Its message.
    pub message: String,
}

/// What the host callbacks need, behind the table's opaque `ctx`.
struct HostContext {
    name: String,
    host: Arc<dyn PluginHost>,
    /// The instance `create` returned (null before it returns and after destroy): what event
    /// callbacks pass to the plugin.
    instance: Arc<AtomicPtr<c_void>>,
    /// The plugin logged something: a failure message can point at it.
    logged: std::sync::atomic::AtomicBool,
}

/// # Safety
/// `ctx` must be the `HostContext` picovmm put in the table.
unsafe fn context<'a>(ctx: *mut c_void) -> &'a HostContext {
    // SAFETY: per the caller; the context lives as long as the instance.
    unsafe { &*(ctx as *const HostContext) }
}

unsafe extern "C" fn host_log(ctx: *mut c_void, level: u32, message: abi::Str) {
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: the table's ctx; the message is valid for the call.
        let (ctx, bytes) = unsafe { (context(ctx), message.as_bytes()) };
        let text = bytes.map(String::from_utf8_lossy).unwrap_or_default();
        ctx.logged.store(true, Ordering::SeqCst);
        ctx.host.log(&ctx.name, LogLevel::from_raw(level), &text);
    }));
}

unsafe extern "C" fn host_read_guest(ctx: *mut c_void, addr: u64, buf: *mut u8, len: u64) -> u32 {
    let ok = catch_unwind(AssertUnwindSafe(|| {
        let Ok(len) = usize::try_from(len) else {
            return false;
        };
        if buf.is_null() {
            return len == 0;
        }
        // SAFETY: the plugin passes `len` writable bytes at `buf`; the ctx is the table's.
        let (ctx, buf) = unsafe { (context(ctx), std::slice::from_raw_parts_mut(buf, len)) };
        ctx.host.read_guest(addr, buf)
    }));
    if ok.unwrap_or(false) {
        abi::OK
    } else {
        abi::ERROR
    }
}

unsafe extern "C" fn host_write_guest(
    ctx: *mut c_void,
    addr: u64,
    buf: *const u8,
    len: u64,
) -> u32 {
    let ok = catch_unwind(AssertUnwindSafe(|| {
        let Ok(len) = usize::try_from(len) else {
            return false;
        };
        if buf.is_null() {
            return len == 0;
        }
        // SAFETY: the plugin passes `len` readable bytes at `buf`; the ctx is the table's.
        let (ctx, buf) = unsafe { (context(ctx), std::slice::from_raw_parts(buf, len)) };
        ctx.host.write_guest(addr, buf)
    }));
    if ok.unwrap_or(false) {
        abi::OK
    } else {
        abi::ERROR
    }
}

unsafe extern "C" fn host_request_stop(ctx: *mut c_void, value: u32) {
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: the table's ctx.
        unsafe { context(ctx) }.host.request_stop(value);
    }));
}

unsafe extern "C" fn host_get_extension(_ctx: *mut c_void, id: *const c_char) -> *const c_void {
    if id.is_null() {
        return std::ptr::null();
    }
    // SAFETY: the ABI makes `id` a NUL-terminated string, valid for the call.
    let id = unsafe { std::ffi::CStr::from_ptr(id) }.to_bytes();
    match id {
        _ if id == abi::EXT_IRQ => &IRQ_EXT as *const abi::IrqExt as *const c_void,
        _ if id == abi::EXT_EVENTS => &EVENTS_EXT as *const abi::EventsExt as *const c_void,
        _ if id == abi::EXT_MACHINE => &MACHINE_EXT as *const abi::MachineExt as *const c_void,
        _ => std::ptr::null(),
    }
}

/// Runs `f` on the context, turning a panic into `fallback`: nothing unwinds into C.
fn guarded<T>(ctx: *mut c_void, fallback: T, f: impl FnOnce(&HostContext) -> T) -> T {
    // SAFETY: `ctx` is the context picovmm put in the host table, alive until destroy returns.
    catch_unwind(AssertUnwindSafe(|| f(unsafe { context(ctx) }))).unwrap_or(fallback)
}

fn status(ok: bool) -> u32 {
    if ok {
        abi::OK
    } else {
        abi::ERROR
    }
}

/// A string a plugin passed, or `None` when its pointer is bad.
///
/// # Safety
/// `s` must describe `len` readable bytes, as the ABI requires of strings it is given.
unsafe fn plugin_str(s: &abi::Str) -> Option<&str> {
    // SAFETY: as the caller guarantees.
    unsafe { s.as_bytes() }.and_then(|b| std::str::from_utf8(b).ok())
}

fn host_str(s: &str) -> abi::Str {
    abi::Str {
        ptr: s.as_ptr() as *const c_char,
        len: s.len() as u64,
    }
}

static IRQ_EXT: abi::IrqExt = abi::IrqExt {
    struct_size: std::mem::size_of::<abi::IrqExt>() as u32,
    reserved: 0,
    line_count: irq_line_count,
    set_level: irq_set_level,
    pulse: irq_pulse,
};

unsafe extern "C" fn irq_line_count(ctx: *mut c_void) -> u32 {
    guarded(ctx, 0, |c| c.host.irq_lines())
}

unsafe extern "C" fn irq_set_level(ctx: *mut c_void, line: u32, level: u32) -> u32 {
    status(guarded(ctx, false, |c| c.host.set_irq(line, level != 0)))
}

unsafe extern "C" fn irq_pulse(ctx: *mut c_void, line: u32) -> u32 {
    status(guarded(ctx, false, |c| c.host.pulse_irq(line)))
}

static EVENTS_EXT: abi::EventsExt = abi::EventsExt {
    struct_size: std::mem::size_of::<abi::EventsExt>() as u32,
    reserved: 0,
    watch_fd: events_watch_fd,
    add_timer: events_add_timer,
    cancel: events_cancel,
};

/// The callback picovmm runs for an event: the plugin's function on its instance, unless the
/// instance is gone; a panic is contained.
fn event_callback(
    instance: Arc<AtomicPtr<c_void>>,
    callback: abi::EventFn,
    token: u64,
) -> EventCallback {
    Box::new(move || {
        let instance = instance.load(Ordering::SeqCst);
        if instance.is_null() {
            return;
        }
        // SAFETY: the plugin registered `callback` for this instance, which is alive (not
        // null); picovmm calls it on the vCPU thread, one call at a time, as the ABI says.
        let _ = catch_unwind(AssertUnwindSafe(|| unsafe { callback(instance, token) }));
    })
}

unsafe extern "C" fn events_watch_fd(
    ctx: *mut c_void,
    fd: i32,
    callback: abi::EventFn,
    token: u64,
) -> u64 {
    guarded(ctx, 0, |c| {
        let cb = event_callback(c.instance.clone(), callback, token);
        c.host.watch_fd(fd, cb).unwrap_or(0)
    })
}

unsafe extern "C" fn events_add_timer(
    ctx: *mut c_void,
    delay_ns: u64,
    period_ns: u64,
    callback: abi::EventFn,
    token: u64,
) -> u64 {
    guarded(ctx, 0, |c| {
        let cb = event_callback(c.instance.clone(), callback, token);
        let period = (period_ns > 0).then(|| Duration::from_nanos(period_ns));
        c.host
            .add_timer(Duration::from_nanos(delay_ns), period, cb)
            .unwrap_or(0)
    })
}

unsafe extern "C" fn events_cancel(ctx: *mut c_void, id: u64) -> u32 {
    status(guarded(ctx, false, |c| c.host.cancel_event(id)))
}

static MACHINE_EXT: abi::MachineExt = abi::MachineExt {
    struct_size: std::mem::size_of::<abi::MachineExt>() as u32,
    reserved: 0,
    instance_name: machine_instance_name,
    machine_dir,
    config_int: machine_config_int,
    config_string: machine_config_string,
    config_bool: machine_config_bool,
    config_table: machine_config_table,
    end_run: machine_end_run,
};

unsafe extern "C" fn machine_instance_name(ctx: *mut c_void) -> abi::Str {
    guarded(ctx, host_str(""), |c| host_str(c.host.instance_name()))
}

unsafe extern "C" fn machine_dir(ctx: *mut c_void) -> abi::Str {
    guarded(ctx, host_str(""), |c| host_str(c.host.machine_dir()))
}

/// The config value at the plugin's `key`.
fn config_at<T>(
    ctx: *mut c_void,
    key: abi::Str,
    pick: impl FnOnce(ConfigValue<'_>) -> Option<T>,
) -> Option<T> {
    guarded(ctx, None, |c| {
        // SAFETY: `key` is a string the plugin passed for the duration of the call.
        let key = unsafe { plugin_str(&key) }?;
        c.host.config_value(key).and_then(pick)
    })
}

unsafe extern "C" fn machine_config_int(ctx: *mut c_void, key: abi::Str, value: *mut i64) -> u32 {
    match config_at(ctx, key, |v| match v {
        ConfigValue::Int(i) => Some(i),
        _ => None,
    }) {
        Some(i) if !value.is_null() => {
            // SAFETY: the plugin passed a writable i64.
            unsafe { value.write(i) };
            abi::OK
        }
        _ => abi::ERROR,
    }
}

unsafe extern "C" fn machine_config_string(
    ctx: *mut c_void,
    key: abi::Str,
    value: *mut abi::Str,
) -> u32 {
    match config_at(ctx, key, |v| match v {
        ConfigValue::Str(s) => Some(host_str(s)),
        _ => None,
    }) {
        Some(s) if !value.is_null() => {
            // SAFETY: the plugin passed a writable picovmm_str; the string lives in the
            // host's parsed config, alive until destroy.
            unsafe { value.write(s) };
            abi::OK
        }
        _ => abi::ERROR,
    }
}

unsafe extern "C" fn machine_config_bool(ctx: *mut c_void, key: abi::Str, value: *mut u32) -> u32 {
    match config_at(ctx, key, |v| match v {
        ConfigValue::Bool(b) => Some(u32::from(b)),
        _ => None,
    }) {
        Some(b) if !value.is_null() => {
            // SAFETY: the plugin passed a writable uint32_t.
            unsafe { value.write(b) };
            abi::OK
        }
        _ => abi::ERROR,
    }
}

unsafe extern "C" fn machine_config_table(ctx: *mut c_void, key: abi::Str) -> u32 {
    status(config_at(ctx, key, |v| (v == ConfigValue::Table).then_some(())).is_some())
}

unsafe extern "C" fn machine_end_run(ctx: *mut c_void, how: u32, message: abi::Str) {
    guarded(ctx, (), |c| {
        // SAFETY: `message` is a string the plugin passed for the duration of the call.
        let text = unsafe { message.as_bytes() }
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default();
        let text = if text.is_empty() {
            format!("plugin {} ended the run", c.name)
        } else {
            text
        };
        if how == abi::END_HALTED {
            c.host.device_halted(text);
        } else {
            c.host.device_failed(text);
        }
    })
}

/// A plugin instance, ready to be registered on the port or MMIO bus.
pub struct PluginDevice {
    descriptor: &'static Descriptor,
    instance: *mut c_void,
    name: String,
    // The table and the context must stay at fixed addresses while the instance lives: the
    // plugin keeps pointers to both. Dropped after `destroy` (see Drop).
    _table: Box<abi::Host>,
    context: Box<HostContext>,
}

// SAFETY: the instance is only touched through `&mut self` (under the bus's Mutex), one call
// at a time, which is the ABI's threading rule; the descriptor is immutable static data.
unsafe impl Send for PluginDevice {}

impl PluginDevice {
    /// Creates an instance of `library` from `config_toml`, with `host` behind its callbacks.
    pub fn create(
        library: &PluginLibrary,
        host: Arc<dyn PluginHost>,
        config_toml: &str,
    ) -> Result<Self, CreateError> {
        let descriptor = library.descriptor();
        let name = library.info().name.clone();
        let context = Box::new(HostContext {
            name: name.clone(),
            host,
            instance: Arc::new(AtomicPtr::new(std::ptr::null_mut())),
            logged: std::sync::atomic::AtomicBool::new(false),
        });
        let table = Box::new(abi::Host {
            struct_size: abi::HOST_SIZE_1_0,
            abi_major: abi::ABI_MAJOR,
            abi_minor: abi::ABI_MINOR,
            ctx: &*context as *const HostContext as *mut c_void,
            log: host_log,
            read_guest: host_read_guest,
            write_guest: host_write_guest,
            request_stop: host_request_stop,
            get_extension: host_get_extension,
        });
        let fail = |message: String| CreateError {
            plugin: name.clone(),
            message,
        };
        let create = descriptor
            .create
            .ok_or_else(|| fail("it has no create function".into()))?;
        let mut error = vec![0u8; CREATE_ERROR_CAP];
        let mut error_len: u64 = 0;
        let config = abi::Str {
            ptr: config_toml.as_ptr() as *const c_char,
            len: config_toml.len() as u64,
        };
        // SAFETY: the table and context are boxed and outlive the instance; the config and the
        // error buffer are valid for the call, with the buffer's true capacity.
        let instance = unsafe {
            create(
                &*table,
                config,
                error.as_mut_ptr() as *mut c_char,
                error.len() as u64,
                &mut error_len,
            )
        };
        if instance.is_null() {
            let message = error_message(&error, error_len);
            return Err(fail(if message.is_empty() {
                "create failed without a message".into()
            } else {
                message
            }));
        }
        context.instance.store(instance, Ordering::SeqCst);
        Ok(PluginDevice {
            descriptor,
            instance,
            name,
            _table: table,
            context,
        })
    }

    /// The plugin's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The plugin's state extension, if it has one.
    fn state_ext(&self) -> Option<&'static abi::StateExt> {
        let get = self.descriptor.get_extension?;
        let id = c"picovmm.state/1";
        // SAFETY: the descriptor's function, called with its instance and a NUL-terminated id.
        let table = unsafe { get(self.instance, id.as_ptr()) } as *const abi::StateExt;
        if table.is_null() {
            return None;
        }
        // SAFETY: a non-null answer is the plugin's static picovmm_state_ext; its size field
        // comes first, so it is read before the rest.
        let size = unsafe { std::ptr::read_unaligned(std::ptr::addr_of!((*table).struct_size)) };
        if (size as usize) < std::mem::size_of::<abi::StateExt>() {
            return None;
        }
        // SAFETY: as above, and the table is as large as ours.
        Some(unsafe { &*table })
    }

    /// Whether the plugin offers picovmm.state/1.
    pub fn can_save_state(&self) -> bool {
        self.state_ext().is_some()
    }

    /// The device's state, through its picovmm.state/1 extension; an error naming the plugin
    /// when it has none or its save fails.
    pub fn save_state(&self) -> Result<Vec<u8>, String> {
        let ext = self.state_ext().ok_or_else(|| {
            format!(
                "plugin {} cannot save its state (it has no picovmm.state/1)",
                self.name
            )
        })?;
        let mut buf = vec![0u8; 4096];
        for _ in 0..2 {
            let mut len = 0u64;
            let status = catch_unwind(AssertUnwindSafe(|| {
                // SAFETY: the plugin's save, with its instance and a buffer of `buf.len()`.
                unsafe { (ext.save)(self.instance, buf.as_mut_ptr(), buf.len() as u64, &mut len) }
            }))
            .unwrap_or(abi::ERROR);
            let len = usize::try_from(len).unwrap_or(usize::MAX);
            if status == abi::OK && len <= buf.len() {
                buf.truncate(len);
                return Ok(buf);
            }
            if len > buf.len() && len <= MAX_STATE {
                buf = vec![0u8; len];
                continue;
            }
            break;
        }
        Err(format!("plugin {} failed to save its state", self.name))
    }

    /// Puts `state` (from [`PluginDevice::save_state`]) back into the device.
    pub fn load_state(&mut self, state: &[u8]) -> Result<(), String> {
        let ext = self.state_ext().ok_or_else(|| {
            format!(
                "plugin {} cannot load a state (it has no picovmm.state/1)",
                self.name
            )
        })?;
        let status = catch_unwind(AssertUnwindSafe(|| {
            // SAFETY: the plugin's load, with its instance and `state`'s bytes for the call.
            unsafe { (ext.load)(self.instance, state.as_ptr(), state.len() as u64) }
        }))
        .unwrap_or(abi::ERROR);
        if status == abi::OK {
            Ok(())
        } else {
            Err(format!("plugin {} refused the saved state", self.name))
        }
    }

    fn failed(&self, what: &str, addr: u64, len: usize) {
        let unit = if len == 1 { "byte" } else { "bytes" };
        let log = if self.context.logged.load(Ordering::SeqCst) {
            "see its log above"
        } else {
            "it logged no reason"
        };
        self.context.host.device_failed(format!(
            "plugin {} failed a {what} {addr:#x} ({len} {unit}); {log}",
            self.name
        ));
    }

    fn port_read(&mut self, port: u16, offset: u16, data: &mut [u8]) {
        data.fill(0);
        let ok = matches!(data.len(), 1 | 2 | 4)
            && self.descriptor.port_read.is_some_and(|f| {
                // SAFETY: the instance is live; `data` is writable for its length.
                unsafe { f(self.instance, offset, data.as_mut_ptr(), data.len() as u32) == abi::OK }
            });
        if !ok {
            data.fill(0xFF);
            self.failed("port read from", u64::from(port), data.len());
        }
    }

    fn port_write(&mut self, port: u16, offset: u16, data: &[u8]) {
        let ok = matches!(data.len(), 1 | 2 | 4)
            && self.descriptor.port_write.is_some_and(|f| {
                // SAFETY: the instance is live; `data` is readable for its length.
                unsafe { f(self.instance, offset, data.as_ptr(), data.len() as u32) == abi::OK }
            });
        if !ok {
            self.failed("port write to", u64::from(port), data.len());
        }
    }

    fn mmio_read(&mut self, addr: u64, offset: u64, data: &mut [u8]) {
        data.fill(0);
        let ok = matches!(data.len(), 1 | 2 | 4 | 8)
            && self.descriptor.mmio_read.is_some_and(|f| {
                // SAFETY: the instance is live; `data` is writable for its length.
                unsafe { f(self.instance, offset, data.as_mut_ptr(), data.len() as u32) == abi::OK }
            });
        if !ok {
            data.fill(0xFF);
            self.failed("MMIO read from", addr, data.len());
        }
    }

    fn mmio_write(&mut self, addr: u64, offset: u64, data: &[u8]) {
        let ok = matches!(data.len(), 1 | 2 | 4 | 8)
            && self.descriptor.mmio_write.is_some_and(|f| {
                // SAFETY: the instance is live; `data` is readable for its length.
                unsafe { f(self.instance, offset, data.as_ptr(), data.len() as u32) == abi::OK }
            });
        if !ok {
            self.failed("MMIO write to", addr, data.len());
        }
    }
}

impl Drop for PluginDevice {
    fn drop(&mut self) {
        // Event callbacks still queued find no instance from now on.
        self.context
            .instance
            .store(std::ptr::null_mut(), Ordering::SeqCst);
        if let Some(destroy) = self.descriptor.destroy {
            // SAFETY: the instance came from create and is destroyed once, here.
            unsafe { destroy(self.instance) };
        }
    }
}

impl MutDevicePio for PluginDevice {
    fn pio_read(&mut self, base: PioAddress, offset: PioAddressOffset, data: &mut [u8]) {
        self.port_read(base.0.wrapping_add(offset), offset, data);
    }

    fn pio_write(&mut self, base: PioAddress, offset: PioAddressOffset, data: &[u8]) {
        self.port_write(base.0.wrapping_add(offset), offset, data);
    }
}

impl MutDeviceMmio for PluginDevice {
    fn mmio_read(&mut self, base: MmioAddress, offset: MmioAddressOffset, data: &mut [u8]) {
        PluginDevice::mmio_read(self, base.0.wrapping_add(offset), offset, data);
    }

    fn mmio_write(&mut self, base: MmioAddress, offset: MmioAddressOffset, data: &[u8]) {
        PluginDevice::mmio_write(self, base.0.wrapping_add(offset), offset, data);
    }
}

/// The message a plugin left in `buffer`: `len` bytes at most, and only up to a NUL, so a
/// plugin that gives the buffer's capacity as the length prints its message, not the rest.
fn error_message(buffer: &[u8], len: u64) -> String {
    let len = usize::try_from(len).unwrap_or(usize::MAX).min(buffer.len());
    let text = &buffer[..len];
    let text = text.split(|&b| b == 0).next().unwrap_or_default();
    String::from_utf8_lossy(text).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_error_message_stops_at_nul() {
        let mut buffer = vec![0u8; 1024];
        buffer[..6].copy_from_slice(b"no rtc");
        assert_eq!(error_message(&buffer, u64::MAX), "no rtc");
    }

    #[test]
    fn test_error_message_takes_at_most_len_bytes() {
        assert_eq!(error_message(b"abcdef", 3), "abc");
    }
}
