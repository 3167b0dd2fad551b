//! picovmm's core: KVM, guest memory, the vCPU and its run loop.
//!
//! It knows devices only through vm-device's `DevicePio`/`DeviceMmio` traits. A [`Vm`] holds the
//! memory and the bus; its [`Vcpu`] runs until something pauses it and says why ([`VcpuEvent`]);
//! a [`VcpuControl`] asks it, from any thread, to stop, pause, resume or do work on its thread.
//!
//! ```no_run
//! use vmm_core::{BootCpu, CpuMode, Entry, RamRegion, RealAddress, Vm, VcpuEvent};
//!
//! # fn main() -> Result<(), vmm_core::VmError> {
//! let mut vm = Vm::new(&[RamRegion { base: 0, size: 0x10_0000 }])?;
//! vm.load_image(0x7c00, &[0xf4])?; // hlt
//! let mut vcpu = vm.create_vcpu()?;
//! let entry = Entry::Real(RealAddress { segment: 0, offset: 0x7c00 });
//! vcpu.set_boot_cpu(&BootCpu { mode: CpuMode::Real, entry, stack: 0x7c00, rax: 0, rbx: 0 })?;
//! assert_eq!(vcpu.run(), VcpuEvent::Halted);
//! # Ok(())
//! # }
//! ```
#![deny(missing_docs)]

pub mod a20;
pub mod accel;
pub mod control;
pub mod cpu;
pub mod cpuid;
pub mod device_memory;
pub mod elf;
pub mod exit;
pub mod firmware;
pub mod gdt;
pub mod interp;
pub mod interrupt;
pub mod layout;
pub mod memory;
pub mod memory_map;
pub mod multiboot;
pub mod outcome;
pub mod paging;
pub mod vcpu;
pub mod vm;

pub use a20::A20Gate;
pub use accel::Accel;
pub use control::{StopReason, VcpuControl};
pub use cpu::{BootCpu, CpuMode, Entry, RealAddress};
pub use device_memory::DeviceMemory;
pub use exit::{Access, ExitCounters, Space};
pub use firmware::{Firmware, FirmwareAction, FirmwareCall};
pub use interrupt::InterruptController;
pub use memory::RamRegion;
pub use memory_map::{Mapping, MemoryMap, SlotId};
pub use outcome::{Registers, RunOutcome, RunReport};
pub use vcpu::{
    CpuBackend, DebugEvent, Fault, GuestDebug, HwBreakpoint, UnclaimedPolicy, Vcpu, VcpuEvent,
    VcpuState,
};
pub use vm::{Vm, VmError};
