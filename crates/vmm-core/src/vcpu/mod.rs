//! The vCPU: a state machine driven by its caller. [`Vcpu::run`] enters the guest and returns
//! *why it paused* ([`VcpuEvent`]); the caller decides what happens next and may call it again.
//! A [`VcpuControl`] handle asks from any thread for a stop, a pause, a resume or a kick, and
//! queues work that must run on the vCPU's own thread.
//!
//! ```text
//!            run()                         event returned
//!   Idle ───────────► Running ──(exit)──► Idle  (Halted | Stopped | Paused | Debug | Fault)
//!                       │  ▲
//!                       │  └── port/MMIO exits to the bus, requests served between KVM_RUNs
//!                       └── kick / stop / pause: a signal makes KVM_RUN return EINTR
//! ```
//!
//! Before any event is returned, a port or MMIO access KVM is still completing (an `in` whose
//! value is not yet in AL) is finished with `immediate_exit`, so registers read or written while
//! the vCPU is idle are exactly the guest's.

mod backend;
mod debug;
mod event;
mod iret;
mod state;
mod state_bytes;
mod unclaimed;

use std::io::Write;
use std::sync::Arc;

use kvm_bindings::kvm_run;
use kvm_ioctls::{Kvm, VcpuFd};
use vm_device::device_manager::IoManager;
use vm_memory::GuestMemoryMmap;

pub use backend::CpuBackend;
pub use debug::{BreakOn, DebugRegsError, GuestDebug, HwBreakpoint, HW_BREAKPOINT_SLOTS};
pub use event::{internal_error_name, DebugEvent, Fault, VcpuEvent};
pub use state::{StateBytesError, VcpuState, SAVED_MSRS};
pub(crate) use unclaimed::UnclaimedLog;

use crate::control::{set_immediate_exit, VcpuControl};
use crate::cpu::{self, BootCpu, CpuMode};
use crate::device_memory::DeviceMemory;
use crate::exit::{handle_exit, Access, ExitAction, ExitCounters, GuestStop, Space};
use crate::firmware::{Firmware, FirmwareAction, FirmwareCall};
use crate::interrupt::{self, InterruptController};
use crate::layout::{BOOT_GDT, BOOT_PAGE_TABLES};
use crate::outcome::Registers;
use crate::vm::{kvm_error, Result};
use crate::{gdt, memory, paging};

/// How many distinct unclaimed addresses are reported before picovmm stops reporting them, so a
/// guest sweeping the address space cannot flood the log or grow memory without bound.
pub const MAX_REPORTED_UNCLAIMED: usize = 16;
/// How many instruction bytes an internal-error report shows.
const CODE_BYTES: usize = 15;

/// What the run loop does with an access no device claims.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum UnclaimedPolicy {
    /// Reads give 0xFF, writes are dropped, and each distinct address is reported once.
    #[default]
    Log,
    /// End the run with an error naming the access and CS:IP.
    Stop,
}

impl UnclaimedPolicy {
    /// The name used in machine files.
    pub fn name(self) -> &'static str {
        match self {
            UnclaimedPolicy::Log => "log",
            UnclaimedPolicy::Stop => "stop",
        }
    }
}

/// The memory the VM maps into the guest, kept alive by the vCPU as long as its descriptor.
pub(crate) struct KeepAlive {
    pub(crate) memory: GuestMemoryMmap,
    pub(crate) _device_memory: Vec<DeviceMemory>,
}

/// The VM's one vCPU.
pub struct Vcpu {
    // Field order is drop order: the vCPU descriptor closes before the memory it may touch.
    fd: VcpuFd,
    keep_alive: KeepAlive,
    io: Arc<IoManager>,
    control: VcpuControl,
    unclaimed: unclaimed::UnclaimedLog,
    exits: ExitCounters,
    /// KVM has a port or MMIO access to complete on the next `KVM_RUN`.
    pending_io: bool,
    /// The machine's interrupt controller; without one, `hlt` always ends the run.
    interrupts: Option<Arc<dyn InterruptController>>,
    /// The guest executed `hlt` with interrupts enabled and waits for one.
    halted: bool,
    /// Firmware the guest calls through a port (the BIOS).
    firmware: Option<Box<dyn Firmware>>,
    /// KVM copies the registers into `kvm_run` on every exit (KVM_CAP_SYNC_REGS): a firmware
    /// call reads them without two ioctls.
    sync_regs: bool,
}

impl Vcpu {
    pub(crate) fn new(
        fd: VcpuFd,
        kvm: &Kvm,
        supported: Option<kvm_bindings::CpuId>,
        io: Arc<IoManager>,
        control: VcpuControl,
        keep_alive: KeepAlive,
    ) -> Result<Self> {
        crate::cpuid::set_cpuid(kvm, supported, &fd)?;
        let sync_regs = kvm.check_extension(kvm_ioctls::Cap::SyncRegs);
        set_power_on_msrs(&fd)?;
        Ok(Vcpu {
            fd,
            keep_alive,
            io,
            control,
            unclaimed: unclaimed::UnclaimedLog::default(),
            exits: ExitCounters::default(),
            pending_io: false,
            interrupts: None,
            halted: false,
            firmware: None,
            sync_regs,
        })
    }

    /// The handle other threads (and devices) use to stop, pause, kick or call this vCPU.
    pub fn control(&self) -> VcpuControl {
        self.control.clone()
    }

    /// The guest's RAM.
    pub fn memory(&self) -> &GuestMemoryMmap {
        &self.keep_alive.memory
    }

    /// The port and MMIO bus.
    pub fn io(&self) -> &IoManager {
        &self.io
    }

    /// Exits taken so far, by reason, over every run.
    pub fn exits(&self) -> ExitCounters {
        self.exits
    }

    /// Chooses what happens on an access no device claims.
    pub fn set_unclaimed_policy(&mut self, policy: UnclaimedPolicy) {
        self.unclaimed.policy = policy;
    }

    /// Connects the machine's interrupt controller: from now on `sti; hlt` waits for an
    /// interrupt, and interrupts the controller asserts are injected.
    pub fn set_interrupt_controller(&mut self, controller: Arc<dyn InterruptController>) {
        self.interrupts = Some(controller);
    }

    /// Connects firmware: from now on an `out` to its port from its own code is a call to it.
    pub fn set_firmware(&mut self, firmware: Box<dyn Firmware>) {
        self.firmware = Some(firmware);
        if self.sync_regs {
            self.fd.set_sync_valid_reg(kvm_ioctls::SyncReg::Register);
            self.fd
                .set_sync_valid_reg(kvm_ioctls::SyncReg::SystemRegister);
        }
    }

    /// Disconnects the firmware (the interpreter takes the machine back).
    pub fn take_firmware(&mut self) -> Option<Box<dyn Firmware>> {
        self.firmware.take()
    }

    /// The x87/SSE state (for the interpreter taking the machine back).
    pub fn fpu(&self) -> Result<kvm_bindings::kvm_fpu> {
        self.fd.get_fpu().map_err(kvm_error("read the FPU state"))
    }

    /// Sets the x87/SSE state (the interpreter handing the machine over).
    pub fn set_fpu(&self, fpu: &kvm_bindings::kvm_fpu) -> Result<()> {
        self.fd.set_fpu(fpu).map_err(kvm_error("set the FPU state"))
    }

    /// Where warnings (unclaimed accesses under [`UnclaimedPolicy::Log`]) go; `log` records
    /// (warnings of target `vmm_core`) by default.
    pub fn set_warning_output(&mut self, out: Box<dyn Write + Send>) {
        self.unclaimed.warnings = out;
    }

    /// Writes what the CPU mode needs into guest RAM (the GDT for protected and long mode, the
    /// identity page tables for long mode) and puts the vCPU in its entry state.
    pub fn set_boot_cpu(&mut self, boot: &BootCpu) -> Result<()> {
        let memory = &self.keep_alive.memory;
        if boot.mode != CpuMode::Real {
            memory::load_image(memory, BOOT_GDT, &gdt::bytes())?;
        }
        if boot.mode == CpuMode::Long {
            memory::load_image(
                memory,
                BOOT_PAGE_TABLES,
                &paging::identity_tables(BOOT_PAGE_TABLES),
            )?;
        }
        Ok(cpu::set_boot_state(&self.fd, boot)?)
    }

    /// Runs the guest on the calling thread until something pauses it, and says what.
    pub fn run(&mut self) -> VcpuEvent {
        let control = self.control.clone();
        let run_ptr = self.fd.get_kvm_run() as *mut kvm_run;
        let _attached = control.attach(run_ptr);
        loop {
            if let Some(reason) = control.take_stop() {
                return self.idle(VcpuEvent::Stopped(reason));
            }
            if control.pause_requested() {
                return self.idle(VcpuEvent::Paused);
            }
            for request in control.take_requests() {
                self.complete_pending_io();
                request(self);
            }
            if let Some(interrupts) = self.interrupts.clone() {
                control.take_interrupt();
                if self.halted {
                    if interrupts.pending() {
                        self.halted = false;
                    } else if interrupts.can_interrupt() {
                        control.wait_for_interrupt();
                        continue;
                    } else {
                        // Interrupts are enabled, but every line is masked: nothing can wake it.
                        self.halted = false;
                        return self.idle(VcpuEvent::Halted);
                    }
                }
                self.offer_interrupt(interrupts.as_ref());
            }
            let action = match self.fd.run() {
                Ok(exit) => {
                    // SAFETY: `run_ptr` is this vCPU's mapped kvm_run, alive as long as `fd`.
                    // The exit borrows only the I/O data bytes past the struct; this reads one
                    // byte of the struct (the union's `io.size`, meaningful for port exits and
                    // plain initialised memory for the others) through the raw pointer,
                    // creating no reference.
                    let port_size = unsafe {
                        std::ptr::addr_of!((*run_ptr).__bindgen_anon_1.io.size).read_volatile()
                    };
                    handle_exit(exit, &self.io, &mut self.exits, usize::from(port_size))
                }
                Err(e) if e.errno() == libc::EINTR => {
                    self.exits.count_interrupt();
                    set_immediate_exit(self.fd.get_kvm_run(), 0);
                    continue;
                }
                Err(e) if e.errno() == libc::EAGAIN => continue,
                Err(e) => return VcpuEvent::Fault(Fault::Kvm(e.to_string())),
            };
            self.pending_io = matches!(action, ExitAction::Continue | ExitAction::Unclaimed(_));
            match action {
                ExitAction::Continue | ExitAction::Resume => {}
                ExitAction::Stop(GuestStop::Halted)
                    if self.interrupts.is_some() && self.fd.get_kvm_run().if_flag != 0 =>
                {
                    // `sti; hlt`: wait for an interrupt at the top of the loop.
                    self.halted = true;
                }
                ExitAction::Unclaimed(access) if self.is_firmware_port(&access) => {
                    match self.firmware_call() {
                        Some(FirmwareAction::Halt) => return self.idle(VcpuEvent::Halted),
                        Some(FirmwareAction::TripleFault) => {
                            return self.idle(VcpuEvent::Fault(Fault::TripleFault))
                        }
                        Some(FirmwareAction::Resume) => {}
                        None => {
                            if let Some(fault) = self.on_unclaimed(access) {
                                return self.idle(VcpuEvent::Fault(fault));
                            }
                        }
                    }
                }
                // A write to a ROM exits (its slot is read-only) and goes nowhere, as on a PC.
                ExitAction::Unclaimed(access) if self.is_rom_write(&access) => {}
                ExitAction::Unclaimed(access) => {
                    if let Some(fault) = self.on_unclaimed(access) {
                        return self.idle(VcpuEvent::Fault(fault));
                    }
                }
                ExitAction::Stop(GuestStop::InternalError) if self.emulate_iret() => {
                    self.exits.iret_emulated += 1;
                }
                ExitAction::Debug(event) => return VcpuEvent::Debug(event),
                ExitAction::Stop(guest_stop) => return self.guest_stop_event(guest_stop),
            }
        }
    }

    /// Injects the interrupt the controller asserts if the guest can take it now, or asks KVM
    /// to exit as soon as it can (the interrupt window).
    fn offer_interrupt(&mut self, interrupts: &dyn InterruptController) {
        let pending = interrupts.pending();
        let run = self.fd.get_kvm_run();
        // What KVM said at the last exit: IF is set and no interrupt is already queued.
        let ready = run.ready_for_interrupt_injection != 0 && run.if_flag != 0;
        let mut window = pending;
        if pending && ready {
            let vector = interrupts.acknowledge();
            if interrupt::inject(&self.fd, vector).is_ok() {
                self.exits.injected += 1;
            }
            // Another request waiting behind this one: exit when it can be taken too.
            window = interrupts.pending();
        }
        self.fd.get_kvm_run().request_interrupt_window = u8::from(window);
    }

    fn is_rom_write(&self, access: &Access) -> bool {
        access.space == Space::Mmio
            && access.write
            && self
                .keep_alive
                ._device_memory
                .iter()
                .any(|w| w.is_read_only() && access.addr.wrapping_sub(w.base()) < w.len())
    }

    fn is_firmware_port(&self, access: &Access) -> bool {
        self.firmware.as_ref().is_some_and(|f| {
            access.space == Space::Port && access.write && access.addr == u64::from(f.port())
        })
    }

    /// Serves a firmware call: checks that the firmware's own code made it, lets the firmware
    /// work on the registers and writes back what changed. `None` when the write did not come
    /// from the firmware (or its registers could not be read): it is then an ordinary
    /// unclaimed write.
    ///
    /// Where RIP is depends on how KVM ran the `out`. Emulated (real mode on hosts without
    /// unrestricted guests), the `out` is finished and RIP is past it. Run natively, KVM moves
    /// RIP past it on the next entry: a call that leaves RIP alone then writes its registers
    /// back with RIP on the `out`; a call that moves RIP (a retry, a boot) lets KVM finish the
    /// `out` first, or KVM would move RIP again. Either way no `KVM_RUN` is spent on it.
    fn firmware_call(&mut self) -> Option<FirmwareAction> {
        let (mut regs, sregs) = if self.sync_regs {
            let synced = self.fd.sync_regs();
            (synced.regs, synced.sregs)
        } else {
            (self.fd.get_regs().ok()?, self.fd.get_sregs().ok()?)
        };
        let firmware = self.firmware.as_ref()?;
        let base = sregs.cs.base;
        // `out imm8, al` is two bytes long.
        let (out_at, skip_pending) = if firmware.owns(base.wrapping_add(regs.rip).wrapping_sub(2)) {
            (regs.rip.wrapping_sub(2), false)
        } else if firmware.owns(base.wrapping_add(regs.rip)) {
            (regs.rip, true)
        } else {
            return None;
        };
        let past_out = out_at.wrapping_add(2);
        regs.rip = past_out;
        let Vcpu {
            firmware,
            keep_alive,
            io,
            control,
            exits,
            ..
        } = self;
        let firmware = firmware.as_mut()?;
        exits.firmware_calls += 1;
        let mut call = FirmwareCall {
            regs,
            sregs,
            memory: &keep_alive.memory,
            io,
            control,
        };
        let action = firmware.call(&mut call);
        let (mut new_regs, new_sregs) = (call.regs, call.sregs);
        if skip_pending {
            if new_regs.rip == past_out {
                new_regs.rip = out_at;
                regs.rip = out_at;
            } else {
                self.complete_pending_io();
                regs = self.fd.get_regs().ok()?;
            }
        }
        // A register KVM refuses leaves the guest as it was: the call's effect is lost, and
        // the guest sees the service's failure, never a half-written state.
        if !same_bytes(&new_sregs, &sregs) {
            let _ = self.fd.set_sregs(&new_sregs);
        }
        if !same_bytes(&new_regs, &regs) {
            let _ = self.fd.set_regs(&new_regs);
        }
        Some(action)
    }

    /// Serves requests while a pause is asked for; returns on resume or on a stop request.
    pub fn wait_while_paused(&mut self) {
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

    /// Finishes an access KVM is completing, without entering the guest.
    fn complete_pending_io(&mut self) {
        if !self.pending_io {
            return;
        }
        self.pending_io = false;
        set_immediate_exit(self.fd.get_kvm_run(), 1);
        // KVM completes the access and returns EINTR; nothing else can come back.
        let _ = self.fd.run();
        set_immediate_exit(self.fd.get_kvm_run(), 0);
    }

    fn idle(&mut self, event: VcpuEvent) -> VcpuEvent {
        self.complete_pending_io();
        event
    }

    /// Single-stepping and hardware breakpoints.
    pub fn set_guest_debug(&self, debug: &GuestDebug) -> std::result::Result<(), DebugError> {
        let kvm = debug.to_kvm().map_err(DebugError::Setting)?;
        self.fd.set_guest_debug(&kvm).map_err(DebugError::Kvm)
    }

    /// The vCPU's registers now, or `None` if KVM will not give them.
    pub fn registers(&self) -> Option<Registers> {
        let regs = self.fd.get_regs().ok()?;
        let sregs = self.fd.get_sregs().ok()?;
        Some(Registers::from_kvm(&regs, &sregs))
    }

    /// The complete state (registers, FPU, MSRs, events...).
    pub fn state(&self) -> std::result::Result<VcpuState, state::StateBytesError> {
        VcpuState::read(&self.fd)
    }

    /// Puts the vCPU in `state`.
    pub fn set_state(
        &mut self,
        state: &VcpuState,
    ) -> std::result::Result<(), state::StateBytesError> {
        self.complete_pending_io();
        state.write(&self.fd)
    }

    /// Sets MSRs, as (index, value). KVM stops at the first it refuses; the rest stay.
    pub fn set_msrs(&mut self, entries: &[(u32, u64)]) -> Result<()> {
        let entries: Vec<_> = entries
            .iter()
            .map(|&(index, data)| kvm_bindings::kvm_msr_entry {
                index,
                data,
                ..Default::default()
            })
            .collect();
        let msrs =
            kvm_bindings::Msrs::from_entries(&entries).map_err(|_| crate::vm::VmError::Kvm {
                what: "build the MSR list",
                source: kvm_ioctls::Error::new(libc::E2BIG),
            })?;
        self.fd.set_msrs(&msrs).map_err(kvm_error("set the MSRs"))?;
        Ok(())
    }

    /// General registers, RIP and RFLAGS.
    pub fn regs(&self) -> Result<kvm_bindings::kvm_regs> {
        self.fd.get_regs().map_err(kvm_error("read the registers"))
    }

    /// Sets the general registers, RIP and RFLAGS.
    pub fn set_regs(&mut self, regs: &kvm_bindings::kvm_regs) -> Result<()> {
        self.complete_pending_io();
        self.fd
            .set_regs(regs)
            .map_err(kvm_error("set the registers"))
    }

    /// Segment, control and descriptor-table registers.
    pub fn sregs(&self) -> Result<kvm_bindings::kvm_sregs> {
        self.fd
            .get_sregs()
            .map_err(kvm_error("read the segment registers"))
    }

    /// Sets the segment, control and descriptor-table registers.
    pub fn set_sregs(&mut self, sregs: &kvm_bindings::kvm_sregs) -> Result<()> {
        self.complete_pending_io();
        self.fd
            .set_sregs(sregs)
            .map_err(kvm_error("set the segment registers"))
    }

    /// The guest-physical address of a linear address under the current paging, if mapped.
    pub fn translate(&self, linear: u64) -> Option<u64> {
        match self.fd.translate_gva(linear) {
            Ok(t) if t.valid != 0 => Some(t.physical_address),
            _ => None,
        }
    }

    fn on_unclaimed(&mut self, access: Access) -> Option<Fault> {
        let at = || {
            self.fd
                .get_regs()
                .ok()
                .zip(self.fd.get_sregs().ok())
                .map(|(r, s)| Registers::from_kvm(&r, &s).cs_ip())
                .unwrap_or_else(|| "?".to_owned())
        };
        self.unclaimed.on(access, at)
    }

    fn guest_stop_event(&mut self, stop: GuestStop) -> VcpuEvent {
        match stop {
            GuestStop::Halted => VcpuEvent::Halted,
            GuestStop::TripleFault => VcpuEvent::Fault(Fault::TripleFault),
            GuestStop::FailEntry(reason) => VcpuEvent::Fault(Fault::FailEntry { reason }),
            GuestStop::Unexpected(name) => VcpuEvent::Fault(Fault::UnexpectedExit(name)),
            GuestStop::InternalError => {
                // SAFETY: the last exit was KVM_EXIT_INTERNAL_ERROR, so `internal` is the union
                // member the kernel filled in.
                let suberror = unsafe { self.fd.get_kvm_run().__bindgen_anon_1.internal.suberror };
                VcpuEvent::Fault(Fault::InternalError {
                    suberror,
                    code: self.code_at_ip(),
                })
            }
        }
    }

    /// Up to 15 bytes of guest code at CS:IP (the instruction KVM stopped on).
    fn code_at_ip(&self) -> Vec<u8> {
        let Some(regs) = self.registers() else {
            return Vec::new();
        };
        let linear = regs.code_address();
        let physical = self.translate(linear).unwrap_or(linear);
        let mut code = vec![0u8; CODE_BYTES];
        let n = memory::read_prefix(&self.keep_alive.memory, physical, &mut code);
        code.truncate(n);
        code
    }
}

/// Whether two plain-data KVM structures hold the same bytes.
fn same_bytes<T: Copy>(a: &T, b: &T) -> bool {
    let size = std::mem::size_of::<T>();
    // SAFETY: `T` is a `Copy` KVM structure of plain integers with no padding bytes that could
    // be uninitialised (kvm_regs and kvm_sregs are arrays of u64/u32/u16/u8 fields laid out by
    // the kernel ABI and fully written by the ioctls or copied from such values); both
    // references are valid for `size` bytes.
    let (a, b) = unsafe {
        (
            std::slice::from_raw_parts((a as *const T).cast::<u8>(), size),
            std::slice::from_raw_parts((b as *const T).cast::<u8>(), size),
        )
    };
    a == b
}

/// IA32_MISC_ENABLE bit 0: fast string operations, on at power-on on every modern CPU.
const MISC_ENABLE_FAST_STRING: u64 = 1;
/// IA32_PAT's power-on value: WB, WT, UC-, UC, twice.
const PAT_POWER_ON: u64 = 0x0007_0406_0007_0406;

/// MSRs at their power-on values where KVM leaves them as the last user left them or
/// undefined (the list and values Firecracker uses).
fn set_power_on_msrs(fd: &VcpuFd) -> Result<()> {
    let entry = |index, data| kvm_bindings::kvm_msr_entry {
        index,
        data,
        ..Default::default()
    };
    let mut entries: Vec<_> = SAVED_MSRS.iter().map(|&i| entry(i, 0)).collect();
    entries.retain(|e| e.index != 0x277); // PAT gets its own value below
    entries.push(entry(0x277, PAT_POWER_ON));
    entries.push(entry(0x1A0, MISC_ENABLE_FAST_STRING));
    let msrs = kvm_bindings::Msrs::from_entries(&entries).map_err(|_| crate::vm::VmError::Kvm {
        what: "build the MSR list",
        source: kvm_ioctls::Error::new(libc::E2BIG),
    })?;
    // KVM sets MSRs in order and stops at the first it refuses; none of these is optional on
    // x86-64, but a host that refuses one leaves the rest at KVM's reset values, which is safe.
    fd.set_msrs(&msrs)
        .map_err(kvm_error("set the power-on MSRs"))?;
    Ok(())
}

impl Drop for Vcpu {
    fn drop(&mut self) {
        self.control.close();
    }
}

/// Why a debug setting could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum DebugError {
    /// The setting itself is impossible.
    #[error(transparent)]
    Setting(#[from] debug::DebugRegsError),
    /// KVM refused it.
    #[error("cannot set guest debugging (KVM_SET_GUEST_DEBUG)")]
    Kvm(#[source] kvm_ioctls::Error),
}
