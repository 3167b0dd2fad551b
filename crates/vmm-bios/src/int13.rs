//! int 13h: disk services over the machine's drives, CHS and the EDD extensions (41h-48h),
//! with errors as a PC BIOS reports them (AH status, CF) and the status kept for AH=01h.

use crate::bda;
use crate::cpu::Cpu;
use crate::disk::{Disk, DriveKind, IoError, SECTOR};
use crate::machine::Machine;
use crate::rom;

/// int 13h status codes.
pub mod status {
    /// Success.
    pub const OK: u8 = 0x00;
    /// Invalid function or parameter.
    pub const BAD_COMMAND: u8 = 0x01;
    /// Write-protected disk.
    pub const WRITE_PROTECTED: u8 = 0x03;
    /// Sector not found.
    pub const NOT_FOUND: u8 = 0x04;
    /// The host could not read or write the image.
    pub const MEDIA_ERROR: u8 = 0x10;
    /// No such drive (time-out).
    pub const TIMEOUT: u8 = 0x80;
}

/// A drive: its BIOS number and image.
#[derive(Debug)]
pub struct Drive {
    /// 0x00, 0x01 for floppies; 0x80 upwards for hard disks.
    pub number: u8,
    /// The image.
    pub disk: Disk,
}

/// Serves int 13h.
pub fn int13(cpu: &mut Cpu, m: &mut dyn Machine, drives: &mut [Drive]) {
    let number = cpu.dl();
    let floppies = drives.iter().filter(|d| d.number < 0x80).count() as u8;
    let hards = drives.iter().filter(|d| d.number >= 0x80).count() as u8;
    let function = cpu.ah();
    // AH=08h and 15h answer for absent drives too (a count of 0, "no drive").
    let drive = drives.iter_mut().find(|d| d.number == number);
    let result = match (function, drive) {
        (0x08, None) if number < 0x80 => Err(status::BAD_COMMAND),
        (0x15, None) => {
            cpu.set_ah(0);
            Ok(())
        }
        (0x01, _) => {
            let last = m.read_u8(status_address(number));
            cpu.set_ah(last);
            cpu.set_carry(m, last != 0);
            return;
        }
        (_, None) => Err(if number < 0x80 {
            status::TIMEOUT
        } else {
            status::BAD_COMMAND
        }),
        (0x00 | 0x0D | 0x10 | 0x11 | 0x14 | 0x0C | 0x47, Some(_)) => Ok(()),
        (0x02..=0x04, Some(d)) => chs_transfer(cpu, m, d),
        (0x08, Some(d)) => {
            parameters(cpu, m, d, if number < 0x80 { floppies } else { hards });
            Ok(())
        }
        (0x15, Some(d)) => {
            match d.disk.kind() {
                DriveKind::Floppy => cpu.set_ah(0x01),
                DriveKind::Hard => {
                    let n = d.disk.sectors().min(u64::from(u32::MAX)) as u32;
                    cpu.set_ah(0x03);
                    cpu.set_cx((n >> 16) as u16);
                    cpu.set_dx(n as u16);
                }
            }
            m.write_u8(status_address(number), 0);
            cpu.set_carry(m, false);
            return;
        }
        (0x41, Some(_)) if cpu.bx() == 0x55AA => {
            cpu.set_bx(0xAA55);
            cpu.set_ah(0x30);
            cpu.set_cx(0x0007);
            m.write_u8(status_address(number), 0);
            cpu.set_carry(m, false);
            return;
        }
        (0x42..=0x44, Some(d)) => lba_transfer(cpu, m, d),
        (0x48, Some(d)) => drive_parameters(cpu, m, d),
        _ => Err(status::BAD_COMMAND),
    };
    let code = match result {
        Ok(()) => status::OK,
        Err(code) => code,
    };
    m.write_u8(status_address(number), code);
    cpu.set_ah(code);
    cpu.set_carry(m, code != status::OK);
}

/// Where the status of the last operation on `drive` is kept.
fn status_address(drive: u8) -> u32 {
    if drive < 0x80 {
        bda::FLOPPY_STATUS
    } else {
        bda::DISK_STATUS
    }
}

/// What one sector transfer does.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Read,
    Write,
    Verify,
}

/// Moves `count` sectors from `lba` between the disk and guest memory at `buffer`; returns how
/// many were moved and the error that stopped it, if one did.
fn transfer(
    m: &mut dyn Machine,
    disk: &mut Disk,
    op: Op,
    lba: u64,
    count: u32,
    buffer: u32,
) -> (u32, Result<(), u8>) {
    // A transfer past the top of the 4 GiB address space would wrap into the IVT at 0; a
    // buffer where there is no memory cannot take it either: both fail as a bad request.
    let bytes = u64::from(count) * SECTOR;
    if u64::from(buffer) + bytes > 1 << 32 || !m.is_memory(buffer, bytes) {
        return (0, Err(status::BAD_COMMAND));
    }
    let mut sector = [0u8; SECTOR as usize];
    for i in 0..count {
        let at = buffer.wrapping_add(i * SECTOR as u32);
        let result = match op {
            Op::Read | Op::Verify => disk.read_sector(lba + u64::from(i), &mut sector),
            Op::Write => {
                m.read(at, &mut sector);
                disk.write_sector(lba + u64::from(i), &sector)
            }
        };
        if let Err(e) = result {
            let code = match e {
                IoError::OutOfRange => status::NOT_FOUND,
                IoError::WriteProtected => status::WRITE_PROTECTED,
                IoError::Host => status::MEDIA_ERROR,
            };
            return (i, Err(code));
        }
        if op == Op::Read {
            m.write(at, &sector);
        }
    }
    (count, Ok(()))
}

/// AH=02h/03h/04h: AL sectors at cylinder CH (+ CL bits 6-7), head DH, sector CL bits 0-5,
/// to or from ES:BX. AL returns the sectors moved.
fn chs_transfer(cpu: &mut Cpu, m: &mut dyn Machine, drive: &mut Drive) -> Result<(), u8> {
    let count = u32::from(cpu.al());
    let cylinder = u32::from(cpu.ch()) | (u32::from(cpu.cl() & 0xC0) << 2);
    let sector = u32::from(cpu.cl() & 0x3F);
    let head = u32::from(cpu.dh());
    let op = match cpu.ah() {
        0x02 => Op::Read,
        0x03 => Op::Write,
        _ => Op::Verify,
    };
    cpu.set_al(0);
    if count == 0 || count > 128 {
        return Err(status::BAD_COMMAND);
    }
    let lba = drive
        .disk
        .geometry()
        .lba(cylinder, head, sector)
        .ok_or(status::NOT_FOUND)?;
    let buffer = Cpu::linear(cpu.es, cpu.bx());
    let (moved, result) = transfer(m, &mut drive.disk, op, lba, count, buffer);
    cpu.set_al(moved as u8);
    result
}

/// AH=08h: the drive's geometry and the number of drives of its kind.
fn parameters(cpu: &mut Cpu, m: &mut dyn Machine, drive: &Drive, count: u8) {
    let g = drive.disk.geometry();
    let max_cylinder = g.cylinders.min(1024) - 1;
    cpu.set_ch(max_cylinder as u8);
    cpu.set_cl((g.sectors as u8 & 0x3F) | (((max_cylinder >> 2) & 0xC0) as u8));
    cpu.set_dh((g.heads - 1) as u8);
    cpu.set_dl(count);
    cpu.set_al(0);
    if drive.disk.kind() == DriveKind::Floppy {
        cpu.set_bl(drive.disk.floppy_type());
        cpu.set_bh(0);
        cpu.es = rom::SEGMENT;
        cpu.set_di(rom::DISKETTE_PARAMETERS);
    }
    let _ = m;
}

/// AH=42h/43h/44h: the disk address packet at DS:SI (count, buffer, 64-bit LBA); the packet's
/// count returns the sectors moved.
fn lba_transfer(cpu: &mut Cpu, m: &mut dyn Machine, drive: &mut Drive) -> Result<(), u8> {
    let packet = Cpu::linear(cpu.ds, cpu.si());
    let size = m.read_u8(packet);
    if size < 0x10 {
        return Err(status::BAD_COMMAND);
    }
    let count = u32::from(m.read_u16(packet + 2));
    let offset = m.read_u16(packet + 4);
    let segment = m.read_u16(packet + 6);
    let mut lba = [0u8; 8];
    m.read(packet + 8, &mut lba);
    let lba = u64::from_le_bytes(lba);
    let buffer = if offset == 0xFFFF && segment == 0xFFFF && size >= 0x18 {
        // A flat 64-bit buffer address: picovmm's RAM is below 4 GiB in real mode's reach.
        match u32::try_from(
            u64::from(m.read_u32(packet + 0x10)) | (u64::from(m.read_u32(packet + 0x14)) << 32),
        ) {
            Ok(a) => a,
            Err(_) => return Err(status::BAD_COMMAND),
        }
    } else {
        Cpu::linear(segment, offset)
    };
    let op = match cpu.ah() {
        0x42 => Op::Read,
        0x43 => Op::Write,
        _ => Op::Verify,
    };
    if count > 127 {
        m.write_u16(packet + 2, 0);
        return Err(status::BAD_COMMAND);
    }
    let (moved, result) = transfer(m, &mut drive.disk, op, lba, count, buffer);
    m.write_u16(packet + 2, moved as u16);
    result
}

/// AH=48h: the drive parameter buffer at DS:SI.
fn drive_parameters(cpu: &mut Cpu, m: &mut dyn Machine, drive: &Drive) -> Result<(), u8> {
    let at = Cpu::linear(cpu.ds, cpu.si());
    let size = m.read_u16(at);
    if size < 0x1A {
        return Err(status::BAD_COMMAND);
    }
    let g = drive.disk.geometry();
    let flags: u16 = match drive.disk.kind() {
        DriveKind::Floppy => 0x0004, // removable
        DriveKind::Hard => 0x0002,   // CHS information valid
    };
    m.write_u16(at, 0x1A);
    m.write_u16(at + 2, flags);
    m.write_u32(at + 4, g.cylinders);
    m.write_u32(at + 8, g.heads);
    m.write_u32(at + 12, g.sectors);
    m.write(at + 16, &drive.disk.sectors().to_le_bytes());
    m.write_u16(at + 24, SECTOR as u16);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::CF;
    use crate::disk::WriteMode;
    use crate::testing::{FakeMachine, TempImage};

    fn floppy(bytes: Vec<u8>, mode: WriteMode) -> (TempImage, Vec<Drive>) {
        let image = TempImage::new(&bytes);
        let disk = Disk::open(&image.0, None, mode).expect("opens");
        (image, vec![Drive { number: 0, disk }])
    }

    fn call(m: &mut FakeMachine, drives: &mut [Drive], cpu: &mut Cpu) -> (u8, bool) {
        m.stack_frame(0x0202);
        cpu.ss = 0;
        cpu.esp = u32::from(m.frame_sp);
        int13(cpu, m, drives);
        (cpu.ah(), m.frame_flags() & CF != 0)
    }

    fn numbered_sectors(n: usize) -> Vec<u8> {
        (0..n).flat_map(|i| [i as u8; 512]).collect()
    }

    #[test]
    fn test_chs_read_of_head_one_on_a_floppy() {
        let (_img, mut drives) = floppy(numbered_sectors(40), WriteMode::ReadOnly);
        let mut m = FakeMachine::new();
        // Cylinder 0, head 1, sector 2 = LBA 19; two sectors to 0000:8000.
        let mut cpu = Cpu {
            eax: 0x0202,
            ecx: 0x0002,
            edx: 0x0100,
            ebx: 0x8000,
            ..Cpu::default()
        };
        assert_eq!(call(&mut m, &mut drives, &mut cpu), (0, false));
        assert_eq!(cpu.al(), 2);
        assert_eq!(m.mem[0x8000], 19);
        assert_eq!(m.mem[0x8200], 20);
    }

    #[test]
    fn test_errors_are_reported_in_ah_and_carry_and_kept() {
        let (_img, mut drives) = floppy(numbered_sectors(1), WriteMode::ReadOnly);
        let mut m = FakeMachine::new();
        let mut cpu = Cpu {
            eax: 0x0201,
            ecx: 0x0013, // sector 19 on an 18-sector track
            ..Cpu::default()
        };
        assert_eq!(call(&mut m, &mut drives, &mut cpu), (0x04, true));
        let mut cpu = Cpu {
            eax: 0x0100,
            ..Cpu::default()
        };
        assert_eq!(call(&mut m, &mut drives, &mut cpu), (0x04, true));
        let mut cpu = Cpu {
            eax: 0x0301,
            ecx: 0x0001,
            ..Cpu::default()
        };
        assert_eq!(call(&mut m, &mut drives, &mut cpu), (0x03, true));
        let mut cpu = Cpu {
            eax: 0x0201,
            ecx: 0x0001,
            edx: 0x0001, // drive B: absent
            ..Cpu::default()
        };
        assert_eq!(call(&mut m, &mut drives, &mut cpu), (0x80, true));
    }

    #[test]
    fn test_parameters_of_a_144_floppy() {
        let (_img, mut drives) = floppy(vec![0; 1_474_560], WriteMode::ReadOnly);
        let mut m = FakeMachine::new();
        let mut cpu = Cpu {
            eax: 0x0800,
            ..Cpu::default()
        };
        assert_eq!(call(&mut m, &mut drives, &mut cpu), (0, false));
        assert_eq!(
            (cpu.ch(), cpu.cl(), cpu.dh(), cpu.dl(), cpu.bl()),
            (79, 18, 1, 1, 4)
        );
        assert_eq!((cpu.es, cpu.di()), (rom::SEGMENT, rom::DISKETTE_PARAMETERS));
    }

    #[test]
    fn test_extended_read_and_write_through_a_packet() {
        let (img, mut drives) = floppy(numbered_sectors(4), WriteMode::Write);
        let mut m = FakeMachine::new();
        let mut cpu = Cpu {
            eax: 0x4100,
            ebx: 0x55AA,
            ..Cpu::default()
        };
        assert_eq!(call(&mut m, &mut drives, &mut cpu), (0x30, false));
        assert_eq!(cpu.bx(), 0xAA55);
        // Packet at 0000:0600: 2 sectors from LBA 2 to 0000:9000.
        let packet = [0x10, 0, 2, 0, 0x00, 0x90, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0];
        m.mem[0x600..0x610].copy_from_slice(&packet);
        let mut cpu = Cpu {
            eax: 0x4200,
            esi: 0x600,
            ..Cpu::default()
        };
        assert_eq!(call(&mut m, &mut drives, &mut cpu), (0, false));
        assert_eq!((m.mem[0x9000], m.mem[0x9200]), (2, 3));
        m.mem[0x9000..0x9200].fill(0xEE);
        let mut cpu = Cpu {
            eax: 0x4300,
            esi: 0x600,
            ..Cpu::default()
        };
        assert_eq!(call(&mut m, &mut drives, &mut cpu), (0, false));
        drop(drives);
        let bytes = std::fs::read(&img.0).expect("read back");
        assert_eq!(bytes[1024..1536], [0xEE; 512]);
    }

    #[test]
    fn test_extended_read_to_a_flat_buffer_that_wraps_past_4_gib_fails_and_writes_nothing() {
        let (_img, mut drives) = floppy(numbered_sectors(4), WriteMode::ReadOnly);
        let mut m = FakeMachine::new();
        // Packet at 0000:0600: 2 sectors from LBA 1 to FFFF:FFFF, the flat address 0xFFFFFE00:
        // the second sector would wrap to 0, the IVT.
        let mut packet = [0u8; 0x18];
        packet[..4].copy_from_slice(&[0x18, 0, 2, 0]);
        packet[4..8].copy_from_slice(&[0xFF, 0xFF, 0xFF, 0xFF]);
        packet[8] = 1;
        packet[0x10..0x14].copy_from_slice(&0xFFFF_FE00u32.to_le_bytes());
        m.mem[0x600..0x618].copy_from_slice(&packet);
        let ivt = m.mem[..0x400].to_vec();
        let mut cpu = Cpu {
            eax: 0x4200,
            esi: 0x600,
            ..Cpu::default()
        };
        assert_eq!(
            call(&mut m, &mut drives, &mut cpu),
            (status::BAD_COMMAND, true)
        );
        assert_eq!(m.mem[..0x400], ivt[..]);
    }
}
