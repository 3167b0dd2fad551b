//! A plugin for picovmm's fault-injection tests. It behaves as a one-byte latch on ports and on
//! MMIO, except in the callback its config names, where it returns an error or panics:
//!
//! ```toml
//! config = { panic_in = "port_write" }   # or fail_in = "..."
//! ```
//!
//! Callbacks: create, port_read, port_write, mmio_read, mmio_write, destroy (panic only).
#![deny(missing_docs)]

use picovmm_plugin::{abi, Host, Plugin};

/// The latch, and where it misbehaves.
pub struct Faulty {
    value: u8,
    panic_in: String,
    fail_in: String,
}

impl Faulty {
    fn misbehave(&self, callback: &str) -> Result<(), String> {
        if self.panic_in == callback {
            panic!("faulty plugin panics in {callback}, as configured");
        }
        if self.fail_in == callback {
            return Err(format!("faulty plugin fails in {callback}, as configured"));
        }
        Ok(())
    }
}

impl Plugin for Faulty {
    const NAME: &'static str = "faulty";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DESCRIPTION: &'static str = "test plugin that fails where its config says";
    const ACCESSES: u32 = abi::ACCESS_PORT | abi::ACCESS_MMIO;

    fn create(_host: Host, config_toml: &str) -> Result<Self, String> {
        let table: toml::Table = config_toml
            .parse()
            .map_err(|e: toml::de::Error| e.message().to_owned())?;
        let get = |key: &str| {
            table
                .get(key)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_owned()
        };
        let faulty = Faulty {
            value: 0,
            panic_in: get("panic_in"),
            fail_in: get("fail_in"),
        };
        faulty.misbehave("create")?;
        Ok(faulty)
    }

    fn port_read(&mut self, _offset: u16, data: &mut [u8]) -> Result<(), String> {
        self.misbehave("port_read")?;
        data[0] = self.value;
        Ok(())
    }

    fn port_write(&mut self, _offset: u16, data: &[u8]) -> Result<(), String> {
        self.misbehave("port_write")?;
        self.value = data[0];
        Ok(())
    }

    fn mmio_read(&mut self, _offset: u64, data: &mut [u8]) -> Result<(), String> {
        self.misbehave("mmio_read")?;
        data[0] = self.value;
        Ok(())
    }

    fn mmio_write(&mut self, _offset: u64, data: &[u8]) -> Result<(), String> {
        self.misbehave("mmio_write")?;
        self.value = data[0];
        Ok(())
    }
}

impl Drop for Faulty {
    fn drop(&mut self) {
        if self.panic_in == "destroy" {
            panic!("faulty plugin panics in destroy, as configured");
        }
    }
}

picovmm_plugin::export_plugin!(Faulty);
