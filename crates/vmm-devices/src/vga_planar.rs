//! The VGA's planar memory: four 64 KiB planes behind the graphics window at 0xA0000, as the
//! EGA and VGA 16-colour modes (0Dh-12h) and the unchained 256-colour mode ("mode X") address
//! them. Every byte the CPU reads loads the four latches; every byte it writes goes to the
//! planes the sequencer's map mask enables, through the graphics controller's write mode
//! (0: rotate, set/reset, logical function, bit mask; 1: the latches; 2: a colour from the CPU's
//! low four bits; 3: set/reset masked by the rotated CPU byte), and a read returns one plane
//! (read mode 0) or a colour comparison (read mode 1).
//!
//! The registers stay in [`crate::vga_regs::VgaRegisters`]; each access is handed the few this
//! memory obeys as [`PlanarRegs`].

/// One plane's size.
pub const PLANE_SIZE: usize = 0x1_0000;

/// The registers planar accesses obey.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PlanarRegs {
    /// Sequencer 2: the planes a write reaches (bits 0-3).
    pub map_mask: u8,
    /// Graphics controller 0: set/reset colour.
    pub set_reset: u8,
    /// Graphics controller 1: the planes set/reset replaces the CPU's byte in (write mode 0).
    pub enable_set_reset: u8,
    /// Graphics controller 2: the colour read mode 1 compares with.
    pub colour_compare: u8,
    /// Graphics controller 3: rotate count (bits 0-2) and logical function (bits 3-4).
    pub rotate: u8,
    /// Graphics controller 4: the plane read mode 0 returns.
    pub read_map: u8,
    /// Graphics controller 5: write mode (bits 0-1), read mode (bit 3).
    pub mode: u8,
    /// Graphics controller 7: the planes read mode 1 compares.
    pub colour_dont_care: u8,
    /// Graphics controller 8: the bits a write changes (the rest come from the latches).
    pub bit_mask: u8,
}

/// The four planes and their latches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VgaPlanes {
    planes: Vec<u8>,
    latches: [u8; 4],
}

impl Default for VgaPlanes {
    fn default() -> Self {
        VgaPlanes {
            planes: vec![0; 4 * PLANE_SIZE],
            latches: [0; 4],
        }
    }
}

/// A byte of four planes' bits: 0xFF where `colour`'s bit `plane` is set.
fn spread(colour: u8, plane: usize) -> u8 {
    if colour >> plane & 1 != 0 {
        0xFF
    } else {
        0
    }
}

impl VgaPlanes {
    /// Blank planes.
    pub fn new() -> Self {
        Self::default()
    }

    /// Byte `offset` of plane `plane` (0-3), as the display reads it.
    #[inline]
    pub fn byte(&self, plane: usize, offset: usize) -> u8 {
        self.planes[(plane & 3) * PLANE_SIZE + (offset % PLANE_SIZE)]
    }

    /// The CPU reads byte `offset` of the window.
    pub fn read(&mut self, offset: usize, regs: &PlanarRegs) -> u8 {
        for p in 0..4 {
            self.latches[p] = self.byte(p, offset);
        }
        if regs.mode & 0x08 == 0 {
            return self.latches[usize::from(regs.read_map & 3)];
        }
        // Read mode 1: a bit is set where every compared plane matches the colour.
        let mut differs = 0u8;
        for p in (0..4).filter(|p| regs.colour_dont_care >> p & 1 != 0) {
            differs |= self.latches[p] ^ spread(regs.colour_compare, p);
        }
        !differs
    }

    /// The CPU writes `value` at byte `offset` of the window.
    pub fn write(&mut self, offset: usize, value: u8, regs: &PlanarRegs) {
        let rotated = value.rotate_right(u32::from(regs.rotate & 7));
        let mut mask = regs.bit_mask;
        for p in 0..4 {
            let latch = self.latches[p];
            let data = match regs.mode & 3 {
                0 if regs.enable_set_reset >> p & 1 != 0 => spread(regs.set_reset, p),
                0 => rotated,
                1 => latch,
                2 => spread(value, p),
                _ => spread(regs.set_reset, p),
            };
            if regs.mode & 3 == 3 {
                mask = regs.bit_mask & rotated;
            }
            let data = if regs.mode & 3 == 1 {
                latch
            } else {
                let combined = match regs.rotate >> 3 & 3 {
                    0 => data,
                    1 => data & latch,
                    2 => data | latch,
                    _ => data ^ latch,
                };
                (combined & mask) | (latch & !mask)
            };
            if regs.map_mask >> p & 1 != 0 {
                self.planes[p * PLANE_SIZE + (offset % PLANE_SIZE)] = data;
            }
        }
    }

    /// All four planes, one after the other (for snapshots).
    pub fn to_bytes(&self) -> &[u8] {
        &self.planes
    }

    /// Planes from [`VgaPlanes::to_bytes`]; `None` unless they are 256 KiB.
    pub fn from_bytes(bytes: &[u8]) -> Option<VgaPlanes> {
        (bytes.len() == 4 * PLANE_SIZE).then(|| VgaPlanes {
            planes: bytes.to_vec(),
            latches: [0; 4],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn regs() -> PlanarRegs {
        PlanarRegs {
            map_mask: 0x0F,
            colour_dont_care: 0x0F,
            bit_mask: 0xFF,
            ..PlanarRegs::default()
        }
    }

    fn planes_at(v: &VgaPlanes, offset: usize) -> [u8; 4] {
        [0, 1, 2, 3].map(|p| v.byte(p, offset))
    }

    #[test]
    fn test_write_mode_0_goes_to_the_planes_the_map_mask_enables() {
        let mut v = VgaPlanes::new();
        let r = PlanarRegs {
            map_mask: 0b0101,
            ..regs()
        };
        v.write(10, 0xA5, &r);
        assert_eq!(planes_at(&v, 10), [0xA5, 0, 0xA5, 0]);
    }

    #[test]
    fn test_set_reset_replaces_the_cpu_byte_where_enabled() {
        let mut v = VgaPlanes::new();
        let r = PlanarRegs {
            set_reset: 0b0011,
            enable_set_reset: 0b0110,
            ..regs()
        };
        v.write(0, 0x0F, &r);
        assert_eq!(planes_at(&v, 0), [0x0F, 0xFF, 0x00, 0x0F]);
    }

    #[test]
    fn test_write_mode_2_with_the_bit_mask_keeps_latched_pixels() {
        let mut v = VgaPlanes::new();
        v.write(5, 0xFF, &regs()); // all planes 0xFF: colour 15 everywhere
        let r = PlanarRegs {
            mode: 2,
            bit_mask: 0x80,
            ..regs()
        };
        v.read(5, &r); // load the latches
        v.write(5, 0x04, &r); // leftmost pixel to colour 4
        assert_eq!(planes_at(&v, 5), [0x7F, 0x7F, 0xFF, 0x7F]);
    }

    #[test]
    fn test_write_mode_1_copies_the_latches() {
        let mut v = VgaPlanes::new();
        v.write(1, 0x3C, &regs());
        let r = PlanarRegs { mode: 1, ..regs() };
        v.read(1, &r);
        v.write(2000, 0x00, &r);
        assert_eq!(planes_at(&v, 2000), [0x3C; 4]);
    }

    #[test]
    fn test_logical_functions_and_rotate() {
        let mut v = VgaPlanes::new();
        v.write(0, 0xF0, &regs());
        let xor = PlanarRegs {
            rotate: 0x18 | 4, // XOR, rotate right by 4
            ..regs()
        };
        v.read(0, &xor);
        v.write(0, 0xFF, &xor);
        assert_eq!(planes_at(&v, 0), [0x0F; 4]);
        let and = PlanarRegs {
            rotate: 0x08,
            ..regs()
        };
        v.read(0, &and);
        v.write(0, 0x3C, &and);
        assert_eq!(planes_at(&v, 0), [0x0C; 4]);
    }

    #[test]
    fn test_write_mode_3_draws_set_reset_through_the_cpu_byte() {
        let mut v = VgaPlanes::new();
        let r = PlanarRegs {
            mode: 3,
            set_reset: 0b1001,
            ..regs()
        };
        v.read(0, &r);
        v.write(0, 0xC0, &r);
        assert_eq!(planes_at(&v, 0), [0xC0, 0, 0, 0xC0]);
    }

    #[test]
    fn test_read_modes_select_a_plane_or_compare_colours() {
        let mut v = VgaPlanes::new();
        let mut planes = regs();
        for (p, byte) in [0xF0u8, 0xCC, 0xAA, 0x00].iter().enumerate() {
            planes.map_mask = 1 << p;
            v.write(7, *byte, &planes);
        }
        let mode0 = PlanarRegs {
            read_map: 1,
            ..regs()
        };
        assert_eq!(v.read(7, &mode0), 0xCC);
        // Colour 0b0111 is where planes 0, 1 and 2 are set and 3 is not: bit 7 only.
        let mode1 = PlanarRegs {
            mode: 0x08,
            colour_compare: 0b0111,
            ..regs()
        };
        assert_eq!(v.read(7, &mode1), 0x80);
        // Planes left out of the comparison match whatever they hold.
        let ignore_2 = PlanarRegs {
            colour_dont_care: 0b1011,
            ..mode1
        };
        assert_eq!(v.read(7, &ignore_2), 0xC0);
    }

    #[test]
    fn test_bytes_round_trip_and_wrong_sizes_are_refused() {
        let mut v = VgaPlanes::new();
        v.write(3, 0x42, &regs());
        let back = VgaPlanes::from_bytes(v.to_bytes()).expect("whole");
        assert_eq!(planes_at(&back, 3), [0x42; 4]);
        assert!(VgaPlanes::from_bytes(&[0; 100]).is_none());
    }
}
