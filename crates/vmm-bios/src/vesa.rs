//! int 10h AX=4F00h-4F09h: the VESA BIOS Extensions (VBE 3.0's real-mode services) on the
//! Bochs/QEMU display interface at ports 0x1CE/0x1CF, as QEMU's and Bochs's VGA BIOS provide
//! them: the controller's information and mode list, each mode's information (a linear frame
//! buffer and a 64 KiB window at 0xA0000), setting and reading the mode, the window's bank,
//! the logical line length, the display start, the DAC's width and palette. Results in AX:
//! 004Fh done, 014Fh failed (or not available: no display, a mode it does not have).

use crate::cpu::Cpu;
use crate::machine::Machine;
use crate::video;

const INDEX: u16 = 0x1CE;
const DATA: u16 = 0x1CF;
const ID: u16 = 0;
const XRES: u16 = 1;
const YRES: u16 = 2;
const BPP: u16 = 3;
const ENABLE: u16 = 4;
const BANK: u16 = 5;
const VIRT_WIDTH: u16 = 6;
const VIRT_HEIGHT: u16 = 7;
const X_OFFSET: u16 = 8;
const Y_OFFSET: u16 = 9;
const MEMORY_64K: u16 = 10;
const ENABLED: u16 = 0x01;
const LFB: u16 = 0x40;
const NO_CLEAR: u16 = 0x80;

/// Where the frame buffer is (the display's own address).
pub const LFB_ADDRESS: u32 = 0xE000_0000;

const DONE: u16 = 0x004F;
const FAILED: u16 = 0x014F;

/// The modes, as (number, width, height, bits per pixel): VESA's numbers for 8, 15, 16 and 24
/// bits, and QEMU's for 32.
pub const MODES: [(u16, u16, u16, u8); 16] = [
    (0x100, 640, 400, 8),
    (0x101, 640, 480, 8),
    (0x103, 800, 600, 8),
    (0x105, 1024, 768, 8),
    (0x110, 640, 480, 15),
    (0x111, 640, 480, 16),
    (0x112, 640, 480, 24),
    (0x113, 800, 600, 15),
    (0x114, 800, 600, 16),
    (0x115, 800, 600, 24),
    (0x116, 1024, 768, 15),
    (0x117, 1024, 768, 16),
    (0x118, 1024, 768, 24),
    (0x140, 640, 480, 32),
    (0x141, 800, 600, 32),
    (0x142, 1024, 768, 32),
];

fn reg(m: &mut dyn Machine, index: u16) -> u16 {
    m.outw(INDEX, index);
    m.inw(DATA)
}

fn set_reg(m: &mut dyn Machine, index: u16, value: u16) {
    m.outw(INDEX, index);
    m.outw(DATA, value);
}

/// Whether the machine has the display (its ID register answers).
fn present(m: &mut dyn Machine) -> bool {
    (0xB0C0..=0xB0CF).contains(&reg(m, ID))
}

fn mode_of(number: u16) -> Option<(u16, u16, u16, u8)> {
    MODES.iter().copied().find(|&(n, ..)| n == number & 0x1FF)
}

fn bytes_per_pixel(bpp: u8) -> u16 {
    u16::from(bpp).div_ceil(8)
}

/// Serves AX=4Fxxh.
pub fn int10_4f(cpu: &mut Cpu, m: &mut dyn Machine) {
    let done = if !present(m) {
        false
    } else {
        match cpu.al() {
            0x00 => controller_info(cpu, m),
            0x01 => mode_info(cpu, m),
            0x02 => set_mode(cpu, m),
            0x03 => current_mode(cpu, m),
            0x05 => window(cpu, m),
            0x06 => line_length(cpu, m),
            0x07 => display_start(cpu, m),
            0x08 => dac_width(cpu),
            0x09 => palette(cpu, m),
            _ => false,
        }
    };
    cpu.set_ax(if done { DONE } else { FAILED });
}

/// 4F00h: the VbeInfoBlock at ES:DI; the mode list and the OEM string in its reserved bytes.
fn controller_info(cpu: &mut Cpu, m: &mut dyn Machine) -> bool {
    let at = Cpu::linear(cpu.es, cpu.di());
    let memory = reg(m, MEMORY_64K);
    let mut block = [0u8; 256];
    block[..4].copy_from_slice(b"VESA");
    block[4..6].copy_from_slice(&0x0300u16.to_le_bytes());
    let far = |offset: u16| -> [u8; 4] {
        let [lo, hi] = cpu.di().wrapping_add(offset).to_le_bytes();
        let [slo, shi] = cpu.es.to_le_bytes();
        [lo, hi, slo, shi]
    };
    const MODE_LIST: u16 = 0x22;
    const OEM: u16 = 0x80;
    block[6..10].copy_from_slice(&far(OEM)); // OEM string
    block[10..14].copy_from_slice(&1u32.to_le_bytes()); // the DAC can be 8 bits wide
    block[14..18].copy_from_slice(&far(MODE_LIST));
    block[18..20].copy_from_slice(&memory.to_le_bytes());
    block[20..22].copy_from_slice(&0x0100u16.to_le_bytes()); // OEM software revision
    for field in [22usize, 26, 30] {
        block[field..field + 4].copy_from_slice(&far(OEM)); // vendor, product, revision
    }
    let mut list = usize::from(MODE_LIST);
    for (number, ..) in MODES {
        block[list..list + 2].copy_from_slice(&number.to_le_bytes());
        list += 2;
    }
    block[list..list + 2].copy_from_slice(&0xFFFFu16.to_le_bytes());
    let oem = b"picovmm VBE (Bochs dispi)\0";
    block[usize::from(OEM)..usize::from(OEM) + oem.len()].copy_from_slice(oem);
    m.write(at, &block);
    true
}

/// 4F01h: the ModeInfoBlock of mode CX at ES:DI.
fn mode_info(cpu: &mut Cpu, m: &mut dyn Machine) -> bool {
    let Some((_, width, height, bpp)) = mode_of(cpu.cx()) else {
        return false;
    };
    let memory = u32::from(reg(m, MEMORY_64K)) << 16;
    let pitch = width * bytes_per_pixel(bpp);
    let pages = (memory / (u32::from(pitch) * u32::from(height))).clamp(1, 256) - 1;
    let mut b = [0u8; 256];
    let put16 =
        |b: &mut [u8; 256], at: usize, v: u16| b[at..at + 2].copy_from_slice(&v.to_le_bytes());
    put16(&mut b, 0x00, 0x009B); // supported, colour, graphics, windowed, linear
    b[0x02] = 0x07; // window A: there, readable, writable
    put16(&mut b, 0x04, 64); // granularity, KiB
    put16(&mut b, 0x06, 64); // size, KiB
    put16(&mut b, 0x08, 0xA000);
    put16(&mut b, 0x10, pitch);
    put16(&mut b, 0x12, width);
    put16(&mut b, 0x14, height);
    (b[0x16], b[0x17], b[0x18], b[0x19], b[0x1A]) = (8, 16, 1, bpp, 1);
    b[0x1B] = if bpp == 8 { 4 } else { 6 }; // packed pixels, or direct colour
    b[0x1D] = pages as u8;
    b[0x1E] = 1;
    let (r, g, bl, x) = match bpp {
        15 => ((5, 10), (5, 5), (5, 0), (1, 15)),
        16 => ((5, 11), (6, 5), (5, 0), (0, 0)),
        24 => ((8, 16), (8, 8), (8, 0), (0, 0)),
        32 => ((8, 16), (8, 8), (8, 0), (8, 24)),
        _ => ((0, 0), (0, 0), (0, 0), (0, 0)),
    };
    let masks = [r.0, r.1, g.0, g.1, bl.0, bl.1, x.0, x.1];
    b[0x1F..0x27].copy_from_slice(&masks);
    b[0x28..0x2C].copy_from_slice(&LFB_ADDRESS.to_le_bytes());
    put16(&mut b, 0x32, pitch);
    (b[0x34], b[0x35]) = (pages as u8, pages as u8);
    b[0x36..0x3E].copy_from_slice(&masks);
    m.write(Cpu::linear(cpu.es, cpu.di()), &b);
    true
}

/// 4F02h: mode BX (bit 14: the linear frame buffer; bit 15: keep the memory); a VGA mode
/// number (below 100h) sets that mode and turns the display off.
fn set_mode(cpu: &mut Cpu, m: &mut dyn Machine) -> bool {
    let number = cpu.bx() & 0x1FF;
    if number < 0x100 {
        let Some(mode) = video::Mode::from_number(number as u8) else {
            return false;
        };
        set_reg(m, ENABLE, 0);
        video::enter_mode(m, number as u8, mode, cpu.bx() & 0x8000 == 0);
        return true;
    }
    let Some((_, width, height, bpp)) = mode_of(number) else {
        return false;
    };
    set_reg(m, ENABLE, 0);
    set_reg(m, XRES, width);
    set_reg(m, YRES, height);
    set_reg(m, BPP, u16::from(bpp));
    let mut enable = ENABLED | LFB;
    if cpu.bx() & 0x8000 != 0 {
        enable |= NO_CLEAR;
    }
    set_reg(m, ENABLE, enable);
    reg(m, ENABLE) & ENABLED != 0
}

/// 4F03h: the mode in BX (with bit 14 when the display is on), or the VGA's.
fn current_mode(cpu: &mut Cpu, m: &mut dyn Machine) -> bool {
    if reg(m, ENABLE) & ENABLED == 0 {
        cpu.set_bx(u16::from(m.read_u8(crate::bda::VIDEO_MODE) & 0x7F));
        return true;
    }
    let (w, h, bpp) = (reg(m, XRES), reg(m, YRES), reg(m, BPP));
    match MODES
        .iter()
        .find(|&&(_, mw, mh, mb)| (mw, mh, u16::from(mb)) == (w, h, bpp))
    {
        Some(&(number, ..)) => {
            cpu.set_bx(number | 0x4000);
            true
        }
        None => false,
    }
}

/// 4F05h: BH=0 shows bank DX in the window, BH=1 says which in DX.
fn window(cpu: &mut Cpu, m: &mut dyn Machine) -> bool {
    if cpu.bl() != 0 {
        return false; // there is no window B
    }
    match cpu.bh() {
        0 => set_reg(m, BANK, cpu.dx()),
        1 => {
            let bank = reg(m, BANK);
            cpu.set_dx(bank);
        }
        _ => return false,
    }
    true
}

/// 4F06h: the logical line: BL=0 set in pixels (CX), 1 get, 2 set in bytes, 3 the largest.
fn line_length(cpu: &mut Cpu, m: &mut dyn Machine) -> bool {
    if reg(m, ENABLE) & ENABLED == 0 {
        return false;
    }
    let bytes = bytes_per_pixel(reg(m, BPP) as u8).max(1);
    match cpu.bl() {
        0 => set_reg(m, VIRT_WIDTH, cpu.cx()),
        2 => set_reg(m, VIRT_WIDTH, cpu.cx() / bytes),
        1 | 3 => {}
        _ => return false,
    }
    let memory = u32::from(reg(m, MEMORY_64K)) << 16;
    let pixels = if cpu.bl() == 3 {
        (memory / u32::from(reg(m, YRES).max(1)) / u32::from(bytes)).min(0xFFFF) as u16
    } else {
        reg(m, VIRT_WIDTH)
    };
    cpu.set_bx(pixels.wrapping_mul(bytes));
    cpu.set_cx(pixels);
    cpu.set_dx(reg(m, VIRT_HEIGHT));
    true
}

/// 4F07h: BL=0 or 80h shows from pixel CX of line DX; BL=1 says where (CX, DX).
fn display_start(cpu: &mut Cpu, m: &mut dyn Machine) -> bool {
    match cpu.bl() {
        0x00 | 0x80 => {
            set_reg(m, X_OFFSET, cpu.cx());
            set_reg(m, Y_OFFSET, cpu.dx());
        }
        0x01 => {
            cpu.set_bh(0);
            let (x, y) = (reg(m, X_OFFSET), reg(m, Y_OFFSET));
            cpu.set_cx(x);
            cpu.set_dx(y);
        }
        _ => return false,
    }
    true
}

/// 4F08h: the DAC is 6 bits wide (BL=0 asks for a width: it stays 6; BL=1 asks which).
fn dac_width(cpu: &mut Cpu) -> bool {
    if cpu.bl() > 1 {
        return false;
    }
    cpu.set_bh(6);
    true
}

/// 4F09h: BL=0/80h sets CX DAC entries from DX out of ES:DI (blue, green, red, 0 each), BL=1
/// reads them there.
fn palette(cpu: &mut Cpu, m: &mut dyn Machine) -> bool {
    let at = Cpu::linear(cpu.es, cpu.di());
    let (first, count) = (cpu.dx(), cpu.cx());
    if u32::from(first) + u32::from(count) > 256 {
        return false;
    }
    match cpu.bl() {
        0x00 | 0x80 => {
            m.outb(0x3C8, first as u8);
            for i in 0..u32::from(count) {
                let mut entry = [0u8; 4];
                m.read(at + i * 4, &mut entry);
                for c in [entry[2], entry[1], entry[0]] {
                    m.outb(0x3C9, c & 0x3F);
                }
            }
        }
        0x01 => {
            m.outb(0x3C7, first as u8);
            for i in 0..u32::from(count) {
                let (r, g, b) = (m.inb(0x3C9), m.inb(0x3C9), m.inb(0x3C9));
                m.write(at + i * 4, &[b, g, r, 0]);
            }
        }
        _ => return false,
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::FakeMachine;

    fn call(m: &mut FakeMachine, ax: u16, bx: u16, cx: u16, es_di: (u16, u16)) -> Cpu {
        let mut cpu = Cpu {
            eax: u32::from(ax),
            ebx: u32::from(bx),
            ecx: u32::from(cx),
            edi: u32::from(es_di.1),
            es: es_di.0,
            ..Cpu::default()
        };
        int10_4f(&mut cpu, m);
        cpu
    }

    #[test]
    fn test_controller_info_lists_the_modes_in_the_block() {
        let mut m = FakeMachine::with_vbe();
        let cpu = call(&mut m, 0x4F00, 0, 0, (0x0050, 0x0000));
        assert_eq!(cpu.ax(), DONE);
        assert_eq!(&m.mem[0x500..0x504], b"VESA");
        assert_eq!(m.read_u16(0x504), 0x0300);
        let list = m.read_u16(0x50E) as u32 + (m.read_u16(0x510) as u32) * 16;
        let modes: Vec<u16> = (0..)
            .map(|i| m.read_u16(list + 2 * i))
            .take_while(|&n| n != 0xFFFF)
            .collect();
        assert!(modes.contains(&0x141), "{modes:x?}");
        assert_eq!(m.read_u16(0x512), 128); // 8 MiB in 64 KiB blocks
    }

    #[test]
    fn test_mode_info_and_set_mode_800x600x32() {
        let mut m = FakeMachine::with_vbe();
        let cpu = call(&mut m, 0x4F01, 0, 0x141, (0x0060, 0x0000));
        assert_eq!(cpu.ax(), DONE);
        assert_eq!(
            (m.read_u16(0x612), m.read_u16(0x614), m.mem[0x619]),
            (800, 600, 32)
        );
        assert_eq!(m.read_u16(0x610), 3200);
        assert_eq!(m.read_u32(0x628), LFB_ADDRESS);
        assert_eq!(call(&mut m, 0x4F02, 0x4141, 0, (0, 0)).ax(), DONE);
        let mode = m.vbe.mode().expect("on");
        assert_eq!((mode.width, mode.height, mode.bpp), (800, 600, 32));
        assert_eq!(call(&mut m, 0x4F03, 0, 0, (0, 0)).bx(), 0x4141);
        assert_eq!(call(&mut m, 0x4F02, 0x0003, 0, (0, 0)).ax(), DONE);
        assert_eq!(m.vbe.mode(), None);
    }

    #[test]
    fn test_unknown_modes_and_a_machine_without_the_display_fail() {
        let mut m = FakeMachine::with_vbe();
        assert_eq!(call(&mut m, 0x4F01, 0, 0x1FF, (0x60, 0)).ax(), FAILED);
        assert_eq!(call(&mut m, 0x4F02, 0x4123, 0, (0, 0)).ax(), FAILED);
        let mut bare = FakeMachine::new();
        assert_eq!(call(&mut bare, 0x4F00, 0, 0, (0x50, 0)).ax(), FAILED);
    }

    #[test]
    fn test_bank_and_display_start() {
        let mut m = FakeMachine::with_vbe();
        call(&mut m, 0x4F02, 0x4101, 0, (0, 0));
        let mut cpu = Cpu {
            eax: 0x4F05,
            edx: 3,
            ..Cpu::default()
        };
        int10_4f(&mut cpu, &mut m);
        assert_eq!((cpu.ax(), m.vbe.bank()), (DONE, 3));
        let mut cpu = Cpu {
            eax: 0x4F07,
            ecx: 0,
            edx: 10,
            ..Cpu::default()
        };
        int10_4f(&mut cpu, &mut m);
        assert_eq!(m.vbe.mode().map(|m| m.start), Some(6400));
    }
}
