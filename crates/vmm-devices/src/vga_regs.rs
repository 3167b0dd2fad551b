//! The VGA's I/O registers (ports 0x3C0-0x3DF), as software touches them directly: the CRT
//! controller (cursor shape and location, display start), the attribute controller with its
//! address/data flip-flop, the sequencer and graphics controller (kept, not acted on), the
//! DAC's 256-colour palette with its read and write indexes, and input status 1, whose retrace
//! bits alternate on each read so that "wait for vertical retrace" loops end at once.
//!
//! The memory is elsewhere (the text window, the graphics window); the live display and
//! screenshots read the palette and cursor from here.

use vm_device::bus::{PioAddress, PioAddressOffset};
use vm_device::MutDevicePio;

use crate::vga_planar::PlanarRegs;

/// The first port.
pub const BASE_PORT: u16 = 0x3C0;
/// Ports spanned.
pub const PORTS: u16 = 0x20;

/// The VGA's register file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VgaRegisters {
    misc: u8,
    seq_index: u8,
    seq: [u8; 8],
    gc_index: u8,
    gc: [u8; 16],
    crtc_index: u8,
    crtc: [u8; 32],
    attr_index: u8,
    /// The next write to 0x3C0 is data (true) or an index (false).
    attr_data: bool,
    attr: [u8; 32],
    pel_mask: u8,
    dac_write: u8,
    dac_read: u8,
    dac_component: u8,
    /// 0x3C7 reads 3 after a read index was set, 0 after a write index.
    dac_reading: bool,
    dac: [[u8; 3]; 256],
    retrace: bool,
}

impl Default for VgaRegisters {
    fn default() -> Self {
        VgaRegisters {
            misc: 0x67,
            seq_index: 0,
            seq: [0x03, 0x00, 0x03, 0x00, 0x02, 0, 0, 0],
            gc_index: 0,
            gc: [0, 0, 0, 0, 0, 0x10, 0x0E, 0x0F, 0xFF, 0, 0, 0, 0, 0, 0, 0],
            crtc_index: 0,
            crtc: CRTC_MODE3,
            attr_index: 0x20,
            attr_data: false,
            attr: ATTR_MODE3,
            pel_mask: 0xFF,
            dac_write: 0,
            dac_read: 0,
            dac_component: 0,
            dac_reading: false,
            dac: crate::vga_palette::DEFAULT_VGA,
            retrace: false,
        }
    }
}

/// Mode 3's CRTC registers (the IBM VGA's values).
const CRTC_MODE3: [u8; 32] = [
    0x5F, 0x4F, 0x50, 0x82, 0x55, 0x81, 0xBF, 0x1F, 0x00, 0x4F, 0x0D, 0x0E, 0x00, 0x00, 0x00, 0x00,
    0x9C, 0x8E, 0x8F, 0x28, 0x1F, 0x96, 0xB9, 0xA3, 0xFF, 0, 0, 0, 0, 0, 0, 0,
];

/// The attribute registers: palette 0-15 onto DAC entries 0-15 (which hold the EGA colours in
/// the default palette, so text looks as on a VGA in mode 3, whose BIOS maps them through a
/// 64-colour DAC instead), mode control (blink on), overscan, plane enable, panning, colour
/// select.
const ATTR_MODE3: [u8; 32] = [
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F,
    0x0C, 0x00, 0x0F, 0x08, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
];

impl VgaRegisters {
    /// A VGA as the BIOS leaves it in mode 3, the default palette in its DAC.
    pub fn new() -> Self {
        Self::default()
    }

    /// The cursor's cell offset from video memory's start (CRTC 0x0E/0x0F), and whether the
    /// cursor is shown (CRTC 0x0A bit 5 clear).
    pub fn cursor(&self) -> (u16, bool) {
        let at = u16::from_be_bytes([self.crtc[0x0E], self.crtc[0x0F]]);
        (at, self.crtc[0x0A] & 0x20 == 0)
    }

    /// The display's start, in cells (CRTC 0x0C/0x0D).
    pub fn start_address(&self) -> u16 {
        u16::from_be_bytes([self.crtc[0x0C], self.crtc[0x0D]])
    }

    /// The DAC's colour `index` as 8-bit red, green, blue.
    pub fn colour(&self, index: u8) -> [u8; 3] {
        crate::vga_palette::to_rgb8(self.dac[usize::from(index)])
    }

    /// Attribute palette register `index` (0-15): the DAC entry text colour `index` shows.
    pub fn attribute_palette(&self, index: u8) -> u8 {
        self.attr[usize::from(index & 0x0F)] & 0x3F
    }

    /// Whether attribute bit 7 blinks (true) or selects bright backgrounds.
    pub fn blink(&self) -> bool {
        self.attr[0x10] & 0x08 != 0
    }

    /// The registers planar memory accesses obey.
    pub fn planar_regs(&self) -> PlanarRegs {
        PlanarRegs {
            map_mask: self.seq[2],
            set_reset: self.gc[0],
            enable_set_reset: self.gc[1],
            colour_compare: self.gc[2],
            rotate: self.gc[3],
            read_map: self.gc[4],
            mode: self.gc[5],
            colour_dont_care: self.gc[7],
            bit_mask: self.gc[8],
        }
    }

    /// Whether the window at 0xA0000 is planar memory: a graphics mode (graphics controller 6
    /// bit 0) without chain-4 (sequencer 4 bit 3), its memory map at 0xA0000. Text modes, mode
    /// 13h and the CGA modes at 0xB8000 are plain memory.
    pub fn planar(&self) -> bool {
        self.gc[6] & 0x01 != 0 && self.seq[4] & 0x08 == 0 && (self.gc[6] >> 2) & 3 <= 1
    }

    /// Sequencer register `index` (0-7).
    pub fn sequencer(&self, index: u8) -> u8 {
        self.seq[usize::from(index & 7)]
    }

    /// Graphics controller register `index` (0-15).
    pub fn graphics(&self, index: u8) -> u8 {
        self.gc[usize::from(index & 0x0F)]
    }

    /// CRT controller register `index` (0-31).
    pub fn crtc(&self, index: u8) -> u8 {
        self.crtc[usize::from(index & 0x1F)]
    }

    /// Attribute controller register `index` (0-31).
    pub fn attribute(&self, index: u8) -> u8 {
        self.attr[usize::from(index & 0x1F)]
    }

    /// A read of the port at `offset` from 0x3C0.
    pub fn read(&mut self, offset: u16) -> u8 {
        match offset {
            0x01 => self.attr[usize::from(self.attr_index & 0x1F)],
            0x02 => 0x10, // input status 0: switch sense
            0x04 => self.seq_index,
            0x05 => self.seq[usize::from(self.seq_index & 7)],
            0x06 => self.pel_mask,
            0x07 => {
                if self.dac_reading {
                    3
                } else {
                    0
                }
            }
            0x08 => self.dac_write,
            0x09 => {
                let value = self.dac[usize::from(self.dac_read)][usize::from(self.dac_component)];
                self.advance_read();
                value
            }
            0x0C => self.misc,
            0x0E => self.gc_index,
            0x0F => self.gc[usize::from(self.gc_index & 0x0F)],
            0x14 => self.crtc_index,
            0x15 => self.crtc[usize::from(self.crtc_index & 0x1F)],
            0x1A => {
                // Input status 1: resets the attribute flip-flop; retrace alternates.
                self.attr_data = false;
                self.retrace = !self.retrace;
                if self.retrace {
                    0x09
                } else {
                    0x00
                }
            }
            _ => 0xFF,
        }
    }

    /// A write of `value` to the port at `offset` from 0x3C0.
    pub fn write(&mut self, offset: u16, value: u8) {
        match offset {
            0x00 => {
                if self.attr_data {
                    self.attr[usize::from(self.attr_index & 0x1F)] = value;
                } else {
                    self.attr_index = value;
                }
                self.attr_data = !self.attr_data;
            }
            0x02 => self.misc = value,
            0x04 => self.seq_index = value,
            0x05 => self.seq[usize::from(self.seq_index & 7)] = value,
            0x06 => self.pel_mask = value,
            0x07 => {
                self.dac_read = value;
                self.dac_component = 0;
                self.dac_reading = true;
            }
            0x08 => {
                self.dac_write = value;
                self.dac_component = 0;
                self.dac_reading = false;
            }
            0x09 => {
                self.dac[usize::from(self.dac_write)][usize::from(self.dac_component)] =
                    value & 0x3F;
                self.dac_component += 1;
                if self.dac_component == 3 {
                    self.dac_component = 0;
                    self.dac_write = self.dac_write.wrapping_add(1);
                }
            }
            0x0E => self.gc_index = value,
            0x0F => self.gc[usize::from(self.gc_index & 0x0F)] = value,
            0x14 => self.crtc_index = value,
            0x15 => self.crtc[usize::from(self.crtc_index & 0x1F)] = value,
            _ => {}
        }
    }

    /// The registers as bytes (for snapshots).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut b = vec![
            self.misc,
            self.seq_index,
            self.gc_index,
            self.crtc_index,
            self.attr_index,
            u8::from(self.attr_data),
            self.pel_mask,
            self.dac_write,
            self.dac_read,
            self.dac_component,
            u8::from(self.dac_reading),
            u8::from(self.retrace),
        ];
        b.extend_from_slice(&self.seq);
        b.extend_from_slice(&self.gc);
        b.extend_from_slice(&self.crtc);
        b.extend_from_slice(&self.attr);
        b.extend(self.dac.iter().flatten());
        b
    }

    /// Registers from [`VgaRegisters::to_bytes`]; `None` for bytes of another length.
    pub fn from_bytes(b: &[u8]) -> Option<VgaRegisters> {
        if b.len() != 12 + 8 + 16 + 32 + 32 + 768 {
            return None;
        }
        let mut v = VgaRegisters {
            misc: b[0],
            seq_index: b[1],
            gc_index: b[2],
            crtc_index: b[3],
            attr_index: b[4],
            attr_data: b[5] != 0,
            pel_mask: b[6],
            dac_write: b[7],
            dac_read: b[8],
            dac_component: b[9] % 3,
            dac_reading: b[10] != 0,
            retrace: b[11] != 0,
            ..VgaRegisters::default()
        };
        let mut at = 12;
        let mut take = |dst: &mut [u8]| {
            dst.copy_from_slice(&b[at..at + dst.len()]);
            at += dst.len();
        };
        take(&mut v.seq);
        take(&mut v.gc);
        take(&mut v.crtc);
        take(&mut v.attr);
        for rgb in v.dac.iter_mut() {
            take(rgb);
        }
        Some(v)
    }

    fn advance_read(&mut self) {
        self.dac_component += 1;
        if self.dac_component == 3 {
            self.dac_component = 0;
            self.dac_read = self.dac_read.wrapping_add(1);
        }
    }
}

impl MutDevicePio for VgaRegisters {
    fn pio_read(&mut self, _base: PioAddress, offset: PioAddressOffset, data: &mut [u8]) {
        for (i, byte) in data.iter_mut().enumerate() {
            *byte = self.read(offset + i as u16);
        }
    }

    fn pio_write(&mut self, _base: PioAddress, offset: PioAddressOffset, data: &[u8]) {
        // A 16-bit `out dx, ax` to an index port writes the index, then the data port.
        for (i, &byte) in data.iter().enumerate() {
            self.write(offset + i as u16, byte);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_cursor_location_through_crtc() {
        let mut vga = VgaRegisters::new();
        vga.write(0x14, 0x0E);
        vga.write(0x15, 0x01);
        vga.write(0x14, 0x0F);
        vga.write(0x15, 0x40);
        assert_eq!(vga.cursor(), (0x140, true));
        vga.write(0x14, 0x0F);
        assert_eq!(vga.read(0x15), 0x40);
    }

    #[test]
    fn test_dac_write_then_read_back_autoincrements() {
        let mut vga = VgaRegisters::new();
        vga.write(0x08, 10);
        for c in [0x3F, 0x20, 0x01, 0x02, 0x03, 0x04] {
            vga.write(0x09, c);
        }
        vga.write(0x07, 10);
        let read: Vec<u8> = (0..6).map(|_| vga.read(0x09)).collect();
        assert_eq!(read, [0x3F, 0x20, 0x01, 0x02, 0x03, 0x04]);
        assert_eq!(vga.colour(10), [0xFF, 0x82, 0x04]);
    }

    #[test]
    fn test_attribute_flip_flop_reset_by_status_read() {
        let mut vga = VgaRegisters::new();
        vga.write(0x00, 0x01); // index
        vga.read(0x1A); // reset: next write is an index again
        vga.write(0x00, 0x02);
        vga.write(0x00, 0x3F);
        vga.write(0x00, 0x02);
        assert_eq!(vga.read(0x01), 0x3F);
    }

    #[test]
    fn test_retrace_alternates_so_wait_loops_end() {
        let mut vga = VgaRegisters::new();
        let reads: Vec<u8> = (0..4).map(|_| vga.read(0x1A) & 0x08).collect();
        assert_eq!(reads, [0x08, 0, 0x08, 0]);
    }

    #[test]
    fn test_registers_round_trip_through_bytes() {
        let mut vga = VgaRegisters::new();
        vga.write(0x08, 5);
        vga.write(0x09, 0x3F);
        vga.write(0x14, 0x0E);
        vga.write(0x15, 0x12);
        let back = VgaRegisters::from_bytes(&vga.to_bytes()).expect("decodes");
        assert_eq!(back, vga);
        assert!(VgaRegisters::from_bytes(&[0; 10]).is_none());
    }

    #[test]
    fn test_word_write_sets_index_and_data() {
        let mut vga = VgaRegisters::new();
        vga.pio_write(PioAddress(0x3D4), 0x14, &[0x0A, 0x20]);
        assert!(!vga.cursor().1);
    }
}
