//! The VGA's graphics window at 0xA0000 on the board: plain memory while the VGA shows text,
//! mode 13h or a CGA mode (the guest's accesses never exit), and the four planes while it is
//! in a planar mode (EGA/VGA 16 colours, unchained 256 colours), where every access goes
//! through the graphics controller's logic and so must reach the VMM. The window follows the
//! registers: each write to a VGA port looks whether the mode's memory is planar and, when
//! that changed, shows or hides the memory slot ([`vmm_core::MemoryMap`]).
//!
//! ```text
//!   out 3C4h/3CEh ─► VgaPorts ─► VgaRegisters ─► planar? ─► slot: memory | nothing
//!   mov [A0000h] ─► slot shown: memory       slot hidden: PlanarWindow ─► VgaPlanes
//! ```

use std::sync::{Arc, Mutex};

use vm_device::bus::{MmioAddress, MmioAddressOffset, PioAddress, PioAddressOffset};
use vm_device::{DeviceMmio, DevicePio};
use vmm_core::{Mapping, MemoryMap, SlotId};
use vmm_devices::vga_planar::VgaPlanes;
use vmm_devices::vga_regs::VgaRegisters;

use crate::sync::lock;

/// The window's memory slot, and what it shows when it is memory.
#[derive(Clone)]
pub struct GraphicsWindow {
    map: MemoryMap,
    slot: SlotId,
    memory: Mapping,
}

impl GraphicsWindow {
    /// The window in `slot` of `map`, showing `memory` while not planar.
    pub fn new(map: MemoryMap, slot: SlotId, memory: Mapping) -> Self {
        GraphicsWindow { map, slot, memory }
    }

    /// Whether the window is hidden (planar: accesses reach the planes).
    pub fn trapped(&self) -> bool {
        self.map.get(self.slot).is_none()
    }

    /// Shows or hides the memory as `regs` say.
    pub fn follow(&self, regs: &VgaRegisters) {
        let shown = (!regs.planar()).then_some(self.memory);
        if let Err(e) = self.map.set(self.slot, shown) {
            log::error!("cannot switch the VGA's graphics window: {e}");
        }
    }
}

/// The VGA's ports: the register file, and the window following it.
pub struct VgaPorts {
    pub(super) regs: Arc<Mutex<VgaRegisters>>,
    pub(super) window: GraphicsWindow,
}

impl DevicePio for VgaPorts {
    fn pio_read(&self, _base: PioAddress, offset: PioAddressOffset, data: &mut [u8]) {
        let mut regs = lock(&self.regs);
        for (i, byte) in data.iter_mut().enumerate() {
            *byte = regs.read(offset + i as u16);
        }
    }

    fn pio_write(&self, _base: PioAddress, offset: PioAddressOffset, data: &[u8]) {
        let planar = {
            let mut regs = lock(&self.regs);
            let before = regs.planar();
            for (i, &byte) in data.iter().enumerate() {
                regs.write(offset + i as u16, byte);
            }
            (before != regs.planar()).then(|| regs.clone())
        };
        if let Some(regs) = planar {
            self.window.follow(&regs);
        }
    }
}

/// The planes, as the window's accesses reach them while it is hidden.
pub struct PlanarWindow {
    pub(super) regs: Arc<Mutex<VgaRegisters>>,
    pub(super) planes: Arc<Mutex<VgaPlanes>>,
}

impl DeviceMmio for PlanarWindow {
    fn mmio_read(&self, _base: MmioAddress, offset: MmioAddressOffset, data: &mut [u8]) {
        let regs = lock(&self.regs).planar_regs();
        let mut planes = lock(&self.planes);
        for (i, byte) in data.iter_mut().enumerate() {
            *byte = planes.read(offset as usize + i, &regs);
        }
    }

    fn mmio_write(&self, _base: MmioAddress, offset: MmioAddressOffset, data: &[u8]) {
        let regs = lock(&self.regs).planar_regs();
        let mut planes = lock(&self.planes);
        for (i, &byte) in data.iter().enumerate() {
            planes.write(offset as usize + i, byte, &regs);
        }
    }
}
