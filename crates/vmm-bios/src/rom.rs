//! The BIOS ROM at F000:0000 (0xF0000-0xFFFFF): the stubs assembled from `rom/bios.asm`, and
//! the data tables picovmm adds at power-on where PC software looks for them.

use crate::font;
use crate::packed;

/// The ROM's segment.
pub const SEGMENT: u16 = 0xF000;
/// The ROM's guest-physical base.
pub const BASE: u32 = 0xF_0000;
/// The ROM's size.
pub const SIZE: u32 = 0x1_0000;
/// The port the stubs write to (`out 0xEF, al`).
pub const PORT: u16 = 0xEF;

/// Offset of the 256 vector stubs, 8 bytes each.
pub const VECTOR_STUBS: u16 = 0x1000;
/// Bytes per vector stub.
pub const STUB_SIZE: u16 = 8;
/// Offset, within a stub, of its `out`.
pub const STUB_OUT: u16 = 2;
/// Offset of the IRQ 0 stub (tick, then `int 1Ch`).
pub const TIMER_IRQ: u16 = 0x1800;
/// Offset of a lone `iret`.
pub const DUMMY_IRET: u16 = 0x1808;
/// Offset of the hardware interrupt stubs for IRQ 1-15, 4 bytes each.
pub const IRQ_STUBS: u16 = 0x1810;
/// IRQ 12's handler (the PS/2 mouse), and its trap's `out` (after five pushes).
pub const MOUSE_IRQ: u16 = 0x1850;
const MOUSE_IRQ_OUT: u16 = MOUSE_IRQ + 5;
/// Offset of the full 8x8 font (256 glyphs): int 43h.
pub const FONT_8X8: u16 = 0x2000;
/// Offset of the 8x8 font's upper half (codes 128-255): int 1Fh.
pub const FONT_8X8_HIGH: u16 = 0x2400;
/// Offset of the 8x16 font (int 10h AX=1130h, BH=06h).
pub const FONT_8X16: u16 = 0x3000;
/// Offset of the 8x14 font (BH=02h).
pub const FONT_8X14: u16 = 0x4000;
/// Offset of an empty table of alternate 9-dot glyphs (BH=05h and 07h): its end mark.
pub const NO_ALTERNATES: u16 = 0x4E00;
/// Where the reset vector leads (F000:E05B, as on the IBM PC).
pub const POST: u16 = 0xE05B;
/// The system configuration table (int 15h AH=C0h), at the IBM PC's address.
pub const CONFIG_TABLE: u16 = 0xE6F5;
/// The diskette parameter table (int 1Eh), at the IBM PC's address.
pub const DISKETTE_PARAMETERS: u16 = 0xEFC7;
/// The lower half of the 8x8 font, at the IBM PC's address.
pub const FONT_8X8_PC: u16 = 0xFA6E;
/// The BIOS date string ("MM/DD/YY").
pub const DATE: u16 = 0xFFF5;
/// The model byte (0xFC: AT).
pub const MODEL: u16 = 0xFFFE;

/// The stubs, as assembled from `rom/bios.asm` (used while compiling only: the binary keeps
/// [`PACKED`]).
const CODE: &[u8; SIZE as usize] = include_bytes!("../rom/bios.bin");
/// Where the stubs' bytes go: each run's offset and length.
const RUNS: [(usize, usize); packed::run_count(CODE)] = packed::runs(CODE);
/// The stubs' bytes, run after run.
const PACKED: [u8; packed::packed_len(CODE)] = packed::pack(CODE);

/// The system configuration table: length, model, submodel, revision, feature bytes (second
/// PIC, real-time clock, extended BIOS data area absent).
const CONFIG: [u8; 10] = [8, 0, 0xFC, 0x00, 0x01, 0x70, 0x00, 0x00, 0x00, 0x00];

/// The diskette parameter table of a 1.44 MB drive (SeaBIOS's values).
const DISKETTE: [u8; 11] = [
    0xAF, 0x02, 0x25, 0x02, 18, 0x1B, 0xFF, 0x6C, 0xF6, 0x0F, 0x08,
];

/// Writes the ROM into guest memory: the assembled stubs, then the data tables over them.
pub fn load(m: &mut dyn crate::Machine) {
    let (mut from, mut end) = (0, 0);
    for &(start, len) in &RUNS {
        clear(m, end, start);
        m.load_rom(BASE + start as u32, &PACKED[from..from + len]);
        (from, end) = (from + len, start + len);
    }
    clear(m, end, SIZE as usize);
    for (at, bytes) in tables() {
        m.load_rom(BASE + u32::from(at), bytes);
    }
}

/// Makes the ROM's bytes from offset `from` to `to` zero, writing only those 256 bytes at a
/// time that are not (fresh guest memory is zero, and a page that is only read stays
/// unallocated).
fn clear(m: &mut dyn crate::Machine, from: usize, to: usize) {
    const PIECE: usize = 256;
    let mut buf = [0u8; PIECE];
    for at in (from..to).step_by(PIECE) {
        let piece = &mut buf[..PIECE.min(to - at)];
        m.read(BASE + at as u32, piece);
        if piece.iter().any(|&b| b != 0) {
            piece.fill(0);
            m.load_rom(BASE + at as u32, piece);
        }
    }
}

/// The data tables and where they go.
fn tables() -> [(u16, &'static [u8]); 9] {
    [
        (FONT_8X8, font::FONT8X8),
        (FONT_8X16, font::FONT8X16),
        (FONT_8X14, &font::FONT8X14),
        (NO_ALTERNATES, &[0]),
        (FONT_8X8_PC, &font::FONT8X8[..128 * 8]),
        (CONFIG_TABLE, &CONFIG),
        (DISKETTE_PARAMETERS, &DISKETTE),
        (DATE, b"11/30/26"),
        (MODEL, &[0xFC]),
    ]
}

/// The whole 64 KiB ROM image, as [`load`] writes it.
#[cfg(test)]
fn image() -> Vec<u8> {
    let mut rom = CODE.to_vec();
    for (at, bytes) in tables() {
        let at = usize::from(at);
        rom[at..at + bytes.len()].copy_from_slice(bytes);
    }
    rom
}

/// The offset of vector `v`'s stub.
pub fn stub(vector: u8) -> u16 {
    VECTOR_STUBS + u16::from(vector) * STUB_SIZE
}

/// The offset of IRQ `irq`'s stub (1-15; IRQ 0 has [`TIMER_IRQ`]).
pub fn irq_stub(irq: u8) -> u16 {
    IRQ_STUBS + 4 * u16::from(irq.clamp(1, 15) - 1)
}

/// The vector IRQ `irq` raises with the PC's PIC bases (08h, 70h).
pub fn irq_vector(irq: u8) -> u8 {
    if irq < 8 {
        0x08 + irq
    } else {
        0x70 + irq - 8
    }
}

/// What a trap at linear address `at` (the `out`'s) is a call of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trap {
    /// `int vector` reached the BIOS's stub.
    Vector(u8),
    /// IRQ 0's handler.
    TimerTick,
    /// IRQ 12's handler (the mouse).
    MouseIrq,
    /// The reset vector's code: a jump to FFFF:0000.
    Reset,
}

impl Trap {
    /// The trap made by the `out` at linear address `at`, if it is one of the ROM's.
    pub fn at(at: u32) -> Option<Trap> {
        let offset = u16::try_from(at.checked_sub(BASE)?).ok()?;
        let stubs = VECTOR_STUBS..VECTOR_STUBS + 256 * STUB_SIZE;
        if stubs.contains(&offset) && (offset - VECTOR_STUBS) % STUB_SIZE == STUB_OUT {
            return Some(Trap::Vector(((offset - VECTOR_STUBS) / STUB_SIZE) as u8));
        }
        let irqs = IRQ_STUBS..IRQ_STUBS + 15 * 4;
        if irqs.contains(&offset) && (offset - IRQ_STUBS).is_multiple_of(4) {
            return Some(Trap::Vector(irq_vector(
                ((offset - IRQ_STUBS) / 4) as u8 + 1,
            )));
        }
        match offset {
            TIMER_IRQ => Some(Trap::TimerTick),
            MOUSE_IRQ_OUT => Some(Trap::MouseIrq),
            POST => Some(Trap::Reset),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `out 0xEF, al`.
    const OUT: [u8; 2] = [0xE6, PORT as u8];

    #[test]
    fn test_load_over_memory_holding_junk_leaves_exactly_the_image() {
        let mut m = crate::testing::FakeMachine::new();
        let rom = BASE as usize..(BASE + SIZE) as usize;
        m.mem[rom.clone()].fill(0x5A);

        load(&mut m);

        assert!(m.mem[rom] == image()[..]);
    }

    #[test]
    fn test_every_vector_stub_enables_interrupts_traps_and_returns() {
        let rom = image();
        for v in 0..=255u8 {
            let at = usize::from(stub(v));
            // sti; nop; out; iret
            assert_eq!(&rom[at..at + 5], &[0xFB, 0x90, OUT[0], OUT[1], 0xCF]);
            let out = BASE + u32::from(stub(v) + STUB_OUT);
            assert_eq!(Trap::at(out), Some(Trap::Vector(v)));
        }
    }

    #[test]
    fn test_irq_stubs_trap_as_their_vectors_without_sti() {
        let rom = image();
        for irq in 1..=15u8 {
            let at = usize::from(irq_stub(irq));
            assert_eq!(&rom[at..at + 3], &[OUT[0], OUT[1], 0xCF]);
            let vector = irq_vector(irq);
            assert_eq!(Trap::at(BASE + at as u32), Some(Trap::Vector(vector)));
        }
        assert_eq!(irq_vector(1), 0x09);
        assert_eq!(irq_vector(12), 0x74);
    }

    #[test]
    fn test_fixed_entry_points_match_the_assembled_rom() {
        let rom = image();
        let at = |o: u16| usize::from(o);
        assert_eq!(
            &rom[at(TIMER_IRQ)..at(TIMER_IRQ) + 5],
            &[OUT[0], OUT[1], 0xCD, 0x1C, 0xCF]
        );
        assert_eq!(rom[at(DUMMY_IRET)], 0xCF);
        assert_eq!(&rom[at(POST)..at(POST) + 2], &OUT);
        // jmp far F000:E05B
        assert_eq!(&rom[0xFFF0..0xFFF5], &[0xEA, 0x5B, 0xE0, 0x00, 0xF0]);
        assert_eq!(&rom[at(DATE)..at(DATE) + 8], b"11/30/26");
        assert_eq!(rom[at(MODEL)], 0xFC);
        assert_eq!(rom.len(), SIZE as usize);
    }

    #[test]
    fn test_only_the_roms_own_outs_are_traps() {
        assert_eq!(Trap::at(BASE + u32::from(TIMER_IRQ)), Some(Trap::TimerTick));
        assert_eq!(Trap::at(BASE + u32::from(POST)), Some(Trap::Reset));
        assert_eq!(Trap::at(BASE + u32::from(stub(3))), None);
        assert_eq!(Trap::at(0x7C00), None);
        assert_eq!(Trap::at(BASE - 8), None);
    }
}
