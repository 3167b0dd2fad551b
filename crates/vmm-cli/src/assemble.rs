//! Turning a validated machine into a `vmm-core` machine with `vmm-devices` devices on its bus.

use std::io::Write;
use std::sync::{Arc, Mutex};

use vmm_core::layout::MULTIBOOT_INFO;
use vmm_core::{elf, multiboot, DeviceMemory, Machine, StopReason};
use vmm_devices::debug_exit::IsaDebugExit;
use vmm_devices::debugcon::DebugConsole;
use vmm_devices::serial::{self, Uart16550};
use vmm_devices::vga_text::{VgaText, PAGE_BYTES, WINDOW_SIZE};

use vmm_devices::plugin::{PluginDevice, PluginHost};

use crate::diagnostic::Diagnostic;
use crate::error::Error;
use crate::host::MachineHost;
use crate::spec::{DeviceKind, DeviceRange, VgaMode, DEBUG_EXIT_PORTS};
use crate::validate::{LoadPlan, ValidMachine};

/// Where a debug console's output goes.
pub type ConsoleOutput = Box<dyn Write + Send>;

/// Where the VGA text screen is kept.
pub enum Screen {
    /// In the trapped device model.
    Trapped(Arc<Mutex<VgaText>>),
    /// In memory mapped into the guest.
    Mapped(DeviceMemory),
}

impl Screen {
    /// The visible page's bytes (80x25 cells of character, attribute).
    pub fn page(&self) -> Vec<u8> {
        let mut page = vec![0u8; PAGE_BYTES];
        match self {
            Screen::Trapped(vga) => {
                if let Ok(vga) = vga.lock() {
                    vga.read(0, &mut page);
                }
            }
            Screen::Mapped(memory) => memory.read(0, &mut page),
        }
        page
    }
}

/// A machine ready to run, with the devices the caller reads afterwards.
pub struct Assembled {
    /// The machine.
    pub machine: Machine,
    /// Its VGA text screen, if it has one.
    pub screen: Option<Screen>,
    /// Its debug consoles, to flush when the run ends.
    pub consoles: Vec<Arc<Mutex<DebugConsole<ConsoleOutput>>>>,
    /// Its serial ports, to feed input to and flush when the run ends.
    pub serials: Vec<Arc<Mutex<Uart16550<ConsoleOutput>>>>,
    /// Why a device (a plugin) failed, when one did.
    pub failure: Arc<Mutex<Option<String>>>,
}

/// Creates the VM, loads the image, sets the vCPU's entry state and registers every device.
/// `console_output` makes the sink of each debug console.
pub fn assemble(
    valid: &ValidMachine,
    mut console_output: impl FnMut() -> ConsoleOutput,
) -> Result<Assembled, Error> {
    let spec = &valid.spec;
    let regions: Vec<_> = spec.memory.iter().map(|r| r.value).collect();
    let mut machine = Machine::new(&regions)?;
    match &valid.plan {
        LoadPlan::Flat => machine.load_image(spec.load.value, &valid.image)?,
        LoadPlan::Elf(image) => elf::load(machine.memory(), &valid.image, image)
            .map_err(|e| Error::Invalid(format!("cannot load the ELF image: {e}")))?,
        LoadPlan::Multiboot(plan) => {
            multiboot::load(machine.memory(), &valid.image, plan)
                .map_err(|e| Error::Invalid(format!("cannot load the multiboot kernel: {e}")))?;
            let info = multiboot::info(&regions, &spec.cmdline.value)
                .map_err(|e| Error::Invalid(e.to_string()))?;
            machine.load_image(MULTIBOOT_INFO, &info)?;
        }
    }
    machine.set_boot_cpu(&valid.boot)?;
    machine.set_unclaimed_policy(spec.unclaimed);
    let mut screen = None;
    let mut consoles = Vec::new();
    let mut serials = Vec::new();
    let failure = Arc::new(Mutex::new(None));
    let host: Arc<dyn PluginHost> = Arc::new(MachineHost::new(
        machine.memory().clone(),
        machine.stop_handle(),
        failure.clone(),
    ));
    let mut plugins = valid.plugins.iter();
    for device in &spec.devices {
        match &device.value {
            &DeviceKind::VgaText {
                mmio,
                mode: VgaMode::Trap,
            } => {
                let dev = Arc::new(Mutex::new(VgaText::new()));
                machine.register_mmio(mmio, WINDOW_SIZE, dev.clone())?;
                screen = Some(Screen::Trapped(dev));
            }
            &DeviceKind::VgaText {
                mmio,
                mode: VgaMode::Memory,
            } => {
                screen = Some(Screen::Mapped(
                    machine.map_device_memory(mmio, WINDOW_SIZE)?,
                ));
            }
            &DeviceKind::Debugcon { port } => {
                let dev = Arc::new(Mutex::new(DebugConsole::new(console_output())));
                machine.register_pio(port, 1, dev.clone())?;
                consoles.push(dev);
            }
            &DeviceKind::IsaDebugExit { port } => {
                let stop = machine.stop_handle();
                let dev = IsaDebugExit::new(move |value| stop.stop(StopReason::GuestExit(value)));
                machine.register_pio(port, DEBUG_EXIT_PORTS, Arc::new(Mutex::new(dev)))?;
            }
            DeviceKind::Serial { port, output } => {
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
                let dev = Arc::new(Mutex::new(Uart16550::new(out)));
                machine.register_pio(*port, serial::PORTS, dev.clone())?;
                serials.push(dev);
            }
            DeviceKind::Plugin(plugin) => {
                let library = plugins
                    .next()
                    .ok_or_else(|| Error::Thread("a plugin device has no loaded library".into()))?;
                let dev = PluginDevice::create(library, host.clone(), &plugin.config_toml)
                    .map_err(|e| {
                        let d = Diagnostic::new(plugin.config_origin.clone(), e.to_string());
                        Error::Invalid(d.render(spec.source.as_ref()))
                    })?;
                let dev = Arc::new(Mutex::new(dev));
                match plugin.range {
                    DeviceRange::Port { base, len } => machine.register_pio(base, len, dev)?,
                    DeviceRange::Mmio { base, len } => machine.register_mmio(base, len, dev)?,
                }
            }
        }
    }
    Ok(Assembled {
        machine,
        screen,
        consoles,
        serials,
        failure,
    })
}
