//! picovmm's machine as a library: a machine description (from a TOML file or built in code),
//! validated, built into a [`Board`](board::Board) of KVM, devices and the BIOS, and driven
//! through a [`Machine`] and its thread-safe [`MachineHandle`]. Every front end (the command
//! line, the live display, the gdb stub, the control socket, the test runner) stands on this
//! crate; it knows none of them: no argument parsing, no terminal, no exit statuses.
//!
//! ```no_run
//! use vmm_machine::{Machine, MachineSpec, Outputs};
//!
//! # fn main() -> Result<(), vmm_machine::MachineError> {
//! let mut spec = MachineSpec::default_machine();
//! spec.set_image("guests/hello/hello.bin");
//! let mut machine = Machine::build(spec, &vmm_machine::PluginPath::new(&[]), Outputs::discard())?;
//! let report = machine.run();
//! let screen = machine.capture().and_then(|f| f.text()).unwrap_or_default();
//! println!("{:?}: {screen}", report.outcome);
//! # Ok(())
//! # }
//! ```

#![deny(missing_docs)]

pub mod board;
pub mod config;
pub mod devices;
pub mod diagnostic;
pub mod error;
pub mod frame;
pub mod guest_view;
pub mod handover;
pub mod machine;
pub mod named;
pub mod plugin_config;
pub mod plugin_path;
pub mod png;
pub mod render;
pub mod snapshot;
pub mod spec;
pub mod sync;
pub mod units;
pub mod validate;

pub use error::MachineError;
pub use frame::Frame;
pub use guest_view::GuestView;
pub use machine::{Event, Machine, MachineHandle, OutputBuffer, Outputs};
pub use plugin_path::PluginPath;
pub use spec::MachineSpec;
