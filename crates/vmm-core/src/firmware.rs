//! Firmware that runs in the VMM: picovmm's BIOS. Its ROM stubs trap with one `out` to the
//! firmware's port; the run loop finishes the `out`, hands the firmware the guest's registers,
//! memory and bus, and writes back the registers it changed. The guest's code stays the
//! guest's: only an `out` to that port from the firmware's own ROM is a call.
//!
//! ```text
//!   guest: int 10h ──► IVT ──► F000:stub: out PORT, al ──exit──► Firmware::call(regs, memory)
//!                                         iret ◄───────────────── registers written back
//! ```

use kvm_bindings::{kvm_regs, kvm_sregs};
use vm_device::device_manager::IoManager;
use vm_memory::GuestMemoryMmap;

use crate::control::VcpuControl;

/// What the guest sees of its CPU and machine during a firmware call.
pub struct FirmwareCall<'a> {
    /// General registers, RIP (just past the `out`) and RFLAGS. Changes are written back;
    /// RFLAGS is the firmware's own (the guest's flags are in the interrupt frame on the stack).
    pub regs: kvm_regs,
    /// Segment and control registers. Changes are written back.
    pub sregs: kvm_sregs,
    /// Guest RAM.
    pub memory: &'a GuestMemoryMmap,
    /// The port and MMIO bus, as the guest reaches it.
    pub io: &'a IoManager,
    /// The vCPU's control handle: the firmware idles on it while it waits for the guest.
    pub control: &'a VcpuControl,
}

/// What the run loop does after a firmware call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FirmwareAction {
    /// Go on running the guest.
    Resume,
    /// End the run as halted (the guest asked to power off).
    Halt,
    /// The call could not have happened on a PC: the guest's interrupt reached the firmware
    /// through a vector past the IDT's limit, which faults, and faults again: a shutdown.
    TripleFault,
}

/// Firmware the guest calls through a port.
pub trait Firmware: Send {
    /// The port the firmware's stubs write to.
    fn port(&self) -> u16;

    /// Whether code at this linear address (the `out`'s) is the firmware's own, so that a
    /// write to its port from anywhere else is an ordinary, unclaimed port write.
    fn owns(&self, code: u64) -> bool;

    /// Serves one call.
    fn call(&mut self, call: &mut FirmwareCall<'_>) -> FirmwareAction;
}
