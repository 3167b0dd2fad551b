//! A machine description as a machine file: the effective machine after defaults (what `check
//! --print` shows), which `check` and `run` read back to the same machine. Paths are absolute,
//! so the file works wherever it is saved.

use std::fmt::Write as _;
use std::path::Path;

use vmm_devices::keymap::{self, KeyEvent};

use crate::named::Named;
use crate::spec::{DeviceKind, DeviceRange, DriveSpec, EntryAddress, MachineSpec, PluginSpec};
use crate::units::format_size;

/// `text` as a TOML basic string.
fn quote(text: &str) -> String {
    toml::Value::String(text.to_owned()).to_string()
}

fn path(p: &Path) -> String {
    let absolute = std::env::current_dir().map_or_else(|_| p.to_path_buf(), |cwd| cwd.join(p));
    // `machines/../guests/x.bin` as `guests/x.bin` (lexically: a symlink is taken as a folder).
    let mut clean = std::path::PathBuf::new();
    for part in absolute.components() {
        match part {
            std::path::Component::ParentDir => {
                clean.pop();
            }
            std::path::Component::CurDir => {}
            other => clean.push(other),
        }
    }
    quote(&clean.to_string_lossy())
}

/// A size as the machine file writes it: with a unit when it has one, else in bytes.
fn size(bytes: u64) -> String {
    let text = format_size(bytes);
    if text.ends_with(" B") {
        bytes.to_string()
    } else {
        quote(&text)
    }
}

/// `spec` as a machine file.
pub fn to_toml(spec: &MachineSpec) -> String {
    let mut out = String::new();
    let from = spec.source.as_ref().map_or_else(
        || "the default machine".to_owned(),
        |s| s.path.display().to_string(),
    );
    let _ = writeln!(
        out,
        "# The effective machine of {from}, every default filled in."
    );
    let _ = writeln!(out, "name = {}", quote(&spec.name));
    let _ = writeln!(out, "unclaimed = {}", quote(spec.unclaimed.name()));
    let _ = writeln!(out, "accel = {}", quote(spec.accel.name()));
    for region in &spec.memory {
        let r = region.value;
        let _ = write!(
            out,
            "\n[[memory]]\nbase = {:#x}\nsize = {}\n",
            r.base,
            size(r.size)
        );
    }
    boot(spec, &mut out);
    for device in &spec.devices {
        self::device(&device.value, &mut out);
    }
    for d in &spec.drives {
        drive(&d.value, &mut out);
    }
    if let Some(gdb) = &spec.gdb {
        let _ = write!(
            out,
            "\n[debug]\ngdb = {}\nwait = {}\n",
            quote(&gdb.value),
            spec.gdb_wait
        );
    }
    if let Some(socket) = &spec.control {
        let text = format!("unix:{}", path(&socket.value).trim_matches('"'));
        let _ = write!(out, "\n[control]\nsocket = {}\n", quote(&text));
    }
    out
}

fn boot(spec: &MachineSpec, out: &mut String) {
    out.push_str("\n[boot]\n");
    if let Some(image) = &spec.image {
        let _ = writeln!(out, "image = {}", path(&image.value));
    }
    // An ELF or multiboot image says where it loads: the default address is no part of it.
    let implied = spec.load.origin == crate::spec::Origin::Default
        && spec.image.as_ref().is_some_and(|i| loads_itself(&i.value));
    if !implied {
        let _ = writeln!(out, "load = {:#x}", spec.load.value);
    }
    let _ = writeln!(out, "mode = {}", quote(spec.mode.value.name()));
    match spec.entry.as_ref().map(|e| &e.value) {
        Some(EntryAddress::SegOff(a)) => {
            let _ = writeln!(out, "entry = {}", quote(&a.to_string()));
        }
        Some(EntryAddress::Linear(a)) => {
            let _ = writeln!(out, "entry = {a:#x}");
        }
        None => {}
    }
    let _ = writeln!(out, "stack = {:#x}", spec.stack.value);
    let _ = writeln!(out, "format = {}", quote(spec.format.value.name()));
    if !spec.cmdline.value.is_empty() {
        let _ = writeln!(out, "cmdline = {}", quote(&spec.cmdline.value));
    }
}

/// Whether the image at `path` is ELF or carries a multiboot header (in its first 8 KiB).
fn loads_itself(path: &Path) -> bool {
    use std::io::Read;
    let mut head = Vec::new();
    let read = std::fs::File::open(path).and_then(|f| f.take(8192).read_to_end(&mut head));
    if read.is_err() {
        return false;
    }
    head.starts_with(b"\x7fELF")
        || head
            .chunks_exact(4)
            .any(|w| w == 0x1BAD_B002u32.to_le_bytes())
}

fn device(kind: &DeviceKind, out: &mut String) {
    let _ = write!(
        out,
        "\n[[device]]\ntype = {}\n",
        quote(kind.device_type().name())
    );
    match kind {
        DeviceKind::VgaText { mmio, mode } => {
            let _ = write!(out, "mmio = {mmio:#x}\nmode = {}\n", quote(mode.name()));
        }
        DeviceKind::Debugcon { port } | DeviceKind::IsaDebugExit { port } => {
            let _ = writeln!(out, "port = {port:#x}");
        }
        DeviceKind::Serial { port, irq, output } => {
            let _ = write!(out, "port = {port:#x}\nirq = {irq}\n");
            if let Some(file) = output {
                let _ = writeln!(out, "output = {}", path(&file.value));
            }
        }
        DeviceKind::I8042 { keys, mouse } => i8042(keys, *mouse, out),
        DeviceKind::Plugin(plugin) => self::plugin(plugin, out),
        DeviceKind::Pic | DeviceKind::Pit | DeviceKind::Rtc | DeviceKind::Bios => {}
    }
}

fn i8042(keys: &[KeyEvent], mouse: bool, out: &mut String) {
    if mouse {
        out.push_str("mouse = true\n");
    }
    if keys.is_empty() {
        return;
    }
    let _ = match typed(keys) {
        Some(text) => writeln!(out, "keys = {}", quote(&text)),
        None => writeln!(
            out,
            "# keys: {} key events that no typed text gives",
            keys.len()
        ),
    };
}

fn plugin(plugin: &PluginSpec, out: &mut String) {
    let library = &plugin.library.value;
    let library = if library.contains('/') || library.ends_with(".so") {
        path(&plugin.base_dir.join(library))
    } else {
        quote(library)
    };
    let _ = writeln!(out, "library = {library}");
    let _ = match plugin.range {
        DeviceRange::Port { base, len } => writeln!(out, "port = {base:#x}\nports = {len}"),
        DeviceRange::Mmio { base, len } => writeln!(out, "mmio = {base:#x}\nsize = {}", size(len)),
    };
    match plugin.irqs.as_slice() {
        [] => {}
        [one] => {
            let _ = writeln!(out, "irq = {one}");
        }
        many => {
            let list: Vec<String> = many.iter().map(u8::to_string).collect();
            let _ = writeln!(out, "irq = [{}]", list.join(", "));
        }
    }
    if !plugin.config_toml.trim().is_empty() {
        let _ = write!(
            out,
            "\n[device.config]\n{}\n",
            plugin.config_toml.trim_end()
        );
    }
}

fn drive(d: &DriveSpec, out: &mut String) {
    let _ = write!(out, "\n[[drive]]\nimage = {}\n", path(&d.path));
    match d.kind {
        Some(vmm_bios::DriveKind::Floppy) => out.push_str("kind = \"floppy\"\n"),
        Some(vmm_bios::DriveKind::Hard) => out.push_str("kind = \"hd\"\n"),
        None => {}
    }
    match d.mode {
        vmm_bios::WriteMode::ReadOnly => out.push_str("readonly = true\n"),
        vmm_bios::WriteMode::Snapshot => out.push_str("snapshot = true\n"),
        vmm_bios::WriteMode::Write => {}
    }
}

/// Text that types exactly `keys`, if some does: each key pressed and released, with Shift
/// for what needs it and `{Name}` for keys that type no character.
fn typed(keys: &[KeyEvent]) -> Option<String> {
    let chars = ('\u{20}'..='\u{7e}').chain(['\n', '\t', '\x08', '\x1b']);
    let mut text = String::new();
    let mut rest = keys;
    while !rest.is_empty() {
        let found = chars
            .clone()
            .map(|c| (c.to_string(), keymap::type_text(&c.to_string()).ok()))
            .chain(keymap::NAMED_KEYS.iter().map(|(name, _)| {
                let spelled = format!("{{{name}}}");
                let events = keymap::type_text(&spelled).ok();
                (spelled, events)
            }))
            .find_map(|(spelled, events)| {
                let events = events?;
                rest.starts_with(&events).then_some((spelled, events.len()))
            })?;
        text.push_str(&found.0);
        rest = &rest[found.1..];
    }
    (keymap::type_text(&text).ok()? == keys).then_some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_typed_gives_back_text_with_shift_and_named_keys() {
        let keys = keymap::type_text("Hi {F1}x\n").unwrap();
        assert_eq!(typed(&keys).as_deref(), Some("Hi {F1}x\n"));
    }

    #[test]
    fn test_typed_of_a_lone_release_is_none() {
        let mut keys = keymap::type_text("a").unwrap();
        keys.remove(0);
        assert_eq!(typed(&keys), None);
    }

    #[test]
    fn test_sizes_have_units_when_they_fit_one() {
        assert_eq!(
            (size(640 * 1024), size(1000)),
            ("\"640 KiB\"".to_owned(), "1000".to_owned())
        );
    }
}
