//! The BIOS Data Area (0x400-0x4FF) and interrupt vector table, as a PC BIOS leaves them:
//! addresses of the fields picovmm's services keep, and power-on values.

/// The BDA's segment.
pub const SEGMENT: u16 = 0x40;
/// The BDA's guest-physical base.
pub const BASE: u32 = 0x400;

/// COM1's I/O base (four words: COM1-COM4).
pub const COM_PORTS: u32 = 0x400;
/// The equipment word (int 11h).
pub const EQUIPMENT: u32 = 0x410;
/// Conventional memory in KiB (int 12h).
pub const MEMORY_KB: u32 = 0x413;
/// Keyboard shift flags (int 16h AH=02h).
pub const KBD_FLAGS: u32 = 0x417;
/// Keyboard flags, second byte (keys held).
pub const KBD_FLAGS2: u32 = 0x418;
/// Keyboard buffer head: offset in segment 0x40 of the next key to read.
pub const KBD_HEAD: u32 = 0x41A;
/// Keyboard buffer tail: offset in segment 0x40 where the next key goes.
pub const KBD_TAIL: u32 = 0x41C;
/// The keyboard buffer's first slot (offset 0x1E in segment 0x40).
pub const KBD_BUFFER: u16 = 0x1E;
/// Just past the keyboard buffer's last slot.
pub const KBD_BUFFER_END: u16 = 0x3E;
/// Floppy motor shut-off counter.
pub const FLOPPY_MOTOR_COUNT: u32 = 0x440;
/// Status of the last floppy operation (int 13h AH=01h).
pub const FLOPPY_STATUS: u32 = 0x441;
/// The video mode.
pub const VIDEO_MODE: u32 = 0x449;
/// Text columns.
pub const COLUMNS: u32 = 0x44A;
/// Bytes per video page.
pub const PAGE_SIZE: u32 = 0x44C;
/// Offset of the active page in video memory.
pub const PAGE_START: u32 = 0x44E;
/// Cursor positions of pages 0-7: one word each, column in the low byte, row in the high.
pub const CURSOR_POS: u32 = 0x450;
/// Cursor shape: end scan line in the low byte, start in the high.
pub const CURSOR_SHAPE: u32 = 0x460;
/// The active page.
pub const ACTIVE_PAGE: u32 = 0x462;
/// The CRT controller's index port.
pub const CRTC_PORT: u32 = 0x463;
/// Timer ticks since midnight (IRQ 0 at 18.2 Hz).
pub const TICKS: u32 = 0x46C;
/// Set when the tick count passes midnight.
pub const MIDNIGHT: u32 = 0x470;
/// Status of the last hard disk operation.
pub const DISK_STATUS: u32 = 0x474;
/// Number of hard disks.
pub const HARD_DISKS: u32 = 0x475;
/// Serial port time-outs in seconds (four bytes, COM1 first).
pub const COM_TIMEOUT: u32 = 0x47C;
/// Start of the keyboard buffer (offset in segment 0x40).
pub const KBD_START: u32 = 0x480;
/// End of the keyboard buffer.
pub const KBD_END: u32 = 0x482;
/// Text rows minus one.
pub const ROWS: u32 = 0x484;
/// Character height in scan lines.
pub const CHAR_HEIGHT: u32 = 0x485;
/// Keyboard mode flags: bit 4 a 101-key keyboard, bit 1 the last code was 0xE0.
pub const KBD_MODE: u32 = 0x496;

/// Ticks in a day at 1193182 / 65536 Hz (IBM's constant).
pub const TICKS_PER_DAY: u32 = 0x0018_00B0;

/// The BDA's linear address of a keyboard-buffer offset.
pub fn kbd_slot(offset: u16) -> u32 {
    BASE + u32::from(offset)
}
