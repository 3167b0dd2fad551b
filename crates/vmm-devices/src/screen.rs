//! Rendering an 80x25 text page to a terminal: plain Unicode text, or with ANSI colours.

use std::fmt::Write as _;

use crate::cp437;
use crate::vga_text::{CELL_BYTES, COLUMNS};

/// VGA colour index (IRGB order: blue, green, cyan, red, ...) to the ANSI colour number
/// (red, green, yellow, blue, ...), for the low three bits.
const VGA_TO_ANSI: [u8; 8] = [0, 4, 2, 6, 1, 5, 3, 7];
/// Attribute bit that selects the bright half of the foreground palette.
const ATTR_FG_BRIGHT: u8 = 0b0000_1000;
/// Attribute bits of the foreground colour (without the bright bit).
const ATTR_FG_MASK: u8 = 0b0000_0111;
/// Shift and mask of the background colour; bit 7 is blink, which is not shown.
const ATTR_BG_SHIFT: u8 = 4;
const ATTR_BG_MASK: u8 = 0b0000_0111;

/// A borrowed text page: rows of `columns` cells of (character, attribute).
pub struct TextScreen<'a> {
    cells: &'a [u8],
    columns: usize,
}

impl<'a> TextScreen<'a> {
    /// Wraps a page of 80-column cells; a trailing partial cell or row is ignored.
    pub fn new(cells: &'a [u8]) -> Self {
        Self::with_columns(cells, COLUMNS)
    }

    /// Wraps a page of `columns`-column cells (40 in video modes 0 and 1).
    pub fn with_columns(cells: &'a [u8], columns: usize) -> Self {
        TextScreen {
            cells,
            columns: columns.max(1),
        }
    }

    fn rows(&self) -> impl Iterator<Item = &'a [u8]> {
        self.cells.chunks_exact(self.columns * CELL_BYTES)
    }

    /// The page as Unicode text: one line per row, trailing spaces trimmed, trailing blank rows
    /// dropped, each kept row ending in a newline. An all-blank page is the empty string.
    pub fn to_text(&self) -> String {
        let lines: Vec<String> = self
            .rows()
            .map(|row| {
                let line: String = row
                    .chunks_exact(CELL_BYTES)
                    .map(|c| cp437::to_char(c[0]))
                    .collect();
                line.trim_end_matches(' ').to_owned()
            })
            .collect();
        let kept = lines
            .iter()
            .rposition(|l| !l.is_empty())
            .map_or(0, |i| i + 1);
        lines[..kept].iter().fold(String::new(), |mut out, line| {
            out.push_str(line);
            out.push('\n');
            out
        })
    }

    /// The whole page with ANSI colours (SGR codes), every row and column, each row ending in a
    /// colour reset and a newline: blank cells keep their background colour.
    pub fn to_ansi(&self) -> String {
        let mut out = String::new();
        for row in self.rows() {
            let mut current: Option<u8> = None;
            for cell in row.chunks_exact(CELL_BYTES) {
                let attr = cell[1];
                if current != Some(attr) {
                    out.push_str(&sgr(attr));
                    current = Some(attr);
                }
                out.push(cp437::to_char(cell[0]));
            }
            out.push_str("\x1b[0m\n");
        }
        out
    }
}

/// The SGR escape that selects the colours of a VGA attribute byte.
fn sgr(attr: u8) -> String {
    let fg = VGA_TO_ANSI[usize::from(attr & ATTR_FG_MASK)];
    let fg_base = if attr & ATTR_FG_BRIGHT != 0 { 90 } else { 30 };
    let bg = VGA_TO_ANSI[usize::from((attr >> ATTR_BG_SHIFT) & ATTR_BG_MASK)];
    let mut s = String::new();
    // Writing to a String cannot fail.
    let _ = write!(s, "\x1b[0;{};{}m", fg_base + fg, 40 + bg);
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vga_text::{PAGE_BYTES, ROWS};

    fn page_with(text_at: &[(usize, usize, &[u8], u8)]) -> Vec<u8> {
        let mut page = vec![0u8; PAGE_BYTES];
        for &(row, col, text, attr) in text_at {
            for (i, &ch) in text.iter().enumerate() {
                let at = (row * COLUMNS + col + i) * CELL_BYTES;
                page[at] = ch;
                page[at + 1] = attr;
            }
        }
        page
    }

    #[test]
    fn test_to_text_blank_page_is_empty() {
        let page = vec![0u8; PAGE_BYTES];
        assert_eq!(TextScreen::new(&page).to_text(), "");
    }

    #[test]
    fn test_to_text_trims_trailing_spaces_and_rows() {
        let page = page_with(&[(0, 2, b"Hi  ", 0x07), (2, 0, b"there", 0x07)]);
        assert_eq!(TextScreen::new(&page).to_text(), "  Hi\n\nthere\n");
    }

    #[test]
    fn test_to_text_maps_cp437_box_drawing() {
        let page = page_with(&[(0, 0, &[0xC9, 0xCD, 0xBB], 0x1F)]);
        assert_eq!(TextScreen::new(&page).to_text(), "╔═╗\n");
    }

    #[test]
    fn test_to_text_last_row_is_kept() {
        let page = page_with(&[(ROWS - 1, COLUMNS - 1, b"Z", 0x07)]);
        let text = TextScreen::new(&page).to_text();
        assert_eq!(text.lines().count(), ROWS);
        assert!(text.ends_with(&format!("{}Z\n", " ".repeat(COLUMNS - 1))));
    }

    #[test]
    fn test_to_ansi_emits_colour_once_per_run() {
        let page = page_with(&[(0, 0, b"AB", 0x1E)]);
        let ansi = TextScreen::new(&page).to_ansi();
        let first_row = ansi.lines().next().unwrap_or_default();
        // Bright yellow (VGA 0xE = bright brown) on blue, then black on black for the blanks.
        assert!(first_row.starts_with("\x1b[0;93;44mAB\x1b[0;30;40m "));
        assert!(first_row.ends_with("\x1b[0m"));
        assert_eq!(ansi.lines().count(), ROWS);
    }
}
