//! VGA colour text mode: the 32 KiB window at 0xB8000 that holds the 80x25 screen.
//!
//! The device is plain memory behind an MMIO range: every byte the guest writes is kept and
//! reads see what was written. Only the first page (80x25 cells of character + attribute,
//! 4,000 bytes) is visible; the rest of the window is kept for guests that use other pages or
//! scratch space. Accesses are bounds-checked, so nothing is written outside the buffer.

use vm_device::bus::{MmioAddress, MmioAddressOffset};
use vm_device::MutDeviceMmio;

use crate::screen::TextScreen;

/// Size of the text-mode window, 0xB8000 up to 0xC0000.
pub const WINDOW_SIZE: u64 = 0x8000;
/// Columns of the visible page.
pub const COLUMNS: usize = 80;
/// Rows of the visible page.
pub const ROWS: usize = 25;
/// Bytes per cell: the CP437 character, then its attribute.
pub const CELL_BYTES: usize = 2;
/// Bytes of the visible page: 80 x 25 cells.
pub const PAGE_BYTES: usize = COLUMNS * ROWS * CELL_BYTES;
/// What a read returns for bytes outside the window (an open bus).
const OPEN_BUS: u8 = 0xFF;

/// VGA text-mode memory.
pub struct VgaText {
    memory: Box<[u8]>,
}

impl Default for VgaText {
    fn default() -> Self {
        Self::new()
    }
}

impl VgaText {
    /// A window of zeroes: every cell blank, black on black.
    pub fn new() -> Self {
        VgaText {
            memory: vec![0; WINDOW_SIZE as usize].into_boxed_slice(),
        }
    }

    /// The byte range `[offset, offset + len)` when it lies inside the window.
    fn range(offset: u64, len: usize) -> Option<std::ops::Range<usize>> {
        let start = usize::try_from(offset).ok()?;
        let end = start.checked_add(len)?;
        (end as u64 <= WINDOW_SIZE).then_some(start..end)
    }

    /// Reads `data.len()` bytes at `offset` into the window; bytes outside it read as 0xFF.
    pub fn read(&self, offset: u64, data: &mut [u8]) {
        match Self::range(offset, data.len()) {
            Some(range) => data.copy_from_slice(&self.memory[range]),
            None => data.fill(OPEN_BUS),
        }
    }

    /// Writes `data` at `offset` into the window; a write that does not fit is dropped whole.
    /// Returns whether it was stored.
    pub fn write(&mut self, offset: u64, data: &[u8]) -> bool {
        match Self::range(offset, data.len()) {
            Some(range) => {
                self.memory[range].copy_from_slice(data);
                true
            }
            None => false,
        }
    }

    /// The whole 32 KiB window, for a caller that keeps it in sync with guest memory.
    pub fn window(&self) -> &[u8] {
        &self.memory
    }

    /// The visible page, ready to be rendered.
    pub fn screen(&self) -> TextScreen<'_> {
        TextScreen::new(&self.memory[..PAGE_BYTES])
    }
}

/// The trapped window's bytes.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct VgaTextState {
    /// The 32 KiB window (in hex: a string parses much faster than 32,768 numbers).
    #[serde(with = "crate::state::hex_bytes")]
    pub memory: Vec<u8>,
}

impl crate::state::Stateful for VgaText {
    type State = VgaTextState;

    fn save(&self) -> VgaTextState {
        VgaTextState {
            memory: self.memory.to_vec(),
        }
    }

    fn restore(&mut self, state: VgaTextState) -> Result<(), crate::state::StateError> {
        if state.memory.len() as u64 != WINDOW_SIZE {
            return Err(crate::state::StateError::Invalid(
                "the VGA text window is not 32 KiB",
            ));
        }
        self.memory = state.memory.into_boxed_slice();
        Ok(())
    }
}

impl MutDeviceMmio for VgaText {
    fn mmio_read(&mut self, _base: MmioAddress, offset: MmioAddressOffset, data: &mut [u8]) {
        self.read(offset, data);
    }

    fn mmio_write(&mut self, _base: MmioAddress, offset: MmioAddressOffset, data: &[u8]) {
        self.write(offset, data);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_write_byte_then_read_returns_it() {
        let mut vga = VgaText::new();
        vga.write(0x10, &[0x41]);
        let mut data = [0u8; 1];
        vga.read(0x10, &mut data);
        assert_eq!(data, [0x41]);
    }

    #[test]
    fn test_write_dword_is_little_endian_cells() {
        let mut vga = VgaText::new();
        vga.write(0, &0x1F42_1F41u32.to_le_bytes());
        assert_eq!(&vga.window()[..4], &[0x41, 0x1F, 0x42, 0x1F]);
    }

    #[test]
    fn test_write_last_byte_of_window_is_kept() {
        let mut vga = VgaText::new();
        assert!(vga.write(WINDOW_SIZE - 1, &[0x5A]));
        assert_eq!(vga.window()[WINDOW_SIZE as usize - 1], 0x5A);
    }

    #[test]
    fn test_write_straddling_window_end_is_dropped() {
        let mut vga = VgaText::new();
        assert!(!vga.write(WINDOW_SIZE - 1, &[1, 2]));
        assert!(vga.window().iter().all(|&b| b == 0));
    }

    #[test]
    fn test_write_far_past_window_is_dropped() {
        let mut vga = VgaText::new();
        assert!(!vga.write(u64::MAX, &[1]));
    }

    #[test]
    fn test_read_past_window_is_open_bus() {
        let vga = VgaText::new();
        let mut data = [0u8; 2];
        vga.read(WINDOW_SIZE, &mut data);
        assert_eq!(data, [0xFF, 0xFF]);
    }

    #[test]
    fn test_write_beyond_visible_page_does_not_change_screen() {
        let mut vga = VgaText::new();
        vga.write(PAGE_BYTES as u64, b"X\x07");
        assert_eq!(vga.screen().to_text(), "");
    }

    #[test]
    fn test_mmio_write_goes_through_bus_trait() {
        let mut vga = VgaText::new();
        vga.mmio_write(MmioAddress(0xB8000), 2, b"H");
        assert_eq!(vga.screen().to_text(), " H\n");
    }
}
