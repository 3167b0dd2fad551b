//! int 11h, 12h (equipment, memory), int 14h (COM1) and int 15h (system services: waits, the
//! memory map, APM power-off, A20, the configuration table, block moves).

use std::time::{Duration, Instant};

use crate::bda;
use crate::cpu::Cpu;
use crate::machine::Machine;
use crate::rom;
use crate::Unsupported;

/// A RAM region as the BIOS reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RamRange {
    /// Guest-physical base.
    pub base: u64,
    /// Bytes.
    pub size: u64,
}

/// What an int 15h call leads to beyond its registers.
#[derive(Debug, PartialEq, Eq)]
pub enum Int15 {
    /// Answered.
    Done,
    /// AH=86h: wait until the deadline, then answer.
    WaitUntil(Instant),
    /// APM: the guest turned the machine off.
    PowerOff,
}

/// E820 entry types.
const E820_RAM: u32 = 1;
const E820_RESERVED: u32 = 2;
/// "SMAP".
const SMAP: u32 = 0x534D_4150;

/// The E820 map: RAM below the video window (less the last KiB... none: picovmm has no EBDA),
/// the BIOS ROM reserved, RAM above 1 MiB.
pub fn e820_map(ram: &[RamRange]) -> Vec<(u64, u64, u32)> {
    let mut map: Vec<(u64, u64, u32)> = ram.iter().map(|r| (r.base, r.size, E820_RAM)).collect();
    map.push((u64::from(rom::BASE), u64::from(rom::SIZE), E820_RESERVED));
    map.sort_by_key(|e| e.0);
    map
}

/// Serves int 15h.
pub fn int15(cpu: &mut Cpu, m: &mut dyn Machine, ram: &[RamRange]) -> Result<Int15, Unsupported> {
    let ok = |cpu: &mut Cpu, m: &mut dyn Machine| {
        cpu.set_ah(0);
        cpu.set_carry(m, false);
    };
    match cpu.ah() {
        0x24 => {
            if cpu.al() > 0x03 {
                return Err(Unsupported);
            }
            if a20(cpu, m) {
                ok(cpu, m);
            } else {
                cpu.set_ah(0x86);
                cpu.set_carry(m, true);
            }
        }
        0x4F => cpu.set_carry(m, true), // keyboard intercept: process the key
        // Probes of what a PC without the feature lacks: an external-event wait (41h), an
        // extended BIOS data area (C1h), EISA (D8h). Answered "not supported" without a note.
        0x41 | 0xC1 | 0xD8 => {
            cpu.set_ah(0x86);
            cpu.set_carry(m, true);
        }
        0x53 => return apm(cpu, m),
        0x86 => {
            // Registers stay as they are: the call is made again until the deadline.
            let micros = (u64::from(cpu.cx()) << 16) | u64::from(cpu.dx());
            return Ok(Int15::WaitUntil(
                Instant::now() + Duration::from_micros(micros),
            ));
        }
        0x87 => {
            move_block(cpu, m);
            ok(cpu, m);
        }
        0x88 => {
            let kb = extended_kb(ram, 1 << 20, u64::MAX).min(0xFFFF);
            cpu.set_ax(kb as u16);
            cpu.set_carry(m, false);
        }
        0x90 | 0x91 => ok(cpu, m),
        0xC0 => {
            cpu.es = rom::SEGMENT;
            cpu.set_bx(rom::CONFIG_TABLE);
            ok(cpu, m);
        }
        0xE8 if cpu.al() == 0x01 => {
            let low = extended_kb(ram, 1 << 20, 16 << 20).min(0x3C00) as u16;
            let high = (extended_kb(ram, 16 << 20, 4 << 30) / 64).min(0xFFFF) as u16;
            cpu.set_ax(low);
            cpu.set_cx(low);
            cpu.set_bx(high);
            cpu.set_dx(high);
            cpu.set_carry(m, false);
        }
        0xE8 if cpu.al() == 0x20 && cpu.edx == SMAP => {
            let map = e820_map(ram);
            let index = cpu.ebx as usize;
            let Some(&(base, size, kind)) = map.get(index) else {
                cpu.set_ah(0x86);
                cpu.set_carry(m, true);
                return Ok(Int15::Done);
            };
            let at = Cpu::linear(cpu.es, cpu.di());
            m.write(at, &base.to_le_bytes());
            m.write(at + 8, &size.to_le_bytes());
            m.write_u32(at + 16, kind);
            cpu.eax = SMAP;
            cpu.ecx = 20;
            cpu.ebx = if index + 1 < map.len() {
                index as u32 + 1
            } else {
                0
            };
            cpu.set_carry(m, false);
        }
        _ => return Err(Unsupported),
    }
    Ok(Int15::Done)
}

/// KiB of RAM in [from, to).
fn extended_kb(ram: &[RamRange], from: u64, to: u64) -> u64 {
    ram.iter()
        .map(|r| {
            let start = r.base.max(from);
            let end = (r.base + r.size).min(to);
            end.saturating_sub(start) / 1024
        })
        .sum()
}

/// AH=87h: copies CX words between the 24-bit bases of the descriptors at ES:SI+10h and +18h
/// (what the BIOS does by entering protected mode; picovmm copies directly).
fn move_block(cpu: &mut Cpu, m: &mut dyn Machine) {
    let gdt = Cpu::linear(cpu.es, cpu.si());
    let base = |m: &mut dyn Machine, at: u32| {
        let mut d = [0u8; 8];
        m.read(at, &mut d);
        u32::from_le_bytes([d[2], d[3], d[4], d[7]])
    };
    let (from, to) = (base(m, gdt + 0x10), base(m, gdt + 0x18));
    let mut data = vec![0u8; usize::from(cpu.cx()) * 2];
    m.read(from, &mut data);
    m.write(to, &data);
}

/// AH=53h: APM 1.2, real-mode interface: installation check, connect, driver version, power
/// states (off ends the run as halted).
fn apm(cpu: &mut Cpu, m: &mut dyn Machine) -> Result<Int15, Unsupported> {
    match cpu.al() {
        0x00 => {
            cpu.set_ax(0x0102);
            cpu.set_bx(0x504D); // "PM"
            cpu.set_cx(0x0000);
        }
        0x01 | 0x04 | 0x08 | 0x0D | 0x0F => cpu.set_ah(0),
        0x0E => cpu.set_ax(0x0102),
        0x07 if cpu.cx() == 0x0003 => return Ok(Int15::PowerOff),
        0x07 => cpu.set_ah(0),
        _ => return Err(Unsupported),
    }
    cpu.set_carry(m, false);
    Ok(Int15::Done)
}

/// What an int 14h call leads to.
#[derive(Debug, PartialEq, Eq)]
pub enum Int14 {
    /// Answered.
    Done,
    /// AH=02h found no byte: wait (until the time-out) and ask again.
    Wait,
}

/// Serves int 14h for the ports in the BDA (COM1 first). `timed_out`: a receive has waited
/// its port's time-out.
pub fn int14(cpu: &mut Cpu, m: &mut dyn Machine, timed_out: bool) -> Result<Int14, Unsupported> {
    let index = u32::from(cpu.dx().min(3));
    let port = m.read_u16(bda::COM_PORTS + 2 * index);
    if port == 0 || cpu.dx() > 3 {
        cpu.set_ah(0x80);
        return Ok(Int14::Done);
    }
    match cpu.ah() {
        0x00 => {
            // AL: baud (bits 5-7), parity, stop bits, word length, as the PC BIOS takes them.
            const DIVISORS: [u16; 8] = [0x417, 0x300, 0x180, 0xC0, 0x60, 0x30, 0x18, 0x0C];
            let divisor = DIVISORS[usize::from(cpu.al() >> 5)];
            m.outb(port.wrapping_add(3), 0x80);
            m.outb(port, divisor as u8);
            m.outb(port.wrapping_add(1), (divisor >> 8) as u8);
            m.outb(port.wrapping_add(3), cpu.al() & 0x1F);
            status(cpu, m, port);
        }
        0x01 => {
            m.outb(port, cpu.al());
            let lsr = m.inb(port.wrapping_add(5));
            cpu.set_ah(lsr);
        }
        0x02 => {
            let lsr = m.inb(port.wrapping_add(5));
            if lsr & 0x01 != 0 {
                let byte = m.inb(port);
                cpu.set_al(byte);
                cpu.set_ah(lsr & 0x1E);
            } else if timed_out {
                cpu.set_ah(0x80 | (lsr & 0x1E));
            } else {
                return Ok(Int14::Wait);
            }
        }
        0x03 => status(cpu, m, port),
        _ => return Err(Unsupported),
    }
    Ok(Int14::Done)
}

/// Port 0x92, where the BIOS switches the A20 gate (fast A20).
const FAST_A20: u16 = 0x92;
const FAST_A20_GATE: u8 = 0x02;
const FAST_A20_RESET: u8 = 0x01;

/// int 15h AX=2400h-2403h through port 0x92: off, on, the state in AL, the ways in BX (the
/// keyboard controller and port 0x92). False when the machine has no port 0x92 (it reads
/// 0xFF), where the gate cannot be switched and stays on.
fn a20(cpu: &mut Cpu, m: &mut dyn Machine) -> bool {
    let port = m.inb(FAST_A20);
    let present = port != 0xFF;
    let keep = port & !(FAST_A20_GATE | FAST_A20_RESET);
    match cpu.al() {
        0x00 if present => m.outb(FAST_A20, keep),
        0x01 if present => m.outb(FAST_A20, keep | FAST_A20_GATE),
        0x02 => cpu.set_al(u8::from(!present || port & FAST_A20_GATE != 0)),
        0x03 if present => cpu.set_bx(0x0003),
        _ => return false,
    }
    true
}

fn status(cpu: &mut Cpu, m: &mut dyn Machine, port: u16) {
    let lsr = m.inb(port.wrapping_add(5));
    let msr = m.inb(port.wrapping_add(6));
    cpu.set_ah(lsr);
    cpu.set_al(msr);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::FakeMachine;

    fn a20_call(m: &mut FakeMachine, ax: u16) -> Cpu {
        m.stack_frame(0x0201);
        let mut cpu = Cpu {
            eax: u32::from(ax),
            esp: u32::from(m.frame_sp),
            ..Cpu::default()
        };
        int15(&mut cpu, m, &[]).expect("implemented");
        cpu
    }

    #[test]
    fn test_a20_services_switch_port_92_and_report_it() {
        let mut m = FakeMachine::new();
        m.fast_a20 = Some(0x02);
        let cpu = a20_call(&mut m, 0x2403);
        assert_eq!((cpu.bx(), cpu.ah(), m.frame_flags() & 1), (3, 0, 0));
        a20_call(&mut m, 0x2400);
        assert_eq!(m.fast_a20, Some(0x00));
        assert_eq!(a20_call(&mut m, 0x2402).al(), 0);
        a20_call(&mut m, 0x2401);
        assert_eq!(m.fast_a20, Some(0x02));
        assert_eq!(a20_call(&mut m, 0x2402).al(), 1);
    }

    #[test]
    fn test_a20_without_port_92_is_on_and_cannot_be_switched() {
        let mut m = FakeMachine::new();
        let cpu = a20_call(&mut m, 0x2400);
        assert_eq!((cpu.ah(), m.frame_flags() & 1), (0x86, 1));
        let cpu = a20_call(&mut m, 0x2402);
        assert_eq!((cpu.al(), m.frame_flags() & 1), (1, 0));
    }

    #[test]
    fn test_e820_walks_the_map_then_ends() {
        let ram = [
            RamRange {
                base: 0,
                size: 0xA_0000,
            },
            RamRange {
                base: 0x10_0000,
                size: 0x100_0000,
            },
        ];
        let mut m = FakeMachine::new();
        m.stack_frame(0x0200);
        let mut cpu = Cpu {
            eax: 0xE820,
            edx: SMAP,
            edi: 0x700,
            ..Cpu::default()
        };
        let mut entries = Vec::new();
        loop {
            cpu.eax = 0xE820;
            int15(&mut cpu, &mut m, &ram).expect("implemented");
            let mut e = [0u8; 20];
            m.read(0x700, &mut e);
            entries.push((
                u64::from_le_bytes(e[0..8].try_into().expect("8")),
                u32::from_le_bytes(e[16..20].try_into().expect("4")),
            ));
            assert_eq!(cpu.eax, SMAP);
            if cpu.ebx == 0 {
                break;
            }
        }
        assert_eq!(entries, [(0, 1), (0xF_0000, 2), (0x10_0000, 1)]);
    }

    #[test]
    fn test_memory_sizes() {
        let ram = [
            RamRange {
                base: 0,
                size: 0xA_0000,
            },
            RamRange {
                base: 0x10_0000,
                size: 31 << 20,
            },
        ];
        let mut m = FakeMachine::new();
        m.stack_frame(0x0200);
        let mut cpu = Cpu {
            eax: 0x8800,
            ..Cpu::default()
        };
        int15(&mut cpu, &mut m, &ram).expect("implemented");
        assert_eq!(cpu.ax(), 31 * 1024);
        let mut cpu = Cpu {
            eax: 0xE801,
            ..Cpu::default()
        };
        int15(&mut cpu, &mut m, &ram).expect("implemented");
        assert_eq!((cpu.ax(), cpu.bx()), (15 * 1024, 16 * 16));
    }

    #[test]
    fn test_apm_check_and_power_off() {
        let mut m = FakeMachine::new();
        m.stack_frame(0x0200);
        let mut cpu = Cpu {
            eax: 0x5300,
            ..Cpu::default()
        };
        assert_eq!(int15(&mut cpu, &mut m, &[]), Ok(Int15::Done));
        assert_eq!((cpu.ax(), cpu.bx()), (0x0102, 0x504D));
        let mut cpu = Cpu {
            eax: 0x5307,
            ebx: 1,
            ecx: 3,
            ..Cpu::default()
        };
        assert_eq!(int15(&mut cpu, &mut m, &[]), Ok(Int15::PowerOff));
    }

    #[test]
    fn test_serial_receive_waits_then_reads() {
        let mut m = FakeMachine::new();
        m.write_u16(bda::COM_PORTS, 0x3F8);
        let mut cpu = Cpu {
            eax: 0x0200,
            ..Cpu::default()
        };
        assert_eq!(int14(&mut cpu, &mut m, false), Ok(Int14::Wait));
        m.serial.push_back(b'k');
        assert_eq!(int14(&mut cpu, &mut m, false), Ok(Int14::Done));
        assert_eq!(cpu.al(), b'k');
        cpu.set_ah(2);
        assert_eq!(int14(&mut cpu, &mut m, true), Ok(Int14::Done));
        assert_ne!(cpu.ah() & 0x80, 0);
    }
}
