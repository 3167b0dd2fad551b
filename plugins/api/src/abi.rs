//! The C ABI, field for field as `include/picovmm_plugin.h` declares it. `tests/layout.rs`
//! compiles the header and checks every size and offset against these definitions.

use std::ffi::{c_char, c_void};

/// `PICOVMM_PLUGIN_MAGIC`: tells a picovmm plugin from any other library.
pub const MAGIC: u32 = 0x4d56_5650;
/// `PICOVMM_PLUGIN_ABI_MAJOR`.
pub const ABI_MAJOR: u16 = 1;
/// `PICOVMM_PLUGIN_ABI_MINOR`.
pub const ABI_MINOR: u16 = 1;
/// `PICOVMM_OK`.
pub const OK: u32 = 0;
/// `PICOVMM_ERROR`.
pub const ERROR: u32 = 1;
/// `PICOVMM_ACCESS_PORT`.
pub const ACCESS_PORT: u32 = 1;
/// `PICOVMM_ACCESS_MMIO`.
pub const ACCESS_MMIO: u32 = 2;
/// `PICOVMM_LOG_ERROR`.
pub const LOG_ERROR: u32 = 1;
/// `PICOVMM_LOG_WARN`.
pub const LOG_WARN: u32 = 2;
/// `PICOVMM_LOG_INFO`.
pub const LOG_INFO: u32 = 3;
/// `PICOVMM_LOG_DEBUG`.
pub const LOG_DEBUG: u32 = 4;
/// The exported symbol's name, NUL-terminated for dlsym.
pub const ENTRY_SYMBOL: &[u8] = b"picovmm_plugin_entry\0";

/// `picovmm_str`: UTF-8 with an explicit length.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Str {
    /// First byte.
    pub ptr: *const c_char,
    /// Length in bytes.
    pub len: u64,
}

impl Str {
    /// A `Str` over a static string.
    pub const fn from_static(s: &'static str) -> Self {
        Str {
            ptr: s.as_ptr() as *const c_char,
            len: s.len() as u64,
        }
    }

    /// The bytes, or `None` for a null pointer with a non-zero length.
    ///
    /// # Safety
    /// `ptr` must point to `len` readable bytes that live as long as `'a`.
    pub unsafe fn as_bytes<'a>(&self) -> Option<&'a [u8]> {
        if self.len == 0 {
            return Some(&[]);
        }
        if self.ptr.is_null() {
            return None;
        }
        let len = usize::try_from(self.len).ok()?;
        // SAFETY: the caller guarantees `len` readable bytes at `ptr` for `'a`.
        Some(unsafe { std::slice::from_raw_parts(self.ptr as *const u8, len) })
    }
}

/// `picovmm_host`: what picovmm offers a plugin instance.
#[repr(C)]
#[allow(missing_docs)]
pub struct Host {
    pub struct_size: u32,
    pub abi_major: u16,
    pub abi_minor: u16,
    pub ctx: *mut c_void,
    pub log: unsafe extern "C" fn(ctx: *mut c_void, level: u32, message: Str),
    pub read_guest:
        unsafe extern "C" fn(ctx: *mut c_void, addr: u64, buf: *mut u8, len: u64) -> u32,
    pub write_guest:
        unsafe extern "C" fn(ctx: *mut c_void, addr: u64, buf: *const u8, len: u64) -> u32,
    pub request_stop: unsafe extern "C" fn(ctx: *mut c_void, value: u32),
    pub get_extension: unsafe extern "C" fn(ctx: *mut c_void, id: *const c_char) -> *const c_void,
}

/// `create`.
pub type CreateFn = unsafe extern "C" fn(
    host: *const Host,
    config_toml: Str,
    error: *mut c_char,
    error_cap: u64,
    error_len: *mut u64,
) -> *mut c_void;
/// `port_read` / `port_write` (data is `*mut u8` for reads, `*const u8` for writes).
pub type PortReadFn =
    unsafe extern "C" fn(instance: *mut c_void, offset: u16, data: *mut u8, len: u32) -> u32;
/// `port_write`.
pub type PortWriteFn =
    unsafe extern "C" fn(instance: *mut c_void, offset: u16, data: *const u8, len: u32) -> u32;
/// `mmio_read`.
pub type MmioReadFn =
    unsafe extern "C" fn(instance: *mut c_void, offset: u64, data: *mut u8, len: u32) -> u32;
/// `mmio_write`.
pub type MmioWriteFn =
    unsafe extern "C" fn(instance: *mut c_void, offset: u64, data: *const u8, len: u32) -> u32;

/// `picovmm_plugin_descriptor`: the plugin's exported description of itself.
#[repr(C)]
#[allow(missing_docs)]
pub struct Descriptor {
    pub magic: u32,
    pub struct_size: u32,
    pub abi_major: u16,
    pub abi_minor: u16,
    pub accesses: u32,
    pub name: Str,
    pub version: Str,
    pub description: Str,
    pub create: Option<CreateFn>,
    pub destroy: Option<unsafe extern "C" fn(instance: *mut c_void)>,
    pub reset: Option<unsafe extern "C" fn(instance: *mut c_void) -> u32>,
    pub port_read: Option<PortReadFn>,
    pub port_write: Option<PortWriteFn>,
    pub mmio_read: Option<MmioReadFn>,
    pub mmio_write: Option<MmioWriteFn>,
    pub get_extension:
        Option<unsafe extern "C" fn(instance: *mut c_void, id: *const c_char) -> *const c_void>,
}

// SAFETY: a descriptor is immutable static data; its pointers point to static strings and
// functions, which any thread may read or call under the ABI's threading rules.
unsafe impl Sync for Descriptor {}

/// `picovmm_event_fn`: an event callback.
pub type EventFn = unsafe extern "C" fn(instance: *mut c_void, token: u64);

/// `PICOVMM_EXT_IRQ`.
pub const EXT_IRQ: &[u8] = b"picovmm.irq/1";
/// `PICOVMM_EXT_EVENTS`.
pub const EXT_EVENTS: &[u8] = b"picovmm.events/1";
/// `PICOVMM_EXT_MACHINE`.
pub const EXT_MACHINE: &[u8] = b"picovmm.machine/1";
/// `PICOVMM_EXT_STATE`.
pub const EXT_STATE: &[u8] = b"picovmm.state/1";
/// `PICOVMM_END_HALTED`.
pub const END_HALTED: u32 = 0;
/// `PICOVMM_END_FAILURE`.
pub const END_FAILURE: u32 = 1;

/// `picovmm_irq_ext`.
#[repr(C)]
#[allow(missing_docs)]
pub struct IrqExt {
    pub struct_size: u32,
    pub reserved: u32,
    pub line_count: unsafe extern "C" fn(ctx: *mut c_void) -> u32,
    pub set_level: unsafe extern "C" fn(ctx: *mut c_void, line: u32, level: u32) -> u32,
    pub pulse: unsafe extern "C" fn(ctx: *mut c_void, line: u32) -> u32,
}

/// `picovmm_events_ext`.
#[repr(C)]
#[allow(missing_docs)]
pub struct EventsExt {
    pub struct_size: u32,
    pub reserved: u32,
    pub watch_fd:
        unsafe extern "C" fn(ctx: *mut c_void, fd: i32, callback: EventFn, token: u64) -> u64,
    pub add_timer: unsafe extern "C" fn(
        ctx: *mut c_void,
        delay_ns: u64,
        period_ns: u64,
        callback: EventFn,
        token: u64,
    ) -> u64,
    pub cancel: unsafe extern "C" fn(ctx: *mut c_void, id: u64) -> u32,
}

/// `picovmm_machine_ext`.
#[repr(C)]
#[allow(missing_docs)]
pub struct MachineExt {
    pub struct_size: u32,
    pub reserved: u32,
    pub instance_name: unsafe extern "C" fn(ctx: *mut c_void) -> Str,
    pub machine_dir: unsafe extern "C" fn(ctx: *mut c_void) -> Str,
    pub config_int: unsafe extern "C" fn(ctx: *mut c_void, key: Str, value: *mut i64) -> u32,
    pub config_string: unsafe extern "C" fn(ctx: *mut c_void, key: Str, value: *mut Str) -> u32,
    pub config_bool: unsafe extern "C" fn(ctx: *mut c_void, key: Str, value: *mut u32) -> u32,
    pub config_table: unsafe extern "C" fn(ctx: *mut c_void, key: Str) -> u32,
    pub end_run: unsafe extern "C" fn(ctx: *mut c_void, how: u32, message: Str),
}

/// `picovmm_state_ext`.
#[repr(C)]
#[allow(missing_docs)]
pub struct StateExt {
    pub struct_size: u32,
    pub reserved: u32,
    pub save:
        unsafe extern "C" fn(instance: *mut c_void, buf: *mut u8, cap: u64, len: *mut u64) -> u32,
    pub load: unsafe extern "C" fn(instance: *mut c_void, data: *const u8, len: u64) -> u32,
}

// SAFETY: extension tables are immutable static data of functions.
unsafe impl Sync for IrqExt {}
// SAFETY: as above.
unsafe impl Sync for EventsExt {}
// SAFETY: as above.
unsafe impl Sync for MachineExt {}
// SAFETY: as above.
unsafe impl Sync for StateExt {}

const _: () = assert!(std::mem::size_of::<IrqExt>() == 32);
const _: () = assert!(std::mem::size_of::<EventsExt>() == 32);
const _: () = assert!(std::mem::size_of::<MachineExt>() == 64);
const _: () = assert!(std::mem::size_of::<StateExt>() == 24);

/// The size of the 1.0 descriptor: the least a loader accepts.
pub const DESCRIPTOR_SIZE_1_0: u32 = 128;
/// The size of the 1.0 host table.
pub const HOST_SIZE_1_0: u32 = 56;

const _: () = assert!(std::mem::size_of::<Str>() == 16);
const _: () = assert!(std::mem::size_of::<Host>() == HOST_SIZE_1_0 as usize);
const _: () = assert!(std::mem::size_of::<Descriptor>() == DESCRIPTOR_SIZE_1_0 as usize);
