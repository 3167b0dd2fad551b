//! The Bochs/QEMU "VBE dispi" display interface at ports 0x1CE (index) and 0x1CF/0x1D0 (data): the
//! registers that set a linear-frame-buffer mode (width, height, bits per pixel, enable, the
//! bank shown in the 64 KiB window at 0xA0000, the virtual width and the display offset). The
//! BIOS's VESA services program it, and hobby OSes program it directly, as on QEMU's `-vga std`
//! and Bochs. The frame buffer is memory elsewhere; this is the register file and its rules.

use serde::{Deserialize, Serialize};

/// The index port; the data port is the next (and, as on Bochs, the one after it too, so that
/// a 16-bit access of the data port is one access of the device).
pub const INDEX_PORT: u16 = 0x1CE;
/// The data port.
pub const DATA_PORT: u16 = 0x1CF;
/// Ports the interface spans.
pub const PORTS: u16 = 3;

/// Register numbers.
const ID: u16 = 0;
const XRES: u16 = 1;
const YRES: u16 = 2;
const BPP: u16 = 3;
const ENABLE: u16 = 4;
const BANK: u16 = 5;
const VIRT_WIDTH: u16 = 6;
const VIRT_HEIGHT: u16 = 7;
const X_OFFSET: u16 = 8;
const Y_OFFSET: u16 = 9;
const VIDEO_MEMORY_64K: u16 = 10;

/// ENABLE's bits.
pub const ENABLED: u16 = 0x01;
const GETCAPS: u16 = 0x02;
/// The frame buffer is used linearly (the window at 0xA0000 shows a bank either way).
pub const LFB_ENABLED: u16 = 0x40;
/// Setting a mode keeps the frame buffer's contents.
pub const NO_CLEAR: u16 = 0x80;

/// The newest interface version this model is (reads of the ID register).
const ID_NEWEST: u16 = 0xB0C5;
/// The largest mode it takes.
pub const MAX_WIDTH: u16 = 1600;
/// The largest mode it takes.
pub const MAX_HEIGHT: u16 = 1200;

/// A mode the registers have set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VbeMode {
    /// Pixels across.
    pub width: u16,
    /// Pixels down.
    pub height: u16,
    /// 8, 15, 16, 24 or 32.
    pub bpp: u16,
    /// Bytes from one line to the next (the virtual width's).
    pub stride: u32,
    /// Where the shown picture starts in the frame buffer, in bytes.
    pub start: u32,
}

/// What a register write changed, for the machine to act on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// Nothing the machine shows.
    None,
    /// A mode was set or the interface turned off (`clear`: the frame buffer must be
    /// cleared over the new mode's size).
    Mode {
        /// Clear the frame buffer.
        clear: bool,
    },
    /// The bank shown at 0xA0000 changed.
    Bank,
}

/// The registers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BochsVbe {
    index: u16,
    regs: [u16; 11],
    /// The frame buffer's size in bytes.
    memory: u32,
}

fn bytes_per_pixel(bpp: u16) -> u32 {
    u32::from(bpp).div_ceil(8)
}

impl BochsVbe {
    /// The interface over a frame buffer of `memory` bytes, off.
    pub fn new(memory: u32) -> Self {
        let mut regs = [0u16; 11];
        regs[ID as usize] = ID_NEWEST;
        regs[BPP as usize] = 8;
        regs[VIDEO_MEMORY_64K as usize] = (memory / 0x1_0000) as u16;
        BochsVbe {
            index: 0,
            regs,
            memory,
        }
    }

    /// The mode shown, when the interface is on.
    pub fn mode(&self) -> Option<VbeMode> {
        let r = &self.regs;
        if r[ENABLE as usize] & ENABLED == 0 {
            return None;
        }
        let bpp = r[BPP as usize];
        let stride = u32::from(r[VIRT_WIDTH as usize]) * bytes_per_pixel(bpp);
        let start = u32::from(r[Y_OFFSET as usize]) * stride
            + u32::from(r[X_OFFSET as usize]) * bytes_per_pixel(bpp);
        Some(VbeMode {
            width: r[XRES as usize],
            height: r[YRES as usize],
            bpp,
            stride,
            start,
        })
    }

    /// The bank shown in the window at 0xA0000, in 64 KiB units.
    pub fn bank(&self) -> u16 {
        self.regs[BANK as usize]
    }

    /// Whether a mode with these numbers fits the model and its memory.
    pub fn fits(&self, width: u16, height: u16, bpp: u16) -> bool {
        matches!(bpp, 8 | 15 | 16 | 24 | 32)
            && (1..=MAX_WIDTH).contains(&width)
            && (1..=MAX_HEIGHT).contains(&height)
            && u32::from(width) * u32::from(height) * bytes_per_pixel(bpp) <= self.memory
    }

    /// Whether registers from elsewhere (a snapshot) describe this display: the same memory, and
    /// a mode that fits it when one is on.
    pub fn agrees_with(&self, memory: u32) -> bool {
        let r = &self.regs;
        let on = r[ENABLE as usize] & ENABLED != 0;
        self.memory == memory
            && (!on
                || (self.fits(r[XRES as usize], r[YRES as usize], r[BPP as usize])
                    && self.mode().is_some_and(|m| {
                        u64::from(m.start) + u64::from(m.stride) * u64::from(m.height)
                            <= u64::from(memory)
                            && m.stride >= u32::from(m.width) * bytes_per_pixel(m.bpp)
                    })))
    }

    /// A read of the index (`data` false) or the data port.
    pub fn read(&self, data: bool) -> u16 {
        if !data {
            return self.index;
        }
        let r = &self.regs;
        let caps = r[ENABLE as usize] & GETCAPS != 0;
        match self.index {
            XRES if caps => MAX_WIDTH,
            YRES if caps => MAX_HEIGHT,
            BPP if caps => 32,
            i if usize::from(i) < r.len() => r[usize::from(i)],
            _ => 0,
        }
    }

    /// A write of the index (`data` false) or the data port.
    pub fn write(&mut self, data: bool, value: u16) -> Change {
        if !data {
            self.index = value;
            return Change::None;
        }
        let enabled = self.regs[ENABLE as usize] & ENABLED != 0;
        match self.index {
            ID => {
                if (0xB0C0..=ID_NEWEST).contains(&value) {
                    self.regs[ID as usize] = value;
                }
                Change::None
            }
            // The mode's numbers change only while the interface is off, as on Bochs.
            XRES | YRES | BPP if !enabled => {
                self.regs[usize::from(self.index)] = value;
                Change::None
            }
            ENABLE => self.enable(value),
            BANK => {
                let banks = (self.memory / 0x1_0000) as u16;
                self.regs[BANK as usize] = value.min(banks.saturating_sub(1));
                Change::Bank
            }
            VIRT_WIDTH | X_OFFSET | Y_OFFSET if enabled => {
                self.regs[usize::from(self.index)] = value;
                self.keep_in_memory();
                Change::Mode { clear: false }
            }
            _ => Change::None,
        }
    }

    fn enable(&mut self, value: u16) -> Change {
        let r = &mut self.regs;
        let (width, height, bpp) = (r[XRES as usize], r[YRES as usize], r[BPP as usize]);
        if value & ENABLED != 0 && !self.fits(width, height, bpp) {
            // A mode the model cannot show: the interface stays off.
            self.regs[ENABLE as usize] = value & GETCAPS;
            return Change::Mode { clear: false };
        }
        let r = &mut self.regs;
        r[ENABLE as usize] = value;
        if value & ENABLED != 0 {
            r[VIRT_WIDTH as usize] = width;
            r[VIRT_HEIGHT as usize] = height;
            r[X_OFFSET as usize] = 0;
            r[Y_OFFSET as usize] = 0;
            r[BANK as usize] = 0;
        }
        Change::Mode {
            clear: value & (ENABLED | NO_CLEAR) == ENABLED,
        }
    }

    /// A virtual width or offset past the memory is pulled back inside it.
    fn keep_in_memory(&mut self) {
        let r = &mut self.regs;
        let bytes = bytes_per_pixel(r[BPP as usize]);
        let max_width = (self.memory / (u32::from(r[YRES as usize].max(1)) * bytes)) as u16;
        r[VIRT_WIDTH as usize] =
            r[VIRT_WIDTH as usize].clamp(r[XRES as usize], max_width.max(r[XRES as usize]));
        let stride = u32::from(r[VIRT_WIDTH as usize]) * bytes;
        let lines = (self.memory / stride.max(1)) as u16;
        r[VIRT_HEIGHT as usize] = lines;
        let max_y = lines.saturating_sub(r[YRES as usize]);
        r[Y_OFFSET as usize] = r[Y_OFFSET as usize].min(max_y);
        let max_x = r[VIRT_WIDTH as usize].saturating_sub(r[XRES as usize]);
        r[X_OFFSET as usize] = r[X_OFFSET as usize].min(max_x);
    }
}

/// The picture of `mode` from `frame` (its bytes from the mode's start, `stride` a line) as
/// RGB, 3 bytes a pixel; 8-bit modes are DAC entries and go through `palette`.
pub fn to_rgb(mode: &VbeMode, frame: &[u8], palette: &dyn Fn(u8) -> [u8; 3]) -> Vec<u8> {
    let (w, h) = (usize::from(mode.width), usize::from(mode.height));
    let bytes = bytes_per_pixel(mode.bpp) as usize;
    let mut rgb = Vec::with_capacity(w * h * 3);
    for y in 0..h {
        for x in 0..w {
            let at = y * mode.stride as usize + x * bytes;
            let p = frame.get(at..at + bytes).unwrap_or(&[0, 0, 0, 0][..bytes]);
            let pixel = match mode.bpp {
                8 => palette(p[0]),
                15 | 16 => {
                    let v = u16::from_le_bytes([p[0], p[1]]);
                    let (r, g, b) = if mode.bpp == 15 {
                        (v >> 10 & 0x1F, v >> 5 & 0x1F, v & 0x1F)
                    } else {
                        (v >> 11 & 0x1F, (v >> 5 & 0x3F) >> 1, v & 0x1F)
                    };
                    let scale = |c: u16| ((c << 3) | (c >> 2)) as u8;
                    [scale(r), scale(g), scale(b)]
                }
                _ => [p[2], p[1], p[0]],
            };
            rgb.extend_from_slice(&pixel);
        }
    }
    rgb
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB8: u32 = 8 << 20;

    fn set(v: &mut BochsVbe, index: u16, value: u16) -> Change {
        v.write(false, index);
        v.write(true, value)
    }

    #[test]
    fn test_a_mode_is_set_by_its_numbers_then_enable() {
        let mut v = BochsVbe::new(MIB8);
        v.write(false, ID);
        assert_eq!(v.read(true), 0xB0C5);
        set(&mut v, XRES, 800);
        set(&mut v, YRES, 600);
        set(&mut v, BPP, 32);
        assert_eq!(v.mode(), None);
        assert_eq!(
            set(&mut v, ENABLE, ENABLED | LFB_ENABLED),
            Change::Mode { clear: true }
        );
        let mode = v.mode().expect("on");
        assert_eq!(
            (mode.width, mode.height, mode.bpp, mode.stride),
            (800, 600, 32, 3200)
        );
        // While on, the size cannot change under the guest's feet.
        set(&mut v, XRES, 1024);
        assert_eq!(v.mode().map(|m| m.width), Some(800));
    }

    #[test]
    fn test_a_mode_larger_than_memory_or_of_another_depth_stays_off() {
        let mut v = BochsVbe::new(1 << 20);
        set(&mut v, XRES, 1024);
        set(&mut v, YRES, 768);
        set(&mut v, BPP, 32);
        set(&mut v, ENABLE, ENABLED);
        assert_eq!(v.mode(), None);
        set(&mut v, BPP, 12);
        set(&mut v, XRES, 64);
        set(&mut v, ENABLE, ENABLED);
        assert_eq!(v.mode(), None);
    }

    #[test]
    fn test_pixels_of_every_depth_become_rgb() {
        let mode = |bpp| VbeMode {
            width: 1,
            height: 1,
            bpp,
            stride: 4,
            start: 0,
        };
        let grey = |i: u8| [i, i, i];
        assert_eq!(to_rgb(&mode(8), &[7], &grey), vec![7, 7, 7]);
        assert_eq!(to_rgb(&mode(32), &[1, 2, 3, 0], &grey), vec![3, 2, 1]);
        assert_eq!(to_rgb(&mode(24), &[1, 2, 3], &grey), vec![3, 2, 1]);
        assert_eq!(
            to_rgb(&mode(16), &0xF800u16.to_le_bytes(), &grey),
            vec![255, 0, 0]
        );
        assert_eq!(
            to_rgb(&mode(15), &0x03E0u16.to_le_bytes(), &grey),
            vec![0, 255, 0]
        );
    }

    #[test]
    fn test_no_clear_getcaps_bank_and_offsets() {
        let mut v = BochsVbe::new(MIB8);
        set(&mut v, ENABLE, GETCAPS);
        v.write(false, XRES);
        assert_eq!(v.read(true), MAX_WIDTH);
        set(&mut v, ENABLE, 0);
        set(&mut v, XRES, 640);
        set(&mut v, YRES, 480);
        set(&mut v, BPP, 8);
        assert_eq!(
            set(&mut v, ENABLE, ENABLED | NO_CLEAR),
            Change::Mode { clear: false }
        );
        assert_eq!(set(&mut v, BANK, 3), Change::Bank);
        assert_eq!(v.bank(), 3);
        set(&mut v, BANK, 5000);
        assert_eq!(v.bank(), 127);
        set(&mut v, Y_OFFSET, 100);
        assert_eq!(v.mode().map(|m| m.start), Some(100 * 640));
        set(&mut v, Y_OFFSET, 60000);
        let lines = (MIB8 / 640) as u16;
        assert_eq!(
            v.mode().map(|m| m.start),
            Some(u32::from(lines - 480) * 640)
        );
        assert!(v.agrees_with(MIB8));
        assert!(!v.agrees_with(MIB8 / 2));
    }
}
