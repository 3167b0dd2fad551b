//! `picovmm check`: validate a machine file and print what picovmm would build.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::diagnostic::Report;
use crate::error::Error;
use crate::plugin_path::PluginPath;
use crate::spec::DeviceKind;
use crate::units::format_size;
use crate::validate::{validate, ValidMachine};
use crate::{config, status};

/// Validates the machine file at `path` and prints its resolved memory map and devices.
pub fn check(path: &Path, plugin_dirs: &[PathBuf]) -> Result<i32, Error> {
    let spec = config::load(path)?;
    let source = spec.source.clone();
    let valid = validate(spec, &PluginPath::new(plugin_dirs))
        .map_err(|d| Report::new(d, source.as_ref()))?;
    crate::out!("{}", describe(&valid));
    Ok(status::HALTED)
}

/// The resolved machine, as `check` prints it.
pub fn describe(valid: &ValidMachine) -> String {
    let spec = &valid.spec;
    let mut out = String::new();
    let origin = spec
        .source
        .as_ref()
        .map(|s| format!(" ({})", s.path.display()))
        .unwrap_or_default();
    // Writing to a String cannot fail.
    let _ = writeln!(out, "machine {}{origin}", spec.name);
    let _ = writeln!(out, "memory:");
    for r in &spec.memory {
        let _ = writeln!(
            out,
            "  [{:#x}, {:#x})  {}",
            r.value.base,
            r.value.end(),
            format_size(r.value.size)
        );
    }
    let _ = writeln!(out, "boot:");
    if let Some(image) = &spec.image {
        let _ = writeln!(
            out,
            "  image  {} ({} bytes)",
            image.value.display(),
            valid.image.len()
        );
    }
    if let Some(drive) = valid.boot_drive {
        let _ = writeln!(out, "  drive  {drive:02x}h's boot sector, through the BIOS");
    }
    let _ = writeln!(out, "  format {}", valid.plan.name());
    if matches!(valid.plan, crate::validate::LoadPlan::Flat) {
        let _ = writeln!(out, "  load   {:#x}", spec.load.value);
    }
    let _ = writeln!(out, "  mode   {}", valid.boot.mode.name());
    let _ = writeln!(out, "  entry  {}", valid.boot.entry);
    let _ = writeln!(out, "  stack  {:#x}", valid.boot.stack);
    let _ = writeln!(out, "devices:");
    for (i, d) in spec.devices.iter().enumerate() {
        let range = d
            .value
            .ranges()
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        let mode = match &d.value {
            DeviceKind::VgaText { mode, .. } => format!(" ({})", mode.name()),
            DeviceKind::Plugin(_) => valid
                .library(i)
                .map(|p| format!(" {} from {}", p.info(), p.path().display()))
                .unwrap_or_default(),
            DeviceKind::Serial { irq, .. } => format!(" irq {irq}"),
            DeviceKind::Pit => " irq 0".to_owned(),
            DeviceKind::I8042 { keys } if keys.is_empty() => " irq 1".to_owned(),
            DeviceKind::I8042 { keys } => {
                format!(" irq 1, {} key events typed at start", keys.len())
            }
            _ => String::new(),
        };
        let _ = writeln!(out, "  {:<15} {range}{mode}", d.value.type_name());
    }
    if !valid.drives.is_empty() {
        let _ = writeln!(out, "drives:");
        for d in &valid.drives {
            let g = d.disk.geometry();
            let mode = match d.disk.mode() {
                vmm_bios::WriteMode::Write => "",
                vmm_bios::WriteMode::ReadOnly => ", read-only",
                vmm_bios::WriteMode::Snapshot => ", snapshot (writes kept in memory)",
            };
            let _ = writeln!(
                out,
                "  {:02x}h  {} {} ({} sectors, CHS {}/{}/{}{mode})",
                d.number,
                d.disk.kind().name(),
                d.disk.path().display(),
                d.disk.sectors(),
                g.cylinders,
                g.heads,
                g.sectors
            );
        }
    }
    let _ = writeln!(out, "unclaimed accesses: {}", spec.unclaimed.name());
    if let Some(gdb) = &spec.gdb {
        let wait = if spec.gdb_wait {
            ", waiting before the first instruction"
        } else {
            ""
        };
        let _ = writeln!(out, "gdb stub: {}{wait}", gdb.value);
    }
    out
}
