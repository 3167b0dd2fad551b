//! What a plugin instance knows of its surroundings (ABI 1.1's machine extension): its name on
//! the board, the machine file's folder, and its `config` table, looked up by dotted key, the
//! same at `picovmm check` and at run time.

use std::path::Path;

use vmm_devices::plugin::ConfigValue;

/// A plugin instance's name, folder and configuration.
#[derive(Clone, Debug, Default)]
pub struct PluginSurroundings {
    /// The device's name on the board ("cmos-rtc0").
    pub name: String,
    /// The machine file's folder (empty for the current folder).
    pub dir: String,
    /// The `config` table.
    pub config: toml::Table,
}

impl PluginSurroundings {
    /// Surroundings from the machine file's folder and the config as TOML text.
    pub fn new(name: String, dir: &Path, config_toml: &str) -> Self {
        PluginSurroundings {
            name,
            dir: dir.to_string_lossy().into_owned(),
            config: toml::from_str(config_toml).unwrap_or_default(),
        }
    }

    /// The value at dotted `key` ("uart.baud").
    pub fn value(&self, key: &str) -> Option<ConfigValue<'_>> {
        let mut parts = key.split('.');
        let mut value = self.config.get(parts.next()?)?;
        for part in parts {
            value = value.as_table()?.get(part)?;
        }
        Some(match value {
            toml::Value::Integer(i) => ConfigValue::Int(*i),
            toml::Value::String(s) => ConfigValue::Str(s),
            toml::Value::Boolean(b) => ConfigValue::Bool(*b),
            toml::Value::Table(_) => ConfigValue::Table,
            _ => ConfigValue::Other,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_dotted_keys_reach_nested_tables() {
        let s = PluginSurroundings::new(
            "x0".into(),
            Path::new("m"),
            "input = \"in.txt\"\nirq_enabled = true\n[uart]\nbaud = 9600\n",
        );
        assert_eq!(s.value("input"), Some(ConfigValue::Str("in.txt")));
        assert_eq!(s.value("irq_enabled"), Some(ConfigValue::Bool(true)));
        assert_eq!(s.value("uart"), Some(ConfigValue::Table));
        assert_eq!(s.value("uart.baud"), Some(ConfigValue::Int(9600)));
        assert_eq!(s.value("uart.parity"), None);
        assert_eq!(s.value("input.x"), None);
    }
}
