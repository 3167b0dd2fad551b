//! Where the VGA text screen is kept, and its visible page.

use std::sync::{Arc, Mutex};

use vmm_core::DeviceMemory;
use vmm_devices::vga_text::{VgaText, PAGE_BYTES};

/// The VGA text screen, whichever way it reaches the guest.
#[derive(Clone)]
pub enum Screen {
    /// In the trapped device model.
    Trapped(Arc<Mutex<VgaText>>),
    /// In memory mapped into the guest.
    Mapped(DeviceMemory),
}

impl Screen {
    /// Bytes of the 32 KiB window from `offset` (0xFF past its end).
    pub fn read(&self, offset: u64, buf: &mut [u8]) {
        match self {
            Screen::Trapped(vga) => match vga.lock() {
                Ok(vga) => vga.read(offset, buf),
                Err(_) => buf.fill(0xFF),
            },
            Screen::Mapped(memory) => memory.read(offset, buf),
        }
    }

    /// Writes `buf` into the window at `offset`; false, with nothing written, past its end.
    pub fn write(&self, offset: u64, buf: &[u8]) -> bool {
        match self {
            Screen::Trapped(vga) => vga
                .lock()
                .map(|mut v| v.write(offset, buf))
                .unwrap_or(false),
            Screen::Mapped(memory) => memory.write(offset, buf),
        }
    }

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
