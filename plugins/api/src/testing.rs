//! Unit-testing a plugin without a VM: [`MockHost`] is a host table over plain memory that
//! records what the plugin asks for (log lines, interrupt levels and pulses, watches and
//! timers, stop and end-of-run requests) and answers config lookups from values the test sets.
//! [`MockHost::create`] makes an instance through the same C entry points picovmm calls, so a
//! test exercises the plugin exactly as picovmm would.
//!
//! ```
//! use picovmm_plugin::testing::MockHost;
//! # use picovmm_plugin::{abi, Host, Plugin};
//! # struct Latch { value: u8 }
//! # impl Plugin for Latch {
//! #     const NAME: &'static str = "latch";
//! #     const VERSION: &'static str = "1.0.0";
//! #     const DESCRIPTION: &'static str = "reads back the last byte written";
//! #     const ACCESSES: u32 = abi::ACCESS_PORT;
//! #     fn create(_host: Host, _config: &str) -> Result<Self, String> { Ok(Latch { value: 0 }) }
//! #     fn port_read(&mut self, _o: u16, data: &mut [u8]) -> Result<(), String> { data[0] = self.value; Ok(()) }
//! #     fn port_write(&mut self, _o: u16, data: &[u8]) -> Result<(), String> { self.value = data[0]; Ok(()) }
//! # }
//! let host = MockHost::new();
//! let mut latch = host.create::<Latch>("").expect("created");
//! latch.port_write(0, &[0x42]).expect("write");
//! assert_eq!(latch.port_read(0, 1).expect("read"), [0x42]);
//! ```

use std::ffi::{c_char, c_void};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use crate::abi;
use crate::sdk::{descriptor, Plugin};

/// A config value for [`MockHost::set_config`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MockValue {
    /// An integer.
    Int(i64),
    /// A string.
    Str(String),
    /// A boolean.
    Bool(bool),
    /// A table (its keys are set with dotted names).
    Table,
}

/// A watch or timer the plugin registered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MockEvent {
    /// `watch_fd`.
    Fd {
        /// Its id.
        id: u64,
        /// The descriptor.
        fd: i32,
        /// The token the plugin gave.
        token: u64,
    },
    /// `add_timer`.
    Timer {
        /// Its id.
        id: u64,
        /// First delay.
        delay: Duration,
        /// Period, if periodic.
        period: Option<Duration>,
        /// The token the plugin gave.
        token: u64,
    },
}

#[derive(Default)]
struct State {
    memory: Vec<u8>,
    logs: Vec<String>,
    lines: Vec<bool>,
    pulses: Vec<u32>,
    stop: Option<u32>,
    ended: Option<(u32, String)>,
    events: Vec<MockEvent>,
    config: Vec<(String, MockValue)>,
    name: String,
    dir: String,
    next_id: u64,
}

/// A host for one plugin instance, over memory and records.
pub struct MockHost {
    state: Box<Mutex<State>>,
    table: Box<abi::Host>,
}

fn state<'a>(ctx: *mut c_void) -> MutexGuard<'a, State> {
    // SAFETY: `ctx` is the MockHost's boxed state, alive as long as the host (the instance
    // borrows the host, so it cannot outlive it).
    let m = unsafe { &*(ctx as *const Mutex<State>) };
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn text(s: &abi::Str) -> String {
    // SAFETY: the plugin passes strings valid for the call.
    unsafe { s.as_bytes() }
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .unwrap_or_default()
}

unsafe extern "C" fn log(ctx: *mut c_void, level: u32, message: abi::Str) {
    let level = match level {
        abi::LOG_ERROR => "error",
        abi::LOG_WARN => "warning",
        abi::LOG_DEBUG => "debug",
        _ => "info",
    };
    state(ctx).logs.push(format!("{level}: {}", text(&message)));
}

unsafe extern "C" fn read_guest(ctx: *mut c_void, addr: u64, buf: *mut u8, len: u64) -> u32 {
    let s = state(ctx);
    let (Ok(at), Ok(n)) = (usize::try_from(addr), usize::try_from(len)) else {
        return abi::ERROR;
    };
    match s.memory.get(at..at.saturating_add(n)) {
        Some(src) if !buf.is_null() || n == 0 => {
            // SAFETY: the plugin passes `len` writable bytes.
            unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), buf, n) };
            abi::OK
        }
        _ => abi::ERROR,
    }
}

unsafe extern "C" fn write_guest(ctx: *mut c_void, addr: u64, buf: *const u8, len: u64) -> u32 {
    let mut s = state(ctx);
    let (Ok(at), Ok(n)) = (usize::try_from(addr), usize::try_from(len)) else {
        return abi::ERROR;
    };
    match s.memory.get_mut(at..at.saturating_add(n)) {
        Some(dst) if !buf.is_null() || n == 0 => {
            // SAFETY: the plugin passes `len` readable bytes.
            unsafe { std::ptr::copy_nonoverlapping(buf, dst.as_mut_ptr(), n) };
            abi::OK
        }
        _ => abi::ERROR,
    }
}

unsafe extern "C" fn request_stop(ctx: *mut c_void, value: u32) {
    state(ctx).stop = Some(value);
}

unsafe extern "C" fn get_extension(_ctx: *mut c_void, id: *const c_char) -> *const c_void {
    if id.is_null() {
        return std::ptr::null();
    }
    // SAFETY: the plugin passes a NUL-terminated id.
    let id = unsafe { std::ffi::CStr::from_ptr(id) }.to_bytes();
    match id {
        _ if id == abi::EXT_IRQ => &IRQ as *const abi::IrqExt as *const c_void,
        _ if id == abi::EXT_EVENTS => &EVENTS as *const abi::EventsExt as *const c_void,
        _ if id == abi::EXT_MACHINE => &MACHINE as *const abi::MachineExt as *const c_void,
        _ => std::ptr::null(),
    }
}

static IRQ: abi::IrqExt = abi::IrqExt {
    struct_size: std::mem::size_of::<abi::IrqExt>() as u32,
    reserved: 0,
    line_count,
    set_level,
    pulse,
};

unsafe extern "C" fn line_count(ctx: *mut c_void) -> u32 {
    state(ctx).lines.len() as u32
}

unsafe extern "C" fn set_level(ctx: *mut c_void, line: u32, level: u32) -> u32 {
    match state(ctx).lines.get_mut(line as usize) {
        Some(l) => {
            *l = level != 0;
            abi::OK
        }
        None => abi::ERROR,
    }
}

unsafe extern "C" fn pulse(ctx: *mut c_void, line: u32) -> u32 {
    let mut s = state(ctx);
    if (line as usize) < s.lines.len() {
        s.pulses.push(line);
        abi::OK
    } else {
        abi::ERROR
    }
}

static EVENTS: abi::EventsExt = abi::EventsExt {
    struct_size: std::mem::size_of::<abi::EventsExt>() as u32,
    reserved: 0,
    watch_fd,
    add_timer,
    cancel,
};

unsafe extern "C" fn watch_fd(ctx: *mut c_void, fd: i32, _cb: abi::EventFn, token: u64) -> u64 {
    let mut s = state(ctx);
    s.next_id += 1;
    let id = s.next_id;
    s.events.push(MockEvent::Fd { id, fd, token });
    id
}

unsafe extern "C" fn add_timer(
    ctx: *mut c_void,
    delay_ns: u64,
    period_ns: u64,
    _cb: abi::EventFn,
    token: u64,
) -> u64 {
    let mut s = state(ctx);
    s.next_id += 1;
    let id = s.next_id;
    s.events.push(MockEvent::Timer {
        id,
        delay: Duration::from_nanos(delay_ns),
        period: (period_ns > 0).then(|| Duration::from_nanos(period_ns)),
        token,
    });
    id
}

unsafe extern "C" fn cancel(ctx: *mut c_void, id: u64) -> u32 {
    let mut s = state(ctx);
    let before = s.events.len();
    s.events.retain(|e| match e {
        MockEvent::Fd { id: i, .. } | MockEvent::Timer { id: i, .. } => *i != id,
    });
    if s.events.len() < before {
        abi::OK
    } else {
        abi::ERROR
    }
}

static MACHINE: abi::MachineExt = abi::MachineExt {
    struct_size: std::mem::size_of::<abi::MachineExt>() as u32,
    reserved: 0,
    instance_name,
    machine_dir,
    config_int,
    config_string,
    config_bool,
    config_table,
    end_run,
};

/// A string that lives as long as the host: the state keeps it (the mock's strings never
/// change once set, so pointers into them stay valid).
fn held(s: &str) -> abi::Str {
    abi::Str {
        ptr: s.as_ptr() as *const c_char,
        len: s.len() as u64,
    }
}

unsafe extern "C" fn instance_name(ctx: *mut c_void) -> abi::Str {
    held(&state(ctx).name)
}

unsafe extern "C" fn machine_dir(ctx: *mut c_void) -> abi::Str {
    held(&state(ctx).dir)
}

fn lookup(ctx: *mut c_void, key: &abi::Str) -> Option<MockValue> {
    let key = text(key);
    state(ctx)
        .config
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v.clone())
}

unsafe extern "C" fn config_int(ctx: *mut c_void, key: abi::Str, value: *mut i64) -> u32 {
    match lookup(ctx, &key) {
        Some(MockValue::Int(i)) if !value.is_null() => {
            // SAFETY: the plugin passes a writable i64.
            unsafe { *value = i };
            abi::OK
        }
        _ => abi::ERROR,
    }
}

unsafe extern "C" fn config_string(ctx: *mut c_void, key: abi::Str, value: *mut abi::Str) -> u32 {
    let wanted = text(&key);
    let s = state(ctx);
    match s.config.iter().find(|(k, _)| *k == wanted) {
        Some((_, MockValue::Str(v))) if !value.is_null() => {
            // SAFETY: the plugin passes a writable picovmm_str; the string lives in the state.
            unsafe { *value = held(v) };
            abi::OK
        }
        _ => abi::ERROR,
    }
}

unsafe extern "C" fn config_bool(ctx: *mut c_void, key: abi::Str, value: *mut u32) -> u32 {
    match lookup(ctx, &key) {
        Some(MockValue::Bool(b)) if !value.is_null() => {
            // SAFETY: the plugin passes a writable u32.
            unsafe { *value = u32::from(b) };
            abi::OK
        }
        _ => abi::ERROR,
    }
}

unsafe extern "C" fn config_table(ctx: *mut c_void, key: abi::Str) -> u32 {
    if lookup(ctx, &key) == Some(MockValue::Table) {
        abi::OK
    } else {
        abi::ERROR
    }
}

unsafe extern "C" fn end_run(ctx: *mut c_void, how: u32, message: abi::Str) {
    state(ctx).ended = Some((how, text(&message)));
}

impl Default for MockHost {
    fn default() -> Self {
        Self::new()
    }
}

impl MockHost {
    /// A host with 64 KiB of guest memory, no interrupt line and an empty config.
    pub fn new() -> Self {
        let state = Box::new(Mutex::new(State {
            memory: vec![0; 64 * 1024],
            name: "mock0".into(),
            ..State::default()
        }));
        let table = Box::new(abi::Host {
            struct_size: std::mem::size_of::<abi::Host>() as u32,
            abi_major: abi::ABI_MAJOR,
            abi_minor: abi::ABI_MINOR,
            ctx: &*state as *const Mutex<State> as *mut c_void,
            log,
            read_guest,
            write_guest,
            request_stop,
            get_extension,
        });
        MockHost { state, table }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Gives the device `n` interrupt lines (its `irq` key), all low.
    pub fn set_irq_lines(&self, n: usize) {
        self.lock().lines = vec![false; n];
    }

    /// Sets the config value at dotted `key`.
    pub fn set_config(&self, key: &str, value: MockValue) {
        self.lock().config.push((key.to_owned(), value));
    }

    /// Sets the device's name and the machine file's folder.
    pub fn set_surroundings(&self, name: &str, dir: &str) {
        let mut s = self.lock();
        s.name = name.to_owned();
        s.dir = dir.to_owned();
    }

    /// The guest memory (64 KiB from address 0).
    pub fn memory(&self) -> Vec<u8> {
        self.lock().memory.clone()
    }

    /// Writes guest memory.
    pub fn write_memory(&self, addr: usize, bytes: &[u8]) {
        let mut s = self.lock();
        s.memory[addr..addr + bytes.len()].copy_from_slice(bytes);
    }

    /// The log lines so far, as "level: message".
    pub fn logs(&self) -> Vec<String> {
        self.lock().logs.clone()
    }

    /// The level of interrupt line `line`.
    pub fn irq_level(&self, line: usize) -> bool {
        self.lock().lines.get(line).copied().unwrap_or(false)
    }

    /// The lines pulsed so far, in order.
    pub fn pulses(&self) -> Vec<u32> {
        self.lock().pulses.clone()
    }

    /// The watches and timers registered and not cancelled.
    pub fn events(&self) -> Vec<MockEvent> {
        self.lock().events.clone()
    }

    /// The value of the last `request_stop`.
    pub fn stop_requested(&self) -> Option<u32> {
        self.lock().stop
    }

    /// The last `end_run`: `abi::END_HALTED` or `abi::END_FAILURE`, and the message.
    pub fn ended(&self) -> Option<(u32, String)> {
        self.lock().ended.clone()
    }

    /// Creates an instance of `P` through its C entry points, as picovmm does.
    pub fn create<P: Plugin>(&self, config_toml: &str) -> Result<MockDevice<'_>, String> {
        let descriptor = descriptor::<P>();
        let create = descriptor.create.ok_or("no create")?;
        let mut error = vec![0u8; 1024];
        let mut len = 0u64;
        let config = abi::Str {
            ptr: config_toml.as_ptr() as *const c_char,
            len: config_toml.len() as u64,
        };
        // SAFETY: the SDK's create, with a host table alive as long as the MockDevice (which
        // borrows the host) and an error buffer of 1024 bytes.
        let instance = unsafe {
            create(
                &*self.table,
                config,
                error.as_mut_ptr() as *mut c_char,
                error.len() as u64,
                &mut len,
            )
        };
        if instance.is_null() {
            error.truncate(len as usize);
            return Err(String::from_utf8_lossy(&error).into_owned());
        }
        Ok(MockDevice {
            descriptor,
            instance,
            _host: self,
        })
    }
}

/// A plugin instance on a [`MockHost`]; destroyed when dropped.
pub struct MockDevice<'h> {
    descriptor: abi::Descriptor,
    instance: *mut c_void,
    _host: &'h MockHost,
}

/// The plugin returned PICOVMM_ERROR (its reason is in [`MockHost::logs`]), or lacks the
/// function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Refused;

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the plugin refused the call (see the host's logs)")
    }
}

impl std::error::Error for Refused {}

fn ok(status: u32) -> Result<(), Refused> {
    (status == abi::OK).then_some(()).ok_or(Refused)
}

impl MockDevice<'_> {
    /// A port read of `len` bytes at `offset`.
    pub fn port_read(&mut self, offset: u16, len: u32) -> Result<Vec<u8>, Refused> {
        let f = self.descriptor.port_read.ok_or(Refused)?;
        let mut data = vec![0u8; len as usize];
        // SAFETY: the SDK's function with its instance and `len` writable bytes.
        ok(unsafe { f(self.instance, offset, data.as_mut_ptr(), len) })?;
        Ok(data)
    }

    /// A port write.
    pub fn port_write(&mut self, offset: u16, data: &[u8]) -> Result<(), Refused> {
        let f = self.descriptor.port_write.ok_or(Refused)?;
        // SAFETY: the SDK's function with its instance and `data`.
        ok(unsafe { f(self.instance, offset, data.as_ptr(), data.len() as u32) })
    }

    /// An MMIO read of `len` bytes at `offset`.
    pub fn mmio_read(&mut self, offset: u64, len: u32) -> Result<Vec<u8>, Refused> {
        let f = self.descriptor.mmio_read.ok_or(Refused)?;
        let mut data = vec![0u8; len as usize];
        // SAFETY: as in `port_read`.
        ok(unsafe { f(self.instance, offset, data.as_mut_ptr(), len) })?;
        Ok(data)
    }

    /// An MMIO write.
    pub fn mmio_write(&mut self, offset: u64, data: &[u8]) -> Result<(), Refused> {
        let f = self.descriptor.mmio_write.ok_or(Refused)?;
        // SAFETY: as in `port_write`.
        ok(unsafe { f(self.instance, offset, data.as_ptr(), data.len() as u32) })
    }

    /// Fires the event registered with `token`, as picovmm would when it is due.
    pub fn fire(&mut self, token: u64) {
        // SAFETY: the instance came from the SDK's create and is alive until this drops.
        unsafe { crate::sdk::fire_event(self.instance, token) }
    }

    /// The device's saved state through picovmm.state/1, if it offers it.
    pub fn save(&mut self) -> Option<Vec<u8>> {
        let ext = self.state_ext()?;
        let mut len = 0u64;
        // SAFETY: asking for the size with a zero-capacity buffer.
        unsafe { (ext.save)(self.instance, std::ptr::null_mut(), 0, &mut len) };
        let mut buf = vec![0u8; len as usize];
        // SAFETY: the plugin's save with a buffer of `len` bytes.
        ok(unsafe { (ext.save)(self.instance, buf.as_mut_ptr(), len, &mut len) }).ok()?;
        Some(buf)
    }

    /// Loads a state [`MockDevice::save`] made.
    pub fn load(&mut self, state: &[u8]) -> Result<(), Refused> {
        let ext = self.state_ext().ok_or(Refused)?;
        // SAFETY: the plugin's load with `state`'s bytes for the call.
        ok(unsafe { (ext.load)(self.instance, state.as_ptr(), state.len() as u64) })
    }

    fn state_ext(&self) -> Option<&'static abi::StateExt> {
        let get = self.descriptor.get_extension?;
        // SAFETY: the descriptor's function with its instance and a C string.
        let table = unsafe { get(self.instance, c"picovmm.state/1".as_ptr()) };
        // SAFETY: a non-null answer is the SDK's leaked, static table.
        (!table.is_null()).then(|| unsafe { &*(table as *const abi::StateExt) })
    }
}

impl Drop for MockDevice<'_> {
    fn drop(&mut self) {
        if let Some(destroy) = self.descriptor.destroy {
            // SAFETY: the instance came from create and is destroyed once.
            unsafe { destroy(self.instance) };
        }
    }
}
