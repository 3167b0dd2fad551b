//! The board: a machine built from a validated description (the way rust-vmm's vmm-reference
//! builds its `Vmm` from a config), owning the VM, its vCPU and a registry of its devices. The
//! CLI, and later the display, the gdb stub and snapshots, all go through it.
//!
//! [`Board::run_to_completion`] is the CLI's policy over the resumable vCPU: run until the
//! guest halts, exits, faults or is stopped, waiting out pauses.

mod bios;
mod interrupts;
mod pit_clock;
mod plugin_events;
mod plugin_host;
mod registry;
mod screen;
mod typist;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use vmm_core::layout::MULTIBOOT_INFO;
use vmm_core::{
    elf, multiboot, RunOutcome, RunReport, StopReason, Vcpu, VcpuControl, VcpuEvent, Vm,
};
use vmm_devices::debug_exit::IsaDebugExit;
use vmm_devices::debugcon::DebugConsole;
use vmm_devices::i8042::{self, I8042};
use vmm_devices::keymap::KeyEvent;
use vmm_devices::pic::{self, PicPair};
use vmm_devices::pit;
use vmm_devices::plugin::{PluginDevice, PluginHost};
use vmm_devices::serial::{self, Uart16550};
use vmm_devices::vga_regs::{self, VgaRegisters};
use vmm_devices::vga_text::{VgaText, WINDOW_SIZE};

pub use interrupts::{AckNotifier, Lines, PicController};
pub use pit_clock::{ClockedPit, PitState, PitTimer};

pub use plugin_events::PluginEvents;
pub use plugin_host::{BoardPluginHost, PluginWiring, LOG_ENV_VAR};
pub use registry::{DeviceEntry, DeviceHandle, DeviceRegistry, Error as StateError};
pub use screen::{Screen, VideoLayout};

use crate::diagnostic::{Diagnostic, Report};
use crate::error::Error;
use crate::gdb::{Hub, Stop};
use crate::spec::{DeviceKind, DeviceRange, VgaMode, DEBUG_EXIT_PORTS};
use crate::validate::{LoadPlan, ValidMachine};

/// Where a debug console's or serial port's output goes.
pub type ConsoleOutput = Box<dyn Write + Send>;

/// A machine ready to run: the VM, its vCPU and its devices.
pub struct Board {
    // Field order is drop order: the timer threads stop first, the vCPU goes before the VM.
    _plugin_events: Arc<PluginEvents>,
    _typist: Option<typist::Typist>,
    _pit: Option<PitTimer>,
    vcpu: Vcpu,
    vm: Vm,
    devices: DeviceRegistry,
}

impl Board {
    /// Creates the VM, loads the image, registers every device and sets the vCPU's entry
    /// state. `console_output` makes the sink of each debug console and stdout serial port.
    /// The machine's drives move into its BIOS.
    pub fn build(
        valid: &mut ValidMachine,
        mut console_output: impl FnMut() -> ConsoleOutput,
    ) -> Result<Board, Error> {
        let drives = std::mem::take(&mut valid.drives);
        let valid: &ValidMachine = valid;
        let spec = &valid.spec;
        let regions: Vec<_> = spec.memory.iter().map(|r| r.value).collect();
        let mut vm = Vm::new(&regions)?;
        let has_bios = spec.devices.iter().any(|d| d.value == DeviceKind::Bios);
        // With the BIOS, the image goes in after its POST (below), so that it wins where they
        // overlap (a boot sector loaded at 0).
        if !has_bios {
            load_image(&vm, valid, &regions)?;
        }
        let control = vm.vcpu_control();
        let pic = spec
            .devices
            .iter()
            .any(|d| d.value == DeviceKind::Pic)
            .then(|| Arc::new(Mutex::new(PicPair::new())));
        let lines = Lines::new(pic.clone(), control.clone());
        let mut pit_timer = None;
        let mut typist = None;
        let mut bios_hardware = None;
        let plugin_events =
            Arc::new(
                PluginEvents::new(control.clone()).map_err(|source| Error::Thread {
                    name: "plugin-events",
                    source,
                })?,
            );
        let mut devices = DeviceRegistry::default();
        for (index, device) in spec.devices.iter().enumerate() {
            let kind = device.value.type_name();
            let ranges = device.value.ranges();
            let (base, handle) = match &device.value {
                &DeviceKind::VgaText { mmio, mode } => {
                    let screen = match mode {
                        VgaMode::Trap => {
                            let dev = Arc::new(Mutex::new(VgaText::new()));
                            vm.register_mmio(mmio, WINDOW_SIZE, dev.clone())?;
                            Screen::Trapped(dev)
                        }
                        VgaMode::Memory => Screen::Mapped(vm.map_device_memory(mmio, WINDOW_SIZE)?),
                    };
                    (kind.to_owned(), DeviceHandle::VgaText(screen))
                }
                &DeviceKind::Debugcon { port } => {
                    let dev = Arc::new(Mutex::new(DebugConsole::new(console_output())));
                    vm.register_pio(port, 1, dev.clone())?;
                    (kind.to_owned(), DeviceHandle::Debugcon(dev))
                }
                &DeviceKind::IsaDebugExit { port } => {
                    let stop = control.clone();
                    let dev =
                        IsaDebugExit::new(move |value| stop.stop(StopReason::GuestExit(value)));
                    vm.register_pio(port, DEBUG_EXIT_PORTS, Arc::new(Mutex::new(dev)))?;
                    (kind.to_owned(), DeviceHandle::DebugExit)
                }
                DeviceKind::Pic => {
                    let dev = pic.clone().ok_or(Error::Internal("the PIC was not made"))?;
                    for base in [pic::MASTER_PORT, pic::SLAVE_PORT, pic::ELCR_PORT] {
                        vm.register_pio(base, pic::PORTS, dev.clone())?;
                    }
                    (kind.to_owned(), DeviceHandle::Pic(dev))
                }
                DeviceKind::Pit => {
                    let timer = PitTimer::new(lines.line(0));
                    let dev = timer.device();
                    vm.register_pio(pit::PIT_PORT, pit::PORTS, dev.clone())?;
                    vm.register_pio(pit::SPEAKER_PORT, 1, dev.clone())?;
                    pit_timer = Some(timer);
                    (kind.to_owned(), DeviceHandle::Pit(dev))
                }
                DeviceKind::I8042 { keys } => {
                    let reset = control.clone();
                    let kbc = I8042::new(lines.line(i8042::KEYBOARD_IRQ), move || {
                        reset.stop(StopReason::Reset)
                    });
                    let dev = Arc::new(Mutex::new(kbc));
                    if !keys.is_empty() {
                        typist = Some(typist::Typist::start(dev.clone(), keys.clone()).map_err(
                            |source| Error::Thread {
                                name: "typist",
                                source,
                            },
                        )?);
                    }
                    vm.register_pio(i8042::DATA_PORT, 1, dev.clone())?;
                    vm.register_pio(i8042::COMMAND_PORT, 1, dev.clone())?;
                    (kind.to_owned(), DeviceHandle::I8042(dev))
                }
                DeviceKind::Serial { port, irq, output } => {
                    let out: ConsoleOutput = match output {
                        None => console_output(),
                        Some(path) => {
                            Box::new(std::fs::File::create(&path.value).map_err(|source| {
                                Error::Output {
                                    path: path.value.clone(),
                                    source,
                                }
                            })?)
                        }
                    };
                    let dev = Arc::new(Mutex::new(Uart16550::with_line(out, lines.line(*irq))));
                    vm.register_pio(*port, serial::PORTS, dev.clone())?;
                    (kind.to_owned(), DeviceHandle::Serial(dev))
                }
                DeviceKind::Bios => {
                    let graphics = vm.map_device_memory(0xA_0000, 0x1_0000)?;
                    let rom = vm.map_device_memory(
                        u64::from(vmm_bios::rom::BASE),
                        u64::from(vmm_bios::rom::SIZE),
                    )?;
                    let vga = Arc::new(Mutex::new(VgaRegisters::new()));
                    vm.register_pio(vga_regs::BASE_PORT, vga_regs::PORTS, vga.clone())?;
                    bios_hardware = Some((graphics.clone(), rom.clone()));
                    (kind.to_owned(), DeviceHandle::Bios { vga, graphics, rom })
                }
                DeviceKind::Plugin(plugin) => {
                    let library = valid.library(index).ok_or(Error::Internal(
                        "a plugin device was validated without its library",
                    ))?;
                    let wiring = PluginWiring {
                        lines: plugin.irqs.iter().map(|&n| lines.line(n)).collect(),
                        events: plugin_events.clone(),
                        surroundings: crate::plugin_config::PluginSurroundings::new(
                            devices.next_name(&library.info().name),
                            &plugin.base_dir,
                            &plugin.config_toml,
                        ),
                    };
                    let host = Arc::new(BoardPluginHost::new(
                        index as u32,
                        vm.memory().clone(),
                        control.clone(),
                        wiring,
                    ));
                    let dyn_host: Arc<dyn PluginHost> = host.clone();
                    let dev = PluginDevice::create(library, dyn_host, &plugin.config_toml)
                        .map_err(|e| {
                            let d = Diagnostic::new(plugin.config_origin.clone(), e.to_string());
                            Report::new(d, spec.source.as_ref())
                        })?;
                    let dev = Arc::new(Mutex::new(dev));
                    match plugin.range {
                        DeviceRange::Port { base, len } => {
                            vm.register_pio(base, len, dev.clone())?
                        }
                        DeviceRange::Mmio { base, len } => {
                            vm.register_mmio(base, len, dev.clone())?
                        }
                    }
                    let handle = DeviceHandle::Plugin { device: dev, host };
                    (library.info().name.clone(), handle)
                }
            };
            devices.add(&base, kind, ranges, handle);
        }
        let mut vcpu = vm.create_vcpu()?;
        vcpu.set_boot_cpu(&valid.boot)?;
        vcpu.set_unclaimed_policy(spec.unclaimed);
        if let Some(pic) = pic {
            let notifiers = pit_timer
                .iter()
                .map(|t: &PitTimer| (0, t.ack_notifier()))
                .collect();
            let controller = PicController::new(pic, notifiers, lines.connected());
            vcpu.set_interrupt_controller(Arc::new(controller));
        }
        if let Some((graphics, rom)) = bios_hardware {
            let windows = bios::Windows {
                text: text_window(&devices),
                graphics,
                rom,
            };
            start_bios(&mut vcpu, valid, drives, windows)?;
            load_image(&vm, valid, &regions)?;
        }
        Ok(Board {
            _plugin_events: plugin_events,
            _typist: typist,
            _pit: pit_timer,
            vcpu,
            vm,
            devices,
        })
    }

    /// Types `events` on the keyboard behind the i8042; returns how many fit in its type-ahead
    /// queue (0 without an i8042).
    pub fn type_keys(&self, events: &[KeyEvent]) -> usize {
        self.devices.keyboard().map_or(0, |kbc| {
            kbc.lock()
                .unwrap_or_else(|p| p.into_inner())
                .type_ahead(events)
        })
    }

    /// The devices.
    pub fn devices(&self) -> &DeviceRegistry {
        &self.devices
    }

    /// The VM (memory, KVM handles).
    pub fn vm(&self) -> &Vm {
        &self.vm
    }

    /// The vCPU, for a policy of the caller's own (stepping, inspecting).
    pub fn vcpu(&mut self) -> &mut Vcpu {
        &mut self.vcpu
    }

    /// The vCPU's control handle: stop, pause, resume, kick, call.
    pub fn control(&self) -> VcpuControl {
        self.vcpu.control()
    }

    /// Runs the guest until it halts, exits, faults or is stopped; a pause is waited out.
    pub fn run_to_completion(&mut self) -> RunReport {
        let start = Instant::now();
        let outcome = loop {
            match self.vcpu.run() {
                VcpuEvent::Halted => break RunOutcome::Halted,
                VcpuEvent::Stopped(reason) => break self.outcome_of(reason),
                VcpuEvent::Paused => self.vcpu.wait_while_paused(),
                // Nobody asked for debug events under this policy: go on.
                VcpuEvent::Debug(_) => {}
                VcpuEvent::Fault(fault) => break RunOutcome::Fault(fault),
            }
        };
        self.report(outcome, start)
    }

    /// The report of a run that started at `start` and ended with `outcome`.
    fn report(&self, outcome: RunOutcome, start: Instant) -> RunReport {
        RunReport {
            outcome,
            registers: self.vcpu.registers(),
            exits: self.vcpu.exits(),
            setup_time: start.duration_since(self.vm.created()),
            run_time: start.elapsed(),
        }
    }

    /// Runs the guest under a debugger: as [`Board::run_to_completion`], but every pause and,
    /// while a gdb client is attached, every debug event stops the vCPU and is reported to
    /// `hub`; the vCPU then waits, serving the debugger's requests, until it is resumed.
    /// `wait` pauses before the first instruction (`--gdb-wait`). The end of the run is
    /// reported too, with its exit status.
    pub fn run_debugged(&mut self, hub: &Hub, wait: bool) -> RunReport {
        let start = Instant::now();
        let control = self.vcpu.control();
        if wait {
            control.pause();
        }
        let outcome = loop {
            let stop = match self.vcpu.run() {
                VcpuEvent::Halted => break RunOutcome::Halted,
                VcpuEvent::Stopped(reason) => break self.outcome_of(reason),
                VcpuEvent::Fault(fault) => break RunOutcome::Fault(fault),
                VcpuEvent::Paused => Stop::Paused,
                VcpuEvent::Debug(_) if !hub.attached() => continue,
                VcpuEvent::Debug(event) if event.breakpoint_slot().is_none() && hub.watching() => {
                    // Stepping for the watchpoints: stop only where watched memory changed.
                    let window = self.vga_window();
                    let vcpu = &mut self.vcpu;
                    match hub.changed_watch(|addr, len| {
                        crate::gdb::read_guest(vcpu, window.as_ref(), addr, len)
                    }) {
                        Some(i) => {
                            control.pause();
                            Stop::Watch(i)
                        }
                        // The step gdb asked for, with no watch changed.
                        None if hub.user_step() => {
                            control.pause();
                            Stop::Debug(event)
                        }
                        None => continue,
                    }
                }
                VcpuEvent::Debug(event) => {
                    control.pause();
                    Stop::Debug(event)
                }
            };
            // Reported before `paused` is set: a debugger that sees the vCPU paused finds its
            // report already queued (and clears it), never one arriving later.
            hub.report(stop);
            hub.set_paused(true);
            self.vcpu.wait_while_paused();
            hub.set_paused(false);
        };
        hub.report(Stop::Ended(crate::status::for_outcome(&outcome)));
        self.report(outcome, start)
    }

    /// The VGA text window's base and screen, if the board has one.
    pub fn vga_window(&self) -> Option<(u64, Screen)> {
        text_window(&self.devices)
    }

    /// What is on screen: as the BIOS's data area says, or 80 columns from the window's start
    /// on a machine without the BIOS.
    pub fn video_layout(&self) -> VideoLayout {
        if self.devices.iter().any(|e| e.kind == "bios") {
            VideoLayout::from_bda(self.vm.memory())
        } else {
            VideoLayout::PLAIN
        }
    }

    /// What a stop request means for the run, with a failed device's name and message.
    fn outcome_of(&self, reason: StopReason) -> RunOutcome {
        match reason {
            StopReason::Timeout => RunOutcome::Timeout,
            StopReason::Interrupted => RunOutcome::Interrupted,
            StopReason::Signal(s) => RunOutcome::Signal(s),
            StopReason::GuestExit(v) => RunOutcome::GuestExit(v),
            StopReason::Reset => RunOutcome::Reset,
            StopReason::DeviceHalted(index) => {
                let entry = self.devices.get(index as usize);
                let message = match entry.map(|e| &e.handle) {
                    Some(DeviceHandle::Plugin { host, .. }) => host.failure(),
                    _ => None,
                };
                RunOutcome::DeviceHalted {
                    device: entry.map_or_else(|| format!("device {index}"), |e| e.name.clone()),
                    message: message.unwrap_or_default(),
                }
            }
            StopReason::DeviceFailed(index) => {
                let entry = self.devices.get(index as usize);
                let message = match entry.map(|e| &e.handle) {
                    Some(DeviceHandle::Plugin { host, .. }) => host.failure(),
                    _ => None,
                };
                RunOutcome::DeviceFailed {
                    device: entry.map_or_else(|| format!("device {index}"), |e| e.name.clone()),
                    message: message.unwrap_or_else(|| "a device failed an access".to_owned()),
                }
            }
        }
    }

    /// Flushes every console and serial output; returns whether console output ends mid-line.
    pub fn flush_outputs(&self) -> bool {
        let mut mid_line = false;
        for console in self.devices.consoles() {
            if let Ok(mut c) = console.lock() {
                c.flush();
                mid_line |= c.ends_mid_line();
            }
        }
        for uart in self.devices.serials() {
            if let Ok(mut u) = uart.lock() {
                u.flush();
            }
        }
        mid_line
    }
}

/// The VGA text window's base and screen among `devices`.
fn text_window(devices: &DeviceRegistry) -> Option<(u64, Screen)> {
    let entry = devices.iter().find(|e| e.kind == "vga-text")?;
    let base = match entry.ranges.first()? {
        DeviceRange::Mmio { base, .. } => *base,
        DeviceRange::Port { .. } => return None,
    };
    Some((base, devices.screen()?))
}

/// Runs the BIOS's power-on self test, gives the vCPU its entry state as a BIOS leaves it
/// (DL = the boot drive; interrupts on when it boots a drive) and makes the BIOS its firmware.
fn start_bios(
    vcpu: &mut Vcpu,
    valid: &ValidMachine,
    drives: Vec<vmm_bios::Drive>,
    windows: bios::Windows,
) -> Result<(), Error> {
    let spec = &valid.spec;
    let serial_ports: Vec<u16> = spec
        .devices
        .iter()
        .filter_map(|d| match d.value {
            DeviceKind::Serial { port, .. } => Some(port),
            _ => None,
        })
        .collect();
    let first_drive = drives.first().map(|d| d.number);
    let mut bios = vmm_bios::Bios::new(vmm_bios::BiosConfig {
        ram: spec
            .memory
            .iter()
            .map(|r| vmm_bios::RamRange {
                base: r.value.base,
                size: r.value.size,
            })
            .collect(),
        drives,
        // stdin is the live display's keyboard when there is one, else keys through COM1.
        serial_keys: match (serial_ports.first(), spec.display) {
            (Some(&port), crate::display::DisplayKind::None) => vmm_bios::SerialKeys::On(port),
            _ => vmm_bios::SerialKeys::Off,
        },
        serial_ports,
    });
    let mut machine = bios::GuestMachine {
        memory: vcpu.memory(),
        io: vcpu.io(),
        windows: &windows,
        control: None,
    };
    bios.post(&mut machine);
    if let Some(number) = valid.boot_drive.or(first_drive) {
        let mut regs = vcpu.regs()?;
        regs.rdx = (regs.rdx & !0xFF) | u64::from(number);
        if valid.boot_drive.is_some() {
            regs.rflags |= 0x200;
        }
        vcpu.set_regs(&regs)?;
    }
    vcpu.set_firmware(Box::new(bios::BiosFirmware::new(bios, windows)));
    Ok(())
}

/// Puts the boot image (and a multiboot kernel's information page) into guest memory.
fn load_image(vm: &Vm, valid: &ValidMachine, regions: &[vmm_core::RamRegion]) -> Result<(), Error> {
    let spec = &valid.spec;
    match &valid.plan {
        LoadPlan::Flat => vm.load_image(spec.load.value, &valid.image)?,
        LoadPlan::Elf(image) => {
            elf::load(vm.memory(), &valid.image, image).map_err(Error::LoadElf)?
        }
        LoadPlan::Multiboot(plan) => {
            multiboot::load(vm.memory(), &valid.image, plan).map_err(Error::LoadMultiboot)?;
            let info =
                multiboot::info(regions, &spec.cmdline.value).map_err(Error::LoadMultiboot)?;
            vm.load_image(MULTIBOOT_INFO, &info)?;
        }
    }
    Ok(())
}
