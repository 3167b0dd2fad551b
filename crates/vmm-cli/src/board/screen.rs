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
