//! What the VGA shows in the graphics modes that are not plain bytes: the planar modes (EGA
//! and VGA 16 colours, 0Dh-12h, and unchained 256 colours) from the four planes, and the CGA
//! modes (04h-06h) from the interleaved window at 0xB8000. The size, line length and start
//! come from the CRT controller as the modes program it; a pixel's value goes through the
//! attribute controller (colour plane enable, palette, colour select) to a DAC entry, as on
//! the card. Pictures hold DAC entries; the DAC turns them into colours.

use crate::vga_planar::VgaPlanes;
use crate::vga_regs::VgaRegisters;

/// The largest picture drawn (a register value beyond it is the guest's mistake).
const MAX_WIDTH: usize = 1024;
const MAX_HEIGHT: usize = 768;

/// A graphics picture: DAC entries, row by row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Picture {
    /// Pixels across.
    pub width: usize,
    /// Pixels down.
    pub height: usize,
    /// `width * height` DAC entries.
    pub pixels: Vec<u8>,
}

/// Size, line length (bytes a plane) and start address, from the CRT controller.
struct Geometry {
    width: usize,
    height: usize,
    stride: usize,
    start: usize,
}

fn geometry(regs: &VgaRegisters) -> Geometry {
    let dots = (usize::from(regs.crtc(0x01)) + 1) * 8;
    let width = if regs.attribute(0x10) & 0x40 != 0 {
        dots / 2
    } else {
        dots
    };
    let overflow = usize::from(regs.crtc(0x07));
    let lines =
        (usize::from(regs.crtc(0x12)) | (overflow & 0x02) << 7 | (overflow & 0x40) << 3) + 1;
    let max_scan = usize::from(regs.crtc(0x09));
    let repeat = ((max_scan & 0x1F) + 1) * if max_scan & 0x80 != 0 { 2 } else { 1 };
    let offset = usize::from(regs.crtc(0x13));
    let stride = if regs.crtc(0x14) & 0x40 != 0 {
        offset * 8
    } else if regs.crtc(0x17) & 0x40 != 0 {
        offset * 2
    } else {
        offset * 4
    };
    Geometry {
        width: width.clamp(1, MAX_WIDTH),
        height: (lines / repeat).clamp(1, MAX_HEIGHT),
        stride,
        start: usize::from(regs.crtc(0x0C)) << 8 | usize::from(regs.crtc(0x0D)),
    }
}

/// The DAC entry of pixel value `value` (0-15) through the attribute controller.
pub fn dac_entry(regs: &VgaRegisters, value: u8) -> u8 {
    let value = value & regs.attribute(0x12) & 0x0F;
    let palette = regs.attribute(value);
    let select = regs.attribute(0x14);
    if regs.attribute(0x10) & 0x80 != 0 {
        (palette & 0x0F) | (select & 0x0F) << 4
    } else {
        (palette & 0x3F) | (select & 0x0C) << 4
    }
}

/// The planar modes' picture: 16 colours, a bit of each plane a pixel, or unchained 256
/// colours (graphics controller 5 bit 6), four consecutive pixels one in each plane.
pub fn planar(regs: &VgaRegisters, planes: &VgaPlanes) -> Picture {
    let g = geometry(regs);
    let colours: [u8; 16] = std::array::from_fn(|v| dac_entry(regs, v as u8));
    let unchained_256 = regs.graphics(0x05) & 0x40 != 0;
    let mut pixels = Vec::with_capacity(g.width * g.height);
    for y in 0..g.height {
        let line = g.start + y * g.stride;
        for x in 0..g.width {
            let pixel = if unchained_256 {
                planes.byte(x & 3, line + x / 4)
            } else {
                let at = line + x / 8;
                let bit = 7 - (x & 7);
                let value = (0..4).fold(0u8, |v, p| v | (planes.byte(p, at) >> bit & 1) << p);
                colours[usize::from(value)]
            };
            pixels.push(pixel);
        }
    }
    Picture {
        width: g.width,
        height: g.height,
        pixels,
    }
}

/// A CGA mode's picture from the window at 0xB8000 (`memory`, at least 16 KiB): even lines
/// from its start, odd lines from 0x2000, 80 bytes a line; 320x200 in 2 bits a pixel
/// (`bits` 2: modes 04h and 05h) or 640x200 in 1 (mode 06h).
pub fn cga(regs: &VgaRegisters, memory: &[u8], bits: u8) -> Picture {
    let (width, height) = if bits == 1 { (640, 200) } else { (320, 200) };
    let colours: [u8; 16] = std::array::from_fn(|v| dac_entry(regs, v as u8));
    let per_byte = 8 / usize::from(bits.max(1));
    let mask = (1u8 << bits) - 1;
    let mut pixels = Vec::with_capacity(width * height);
    for y in 0..height {
        let line = (y & 1) * 0x2000 + (y >> 1) * 80;
        for x in 0..width {
            let byte = memory.get(line + x / per_byte).copied().unwrap_or(0);
            let shift = (per_byte - 1 - x % per_byte) * usize::from(bits);
            pixels.push(colours[usize::from(byte >> shift & mask)]);
        }
    }
    Picture {
        width,
        height,
        pixels,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vga_planar::PlanarRegs;

    /// Registers as the BIOS programs mode 12h (640x480, 16 colours), identity palette.
    fn mode12() -> VgaRegisters {
        let mut r = VgaRegisters::new();
        let crtc: [(u8, u8); 8] = [
            (0x01, 0x4F),
            (0x07, 0x3E),
            (0x09, 0x40),
            (0x12, 0xDF),
            (0x13, 0x28),
            (0x14, 0x00),
            (0x17, 0xE3),
            (0x0C, 0x00),
        ];
        for (i, v) in crtc {
            r.write(0x14, i);
            r.write(0x15, v);
        }
        r.read(0x1A);
        for i in 0..16u8 {
            r.write(0x00, i);
            r.write(0x00, i);
        }
        r.write(0x00, 0x10);
        r.write(0x00, 0x01);
        r.write(0x00, 0x12);
        r.write(0x00, 0x0F);
        r
    }

    #[test]
    fn test_mode_12h_is_640_by_480_and_reads_a_bit_of_each_plane() {
        let regs = mode12();
        let mut planes = VgaPlanes::new();
        let all = PlanarRegs {
            map_mask: 0b0101,
            bit_mask: 0xFF,
            ..PlanarRegs::default()
        };
        // Row 1, pixels 8-15: colour 5 (planes 0 and 2) in the first of them.
        planes.write(80 + 1, 0x80, &all);
        let picture = planar(&regs, &planes);
        assert_eq!((picture.width, picture.height), (640, 480));
        assert_eq!(picture.pixels[640 + 8], 5);
        assert_eq!(picture.pixels[640 + 9], 0);
    }

    #[test]
    fn test_colour_plane_enable_and_colour_select_reach_the_dac_entry() {
        let mut regs = mode12();
        regs.read(0x1A);
        regs.write(0x00, 0x12);
        regs.write(0x00, 0x01); // only plane 0 shown
        regs.write(0x00, 0x14);
        regs.write(0x00, 0x04); // colour select bits 6-7 = 01
        assert_eq!(dac_entry(&regs, 0x0F), 0x41);
    }

    #[test]
    fn test_cga_interleaves_even_and_odd_lines() {
        let regs = mode12();
        let mut memory = vec![0u8; 0x4000];
        memory[0] = 0b1110_0100; // line 0: values 3, 2, 1, 0
        memory[0x2000] = 0b0100_0000; // line 1: value 1
        let picture = cga(&regs, &memory, 2);
        assert_eq!((picture.width, picture.height), (320, 200));
        assert_eq!(&picture.pixels[..4], &[3, 2, 1, 0]);
        assert_eq!(picture.pixels[320], 1);
        let mono = cga(&regs, &memory, 1);
        assert_eq!(mono.width, 640);
        assert_eq!(&mono.pixels[..8], &[1, 1, 1, 0, 0, 1, 0, 0]);
    }

    #[test]
    fn test_any_register_values_draw_a_bounded_picture() {
        // A guest may program anything: the picture stays within 1024x768 and nothing panics.
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed as u8
        };
        let planes = VgaPlanes::new();
        for _ in 0..200 {
            let mut regs = VgaRegisters::new();
            for _ in 0..64 {
                let (port, value) = (u16::from(next() & 0x1F), next());
                regs.write(port, value);
            }
            let picture = planar(&regs, &planes);
            assert!(picture.width <= 1024 && picture.height <= 768);
            assert_eq!(picture.pixels.len(), picture.width * picture.height);
            let cga_picture = cga(&regs, &[0xA5; 100], 1 + (next() & 1));
            assert_eq!(
                cga_picture.pixels.len(),
                cga_picture.width * cga_picture.height
            );
        }
    }
}
