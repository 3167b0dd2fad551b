//! The BIOS's 8x8 font (code page 437), for text drawn in graphics modes and for the font
//! pointers of int 1Fh and int 43h: the IBM PC's own 8x8 character set, as the rust-osdev `vga`
//! crate (MIT/Apache-2.0) redistributes it, in `rom/font8x8.bin` (8 bytes a glyph, one per row,
//! leftmost pixel in bit 7).

/// The whole font, 256 glyphs of 8 bytes, as it sits in ROM.
pub const FONT8X8: &[u8; 2048] = include_bytes!("../rom/font8x8.bin");

/// The 8x8 glyph of `code`.
pub fn glyph8x8(code: u8) -> [u8; 8] {
    let at = usize::from(code) * 8;
    let mut glyph = [0u8; 8];
    glyph.copy_from_slice(&FONT8X8[at..at + 8]);
    glyph
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_letter_a_and_the_full_block() {
        assert_eq!(
            glyph8x8(b'A'),
            [0x30, 0x78, 0xCC, 0xCC, 0xFC, 0xCC, 0xCC, 0x00]
        );
        assert_eq!(glyph8x8(0xDB), [0xFF; 8]);
        assert_eq!(glyph8x8(b' '), [0; 8]);
    }
}
