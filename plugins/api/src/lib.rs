//! The picovmm device plugin ABI and its Rust SDK.
//!
//! A plugin is a shared library (`crate-type = ["cdylib"]`) that exports one const data
//! symbol, `picovmm_plugin_entry`. [`abi`] mirrors the C header `include/picovmm_plugin.h`
//! field for field; [`sdk`] wraps it in a safe trait, [`Plugin`], and [`export_plugin!`]
//! exports a type implementing it, catching panics at the boundary.
//!
//! ```
//! use picovmm_plugin::{abi, Host, Plugin};
//!
//! /// A port that reads back the last byte written to it.
//! struct Latch { value: u8 }
//!
//! impl Plugin for Latch {
//!     const NAME: &'static str = "latch";
//!     const VERSION: &'static str = "1.0.0";
//!     const DESCRIPTION: &'static str = "reads back the last byte written";
//!     const ACCESSES: u32 = abi::ACCESS_PORT;
//!
//!     fn create(_host: Host, _config: &str) -> Result<Self, String> {
//!         Ok(Latch { value: 0 })
//!     }
//!     fn port_read(&mut self, _offset: u16, data: &mut [u8]) -> Result<(), String> {
//!         data[0] = self.value;
//!         Ok(())
//!     }
//!     fn port_write(&mut self, _offset: u16, data: &[u8]) -> Result<(), String> {
//!         self.value = data[0];
//!         Ok(())
//!     }
//! }
//!
//! picovmm_plugin::export_plugin!(Latch);
//! assert_eq!(picovmm_plugin_entry.magic, abi::MAGIC);
//! ```
#![deny(missing_docs)]

pub mod abi;
pub mod sdk;
pub mod testing;

pub use sdk::{Host, Level, OutsideRam, Plugin};
