//! `bios`: picovmm's BIOS. Its services are the vCPU's firmware (the board starts it after
//! every device is attached); here are its hardware: the VGA's registers, the graphics window
//! at 0xA0000 (memory, or the planes behind it: [`super::vga_window`]) and the ROM at 0xF0000.

use std::sync::{Arc, Mutex};

use vmm_core::Mapping;
use vmm_devices::vga_planar::VgaPlanes;
use vmm_devices::vga_regs::{self, VgaRegisters};

use super::attach::Attach;
use super::registry::DeviceHandle;
use super::vga_window::{GraphicsWindow, PlanarWindow, VgaPorts};
use crate::error::MachineError;
use crate::spec::DeviceRange;

/// The graphics window.
const GRAPHICS: (u64, u64) = (0xA_0000, 0x1_0000);

/// The BIOS's port, VGA registers, graphics window and ROM.
pub const BIOS_RANGES: [DeviceRange; 4] = [
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
    at.started.bios = Some((graphics.clone(), rom.clone(), window.clone()));
    Ok(DeviceHandle::Bios {
        vga,
        graphics,
        rom,
        planes,
        window,
    })
}
