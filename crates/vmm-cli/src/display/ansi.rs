//! A frame in a terminal: text modes cell for cell in the 16 ANSI colours, mode 13h with
//! half-block characters (the upper pixel in the foreground, the lower in the background) in
//! true colour, scaled to the terminal; and the escape sequences that turn one frame into the
//! next, touching only the cells that changed.

use std::fmt::Write as _;

use vmm_devices::cp437;

use vmm_machine::frame::{Contents, Frame, ROWS};

/// VGA colour (IRGB) to ANSI colour number, low three bits.
const VGA_TO_ANSI: [u8; 8] = [0, 4, 2, 6, 1, 5, 3, 7];
/// The upper half block.
const UPPER_HALF: char = '\u{2580}';

/// A terminal cell's colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Colour {
    /// One of the 16 ANSI colours, by VGA number.
    Vga(u8),
    /// True colour.
    Rgb([u8; 3]),
}

/// One terminal cell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cell {
    /// The character.
    pub ch: char,
    /// Foreground.
    pub fg: Colour,
    /// Background.
    pub bg: Colour,
}

/// What the terminal shows: a grid of cells and the cursor, or a note.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Drawing {
    /// Cells, row by row.
    Grid {
        /// Columns.
        width: usize,
        /// Rows.
        height: usize,
        /// The cells.
        cells: Vec<Cell>,
        /// Row and column of the cursor, when shown.
        cursor: Option<(usize, usize)>,
    },
    /// The terminal is too small for the screen.
    Note(String),
}

/// The smallest terminal a mode 13h picture is drawn in.
const MIN_GRAPHICS: (usize, usize) = (32, 10);

/// The drawing `frame` makes in a terminal of `size` (columns, rows).
pub fn drawing(frame: &Frame, size: (usize, usize)) -> Drawing {
    match &frame.contents {
        Contents::Text {
            columns,
            cells,
            cursor,
        } => {
            let rows = (cells.len() / (columns.max(&1) * 2)).max(ROWS);
            if size.0 < *columns || size.1 < rows {
                return too_small(
                    format!("{columns}x{rows} text screen"),
                    *columns,
                    rows,
                    size,
                );
            }
            // A 40-column mode's characters are twice as wide on a VGA: two cells each when
            // the terminal has the room.
            let scale = if *columns <= 40 && size.0 >= columns * 2 {
                2
            } else {
                1
            };
            let cells = cells
                .chunks_exact(2)
                .flat_map(|c| {
                    let (fg, bg) = frame.attribute_colours(c[1]);
                    let ch = cp437::to_char(c[0]);
                    let cell = |ch| Cell {
                        ch,
                        fg: Colour::Vga(fg),
                        bg: Colour::Vga(bg),
                    };
                    let right = if is_block(ch) { ch } else { ' ' };
                    std::iter::once(cell(ch)).chain((scale == 2).then(|| cell(right)))
                })
                .collect();
            Drawing::Grid {
                width: columns * scale,
                height: rows,
                cells,
                cursor: cursor.map(|(row, col)| (row, col * scale)),
            }
        }
        Contents::Graphics {
            width,
            height,
            pixels,
        } => picture(*width, *height, size, &|i| {
            frame.palette[usize::from(pixels.get(i).copied().unwrap_or(0))]
        }),
        Contents::Rgb { width, height, rgb } => picture(*width, *height, size, &|i| {
            let p = rgb.get(i * 3..i * 3 + 3).unwrap_or(&[0, 0, 0]);
            [p[0], p[1], p[2]]
        }),
    }
}

/// A `gw` x `gh` picture as half-block cells scaled to the terminal (`pixel(i)`: the colour of
/// pixel `i`, row by row).
fn picture(
    gw: usize,
    gh: usize,
    size: (usize, usize),
    pixel: &dyn Fn(usize) -> [u8; 3],
) -> Drawing {
    if size.0 < MIN_GRAPHICS.0 || size.1 < MIN_GRAPHICS.1 {
        let (w, h) = MIN_GRAPHICS;
        return too_small(format!("{gw}x{gh} graphics screen"), w, h, size);
    }
    // Each cell is two pixels tall; keep the picture's shape (the 640x200 modes' lines are
    // twice as tall as wide, as the monitor shows them).
    let shape_h = if gw >= 2 * gh { 2 * gh } else { gh };
    let mut width = size.0.min(gw);
    let mut height = (width * shape_h).div_ceil(gw * 2);
    if height > size.1 {
        height = size.1;
        width = (height * 2 * gw / shape_h).min(size.0);
    }
    let colour = |x: usize, y: usize| {
        let px = (x * gw / width.max(1)).min(gw.saturating_sub(1));
        let py = (y * gh / (height * 2).max(1)).min(gh.saturating_sub(1));
        Colour::Rgb(pixel(py * gw + px))
    };
    let cells = (0..height)
        .flat_map(|row| (0..width).map(move |col| (row, col)))
        .map(|(row, col)| Cell {
            ch: UPPER_HALF,
            fg: colour(col, row * 2),
            bg: colour(col, row * 2 + 1),
        })
        .collect();
    Drawing::Grid {
        width,
        height,
        cells,
        cursor: None,
    }
}

/// Whether `ch` fills its cell side to side (a block or shade), so that a doubled cell repeats
/// it rather than padding it with a blank.
fn is_block(ch: char) -> bool {
    matches!(ch, '\u{2580}'..='\u{259F}' | '\u{25A0}' | '\u{2550}'..='\u{256C}' | '\u{2500}')
}

fn too_small(what: String, w: usize, h: usize, size: (usize, usize)) -> Drawing {
    Drawing::Note(format!(
        "picovmm: the guest shows a {what}; this terminal is {}x{}, make it at least {w}x{h} (Ctrl-a x leaves)",
        size.0, size.1
    ))
}

/// The escape sequences that change the terminal from `previous` (`None`: unknown, redraw
/// everything) to `next`.
pub fn draw(previous: Option<&Drawing>, next: &Drawing, out: &mut String) {
    let Drawing::Grid {
        width,
        height,
        cells,
        cursor,
    } = next
    else {
        if previous != Some(next) {
            if let Drawing::Note(text) = next {
                let _ = write!(out, "\x1b[0m\x1b[2J\x1b[H\x1b[?25l{text}");
            }
        }
        return;
    };
    let old = match previous {
        Some(Drawing::Grid {
            width: w,
            height: h,
            cells,
            ..
        }) if w == width && h == height => Some(cells),
        _ => {
            out.push_str("\x1b[0m\x1b[2J");
            None
        }
    };
    out.push_str("\x1b[?25l");
    let mut colours: Option<(Colour, Colour)> = None;
    let mut at: Option<(usize, usize)> = None;
    for row in 0..*height {
        for col in 0..*width {
            let i = row * width + col;
            let cell = cells[i];
            if old.is_some_and(|o| o[i] == cell) {
                continue;
            }
            if at != Some((row, col)) {
                let _ = write!(out, "\x1b[{};{}H", row + 1, col + 1);
            }
            if colours != Some((cell.fg, cell.bg)) {
                out.push_str("\x1b[");
                sgr(cell.fg, true, out);
                out.push(';');
                sgr(cell.bg, false, out);
                out.push('m');
                colours = Some((cell.fg, cell.bg));
            }
            out.push(cell.ch);
            at = (col + 1 < *width).then_some((row, col + 1));
        }
    }
    out.push_str("\x1b[0m");
    if let Some((row, col)) = cursor {
        let _ = write!(out, "\x1b[{};{}H\x1b[?25h", row + 1, col + 1);
    }
}

fn sgr(colour: Colour, foreground: bool, out: &mut String) {
    match colour {
        Colour::Vga(c) => {
            let base = match (foreground, c >= 8) {
                (true, false) => 30,
                (true, true) => 90,
                (false, false) => 40,
                (false, true) => 100,
            };
            let _ = write!(out, "{}", base + VGA_TO_ANSI[usize::from(c & 7)]);
        }
        Colour::Rgb([r, g, b]) => {
            let _ = write!(out, "{};2;{r};{g};{b}", if foreground { 38 } else { 48 });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame_of(contents: Contents) -> Frame {
        Frame {
            contents,
            palette: vec![[0x10, 0x20, 0x30]; 256],
            text_palette: std::array::from_fn(|i| i as u8),
            blink: true,
        }
    }

    fn text(chars: &[u8], attr: u8) -> Frame {
        let mut cells = vec![0u8; 80 * 25 * 2];
        for (i, &c) in chars.iter().enumerate() {
            cells[2 * i] = c;
            cells[2 * i + 1] = attr;
        }
        frame_of(Contents::Text {
            columns: 80,
            cells,
            cursor: Some((0, chars.len())),
        })
    }

    #[test]
    fn test_first_frame_draws_everything_then_only_changes() {
        let a = drawing(&text(b"hi", 0x1E), (80, 25));
        let mut out = String::new();
        draw(None, &a, &mut out);
        assert!(out.starts_with("\x1b[0m\x1b[2J"));
        assert!(out.contains("\x1b[1;1H\x1b[93;44mhi"), "{out:?}");
        assert!(out.ends_with("\x1b[1;3H\x1b[?25h"));
        let b = drawing(&text(b"ho", 0x1E), (80, 25));
        let mut out = String::new();
        draw(Some(&a), &b, &mut out);
        assert_eq!(
            out,
            "\x1b[?25l\x1b[1;2H\x1b[93;44mo\x1b[0m\x1b[1;3H\x1b[?25h"
        );
    }

    #[test]
    fn test_small_terminal_gets_a_note() {
        let f = drawing(&text(b"x", 7), (60, 20));
        let Drawing::Note(note) = &f else {
            panic!("expected a note, got {f:?}")
        };
        assert!(note.contains("this terminal is 60x20, make it at least 80x25"));
    }

    #[test]
    fn test_graphics_become_half_blocks_scaled_to_the_terminal() {
        let mut pixels = vec![0u8; 320 * 200];
        pixels[320] = 1; // pixel (0, 1): the lower half of the first cell
        let mut s = frame_of(Contents::Graphics {
            width: 320,
            height: 200,
            pixels,
        });
        s.palette[1] = [255, 0, 0];
        let f = drawing(&s, (80, 50));
        let Drawing::Grid {
            width,
            height,
            cells,
            ..
        } = f
        else {
            panic!("expected a grid")
        };
        assert_eq!((width, height), (80, 25));
        // 80 columns show every 4th pixel; rows of 8 pixels: the first cell samples rows 0, 4.
        assert_eq!(cells[0].ch, UPPER_HALF);
        let full = drawing(&s, (320, 100));
        let Drawing::Grid { cells, .. } = full else {
            panic!("expected a grid")
        };
        assert_eq!(cells[0].bg, Colour::Rgb([255, 0, 0]));
        assert_eq!(cells[0].fg, Colour::Rgb([0x10, 0x20, 0x30]));
    }

    fn forty(chars: &[u8]) -> Frame {
        let mut cells = vec![0u8; 40 * 25 * 2];
        for (i, &c) in chars.iter().enumerate() {
            cells[2 * i] = c;
            cells[2 * i + 1] = 0x07;
        }
        frame_of(Contents::Text {
            columns: 40,
            cells,
            cursor: Some((0, 2)),
        })
    }

    #[test]
    fn test_forty_columns_are_doubled_where_the_terminal_has_room() {
        let f = drawing(&forty(&[b'A', 0xDB]), (100, 30));
        let Drawing::Grid {
            width,
            cells,
            cursor,
            ..
        } = f
        else {
            panic!("expected a grid")
        };
        let row: String = cells.iter().take(4).map(|c| c.ch).collect();
        // A letter then a blank; a full block twice, so a block stays solid.
        assert_eq!((width, row.as_str(), cursor), (80, "A ██", Some((0, 4))));
    }

    #[test]
    fn test_forty_columns_in_a_narrow_terminal_are_one_cell_each() {
        let f = drawing(&forty(b"AB"), (60, 30));
        let Drawing::Grid { width, .. } = f else {
            panic!("expected a grid")
        };
        assert_eq!(width, 40);
    }
}
