//! The BIOS's 8x8 font (code page 437), for text drawn in graphics modes and for the font
//! pointers of int 1Fh and int 43h: the IBM PC's own 8x8 character set, as the rust-osdev `vga`
//! crate (MIT/Apache-2.0) redistributes it, in `rom/font8x8.bin` (8 bytes a glyph, one per row,
//! leftmost pixel in bit 7).

/// The whole font, 256 glyphs of 8 bytes, as it sits in ROM.
pub const FONT8X8: &[u8; 2048] = include_bytes!("../rom/font8x8.bin");

/// The VGA's 8x16 font (256 glyphs of 16 bytes), the one picovmm draws text screens with: in
/// ROM for software that draws its own text in graphics modes and asks int 10h AX=1130h
/// (BH=06h) where it is (SYSLINUX's vesamenu, for one).
pub const FONT8X16: &[u8; 4096] = include_bytes!("../../vmm-devices/fonts/vga8x16.bin");

/// An 8x14 font (BH=02h) made from the 8x16 one: each glyph without its first and last rows,
/// which are blank but for the box-drawing and block characters.
pub const FONT8X14: [u8; 14 * 256] = eight_by_fourteen();

const fn eight_by_fourteen() -> [u8; 14 * 256] {
    let mut out = [0u8; 14 * 256];
    let mut code = 0;
    while code < 256 {
        let mut row = 0;
        while row < 14 {
            out[code * 14 + row] = FONT8X16[code * 16 + row + 1];
            row += 1;
        }
        code += 1;
    }
    out
}

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
