//! picovmm's control vocabulary: the commands a running machine answers, shaped like QEMU's
//! QMP, each a call on the machine's [`MachineHandle`](vmm_machine::MachineHandle).
//!
//! Three front ends speak it: the control socket ([`server`], one JSON object per line), its
//! client ([`client`], what `picovmm ctl` uses), and the live display's monitor, which reads
//! the same commands in a human syntax ([`human`]). None of them knows the others; all of them
//! stand on a [`Session`].
//!
//! ```
//! use vmm_control::protocol::Request;
//!
//! let request = Request::parse(r#"{"execute": "query-status", "id": 1}"#).unwrap();
//! assert_eq!(request.name, "query-status");
//! let typed = vmm_control::human::parse("screendump shot.png").unwrap();
//! assert_eq!(typed.name, "screendump");
//! assert_eq!(typed.arguments["filename"], "shot.png");
//! ```

#![deny(missing_docs)]

pub mod args;
pub mod caller;
pub mod client;
pub mod commands;
pub mod events;
pub mod human;
pub mod protocol;
pub mod qcode;
pub mod server;
pub mod session;
pub mod tee;
pub mod watch;

pub use commands::execute;
pub use events::Events;
pub use session::{RunEnd, Session, SnapshotTarget};
