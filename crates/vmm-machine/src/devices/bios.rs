//! `bios`: picovmm's BIOS. Its services are the vCPU's firmware (the board starts it after
//! every device is attached); here are its hardware: the VGA's registers, the graphics window
//! at 0xA0000 (memory, or the planes behind it: [`super::vga_window`]) and the ROM at 0xF0000.

use std::sync::{Arc, Mutex};

use vmm_core::Mapping;
use vmm_devices::bochs_vbe::{self, BochsVbe};
use vmm_devices::vga_planar::VgaPlanes;
use vmm_devices::vga_regs::{self, VgaRegisters};

use super::attach::Attach;
use super::registry::DeviceHandle;
use super::vbe::{self, Vbe, VbePorts};
use super::vga_window::{GraphicsWindow, PlanarWindow, VgaPorts};
use crate::error::MachineError;
use crate::spec::DeviceRange;

/// The graphics window.
const GRAPHICS: (u64, u64) = (0xA_0000, 0x1_0000);

/// The BIOS's port, VGA registers, graphics window and ROM, and the VESA display's ports (its
/// frame buffer goes where it is free: see [`attach_vbe`]).
pub const BIOS_RANGES: [DeviceRange; 5] = [
    DeviceRange::Port {
        base: vmm_bios::rom::PORT,
        len: 1,
    },
    DeviceRange::Port {
        base: vga_regs::BASE_PORT,
        len: vga_regs::PORTS,
    },
    DeviceRange::Mmio {
        base: GRAPHICS.0,
        len: GRAPHICS.1,
    },
    DeviceRange::Mmio {
        base: vmm_bios::rom::BASE as u64,
        len: vmm_bios::rom::SIZE as u64,
    },
    DeviceRange::Port {
        base: bochs_vbe::INDEX_PORT,
        len: bochs_vbe::PORTS,
    },
];

pub(super) fn attach(at: &mut Attach<'_>) -> Result<DeviceHandle, MachineError> {
    let vga = Arc::new(Mutex::new(VgaRegisters::new()));
    let planes = Arc::new(Mutex::new(VgaPlanes::new()));
    let trap = Arc::new(PlanarWindow {
        regs: vga.clone(),
        planes: planes.clone(),
    });
    let (graphics, slot) = at
        .vm
        .map_switchable_window(GRAPHICS.0, GRAPHICS.1, Some(trap))?;
    let memory = Mapping::device(&graphics, 0, GRAPHICS.1, GRAPHICS.0).ok_or(
        vmm_core::VmError::Unsupported("the graphics window has no host mapping"),
    )?;
    let window = GraphicsWindow::new(at.vm.memory_map(), slot, memory);
    let rom = at.vm.map_device_rom(
        u64::from(vmm_bios::rom::BASE),
        u64::from(vmm_bios::rom::SIZE),
    )?;
    let ports = Arc::new(VgaPorts {
        regs: vga.clone(),
        window: window.clone(),
    });
    at.vm
        .register_pio(vga_regs::BASE_PORT, vga_regs::PORTS, ports)?;
    let vbe = attach_vbe(at, &vga, &window)?;
    let lfb = vbe.as_ref().map(|v| v.lfb.clone());
    at.started.bios = Some((graphics.clone(), rom.clone(), window.clone(), lfb));
    Ok(DeviceHandle::Bios {
        vga,
        graphics,
        rom,
        planes,
        window,
        vbe,
    })
}

/// The VESA display, unless something else (RAM, a device) is where its frame buffer goes:
/// then the machine has none and the BIOS's VESA services say so.
fn attach_vbe(
    at: &mut Attach<'_>,
    vga: &Arc<Mutex<VgaRegisters>>,
    window: &GraphicsWindow,
) -> Result<Option<Vbe>, MachineError> {
    let Ok(lfb) = at.vm.map_device_memory(vbe::LFB_BASE, vbe::LFB_SIZE) else {
        log::info!(
            "no VESA display: [{:#x}, +{:#x}) is taken",
            vbe::LFB_BASE,
            vbe::LFB_SIZE
        );
        return Ok(None);
    };
    let regs = Arc::new(Mutex::new(BochsVbe::new(vbe::LFB_SIZE as u32)));
    let vbe = Vbe { regs, lfb };
    let ports = Arc::new(VbePorts {
        vbe: vbe.clone(),
        window: window.clone(),
        vga: vga.clone(),
    });
    at.vm
        .register_pio(bochs_vbe::INDEX_PORT, bochs_vbe::PORTS, ports)?;
    Ok(Some(vbe))
}
