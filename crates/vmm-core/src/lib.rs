//! picovmm's core: KVM, guest memory, the vCPU and its run loop.
//!
//! It knows devices only through vm-device's `DevicePio`/`DeviceMmio` traits and reports why a
//! run ended ([`RunOutcome`]) with the registers at that moment and the exits it took.
//!
//! ```no_run
//! use std::sync::{Arc, Mutex};
//! use vmm_core::{BootCpu, CpuMode, Entry, Machine, RamRegion, RealAddress, RunOutcome};
//!
//! # fn main() -> Result<(), vmm_core::Error> {
//! let mut machine = Machine::new(&[RamRegion { base: 0, size: 0x10_0000 }])?;
//! machine.load_image(0x7c00, &[0xf4])?; // hlt
//! let entry = Entry::Real(RealAddress { segment: 0, offset: 0x7c00 });
//! machine.set_boot_cpu(&BootCpu { mode: CpuMode::Real, entry, stack: 0x7c00, rax: 0, rbx: 0 })?;
//! let report = machine.run();
//! assert_eq!(report.outcome, RunOutcome::Halted);
//! # Ok(())
//! # }
//! ```
#![deny(missing_docs)]

pub mod cpu;
pub mod device_memory;
pub mod elf;
pub mod exit;
pub mod gdt;
pub mod layout;
pub mod machine;
pub mod memory;
pub mod multiboot;
pub mod outcome;
pub mod paging;
pub mod stop;

pub use cpu::{BootCpu, CpuMode, Entry, RealAddress};
pub use device_memory::DeviceMemory;
pub use exit::{Access, ExitCounters, Space};
pub use machine::{is_emulation_failure, Error, Machine, UnclaimedPolicy};
pub use memory::RamRegion;
pub use outcome::{Registers, RunOutcome, RunReport};
pub use stop::{StopHandle, StopReason};
