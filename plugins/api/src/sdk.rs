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
    /// The SDK's event trampoline for this instance's plugin type.
    event: Option<abi::EventFn>,
}

/// How a plugin ends the run ([`Host::end_run`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndRun {
    /// As a halt: exit status 0.
    Halted,
    /// As a device failure: exit status 4.
    Failure,
}

/// A line the device does not have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NoSuchLine(pub u32);

impl std::fmt::Display for NoSuchLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the device has no interrupt line {} (see its irq key)",
            self.0
        )
    }
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

    /// The host's extension `id` (NUL-terminated), as a table of type `T`, if it offers it with
    /// at least `T`'s size.
    fn extension<T>(&self, id: &std::ffi::CStr) -> Option<&'static T> {
        let t = self.table();
        // SAFETY: a function of the host table, called with its context and a C string.
        let table = unsafe { (t.get_extension)(t.ctx, id.as_ptr()) } as *const T;
        if table.is_null() {
            return None;
        }
        // SAFETY: every extension table starts with its u32 size; a non-null answer is the
        // host's static table for `id`, alive as long as the host.
        let size = unsafe { std::ptr::read_unaligned(table as *const u32) };
        // SAFETY: the table is at least as large as `T` and static.
        ((size as usize) >= std::mem::size_of::<T>()).then(|| unsafe { &*table })
    }

    fn irq_ext(&self) -> Option<&'static abi::IrqExt> {
        self.extension(c"picovmm.irq/1")
    }

    fn events_ext(&self) -> Option<&'static abi::EventsExt> {
        self.extension(c"picovmm.events/1")
    }

    fn machine_ext(&self) -> Option<&'static abi::MachineExt> {
        self.extension(c"picovmm.machine/1")
    }

    /// How many interrupt lines the device has (its machine-file `irq` key); 0 on a host
    /// without ABI 1.1.
    pub fn irq_lines(&self) -> u32 {
        // SAFETY: the extension's function, with the host's context.
        self.irq_ext()
            .map_or(0, |x| unsafe { (x.line_count)(self.table().ctx) })
    }

    /// Drives interrupt line `line` high or low (a level-triggered device, like a UART).
    pub fn set_irq(&self, line: u32, high: bool) -> Result<(), NoSuchLine> {
        let x = self.irq_ext().ok_or(NoSuchLine(line))?;
        // SAFETY: the extension's function, with the host's context.
        let status = unsafe { (x.set_level)(self.table().ctx, line, u32::from(high)) };
        (status == abi::OK).then_some(()).ok_or(NoSuchLine(line))
    }

    /// One edge on interrupt line `line` (a timer tick).
    pub fn pulse_irq(&self, line: u32) -> Result<(), NoSuchLine> {
        let x = self.irq_ext().ok_or(NoSuchLine(line))?;
        // SAFETY: the extension's function, with the host's context.
        let status = unsafe { (x.pulse)(self.table().ctx, line) };
        (status == abi::OK).then_some(()).ok_or(NoSuchLine(line))
    }

    /// Asks for [`Plugin::on_event`]`(token)` whenever `fd` is readable; the watch's id, or
    /// `None` when the host refuses. `fd` stays the plugin's: keep it open until cancelled.
    pub fn watch_fd(&self, fd: i32, token: u64) -> Option<u64> {
        let (x, event) = (self.events_ext()?, self.event?);
        // SAFETY: the extension's function, with the host's context and the SDK's trampoline.
        let id = unsafe { (x.watch_fd)(self.table().ctx, fd, event, token) };
        (id != 0).then_some(id)
    }

    /// Asks for [`Plugin::on_event`]`(token)` after `delay`, then every `period` if given.
    pub fn add_timer(
        &self,
        delay: std::time::Duration,
        period: Option<std::time::Duration>,
        token: u64,
    ) -> Option<u64> {
        let (x, event) = (self.events_ext()?, self.event?);
        let ns = |d: std::time::Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        let period = period.map_or(0, ns);
        // SAFETY: as in `watch_fd`.
        let id = unsafe { (x.add_timer)(self.table().ctx, ns(delay), period, event, token) };
        (id != 0).then_some(id)
    }

    /// Stops a watch or timer.
    pub fn cancel_event(&self, id: u64) -> bool {
        // SAFETY: the extension's function, with the host's context.
        self.events_ext()
            .is_some_and(|x| unsafe { (x.cancel)(self.table().ctx, id) } == abi::OK)
    }

    fn machine_str(&self, f: impl FnOnce(&abi::MachineExt, *mut c_void) -> abi::Str) -> String {
        self.machine_ext()
            .map(|x| {
                let s = f(x, self.table().ctx);
                // SAFETY: the host's strings are valid until the instance is destroyed.
                unsafe { s.as_bytes() }
                    .map(|b| String::from_utf8_lossy(b).into_owned())
                    .unwrap_or_default()
            })
            .unwrap_or_default()
    }

    /// The device's name on the board ("cmos-rtc0"); empty on a host without ABI 1.1.
    pub fn instance_name(&self) -> String {
        // SAFETY: the extension's function, with the host's context.
        self.machine_str(|x, ctx| unsafe { (x.instance_name)(ctx) })
    }

    /// The machine file's folder: relative paths in the config mean this folder.
    pub fn machine_dir(&self) -> std::path::PathBuf {
        // SAFETY: the extension's function, with the host's context.
        std::path::PathBuf::from(self.machine_str(|x, ctx| unsafe { (x.machine_dir)(ctx) }))
    }

    /// The integer at dotted `key` of the device's `config` table.
    pub fn config_int(&self, key: &str) -> Option<i64> {
        let x = self.machine_ext()?;
        let mut value = 0i64;
        // SAFETY: the extension's function, with a key valid for the call and an i64 to fill.
        let status = unsafe { (x.config_int)(self.table().ctx, str_arg(key), &mut value) };
        (status == abi::OK).then_some(value)
    }

    /// The string at dotted `key`.
    pub fn config_str(&self, key: &str) -> Option<String> {
        let x = self.machine_ext()?;
        let mut value = abi::Str::from_static("");
        // SAFETY: as in `config_int`, with a picovmm_str to fill.
        let status = unsafe { (x.config_string)(self.table().ctx, str_arg(key), &mut value) };
        if status != abi::OK {
            return None;
        }
        // SAFETY: the host's strings are valid until the instance is destroyed.
        unsafe { value.as_bytes() }.map(|b| String::from_utf8_lossy(b).into_owned())
    }

    /// The boolean at dotted `key`.
    pub fn config_bool(&self, key: &str) -> Option<bool> {
        let x = self.machine_ext()?;
        let mut value = 0u32;
        // SAFETY: as in `config_int`, with a u32 to fill.
        let status = unsafe { (x.config_bool)(self.table().ctx, str_arg(key), &mut value) };
        (status == abi::OK).then_some(value != 0)
    }

    /// Whether dotted `key` names a table.
    pub fn config_table(&self, key: &str) -> bool {
        // SAFETY: as in `config_int`.
        self.machine_ext()
            .is_some_and(|x| unsafe { (x.config_table)(self.table().ctx, str_arg(key)) == abi::OK })
    }

    /// Ends the run after the current call, as a halt or a failure, with `message`. On a host
    /// without ABI 1.1, a failure is the best it can do: returns false.
    pub fn end_run(&self, how: EndRun, message: &str) -> bool {
        let Some(x) = self.machine_ext() else {
            return false;
        };
        let how = match how {
            EndRun::Halted => abi::END_HALTED,
            EndRun::Failure => abi::END_FAILURE,
        };
        // SAFETY: the extension's function, with a message valid for the call.
        unsafe { (x.end_run)(self.table().ctx, how, str_arg(message)) };
        true
    }
}

/// A string argument for the host, valid for the call it is passed in.
fn str_arg(s: &str) -> abi::Str {
    abi::Str {
        ptr: s.as_ptr() as *const c_char,
        len: s.len() as u64,
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
    /// Whether it implements [`Plugin::save_state`] and [`Plugin::load_state`] (offering
    /// picovmm.state/1, which snapshots need).
    const SAVES_STATE: bool = false;

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

    /// A watch or timer registered with `token` ([`Host::watch_fd`], [`Host::add_timer`])
    /// fired. Runs on the vCPU thread; it must not block.
    fn on_event(&mut self, token: u64) {
        let _ = token;
    }

    /// The device's state for a snapshot; `None` (the default) when it cannot save one, which
    /// makes a snapshot of the machine refuse, naming the plugin.
    fn save_state(&self) -> Option<Vec<u8>> {
        None
    }

    /// Puts the device in a state [`Plugin::save_state`] made.
    fn load_state(&mut self, state: &[u8]) -> Result<(), String> {
        let _ = state;
        Err(format!("{} cannot load a saved state", Self::NAME))
    }
}

/// An instance: the header (the host, the same for every plugin type) first, then the plugin.
#[repr(C)]
struct Instance<P> {
    host: Host,
    plugin: P,
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
        let handle = Host {
            raw: host,
            event: Some(event::<P>),
        };
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

/// Calls the event callback of the instance `raw` (for [`crate::testing`]): the same function
/// the SDK registers with every watch and timer of that instance's plugin type.
///
/// # Safety
/// `raw` must be an instance the SDK's `create` made, not yet destroyed.
#[doc(hidden)]
pub unsafe fn fire_event(raw: *mut c_void, token: u64) {
    if raw.is_null() {
        return;
    }
    // SAFETY: `raw` is an `Instance<P>`, `repr(C)` with the host first: whatever `P` is, its
    // start is an `InstanceHeader`, whose host holds this plugin type's trampoline.
    let header = unsafe { &*(raw as *const InstanceHeader) };
    if let Some(event) = header.host.event {
        // SAFETY: the trampoline of this instance's plugin type, with the instance.
        unsafe { event(raw, token) };
    }
}

/// The part of every instance that does not depend on the plugin type.
#[repr(C)]
struct InstanceHeader {
    host: Host,
}

unsafe extern "C" fn event<P: Plugin>(raw: *mut c_void, token: u64) {
    let _ = access::<P>(raw, "event", |p| {
        p.on_event(token);
        Ok(())
    });
}

unsafe extern "C" fn save<P: Plugin>(
    raw: *mut c_void,
    buf: *mut u8,
    cap: u64,
    len: *mut u64,
) -> u32 {
    if len.is_null() {
        return abi::ERROR;
    }
    let mut out = None;
    let status = access::<P>(raw, "save", |p| {
        out = p.save_state();
        out.as_ref()
            .map(|_| ())
            .ok_or_else(|| "it cannot save its state".to_owned())
    });
    let Some(state) = out.filter(|_| status == abi::OK) else {
        return abi::ERROR;
    };
    // SAFETY: picovmm passes a writable u64.
    unsafe { *len = state.len() as u64 };
    if (state.len() as u64) > cap || buf.is_null() {
        return abi::ERROR;
    }
    // SAFETY: picovmm passes `cap` writable bytes at `buf`, and the state fits.
    unsafe { std::ptr::copy_nonoverlapping(state.as_ptr(), buf, state.len()) };
    abi::OK
}

unsafe extern "C" fn load<P: Plugin>(raw: *mut c_void, data: *const u8, len: u64) -> u32 {
    let Ok(len) = usize::try_from(len) else {
        return abi::ERROR;
    };
    let state = if len == 0 {
        &[][..]
    } else if data.is_null() {
        return abi::ERROR;
    } else {
        // SAFETY: picovmm passes `len` readable bytes at `data` for the call.
        unsafe { std::slice::from_raw_parts(data, len) }
    };
    access::<P>(raw, "load", |p| p.load_state(state))
}

/// The plugin's extension tables, one set per plugin type (statics cannot be generic).
fn state_ext<P: Plugin>() -> &'static abi::StateExt {
    use std::any::TypeId;
    use std::collections::HashMap;
    use std::sync::Mutex;
    static TABLES: Mutex<Option<HashMap<TypeId, &'static abi::StateExt>>> = Mutex::new(None);
    let mut tables = TABLES.lock().unwrap_or_else(|p| p.into_inner());
    tables
        .get_or_insert_with(HashMap::new)
        .entry(TypeId::of::<P>())
        .or_insert_with(|| {
            Box::leak(Box::new(abi::StateExt {
                struct_size: std::mem::size_of::<abi::StateExt>() as u32,
                reserved: 0,
                save: save::<P>,
                load: load::<P>,
            }))
        })
}

unsafe extern "C" fn get_extension<P: Plugin>(
    _raw: *mut c_void,
    id: *const c_char,
) -> *const c_void {
    if id.is_null() {
        return std::ptr::null();
    }
    // SAFETY: picovmm passes a NUL-terminated id.
    let id = unsafe { std::ffi::CStr::from_ptr(id) }.to_bytes();
    if id == abi::EXT_STATE && P::SAVES_STATE {
        catch_unwind(|| state_ext::<P>() as *const abi::StateExt as *const c_void)
            .unwrap_or(std::ptr::null())
    } else {
        std::ptr::null()
    }
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
        get_extension: Some(get_extension::<P>),
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
