//! The VESA display on the board: the Bochs "VBE dispi" registers at ports 0x1CE/0x1CF and the
//! linear frame buffer they show, mapped as memory at [`LFB_BASE`] (the guest draws without
//! exits, as into the text window). Setting a mode clears the part of the buffer it shows
//! (unless told not to); the bank register points the window at 0xA0000 into the buffer, for
//! software that draws through 64 KiB banks instead.

use std::sync::{Arc, Mutex};

use vm_device::bus::{PioAddress, PioAddressOffset};
use vm_device::DevicePio;
use vmm_core::{DeviceMemory, Mapping};
use vmm_devices::bochs_vbe::{BochsVbe, Change};
use vmm_devices::vga_regs::VgaRegisters;

use super::vga_window::GraphicsWindow;
use crate::sync::lock;

/// Where the frame buffer is (Bochs's and QEMU's ISA default).
pub const LFB_BASE: u64 = 0xE000_0000;
/// Its size: 1600x1200 at 32 bits fits.
pub const LFB_SIZE: u64 = 8 << 20;
/// The window a bank shows.
const WINDOW: (u64, u64) = (0xA_0000, 0x1_0000);

/// The VESA display's parts, for the screen and snapshots.
#[derive(Clone)]
pub struct Vbe {
    /// The registers.
    pub regs: Arc<Mutex<BochsVbe>>,
    /// The frame buffer.
    pub lfb: DeviceMemory,
}

/// The ports, acting on the window and the buffer.
pub struct VbePorts {
    pub(super) vbe: Vbe,
    pub(super) window: GraphicsWindow,
    pub(super) vga: Arc<Mutex<VgaRegisters>>,
}

impl VbePorts {
    /// After a write: clears a new mode's picture, and points the window where it belongs.
    fn apply(&self, change: Change) {
        if change == Change::None {
            return;
        }
        let mode = lock(&self.vbe.regs).mode();
        if let (Change::Mode { clear: true }, Some(m)) = (change, mode) {
            let bytes = (m.stride * u32::from(m.height)) as usize;
            self.vbe
                .lfb
                .write(0, &vec![0u8; bytes.min(LFB_SIZE as usize)]);
        }
        let regs = lock(&self.vga).clone();
        self.vbe.show(&self.window, &regs);
    }
}

impl Vbe {
    /// Points the window at 0xA0000 at the bank the registers select while a mode is on, or
    /// gives it back to the VGA (`vga`'s registers) when none is.
    pub fn show(&self, window: &GraphicsWindow, vga: &VgaRegisters) {
        let (mode, bank) = {
            let regs = lock(&self.regs);
            (regs.mode(), regs.bank())
        };
        let offset = u64::from(bank) * WINDOW.1;
        let shown = mode.and_then(|_| {
            Mapping::device(&self.lfb, offset, WINDOW.1, WINDOW.0).map(|m| (m, offset))
        });
        window.show_bank(shown, vga);
    }
}

impl DevicePio for VbePorts {
    fn pio_read(&self, _base: PioAddress, offset: PioAddressOffset, data: &mut [u8]) {
        let value = lock(&self.vbe.regs).read(offset != 0);
        for (i, byte) in data.iter_mut().enumerate() {
            *byte = value.to_le_bytes().get(i).copied().unwrap_or(0xFF);
        }
    }

    fn pio_write(&self, _base: PioAddress, offset: PioAddressOffset, data: &[u8]) {
        // The registers are 16 bits; a byte write sets the low byte.
        let value = match *data {
            [low, high, ..] => u16::from_le_bytes([low, high]),
            [low] => u16::from(low),
            [] => return,
        };
        let change = lock(&self.vbe.regs).write(offset != 0, value);
        self.apply(change);
    }
}
