//! The seam between a machine and whatever executes its guest's instructions. KVM's [`Vcpu`]
//! is one backend; an interpreter is another. Everything above the core (the board's run
//! policy, the debugger, snapshots, the control handle's requests) reaches the CPU through
//! this trait, and the machine's state moves between backends as a [`VcpuState`].
//!
//! The register types are KVM's `kvm_regs` and `kvm_sregs`: plain C structs that describe an
//! x86 CPU, which any backend can fill.

use std::sync::Arc;

use kvm_bindings::{kvm_regs, kvm_sregs};
use vm_device::device_manager::IoManager;
use vm_memory::GuestMemoryMmap;

use super::{DebugError, GuestDebug, UnclaimedPolicy, Vcpu, VcpuEvent, VcpuState};
use crate::outcome::Registers;
use crate::{Accel, BootCpu, ExitCounters, Firmware, InterruptController, VcpuControl};

/// A CPU that runs a machine's guest.
pub trait CpuBackend {
    /// Which backend this is.
    fn accel(&self) -> Accel;
    /// Puts the CPU in its boot state.
    fn set_boot_cpu(&mut self, boot: &BootCpu) -> crate::vm::Result<()>;
    /// What an access no device claims does.
    fn set_unclaimed_policy(&mut self, policy: UnclaimedPolicy);
    /// The machine's interrupt controller.
    fn set_interrupt_controller(&mut self, controller: Arc<dyn InterruptController>);
    /// Firmware the guest calls through a port (the BIOS).
    fn set_firmware(&mut self, firmware: Box<dyn Firmware>);
    /// A timer the vCPU thread may drive itself; a backend that cannot leaves it to the
    /// timer's own thread.
    fn set_timer(&mut self, _timer: Arc<dyn crate::interrupt::VcpuTimer>) {}
    /// The port and MMIO bus.
    fn io(&self) -> &IoManager;
    /// Runs the guest until something pauses it, and says why.
    fn run(&mut self) -> VcpuEvent;
    /// Serves requests while a pause is asked for; returns on resume or a stop request.
    fn wait_while_paused(&mut self);
    /// The handle other threads use to stop, pause, kick or call this CPU.
    fn control(&self) -> VcpuControl;
    /// Guest RAM.
    fn memory(&self) -> &GuestMemoryMmap;
    /// What the run cost so far, by reason.
    fn exits(&self) -> ExitCounters;
    /// The registers now, or `None` if they cannot be read.
    fn registers(&self) -> Option<Registers>;
    /// General registers, RIP and RFLAGS.
    fn regs(&self) -> crate::vm::Result<kvm_regs>;
    /// Sets the general registers, RIP and RFLAGS.
    fn set_regs(&mut self, regs: &kvm_regs) -> crate::vm::Result<()>;
    /// Segment, control and descriptor-table registers.
    fn sregs(&self) -> crate::vm::Result<kvm_sregs>;
    /// Sets the segment, control and descriptor-table registers.
    fn set_sregs(&mut self, sregs: &kvm_sregs) -> crate::vm::Result<()>;
    /// The whole state, in the format every backend shares.
    fn state(&self) -> Result<VcpuState, super::state::StateBytesError>;
    /// Puts the CPU in `state`.
    fn set_state(&mut self, state: &VcpuState) -> Result<(), super::state::StateBytesError>;
    /// Single-stepping and hardware breakpoints.
    fn set_guest_debug(&self, debug: &GuestDebug) -> Result<(), DebugError>;
    /// The guest-physical address of a linear address under the current paging, if mapped.
    fn translate(&self, linear: u64) -> Option<u64>;
}

impl CpuBackend for Vcpu {
    fn accel(&self) -> Accel {
        Accel::Kvm
    }

    fn set_boot_cpu(&mut self, boot: &BootCpu) -> crate::vm::Result<()> {
        Vcpu::set_boot_cpu(self, boot)
    }

    fn set_unclaimed_policy(&mut self, policy: UnclaimedPolicy) {
        Vcpu::set_unclaimed_policy(self, policy)
    }

    fn set_interrupt_controller(&mut self, controller: Arc<dyn InterruptController>) {
        Vcpu::set_interrupt_controller(self, controller)
    }

    fn set_firmware(&mut self, firmware: Box<dyn Firmware>) {
        Vcpu::set_firmware(self, firmware)
    }

    fn io(&self) -> &IoManager {
        Vcpu::io(self)
    }

    fn run(&mut self) -> VcpuEvent {
        Vcpu::run(self)
    }

    fn wait_while_paused(&mut self) {
        Vcpu::wait_while_paused(self)
    }

    fn control(&self) -> VcpuControl {
        Vcpu::control(self)
    }

    fn memory(&self) -> &GuestMemoryMmap {
        Vcpu::memory(self)
    }

    fn exits(&self) -> ExitCounters {
        Vcpu::exits(self)
    }

    fn registers(&self) -> Option<Registers> {
        Vcpu::registers(self)
    }

    fn regs(&self) -> crate::vm::Result<kvm_regs> {
        Vcpu::regs(self)
    }

    fn set_regs(&mut self, regs: &kvm_regs) -> crate::vm::Result<()> {
        Vcpu::set_regs(self, regs)
    }

    fn sregs(&self) -> crate::vm::Result<kvm_sregs> {
        Vcpu::sregs(self)
    }

    fn set_sregs(&mut self, sregs: &kvm_sregs) -> crate::vm::Result<()> {
        Vcpu::set_sregs(self, sregs)
    }

    fn state(&self) -> Result<VcpuState, super::state::StateBytesError> {
        Vcpu::state(self)
    }

    fn set_state(&mut self, state: &VcpuState) -> Result<(), super::state::StateBytesError> {
        Vcpu::set_state(self, state)
    }

    fn set_guest_debug(&self, debug: &GuestDebug) -> Result<(), DebugError> {
        Vcpu::set_guest_debug(self, debug)
    }

    fn translate(&self, linear: u64) -> Option<u64> {
        Vcpu::translate(self, linear)
    }
}
