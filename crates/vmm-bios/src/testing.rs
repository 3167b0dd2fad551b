//! A machine for unit tests: 1 MiB and a bit of memory, the VGA registers the services touch,
//! a keyboard controller and a UART with input queues, and records of what the BIOS did.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::time::Duration;

use crate::machine::Machine;

pub struct FakeMachine {
    pub mem: Vec<u8>,
    pub crtc: [u8; 256],
    crtc_index: u8,
    pub dac: [[u8; 3]; 256],
    dac_write: (u8, usize),
    dac_read: (u8, usize),
    attr: [u8; 32],
    attr_index: Option<u8>,
    pub keyboard: VecDeque<u8>,
    pub serial: VecDeque<u8>,
    pub eois: usize,
    pub pit_writes: Vec<(u16, u8)>,
    pub clock: u64,
    pub waits: usize,
    pub logs: Vec<String>,
    pub frame_sp: u16,
    /// Port 0x92, when the machine has it.
    pub fast_a20: Option<u8>,
    /// The VESA display's registers, and whether the machine has them.
    pub vbe: vmm_devices::bochs_vbe::BochsVbe,
    has_vbe: bool,
}

impl FakeMachine {
    pub fn new() -> Self {
        FakeMachine {
            mem: vec![0; 0x11_0000],
            crtc: [0; 256],
            crtc_index: 0,
            dac: [[0; 3]; 256],
            dac_write: (0, 0),
            dac_read: (0, 0),
            attr: [0; 32],
            attr_index: None,
            keyboard: VecDeque::new(),
            serial: VecDeque::new(),
            eois: 0,
            pit_writes: Vec::new(),
            clock: 0,
            waits: 0,
            logs: Vec::new(),
            frame_sp: 0x7000,
            fast_a20: None,
            vbe: vmm_devices::bochs_vbe::BochsVbe::new(8 << 20),
            has_vbe: false,
        }
    }

    /// A machine with the VESA display.
    pub fn with_vbe() -> Self {
        FakeMachine {
            has_vbe: true,
            ..FakeMachine::new()
        }
    }

    /// An interrupt frame (IP, CS, FLAGS) at 0000:frame_sp.
    pub fn stack_frame(&mut self, flags: u16) {
        let sp = u32::from(self.frame_sp);
        self.write_u16(sp, 0x7C10);
        self.write_u16(sp + 2, 0);
        self.write_u16(sp + 4, flags);
    }

    /// The FLAGS image in the frame.
    pub fn frame_flags(&mut self) -> u16 {
        let sp = u32::from(self.frame_sp);
        self.read_u16(sp + 4)
    }
}

impl Machine for FakeMachine {
    fn read(&mut self, addr: u32, buf: &mut [u8]) {
        for (i, b) in buf.iter_mut().enumerate() {
            *b = self.mem.get(addr as usize + i).copied().unwrap_or(0xFF);
        }
    }

    fn write(&mut self, addr: u32, buf: &[u8]) {
        for (i, &b) in buf.iter().enumerate() {
            if let Some(m) = self.mem.get_mut(addr as usize + i) {
                *m = b;
            }
        }
    }

    fn inb(&mut self, port: u16) -> u8 {
        match port {
            0x64 => u8::from(!self.keyboard.is_empty()),
            0x60 => self.keyboard.pop_front().unwrap_or(0),
            0x3FD => 0x60 | u8::from(!self.serial.is_empty()),
            0x3F8 => self.serial.pop_front().unwrap_or(0),
            0x3FE => 0xB0,
            0x3D5 => self.crtc[usize::from(self.crtc_index)],
            0x3DA => {
                self.attr_index = None;
                0
            }
            0x3C1 => self.attr[usize::from(self.attr_index.unwrap_or(0) & 0x1F)],
            0x3C9 => {
                let (i, c) = self.dac_read;
                let v = self.dac[usize::from(i)][c];
                self.dac_read = if c == 2 {
                    (i.wrapping_add(1), 0)
                } else {
                    (i, c + 1)
                };
                v
            }
            0x92 => self.fast_a20.unwrap_or(0xFF),
            _ => 0xFF,
        }
    }

    fn inw(&mut self, port: u16) -> u16 {
        match port {
            0x1CE | 0x1CF if self.has_vbe => self.vbe.read(port == 0x1CF),
            _ => u16::from_le_bytes([self.inb(port), self.inb(port + 1)]),
        }
    }

    fn outw(&mut self, port: u16, value: u16) {
        match port {
            0x1CE | 0x1CF if self.has_vbe => {
                self.vbe.write(port == 0x1CF, value);
            }
            _ => {
                let [lo, hi] = value.to_le_bytes();
                self.outb(port, lo);
                self.outb(port + 1, hi);
            }
        }
    }

    fn outb(&mut self, port: u16, value: u8) {
        match port {
            0x20 if value == 0x20 => self.eois += 1,
            0x40..=0x43 => self.pit_writes.push((port, value)),
            0x92 if self.fast_a20.is_some() => self.fast_a20 = Some(value & 0x02),
            0x3D4 => self.crtc_index = value,
            0x3D5 => self.crtc[usize::from(self.crtc_index)] = value,
            0x3C8 => self.dac_write = (value, 0),
            0x3C7 => self.dac_read = (value, 0),
            0x3C9 => {
                let (i, c) = self.dac_write;
                self.dac[usize::from(i)][c] = value;
                self.dac_write = if c == 2 {
                    (i.wrapping_add(1), 0)
                } else {
                    (i, c + 1)
                };
            }
            0x3C0 => match self.attr_index.take() {
                None => self.attr_index = Some(value),
                Some(i) => self.attr[usize::from(i & 0x1F)] = value,
            },
            _ => {}
        }
    }

    fn now(&self) -> (u64, u32) {
        (self.clock, 0)
    }

    fn clear_wake(&mut self) {}

    fn wait(&mut self, timeout: Duration) {
        self.waits += 1;
        std::thread::sleep(timeout);
    }

    fn log(&mut self, message: &str) {
        self.logs.push(message.to_owned());
    }
}

/// A disk image file, removed when dropped.
pub struct TempImage(pub PathBuf);

impl TempImage {
    pub fn new(bytes: &[u8]) -> Self {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::SeqCst);
        let path = std::env::temp_dir().join(format!("vmm-bios-{}-{n}.img", std::process::id()));
        std::fs::write(&path, bytes).expect("write a test image");
        TempImage(path)
    }
}

impl Drop for TempImage {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
