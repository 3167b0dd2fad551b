//! Reading a machine file: TOML text to a [`MachineSpec`], with every error pointing at
//! `file:line:column`.

mod schema;

use std::path::{Path, PathBuf};

use toml::Spanned;
use vmm_core::layout::VGA_TEXT_BASE;
use vmm_core::{CpuMode, RamRegion, RealAddress, UnclaimedPolicy};
use vmm_devices::{debug_exit, debugcon};

use crate::diagnostic::Diagnostic;
use crate::spec::{DeviceKind, Located, MachineSpec, Origin, SourceFile, VgaMode};
use schema::{BootTable, DeviceTable, EntryValue, MachineFile, Unsigned};

/// The device types a machine file may name.
pub const DEVICE_TYPES: &str = "vga-text, debugcon, isa-debug-exit";
/// The CPU modes a machine file may name.
pub const CPU_MODES: &str = "real";

/// Errors reading a machine file.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file could not be read.
    #[error("cannot read machine file {path}")]
    Read {
        /// The path.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a valid machine description.
    #[error("{rendered}")]
    Invalid {
        /// The rendered diagnostic.
        rendered: String,
    },
}

fn located<T>(value: T, span: std::ops::Range<usize>) -> Located<T> {
    Located {
        value,
        origin: Origin::File(span),
    }
}

fn at<T>(spanned: &Spanned<T>, message: impl Into<String>) -> Diagnostic {
    Diagnostic::new(Origin::File(spanned.span()), message)
}

/// Reads and parses the machine file at `path`.
pub fn load(path: &Path) -> Result<MachineSpec, Error> {
    let bytes = std::fs::read(path).map_err(|source| Error::Read {
        path: path.to_owned(),
        source,
    })?;
    let source = match String::from_utf8(bytes) {
        Ok(text) => SourceFile {
            path: path.to_owned(),
            text,
        },
        Err(e) => {
            let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
            let offset = e.utf8_error().valid_up_to();
            let file = SourceFile {
                path: path.to_owned(),
                text,
            };
            let d = Diagnostic::new(
                Origin::File(offset..offset + 1),
                "the file is not valid UTF-8 text",
            );
            return Err(Error::Invalid {
                rendered: d.render(Some(&file)),
            });
        }
    };
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
        Err(d) => Err(Error::Invalid {
            rendered: d.render(Some(&source)),
        }),
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
    spec.unclaimed = match &file.unclaimed {
        None => UnclaimedPolicy::Log,
        Some(s) => match s.get_ref().as_str() {
            "log" => UnclaimedPolicy::Log,
            "stop" => UnclaimedPolicy::Stop,
            other => {
                return Err(at(
                    s,
                    format!("unknown unclaimed-access policy \"{other}\"; allowed: log, stop"),
                ))
            }
        },
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
    spec.devices = file.devices.iter().map(device).collect::<Result<_, _>>()?;
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
        let value = match mode.get_ref().as_str() {
            "real" => CpuMode::Real,
            other => {
                return Err(at(
                    mode,
                    format!("unknown CPU mode \"{other}\"; allowed: {CPU_MODES}"),
                ))
            }
        };
        spec.mode = located(value, mode.span());
    }
    if let Some(entry) = &boot.entry {
        let value = match entry.get_ref() {
            EntryValue::SegOff(text) => text
                .parse::<RealAddress>()
                .map_err(|e| at(entry, e.to_string()))?,
            EntryValue::Linear(addr) => RealAddress::from_linear(*addr).ok_or_else(|| {
                at(
                    entry,
                    format!("entry {addr:#x} is beyond real mode's reach (at most 0xfffff)"),
                )
            })?,
        };
        spec.entry = Some(located(value, entry.span()));
    }
    if let Some(stack) = &boot.stack {
        spec.stack = located(stack.get_ref().0, stack.span());
    }
    Ok(())
}

fn port(value: &Spanned<Unsigned>) -> Result<u16, Diagnostic> {
    let raw = value.get_ref().0;
    u16::try_from(raw).map_err(|_| {
        at(
            value,
            format!("port {raw:#x} is past the last port, 0xffff"),
        )
    })
}

fn not_allowed(value: Option<&Spanned<Unsigned>>, key: &str, kind: &str) -> Result<(), Diagnostic> {
    match value {
        Some(v) => Err(at(
            v,
            format!("key `{key}` does not apply to a {kind} device"),
        )),
        None => Ok(()),
    }
}

fn mode_not_allowed(value: Option<&Spanned<String>>, kind: &str) -> Result<(), Diagnostic> {
    match value {
        Some(v) => Err(at(
            v,
            format!("key `mode` does not apply to a {kind} device"),
        )),
        None => Ok(()),
    }
}

fn device(table: &Spanned<DeviceTable>) -> Result<Located<DeviceKind>, Diagnostic> {
    let d = table.get_ref();
    let kind_name = d.kind.get_ref().as_str();
    let kind = match kind_name {
        "vga-text" => {
            not_allowed(d.port.as_ref(), "port", kind_name)?;
            let mode = match d.mode.as_ref() {
                None => VgaMode::default(),
                Some(m) => match m.get_ref().as_str() {
                    "memory" => VgaMode::Memory,
                    "trap" => VgaMode::Trap,
                    other => {
                        return Err(at(
                            m,
                            format!("unknown vga-text mode \"{other}\"; allowed: memory, trap"),
                        ))
                    }
                },
            };
            DeviceKind::VgaText {
                mmio: d.mmio.as_ref().map_or(VGA_TEXT_BASE, |m| m.get_ref().0),
                mode,
            }
        }
        "debugcon" => {
            not_allowed(d.mmio.as_ref(), "mmio", kind_name)?;
            mode_not_allowed(d.mode.as_ref(), kind_name)?;
            DeviceKind::Debugcon {
                port: d
                    .port
                    .as_ref()
                    .map(port)
                    .transpose()?
                    .unwrap_or(debugcon::DEFAULT_PORT),
            }
        }
        "isa-debug-exit" => {
            not_allowed(d.mmio.as_ref(), "mmio", kind_name)?;
            mode_not_allowed(d.mode.as_ref(), kind_name)?;
            let port = d
                .port
                .as_ref()
                .map(port)
                .transpose()?
                .unwrap_or(debug_exit::DEFAULT_PORT);
            DeviceKind::IsaDebugExit { port }
        }
        other => {
            return Err(at(
                &d.kind,
                format!("unknown device type \"{other}\"; allowed: {DEVICE_TYPES}"),
            ))
        }
    };
    let span = d
        .mmio
        .as_ref()
        .or(d.port.as_ref())
        .map_or_else(|| d.kind.span(), Spanned::span);
    Ok(located(kind, span))
}

#[cfg(test)]
mod tests {
    use super::*;

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
            "m.toml:17:8: unknown device type \"floppy\"; allowed: vga-text, debugcon, isa-debug-exit"
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
        let text = VALID.replace("load = 0x7c00", "mode = \"long\"");
        assert_eq!(
            error_of(&text),
            "m.toml:10:8: unknown CPU mode \"long\"; allowed: real"
        );
    }

    #[test]
    fn test_parse_port_key_on_vga_is_rejected() {
        let text = VALID.replace("type = \"vga-text\"", "type = \"vga-text\"\nport = 1");
        assert_eq!(
            error_of(&text),
            "m.toml:15:8: key `port` does not apply to a vga-text device"
        );
    }

    #[test]
    fn test_parse_syntax_error_points_at_it() {
        let text = VALID.replace("load = 0x7c00", "load = ");
        assert!(error_of(&text).starts_with("m.toml:10:8: "));
    }
}
