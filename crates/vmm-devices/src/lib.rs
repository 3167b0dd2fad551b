//! picovmm's device models, and the loader that makes a plugin library a device.
//!
//! Each device is a state machine with `read`/`write` entry points and no KVM inside: the VMM
//! puts it on vm-device's I/O bus (through the `MutDevicePio`/`MutDeviceMmio` traits and the
//! `Mutex<T>` blanket impl) and a unit test drives it directly.
//!
//! ```
//! use vmm_devices::vga_text::VgaText;
//!
//! let mut vga = VgaText::new();
//! vga.write(0, b"H\x1fi\x1f"); // "Hi", white on blue, in the top-left cells
//! assert_eq!(vga.screen().to_text(), "Hi\n");
//! ```
#![deny(missing_docs)]

pub mod a20;
pub mod bochs_vbe;
pub mod cp437;
pub mod debug_exit;
pub mod debugcon;
pub mod i8042;
pub mod irq;
pub mod keymap;
pub mod pic;
pub mod pit;
pub mod plugin;
pub mod ps2_mouse;
pub mod rtc;
pub mod screen;
pub mod serial;
pub mod state;
pub mod vga_palette;
pub mod vga_planar;
pub mod vga_regs;
pub mod vga_scanout;
pub mod vga_text;
