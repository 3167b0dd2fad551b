//! The VGA's graphics window at 0xA0000 on the board: plain memory while the VGA shows text,
//! mode 13h or a CGA mode (the guest's accesses never exit), the four planes while it is in a
//! planar mode (EGA/VGA 16 colours, unchained 256 colours), where every access goes through
//! the graphics controller's logic and so must reach the VMM, and a 64 KiB bank of the linear
//! frame buffer while a VESA mode is on. The window follows the registers: each write to a VGA
//! port looks whether the mode's memory is planar and, when that changed, shows or hides the
//! memory slot ([`vmm_core::MemoryMap`]); the VESA interface points it at its bank.
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

/// The window's memory slot, what it shows when it is memory, and the frame buffer's bank
/// it shows instead while a VESA mode is on.
#[derive(Clone)]
pub struct GraphicsWindow {
    map: MemoryMap,
    slot: SlotId,
    memory: Mapping,
    /// The bank (its mapping and its offset in the frame buffer), while VESA is on.
    bank: Arc<Mutex<Option<(Mapping, u64)>>>,
}

/// What the window shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shown {
    /// Its own memory (text, CGA, mode 13h).
    Memory,
    /// Nothing: accesses reach the planes on the MMIO bus.
    Planes,
    /// The frame buffer from this byte on.
    Bank(u64),
}

impl GraphicsWindow {
    /// The window in `slot` of `map`, showing `memory` while not planar.
    pub fn new(map: MemoryMap, slot: SlotId, memory: Mapping) -> Self {
        GraphicsWindow {
            map,
            slot,
            memory,
            bank: Arc::default(),
        }
    }

    /// What the window shows now.
    pub fn shown(&self) -> Shown {
        if let Some((_, offset)) = *lock(&self.bank) {
            return Shown::Bank(offset);
        }
        match self.map.get(self.slot) {
            Some(_) => Shown::Memory,
            None => Shown::Planes,
        }
    }

    /// Shows or hides the memory as `regs` say (a VESA bank, while one is set, wins).
    pub fn follow(&self, regs: &VgaRegisters) {
        let bank = *lock(&self.bank);
        let shown = match bank {
            Some((mapping, _)) => Some(mapping),
            None => (!regs.planar()).then_some(self.memory),
        };
        if let Err(e) = self.map.set(self.slot, shown) {
            log::error!("cannot switch the VGA's graphics window: {e}");
        }
    }

    /// Shows a bank of the frame buffer (`mapping`, from byte `offset`), or, with `None`, what
    /// the VGA's registers say again.
    pub fn show_bank(&self, bank: Option<(Mapping, u64)>, regs: &VgaRegisters) {
        *lock(&self.bank) = bank;
        self.follow(regs);
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
