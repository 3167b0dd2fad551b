//! Reading a machine file: TOML text to a [`MachineSpec`], with every error pointing at
//! `file:line:column`.

pub(crate) mod fields;
pub mod print;
pub(crate) mod schema;

use std::path::Path;

use toml::Spanned;
use vmm_core::{CpuMode, RamRegion, RealAddress, UnclaimedPolicy};

use crate::diagnostic::Diagnostic;
use fields::{at, located, named};

use crate::spec::{DriveSpec, EntryAddress, ImageFormat, Located, MachineSpec, Origin, SourceFile};
use schema::{BootTable, DriveTable, EntryValue, MachineFile};

pub use crate::error::ConfigError;

/// The largest machine file picovmm reads: far beyond any real machine, small enough that a
/// wrong path (a disk image, a device) cannot make picovmm read gigabytes.
pub const MAX_FILE_BYTES: u64 = 1 << 20;

/// Reads at most `MAX_FILE_BYTES + 1` bytes of `path`, whatever it is. A FIFO is opened
/// without waiting for a writer (with none, it reads as empty); a terminal is refused, since
/// reading it would wait for someone to type.
fn read_bounded(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    use std::os::unix::io::AsRawFd;

    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    let fd = file.as_raw_fd();
    // SAFETY: `fd` is an open descriptor owned by `file`; isatty and fcntl only inspect or set
    // its flags.
    unsafe {
        if libc::isatty(fd) == 1 {
            return Err(std::io::Error::other(
                "it is a terminal: reading it would wait for input",
            ));
        }
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags < 0 || libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK) < 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Reads and parses the machine file at `path`.
pub fn load(path: &Path) -> Result<MachineSpec, ConfigError> {
    let read_error = |source| ConfigError::Read {
        path: path.to_owned(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(read_error)?;
    if meta.is_dir() {
        return Err(ConfigError::NotAFile {
            path: path.to_owned(),
            what: "a directory",
        });
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(ConfigError::TooLarge {
            path: path.to_owned(),
            len: meta.len(),
        });
    }
    let bytes = read_bounded(path).map_err(read_error)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        // A FIFO, a pipe or a device: its size is known only by reading it.
        return Err(ConfigError::StreamTooLarge {
            path: path.to_owned(),
        });
    }
    if bytes.is_empty() && !meta.is_file() {
        return Err(ConfigError::NotAFile {
            path: path.to_owned(),
            what: "a FIFO or device with nothing to read (a FIFO without a writer would block)",
        });
    }
    let source = match String::from_utf8(bytes) {
        Ok(text) => SourceFile {
            path: path.to_owned(),
            text,
        },
        Err(e) => {
            let bytes = e.as_bytes();
            let binary = bytes
                .iter()
                .any(|&b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r'));
            if binary {
                // Never echo binary into the user's terminal: say what the file looks like.
                let boot_sector = bytes.len() >= 512 && bytes[510..512] == [0x55, 0xAA];
                return Err(ConfigError::NotText {
                    path: path.to_owned(),
                    hint: if boot_sector {
                        "it looks like a boot image (a boot signature at byte 510): did you mean --image FILE or --drive FILE?"
                    } else {
                        "a machine file is TOML text: did you mean --image FILE or --drive FILE?"
                    },
                });
            }
            let text = String::from_utf8_lossy(bytes).into_owned();
            let offset = e.utf8_error().valid_up_to();
            let file = SourceFile {
                path: path.to_owned(),
                text,
            };
            let d = Diagnostic::new(
                Origin::File(offset..offset + 1),
                "the file is not valid UTF-8 text",
            );
            return Err(crate::diagnostic::Report::new(d, Some(&file)).into());
        }
    };
    from_source(source)
}

/// The built-in default machine ([`MachineSpec::default_machine`]) as a machine file, with a
/// boot image to fill in: what `picovmm machine --default` prints.
pub const DEFAULT_MACHINE: &str = include_str!("default.toml");

/// A machine file's text as it was at `path` (a snapshot keeps it): parsed as `load` parses
/// the file, relative paths meaning the file's folder.
pub fn load_text(path: &Path, text: String) -> Result<MachineSpec, ConfigError> {
    from_source(SourceFile {
        path: path.to_owned(),
        text,
    })
}

fn from_source(source: SourceFile) -> Result<MachineSpec, ConfigError> {
    let path = source.path.clone();
    let base_dir = path.parent().unwrap_or(Path::new("")).to_owned();
    match parse(&source.text, &base_dir) {
        Ok(mut spec) => {
            if spec.name.is_empty() {
                spec.name = path
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default();
            }
            spec.source = Some(source);
            Ok(spec)
        }
        Err(d) => Err(crate::diagnostic::Report::new(d, Some(&source)).into()),
    }
}

/// Parses machine-file `text`; relative paths are resolved against `base_dir`.
pub fn parse(text: &str, base_dir: &Path) -> Result<MachineSpec, Diagnostic> {
    let file: MachineFile = toml::from_str(text).map_err(|e| {
        let span = e.span().unwrap_or(0..0);
        Diagnostic::new(Origin::File(span), e.message().trim_end().to_owned())
    })?;
    let mut spec = MachineSpec::default_machine();
    spec.name = file.name.unwrap_or_default();
    if let Some(accel) = &file.accel {
        spec.accel = named(accel, "accelerator")?;
    }
    spec.unclaimed = match &file.unclaimed {
        None => UnclaimedPolicy::Log,
        Some(s) => named(s, "unclaimed-access policy")?,
    };
    spec.memory = file
        .memory
        .iter()
        .map(|m| {
            let m = m.get_ref();
            located(
                RamRegion {
                    base: m.base.get_ref().0,
                    size: m.size.get_ref().0,
                },
                m.base.span(),
            )
        })
        .collect();
    if let Some(boot) = &file.boot {
        apply_boot(&mut spec, boot, base_dir)?;
    }
    spec.devices = file
        .devices
        .iter()
        .map(|d| crate::devices::parse(d, base_dir))
        .collect::<Result<_, _>>()?;
    spec.drives = file
        .drives
        .iter()
        .map(|d| drive(d, base_dir))
        .collect::<Result<_, _>>()?;
    if let Some(debug) = &file.debug {
        if let Some(gdb) = &debug.gdb {
            let address =
                crate::units::listen_address(gdb.get_ref()).map_err(|message| at(gdb, message))?;
            spec.gdb = Some(located(address, gdb.span()));
        }
        if let Some(wait) = &debug.wait {
            if *wait.get_ref() && debug.gdb.is_none() {
                return Err(at(
                    wait,
                    "wait = true needs gdb = \"[HOST:]PORT\" in [debug]: nothing could continue the guest",
                ));
            }
            spec.gdb_wait = *wait.get_ref();
        }
    }
    if let Some(control) = &file.control {
        let socket = crate::units::control_socket(control.socket.get_ref())
            .map_err(|message| at(&control.socket, message))?;
        spec.control = Some(located(base_dir.join(socket), control.socket.span()));
    }
    Ok(spec)
}

fn apply_boot(spec: &mut MachineSpec, boot: &BootTable, base_dir: &Path) -> Result<(), Diagnostic> {
    if let Some(image) = &boot.image {
        spec.image = Some(located(base_dir.join(image.get_ref()), image.span()));
    }
    if let Some(load) = &boot.load {
        spec.load = located(load.get_ref().0, load.span());
    }
    if let Some(mode) = &boot.mode {
        spec.mode = located(named::<CpuMode>(mode, "CPU mode")?, mode.span());
    }
    if let Some(entry) = &boot.entry {
        let value = match entry.get_ref() {
            EntryValue::SegOff(text) => EntryAddress::SegOff(
                text.parse::<RealAddress>()
                    .map_err(|e| at(entry, e.to_string()))?,
            ),
            EntryValue::Linear(addr) => EntryAddress::Linear(*addr),
        };
        spec.entry = Some(located(value, entry.span()));
    }
    if let Some(format) = &boot.format {
        spec.format = located(named::<ImageFormat>(format, "image format")?, format.span());
    }
    if let Some(cmdline) = &boot.cmdline {
        spec.cmdline = located(cmdline.get_ref().clone(), cmdline.span());
    }
    if let Some(stack) = &boot.stack {
        spec.stack = located(stack.get_ref().0, stack.span());
    }
    Ok(())
}

fn drive(table: &Spanned<DriveTable>, base_dir: &Path) -> Result<Located<DriveSpec>, Diagnostic> {
    let d = table.get_ref();
    let kind = match &d.kind {
        None => None,
        Some(k) => Some(match k.get_ref().as_str() {
            "floppy" => vmm_bios::DriveKind::Floppy,
            "hd" => vmm_bios::DriveKind::Hard,
            other => {
                return Err(at(
                    k,
                    format!("unknown drive kind \"{other}\"; allowed: floppy, hd"),
                ))
            }
        }),
    };
    let flag = |f: &Option<Spanned<bool>>| f.as_ref().is_some_and(|b| *b.get_ref());
    let mode = match (flag(&d.readonly), flag(&d.snapshot)) {
        (true, true) => return Err(at(
            table,
            "a drive is readonly or snapshot, not both (snapshot already keeps the file as it is)",
        )),
        (true, false) => vmm_bios::WriteMode::ReadOnly,
        (false, true) => vmm_bios::WriteMode::Snapshot,
        (false, false) => vmm_bios::WriteMode::Write,
    };
    Ok(located(
        DriveSpec {
            path: base_dir.join(d.image.get_ref()),
            kind,
            mode,
        },
        d.image.span(),
    ))
}

#[cfg(test)]
mod default_text_tests {
    use super::*;

    /// The printed default machine builds what the built-in one does, but for its image.
    #[test]
    fn test_the_default_machine_file_is_the_built_in_default_machine() {
        let file = load_text(Path::new("default.toml"), DEFAULT_MACHINE.to_owned())
            .expect("the default machine file parses");
        let built_in = MachineSpec::default_machine();
        let values = |spec: &MachineSpec| {
            (
                spec.name.clone(),
                spec.memory.iter().map(|r| r.value).collect::<Vec<_>>(),
                spec.devices
                    .iter()
                    .map(|d| d.value.clone())
                    .collect::<Vec<_>>(),
                (spec.load.value, spec.mode.value, spec.stack.value),
                (spec.format.value, spec.entry.as_ref().map(|e| e.value)),
                (
                    spec.unclaimed,
                    spec.accel,
                    spec.drives.len(),
                    spec.gdb.is_some(),
                ),
            )
        };
        assert_eq!(values(&file), values(&built_in));
        let image = file.image.map(|i| i.value);
        assert_eq!(image.as_deref(), Some(Path::new("boot.bin")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::DeviceKind;
    use std::path::PathBuf;

    const VALID: &str = r#"
name = "t"

[[memory]]
base = 0
size = "640 KiB"

[boot]
image = "hello.bin"
load = 0x7c00
entry = "0000:7c00"

[[device]]
type = "vga-text"

[[device]]
type = "debugcon"
port = 0xe9
"#;

    fn error_of(text: &str) -> String {
        let source = SourceFile {
            path: PathBuf::from("m.toml"),
            text: text.to_owned(),
        };
        match parse(text, Path::new("dir")) {
            Ok(_) => "parsed".to_owned(),
            Err(d) => d
                .render(Some(&source))
                .lines()
                .next()
                .unwrap_or_default()
                .to_owned(),
        }
    }

    #[test]
    fn test_parse_valid_file_resolves_values() {
        let spec = parse(VALID, Path::new("dir")).expect("valid");
        assert_eq!(spec.name, "t");
        assert_eq!(
            spec.memory[0].value,
            RamRegion {
                base: 0,
                size: 0xA_0000
            }
        );
        assert_eq!(
            spec.image.map(|i| i.value),
            Some(PathBuf::from("dir/hello.bin"))
        );
        assert_eq!(spec.devices[1].value, DeviceKind::Debugcon { port: 0xE9 });
    }

    #[test]
    fn test_parse_unknown_top_level_key_is_rejected() {
        let text = VALID.replace("name = \"t\"", "nmae = \"t\"");
        assert!(error_of(&text).starts_with("m.toml:2:1: unknown field `nmae`, expected one of"));
    }

    #[test]
    fn test_parse_unknown_device_type_lists_allowed() {
        let text = VALID.replace("type = \"debugcon\"", "type = \"floppy\"");
        assert_eq!(
            error_of(&text),
            "m.toml:17:8: unknown device type \"floppy\"; allowed: vga-text, debugcon, isa-debug-exit, serial, pic, pit, rtc, i8042, bios, plugin"
        );
    }

    #[test]
    fn test_parse_port_past_ffff_is_rejected() {
        let text = VALID.replace("port = 0xe9", "port = 0x10000");
        assert_eq!(
            error_of(&text),
            "m.toml:18:8: port 0x10000 is past the last port, 0xffff"
        );
    }

    #[test]
    fn test_parse_bad_size_unit_is_rejected() {
        let text = VALID.replace("\"640 KiB\"", "\"640 KB\"");
        assert!(error_of(&text).starts_with("m.toml:6:8: invalid size \"640 KB\""));
    }

    #[test]
    fn test_parse_negative_base_is_rejected() {
        let text = VALID.replace("base = 0", "base = -4096");
        assert!(error_of(&text).starts_with("m.toml:5:8: "));
    }

    #[test]
    fn test_parse_bad_entry_is_rejected() {
        let text = VALID.replace("\"0000:7c00\"", "\"7c00\"");
        assert_eq!(
            error_of(&text),
            "m.toml:11:9: expected SEG:OFF with two hexadecimal numbers of at most 4 digits, like 0000:7c00"
        );
    }

    #[test]
    fn test_parse_unknown_mode_lists_allowed() {
        let text = VALID.replace("load = 0x7c00", "mode = \"unreal\"");
        assert_eq!(
            error_of(&text),
            "m.toml:10:8: unknown CPU mode \"unreal\"; allowed: real, protected, long"
        );
    }

    #[test]
    fn test_parse_port_key_on_vga_is_rejected() {
        let text = VALID.replace("type = \"vga-text\"", "type = \"vga-text\"\nport = 1");
        assert_eq!(
            error_of(&text),
            "m.toml:15:8: key `port` does not apply to a vga-text device; it takes: mmio, mode"
        );
    }

    #[test]
    fn test_parse_syntax_error_points_at_it() {
        let text = VALID.replace("load = 0x7c00", "load = ");
        assert!(error_of(&text).starts_with("m.toml:10:8: "));
    }
}
