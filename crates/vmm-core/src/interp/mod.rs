//! picovmm's interpreter as a CPU backend ([`CpuBackend`]): the `vmm-interp` CPU on the same
//! guest memory, port and MMIO bus, interrupt controller, firmware and [`VcpuControl`] as KVM's
//! vCPU, so every device, the BIOS, the debugger and snapshots work the same on both.
//!
//! ```text
//!   run(): serve requests ─► stop? pause? ─► halted: wait for an interrupt
//!            ▲                                  │
//!            └── a slice of instructions ◄──────┘  (an interrupt taken before each slice;
//!                 an `out` to the firmware's port ends the slice: a BIOS call)
//! ```

mod bus;
mod handover;
mod state;
mod timer;
mod translate;

use std::sync::Arc;

use kvm_bindings::{kvm_regs, kvm_sregs};
use vm_device::device_manager::IoManager;
use vm_memory::GuestMemoryMmap;
use vmm_interp::{Cpu, Exit, Model};

use crate::control::VcpuControl;
use crate::cpu::{BootCpu, CpuMode, Entry};
use crate::device_memory::DeviceMemory;
use crate::exit::{Access, ExitCounters};
use crate::firmware::{Firmware, FirmwareAction, FirmwareCall};
use crate::interrupt::InterruptController;
use crate::layout::BOOT_GDT;
use crate::memory_map::MemoryMap;
use crate::outcome::Registers;
use crate::vcpu::Vcpu;
use crate::vcpu::{
    BreakOn, CpuBackend, DebugError, DebugEvent, Fault, GuestDebug, UnclaimedLog, UnclaimedPolicy,
    VcpuEvent, VcpuState,
};
use crate::vm::{KvmVm, Result, VmError};
use crate::Accel;
use bus::GuestBus;
/// Instructions run between two looks at the control handle (stops, pauses, requests).
const SLICE: u32 = 4096;
/// Iterations of a `rep` string instruction between two looks at interrupts and requests.
const REP_CHUNK: u32 = 1024;
/// DR6's single-step bit, as a debug event reports it.
const DR6_SINGLE_STEP: u64 = 1 << 14;

/// The interpreter, with the machine around it.
pub struct InterpCpu {
    /// KVM, once it took over (an instruction or a mode the interpreter does not run);
    /// from then on every call goes to it. The vCPU drops before its VM.
    kvm: Option<(Vcpu, KvmVm)>,
    cpu: Cpu,
    /// Instructions decoded once and kept: what runs loops fast.
    blocks: vmm_interp::Blocks,
    bus: GuestBus,
    control: VcpuControl,
    interrupts: Option<Arc<dyn InterruptController>>,
    firmware: Option<Box<dyn Firmware>>,
    unclaimed: UnclaimedLog,
    exits: ExitCounters,
    /// KVM's exits while it ran the machine, before it gave the machine back.
    kvm_exits: ExitCounters,
    /// Where KVM gave the machine back (the interpreter does not hand it over there again).
    taken_back_at: Option<(u16, u32)>,
    /// The machine's timer, when this thread drives it, and when it next needs looking at.
    timer: Option<Arc<dyn crate::interrupt::VcpuTimer>>,
    timer_due: Option<std::time::Instant>,
    /// Something may have changed the timer's schedule: look at it at the next chance.
    timer_stale: bool,
    /// Single-stepping and breakpoints (set through `&self`, as the trait's requests do).
    debug: std::cell::RefCell<GuestDebug>,
    /// The breakpoint just reported: the next instruction there runs (as RF does).
    resumed_at: Option<u32>,
    halted: bool,
    /// The interrupt controller must be asked before the next instruction: a device was
    /// touched (an EOI, a mask), the firmware ran, a request ran, or an interrupt was just
    /// taken (another may wait). Lines raised from other threads set the control's notice.
    irq_check: bool,
}

impl InterpCpu {
    /// A CPU on the memory `map` shows (`memory`, `device_memory`) and `io`, stopped and paused through `control`.
    pub fn new(
        map: MemoryMap,
        memory: GuestMemoryMmap,
        device_memory: Vec<DeviceMemory>,
        io: Arc<IoManager>,
        control: VcpuControl,
    ) -> InterpCpu {
        InterpCpu {
            kvm: None,
            cpu: Cpu::new(Model::I386),
            blocks: vmm_interp::Blocks::new(),
            bus: GuestBus::new(map, memory, device_memory, io),
            control,
            interrupts: None,
            firmware: None,
            unclaimed: UnclaimedLog::default(),
            exits: ExitCounters::default(),
            kvm_exits: ExitCounters::default(),
            taken_back_at: None,
            timer: None,
            timer_due: None,
            timer_stale: false,
            debug: Default::default(),
            resumed_at: None,
            halted: false,
            irq_check: true,
        }
    }

    /// Runs a slice of instructions; `Some` when the run must return.
    fn run_slice(&mut self) -> Option<VcpuEvent> {
        let (debugging, stepping) = {
            let debug = self.debug.borrow();
            (
                debug.single_step || !debug.breakpoints.is_empty(),
                debug.single_step,
            )
        };
        // A single step runs a whole `rep` string instruction, as QEMU's stub does.
        self.cpu.rep_chunk = if stepping { u32::MAX } else { REP_CHUNK };
        self.bus.refresh();
        let mut left = SLICE;
        while left > 0 {
            self.offer_interrupt();
            if debugging {
                if let Some(event) = self.breakpoint_hit() {
                    return Some(VcpuEvent::Debug(event));
                }
            }
            // A block stops after an access that reached a device: what follows looks at it
            // as after a step.
            let ran = if debugging {
                0
            } else {
                self.blocks.run(&mut self.cpu, &mut self.bus)
            };
            left = left.saturating_sub(ran.max(1));
            let exit = if ran > 0 {
                Exit::Continue
            } else {
                self.cpu.step(&mut self.bus)
            };
            if self.bus.fetched_outside {
                self.bus.fetched_outside = false;
                self.cpu.ip = self.cpu.start_ip();
                return Some(VcpuEvent::Fault(Fault::CodeOutsideMemory));
            }
            if !self.bus.unclaimed.is_empty() {
                for access in std::mem::take(&mut self.bus.unclaimed) {
                    if let Some(fault) = self.on_unclaimed(access) {
                        return Some(VcpuEvent::Fault(fault));
                    }
                }
            }
            match exit {
                Exit::Continue => {}
                Exit::Halt => {
                    // Counted as KVM counts a `hlt` exit, so both backends' figures compare.
                    self.exits.hlt += 1;
                    if self.interrupts.is_some() && self.cpu.interrupts_enabled() {
                        self.halted = true;
                        return None;
                    }
                    return Some(VcpuEvent::Halted);
                }
                Exit::Io => {
                    if let Some(event) = self.firmware_call() {
                        return Some(event);
                    }
                }
                Exit::Unsupported { opcode, second, at } => {
                    let what = match opcode {
                        0x0F => format!("opcode 0f {second:02x} at {:04x}:{:04x}", at.0, at.1),
                        _ => format!("opcode {opcode:02x} at {:04x}:{:04x}", at.0, at.1),
                    };
                    if self.hand_over().is_ok() {
                        log::debug!("the interpreter does not run {what}: KVM takes over");
                        return None;
                    }
                    return Some(VcpuEvent::Fault(Fault::Unsupported(what)));
                }
                Exit::TripleFault => return Some(VcpuEvent::Fault(Fault::TripleFault)),
            }
            if debugging && self.debug.borrow().single_step {
                return Some(VcpuEvent::Debug(self.step_event()));
            }
            if self.bus.touched {
                // A device may have asked for a stop (isa-debug-exit, a reset, a failure):
                // the guest runs no further instruction before the loop looks. It (or the
                // BIOS) may have changed the memory map, or the interrupt controller.
                self.bus.touched = false;
                self.irq_check = true;
                self.timer_changed();
                self.bus.refresh();
                if self.control.reason().is_some() || self.control.pause_requested() {
                    return None;
                }
            }
        }
        None
    }

    /// An execution breakpoint at the next instruction (once: resuming runs it).
    fn breakpoint_hit(&mut self) -> Option<DebugEvent> {
        let pc = self.cpu.segs[1].base.wrapping_add(self.cpu.ip);
        if self.resumed_at.take() == Some(pc) {
            return None;
        }
        let debug = self.debug.borrow();
        let slot = debug
            .breakpoints
            .iter()
            .position(|b| b.on == BreakOn::Execute && b.addr == u64::from(pc))?;
        drop(debug);
        self.resumed_at = Some(pc);
        Some(DebugEvent {
            exception: 1,
            pc: u64::from(pc),
            dr6: 1 << slot,
            dr7: 0,
        })
    }

    /// Takes the interrupt the controller asserts, when the CPU can.
    #[inline(always)]
    fn offer_interrupt(&mut self) {
        // Nothing can have changed what the controller says unless a line was raised or the
        // guest touched a device since it was last asked: skip its lock on the hot path.
        if !self.cpu.can_interrupt() || !(self.irq_check || self.control.interrupt_noticed()) {
            return;
        }
        self.ask_controller();
    }

    /// Asks the interrupt controller, and takes what it asserts.
    #[inline(never)]
    fn ask_controller(&mut self) {
        let Some(interrupts) = &self.interrupts else {
            return;
        };
        self.irq_check = false;
        self.control.take_interrupt();
        if interrupts.pending() {
            let vector = interrupts.acknowledge();
            if self.cpu.external_interrupt(&mut self.bus, vector) {
                self.exits.injected += 1;
                self.halted = false;
            }
            // Acknowledged: a tick waiting behind it may be raised now.
            self.timer_changed();
            self.irq_check = true;
        }
    }

    /// The debug event a single step reports.
    fn step_event(&self) -> DebugEvent {
        DebugEvent {
            exception: 1,
            pc: u64::from(self.cpu.segs[1].base.wrapping_add(self.cpu.ip)),
            dr6: DR6_SINGLE_STEP,
            dr7: 0,
        }
    }

    /// A write to the firmware's port: a call when the firmware's own code made it, an
    /// ordinary (unclaimed) port write otherwise.
    fn firmware_call(&mut self) -> Option<VcpuEvent> {
        let value = self.bus.firmware_write.take()?;
        let port = self.bus.firmware_port?;
        let firmware = self.firmware.as_mut()?;
        let out_at = u64::from(self.cpu.segs[1].base.wrapping_add(self.cpu.start_ip()));
        if !firmware.owns(out_at) {
            let access = Access {
                space: crate::exit::Space::Port,
                addr: u64::from(port),
                len: 1,
                write: true,
                value: u64::from(value),
            };
            return self.on_unclaimed(access).map(VcpuEvent::Fault);
        }
        self.exits.firmware_calls += 1;
        let mut call = FirmwareCall {
            regs: state::regs_of(&self.cpu),
            sregs: state::sregs_of(&self.cpu),
            memory: self.bus.memory(),
            io: self.bus.io(),
            control: &self.control,
        };
        let action = firmware.call(&mut call);
        let (regs, sregs) = (call.regs, call.sregs);
        state::set_regs(&mut self.cpu, &regs);
        state::set_segments(&mut self.cpu, &sregs);
        match action {
            FirmwareAction::Resume => None,
            FirmwareAction::Halt => Some(VcpuEvent::Halted),
            FirmwareAction::TripleFault => Some(VcpuEvent::Fault(Fault::TripleFault)),
        }
    }

    /// What an unclaimed access does under the machine's policy. As KVM reports them: a port
    /// access after its instruction, an MMIO access on it (an access that stops the run
    /// leaves the instruction unfinished).
    fn on_unclaimed(&mut self, access: Access) -> Option<Fault> {
        let mmio = access.space == crate::exit::Space::Mmio;
        let ip = if mmio {
            self.cpu.start_ip()
        } else {
            self.cpu.ip
        };
        let cs = self.cpu.segs[1].selector;
        let fault = self.unclaimed.on(access, || format!("{cs:04x}:{ip:04x}"));
        if fault.is_some() && mmio {
            self.cpu.ip = self.cpu.start_ip();
        }
        fault
    }

    /// Waits while halted with interrupts on; `Some` when the run must return.
    fn wait_halted(&mut self) -> Option<VcpuEvent> {
        let interrupts = self.interrupts.clone()?;
        self.control.take_interrupt();
        self.service_timer();
        if interrupts.pending() {
            self.halted = false;
        } else if interrupts.can_interrupt() {
            self.control.idle(self.halt_timeout());
        } else {
            self.halted = false;
            return Some(VcpuEvent::Halted);
        }
        None
    }
}

impl CpuBackend for InterpCpu {
    fn accel(&self) -> Accel {
        match self.kvm {
            Some(_) => Accel::Kvm,
            None => Accel::Interp,
        }
    }

    fn set_boot_cpu(&mut self, boot: &BootCpu) -> Result<()> {
        if let Some((v, _)) = &mut self.kvm {
            return CpuBackend::set_boot_cpu(v, boot);
        }
        self.cpu = Cpu::new(Model::I386);
        match (boot.mode, boot.entry) {
            (CpuMode::Real, Entry::Real(at)) => {
                // CD and NW, as a PC's CPU (and KVM's vCPU) comes out of reset; ET is added on
                // the way out (state.rs).
                self.cpu.cr0 = 0x6000_0000;
                for seg in 0..6 {
                    self.cpu.load_segment(seg, 0);
                }
                self.cpu.set_real_mode_entry(at.segment, at.offset);
            }
            (CpuMode::Protected, Entry::Flat(at)) => {
                crate::memory::load_image(self.bus.memory(), BOOT_GDT, &crate::gdt::bytes())?;
                state::set_flat_protected(&mut self.cpu, BOOT_GDT);
                self.cpu.ip = at as u32;
            }
            _ => {
                return Err(VmError::Unsupported(
                    "the interpreter runs real- and protected-mode guests, not long mode: use --accel kvm",
                ))
            }
        }
        self.cpu.regs[4] = boot.stack as u32;
        self.cpu.regs[0] = boot.rax as u32;
        self.cpu.regs[3] = boot.rbx as u32;
        Ok(())
    }

    fn set_unclaimed_policy(&mut self, policy: UnclaimedPolicy) {
        if let Some((v, _)) = &mut self.kvm {
            return CpuBackend::set_unclaimed_policy(v, policy);
        }
        self.unclaimed.policy = policy;
    }

    fn set_interrupt_controller(&mut self, controller: Arc<dyn InterruptController>) {
        if let Some((v, _)) = &mut self.kvm {
            return CpuBackend::set_interrupt_controller(v, controller);
        }
        self.interrupts = Some(controller);
    }

    fn set_timer(&mut self, timer: Arc<dyn crate::interrupt::VcpuTimer>) {
        if self.kvm.is_none() {
            self.adopt_timer(timer);
        }
    }

    fn set_firmware(&mut self, firmware: Box<dyn Firmware>) {
        if let Some((v, _)) = &mut self.kvm {
            return CpuBackend::set_firmware(v, firmware);
        }
        self.bus.firmware_port = Some(firmware.port());
        self.firmware = Some(firmware);
    }

    fn io(&self) -> &IoManager {
        if let Some((v, _)) = &self.kvm {
            return CpuBackend::io(v);
        }
        self.bus.io()
    }

    fn run(&mut self) -> VcpuEvent {
        let control = self.control.clone();
        loop {
            if let Some((v, _)) = &mut self.kvm {
                let event = v.run();
                if handover::kvm_cannot_go_on(&event) && self.take_back().is_ok() {
                    log::debug!(
                        "KVM cannot emulate the instruction at {:04x}:{:x}: the interpreter takes it back",
                        self.cpu.segs[1].selector,
                        self.cpu.ip
                    );
                    continue;
                }
                return event;
            }
            if let Some(reason) = control.take_stop() {
                return VcpuEvent::Stopped(reason);
            }
            if control.pause_requested() {
                return VcpuEvent::Paused;
            }
            for request in control.take_requests() {
                request(self);
            }
            // Requests (a key typed, a restore) and waits may have changed the controller,
            // and the timer's schedule (a restored PIT).
            self.irq_check = true;
            if self.timer_due.is_none() {
                self.timer_changed();
            }
            if self.halted {
                if let Some(event) = self.wait_halted() {
                    return event;
                }
                self.service_timer();
                self.offer_interrupt();
                continue;
            }
            self.service_timer();
            if let Some(event) = self.run_slice() {
                match &event {
                    VcpuEvent::Debug(_) => self.exits.debug += 1,
                    VcpuEvent::Fault(Fault::TripleFault) => self.exits.shutdown += 1,
                    _ => {}
                }
                return event;
            }
        }
    }

    fn wait_while_paused(&mut self) {
        if let Some((v, _)) = &mut self.kvm {
            return CpuBackend::wait_while_paused(v);
        }
        loop {
            for request in self.control.take_requests() {
                request(self);
            }
            if !self.control.pause_requested() || self.control.reason().is_some() {
                return;
            }
            self.control.wait_paused();
        }
    }

    fn control(&self) -> VcpuControl {
        self.control.clone()
    }

    fn memory(&self) -> &GuestMemoryMmap {
        if let Some((v, _)) = &self.kvm {
            return CpuBackend::memory(v);
        }
        self.bus.memory()
    }

    fn exits(&self) -> ExitCounters {
        let mut exits = self.exits;
        if let Some((v, _)) = &self.kvm {
            // KVM's exits since it took over, and the interpreter's instructions before.
            exits = CpuBackend::exits(v);
            exits = exits.plus(self.kvm_exits);
            exits.handovers = self.exits.handovers;
            exits.instructions = self.cpu.executed;
            return exits;
        }
        // What would have been KVM's exits: device accesses, halts, debug events.
        exits.io_in = self.bus.counts[0];
        exits.io_out = self.bus.counts[1];
        exits.mmio_read = self.bus.counts[2];
        exits.mmio_write = self.bus.counts[3];
        exits.total = exits.by_reason().iter().map(|(_, n)| n).sum();
        exits.instructions = self.cpu.executed;
        exits.plus(self.kvm_exits)
    }

    fn registers(&self) -> Option<Registers> {
        if let Some((v, _)) = &self.kvm {
            return CpuBackend::registers(v);
        }
        Some(Registers::from_kvm(
            &state::regs_of(&self.cpu),
            &state::sregs_of(&self.cpu),
        ))
    }

    fn regs(&self) -> Result<kvm_regs> {
        if let Some((v, _)) = &self.kvm {
            return CpuBackend::regs(v);
        }
        Ok(state::regs_of(&self.cpu))
    }

    fn set_regs(&mut self, regs: &kvm_regs) -> Result<()> {
        if let Some((v, _)) = &mut self.kvm {
            return CpuBackend::set_regs(v, regs);
        }
        state::set_regs(&mut self.cpu, regs);
        Ok(())
    }

    fn sregs(&self) -> Result<kvm_sregs> {
        if let Some((v, _)) = &self.kvm {
            return CpuBackend::sregs(v);
        }
        Ok(state::sregs_of(&self.cpu))
    }

    fn set_sregs(&mut self, sregs: &kvm_sregs) -> Result<()> {
        if let Some((v, _)) = &mut self.kvm {
            return CpuBackend::set_sregs(v, sregs);
        }
        state::set_sregs(&mut self.cpu, sregs);
        Ok(())
    }

    fn state(&self) -> std::result::Result<VcpuState, crate::vcpu::StateBytesError> {
        if let Some((v, _)) = &self.kvm {
            return CpuBackend::state(v);
        }
        Ok(state::vcpu_state(&self.cpu))
    }

    fn set_state(
        &mut self,
        saved: &VcpuState,
    ) -> std::result::Result<(), crate::vcpu::StateBytesError> {
        if let Some((v, _)) = &mut self.kvm {
            return CpuBackend::set_state(v, saved);
        }
        state::set_regs(&mut self.cpu, &saved.regs);
        state::set_sregs(&mut self.cpu, &saved.sregs);
        state::set_fpu(&mut self.cpu, &saved.fpu);
        state::set_msrs(&mut self.cpu, &saved.msrs);
        self.timer_changed();
        self.halted = false;
        Ok(())
    }

    fn set_guest_debug(&self, debug: &GuestDebug) -> std::result::Result<(), DebugError> {
        if let Some((v, _)) = &self.kvm {
            return CpuBackend::set_guest_debug(v, debug);
        }
        if debug.breakpoints.len() > crate::vcpu::HW_BREAKPOINT_SLOTS {
            return Err(DebugError::Setting(
                crate::vcpu::DebugRegsError::TooManyBreakpoints(debug.breakpoints.len()),
            ));
        }
        *self.debug.borrow_mut() = debug.clone();
        Ok(())
    }

    fn translate(&self, linear: u64) -> Option<u64> {
        if let Some((v, _)) = &self.kvm {
            return CpuBackend::translate(v, linear);
        }
        translate::linear_to_physical(&self.cpu, self.bus.memory(), linear)
    }
}
