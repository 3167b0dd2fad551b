//! What the screen shows at one moment, read without stopping the guest: the video mode and
//! page from the BIOS Data Area, the text or graphics window's bytes (memory the guest writes
//! directly, so reading it adds no exits), the cursor and the palette from the VGA's registers.

use std::sync::{Arc, Mutex};

use vm_memory::GuestMemoryMmap;
use vmm_core::DeviceMemory;
use vmm_devices::bochs_vbe;
use vmm_devices::screen::TextScreen;
use vmm_devices::vga_palette::{to_rgb8, DEFAULT_VGA};
use vmm_devices::vga_planar::VgaPlanes;
use vmm_devices::vga_regs::VgaRegisters;
use vmm_devices::vga_scanout;

use crate::board::{Board, DeviceHandle, Screen, VideoLayout};
use crate::devices::vbe::Vbe;

/// Text rows on every screen picovmm shows.
pub use vmm_devices::vga_text::ROWS;
/// Mode 13h's size.
pub const GRAPHICS_WIDTH: usize = 320;
/// Mode 13h's size.
pub const GRAPHICS_HEIGHT: usize = 200;

/// The screen's contents.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Contents {
    /// A text page: `columns` x rows (25, or up to 60 with a smaller font) cells of
    /// (character, attribute), and the cursor's cell.
    Text {
        /// 40 or 80.
        columns: usize,
        /// The cells, row by row.
        cells: Vec<u8>,
        /// Row and column of the hardware cursor, when it is shown and on the page.
        cursor: Option<(usize, usize)>,
    },
    /// A graphics mode: DAC entries (mode 13h's bytes, or the planes' and CGA modes' pixels
    /// through the attribute controller).
    Graphics {
        /// Pixels across (320 in mode 13h).
        width: usize,
        /// Pixels down (200 in mode 13h).
        height: usize,
        /// The pixels, row by row.
        pixels: Vec<u8>,
    },
    /// A VESA direct-colour (or 8-bit) mode, as colours.
    Rgb {
        /// Pixels across.
        width: usize,
        /// Pixels down.
        height: usize,
        /// 3 bytes a pixel, row by row.
        rgb: Vec<u8>,
    },
}

/// One picture of the screen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// What is on it.
    pub contents: Contents,
    /// The DAC's 256 colours, 8 bits per component.
    pub palette: Vec<[u8; 3]>,
    /// The attribute controller's 16 palette registers: DAC entries of the text colours.
    pub text_palette: [u8; 16],
    /// Attribute bit 7 blinks (true) or brightens the background.
    pub blink: bool,
}

impl Frame {
    /// The text page as plain text (trailing spaces and blank rows trimmed); `None` in a
    /// graphics mode.
    pub fn text(&self) -> Option<String> {
        self.text_screen().map(|t| t.to_text())
    }

    /// The text page with its colours as ANSI escapes; `None` in a graphics mode.
    pub fn ansi(&self) -> Option<String> {
        self.text_screen().map(|t| t.to_ansi())
    }

    fn text_screen(&self) -> Option<TextScreen<'_>> {
        match &self.contents {
            Contents::Text { columns, cells, .. } => {
                Some(TextScreen::with_columns(cells, *columns))
            }
            Contents::Graphics { .. } | Contents::Rgb { .. } => None,
        }
    }

    /// The RGB colour of text colour `c` (0-15).
    pub fn text_colour(&self, c: u8) -> [u8; 3] {
        self.palette[usize::from(self.text_palette[usize::from(c & 0x0F)])]
    }

    /// The foreground and background colours (0-15) of a text attribute.
    pub fn attribute_colours(&self, attr: u8) -> (u8, u8) {
        let bg = if self.blink {
            (attr >> 4) & 0x07
        } else {
            attr >> 4
        };
        (attr & 0x0F, bg)
    }
}

impl ScreenSources {
    /// The planar and CGA modes' pictures, drawn as the VGA's registers say (a guest may have
    /// unchained mode 13h into planes, "mode X"); `None` for text and mode 13h.
    fn drawn(&self, layout: VideoLayout) -> Option<Contents> {
        let regs = crate::sync::lock(self.vga.as_ref()?).clone();
        if let Some(contents) = self.vesa(&regs) {
            return Some(contents);
        }
        let picture = if regs.planar() {
            let planes = crate::sync::lock(self.planes.as_ref()?);
            vga_scanout::planar(&regs, &planes)
        } else if let (VideoLayout::Cga { bits }, Some((_, screen))) = (layout, &self.text) {
            let mut memory = vec![0u8; 0x4000];
            screen.read(0, &mut memory);
            vga_scanout::cga(&regs, &memory, bits)
        } else {
            return None;
        };
        Some(Contents::Graphics {
            width: picture.width,
            height: picture.height,
            pixels: picture.pixels,
        })
    }
}

impl ScreenSources {
    /// The VESA mode's picture, while one is on.
    fn vesa(&self, vga: &VgaRegisters) -> Option<Contents> {
        let vbe = self.vbe.as_ref()?;
        let mode = crate::sync::lock(&vbe.regs).mode()?;
        // The registers keep the picture inside the buffer; a last line cut short by the
        // display start's column reads as black rather than as the open bus.
        let len = mode.stride as usize * usize::from(mode.height);
        let len = len.min(vbe.lfb.len().saturating_sub(u64::from(mode.start)) as usize);
        let mut frame = vec![0u8; len];
        vbe.lfb.read(u64::from(mode.start), &mut frame);
        let (width, height) = (usize::from(mode.width), usize::from(mode.height));
        if mode.bpp == 8 {
            // DAC entries, as mode 13h's.
            let pixels = (0..height)
                .flat_map(|y| {
                    let at = y * mode.stride as usize;
                    (0..width).map(move |x| at + x)
                })
                .map(|i| frame.get(i).copied().unwrap_or(0))
                .collect();
            return Some(Contents::Graphics {
                width,
                height,
                pixels,
            });
        }
        let rgb = bochs_vbe::to_rgb(&mode, &frame, &|i| vga.colour(i));
        Some(Contents::Rgb { width, height, rgb })
    }
}

/// Where a board's screen is, to be read again and again.
#[derive(Clone)]
pub struct ScreenSources {
    text: Option<(u64, Screen)>,
    graphics: Option<DeviceMemory>,
    vga: Option<Arc<Mutex<VgaRegisters>>>,
    planes: Option<Arc<Mutex<VgaPlanes>>>,
    vbe: Option<Vbe>,
    ram: GuestMemoryMmap,
    bios: bool,
}

impl ScreenSources {
    /// The board's screen; `None` when it has no VGA at all.
    pub fn of(board: &Board) -> Option<ScreenSources> {
        let (graphics, vga, planes, vbe) = board
            .devices()
            .iter()
            .find_map(|e| match &e.handle {
                DeviceHandle::Bios {
                    vga,
                    graphics,
                    planes,
                    vbe,
                    ..
                } => Some((graphics.clone(), vga.clone(), planes.clone(), vbe.clone())),
                _ => None,
            })
            .map_or((None, None, None, None), |(g, v, p, b)| {
                (Some(g), Some(v), Some(p), b)
            });
        let text = board.vga_window();
        if text.is_none() && graphics.is_none() {
            return None;
        }
        Some(ScreenSources {
            text,
            bios: vga.is_some(),
            graphics,
            vga,
            planes,
            vbe,
            ram: board.vm().memory().clone(),
        })
    }

    /// The screen now.
    pub fn capture(&self) -> Frame {
        let layout = if self.bios {
            VideoLayout::from_bda(&self.ram)
        } else {
            VideoLayout::PLAIN
        };
        let (palette, text_palette, blink, cursor_at, start) = match &self.vga {
            Some(vga) => {
                let vga = crate::sync::lock(vga);
                let palette = (0..=255u8).map(|i| vga.colour(i)).collect();
                let text_palette = std::array::from_fn(|i| vga.attribute_palette(i as u8));
                let (at, shown) = vga.cursor();
                (
                    palette,
                    text_palette,
                    vga.blink(),
                    shown.then_some(at),
                    vga.start_address(),
                )
            }
            None => (
                DEFAULT_VGA.iter().map(|&c| to_rgb8(c)).collect(),
                std::array::from_fn(|i| i as u8),
                true,
                None,
                0,
            ),
        };
        if let Some(contents) = self.drawn(layout) {
            return Frame {
                contents,
                palette,
                text_palette,
                blink,
            };
        }
        let contents = match (layout, &self.graphics, &self.text) {
            (VideoLayout::Graphics, Some(graphics), _) => {
                let mut pixels = vec![0u8; GRAPHICS_WIDTH * GRAPHICS_HEIGHT];
                graphics.read(0, &mut pixels);
                Contents::Graphics {
                    width: GRAPHICS_WIDTH,
                    height: GRAPHICS_HEIGHT,
                    pixels,
                }
            }
            (
                VideoLayout::Text {
                    columns,
                    rows,
                    page_start,
                },
                _,
                Some((_, screen)),
            ) => {
                let mut cells = vec![0u8; columns * rows * 2];
                screen.read(page_start, &mut cells);
                // The CRTC counts cells from the display start; the page starts there too.
                let cursor = cursor_at.and_then(|at| {
                    let cell = usize::from(at.wrapping_sub(start));
                    (cell < columns * rows).then_some((cell / columns, cell % columns))
                });
                Contents::Text {
                    columns,
                    cells,
                    cursor,
                }
            }
            _ => Contents::Text {
                columns: 80,
                cells: vec![0u8; 80 * ROWS * 2],
                cursor: None,
            },
        };
        Frame {
            contents,
            palette,
            text_palette,
            blink,
        }
    }
}
