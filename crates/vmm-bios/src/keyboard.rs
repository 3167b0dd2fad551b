//! The keyboard: IRQ 1's handler (int 09h) turns scancode set 1 from the i8042 into keys in
//! the BDA's buffer and shift flags; int 16h hands them to the guest. When no live display owns
//! the keyboard, bytes waiting at COM1 (stdin) become keys as the guest asks for them, as
//! SeaBIOS's serial console does.

use crate::bda;
use crate::cpu::{Cpu, ZF};
use crate::machine::Machine;
use crate::Unsupported;

const DATA_PORT: u16 = 0x60;
const STATUS_PORT: u16 = 0x64;
const STATUS_OUTPUT_FULL: u8 = 0x01;
const STATUS_AUX: u8 = 0x20;

const RIGHT_SHIFT: u8 = 0x01;
const LEFT_SHIFT: u8 = 0x02;
const CTRL: u8 = 0x04;
const ALT: u8 = 0x08;
const SCROLL_LOCK: u8 = 0x10;
const NUM_LOCK: u8 = 0x20;
const CAPS_LOCK: u8 = 0x40;
const INSERT: u8 = 0x80;

/// BDA 0x496 bit 1: the last scancode was the 0xE0 prefix.
const LAST_E0: u8 = 0x02;

/// For scancodes 0x00-0x58: the key word (scan << 8 | ASCII) unshifted, with Shift, with Ctrl
/// and with Alt; 0 where the combination gives nothing. SeaBIOS's table.
const KEYS: [[u16; 4]; 0x59] = [
    [0, 0, 0, 0],
    [0x011B, 0x011B, 0x011B, 0x0100],
    [0x0231, 0x0221, 0, 0x7800],
    [0x0332, 0x0340, 0x0300, 0x7900],
    [0x0433, 0x0423, 0, 0x7A00],
    [0x0534, 0x0524, 0, 0x7B00],
    [0x0635, 0x0625, 0, 0x7C00],
    [0x0736, 0x075E, 0x071E, 0x7D00],
    [0x0837, 0x0826, 0, 0x7E00],
    [0x0938, 0x092A, 0, 0x7F00],
    [0x0A39, 0x0A28, 0, 0x8000],
    [0x0B30, 0x0B29, 0, 0x8100],
    [0x0C2D, 0x0C5F, 0x0C1F, 0x8200],
    [0x0D3D, 0x0D2B, 0, 0x8300],
    [0x0E08, 0x0E08, 0x0E7F, 0x0E00],
    [0x0F09, 0x0F00, 0x9400, 0xA500],
    [0x1071, 0x1051, 0x1011, 0x1000],
    [0x1177, 0x1157, 0x1117, 0x1100],
    [0x1265, 0x1245, 0x1205, 0x1200],
    [0x1372, 0x1352, 0x1312, 0x1300],
    [0x1474, 0x1454, 0x1414, 0x1400],
    [0x1579, 0x1559, 0x1519, 0x1500],
    [0x1675, 0x1655, 0x1615, 0x1600],
    [0x1769, 0x1749, 0x1709, 0x1700],
    [0x186F, 0x184F, 0x180F, 0x1800],
    [0x1970, 0x1950, 0x1910, 0x1900],
    [0x1A5B, 0x1A7B, 0x1A1B, 0x1A00],
    [0x1B5D, 0x1B7D, 0x1B1D, 0x1B00],
    [0x1C0D, 0x1C0D, 0x1C0A, 0x1C00],
    [0, 0, 0, 0], // left Ctrl
    [0x1E61, 0x1E41, 0x1E01, 0x1E00],
    [0x1F73, 0x1F53, 0x1F13, 0x1F00],
    [0x2064, 0x2044, 0x2004, 0x2000],
    [0x2166, 0x2146, 0x2106, 0x2100],
    [0x2267, 0x2247, 0x2207, 0x2200],
    [0x2368, 0x2348, 0x2308, 0x2300],
    [0x246A, 0x244A, 0x240A, 0x2400],
    [0x256B, 0x254B, 0x250B, 0x2500],
    [0x266C, 0x264C, 0x260C, 0x2600],
    [0x273B, 0x273A, 0, 0x2700],
    [0x2827, 0x2822, 0, 0x2800],
    [0x2960, 0x297E, 0, 0x2900],
    [0, 0, 0, 0], // left Shift
    [0x2B5C, 0x2B7C, 0x2B1C, 0x2B00],
    [0x2C7A, 0x2C5A, 0x2C1A, 0x2C00],
    [0x2D78, 0x2D58, 0x2D18, 0x2D00],
    [0x2E63, 0x2E43, 0x2E03, 0x2E00],
    [0x2F76, 0x2F56, 0x2F16, 0x2F00],
    [0x3062, 0x3042, 0x3002, 0x3000],
    [0x316E, 0x314E, 0x310E, 0x3100],
    [0x326D, 0x324D, 0x320D, 0x3200],
    [0x332C, 0x333C, 0, 0x3300],
    [0x342E, 0x343E, 0, 0x3400],
    [0x352F, 0x353F, 0, 0x3500],
    [0, 0, 0, 0], // right Shift
    [0x372A, 0x372A, 0x9600, 0x3700],
    [0, 0, 0, 0], // Alt
    [0x3920, 0x3920, 0x3920, 0x3920],
    [0, 0, 0, 0], // Caps Lock
    [0x3B00, 0x5400, 0x5E00, 0x6800],
    [0x3C00, 0x5500, 0x5F00, 0x6900],
    [0x3D00, 0x5600, 0x6000, 0x6A00],
    [0x3E00, 0x5700, 0x6100, 0x6B00],
    [0x3F00, 0x5800, 0x6200, 0x6C00],
    [0x4000, 0x5900, 0x6300, 0x6D00],
    [0x4100, 0x5A00, 0x6400, 0x6E00],
    [0x4200, 0x5B00, 0x6500, 0x6F00],
    [0x4300, 0x5C00, 0x6600, 0x7000],
    [0x4400, 0x5D00, 0x6700, 0x7100],
    [0, 0, 0, 0], // Num Lock
    [0, 0, 0, 0], // Scroll Lock
    [0x4700, 0x4737, 0x7700, 0],
    [0x4800, 0x4838, 0x8D00, 0],
    [0x4900, 0x4939, 0x8400, 0],
    [0x4A2D, 0x4A2D, 0x8E00, 0x4A00],
    [0x4B00, 0x4B34, 0x7300, 0],
    [0x4C00, 0x4C35, 0x8F00, 0],
    [0x4D00, 0x4D36, 0x7400, 0],
    [0x4E2B, 0x4E2B, 0x9000, 0x4E00],
    [0x4F00, 0x4F31, 0x7500, 0],
    [0x5000, 0x5032, 0x9100, 0],
    [0x5100, 0x5133, 0x7600, 0],
    [0x5200, 0x5230, 0x9200, 0],
    [0x5300, 0x532E, 0x9300, 0],
    [0, 0, 0, 0],
    [0, 0, 0, 0],
    [0, 0, 0, 0],
    [0x8500, 0x8700, 0x8900, 0x8B00],
    [0x8600, 0x8800, 0x8A00, 0x8C00],
];

/// int 09h, IRQ 1: takes a scancode from the i8042 and acknowledges the interrupt. While the
/// key buffer is full the scancode is left in the controller (a PC BIOS would beep and drop
/// it): the keys behind it wait there, and int 16h takes it once a key has made room, so
/// keys typed faster than the guest reads them (a paste, a test's `type`) are never lost.
pub fn irq1(m: &mut dyn Machine) {
    if !buffer_full(m) {
        take_scancode(m);
    }
    m.outb(0x20, 0x20);
}

/// Reads a keyboard byte waiting in the i8042 into the key buffer; false when none waits.
fn take_scancode(m: &mut dyn Machine) -> bool {
    let status = m.inb(STATUS_PORT);
    if status & STATUS_OUTPUT_FULL == 0 || status & STATUS_AUX != 0 {
        return false;
    }
    let code = m.inb(DATA_PORT);
    scancode(m, code);
    true
}

/// Whether the key buffer has no room for another key.
fn buffer_full(m: &mut dyn Machine) -> bool {
    let b = Buffer::read(m);
    b.next(b.tail) == b.head
}

/// Updates the shift flags or queues a key for one scancode of set 1.
pub fn scancode(m: &mut dyn Machine, code: u8) {
    let mode = m.read_u8(bda::KBD_MODE);
    if code == 0xE0 {
        m.write_u8(bda::KBD_MODE, mode | LAST_E0);
        return;
    }
    let extended = mode & LAST_E0 != 0;
    m.write_u8(bda::KBD_MODE, mode & !LAST_E0);
    let release = code & 0x80 != 0;
    let key = code & 0x7F;
    let flags = m.read_u8(bda::KBD_FLAGS);
    let held = |bit: u8| if release { flags & !bit } else { flags | bit };
    let toggled = |bit: u8| if release { flags } else { flags ^ bit };
    let new_flags = match key {
        0x2A if !extended => Some(held(LEFT_SHIFT)),
        0x36 => Some(held(RIGHT_SHIFT)),
        0x1D => Some(held(CTRL)),
        0x38 => Some(held(ALT)),
        0x3A => Some(toggled(CAPS_LOCK)),
        0x45 => Some(toggled(NUM_LOCK)),
        0x46 => Some(toggled(SCROLL_LOCK)),
        0x52 if !release && flags & (CTRL | ALT) == 0 => {
            m.write_u8(bda::KBD_FLAGS, flags ^ INSERT);
            None
        }
        0x2A => Some(flags), // the fake shift of extended keys
        _ => None,
    };
    if let Some(f) = new_flags {
        m.write_u8(bda::KBD_FLAGS, f);
        return;
    }
    if release {
        return;
    }
    let Some(row) = KEYS.get(usize::from(key)) else {
        return;
    };
    let shift = flags & (LEFT_SHIFT | RIGHT_SHIFT) != 0;
    let mut word = if flags & ALT != 0 {
        row[3]
    } else if flags & CTRL != 0 {
        row[2]
    } else if shift {
        row[1]
    } else {
        row[0]
    };
    let ascii = word as u8;
    if flags & CAPS_LOCK != 0 && ascii.is_ascii_alphabetic() && flags & (CTRL | ALT) == 0 {
        word ^= 0x20;
    }
    if extended {
        // Grey keys: keypad Enter and '/' keep their ASCII under scan 0xE0; the others carry
        // 0xE0 as ASCII so that int 16h AH=10h can tell them from the keypad's.
        word = match key {
            0x1C => 0xE000 | (word & 0xFF),
            0x35 => 0xE02F,
            _ if ascii == 0 || (0x47..=0x53).contains(&key) => (word & 0xFF00) | 0xE0,
            _ => word,
        };
    }
    if word != 0 {
        push_key(m, word);
    }
}

/// Puts a key word at the tail of the BDA buffer; false when it is full.
pub fn push_key(m: &mut dyn Machine, word: u16) -> bool {
    let b = Buffer::read(m);
    let next = b.next(b.tail);
    if next == b.head {
        return false;
    }
    m.write_u16(bda::kbd_slot(b.tail), word);
    m.write_u16(bda::KBD_TAIL, next);
    true
}

/// The keyboard buffer's bounds and pointers, made sane when a guest wrote nonsense there (an
/// empty buffer at its start).
struct Buffer {
    start: u16,
    end: u16,
    head: u16,
    tail: u16,
}

impl Buffer {
    fn read(m: &mut dyn Machine) -> Buffer {
        let (mut start, mut end) = (m.read_u16(bda::KBD_START), m.read_u16(bda::KBD_END));
        if !(start >= 0x1E && start + 2 < end && end <= 0xFE) {
            (start, end) = (bda::KBD_BUFFER, bda::KBD_BUFFER_END);
        }
        let (head, tail) = (m.read_u16(bda::KBD_HEAD), m.read_u16(bda::KBD_TAIL));
        let inside = |p: u16| (start..end).contains(&p) && (p - start).is_multiple_of(2);
        if inside(head) && inside(tail) {
            return Buffer {
                start,
                end,
                head,
                tail,
            };
        }
        m.write_u16(bda::KBD_HEAD, start);
        m.write_u16(bda::KBD_TAIL, start);
        Buffer {
            start,
            end,
            head: start,
            tail: start,
        }
    }

    fn next(&self, p: u16) -> u16 {
        if p + 2 >= self.end {
            self.start
        } else {
            p + 2
        }
    }
}

/// The key at the head of the buffer; taken out when `take`.
fn peek_key(m: &mut dyn Machine, take: bool) -> Option<u16> {
    let b = Buffer::read(m);
    if b.head == b.tail {
        return None;
    }
    let word = m.read_u16(bda::kbd_slot(b.head));
    if take {
        m.write_u16(bda::KBD_HEAD, b.next(b.head));
    }
    Some(word)
}

/// The key word a byte from a serial console stands for: the ASCII with its key's scan code
/// on a US keyboard ("\n" and "\r" are Enter, DEL is Backspace, control characters are
/// Ctrl+letter).
pub fn key_for_byte(byte: u8) -> u16 {
    match byte {
        b'\n' | b'\r' => return 0x1C0D,
        0x7F | 0x08 => return 0x0E08,
        0x1B => return 0x011B,
        b'\t' => return 0x0F09,
        _ => {}
    }
    for row in KEYS.iter() {
        for &word in &row[..3] {
            if word != 0 && word as u8 == byte {
                return word;
            }
        }
    }
    u16::from(byte)
}

/// Where int 16h takes keys from besides the buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SerialKeys {
    /// Only the keyboard.
    Off,
    /// Bytes waiting at the UART at this port become keys too.
    On(u16),
}

/// Moves one byte waiting at the serial console into the key buffer, if there is one.
fn pull_serial(m: &mut dyn Machine, serial: SerialKeys) -> bool {
    let SerialKeys::On(port) = serial else {
        return false;
    };
    // Line status: data ready.
    if m.inb(port.wrapping_add(5)) & 0x01 == 0 {
        return false;
    }
    let byte = m.inb(port);
    push_key(m, key_for_byte(byte))
}

/// What int 16h did: answered, or must wait for a key and be called again.
#[derive(Debug, PartialEq, Eq)]
pub enum Int16 {
    /// Registers hold the answer.
    Done,
    /// No key yet: wait, then retry.
    Wait,
}

/// Serves int 16h.
pub fn int16(cpu: &mut Cpu, m: &mut dyn Machine, serial: SerialKeys) -> Result<Int16, Unsupported> {
    let extended = cpu.ah() & 0x10 != 0;
    match cpu.ah() {
        0x00 | 0x10 => {
            if peek_key(m, false).is_none() && !pull_serial(m, serial) {
                return Ok(Int16::Wait);
            }
            let full = buffer_full(m);
            let word = peek_key(m, true).unwrap_or(0);
            if full {
                // IRQ 1 left a scancode in the controller: there is room for it now.
                take_scancode(m);
            }
            cpu.set_ax(translate(word, extended));
        }
        0x01 | 0x11 => {
            if peek_key(m, false).is_none() {
                pull_serial(m, serial);
            }
            match peek_key(m, false) {
                Some(word) => {
                    cpu.set_ax(translate(word, extended));
                    cpu.set_caller_flag(m, ZF, false);
                }
                None => cpu.set_caller_flag(m, ZF, true),
            }
        }
        0x02 => cpu.set_al(m.read_u8(bda::KBD_FLAGS)),
        0x12 => {
            cpu.set_al(m.read_u8(bda::KBD_FLAGS));
            cpu.set_ah(m.read_u8(bda::KBD_FLAGS2));
        }
        0x03 => {}
        0x05 => {
            let stored = push_key(m, cpu.cx());
            cpu.set_al(u8::from(!stored));
        }
        0x0A => cpu.set_bx(0xAB41),
        _ => return Err(Unsupported),
    }
    Ok(Int16::Done)
}

/// A buffered key word as int 16h reports it: the extended functions (AH=10h, 11h) see grey
/// keys as stored; the old ones see them as their keypad twins, and do not see keys only a
/// 101-key keyboard has.
fn translate(word: u16, extended: bool) -> u16 {
    if extended {
        return word;
    }
    let (scan, ascii) = ((word >> 8) as u8, word as u8);
    match (scan, ascii) {
        (0xE0, 0x2F) => 0x352F,
        (0xE0, _) => 0x1C00 | u16::from(ascii),
        (_, 0xE0) => word & 0xFF00,
        _ => word,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::FakeMachine;

    fn read_key(m: &mut FakeMachine, ah: u8, serial: SerialKeys) -> Option<u16> {
        let mut cpu = Cpu {
            eax: u32::from(ah) << 8,
            esp: u32::from(m.frame_sp),
            ..Cpu::default()
        };
        match int16(&mut cpu, m, serial).expect("implemented") {
            Int16::Done => Some(cpu.ax()),
            Int16::Wait => None,
        }
    }

    #[test]
    fn test_scancodes_become_keys_with_shift() {
        let mut m = FakeMachine::new();
        for code in [0x23, 0xA3, 0x2A, 0x17, 0x97, 0xAA, 0x1C, 0x9C] {
            m.keyboard.push_back(code);
            irq1(&mut m);
        }
        assert_eq!(m.eois, 8);
        let off = SerialKeys::Off;
        assert_eq!(read_key(&mut m, 0, off), Some(0x2368)); // h
        assert_eq!(read_key(&mut m, 0, off), Some(0x1749)); // I (shifted)
        assert_eq!(read_key(&mut m, 0, off), Some(0x1C0D)); // Enter
        assert_eq!(read_key(&mut m, 0, off), None);
    }

    #[test]
    fn test_extended_arrow_keys_by_old_and_new_functions() {
        let mut m = FakeMachine::new();
        for code in [0xE0, 0x48, 0xE0, 0xC8, 0xE0, 0x48] {
            scancode(&mut m, code);
        }
        assert_eq!(read_key(&mut m, 0x10, SerialKeys::Off), Some(0x48E0));
        assert_eq!(read_key(&mut m, 0x00, SerialKeys::Off), Some(0x4800));
    }

    #[test]
    fn test_check_sets_zero_flag_and_leaves_the_key() {
        let mut m = FakeMachine::new();
        m.stack_frame(0x0200);
        assert_eq!(read_key(&mut m, 1, SerialKeys::Off), Some(0x0100));
        assert_ne!(m.frame_flags() & ZF, 0);
        push_key(&mut m, 0x1E61);
        assert_eq!(read_key(&mut m, 1, SerialKeys::Off), Some(0x1E61));
        assert_eq!(m.frame_flags() & ZF, 0);
        assert_eq!(read_key(&mut m, 0, SerialKeys::Off), Some(0x1E61));
    }

    #[test]
    fn test_serial_bytes_are_keys_only_when_asked() {
        let mut m = FakeMachine::new();
        m.serial.extend(b"2 3\n");
        let com1 = SerialKeys::On(0x3F8);
        assert_eq!(read_key(&mut m, 0, com1), Some(0x0332));
        // One byte taken per request: the rest wait at the UART.
        assert_eq!(m.serial.len(), 3);
        assert_eq!(read_key(&mut m, 0, com1), Some(0x3920));
        assert_eq!(read_key(&mut m, 0, com1), Some(0x0433));
        assert_eq!(read_key(&mut m, 0, com1), Some(0x1C0D));
        assert_eq!(read_key(&mut m, 0, com1), None);
        m.serial.extend(b"x");
        assert_eq!(read_key(&mut m, 0, SerialKeys::Off), None);
    }

    #[test]
    fn test_buffer_holds_fifteen_keys() {
        let mut m = FakeMachine::new();
        let stored = (0..20).filter(|i| push_key(&mut m, 0x1E61 + i)).count();
        assert_eq!(stored, 15);
        assert_eq!(read_key(&mut m, 0, SerialKeys::Off), Some(0x1E61));
    }

    #[test]
    fn test_a_scancode_waits_in_the_controller_while_the_buffer_is_full() {
        let mut m = FakeMachine::new();
        for i in 0..15 {
            assert!(push_key(&mut m, 0x1E61 + i));
        }
        m.keyboard.extend([0x30, 0xB0]); // b pressed and released

        irq1(&mut m);
        let waiting = m.keyboard.len();
        let first = read_key(&mut m, 0, SerialKeys::Off);
        let keys: Vec<_> = std::iter::from_fn(|| read_key(&mut m, 0, SerialKeys::Off)).collect();

        assert_eq!((waiting, first), (2, Some(0x1E61)));
        assert_eq!(keys.len(), 15);
        assert_eq!(keys.last(), Some(&0x3062));
    }

    #[test]
    fn test_bytes_map_to_their_keys() {
        assert_eq!(key_for_byte(b'a'), 0x1E61);
        assert_eq!(key_for_byte(b'A'), 0x1E41);
        assert_eq!(key_for_byte(b'+'), 0x0D2B);
        assert_eq!(key_for_byte(b'\n'), 0x1C0D);
        assert_eq!(key_for_byte(0x03), 0x2E03);
        assert_eq!(key_for_byte(0xE9), 0x00E9);
    }
}
