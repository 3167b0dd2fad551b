//! A frame as a picture: text modes drawn with the VGA's 8x16 font in the palette's colours
//! (40-column modes with each dot doubled, as the VGA shows them, so both are 640x400; 50 rows
//! with the 8x8 font, 28 with the 8x16 squeezed to 14 lines), graphics modes pixel for pixel.
//! The same frame always gives the same pixels.

use crate::frame::{Contents, Frame, ROWS};

/// The VGA's 8x16 font (code page 437): the IBM VGA ROM's glyphs, as the rust-osdev `vga`
/// crate (MIT/Apache-2.0) redistributes them. 16 bytes a glyph, leftmost dot in bit 7.
pub const FONT_8X16: &[u8; 4096] = include_bytes!("../../vmm-devices/fonts/vga8x16.bin");

/// An RGB picture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Image {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// Pixels, row by row, 3 bytes each.
    pub rgb: Vec<u8>,
}

impl Frame {
    /// The frame as a picture.
    pub fn image(&self) -> Image {
        render(self)
    }
}

/// Draws `frame`.
pub fn render(frame: &Frame) -> Image {
    match &frame.contents {
        Contents::Graphics {
            width,
            height,
            pixels,
        } => {
            let rgb = pixels
                .iter()
                .flat_map(|&p| frame.palette[usize::from(p)])
                .collect();
            Image {
                width: *width,
                height: *height,
                rgb,
            }
        }
        Contents::Rgb { width, height, rgb } => Image {
            width: *width,
            height: *height,
            rgb: rgb.clone(),
        },
        Contents::Text { columns, cells, .. } => render_text(frame, *columns, cells),
    }
}

fn render_text(frame: &Frame, columns: usize, cells: &[u8]) -> Image {
    let columns = columns.max(1);
    let dot = (640 / (columns * 8)).max(1); // 1 in 80 columns, 2 in 40
                                            // 25 rows of 16 lines; more rows (a smaller font) share the VGA's 400 lines.
    let rows = (cells.len() / (columns * 2)).max(ROWS);
    let glyph_height = (400 / rows).clamp(8, 16);
    let (width, height) = (columns * 8 * dot, rows * glyph_height);
    let mut rgb = vec![0u8; width * height * 3];
    for (i, cell) in cells.chunks_exact(2).enumerate().take(columns * rows) {
        let (row, col) = (i / columns, i % columns);
        let (fg, bg) = frame.attribute_colours(cell[1]);
        let (fg, bg) = (frame.text_colour(fg), frame.text_colour(bg));
        let glyph = &FONT_8X16[usize::from(cell[0]) * 16..][..16];
        let small = vmm_bios::font::glyph8x8(cell[0]);
        for y in 0..glyph_height {
            // 8 lines: the BIOS's 8x8 font, as a VGA in 50-row text shows; else the 8x16's.
            let bits = if glyph_height <= 8 {
                small[y]
            } else {
                glyph[y * 16 / glyph_height]
            };
            let line = (row * glyph_height + y) * width;
            for x in 0..8 * dot {
                let on = bits & (0x80 >> (x / dot)) != 0;
                let at = (line + col * 8 * dot + x) * 3;
                rgb[at..at + 3].copy_from_slice(if on { &fg } else { &bg });
            }
        }
    }
    Image { width, height, rgb }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text_snapshot(cells: Vec<u8>, columns: usize) -> Frame {
        Frame {
            contents: Contents::Text {
                columns,
                cells,
                cursor: None,
            },
            palette: vmm_devices::vga_palette::DEFAULT_VGA
                .iter()
                .map(|&c| vmm_devices::vga_palette::to_rgb8(c))
                .collect(),
            text_palette: std::array::from_fn(|i| i as u8),
            blink: true,
        }
    }

    #[test]
    fn test_text_cell_is_drawn_with_its_colours() {
        let mut cells = vec![0u8; 80 * 25 * 2];
        cells[0] = 0xDB; // a full block
        cells[1] = 0x1E; // yellow on blue
        let image = render(&text_snapshot(cells, 80));
        assert_eq!((image.width, image.height), (640, 400));
        // The block's pixels are yellow (colour 14: 0x3F,0x3F,0x15 in 6 bits).
        assert_eq!(&image.rgb[..3], &[0xFF, 0xFF, 0x55]);
        // The next cell is black on black.
        assert_eq!(&image.rgb[8 * 3..8 * 3 + 3], &[0, 0, 0]);
    }

    #[test]
    fn test_forty_columns_double_each_dot() {
        let mut cells = vec![0u8; 40 * 25 * 2];
        cells[0] = b'A';
        cells[1] = 0x07;
        let image = render(&text_snapshot(cells, 40));
        assert_eq!((image.width, image.height), (640, 400));
        // 'A' row 2 is 0x10 (one dot at x = 3): pixels 6 and 7 of the doubled row are lit.
        let row = 2 * 640 * 3;
        let lit: Vec<bool> = (0..16).map(|x| image.rgb[row + x * 3] != 0).collect();
        assert_eq!(lit.iter().filter(|&&l| l).count(), 2);
        assert!(lit[6] && lit[7]);
    }

    #[test]
    fn test_blink_bit_is_not_a_bright_background() {
        let mut s = text_snapshot(vec![0u8; 80 * 25 * 2], 80);
        assert_eq!(s.attribute_colours(0x9F), (0x0F, 0x01));
        s.blink = false;
        assert_eq!(s.attribute_colours(0x9F), (0x0F, 0x09));
    }
}
