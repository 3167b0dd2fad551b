//! Where the VGA text screen is kept, and its visible page.

use std::sync::{Arc, Mutex};

use vm_memory::{Bytes, GuestAddress, GuestMemoryMmap};
use vmm_bios::video::Mode;
use vmm_core::DeviceMemory;
use vmm_devices::vga_text::{VgaText, PAGE_BYTES};

/// What is on screen, as the BIOS Data Area says: the one place both the end-of-run printing
/// and the live display read it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VideoLayout {
    /// A text page of `columns` x `rows` cells, `page_start` bytes into the text window.
    Text {
        /// 40 or 80.
        columns: usize,
        /// 25, or up to 60 with a smaller font.
        rows: usize,
        /// The active page's offset.
        page_start: u64,
    },
    /// Mode 13h.
    Graphics,
    /// A CGA mode at 0xB8000, `bits` a pixel (2: 04h, 05h; 1: 06h).
    Cga {
        /// 1 or 2.
        bits: u8,
    },
    /// An EGA/VGA 16-colour mode: the planes, as the VGA's registers lay them out.
    Planar,
}

impl VideoLayout {
    /// A machine without the BIOS: 80 columns from the window's start.
    pub const PLAIN: VideoLayout = VideoLayout::Text {
        columns: 80,
        rows: 25,
        page_start: 0,
    };

    /// The layout in the BIOS Data Area of `ram` (mode at 0x449, page start at 0x44E, rows less
    /// one at 0x484); a mode the BIOS does not have shows as 80-column text, as the BIOS's own
    /// services treat it.
    pub fn from_bda(ram: &GuestMemoryMmap) -> VideoLayout {
        let mut bda = [0u8; 7];
        if ram.read_slice(&mut bda, GuestAddress(0x449)).is_err() {
            return Self::PLAIN;
        }
        let page_start = u64::from(u16::from_le_bytes([bda[5], bda[6]]));
        let mut last_row = [0u8];
        let _ = ram.read_slice(&mut last_row, GuestAddress(u64::from(vmm_bios::bda::ROWS)));
        let rows = usize::from(vmm_bios::video::text_rows(last_row[0]));
        match Mode::from_number(bda[0] & 0x7F) {
            Some(Mode::Vga256) => VideoLayout::Graphics,
            Some(Mode::Graphics(s)) if s.cga_bits != 0 => VideoLayout::Cga { bits: s.cga_bits },
            Some(Mode::Graphics(_)) => VideoLayout::Planar,
            Some(Mode::Text { columns, .. }) => VideoLayout::Text {
                columns: usize::from(columns),
                rows,
                page_start,
            },
            None => VideoLayout::Text {
                columns: 80,
                rows,
                page_start,
            },
        }
    }
}

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
