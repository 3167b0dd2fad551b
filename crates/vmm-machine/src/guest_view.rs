//! Everything the guest can address, read and written from any thread: RAM, the VGA text
//! window (mapped or trapped), the BIOS's graphics window and its ROM. What the guest reads at
//! an address, a debugger, a control client or a test reads there too.

use vm_memory::{Bytes, GuestAddress, GuestMemoryBackend, GuestMemoryMmap, GuestMemoryRegion};
use vmm_core::DeviceMemory;

use crate::board::{Board, Screen};

/// A window of device memory: where it is and what backs it.
#[derive(Clone)]
enum Window {
    /// The VGA text window.
    Text { base: u64, len: u64, screen: Screen },
    /// Memory mapped into the guest for a device (graphics window, ROM).
    Device(DeviceMemory),
}

impl Window {
    fn span(&self) -> (u64, u64) {
        match self {
            Window::Text { base, len, .. } => (*base, *len),
            Window::Device(m) => (m.base(), m.len()),
        }
    }

    fn read(&self, offset: u64, buf: &mut [u8]) {
        match self {
            Window::Text { screen, .. } => screen.read(offset, buf),
            Window::Device(m) => m.read(offset, buf),
        }
    }

    fn write(&self, offset: u64, buf: &[u8]) -> bool {
        match self {
            Window::Text { screen, .. } => screen.write(offset, buf),
            Window::Device(m) => m.write(offset, buf),
        }
    }
}

/// The guest-physical address space as the guest sees it, minus ports.
#[derive(Clone)]
pub struct GuestView {
    ram: GuestMemoryMmap,
    windows: Vec<Window>,
}

impl GuestView {
    /// The view of `board`'s memory and windows.
    pub fn of(board: &Board) -> GuestView {
        let mut windows = Vec::new();
        if let Some((base, screen)) = board.vga_window() {
            let len = vmm_devices::vga_text::WINDOW_SIZE;
            windows.push(Window::Text { base, len, screen });
        }
        // Device memory: the BIOS's graphics window and ROM, the empty option-ROM space.
        windows.extend(
            board
                .vm()
                .device_windows()
                .iter()
                .cloned()
                .map(Window::Device),
        );
        GuestView {
            ram: board.vm().memory().clone(),
            windows,
        }
    }

    /// Guest RAM alone.
    pub fn ram(&self) -> &GuestMemoryMmap {
        &self.ram
    }

    /// Reads from guest-physical `addr` into `buf`; returns how many bytes from the start
    /// are readable (the rest of `buf` is left as it was).
    pub fn read(&self, addr: u64, buf: &mut [u8]) -> usize {
        let mut done = 0;
        while done < buf.len() {
            let at = match addr.checked_add(done as u64) {
                Some(at) => at,
                None => break,
            };
            let n = match self.piece(at, buf.len() - done) {
                Some(Piece::Ram(n)) => {
                    let ok = self
                        .ram
                        .read_slice(&mut buf[done..done + n], GuestAddress(at))
                        .is_ok();
                    if !ok {
                        break;
                    }
                    n
                }
                Some(Piece::Window(i, offset, n)) => {
                    self.windows[i].read(offset, &mut buf[done..done + n]);
                    n
                }
                None => break,
            };
            done += n;
        }
        done
    }

    /// How many of the `len` bytes from guest-physical `addr` the guest can address (RAM or a
    /// window), counted from the start up to the first hole.
    pub fn addressable(&self, addr: u64, len: u64) -> u64 {
        let mut done = 0;
        while done < len {
            let Some(at) = addr.checked_add(done) else {
                break;
            };
            let want = usize::try_from(len - done).unwrap_or(usize::MAX);
            match self.piece(at, want) {
                Some(Piece::Ram(n) | Piece::Window(_, _, n)) => done += n as u64,
                None => break,
            }
        }
        done
    }

    /// Writes `data` at guest-physical `addr`; returns how many bytes from the start were
    /// written (a write stops where the guest has nothing).
    pub fn write(&self, addr: u64, data: &[u8]) -> usize {
        let mut done = 0;
        while done < data.len() {
            let Some(at) = addr.checked_add(done as u64) else {
                break;
            };
            let n = match self.piece(at, data.len() - done) {
                Some(Piece::Ram(n)) => {
                    if self
                        .ram
                        .write_slice(&data[done..done + n], GuestAddress(at))
                        .is_err()
                    {
                        break;
                    }
                    n
                }
                Some(Piece::Window(i, offset, n)) => {
                    if !self.windows[i].write(offset, &data[done..done + n]) {
                        break;
                    }
                    n
                }
                None => break,
            };
            done += n;
        }
        done
    }

    /// What holds `at`, and how many of `want` bytes from it lie in the same place.
    fn piece(&self, at: u64, want: usize) -> Option<Piece> {
        if let Some(region) = self
            .ram
            .iter()
            .find(|r| at >= r.start_addr().0 && at - r.start_addr().0 < r.len())
        {
            let end = region.start_addr().0 + region.len();
            return Some(Piece::Ram(want.min((end - at) as usize)));
        }
        self.windows.iter().enumerate().find_map(|(i, w)| {
            let (base, len) = w.span();
            (at >= base && at - base < len).then(|| {
                let offset = at - base;
                Piece::Window(i, offset, want.min((len - offset) as usize))
            })
        })
    }
}

/// Where a stretch of the address space lives.
enum Piece {
    /// RAM, this many bytes.
    Ram(usize),
    /// Window `.0`, from offset `.1`, this many bytes.
    Window(usize, u64, usize),
}
