//! The board: a machine built from a validated description (the way rust-vmm's vmm-reference
//! builds its `Vmm` from a config), owning the VM, its vCPU and a registry of its devices.
//! [`crate::Machine`] wraps it with the run policy (run until the guest halts, exits, faults
//! or is stopped, waiting out pauses) that every front end drives.

mod bios;

use std::sync::{Arc, Mutex};
use std::time::Instant;

use vmm_core::layout::MULTIBOOT_INFO;
use vmm_core::{
    elf, multiboot, Accel, CpuBackend, RunOutcome, RunReport, StopReason, VcpuControl, Vm,
};
use vmm_devices::pic::PicPair;

pub use crate::devices::registry::{
    ConsoleKind, ConsoleOutput, DeviceEntry, DeviceHandle, DeviceRegistry, RegistryError,
};
pub use crate::devices::screen::{Screen, VideoLayout};

use crate::devices::attach::{Attach, Started};
use crate::devices::interrupts::{Lines, PicController};
use crate::devices::pit_clock::PitTimer;
use crate::devices::plugin_events::PluginEvents;
use crate::error::MachineError as Error;
use crate::spec::DeviceType;
use crate::spec::{DeviceKind, DeviceRange};
use crate::validate::{LoadPlan, ValidMachine};

/// A machine ready to run: the VM, its vCPU and its devices.
pub struct Board {
    // Field order is drop order: the timer threads stop first, the vCPU goes before the VM.
    _plugin_events: Arc<PluginEvents>,
    _typist: Option<crate::devices::typist::Typist>,
    _pit: Option<PitTimer>,
    _rtc: Option<crate::devices::rtc_clock::RtcTimer>,
    /// The CPU backend that runs the guest (KVM's vCPU).
    vcpu: Box<dyn CpuBackend>,
    vm: Vm,
    devices: Arc<DeviceRegistry>,
    /// The board has picovmm's BIOS (and with it a BIOS Data Area that says the video mode).
    bios: bool,
    /// What runs the guest, and why.
    accel: (Accel, &'static str),
}

/// The PC's option-ROM space, empty ROM on a machine with the BIOS (no adapter ROMs).
const OPTION_ROM_BASE: u64 = 0xC_0000;
const OPTION_ROM_END: u64 = 0xF_0000;

impl Board {
    /// Creates the VM, loads the image, attaches every device and sets the vCPU's entry
    /// state. `console_output` makes the sink of each debug console and stdout serial port.
    /// Building consumes the description: its drives and libraries now belong to the board.
    pub fn build(
        valid: ValidMachine,
        mut console_output: impl FnMut(ConsoleKind) -> ConsoleOutput,
    ) -> Result<Board, Error> {
        let mut valid = valid;
        let drives = std::mem::take(&mut valid.drives);
        let spec = &valid.spec;
        let regions: Vec<_> = spec.memory.iter().map(|r| r.value).collect();
        let (accel, accel_reason) = spec.accel.resolve(spec.mode.value, spec.gdb.is_some());
        let mut vm = Vm::with_accel(&regions, accel)?;
        let has_bios = spec.has(DeviceType::Bios);
        // With the BIOS, the image goes in after its POST (below), so that it wins where they
        // overlap (a boot sector loaded at 0).
        if !has_bios {
            load_image(&vm, &valid, &regions)?;
        }
        let control = vm.vcpu_control();
        let pic = spec
            .has(DeviceType::Pic)
            .then(|| Arc::new(Mutex::new(PicPair::new())));
        let lines = Lines::new(pic.clone(), control.clone());
        let plugin_events =
            Arc::new(
                PluginEvents::new(control.clone()).map_err(|source| Error::Thread {
                    name: "plugin-events",
                    source,
                })?,
            );
        let mut started = Started::default();
        let mut devices = DeviceRegistry::default();
        for (index, device) in spec.devices.iter().enumerate() {
            let mut at = Attach {
                vm: &mut vm,
                control: control.clone(),
                pic: pic.clone(),
                lines: lines.clone(),
                console: &mut console_output,
                plugin_events: plugin_events.clone(),
                devices: &devices,
                valid: &valid,
                index,
                started: &mut started,
            };
            let (base, handle) = device.value.attach(&mut at)?;
            let ranges = device.value.ranges();
            devices.add(&base, device.value.device_type(), ranges, handle);
        }
        if has_bios {
            vm.map_empty_rom(OPTION_ROM_BASE, OPTION_ROM_END)?;
        }
        let mut vcpu = vm.create_cpu()?;
        vcpu.set_boot_cpu(&valid.boot)?;
        vcpu.set_unclaimed_policy(spec.unclaimed);
        if let Some(pic) = pic {
            let notifiers = started
                .pit
                .iter()
                .map(|t: &PitTimer| (0, t.ack_notifier()))
                .collect();
            let controller = PicController::new(pic, notifiers, lines.connected());
            vcpu.set_interrupt_controller(Arc::new(controller));
        }
        if let Some(pit) = &started.pit {
            vcpu.set_timer(pit.vcpu_timer());
        }
        if let Some((graphics, rom, graphics_window, lfb)) = started.bios.take() {
            let windows = bios::Windows {
                text: text_window(&devices),
                graphics,
                graphics_window,
                lfb,
                rom,
            };
            let timer = started.pit.as_ref().map(|p| p.vcpu_timer());
            start_bios(vcpu.as_mut(), &valid, drives, windows, timer)?;
            load_image(&vm, &valid, &regions)?;
        }
        Ok(Board {
            _plugin_events: plugin_events,
            _typist: started.typist,
            _pit: started.pit,
            _rtc: started.rtc,
            vcpu,
            vm,
            devices: Arc::new(devices),
            bios: has_bios,
            accel: (accel, accel_reason),
        })
    }

    /// The devices.
    pub fn devices(&self) -> &Arc<DeviceRegistry> {
        &self.devices
    }

    /// The VM (memory, KVM handles).
    pub fn vm(&self) -> &Vm {
        &self.vm
    }

    /// The vCPU, for a policy of the caller's own (stepping, inspecting).
    pub fn vcpu(&mut self) -> &mut dyn CpuBackend {
        self.vcpu.as_mut()
    }

    /// What runs the guest, and why it was chosen.
    pub fn accel(&self) -> (Accel, &'static str) {
        self.accel
    }

    /// The vCPU, to read.
    pub fn vcpu_ref(&self) -> &dyn CpuBackend {
        self.vcpu.as_ref()
    }

    /// The vCPU's control handle: stop, pause, resume, kick, call.
    pub fn control(&self) -> VcpuControl {
        self.vcpu.control()
    }

    /// The report of a run that started at `start` and ended with `outcome`.
    pub fn report(&self, outcome: RunOutcome, start: Instant) -> RunReport {
        RunReport {
            outcome,
            registers: self.vcpu.registers(),
            exits: self.vcpu.exits(),
            setup_time: start.duration_since(self.vm.created()),
            run_time: start.elapsed(),
            accel: self.accel,
        }
    }

    /// The VGA text window's base and screen, if the board has one.
    pub fn vga_window(&self) -> Option<(u64, Screen)> {
        text_window(&self.devices)
    }

    /// What is on screen: as the BIOS's data area says, or 80 columns from the window's start
    /// on a machine without the BIOS.
    pub fn video_layout(&self) -> VideoLayout {
        if self.bios {
            VideoLayout::from_bda(self.vm.memory())
        } else {
            VideoLayout::PLAIN
        }
    }

    /// What a stop request means for the run, with a failed device's name and message.
    pub fn outcome_of(&self, reason: StopReason) -> RunOutcome {
        match reason {
            StopReason::Timeout => RunOutcome::Timeout,
            StopReason::Interrupted => RunOutcome::Interrupted,
            StopReason::Signal(s) => RunOutcome::Signal(s),
            StopReason::GuestExit(v) => RunOutcome::GuestExit(v),
            StopReason::Reset => RunOutcome::Reset,
            StopReason::Quit => RunOutcome::Quit,
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
    let entry = devices.iter().find(|e| e.kind == DeviceType::VgaText)?;
    let base = match entry.ranges.first()? {
        DeviceRange::Mmio { base, .. } => *base,
        DeviceRange::Port { .. } => return None,
    };
    Some((base, devices.screen()?))
}

/// Runs the BIOS's power-on self test, gives the vCPU its entry state as a BIOS leaves it
/// (DL = the boot drive; interrupts on when it boots a drive) and makes the BIOS its firmware.
fn start_bios(
    vcpu: &mut dyn CpuBackend,
    valid: &ValidMachine,
    drives: Vec<vmm_bios::Drive>,
    windows: bios::Windows,
    timer: Option<Arc<dyn vmm_core::interrupt::VcpuTimer>>,
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
        serial_keys: match serial_ports.first() {
            Some(&port) if spec.serial_keys => vmm_bios::SerialKeys::On(port),
            _ => vmm_bios::SerialKeys::Off,
        },
        serial_ports,
        mouse: spec
            .devices
            .iter()
            .any(|d| matches!(d.value, DeviceKind::I8042 { mouse: true, .. })),
    });
    let mut machine = bios::GuestMachine {
        memory: vcpu.memory(),
        io: vcpu.io(),
        windows: &windows,
        control: None,
        timer: None,
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
    vcpu.set_firmware(Box::new(bios::BiosFirmware::new(bios, windows, timer)));
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
