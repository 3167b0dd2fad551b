//! Loading a plugin library and validating its descriptor before anything in it is called.
//!
//! The entry is a data symbol, so nothing in an unknown library runs before picovmm has
//! checked, in order: the magic number (is it a picovmm plugin at all?), the ABI major (same
//! as ours), the minor (not newer than ours), the struct size (at least ABI 1.0's), and that
//! the functions it must have are there. Libraries are never unloaded while picovmm runs.

use std::fmt;
use std::path::{Path, PathBuf};

use picovmm_plugin::abi::{self, Descriptor};

/// Why a library is not a usable plugin.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// dlopen failed: missing, not a shared library, wrong architecture, missing dependency.
    #[error("cannot load plugin {}: {message}", path.display())]
    Open {
        /// The library.
        path: PathBuf,
        /// The dynamic loader's message.
        message: String,
    },
    /// No `picovmm_plugin_entry` symbol.
    #[error("{} is not a picovmm plugin: it exports no picovmm_plugin_entry symbol", path.display())]
    NoEntry {
        /// The library.
        path: PathBuf,
    },
    /// The entry does not start with the magic number.
    #[error("{} is not a picovmm plugin: its picovmm_plugin_entry starts with {magic:#010x}, not the magic {:#010x}", path.display(), abi::MAGIC)]
    BadMagic {
        /// The library.
        path: PathBuf,
        /// What was there.
        magic: u32,
    },
    /// A different major ABI version.
    #[error(
        "{} speaks plugin ABI {major}.{minor}, and this picovmm speaks {}.{}: the major versions must match (rebuild the plugin against picovmm's plugin API)",
        path.display(), abi::ABI_MAJOR, abi::ABI_MINOR
    )]
    MajorMismatch {
        /// The library.
        path: PathBuf,
        /// Its major.
        major: u16,
        /// Its minor.
        minor: u16,
    },
    /// A newer minor than ours.
    #[error(
        "{} needs plugin ABI {major}.{minor}, newer than this picovmm's {major}.{host_minor} (upgrade picovmm)",
        path.display()
    )]
    MinorTooNew {
        /// The library.
        path: PathBuf,
        /// The host's minor.
        host_minor: u16,
        /// Its major.
        major: u16,
        /// Its minor.
        minor: u16,
    },
    /// The descriptor is smaller than ABI 1.0's.
    #[error("{}: its plugin descriptor is {size} bytes, smaller than ABI 1.0's {}", path.display(), abi::DESCRIPTOR_SIZE_1_0)]
    TooSmall {
        /// The library.
        path: PathBuf,
        /// The size it declares.
        size: u32,
    },
    /// A required function pointer is null, or a string is not UTF-8.
    #[error("{}: invalid plugin descriptor: {what}", path.display())]
    Invalid {
        /// The library.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
}

/// What a plugin says about itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PluginInfo {
    /// Its name.
    pub name: String,
    /// Its version.
    pub version: String,
    /// One line.
    pub description: String,
    /// The ABI version it was built against.
    pub abi: (u16, u16),
    /// Whether it serves port accesses.
    pub port: bool,
    /// Whether it serves MMIO accesses.
    pub mmio: bool,
}

impl PluginInfo {
    /// "port", "MMIO" or "port, MMIO".
    pub fn accesses(&self) -> String {
        match (self.port, self.mmio) {
            (true, true) => "port, MMIO".to_owned(),
            (true, false) => "port".to_owned(),
            (false, true) => "MMIO".to_owned(),
            (false, false) => "none".to_owned(),
        }
    }
}

impl fmt::Display for PluginInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} (ABI {}.{}, {})",
            self.name,
            self.version,
            self.abi.0,
            self.abi.1,
            self.accesses()
        )
    }
}

/// A loaded, validated plugin library.
pub struct PluginLibrary {
    path: PathBuf,
    descriptor: &'static Descriptor,
    info: PluginInfo,
}

/// The longest name, version or description a descriptor may give, in bytes (the header says
/// so).
pub const MAX_STRING_LEN: u64 = 4096;

/// Copies `len` bytes at `ptr` of this process's memory without trusting the pointer: through
/// `process_vm_readv`, which fails with EFAULT where a plain read would fault. `None` when any
/// of it is not readable.
fn read_own_memory(ptr: *const u8, len: usize) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; len];
    if len == 0 {
        return Some(buf);
    }
    let local = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: len,
    };
    let remote = libc::iovec {
        iov_base: ptr as *mut libc::c_void,
        iov_len: len,
    };
    // SAFETY: process_vm_readv writes at most `len` bytes into `buf`, which `local` describes
    // and which lives across the call; `remote` is only read by the kernel, which checks it
    // and returns EFAULT for memory that is not mapped readable, instead of faulting.
    let n = unsafe { libc::process_vm_readv(libc::getpid(), &local, 1, &remote, 1, 0) };
    (usize::try_from(n).ok() == Some(len)).then_some(buf)
}

fn string(path: &Path, field: &str, s: &abi::Str) -> Result<String, LoadError> {
    let invalid = |what: String| LoadError::Invalid {
        path: path.to_owned(),
        what,
    };
    if s.len > MAX_STRING_LEN {
        return Err(invalid(format!(
            "its {field} is {} bytes long, more than the {MAX_STRING_LEN} the ABI allows",
            s.len
        )));
    }
    if s.ptr.is_null() && s.len > 0 {
        return Err(invalid(format!("its {field} is a null pointer")));
    }
    // The pointer and length come from the library: read through the kernel, not blindly.
    let bytes = read_own_memory(s.ptr.cast(), s.len as usize)
        .ok_or_else(|| invalid(format!("its {field} points at memory that cannot be read")))?;
    String::from_utf8(bytes).map_err(|_| invalid(format!("its {field} is not UTF-8")))
}

impl fmt::Debug for PluginLibrary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PluginLibrary")
            .field("path", &self.path)
            .field("info", &self.info)
            .finish()
    }
}

impl PluginLibrary {
    /// Loads the library at `path` and validates its descriptor.
    pub fn load(path: &Path) -> Result<Self, LoadError> {
        // SAFETY: loading a library runs its initializers; plugins are trusted code (see
        // docs/security.md). Everything else in it is validated before it is called.
        let library = unsafe { libloading::Library::new(path) }.map_err(|e| LoadError::Open {
            path: path.to_owned(),
            message: dl_message(&e),
        })?;
        // Never dlclose: a plugin's code or data may be referenced until the process exits.
        let library: &'static libloading::Library = Box::leak(Box::new(library));
        // SAFETY: we only take the symbol's address here; what it points to is read below,
        // field by field, each read checked before the next.
        let entry: *const Descriptor =
            unsafe { library.get::<*const Descriptor>(abi::ENTRY_SYMBOL) }
                .map(|symbol| *symbol)
                .map_err(|_| LoadError::NoEntry {
                    path: path.to_owned(),
                })?;
        if entry.is_null() {
            return Err(LoadError::NoEntry {
                path: path.to_owned(),
            });
        }
        // The symbol may be smaller than a descriptor (any object can have the name): make sure
        // the 1.0 descriptor's bytes can be read before reading a field of it.
        if read_own_memory(entry.cast(), abi::DESCRIPTOR_SIZE_1_0 as usize).is_none() {
            return Err(LoadError::Invalid {
                path: path.to_owned(),
                what: "its descriptor lies partly outside readable memory".to_owned(),
            });
        }
        // SAFETY: the bytes of a 1.0 descriptor at `entry` were just read without fault;
        // nothing else is read until the magic matches.
        let magic = unsafe { std::ptr::read_unaligned(entry as *const u32) };
        if magic != abi::MAGIC {
            return Err(LoadError::BadMagic {
                path: path.to_owned(),
                magic,
            });
        }
        // SAFETY: the magic says this is a picovmm descriptor, whose header (magic, size,
        // versions) is 12 bytes in every ABI version.
        let (size, major, minor) = unsafe {
            (
                std::ptr::read_unaligned(std::ptr::addr_of!((*entry).struct_size)),
                std::ptr::read_unaligned(std::ptr::addr_of!((*entry).abi_major)),
                std::ptr::read_unaligned(std::ptr::addr_of!((*entry).abi_minor)),
            )
        };
        check_version(path, (major, minor), (abi::ABI_MAJOR, abi::ABI_MINOR))?;
        if size < abi::DESCRIPTOR_SIZE_1_0 {
            return Err(LoadError::TooSmall {
                path: path.to_owned(),
                size,
            });
        }
        // SAFETY: the descriptor declares at least the 1.0 size, so every field we know is
        // there; it is static data of a library that is never unloaded.
        let descriptor: &'static Descriptor = unsafe { &*entry };
        let info = check_descriptor(path, descriptor, (major, minor))?;
        Ok(PluginLibrary {
            path: path.to_owned(),
            descriptor,
            info,
        })
    }

    /// What the plugin says about itself.
    pub fn info(&self) -> &PluginInfo {
        &self.info
    }

    /// Where it was loaded from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn descriptor(&self) -> &'static Descriptor {
        self.descriptor
    }
}

/// What a descriptor says of its plugin, once its strings, functions and accesses are checked.
fn check_descriptor(
    path: &Path,
    descriptor: &Descriptor,
    (major, minor): (u16, u16),
) -> Result<PluginInfo, LoadError> {
    let invalid = |what: &str| LoadError::Invalid {
        path: path.to_owned(),
        what: what.to_owned(),
    };
    let port = descriptor.accesses & abi::ACCESS_PORT != 0;
    let mmio = descriptor.accesses & abi::ACCESS_MMIO != 0;
    // Its strings first: they name the plugin in every later message.
    let info = PluginInfo {
        name: string(path, "name", &descriptor.name)?,
        version: string(path, "version", &descriptor.version)?,
        description: string(path, "description", &descriptor.description)?,
        abi: (major, minor),
        port,
        mmio,
    };
    if descriptor.create.is_none() || descriptor.destroy.is_none() {
        return Err(invalid("create and destroy are required"));
    }
    let known = abi::ACCESS_PORT | abi::ACCESS_MMIO;
    if descriptor.accesses == 0 {
        return Err(invalid(
            "its accesses field is 0: it must serve ports (PICOVMM_ACCESS_PORT), MMIO (PICOVMM_ACCESS_MMIO) or both",
        ));
    }
    if descriptor.accesses & !known != 0 {
        return Err(invalid(&format!(
            "its accesses field {:#x} has bits picovmm does not know (PICOVMM_ACCESS_PORT is 1, PICOVMM_ACCESS_MMIO is 2)",
            descriptor.accesses
        )));
    }
    if port && (descriptor.port_read.is_none() || descriptor.port_write.is_none()) {
        return Err(invalid(
            "it serves port accesses but has no port_read or port_write",
        ));
    }
    if mmio && (descriptor.mmio_read.is_none() || descriptor.mmio_write.is_none()) {
        return Err(invalid(
            "it serves MMIO accesses but has no mmio_read or mmio_write",
        ));
    }
    if info.name.is_empty() {
        return Err(invalid("its name is empty"));
    }
    Ok(info)
}

/// The dynamic loader's own message (libloading keeps it as the error's source), without the
/// path it repeats; "not a shared library" for a file that is not ELF.
fn dl_message(e: &libloading::Error) -> String {
    let text = std::error::Error::source(e).map_or_else(|| e.to_string(), |s| s.to_string());
    if text.contains("invalid ELF header") || text.contains("file too short") {
        return "not a shared library".to_owned();
    }
    text.rsplit_once(": ")
        .map_or(text.clone(), |(_, m)| m.to_owned())
}

/// Whether a plugin built for ABI `plugin` may load on a host speaking `host`: the same major,
/// and a minor no newer than the host's (minors only add).
fn check_version(path: &Path, plugin: (u16, u16), host: (u16, u16)) -> Result<(), LoadError> {
    let (major, minor) = plugin;
    if major != host.0 {
        return Err(LoadError::MajorMismatch {
            path: path.to_owned(),
            major,
            minor,
        });
    }
    if minor > host.1 {
        return Err(LoadError::MinorTooNew {
            path: path.to_owned(),
            host_minor: host.1,
            major,
            minor,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_a_1_1_plugin_on_a_1_0_host_is_refused_by_name() {
        let path = Path::new("libconsole.so");
        let err = check_version(path, (1, 1), (1, 0)).expect_err("refused");
        assert_eq!(
            err.to_string(),
            "libconsole.so needs plugin ABI 1.1, newer than this picovmm's 1.0 (upgrade picovmm)"
        );
        assert!(check_version(path, (1, 0), (1, 1)).is_ok());
        assert!(check_version(path, (1, 1), (1, 1)).is_ok());
    }
}
