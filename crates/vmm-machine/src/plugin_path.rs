//! Where plugins are found: `--plugin-dir` folders (in the order given), then the folders in
//! `PICOVMM_PLUGIN_PATH` (colon-separated), then the folder of the `picovmm` binary and its
//! `plugins/` subfolder, then the installed folders: `PREFIX/lib/picovmm/plugins` for a
//! picovmm in `PREFIX/bin` (what `install.sh` fills), and `~/.local/lib/picovmm/plugins`. A machine file names a plugin by name (looked up there) or by path
//! (relative to the machine file).

use std::path::{Path, PathBuf};

/// The environment variable with extra plugin folders.
pub const ENV_VAR: &str = "PICOVMM_PLUGIN_PATH";

/// The plugin search path.
#[derive(Clone, Debug, Default)]
pub struct PluginPath {
    dirs: Vec<PathBuf>,
}

impl PluginPath {
    /// `--plugin-dir` folders, then `PICOVMM_PLUGIN_PATH`, then next to the binary.
    pub fn new(flag_dirs: &[PathBuf]) -> Self {
        let mut dirs: Vec<PathBuf> = flag_dirs.to_vec();
        if let Some(env) = std::env::var_os(ENV_VAR) {
            dirs.extend(std::env::split_paths(&env).filter(|p| !p.as_os_str().is_empty()));
        }
        if let Some(exe_dir) = std::env::current_exe()
            .ok()
            .and_then(|e| e.parent().map(Path::to_owned))
        {
            dirs.push(exe_dir.join("plugins"));
            if let Some(prefix) = exe_dir.parent() {
                dirs.push(prefix.join("lib/picovmm/plugins"));
            }
            dirs.push(exe_dir);
        }
        if let Some(home) = std::env::var_os("HOME") {
            let user = PathBuf::from(home).join(".local/lib/picovmm/plugins");
            if !dirs.contains(&user) {
                dirs.push(user);
            }
        }
        PluginPath { dirs }
    }

    /// The folders, in search order.
    pub fn dirs(&self) -> &[PathBuf] {
        &self.dirs
    }

    /// The file names a plugin called `name` may have: `lib<name>.so` (C), with dashes as
    /// underscores (what Cargo names a Rust cdylib), and `<name>.so`.
    pub fn file_names(name: &str) -> Vec<String> {
        let mut names = vec![format!("lib{name}.so")];
        let underscored = format!("lib{}.so", name.replace('-', "_"));
        if underscored != names[0] {
            names.push(underscored);
        }
        names.push(format!("{name}.so"));
        names
    }

    /// The library a machine file means by `library`: a path when it has a `/` or ends in
    /// `.so` (relative to `base_dir`), otherwise a name looked up on the path.
    pub fn resolve(&self, library: &str, base_dir: &Path) -> Result<PathBuf, String> {
        if library.contains('/') || library.ends_with(".so") {
            return Ok(base_dir.join(library));
        }
        let names = Self::file_names(library);
        for dir in &self.dirs {
            for name in &names {
                let candidate = dir.join(name);
                if candidate.is_file() {
                    return Ok(candidate);
                }
            }
        }
        let searched: Vec<String> = self.dirs.iter().map(|d| d.display().to_string()).collect();
        Err(format!(
            "plugin \"{library}\" not found: looked for {} in {} (add a folder with --plugin-dir or {ENV_VAR}, or give a path)",
            names.join(", "),
            searched.join(", ")
        ))
    }

    /// Every `.so` file in the search path's folders, in search order, without duplicates.
    pub fn libraries(&self) -> Vec<PathBuf> {
        let mut found: Vec<PathBuf> = Vec::new();
        for dir in &self.dirs {
            let Ok(entries) = std::fs::read_dir(dir) else {
                continue;
            };
            let mut here: Vec<PathBuf> = entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "so") && p.is_file())
                .collect();
            here.sort();
            for path in here {
                if !found.contains(&path) {
                    found.push(path);
                }
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_file_names_include_cargo_form() {
        assert_eq!(
            PluginPath::file_names("cmos-rtc"),
            vec!["libcmos-rtc.so", "libcmos_rtc.so", "cmos-rtc.so"]
        );
    }

    #[test]
    fn test_resolve_path_is_relative_to_machine_file() {
        let path = PluginPath::default();
        assert_eq!(
            path.resolve("../x/libfoo.so", Path::new("machines")),
            Ok(PathBuf::from("machines/../x/libfoo.so"))
        );
    }

    #[test]
    fn test_resolve_missing_name_lists_what_was_searched() {
        let path = PluginPath {
            dirs: vec![PathBuf::from("/nonexistent")],
        };
        assert_eq!(
            path.resolve("rtc", Path::new(".")),
            Err("plugin \"rtc\" not found: looked for librtc.so, rtc.so in /nonexistent (add a folder with \
                 --plugin-dir or PICOVMM_PLUGIN_PATH, or give a path)"
                .to_owned())
        );
    }
}
