//! Plugin libraries: found on the plugin path and loaded (dlopen), each checked to serve the
//! accesses its device's range needs.

use vmm_devices::plugin::PluginLibrary;

use crate::diagnostic::Diagnostic;
use crate::plugin_path::PluginPath;
use crate::spec::{DeviceKind, DeviceRange, MachineSpec};

/// Finds and loads each plugin device's library, and checks it serves the accesses its
/// range needs.
pub fn load_plugins(
    spec: &MachineSpec,
    path: &PluginPath,
) -> Result<Vec<Option<PluginLibrary>>, Diagnostic> {
    let mut loaded = Vec::new();
    for device in &spec.devices {
        let DeviceKind::Plugin(plugin) = &device.value else {
            loaded.push(None);
            continue;
        };
        let fail = |message: String| Diagnostic::new(plugin.library.origin.clone(), message);
        let file = path
            .resolve(&plugin.library.value, &plugin.base_dir)
            .map_err(fail)?;
        let library = PluginLibrary::load(&file).map_err(|e| fail(e.to_string()))?;
        let info = library.info();
        let serves = match plugin.range {
            DeviceRange::Port { .. } => info.port,
            DeviceRange::Mmio { .. } => info.mmio,
        };
        if !serves {
            let wanted = match plugin.range {
                DeviceRange::Port { .. } => "port",
                DeviceRange::Mmio { .. } => "MMIO",
            };
            return Err(fail(format!(
                "plugin {} serves {} accesses, not {wanted}: give it {}",
                info.name,
                info.accesses(),
                if info.port { "`port`" } else { "`mmio`" }
            )));
        }
        loaded.push(Some(library));
    }
    Ok(loaded)
}
