//! picovmm's command line: arguments to a machine description (the `vmm-machine` crate
//! builds and runs it), then a report. Beside it, each in its own folder, the front ends that
//! stand on the machine's handle: the live display and the gdb stub; the control socket and
//! `picovmm ctl` speak the `vmm-control` crate's commands.
//!
//! The `picovmm` binary is a thin `main` over [`cli`]; programmatic users and fuzz targets use
//! the `vmm-machine` crate directly.
//!
//! ```
//! use std::path::Path;
//!
//! let text = "[[memory]]\nbase = 0\nsize = \"640 KiB\"\n";
//! let spec = vmm_machine::config::parse(text, Path::new(".")).expect("valid machine file");
//! assert_eq!(spec.memory[0].value.size, 640 * 1024);
//! ```

#![deny(missing_docs)]

pub mod chardev;
pub mod check;
pub mod cli;
pub mod console;
pub mod ctl;
pub mod display;
pub mod entry;
pub mod error;
pub mod gdb;
pub mod log;
pub mod machine;
pub mod output;
pub mod plugins;
pub mod run;
pub mod shell;
pub mod signals;
pub mod stats;
pub mod status;
pub mod stdin;
pub mod terminal;
pub mod testing;
