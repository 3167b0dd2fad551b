//! int 10h: video services on the VGA, text modes 0-3 at 0xB8000, the CGA graphics modes
//! 04h-06h there too, the EGA/VGA 16-colour modes 0Dh-12h in the planes behind 0xA0000
//! ([`crate::graphics`] draws in those), and mode 13h (320x200, 256 colours) at 0xA0000. The
//! state lives where a PC BIOS keeps it (BDA mode, columns, rows, page, cursors; the VGA's
//! registers as [`crate::vga_modes`] programs them; the DAC), so a guest that reads or writes
//! it directly agrees with the services.

use crate::bda;
use crate::cpu::Cpu;
use crate::font;
use crate::graphics::{Cells, Surface};
use crate::machine::Machine;
use crate::vga_modes;
use crate::Unsupported;

/// The colour text window.
pub const TEXT_BASE: u32 = 0xB_8000;
/// The graphics window.
pub const GRAPHICS_BASE: u32 = 0xA_0000;
/// Mode 13h's width in pixels.
pub const WIDTH_13H: u32 = 320;
/// Mode 13h's height in pixels.
pub const HEIGHT_13H: u32 = 200;
/// Text rows in every mode but the 480-line ones.
pub const ROWS: u8 = 25;

const CRTC_INDEX: u16 = 0x3D4;
const CRTC_DATA: u16 = 0x3D5;
const DAC_WRITE_INDEX: u16 = 0x3C8;
const DAC_READ_INDEX: u16 = 0x3C7;
const DAC_DATA: u16 = 0x3C9;
const ATTRIBUTE: u16 = 0x3C0;
const ATTRIBUTE_READ: u16 = 0x3C1;
const INPUT_STATUS: u16 = 0x3DA;

/// What a video mode is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Text, `columns` x `rows`.
    Text {
        /// 40 or 80.
        columns: u8,
        /// 25, or 28, 43 or 50 with a smaller font (int 10h AH=11h).
        rows: u8,
    },
    /// 320x200 with 256 colours, one byte per pixel.
    Vga256,
    /// A CGA or EGA/VGA 16-colour graphics mode.
    Graphics(Surface),
}

impl Mode {
    /// The mode a mode number selects, if picovmm has it.
    pub fn from_number(number: u8) -> Option<Mode> {
        let graphics = |width, height, cga_bits| {
            Some(Mode::Graphics(Surface {
                width,
                height,
                cga_bits,
            }))
        };
        match number {
            0 | 1 => Some(Mode::Text {
                columns: 40,
                rows: ROWS,
            }),
            2 | 3 => Some(Mode::Text {
                columns: 80,
                rows: ROWS,
            }),
            4 | 5 => graphics(320, 200, 2),
            6 => graphics(640, 200, 1),
            0x0D => graphics(320, 200, 0),
            0x0E => graphics(640, 200, 0),
            0x10 => graphics(640, 350, 0),
            0x11 | 0x12 => graphics(640, 480, 0),
            0x13 => Some(Mode::Vga256),
            _ => None,
        }
    }

    /// The current mode, from the BDA (a text mode's rows too).
    pub fn current(m: &mut dyn Machine) -> Mode {
        let mode = Mode::from_number(m.read_u8(bda::VIDEO_MODE) & 0x7F).unwrap_or(Mode::Text {
            columns: 80,
            rows: ROWS,
        });
        match mode {
            Mode::Text { columns, .. } => Mode::Text {
                columns,
                rows: text_rows(m.read_u8(bda::ROWS)),
            },
            other => other,
        }
    }

    fn columns(self) -> u8 {
        match self {
            Mode::Text { columns, .. } => columns,
            Mode::Vga256 => 40,
            Mode::Graphics(s) => (s.width / 8) as u8,
        }
    }

    /// Text rows: 25, or 30 in the 480-line modes.
    fn rows(self) -> u8 {
        match self {
            Mode::Text { rows, .. } => rows,
            Mode::Graphics(s) => (s.height / s.char_height()) as u8,
            Mode::Vga256 => ROWS,
        }
    }

    fn char_height(self) -> u16 {
        match self {
            Mode::Text { rows, .. } => u16::from(text_char_height(rows)),
            Mode::Vga256 => 8,
            Mode::Graphics(s) => s.char_height() as u16,
        }
    }

    fn page_size(self) -> u16 {
        match self {
            Mode::Text { columns, rows } => {
                (u16::from(columns) * u16::from(rows) * 2).next_multiple_of(0x800)
            }
            Mode::Vga256 => 0xFA00,
            Mode::Graphics(s) if s.cga_bits != 0 => 0x4000,
            Mode::Graphics(s) => (s.width / 8 * s.height)
                .next_multiple_of(0x2000)
                .min(0xFFFF) as u16,
        }
    }
}

/// The rows of a text mode whose BDA says `last_row` (rows - 1): 25 to 60, 25 when the byte
/// makes no sense.
pub fn text_rows(last_row: u8) -> u8 {
    match last_row.saturating_add(1) {
        rows @ 25..=60 => rows,
        _ => ROWS,
    }
}

/// The character height that fits `rows` text rows in the VGA's 400 lines (8 to 16).
fn text_char_height(rows: u8) -> u8 {
    (400 / u16::from(rows.max(1))).clamp(8, 16) as u8
}

/// A character and its attribute (or colour in graphics modes).
#[derive(Clone, Copy)]
struct Cell {
    ch: u8,
    attr: u8,
}

/// Serves int 10h.
pub fn int10(cpu: &mut Cpu, m: &mut dyn Machine) -> Result<(), Unsupported> {
    match cpu.ah() {
        0x00 => set_mode(cpu, m)?,
        0x01 => set_cursor_shape(m, cpu.ch(), cpu.cl()),
        0x02 => set_cursor(m, cpu.bh() & 7, cpu.dh(), cpu.dl()),
        0x03 => {
            let (row, col) = cursor(m, cpu.bh() & 7);
            cpu.set_dh(row);
            cpu.set_dl(col);
            cpu.set_cx(m.read_u16(bda::CURSOR_SHAPE).swap_bytes());
            cpu.set_ax(0);
        }
        0x05 => set_page(m, cpu.al()),
        0x06 | 0x07 => {
            let window = Window {
                top: cpu.ch(),
                left: cpu.cl(),
                bottom: cpu.dh(),
                right: cpu.dl(),
            };
            scroll(m, window, cpu.al(), cpu.bh(), cpu.ah() == 0x06);
        }
        0x08 => {
            let page = cpu.bh() & 7;
            let (row, col) = cursor(m, page);
            let cell = read_cell(m, page, row, col);
            cpu.set_ah(cell.attr);
            cpu.set_al(cell.ch);
        }
        0x09 | 0x0A => {
            let page = cpu.bh() & 7;
            let (row, col) = cursor(m, page);
            let mode = Mode::current(m);
            let with_attr = cpu.ah() == 0x09 || !matches!(mode, Mode::Text { .. });
            let cols = u32::from(mode.columns());
            let first = u32::from(row) * cols + u32::from(col);
            for i in 0..u32::from(cpu.cx()) {
                // Repeats continue on the next rows, as they would in video memory.
                let (r, c) = ((first + i) / cols, (first + i) % cols);
                if r >= u32::from(mode.rows()) {
                    break;
                }
                let cell = Cell {
                    ch: cpu.al(),
                    attr: cpu.bl(),
                };
                write_cell(m, page, r as u8, c as u8, cell, with_attr);
            }
        }
        0x0B => palette_or_border(cpu, m),
        0x0C => {
            let (x, y) = (u32::from(cpu.cx()), u32::from(cpu.dx()));
            match Mode::current(m) {
                Mode::Vga256 => put_pixel(m, x, y, cpu.al()),
                Mode::Graphics(s) => s.put_pixel(m, x, y, cpu.al()),
                Mode::Text { .. } => {}
            }
        }
        0x0D => {
            let (x, y) = (u32::from(cpu.cx()), u32::from(cpu.dx()));
            let colour = match Mode::current(m) {
                Mode::Vga256 => get_pixel(m, x, y),
                Mode::Graphics(s) => s.get_pixel(m, x, y),
                Mode::Text { .. } => 0,
            };
            cpu.set_al(colour);
        }
        0x0E => {
            let page = m.read_u8(bda::ACTIVE_PAGE);
            teletype(m, page, cpu.al(), cpu.bl());
        }
        0x0F => {
            cpu.set_al(m.read_u8(bda::VIDEO_MODE));
            cpu.set_ah(m.read_u16(bda::COLUMNS) as u8);
            cpu.set_bh(m.read_u8(bda::ACTIVE_PAGE));
        }
        0x10 => palette_service(cpu, m)?,
        0x11 if cpu.al() == 0x30 => font_info(cpu, m),
        0x11 => character_generator(cpu, m)?,
        0x12 if cpu.bl() == 0x30 => cpu.set_al(0x12), // scan lines for the next mode: taken
        0x12 if cpu.bl() == 0x10 => {
            // EGA/VGA information: colour, 256 KiB.
            cpu.set_bh(0);
            cpu.set_bl(3);
            cpu.set_cx(0);
        }
        0x13 => write_string(cpu, m),
        0x4F => crate::vesa::int10_4f(cpu, m),
        0x1A if cpu.al() == 0x00 => {
            // Display combination: VGA with colour display.
            cpu.set_al(0x1A);
            cpu.set_bx(0x0008);
        }
        _ => return Err(Unsupported),
    }
    Ok(())
}

/// Sets a video mode from AL (bit 7: keep the screen's contents).
fn set_mode(cpu: &mut Cpu, m: &mut dyn Machine) -> Result<(), Unsupported> {
    let number = cpu.al() & 0x7F;
    let keep = cpu.al() & 0x80 != 0;
    let mode = Mode::from_number(number).ok_or(Unsupported)?;
    enter_mode(m, number, mode, !keep);
    cpu.set_al(match mode {
        Mode::Text { .. } => 0x30,
        _ => 0x20,
    });
    Ok(())
}

/// Puts the machine in `mode` (number `number`), clearing the screen when `clear`: what POST
/// does for mode 3 and int 10h AH=00h for any mode.
pub fn enter_mode(m: &mut dyn Machine, number: u8, mode: Mode, clear: bool) {
    vga_modes::program(m, number);
    m.write_u8(bda::VIDEO_MODE, number);
    m.write_u16(bda::COLUMNS, u16::from(mode.columns()));
    m.write_u16(bda::PAGE_SIZE, mode.page_size());
    m.write_u16(bda::PAGE_START, 0);
    m.write(bda::CURSOR_POS, &[0; 16]);
    m.write_u8(bda::ACTIVE_PAGE, 0);
    m.write_u16(bda::CRTC_PORT, CRTC_INDEX);
    m.write_u8(bda::ROWS, mode.rows() - 1);
    m.write_u16(bda::CHAR_HEIGHT, mode.char_height());
    set_cursor_shape(m, 0x06, 0x07);
    crtc(m, 0x0C, 0);
    crtc(m, 0x0D, 0);
    update_hardware_cursor(m);
    if clear {
        match mode {
            Mode::Text { .. } => {
                let blank: Vec<u8> = [0x20, 0x07].repeat(0x4000);
                m.write(TEXT_BASE, &blank);
            }
            Mode::Vga256 => m.write(GRAPHICS_BASE, &vec![0u8; 0x1_0000]),
            Mode::Graphics(s) => s.clear(m),
        }
    }
}

/// AH=0Bh: BH=0, the background (graphics) or border (text) colour from BL; BH=1, the CGA
/// palette from BL (0: green, red, brown; 1: cyan, magenta, white), as the VGA's attribute
/// registers hold them.
fn palette_or_border(cpu: &mut Cpu, m: &mut dyn Machine) {
    let mode = Mode::current(m);
    match cpu.bh() {
        0 => {
            let colour = cpu.bl() & 0x1F;
            if let Mode::Graphics(Surface {
                cga_bits: 1 | 2, ..
            }) = mode
            {
                // Background: palette register 0, intensity from bit 4.
                let value = (colour & 0x07) | (colour & 0x08) << 1 | (colour & 0x10);
                attribute_write(m, 0, value & 0x17);
            }
            attribute_write(m, 0x11, colour & 0x0F);
        }
        1 => {
            if let Mode::Graphics(Surface { cga_bits: 2, .. }) = mode {
                let bright = attribute_read(m, 0) & 0x10 | 0x08;
                let base = if cpu.bl() & 1 == 0 {
                    [2, 4, 6]
                } else {
                    [3, 5, 7]
                };
                for (i, c) in base.iter().enumerate() {
                    attribute_write(m, i as u8 + 1, c | bright | (bright & 0x08) << 2);
                }
            }
        }
        _ => {}
    }
}

fn crtc(m: &mut dyn Machine, index: u8, value: u8) {
    m.outb(CRTC_INDEX, index);
    m.outb(CRTC_DATA, value);
}

fn set_cursor_shape(m: &mut dyn Machine, start: u8, end: u8) {
    m.write_u16(bda::CURSOR_SHAPE, u16::from_le_bytes([end, start]));
    crtc(m, 0x0A, start);
    crtc(m, 0x0B, end);
}

/// Row and column of `page`'s cursor.
pub fn cursor(m: &mut dyn Machine, page: u8) -> (u8, u8) {
    let [col, row] = m
        .read_u16(bda::CURSOR_POS + 2 * u32::from(page & 7))
        .to_le_bytes();
    (row, col)
}

fn set_cursor(m: &mut dyn Machine, page: u8, row: u8, col: u8) {
    m.write_u16(
        bda::CURSOR_POS + 2 * u32::from(page & 7),
        u16::from_le_bytes([col, row]),
    );
    if page == m.read_u8(bda::ACTIVE_PAGE) {
        update_hardware_cursor(m);
    }
}

/// Points the CRTC's cursor location at the active page's cursor.
fn update_hardware_cursor(m: &mut dyn Machine) {
    let page = m.read_u8(bda::ACTIVE_PAGE);
    let (row, col) = cursor(m, page);
    let cols = u16::from(Mode::current(m).columns());
    let start = m.read_u16(bda::PAGE_START) / 2;
    let at = start
        .wrapping_add(u16::from(row) * cols)
        .wrapping_add(u16::from(col));
    crtc(m, 0x0E, (at >> 8) as u8);
    crtc(m, 0x0F, at as u8);
}

fn set_page(m: &mut dyn Machine, page: u8) {
    let mode = Mode::current(m);
    if !matches!(mode, Mode::Text { .. }) || page > 7 {
        return;
    }
    let start = u16::from(page) * mode.page_size();
    m.write_u8(bda::ACTIVE_PAGE, page);
    m.write_u16(bda::PAGE_START, start);
    crtc(m, 0x0C, ((start / 2) >> 8) as u8);
    crtc(m, 0x0D, (start / 2) as u8);
    update_hardware_cursor(m);
}

/// The text cell's address in `page`.
fn cell_address(m: &mut dyn Machine, page: u8, row: u8, col: u8) -> u32 {
    let mode = Mode::current(m);
    let page_start = u32::from(page) * u32::from(mode.page_size());
    TEXT_BASE + page_start + (u32::from(row) * u32::from(mode.columns()) + u32::from(col)) * 2
}

fn read_cell(m: &mut dyn Machine, page: u8, row: u8, col: u8) -> Cell {
    match Mode::current(m) {
        Mode::Text { .. } => {
            let at = cell_address(m, page, row, col);
            let [ch, attr] = m.read_u16(at).to_le_bytes();
            Cell { ch, attr }
        }
        Mode::Vga256 => read_glyph(m, row, col),
        Mode::Graphics(s) => {
            let (ch, attr) = s.read_glyph(m, row, col);
            Cell { ch, attr }
        }
    }
}

/// Writes a cell; `with_attr` false keeps the attribute already there (text modes).
fn write_cell(m: &mut dyn Machine, page: u8, row: u8, col: u8, cell: Cell, with_attr: bool) {
    match Mode::current(m) {
        Mode::Text { .. } => {
            let at = cell_address(m, page, row, col);
            m.write_u8(at, cell.ch);
            if with_attr {
                m.write_u8(at + 1, cell.attr);
            }
        }
        Mode::Vga256 => draw_glyph(m, row, col, cell.ch, cell.attr),
        Mode::Graphics(s) => s.draw_glyph(m, row, col, cell.ch, cell.attr),
    }
}

fn put_pixel(m: &mut dyn Machine, x: u32, y: u32, colour: u8) {
    if x >= WIDTH_13H || y >= HEIGHT_13H {
        return;
    }
    let at = GRAPHICS_BASE + y * WIDTH_13H + x;
    // Bit 7 XORs the colour onto the screen, as the PC BIOS does.
    let value = if colour & 0x80 != 0 {
        m.read_u8(at) ^ (colour & 0x7F)
    } else {
        colour
    };
    m.write_u8(at, value);
}

fn get_pixel(m: &mut dyn Machine, x: u32, y: u32) -> u8 {
    if x >= WIDTH_13H || y >= HEIGHT_13H {
        return 0;
    }
    m.read_u8(GRAPHICS_BASE + y * WIDTH_13H + x)
}

/// Draws `ch` in the 8x8 font at text cell (row, col) of mode 13h: foreground `colour`,
/// background 0 (colour bit 7: XOR onto the screen).
fn draw_glyph(m: &mut dyn Machine, row: u8, col: u8, ch: u8, colour: u8) {
    let glyph = font::glyph8x8(ch);
    let (x0, y0) = (u32::from(col) * 8, u32::from(row) * 8);
    if x0 >= WIDTH_13H || y0 >= HEIGHT_13H {
        return;
    }
    for (dy, bits) in glyph.iter().enumerate() {
        let at = GRAPHICS_BASE + (y0 + dy as u32) * WIDTH_13H + x0;
        let mut line = [0u8; 8];
        if colour & 0x80 != 0 {
            m.read(at, &mut line);
        }
        for (dx, pixel) in line.iter_mut().enumerate() {
            let on = bits & (0x80 >> dx) != 0;
            *pixel = match (colour & 0x80 != 0, on) {
                (true, true) => *pixel ^ (colour & 0x7F),
                (true, false) => *pixel,
                (false, true) => colour,
                (false, false) => 0,
            };
        }
        m.write(at, &line);
    }
}

/// The character drawn at a mode 13h cell: the glyph whose lit pixels are exactly the
/// non-zero ones (0 when none matches), with the first lit pixel's colour.
fn read_glyph(m: &mut dyn Machine, row: u8, col: u8) -> Cell {
    let (x0, y0) = (u32::from(col) * 8, u32::from(row) * 8);
    let mut bits = [0u8; 8];
    let mut colour = 0;
    for (dy, b) in bits.iter_mut().enumerate() {
        let mut line = [0u8; 8];
        m.read(GRAPHICS_BASE + (y0 + dy as u32) * WIDTH_13H + x0, &mut line);
        for (dx, &p) in line.iter().enumerate() {
            if p != 0 {
                *b |= 0x80 >> dx;
                if colour == 0 {
                    colour = p;
                }
            }
        }
    }
    let ch = (0..=255u8)
        .find(|&c| font::glyph8x8(c) == bits)
        .unwrap_or(0);
    Cell { ch, attr: colour }
}

/// A rectangle of text cells, corners included.
#[derive(Clone, Copy)]
struct Window {
    top: u8,
    left: u8,
    bottom: u8,
    right: u8,
}

/// Scrolls the active page's `window` by `lines` (0: clears it), filling with `attr` (text) or
/// colour `attr` (mode 13h).
fn scroll(m: &mut dyn Machine, window: Window, lines: u8, attr: u8, up: bool) {
    let mode = Mode::current(m);
    let cols = mode.columns();
    let w = Window {
        top: window.top,
        left: window.left,
        bottom: window.bottom.min(mode.rows() - 1),
        right: window.right.min(cols - 1),
    };
    if w.top > w.bottom || w.left > w.right {
        return;
    }
    let height = w.bottom - w.top + 1;
    let lines = if lines == 0 || lines > height {
        height
    } else {
        lines
    };
    if let Mode::Graphics(s) = mode {
        let cells = Cells {
            top: w.top,
            left: w.left,
            bottom: w.bottom,
            right: w.right,
        };
        s.scroll(m, cells, lines, attr, up);
        return;
    }
    let page = m.read_u8(bda::ACTIVE_PAGE);
    let rows: Vec<u8> = if up {
        (w.top..=w.bottom).collect()
    } else {
        (w.top..=w.bottom).rev().collect()
    };
    for (i, &row) in rows.iter().enumerate() {
        let source = rows.get(i + usize::from(lines)).copied();
        match mode {
            Mode::Text { .. } => {
                let width = usize::from(w.right - w.left + 1) * 2;
                let to = cell_address(m, page, row, w.left);
                let mut line = [0x20, attr].repeat(width / 2);
                if let Some(from) = source {
                    let from = cell_address(m, page, from, w.left);
                    m.read(from, &mut line);
                }
                m.write(to, &line);
            }
            Mode::Graphics(_) => {}
            Mode::Vga256 => {
                let width = usize::from(w.right - w.left + 1) * 8;
                let x = u32::from(w.left) * 8;
                for dy in 0..8 {
                    let to = GRAPHICS_BASE + (u32::from(row) * 8 + dy) * WIDTH_13H + x;
                    let mut line = vec![attr; width];
                    if let Some(from) = source {
                        let from = GRAPHICS_BASE + (u32::from(from) * 8 + dy) * WIDTH_13H + x;
                        m.read(from, &mut line);
                    }
                    m.write(to, &line);
                }
            }
        }
    }
}

/// Writes `ch` as a terminal would at `page`'s cursor: CR, LF, backspace and bell move the
/// cursor (or do nothing), other characters are written and the cursor advances, wrapping and
/// scrolling the page at the bottom. `colour` is the foreground in graphics modes.
pub fn teletype(m: &mut dyn Machine, page: u8, ch: u8, colour: u8) {
    let mode = Mode::current(m);
    let cols = mode.columns();
    let rows = mode.rows();
    let (mut row, mut col) = cursor(m, page);
    match ch {
        0x07 => {}
        0x08 => col = col.saturating_sub(1),
        b'\n' => row = row.saturating_add(1),
        b'\r' => col = 0,
        _ => {
            let cell = Cell { ch, attr: colour };
            write_cell(m, page, row.min(rows - 1), col.min(cols - 1), cell, false);
            col = col.saturating_add(1);
            if col >= cols {
                col = 0;
                row = row.saturating_add(1);
            }
        }
    }
    if row >= rows {
        row = rows - 1;
        // The new line takes the attribute of the cell at the cursor, as on the PC.
        let fill = match mode {
            Mode::Text { .. } => read_cell(m, page, row, col.min(cols - 1)).attr,
            _ => 0,
        };
        let all = Window {
            top: 0,
            left: 0,
            bottom: rows - 1,
            right: cols - 1,
        };
        scroll(m, all, 1, fill, true);
    }
    set_cursor(m, page, row, col);
}

/// AH=13h: writes ES:BP's CX characters (AL bit 1: character, attribute pairs) at row DH,
/// column DL of page BH with attribute BL; AL bit 0 leaves the cursor after the string.
fn write_string(cpu: &mut Cpu, m: &mut dyn Machine) {
    let page = cpu.bh() & 7;
    let (saved_row, saved_col) = cursor(m, page);
    let with_attrs = cpu.al() & 2 != 0;
    set_cursor(m, page, cpu.dh(), cpu.dl());
    let mut at = Cpu::linear(cpu.es, cpu.bp());
    for _ in 0..cpu.cx() {
        let ch = m.read_u8(at);
        at += 1;
        let attr = if with_attrs {
            at += 1;
            m.read_u8(at - 1)
        } else {
            cpu.bl()
        };
        if matches!(ch, 0x07 | 0x08 | b'\n' | b'\r') {
            teletype(m, page, ch, attr);
            continue;
        }
        let (row, col) = cursor(m, page);
        write_cell(m, page, row, col, Cell { ch, attr }, true);
        // Advance as teletype does, over the character just written.
        let mode = Mode::current(m);
        let (cols, rows) = (mode.columns(), mode.rows());
        let (mut row, mut col) = (row, col.saturating_add(1));
        if col >= cols {
            col = 0;
            row = row.saturating_add(1);
        }
        if row >= rows {
            let all = Window {
                top: 0,
                left: 0,
                bottom: rows - 1,
                right: cols - 1,
            };
            scroll(m, all, 1, attr, true);
            row = rows - 1;
        }
        set_cursor(m, page, row, col);
    }
    if cpu.al() & 1 == 0 {
        set_cursor(m, page, saved_row, saved_col);
    }
}

/// AH=10h: palette registers and the DAC.
fn palette_service(cpu: &mut Cpu, m: &mut dyn Machine) -> Result<(), Unsupported> {
    match cpu.al() {
        0x00 => attribute_write(m, cpu.bl() & 0x1F, cpu.bh()),
        0x01 => attribute_write(m, 0x11, cpu.bh()),
        0x02 | 0x09 => {
            // 16 palette registers and the overscan colour from ES:DX (09h reads them back).
            let table = Cpu::linear(cpu.es, cpu.dx());
            for i in 0..17u8 {
                let index = if i == 16 { 0x11 } else { i };
                if cpu.al() == 0x02 {
                    let value = m.read_u8(table + u32::from(i));
                    attribute_write(m, index, value);
                } else {
                    let value = attribute_read(m, index);
                    m.write_u8(table + u32::from(i), value);
                }
            }
        }
        0x03 => {
            // Blink (BL=1) or bright backgrounds (BL=0): attribute mode control bit 3.
            let control = attribute_read(m, 0x10);
            let control = (control & !0x08) | ((cpu.bl() & 1) << 3);
            attribute_write(m, 0x10, control);
        }
        0x07 => {
            let value = attribute_read(m, cpu.bl() & 0x1F);
            cpu.set_bh(value);
        }
        0x10 => {
            m.outb(DAC_WRITE_INDEX, cpu.bl());
            for c in [cpu.dh(), cpu.ch(), cpu.cl()] {
                m.outb(DAC_DATA, c);
            }
        }
        0x12 => {
            let table = Cpu::linear(cpu.es, cpu.dx());
            m.outb(DAC_WRITE_INDEX, cpu.bl());
            for i in 0..u32::from(cpu.cx()).min(256) * 3 {
                let c = m.read_u8(table + i);
                m.outb(DAC_DATA, c);
            }
        }
        0x15 => {
            m.outb(DAC_READ_INDEX, cpu.bl());
            let (r, g, b) = (m.inb(DAC_DATA), m.inb(DAC_DATA), m.inb(DAC_DATA));
            cpu.set_dh(r);
            cpu.set_ch(g);
            cpu.set_cl(b);
        }
        0x17 => {
            let table = Cpu::linear(cpu.es, cpu.dx());
            m.outb(DAC_READ_INDEX, cpu.bl());
            for i in 0..u32::from(cpu.cx()).min(256) * 3 {
                let c = m.inb(DAC_DATA);
                m.write_u8(table + i, c);
            }
        }
        _ => return Err(Unsupported),
    }
    Ok(())
}

fn attribute_write(m: &mut dyn Machine, index: u8, value: u8) {
    m.inb(INPUT_STATUS); // resets the address/data flip-flop
    m.outb(ATTRIBUTE, index);
    m.outb(ATTRIBUTE, value);
    m.outb(ATTRIBUTE, 0x20); // palette address source: the display sees the palette again
}

fn attribute_read(m: &mut dyn Machine, index: u8) -> u8 {
    m.inb(INPUT_STATUS);
    m.outb(ATTRIBUTE, index);
    let value = m.inb(ATTRIBUTE_READ);
    m.inb(INPUT_STATUS);
    m.outb(ATTRIBUTE, 0x20);
    value
}

/// AH=11h (but AL=30h): loading a font. The text modes' own fonts (AL=01h/11h 8x14, 02h/12h
/// 8x8, 04h/14h 8x16) and a user's (00h/10h, BH bytes a character) set the character height and
/// with it the rows: 28, 50 or 25 in the VGA's 400 lines (picovmm draws text with its own
/// font; the height and rows are what software sees and what the screen shows). 03h (the
/// block specifier) and the graphics fonts (20h-24h) are taken and change nothing.
fn character_generator(cpu: &mut Cpu, m: &mut dyn Machine) -> Result<(), Unsupported> {
    let height = match cpu.al() {
        0x01 | 0x11 => 14,
        0x02 | 0x12 => 8,
        0x04 | 0x14 => 16,
        0x00 | 0x10 => cpu.bh(),
        0x03 | 0x20..=0x24 => return Ok(()),
        _ => return Err(Unsupported),
    };
    let Mode::Text { columns, .. } = Mode::current(m) else {
        return Ok(());
    };
    if !(8..=32).contains(&height) {
        return Ok(());
    }
    let rows = text_rows((400 / u16::from(height)).saturating_sub(1) as u8);
    m.write_u8(bda::ROWS, rows - 1);
    m.write_u16(bda::CHAR_HEIGHT, u16::from(height));
    let mode = Mode::Text { columns, rows };
    m.write_u16(bda::PAGE_SIZE, mode.page_size());
    m.outb(CRTC_INDEX, 0x09);
    let max_scan = m.inb(CRTC_DATA);
    crtc(m, 0x09, (max_scan & 0xE0) | (height - 1));
    set_cursor_shape(m, height - 2, height - 1);
    Ok(())
}

/// AX=1130h: where the fonts are: the vectors of int 1Fh and 43h (BH=00h, 01h), the 8x14
/// (02h), 8x8 (03h, 04h for its upper half) and 8x16 (06h) fonts, and the 9-dot alternates
/// (05h, 07h: an empty table).
fn font_info(cpu: &mut Cpu, m: &mut dyn Machine) {
    use crate::rom;
    let offset = match cpu.bh() {
        0x00 => m.read_u16(0x1F * 4),
        0x01 => m.read_u16(0x43 * 4),
        0x02 => rom::FONT_8X14,
        0x04 => rom::FONT_8X8_HIGH,
        0x05 | 0x07 => rom::NO_ALTERNATES,
        0x06 => rom::FONT_8X16,
        _ => rom::FONT_8X8,
    };
    let segment = match cpu.bh() {
        0x00 => m.read_u16(0x1F * 4 + 2),
        0x01 => m.read_u16(0x43 * 4 + 2),
        _ => rom::SEGMENT,
    };
    cpu.es = segment;
    cpu.set_bp(offset);
    // The points and rows of the screen now (8 and 24 in graphics modes with the 8x8 font).
    let height = m.read_u16(bda::CHAR_HEIGHT);
    cpu.set_cx(if height == 0 { 8 } else { height });
    let last_row = m.read_u8(bda::ROWS);
    cpu.set_dl(if last_row == 0 { ROWS - 1 } else { last_row });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::FakeMachine;

    fn text_screen(m: &mut FakeMachine, row: u8) -> String {
        (0..80)
            .map(|c| m.mem[(TEXT_BASE + (u32::from(row) * 80 + c) * 2) as usize] as char)
            .collect::<String>()
            .trim_end()
            .to_owned()
    }

    fn call(m: &mut FakeMachine, ax: u16, bx: u16, cx: u16, dx: u16) -> Cpu {
        let mut cpu = Cpu {
            eax: ax.into(),
            ebx: bx.into(),
            ecx: cx.into(),
            edx: dx.into(),
            ..Cpu::default()
        };
        int10(&mut cpu, m).expect("implemented");
        cpu
    }

    fn mode3() -> FakeMachine {
        let mut m = FakeMachine::new();
        enter_mode(
            &mut m,
            3,
            Mode::Text {
                columns: 80,
                rows: ROWS,
            },
            true,
        );
        m
    }

    #[test]
    fn test_teletype_writes_moves_and_wraps() {
        let mut m = mode3();
        for &b in b"hi\r\nthere" {
            call(&mut m, 0x0E00 | u16::from(b), 0, 0, 0);
        }
        assert_eq!(text_screen(&mut m, 0), "hi");
        assert_eq!(text_screen(&mut m, 1), "there");
        assert_eq!(cursor(&mut m, 0), (1, 5));
        // The CRTC cursor follows: row 1 column 5 = cell 85.
        assert_eq!(m.crtc[0x0E], 0);
        assert_eq!(m.crtc[0x0F], 85);
    }

    #[test]
    fn test_teletype_on_the_last_row_scrolls_the_page() {
        let mut m = mode3();
        for i in 0..30u8 {
            call(&mut m, 0x0E00 | u16::from(b'a' + i % 26), 0, 0, 0);
            call(&mut m, 0x0E0D, 0, 0, 0);
            call(&mut m, 0x0E0A, 0, 0, 0);
        }
        // 30 lines written, the last one's LF scrolled: row 0 shows line 7 ('g').
        assert_eq!(text_screen(&mut m, 0), "g");
        assert_eq!(text_screen(&mut m, 23), "d");
        assert_eq!(text_screen(&mut m, 24), "");
        assert_eq!(cursor(&mut m, 0), (24, 0));
    }

    #[test]
    fn test_backspace_moves_left_without_erasing() {
        let mut m = mode3();
        for &b in b"ab\x08" {
            call(&mut m, 0x0E00 | u16::from(b), 0, 0, 0);
        }
        assert_eq!(text_screen(&mut m, 0), "ab");
        assert_eq!(cursor(&mut m, 0), (0, 1));
    }

    #[test]
    fn test_scroll_window_up_and_clear() {
        let mut m = mode3();
        for (row, text) in ["one", "two", "three"].iter().enumerate() {
            call(&mut m, 0x0200, 0, 0, (row as u16) << 8);
            for &b in text.as_bytes() {
                call(&mut m, 0x0E00 | u16::from(b), 0, 0, 0);
            }
        }
        // Scroll rows 0-2 up by one with attribute 0x1F.
        call(&mut m, 0x0601, 0x1F00, 0x0000, 0x024F);
        assert_eq!(text_screen(&mut m, 0), "two");
        assert_eq!(text_screen(&mut m, 1), "three");
        assert_eq!(text_screen(&mut m, 2), "");
        assert_eq!(m.mem[(TEXT_BASE + 2 * 160 + 1) as usize], 0x1F);
        // AL=0 clears the whole window.
        call(&mut m, 0x0600, 0x0700, 0x0000, 0x184F);
        assert_eq!(text_screen(&mut m, 0), "");
    }

    #[test]
    fn test_write_char_and_attribute_repeats_without_moving() {
        let mut m = mode3();
        call(&mut m, 0x0200, 0, 0, 0x0102);
        call(&mut m, 0x0900 | u16::from(b'*'), 0x004E, 3, 0);
        assert_eq!(text_screen(&mut m, 1), "  ***");
        assert_eq!(m.mem[(TEXT_BASE + 160 + 2 * 2 + 1) as usize], 0x4E);
        let cpu = call(&mut m, 0x0300, 0, 0, 0);
        assert_eq!(cpu.dx(), 0x0102);
        let cpu = call(&mut m, 0x0800, 0, 0, 0);
        assert_eq!(cpu.ax(), 0x4E2A);
    }

    #[test]
    fn test_forty_column_mode_and_get_mode() {
        let mut m = FakeMachine::new();
        call(&mut m, 0x0001, 0, 0, 0);
        let cpu = call(&mut m, 0x0F00, 0, 0, 0);
        assert_eq!((cpu.ah(), cpu.al(), cpu.bh()), (40, 1, 0));
        for &b in b"x" {
            call(&mut m, 0x0E00 | u16::from(b), 0, 0, 0);
        }
        call(&mut m, 0x0200, 0, 0, 0x0100);
        call(&mut m, 0x0E00 | u16::from(b'y'), 0, 0, 0);
        // Row 1 of a 40-column screen starts 80 bytes in.
        assert_eq!(m.mem[(TEXT_BASE + 80) as usize], b'y');
    }

    #[test]
    fn test_mode_13h_pixels_text_and_palette() {
        let mut m = FakeMachine::new();
        let cpu = call(&mut m, 0x0013, 0, 0, 0);
        assert_eq!(cpu.al(), 0x20);
        call(&mut m, 0x0C00 | 0x2C, 0, 10, 20);
        assert_eq!(m.mem[(GRAPHICS_BASE + 20 * 320 + 10) as usize], 0x2C);
        assert_eq!(call(&mut m, 0x0D00, 0, 10, 20).al(), 0x2C);
        // Teletype draws 'A' in colour 0x0F from the font.
        call(&mut m, 0x0E00 | u16::from(b'A'), 0x000F, 0, 0);
        let row0: Vec<u8> = (0..8)
            .map(|x| m.mem[(GRAPHICS_BASE + x) as usize])
            .collect();
        let expected: Vec<u8> = (0..8)
            .map(|x| {
                if font::glyph8x8(b'A')[0] & (0x80 >> x) != 0 {
                    0x0F
                } else {
                    0
                }
            })
            .collect();
        assert_eq!(row0, expected);
        assert_eq!(call(&mut m, 0x0800, 0, 0, 0).al(), 0);
        call(&mut m, 0x0200, 0, 0, 0);
        assert_eq!(call(&mut m, 0x0800, 0, 0, 0).al(), b'A');
        // The default palette: colour 0x2C's DAC entry.
        assert_eq!(m.dac[0x2C], vmm_devices::vga_palette::DEFAULT_VGA[0x2C]);
    }

    #[test]
    fn test_write_string_with_and_without_moving_the_cursor() {
        let mut m = mode3();
        m.mem[0x600..0x605].copy_from_slice(b"hello");
        let mut cpu = Cpu {
            eax: 0x1301,
            ebx: 0x0007,
            ecx: 5,
            edx: 0x0203,
            ebp: 0x600,
            ..Cpu::default()
        };
        int10(&mut cpu, &mut m).expect("implemented");
        assert_eq!(text_screen(&mut m, 2), "   hello");
        assert_eq!(cursor(&mut m, 0), (2, 8));
        cpu.set_ax(0x1300);
        cpu.set_dx(0x0400);
        int10(&mut cpu, &mut m).expect("implemented");
        assert_eq!(text_screen(&mut m, 4), "hello");
        assert_eq!(cursor(&mut m, 0), (2, 8));
    }

    #[test]
    fn test_unsupported_mode_is_reported_not_entered() {
        let mut m = mode3();
        let mut cpu = Cpu {
            eax: 0x000F, // monochrome 640x350: not there
            ..Cpu::default()
        };
        assert!(int10(&mut cpu, &mut m).is_err());
        assert_eq!(m.mem[bda::VIDEO_MODE as usize], 3);
    }

    #[test]
    fn test_1130h_points_at_the_8x16_and_8x14_fonts() {
        let mut m = FakeMachine::new();

        let sixteen = call(&mut m, 0x1130, 0x0600, 0, 0);
        let fourteen = call(&mut m, 0x1130, 0x0200, 0, 0);

        assert_eq!(
            (sixteen.es, sixteen.bp()),
            (crate::rom::SEGMENT, crate::rom::FONT_8X16)
        );
        assert_eq!(
            (fourteen.es, fourteen.bp()),
            (crate::rom::SEGMENT, crate::rom::FONT_8X14)
        );
        let a = usize::from(b'A');
        assert_eq!(
            &crate::font::FONT8X14[a * 14..a * 14 + 14],
            &crate::font::FONT8X16[a * 16 + 1..a * 16 + 15]
        );
    }

    #[test]
    fn test_loading_a_smaller_font_gives_more_rows_and_1130h_says_so() {
        let mut m = mode3();
        for (al, rows, points) in [(0x11u16, 28u8, 14u16), (0x12, 50, 8), (0x14, 25, 16)] {
            call(&mut m, 0x1100 | al, 0, 0, 0);
            assert_eq!(m.read_u8(bda::ROWS), rows - 1);
            assert_eq!(m.read_u16(bda::CHAR_HEIGHT), points);
            let cpu = call(&mut m, 0x1130, 0, 0, 0);
            assert_eq!((cpu.dl(), cpu.cx()), (rows - 1, points));
        }
        // Teletype scrolls at the last of 50 rows.
        call(&mut m, 0x1112, 0, 0, 0);
        call(&mut m, 0x0200, 0, 0, 0x3100); // row 49
        assert_eq!(
            Mode::current(&mut m),
            Mode::Text {
                columns: 80,
                rows: 50
            }
        );
        // Setting a mode goes back to 25 rows.
        call(&mut m, 0x0003, 0, 0, 0);
        assert_eq!(m.read_u8(bda::ROWS), 24);
    }
}
