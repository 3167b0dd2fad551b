//! int 10h's drawing in the CGA modes (04h-06h: interleaved bytes at 0xB8000) and the EGA/VGA
//! 16-colour modes (0Dh-12h: four planes behind 0xA0000): pixels, characters in the 8x8 font
//! (its rows stretched to the mode's character height), scrolling and clearing. Planar memory
//! is reached as software reaches it, through the graphics controller (write mode 2 and the
//! bit mask for a pixel, set/reset for a character's rows, write mode 1's latches to copy), so
//! the BIOS and the guest draw through the same hardware.

use crate::font;
use crate::machine::Machine;

const GRAPHICS_BASE: u32 = 0xA_0000;
const CGA_BASE: u32 = 0xB_8000;
const SEQ_INDEX: u16 = 0x3C4;
const SEQ_DATA: u16 = 0x3C5;
const GC_INDEX: u16 = 0x3CE;
const GC_DATA: u16 = 0x3CF;

/// A graphics mode the BIOS draws in here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Surface {
    /// Pixels across and down.
    pub width: u32,
    /// Pixels down.
    pub height: u32,
    /// Bits a pixel at 0xB8000 (CGA: 1 or 2), or 0 for planar memory.
    pub cga_bits: u8,
}

/// A rectangle of character cells, corners included.
#[derive(Clone, Copy, Debug)]
pub struct Cells {
    /// First row.
    pub top: u8,
    /// First column.
    pub left: u8,
    /// Last row.
    pub bottom: u8,
    /// Last column.
    pub right: u8,
}

fn gc(m: &mut dyn Machine, index: u8, value: u8) {
    m.outb(GC_INDEX, index);
    m.outb(GC_DATA, value);
}

fn map_mask(m: &mut dyn Machine, value: u8) {
    m.outb(SEQ_INDEX, 2);
    m.outb(SEQ_DATA, value);
}

/// The graphics controller as the BIOS leaves it: write mode 0, no set/reset, no function,
/// every bit, every plane.
fn plain(m: &mut dyn Machine) {
    for (index, value) in [(0, 0), (1, 0), (3, 0), (5, 0), (8, 0xFF)] {
        gc(m, index, value);
    }
    map_mask(m, 0x0F);
}

impl Surface {
    /// The height of a character: 8 in 200-line modes, 14 in 350, 16 in 480.
    pub fn char_height(&self) -> u32 {
        match self.height {
            350 => 14,
            480 => 16,
            _ => 8,
        }
    }

    /// Bytes a pixel line takes (a plane's, in planar modes).
    fn stride(&self) -> u32 {
        match self.cga_bits {
            0 => self.width / 8,
            _ => 80,
        }
    }

    /// The address of the byte holding pixel (0, y)'s line.
    fn line(&self, y: u32) -> u32 {
        match self.cga_bits {
            0 => GRAPHICS_BASE + y * self.stride(),
            _ => CGA_BASE + (y & 1) * 0x2000 + (y >> 1) * 80,
        }
    }

    /// Bytes a character cell's row takes.
    fn cell_bytes(&self) -> u32 {
        u32::from(self.cga_bits.max(1))
    }

    /// Sets pixel (x, y) to `colour` (bit 7: XOR it onto the screen).
    pub fn put_pixel(&self, m: &mut dyn Machine, x: u32, y: u32, colour: u8) {
        if x >= self.width || y >= self.height {
            return;
        }
        let xor = colour & 0x80 != 0;
        if self.cga_bits == 0 {
            let at = self.line(y) + x / 8;
            gc(m, 5, 2);
            gc(m, 8, 0x80 >> (x & 7));
            gc(m, 3, if xor { 0x18 } else { 0 });
            map_mask(m, 0x0F);
            m.read_u8(at); // the latches keep the other pixels
            m.write_u8(at, colour & 0x0F);
            plain(m);
            return;
        }
        let bits = u32::from(self.cga_bits);
        let per_byte = 8 / bits;
        let at = self.line(y) + x / per_byte;
        let shift = (per_byte - 1 - x % per_byte) * bits;
        let mask = ((1u32 << bits) - 1) as u8;
        let value = (colour & mask) << shift;
        let old = m.read_u8(at);
        let new = if xor {
            old ^ value
        } else {
            (old & !(mask << shift)) | value
        };
        m.write_u8(at, new);
    }

    /// The colour of pixel (x, y).
    pub fn get_pixel(&self, m: &mut dyn Machine, x: u32, y: u32) -> u8 {
        if x >= self.width || y >= self.height {
            return 0;
        }
        if self.cga_bits == 0 {
            let at = self.line(y) + x / 8;
            let bit = 7 - (x & 7);
            let mut colour = 0;
            for plane in 0..4 {
                gc(m, 4, plane);
                colour |= (m.read_u8(at) >> bit & 1) << plane;
            }
            gc(m, 4, 0);
            return colour;
        }
        let bits = u32::from(self.cga_bits);
        let per_byte = 8 / bits;
        let byte = m.read_u8(self.line(y) + x / per_byte);
        let shift = (per_byte - 1 - x % per_byte) * bits;
        byte >> shift & (((1u32 << bits) - 1) as u8)
    }

    /// Row `r` of `ch`'s glyph at this mode's character height.
    fn glyph_row(&self, ch: u8, r: u32) -> u8 {
        let glyph = font::glyph8x8(ch);
        glyph[(r * 8 / self.char_height()) as usize]
    }

    /// Draws `ch` at cell (row, col): foreground `colour` on background 0 (colour bit 7: XOR
    /// the foreground onto the screen, background untouched).
    pub fn draw_glyph(&self, m: &mut dyn Machine, row: u8, col: u8, ch: u8, colour: u8) {
        let h = self.char_height();
        let (x0, y0) = (u32::from(col) * 8, u32::from(row) * h);
        if x0 >= self.width || y0 + h > self.height {
            return;
        }
        let xor = colour & 0x80 != 0;
        for r in 0..h {
            let bits = self.glyph_row(ch, r);
            if self.cga_bits == 0 {
                let at = self.line(y0 + r) + u32::from(col);
                gc(m, 1, 0x0F);
                if !xor {
                    gc(m, 0, 0);
                    m.read_u8(at);
                    m.write_u8(at, 0xFF);
                }
                gc(m, 0, colour & 0x0F);
                gc(m, 8, bits);
                gc(m, 3, if xor { 0x18 } else { 0 });
                m.read_u8(at);
                m.write_u8(at, 0xFF);
                plain(m);
                continue;
            }
            for dx in 0..8 {
                let on = bits & (0x80 >> dx) != 0;
                match (xor, on) {
                    (true, false) => {}
                    (true, true) => self.put_pixel(m, x0 + dx, y0 + r, colour),
                    (false, on) => {
                        let c = if on { colour & 0x7F } else { 0 };
                        self.put_pixel(m, x0 + dx, y0 + r, c);
                    }
                }
            }
        }
    }

    /// The character drawn at cell (row, col): the glyph whose lit pixels are exactly the
    /// non-zero ones (0 when none matches), with the first lit pixel's colour.
    pub fn read_glyph(&self, m: &mut dyn Machine, row: u8, col: u8) -> (u8, u8) {
        let h = self.char_height();
        let (x0, y0) = (u32::from(col) * 8, u32::from(row) * h);
        let mut rows = Vec::with_capacity(h as usize);
        let mut colour = 0;
        for r in 0..h {
            let mut bits = 0u8;
            for dx in 0..8 {
                let p = self.get_pixel(m, x0 + dx, y0 + r);
                if p != 0 {
                    bits |= 0x80 >> dx;
                    if colour == 0 {
                        colour = p;
                    }
                }
            }
            rows.push(bits);
        }
        let ch = (0..=255u8)
            .find(|&c| (0..h).all(|r| self.glyph_row(c, r) == rows[r as usize]))
            .unwrap_or(0);
        (ch, colour)
    }

    /// Scrolls `cells` by `lines` character rows (up or down), filling with `colour`.
    pub fn scroll(&self, m: &mut dyn Machine, cells: Cells, lines: u8, colour: u8, up: bool) {
        let h = self.char_height();
        let rows: Vec<u8> = if up {
            (cells.top..=cells.bottom).collect()
        } else {
            (cells.top..=cells.bottom).rev().collect()
        };
        let offset = u32::from(cells.left) * self.cell_bytes();
        let len = (u32::from(cells.right - cells.left) + 1) * self.cell_bytes();
        for (i, &row) in rows.iter().enumerate() {
            let source = rows.get(i + usize::from(lines)).copied();
            for r in 0..h {
                let to = self.line(u32::from(row) * h + r) + offset;
                match source {
                    Some(from) => {
                        let from = self.line(u32::from(from) * h + r) + offset;
                        self.copy(m, from, to, len);
                    }
                    None => self.fill(m, to, len, colour),
                }
            }
        }
    }

    /// Copies `len` bytes of every plane (or of CGA memory) from `from` to `to`.
    fn copy(&self, m: &mut dyn Machine, from: u32, to: u32, len: u32) {
        if self.cga_bits != 0 {
            let mut bytes = vec![0u8; len as usize];
            m.read(from, &mut bytes);
            m.write(to, &bytes);
            return;
        }
        gc(m, 5, 1);
        map_mask(m, 0x0F);
        for i in 0..len {
            m.read_u8(from + i);
            m.write_u8(to + i, 0);
        }
        plain(m);
    }

    /// Fills `len` bytes from `at` with pixels of `colour`.
    fn fill(&self, m: &mut dyn Machine, at: u32, len: u32, colour: u8) {
        let byte = match self.cga_bits {
            0 => {
                gc(m, 0, colour & 0x0F);
                gc(m, 1, 0x0F);
                m.write(at, &vec![0u8; len as usize]);
                plain(m);
                return;
            }
            1 => 0xFF * (colour & 1),
            _ => (colour & 3) * 0x55,
        };
        m.write(at, &vec![byte; len as usize]);
    }

    /// Clears the whole screen (and, in planar modes, all 64 KiB of every plane).
    pub fn clear(&self, m: &mut dyn Machine) {
        match self.cga_bits {
            0 => {
                plain(m);
                m.write(GRAPHICS_BASE, &vec![0u8; 0x1_0000]);
            }
            _ => m.write(CGA_BASE, &vec![0u8; 0x4000]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::FakeMachine;

    const CGA4: Surface = Surface {
        width: 320,
        height: 200,
        cga_bits: 2,
    };

    #[test]
    fn test_cga_pixels_interleave_lines_and_pack_bits() {
        let mut m = FakeMachine::new();
        CGA4.put_pixel(&mut m, 1, 0, 3);
        CGA4.put_pixel(&mut m, 4, 1, 2);
        assert_eq!(m.read_u8(CGA_BASE), 0b0011_0000);
        assert_eq!(m.read_u8(CGA_BASE + 0x2001), 0b1000_0000);
        assert_eq!(CGA4.get_pixel(&mut m, 1, 0), 3);
        CGA4.put_pixel(&mut m, 1, 0, 0x81);
        assert_eq!(CGA4.get_pixel(&mut m, 1, 0), 2);
    }

    #[test]
    fn test_cga_glyph_and_read_back() {
        let mut m = FakeMachine::new();
        CGA4.draw_glyph(&mut m, 2, 3, b'A', 1);
        assert_eq!(CGA4.read_glyph(&mut m, 2, 3), (b'A', 1));
        let cells = Cells {
            top: 0,
            left: 0,
            bottom: 24,
            right: 39,
        };
        CGA4.scroll(&mut m, cells, 1, 0, true);
        assert_eq!(CGA4.read_glyph(&mut m, 1, 3), (b'A', 1));
        assert_eq!(CGA4.read_glyph(&mut m, 2, 3).0, 0);
    }
}
