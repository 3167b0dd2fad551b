//! `picovmm check`: validate a machine file and print what picovmm would build.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use vmm_devices::plugin::{ConfigValue, EventCallback, LogLevel, PluginDevice, PluginHost};

use crate::error::CliError as Error;
use crate::status;
use vmm_machine::config;
use vmm_machine::diagnostic::{Diagnostic, Report};
use vmm_machine::plugin_config::PluginSurroundings;
use vmm_machine::spec::DeviceKind;
use vmm_machine::units::format_size;
use vmm_machine::validate::{validate, ValidMachine};

/// Validates the machine file at `path` and prints its resolved memory map and devices (or,
/// with `print`, the effective machine as a machine file).
pub fn check(path: &Path, print: bool, plugin_dirs: &[PathBuf]) -> Result<i32, Error> {
    let spec = config::load(path)?;
    let source = spec.source.clone();
    let valid = validate(spec, &crate::plugins::search_path(plugin_dirs)?)
        .map_err(|d| Report::new(d, source.as_ref()))?;
    try_plugins(&valid).map_err(|d| Report::new(d, source.as_ref()))?;
    if print {
        crate::out!("{}", config::print::to_toml(&valid.spec).trim_end());
    } else {
        crate::out!("{}", describe(&valid));
    }
    Ok(status::HALTED)
}

/// Creates and destroys each plugin device, so that a configuration its plugin refuses is
/// caught here, pointing at the `config` table, and not when the machine runs.
fn try_plugins(valid: &ValidMachine) -> Result<(), Diagnostic> {
    let mut names = std::collections::HashMap::<String, usize>::new();
    for (i, d) in valid.spec.devices.iter().enumerate() {
        let (DeviceKind::Plugin(plugin), Some(library)) = (&d.value, valid.library(i)) else {
            continue;
        };
        let base = library.info().name.clone();
        let n = names.entry(base.clone()).or_default();
        let host = CheckHost {
            lines: plugin.irqs.len() as u32,
            next_id: AtomicU64::new(1),
            surroundings: PluginSurroundings::new(
                format!("{base}{n}"),
                &plugin.base_dir,
                &plugin.config_toml,
            ),
        };
        *n += 1;
        PluginDevice::create(library, Arc::new(host), &plugin.config_toml)
            .map_err(|e| Diagnostic::new(plugin.config_origin.clone(), e.to_string()))?;
    }
    Ok(())
}

/// The host a plugin sees during `check`: its surroundings are real; there is no guest (reads
/// and writes fail), lines and events are accepted and never fire.
struct CheckHost {
    lines: u32,
    next_id: AtomicU64,
    surroundings: PluginSurroundings,
}

impl PluginHost for CheckHost {
    fn log(&self, plugin: &str, level: LogLevel, message: &str) {
        let debug = std::env::var(vmm_machine::devices::plugin_host::LOG_ENV_VAR)
            .is_ok_and(|v| v == "debug");
        if level != LogLevel::Debug || debug {
            crate::errln!("picovmm: plugin {plugin}: {}: {message}", level.name());
        }
    }
    fn read_guest(&self, _addr: u64, _buf: &mut [u8]) -> bool {
        false
    }
    fn write_guest(&self, _addr: u64, _buf: &[u8]) -> bool {
        false
    }
    fn request_stop(&self, _value: u32) {}
    fn device_failed(&self, _message: String) {}
    fn irq_lines(&self) -> u32 {
        self.lines
    }
    fn set_irq(&self, line: u32, _high: bool) -> bool {
        line < self.lines
    }
    fn pulse_irq(&self, line: u32) -> bool {
        line < self.lines
    }
    fn watch_fd(&self, fd: i32, _callback: EventCallback) -> Option<u64> {
        (fd >= 0).then(|| self.next_id.fetch_add(1, Ordering::SeqCst))
    }
    fn add_timer(
        &self,
        _delay: std::time::Duration,
        _period: Option<std::time::Duration>,
        _callback: EventCallback,
    ) -> Option<u64> {
        Some(self.next_id.fetch_add(1, Ordering::SeqCst))
    }
    fn cancel_event(&self, id: u64) -> bool {
        id > 0 && id < self.next_id.load(Ordering::SeqCst)
    }
    fn instance_name(&self) -> &str {
        &self.surroundings.name
    }
    fn machine_dir(&self) -> &str {
        &self.surroundings.dir
    }
    fn config_value(&self, key: &str) -> Option<ConfigValue<'_>> {
        self.surroundings.value(key)
    }
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
    if matches!(valid.plan, vmm_machine::validate::LoadPlan::Flat) {
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
        let mode = d.value.describe(valid, i);
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
