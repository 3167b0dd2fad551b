//! The VGA's registers for each video mode the BIOS sets, as the IBM VGA's BIOS programs them
//! (miscellaneous output, sequencer, CRT controller, graphics controller, attribute
//! controller), and the DAC contents they go with: the 256-colour default for text and mode
//! 13h, the EGA's 64 colours for the CGA and EGA/VGA 16-colour modes. Software that reads the
//! registers (or changes one, as "mode X" clears chain-4 after setting mode 13h) sees a VGA.

use crate::machine::Machine;
use vmm_devices::vga_palette as palette;

const MISC_WRITE: u16 = 0x3C2;
const SEQ_INDEX: u16 = 0x3C4;
const SEQ_DATA: u16 = 0x3C5;
const GC_INDEX: u16 = 0x3CE;
const GC_DATA: u16 = 0x3CF;
const CRTC_INDEX: u16 = 0x3D4;
const CRTC_DATA: u16 = 0x3D5;
const ATTRIBUTE: u16 = 0x3C0;
const INPUT_STATUS: u16 = 0x3DA;
const DAC_WRITE_INDEX: u16 = 0x3C8;
const DAC_DATA: u16 = 0x3C9;

/// One mode's registers.
struct ModeRegs {
    misc: u8,
    /// Sequencer 1-4 (clocking, map mask, character map, memory mode).
    seq: [u8; 4],
    /// CRT controller 0-24.
    crtc: [u8; 25],
    /// Graphics controller 0-8.
    gc: [u8; 9],
    /// Attribute controller 0-19 (the palette, mode, overscan, plane enable, panning).
    attr: [u8; 20],
    /// The DAC: the 256-colour default (true) or the EGA's 64 colours.
    vga_dac: bool,
}

const TEXT_GC: [u8; 9] = [0, 0, 0, 0, 0, 0x10, 0x0E, 0x00, 0xFF];
/// Text palette: colours 0-15 on DAC entries 0-15 (the default DAC's EGA colours).
const TEXT_ATTR: [u8; 20] = [
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F,
    0x0C, 0x00, 0x0F, 0x08,
];
const PLANAR_GC: [u8; 9] = [0, 0, 0, 0, 0, 0x00, 0x05, 0x0F, 0xFF];
/// 16-colour palette on the EGA DAC: the rgbRGB values of the 16 colours.
const EGA_ATTR: [u8; 20] = [
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x14, 0x07, 0x38, 0x39, 0x3A, 0x3B, 0x3C, 0x3D, 0x3E, 0x3F,
    0x01, 0x00, 0x0F, 0x00,
];
const CRTC_200_LINES: [u8; 25] = [
    0x5F, 0x4F, 0x50, 0x82, 0x54, 0x80, 0xBF, 0x1F, 0x00, 0xC0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x9C, 0x8E, 0x8F, 0x28, 0x00, 0x96, 0xB9, 0xE3, 0xFF,
];
const CRTC_480_LINES: [u8; 25] = [
    0x5F, 0x4F, 0x50, 0x82, 0x54, 0x80, 0x0B, 0x3E, 0x00, 0x40, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0xEA, 0x8C, 0xDF, 0x28, 0x00, 0xE7, 0x04, 0xE3, 0xFF,
];

fn regs(number: u8) -> Option<ModeRegs> {
    let text80 = [
        0x5F, 0x4F, 0x50, 0x82, 0x55, 0x81, 0xBF, 0x1F, 0x00, 0x4F, 0x0D, 0x0E, 0x00, 0x00, 0x00,
        0x00, 0x9C, 0x8E, 0x8F, 0x28, 0x1F, 0x96, 0xB9, 0xA3, 0xFF,
    ];
    let mut text40 = text80;
    text40[..6].copy_from_slice(&[0x2D, 0x27, 0x28, 0x90, 0x2B, 0xA0]);
    text40[0x13] = 0x14;
    let mut crtc_320 = CRTC_200_LINES;
    crtc_320[..6].copy_from_slice(&[0x2D, 0x27, 0x28, 0x90, 0x2B, 0x80]);
    crtc_320[0x13] = 0x14;
    let mut cga4 = crtc_320;
    (cga4[0x09], cga4[0x17]) = (0xC1, 0xA2);
    let mut cga2 = CRTC_200_LINES;
    (cga2[0x09], cga2[0x17]) = (0xC1, 0xC2);
    let mut ega350 = CRTC_200_LINES;
    ega350[0x06..0x08].copy_from_slice(&[0xBF, 0x1F]);
    (ega350[0x09], ega350[0x10], ega350[0x11], ega350[0x12]) = (0x40, 0x83, 0x85, 0x5D);
    (ega350[0x14], ega350[0x15], ega350[0x16]) = (0x0F, 0x63, 0xBA);
    let mut vga256 = CRTC_200_LINES;
    (vga256[0x09], vga256[0x14], vga256[0x17]) = (0x41, 0x40, 0xA3);
    let mut attr_256 = TEXT_ATTR;
    (
        attr_256[0x10],
        attr_256[0x11],
        attr_256[0x12],
        attr_256[0x13],
    ) = (0x41, 0, 0x0F, 0);
    let mut cga4_attr = [0u8; 20];
    cga4_attr[..16].copy_from_slice(&[
        0, 0x3B, 0x3D, 0x3F, 2, 4, 6, 7, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,
    ]);
    cga4_attr[16..].copy_from_slice(&[0x01, 0x00, 0x03, 0x00]);
    let mut mono_attr = [0x3Fu8; 20];
    mono_attr[0] = 0;
    mono_attr[16..].copy_from_slice(&[0x01, 0x00, 0x01, 0x00]);
    let planar = |misc, seq1, crtc, attr| ModeRegs {
        misc,
        seq: [seq1, 0x0F, 0x00, 0x06],
        crtc,
        gc: PLANAR_GC,
        attr,
        vga_dac: false,
    };
    Some(match number {
        0..=3 => ModeRegs {
            misc: 0x67,
            seq: [if number < 2 { 0x08 } else { 0x00 }, 0x03, 0x00, 0x02],
            crtc: if number < 2 { text40 } else { text80 },
            gc: TEXT_GC,
            attr: TEXT_ATTR,
            vga_dac: true,
        },
        4 | 5 => ModeRegs {
            misc: 0x63,
            seq: [0x09, 0x03, 0x00, 0x02],
            crtc: cga4,
            gc: [0, 0, 0, 0, 0, 0x30, 0x0F, 0x00, 0xFF],
            attr: cga4_attr,
            vga_dac: false,
        },
        6 => ModeRegs {
            misc: 0x63,
            seq: [0x01, 0x01, 0x00, 0x06],
            crtc: cga2,
            gc: [0, 0, 0, 0, 0, 0x00, 0x0D, 0x00, 0xFF],
            attr: mono_attr,
            vga_dac: false,
        },
        0x0D => planar(0x63, 0x09, crtc_320, EGA_ATTR),
        0x0E => planar(0x63, 0x01, CRTC_200_LINES, EGA_ATTR),
        0x10 => planar(0xA3, 0x01, ega350, EGA_ATTR),
        0x11 => planar(0xE3, 0x01, CRTC_480_LINES, mono_attr),
        0x12 => planar(0xE3, 0x01, CRTC_480_LINES, EGA_ATTR),
        0x13 => ModeRegs {
            misc: 0x63,
            seq: [0x01, 0x0F, 0x00, 0x0E],
            crtc: vga256,
            gc: [0, 0, 0, 0, 0, 0x40, 0x05, 0x0F, 0xFF],
            attr: attr_256,
            vga_dac: true,
        },
        _ => return None,
    })
}

/// Programs the VGA for mode `number` (the registers and the DAC); false for a mode the BIOS
/// does not have.
pub fn program(m: &mut dyn Machine, number: u8) -> bool {
    let Some(r) = regs(number) else {
        return false;
    };
    m.outb(MISC_WRITE, r.misc);
    for (i, &v) in r.seq.iter().enumerate() {
        m.outb(SEQ_INDEX, i as u8 + 1);
        m.outb(SEQ_DATA, v);
    }
    // CRTC 0-7 are write-protected while bit 7 of register 11h is set.
    m.outb(CRTC_INDEX, 0x11);
    m.outb(CRTC_DATA, 0);
    for (i, &v) in r.crtc.iter().enumerate() {
        m.outb(CRTC_INDEX, i as u8);
        m.outb(CRTC_DATA, v);
    }
    for (i, &v) in r.gc.iter().enumerate() {
        m.outb(GC_INDEX, i as u8);
        m.outb(GC_DATA, v);
    }
    m.inb(INPUT_STATUS);
    for (i, &v) in r.attr.iter().enumerate() {
        m.outb(ATTRIBUTE, i as u8);
        m.outb(ATTRIBUTE, v);
    }
    m.outb(ATTRIBUTE, 0x20);
    m.outb(DAC_WRITE_INDEX, 0);
    for i in 0..=255u8 {
        let rgb = if r.vga_dac {
            palette::DEFAULT_VGA[usize::from(i)]
        } else {
            ega_colour(i & 0x3F)
        };
        for c in rgb {
            m.outb(DAC_DATA, c);
        }
    }
    true
}

/// The EGA's colour `value` (rgbRGB: bits 0-2 two thirds of blue, green, red; 3-5 one third)
/// as 6-bit DAC components.
pub fn ega_colour(value: u8) -> [u8; 3] {
    let c = |high: u8, low: u8| (value >> high & 1) * 0x2A + (value >> low & 1) * 0x15;
    [c(2, 5), c(1, 4), c(0, 3)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_ega_colours() {
        assert_eq!(ega_colour(0x00), [0, 0, 0]);
        assert_eq!(ega_colour(0x14), [0x2A, 0x15, 0x00]); // brown
        assert_eq!(ega_colour(0x3F), [0x3F, 0x3F, 0x3F]);
        assert_eq!(ega_colour(0x39), [0x15, 0x15, 0x3F]); // bright blue
    }

    #[test]
    fn test_every_mode_the_bios_has_has_registers() {
        for n in [0, 1, 2, 3, 4, 5, 6, 0x0D, 0x0E, 0x10, 0x11, 0x12, 0x13] {
            assert!(regs(n).is_some(), "mode {n:#x}");
        }
        assert!(regs(0x0F).is_none());
    }
}
