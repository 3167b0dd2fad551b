//! picovmm's BIOS: the PC firmware services boot sectors call (int 10h video, 13h disk, 16h
//! keyboard, 1Ah time, 15h system, 11h/12h/14h/18h/19h), written in Rust and reached from
//! real-mode stubs in a ROM at F000:0000 through one port access each.
//!
//! This crate knows no KVM: a service works on a [`Cpu`] (the caller's registers) and a
//! [`Machine`] (guest memory, the port bus, time, a way to wait), so every service is
//! unit-tested with plain arrays. The VMM calls [`Bios::post`] before the guest starts and
//! [`Bios::call`] on every trap.
//!
//! ```text
//!   int 16h ─► IVT[16h] = F000:1000+8*16h ─► out 0xEF, al ─► Bios::call ─► keyboard::int16
//!                                             iret ◄──── AX = key, ZF/CF in the frame
//! ```
#![deny(missing_docs)]

pub mod bda;
pub mod clock;
pub mod cpu;
pub mod disk;
pub mod font;
pub mod graphics;
pub mod int13;
pub mod keyboard;
pub mod machine;
pub mod mouse;
mod packed;
pub mod rom;
pub mod system;
#[cfg(test)]
mod testing;
pub mod vesa;
pub mod vga_modes;
pub mod video;

use std::collections::HashSet;
use std::time::{Duration, Instant};

pub use cpu::Cpu;
pub use disk::{Disk, DriveKind, WriteMode};
pub use int13::Drive;
pub use keyboard::SerialKeys;
pub use machine::Machine;
pub use system::RamRange;

use keyboard::Int16;
use rom::Trap;
use system::{Int14, Int15};

/// A function the BIOS does not have: the caller gets CF set, the user a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unsupported;

/// How long one wait lasts before the service looks again (a key, a delay's end): short
/// enough for stop requests, long enough to cost nothing.
const WAIT_SLICE: Duration = Duration::from_millis(20);

/// The machine the BIOS serves.
pub struct BiosConfig {
    /// The guest's RAM.
    pub ram: Vec<RamRange>,
    /// Its drives, numbered.
    pub drives: Vec<Drive>,
    /// The serial ports' bases (COM1 first), for the BDA and int 14h.
    pub serial_ports: Vec<u16>,
    /// Whether bytes at COM1 become int 16h keys.
    pub serial_keys: SerialKeys,
    /// A PS/2 mouse is on the i8042's auxiliary port.
    pub mouse: bool,
}

/// What the VMM does after a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Go on running the guest.
    Resume,
    /// The guest turned the machine off (APM): the run ends as halted.
    PowerOff,
    /// The guest jumped to the reset vector: the run ends as a reset.
    Reset,
    /// int 18h: nothing to boot.
    NoBootDisk,
}

/// Why a drive cannot be booted.
#[derive(Debug, thiserror::Error)]
pub enum BootError {
    /// The machine has no drive.
    #[error("there is no drive to boot")]
    NoDrive,
    /// Sector 0 could not be read.
    #[error("cannot read the boot sector of drive {0:#04x}")]
    Unreadable(u8),
}

/// The BIOS's state between calls.
pub struct Bios {
    ram: Vec<RamRange>,
    drives: Vec<Drive>,
    serial_ports: Vec<u16>,
    serial_keys: SerialKeys,
    mouse: bool,
    /// (vector, AH) pairs already reported as not implemented.
    reported: HashSet<(u8, u8)>,
    /// The end of the int 15h AH=86h wait in progress.
    delay: Option<Instant>,
    /// The time-out of the int 14h receive in progress.
    serial_deadline: Option<Instant>,
}

impl Bios {
    /// A BIOS for `config`'s machine.
    pub fn new(config: BiosConfig) -> Bios {
        Bios {
            ram: config.ram,
            drives: config.drives,
            serial_ports: config.serial_ports,
            serial_keys: config.serial_keys,
            mouse: config.mouse,
            reported: HashSet::new(),
            delay: None,
            serial_deadline: None,
        }
    }

    /// Power-on self test, as far as the guest can see it: the ROM, the vector table, the BIOS
    /// Data Area, video mode 3, the PIC (vectors 08h and 70h) and the PIT at 18.2 Hz.
    pub fn post(&mut self, m: &mut dyn Machine) {
        rom::load(m);
        self.set_vectors(m);
        m.write(bda::BASE, &[0u8; 0x100]);
        for (i, &port) in self.serial_ports.iter().take(4).enumerate() {
            m.write_u16(bda::COM_PORTS + 2 * i as u32, port);
            m.write_u8(bda::COM_TIMEOUT + i as u32, 1);
        }
        let floppies = self.drives.iter().filter(|d| d.number < 0x80).count() as u16;
        let hards = self.drives.iter().filter(|d| d.number >= 0x80).count() as u8;
        let serials = self.serial_ports.len().min(4) as u16;
        let mut equipment = 0x0002 | 0x0020 | (serials << 9) | (u16::from(self.mouse) << 2);
        if floppies > 0 {
            equipment |= 0x0001 | ((floppies.min(2) - 1) << 6);
        }
        m.write_u16(bda::EQUIPMENT, equipment);
        let low = self
            .ram
            .iter()
            .find(|r| r.base == 0)
            .map_or(0, |r| r.size.min(0xA_0000));
        m.write_u16(bda::MEMORY_KB, (low / 1024) as u16);
        m.write_u16(bda::KBD_HEAD, bda::KBD_BUFFER);
        m.write_u16(bda::KBD_TAIL, bda::KBD_BUFFER);
        m.write_u16(bda::KBD_START, bda::KBD_BUFFER);
        m.write_u16(bda::KBD_END, bda::KBD_BUFFER_END);
        m.write_u8(bda::KBD_MODE, 0x10);
        m.write_u8(bda::HARD_DISKS, hards);
        let (secs, nanos) = m.now();
        m.write_u32(bda::TICKS, clock::ticks_at(secs % 86_400, nanos));
        let mode3 = video::Mode::Text {
            columns: 80,
            rows: video::ROWS,
        };
        video::enter_mode(m, 3, mode3, true);
        // The interrupt controllers: ICW1-4 with the PC's vector bases, then the masks (the
        // timer, the keyboard and the cascade on).
        for (port, base, icw3, mask) in [(0x20, 0x08, 0x04, 0xF8), (0xA0, 0x70, 0x02, 0xFF)] {
            m.outb(port, 0x11);
            m.outb(port + 1, base);
            m.outb(port + 1, icw3);
            m.outb(port + 1, 0x01);
            m.outb(port + 1, mask);
        }
        // PIT channel 0, mode 2, count 65536: 18.2 Hz.
        m.outb(0x43, 0x34);
        m.outb(0x40, 0);
        m.outb(0x40, 0);
    }

    fn set_vectors(&self, m: &mut dyn Machine) {
        let mut ivt = [0u8; 1024];
        let mut set = |v: u8, segment: u16, offset: u16| {
            let at = usize::from(v) * 4;
            ivt[at..at + 2].copy_from_slice(&offset.to_le_bytes());
            ivt[at + 2..at + 4].copy_from_slice(&segment.to_le_bytes());
        };
        for v in 0..=255u8 {
            set(v, rom::SEGMENT, rom::stub(v));
        }
        set(0x08, rom::SEGMENT, rom::TIMER_IRQ);
        for irq in 1..=15 {
            set(rom::irq_vector(irq), rom::SEGMENT, rom::irq_stub(irq));
        }
        set(rom::irq_vector(12), rom::SEGMENT, rom::MOUSE_IRQ);
        for v in [0x02, 0x05, 0x1C, 0x4A] {
            set(v, rom::SEGMENT, rom::DUMMY_IRET);
        }
        set(0x1E, rom::SEGMENT, rom::DISKETTE_PARAMETERS);
        set(0x1F, rom::SEGMENT, rom::FONT_8X8_HIGH);
        set(0x43, rom::SEGMENT, rom::FONT_8X8);
        // Tables picovmm does not have, and the vectors left to programs, are null as on a PC.
        for v in [0x1D, 0x41, 0x46].into_iter().chain(0x60..=0x67) {
            set(v, 0, 0);
        }
        m.write(0, &ivt);
    }

    /// Loads the first drive's sector 0 at 0000:7C00 and points the CPU there, DL = the drive,
    /// as a PC BIOS boots. Returns whether the sector ends with the 0x55AA signature.
    pub fn boot(&mut self, cpu: &mut Cpu, m: &mut dyn Machine) -> Result<bool, BootError> {
        let drive = self.drives.first().ok_or(BootError::NoDrive)?;
        let mut sector = [0u8; 512];
        drive
            .disk
            .read_sector(0, &mut sector)
            .map_err(|_| BootError::Unreadable(drive.number))?;
        m.write(0x7C00, &sector);
        cpu.cs = 0;
        cpu.ip = 0x7C00;
        cpu.ds = 0;
        cpu.es = 0;
        cpu.ss = 0;
        cpu.esp = 0x7C00;
        cpu.set_dl(drive.number);
        Ok(sector[510..] == [0x55, 0xAA])
    }

    /// Serves the trap the stub at CS:IP-2 made. A trap from anywhere else is ignored.
    pub fn call(&mut self, cpu: &mut Cpu, m: &mut dyn Machine) -> Outcome {
        match Trap::at(cpu.trap_address()) {
            Some(Trap::TimerTick) => clock::tick(m),
            Some(Trap::MouseIrq) => mouse::irq12(cpu, m),
            Some(Trap::Reset) => return Outcome::Reset,
            Some(Trap::Vector(v)) => return self.vector(v, cpu, m),
            None => {}
        }
        Outcome::Resume
    }

    fn vector(&mut self, v: u8, cpu: &mut Cpu, m: &mut dyn Machine) -> Outcome {
        let ah = cpu.ah();
        let result = match v {
            0x08 => {
                clock::tick(m);
                Ok(())
            }
            0x09 => {
                keyboard::irq1(m);
                Ok(())
            }
            0x0A..=0x0F => {
                m.outb(0x20, 0x20);
                Ok(())
            }
            0x70..=0x77 => {
                if v == 0x70 {
                    // The RTC's interrupt: register C read acknowledges it, as a PC BIOS does.
                    m.outb(0x70, 0x0C);
                    m.inb(0x71);
                }
                m.outb(0xA0, 0x20);
                m.outb(0x20, 0x20);
                Ok(())
            }
            0x10 => video::int10(cpu, m),
            0x11 => {
                cpu.set_ax(m.read_u16(bda::EQUIPMENT));
                Ok(())
            }
            0x12 => {
                cpu.set_ax(m.read_u16(bda::MEMORY_KB));
                Ok(())
            }
            0x13 => {
                int13::int13(cpu, m, &mut self.drives);
                return Outcome::Resume;
            }
            0x14 => return self.serial(v, cpu, m),
            0x15 => return self.system(v, cpu, m),
            0x16 => {
                m.clear_wake();
                match keyboard::int16(cpu, m, self.serial_keys) {
                    Ok(Int16::Done) => Ok(()),
                    Ok(Int16::Wait) => {
                        m.wait(WAIT_SLICE);
                        retry(cpu, v);
                        return Outcome::Resume;
                    }
                    Err(e) => Err(e),
                }
            }
            0x18 => return Outcome::NoBootDisk,
            0x19 => {
                return match self.boot(cpu, m) {
                    Ok(_) => Outcome::Resume,
                    Err(_) => Outcome::NoBootDisk,
                }
            }
            // The PCI BIOS (AH=B1h): not present, as a PC without one says it (CF, AH=81h).
            0x1A if ah == 0xB1 => {
                cpu.set_ah(0x81);
                cpu.set_carry(m, true);
                return Outcome::Resume;
            }
            0x1A => clock::int1a(cpu, m),
            // No printer: every function answers "time-out" (AH bit 0), as for a port not there.
            0x17 => {
                cpu.set_ah(0x01);
                return Outcome::Resume;
            }
            0x00..=0x07 => {
                self.report(
                    m,
                    v,
                    0,
                    &format!(
                        "the guest raised int {v:02X}h ({}) and has no handler for it",
                        exception_name(v)
                    ),
                );
                return Outcome::Resume;
            }
            _ => Err(Unsupported),
        };
        if result.is_err() {
            self.unsupported(v, ah, cpu, m);
        }
        Outcome::Resume
    }

    fn serial(&mut self, v: u8, cpu: &mut Cpu, m: &mut dyn Machine) -> Outcome {
        m.clear_wake();
        let now = Instant::now();
        let timed_out = self.serial_deadline.is_some_and(|d| now >= d);
        match system::int14(cpu, m, timed_out) {
            Ok(Int14::Done) => self.serial_deadline = None,
            Ok(Int14::Wait) => {
                let index = u32::from(cpu.dx().min(3));
                let seconds = u64::from(m.read_u8(bda::COM_TIMEOUT + index).max(1));
                let deadline = *self
                    .serial_deadline
                    .get_or_insert(now + Duration::from_secs(seconds));
                m.wait(WAIT_SLICE.min(deadline.saturating_duration_since(now)));
                retry(cpu, v);
            }
            Err(_) => {
                let ah = cpu.ah();
                self.unsupported(v, ah, cpu, m);
            }
        }
        Outcome::Resume
    }

    fn system(&mut self, v: u8, cpu: &mut Cpu, m: &mut dyn Machine) -> Outcome {
        let ah = cpu.ah();
        if ah == 0x86 {
            if let Some(deadline) = self.delay {
                m.clear_wake();
                let now = Instant::now();
                if now >= deadline {
                    self.delay = None;
                    cpu.set_ah(0);
                    cpu.set_carry(m, false);
                    return Outcome::Resume;
                }
                m.wait(WAIT_SLICE.min(deadline - now));
                retry(cpu, v);
                return Outcome::Resume;
            }
        }
        if ah == 0xC2 {
            mouse::int15_c2(cpu, m, self.mouse);
            return Outcome::Resume;
        }
        match system::int15(cpu, m, &self.ram) {
            Ok(Int15::Done) => {}
            Ok(Int15::WaitUntil(deadline)) => {
                self.delay = Some(deadline);
                retry(cpu, v);
            }
            Ok(Int15::PowerOff) => return Outcome::PowerOff,
            Err(_) => self.unsupported(v, ah, cpu, m),
        }
        Outcome::Resume
    }

    /// A function the BIOS does not have: CF set, AH = 86h for int 15h, and one message per
    /// function.
    fn unsupported(&mut self, v: u8, ah: u8, cpu: &mut Cpu, m: &mut dyn Machine) {
        let text = match v {
            0x10 if ah == 0x00 => format!(
                "int 10h AH=00h (set video mode {:02X}h) is not implemented; picovmm has modes 00h-03h and 13h",
                cpu.al() & 0x7F
            ),
            _ => format!("int {v:02X}h AH={ah:02X}h is not implemented"),
        };
        let key_ah = if v == 0x10 && ah == 0x00 {
            cpu.al()
        } else {
            ah
        };
        self.report(m, v, key_ah, &text);
        if v == 0x15 {
            cpu.set_ah(0x86);
        }
        cpu.set_carry(m, true);
    }

    fn report(&mut self, m: &mut dyn Machine, v: u8, ah: u8, text: &str) {
        if self.reported.len() < MAX_REPORTED && self.reported.insert((v, ah)) {
            m.log(text);
            if self.reported.len() == MAX_REPORTED {
                m.log(&format!(
                    "{MAX_REPORTED} BIOS functions the BIOS does not have were called; not reporting further ones"
                ));
            }
        }
    }
}

/// How many distinct unimplemented functions are reported, so that a guest sweeping every
/// vector cannot flood the log.
const MAX_REPORTED: usize = 64;

/// Sends the guest back to the start of the vector's stub: pending interrupts are taken, then
/// the call is made again with the same registers.
fn retry(cpu: &mut Cpu, v: u8) {
    cpu.cs = rom::SEGMENT;
    cpu.ip = rom::stub(v);
}

fn exception_name(v: u8) -> &'static str {
    match v {
        0 => "divide error",
        1 => "single step",
        2 => "NMI",
        3 => "breakpoint",
        4 => "overflow",
        5 => "print screen / BOUND",
        6 => "invalid opcode",
        _ => "no coprocessor",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::FakeMachine;

    fn bios() -> Bios {
        Bios::new(BiosConfig {
            ram: vec![RamRange {
                base: 0,
                size: 0xA_0000,
            }],
            drives: Vec::new(),
            serial_ports: vec![0x3F8],
            mouse: false,
            serial_keys: SerialKeys::On(0x3F8),
        })
    }

    /// The CPU as it is when `int v` reached the stub (IP past the `out`), with an interrupt
    /// frame on the stack.
    fn at_stub(m: &mut FakeMachine, v: u8, ax: u16) -> Cpu {
        m.stack_frame(0x0202);
        Cpu {
            eax: ax.into(),
            cs: rom::SEGMENT,
            ip: rom::stub(v) + rom::STUB_OUT + 2,
            esp: u32::from(m.frame_sp),
            ..Cpu::default()
        }
    }

    #[test]
    fn test_post_points_every_vector_into_the_rom() {
        let mut m = FakeMachine::new();
        bios().post(&mut m);
        assert_eq!(
            m.read_u32(0x10 * 4),
            0xF000_0000 | u32::from(rom::stub(0x10))
        );
        assert_eq!(
            m.read_u32(0x08 * 4),
            0xF000_0000 | u32::from(rom::TIMER_IRQ)
        );
        assert_eq!(m.read_u32(0x60 * 4), 0);
        assert_eq!(m.read_u16(bda::MEMORY_KB), 640);
        assert_eq!(m.read_u16(bda::COM_PORTS), 0x3F8);
        assert_eq!(m.read_u8(bda::VIDEO_MODE), 3);
        assert_eq!(m.read_u16(bda::EQUIPMENT) & 0x0E00, 0x0200);
        assert_eq!(m.mem[0xF_FFFE], 0xFC);
        assert_eq!(m.pit_writes, vec![(0x43, 0x34), (0x40, 0), (0x40, 0)]);
    }

    #[test]
    fn test_unimplemented_function_sets_carry_and_is_reported_once() {
        let mut m = FakeMachine::new();
        let mut b = bios();
        for _ in 0..3 {
            let mut cpu = at_stub(&mut m, 0x10, 0x1B00);
            assert_eq!(b.call(&mut cpu, &mut m), Outcome::Resume);
            assert_ne!(m.frame_flags() & cpu::CF, 0);
        }
        assert_eq!(m.logs, vec!["int 10h AH=1Bh is not implemented".to_owned()]);
        let mut cpu = at_stub(&mut m, 0x21, 0x0900);
        b.call(&mut cpu, &mut m);
        assert_eq!(m.logs[1], "int 21h AH=09h is not implemented");
    }

    #[test]
    fn test_what_a_pc_lacks_answers_as_missing_without_a_note() {
        let mut m = FakeMachine::new();
        let mut b = bios();
        let pci = at_stub(&mut m, 0x1A, 0xB101);
        let mut pci = pci;
        b.call(&mut pci, &mut m);
        let pci_flags = m.frame_flags();
        let mut printer = at_stub(&mut m, 0x17, 0x0200);
        b.call(&mut printer, &mut m);
        let mut ebda = at_stub(&mut m, 0x15, 0xC100);
        b.call(&mut ebda, &mut m);
        assert_eq!(
            (
                pci.ah(),
                pci_flags & cpu::CF != 0,
                printer.ah(),
                ebda.ah(),
                m.logs.len()
            ),
            (0x81, true, 0x01, 0x86, 0)
        );
    }

    #[test]
    fn test_the_mouse_services_without_a_mouse_answer_86h() {
        let mut m = FakeMachine::new();
        let mut b = bios();
        let mut cpu = at_stub(&mut m, 0x15, 0xC205);
        b.call(&mut cpu, &mut m);
        assert_eq!((cpu.ah(), m.frame_flags() & cpu::CF != 0), (0x86, true));
    }

    #[test]
    fn test_waiting_for_a_key_retries_through_the_stub() {
        let mut m = FakeMachine::new();
        let mut b = bios();
        b.post(&mut m);
        let mut cpu = at_stub(&mut m, 0x16, 0x0000);
        b.call(&mut cpu, &mut m);
        assert_eq!(cpu.ip, rom::stub(0x16));
        assert_eq!(m.waits, 1);
        m.serial.push_back(b'q');
        let mut cpu = at_stub(&mut m, 0x16, 0x0000);
        b.call(&mut cpu, &mut m);
        assert_eq!(cpu.ax(), 0x1071);
        assert_eq!(cpu.ip, rom::stub(0x16) + rom::STUB_OUT + 2);
    }

    #[test]
    fn test_delay_waits_until_its_deadline() {
        let mut m = FakeMachine::new();
        let mut b = bios();
        // 30 ms.
        let mut cpu = at_stub(&mut m, 0x15, 0x8600);
        cpu.set_dx(30_000);
        let start = Instant::now();
        b.call(&mut cpu, &mut m);
        let mut rounds = 0;
        while cpu.ip == rom::stub(0x15) {
            cpu.ip = rom::stub(0x15) + rom::STUB_OUT + 2;
            b.call(&mut cpu, &mut m);
            rounds += 1;
            assert!(rounds < 1000, "the wait never ends");
        }
        assert!(start.elapsed() >= Duration::from_millis(30));
    }

    #[test]
    fn test_traps_from_outside_the_stubs_are_ignored() {
        let mut m = FakeMachine::new();
        let mut cpu = Cpu {
            cs: 0,
            ip: 0x7C02,
            eax: 0x0E41,
            ..Cpu::default()
        };
        assert_eq!(bios().call(&mut cpu, &mut m), Outcome::Resume);
        assert_eq!(cpu.ax(), 0x0E41);
    }
}
