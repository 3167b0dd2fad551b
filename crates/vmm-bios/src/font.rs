//! The BIOS's 8x8 font (code page 437), for text drawn in graphics modes and for the font
//! pointers of int 1Fh and int 43h. The glyphs are Daniel Hepper's public-domain font8x8
//! (itself after the IBM PC's), looked up by the Unicode character each CP437 code stands for
//! (vmm-devices' table);
//! rows are stored as the PC stores them, leftmost pixel in bit 7.

use font8x8::UnicodeFonts;

/// The 8x8 glyph of `code`, leftmost pixel in bit 7; a glyph font8x8 lacks is a filled box
/// outline, so that it is visible rather than silently blank.
pub fn glyph8x8(code: u8) -> [u8; 8] {
    if code == 0 || code == 0x20 || code == 0xFF {
        return [0; 8];
    }
    let c = if code == 0x7F {
        '\u{2302}'
    } else {
        vmm_devices::cp437::to_char(code)
    };
    let found = font8x8::BASIC_FONTS
        .get(c)
        .or_else(|| font8x8::LATIN_FONTS.get(c))
        .or_else(|| font8x8::BOX_FONTS.get(c))
        .or_else(|| font8x8::BLOCK_FONTS.get(c))
        .or_else(|| font8x8::GREEK_FONTS.get(c))
        .or_else(|| font8x8::MISC_FONTS.get(c));
    match found {
        Some(rows) => rows.map(u8::reverse_bits),
        None => [0x00, 0x7E, 0x42, 0x42, 0x42, 0x42, 0x7E, 0x00],
    }
}

/// The whole font, 256 glyphs of 8 bytes, as it sits in ROM: built from font8x8 when
/// `rom/font8x8.bin` is made (a test checks the committed file against this).
pub fn font8x8_table() -> Vec<u8> {
    (0..=255u8).flat_map(glyph8x8).collect()
}

/// The font as committed in `rom/font8x8.bin`, so that power-on copies it instead of looking
/// up 256 glyphs.
pub const FONT8X8: &[u8; 2048] = include_bytes!("../rom/font8x8.bin");

#[cfg(test)]
mod tests {
    use super::*;

    /// `PICOVMM_WRITE_FONT=1 cargo test -p vmm-bios font` rewrites the file.
    #[test]
    fn test_committed_font_is_what_font8x8_gives() {
        let built = font8x8_table();
        if std::env::var("PICOVMM_WRITE_FONT").as_deref() == Ok("1") {
            let path = concat!(env!("CARGO_MANIFEST_DIR"), "/rom/font8x8.bin");
            std::fs::write(path, &built).expect("write rom/font8x8.bin");
        }
        assert!(
            built[..] == FONT8X8[..],
            "rom/font8x8.bin is stale: PICOVMM_WRITE_FONT=1 cargo test -p vmm-bios font"
        );
    }

    #[test]
    fn test_letter_a_is_drawn_leftmost_bit_high() {
        // font8x8's 'A' top row is 0x0C (pixels 2 and 3 from the left, LSB first).
        assert_eq!(glyph8x8(b'A')[0], 0x30);
    }

    #[test]
    fn test_code_page_437_box_drawing_and_blocks_are_drawn() {
        assert_eq!(glyph8x8(0xDB), [0xFF; 8]);
        assert_ne!(glyph8x8(0xC4), [0; 8]);
        assert_ne!(glyph8x8(0x03), [0; 8]);
    }
}
