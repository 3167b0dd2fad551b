//! The VGA's default 256-colour palette (6-bit DAC values), as the BIOS loads it at power-on and
//! for mode 13h:
//! the 16 EGA colours, 16 greys, 9 hue wheels of 24 colours (three intensities, three
//! saturations each), and 8 blacks.

/// Colours 0-15.
const EGA: [[u8; 3]; 16] = [
    [0x00, 0x00, 0x00],
    [0x00, 0x00, 0x2A],
    [0x00, 0x2A, 0x00],
    [0x00, 0x2A, 0x2A],
    [0x2A, 0x00, 0x00],
    [0x2A, 0x00, 0x2A],
    [0x2A, 0x15, 0x00],
    [0x2A, 0x2A, 0x2A],
    [0x15, 0x15, 0x15],
    [0x15, 0x15, 0x3F],
    [0x15, 0x3F, 0x15],
    [0x15, 0x3F, 0x3F],
    [0x3F, 0x15, 0x15],
    [0x3F, 0x15, 0x3F],
    [0x3F, 0x3F, 0x15],
    [0x3F, 0x3F, 0x3F],
];

/// Colours 16-31.
const GREYS: [u8; 16] = [
    0x00, 0x05, 0x08, 0x0B, 0x0E, 0x11, 0x14, 0x18, 0x1C, 0x20, 0x24, 0x28, 0x2D, 0x32, 0x38, 0x3F,
];

/// The five levels of each hue wheel, lowest first: colours 32-247 in nine wheels.
const WHEELS: [[u8; 5]; 9] = [
    [0x00, 0x10, 0x1F, 0x2F, 0x3F],
    [0x1F, 0x27, 0x2F, 0x37, 0x3F],
    [0x2D, 0x31, 0x36, 0x3A, 0x3F],
    [0x00, 0x07, 0x0E, 0x15, 0x1C],
    [0x0E, 0x11, 0x15, 0x18, 0x1C],
    [0x14, 0x16, 0x18, 0x1A, 0x1C],
    [0x00, 0x04, 0x08, 0x0C, 0x10],
    [0x08, 0x0A, 0x0C, 0x0E, 0x10],
    [0x0B, 0x0C, 0x0D, 0x0F, 0x10],
];

/// The wheel's 24 colours as levels (red, green, blue): blue, magenta, red, yellow, green,
/// cyan and back.
const HUES: [[usize; 3]; 24] = [
    [0, 0, 4],
    [1, 0, 4],
    [2, 0, 4],
    [3, 0, 4],
    [4, 0, 4],
    [4, 0, 3],
    [4, 0, 2],
    [4, 0, 1],
    [4, 0, 0],
    [4, 1, 0],
    [4, 2, 0],
    [4, 3, 0],
    [4, 4, 0],
    [3, 4, 0],
    [2, 4, 0],
    [1, 4, 0],
    [0, 4, 0],
    [0, 4, 1],
    [0, 4, 2],
    [0, 4, 3],
    [0, 4, 4],
    [0, 3, 4],
    [0, 2, 4],
    [0, 1, 4],
];

/// A 6-bit DAC colour as 8-bit red, green, blue (0x3F becomes 0xFF).
pub fn to_rgb8(c: [u8; 3]) -> [u8; 3] {
    c.map(|v| (v << 2) | (v >> 4))
}

/// The default palette, (red, green, blue) from 0 to 63.
pub const DEFAULT_VGA: [[u8; 3]; 256] = build();

const fn build() -> [[u8; 3]; 256] {
    let mut p = [[0u8; 3]; 256];
    let mut i = 0;
    while i < 16 {
        p[i] = EGA[i];
        p[16 + i] = [GREYS[i], GREYS[i], GREYS[i]];
        i += 1;
    }
    let mut w = 0;
    while w < 9 {
        let mut h = 0;
        while h < 24 {
            let levels = WHEELS[w];
            let hue = HUES[h];
            p[32 + w * 24 + h] = [levels[hue[0]], levels[hue[1]], levels[hue[2]]];
            h += 1;
        }
        w += 1;
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_well_known_entries() {
        assert_eq!(DEFAULT_VGA[4], [0x2A, 0x00, 0x00]);
        assert_eq!(DEFAULT_VGA[31], [0x3F, 0x3F, 0x3F]);
        assert_eq!(DEFAULT_VGA[32], [0x00, 0x00, 0x3F]);
        assert_eq!(DEFAULT_VGA[40], [0x3F, 0x00, 0x00]);
        assert_eq!(DEFAULT_VGA[44], [0x3F, 0x3F, 0x00]);
        assert_eq!(DEFAULT_VGA[48], [0x00, 0x3F, 0x00]);
        assert_eq!(DEFAULT_VGA[247], [0x0B, 0x0C, 0x10]);
        assert_eq!(DEFAULT_VGA[248], [0, 0, 0]);
    }
}
