//! `picovmm plugins`: list the plugins on the plugin path.

use std::path::PathBuf;

use vmm_devices::plugin::PluginLibrary;

use crate::error::CliError as Error;
use crate::status;
use vmm_machine::plugin_path::PluginPath;

/// Lists every plugin library on the path (name, version, ABI, accesses, file), and every
/// `.so` there that is not a usable plugin, with the reason, on stderr.
pub fn list(plugin_dirs: &[PathBuf]) -> Result<i32, Error> {
    let path = search_path(plugin_dirs)?;
    let mut found = 0;
    for file in path.libraries() {
        match PluginLibrary::load(&file) {
            Ok(library) => {
                let info = library.info();
                crate::outln!(
                    "{:<16} {:<10} ABI {}.{}  {:<11} {}",
                    info.name,
                    info.version,
                    info.abi.0,
                    info.abi.1,
                    info.accesses(),
                    file.display()
                );
                found += 1;
            }
            Err(e) => crate::errln!("picovmm: skipping {}: {e}", file.display()),
        }
    }
    if found == 0 {
        let dirs: Vec<String> = path
            .dirs()
            .iter()
            .map(|d| d.display().to_string())
            .collect();
        crate::errln!("picovmm: no plugins found in {}", dirs.join(", "));
    }
    Ok(status::HALTED)
}

/// The plugin search path with the `--plugin-dir` folders first; a folder that is not there is
/// a usage error (a typo would otherwise only show as a plugin not found).
pub fn search_path(plugin_dirs: &[std::path::PathBuf]) -> Result<PluginPath, Error> {
    if let Some(dir) = plugin_dirs.iter().find(|d| !d.is_dir()) {
        return Err(Error::Usage(format!(
            "--plugin-dir {}: no such folder",
            dir.display()
        )));
    }
    Ok(PluginPath::new(plugin_dirs))
}
