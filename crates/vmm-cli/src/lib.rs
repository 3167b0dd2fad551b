//! picovmm's command line as a library: machine files (TOML) to validated machine
//! descriptions, and those to running `vmm-core` machines with `vmm-devices` devices.
//!
//! The `picovmm` binary is a thin `main` over [`cli`]; fuzz targets and programmatic users
//! reach the machine-file loader ([`config::parse`]) and validation ([`validate::validate`])
//! here.
//!
//! ```
//! use std::path::Path;
//!
//! let text = "[[memory]]\nbase = 0\nsize = \"640 KiB\"\n";
//! let spec = vmm_cli::config::parse(text, Path::new(".")).expect("valid machine file");
//! assert_eq!(spec.memory[0].value.size, 640 * 1024);
//! ```

#![deny(missing_docs)]

pub mod board;
pub mod check;
pub mod cli;
pub mod config;
pub mod console;
pub mod diagnostic;
pub mod display;
pub mod error;
pub mod gdb;
pub mod handover;
pub mod named;
pub mod output;
pub mod plugin_config;
pub mod plugin_path;
pub mod plugins;
pub mod run;
pub mod signals;
pub mod snapshot;
pub mod spec;
pub mod stats;
pub mod status;
pub mod terminal;
pub mod units;
pub mod validate;
