//! Time: IRQ 0's tick count in the BDA (18.2 Hz), int 1Ah's tick and RTC services (the host's
//! clock, UTC, in BCD, as QEMU's RTC gives it by default).

use crate::bda;
use crate::cpu::Cpu;
use crate::machine::Machine;
use crate::Unsupported;

/// PIT input clock, Hz.
const PIT_HZ: u64 = 1_193_182;

/// IRQ 0: one more tick (wrapping at midnight), the floppy motor count down, and the EOI.
/// The ROM stub then calls the user's int 1Ch.
pub fn tick(m: &mut dyn Machine) {
    let ticks = m.read_u32(bda::TICKS).wrapping_add(1);
    if ticks >= bda::TICKS_PER_DAY {
        m.write_u32(bda::TICKS, 0);
        m.write_u8(bda::MIDNIGHT, 1);
    } else {
        m.write_u32(bda::TICKS, ticks);
    }
    let motor = m.read_u8(bda::FLOPPY_MOTOR_COUNT);
    m.write_u8(bda::FLOPPY_MOTOR_COUNT, motor.saturating_sub(1));
    m.outb(0x20, 0x20);
}

/// Ticks since midnight for a time of day in seconds and nanoseconds.
pub fn ticks_at(seconds_of_day: u64, nanos: u32) -> u32 {
    let ns = seconds_of_day * 1_000_000_000 + u64::from(nanos);
    ((u128::from(ns) * u128::from(PIT_HZ) / 65_536 / 1_000_000_000) as u32)
        .min(bda::TICKS_PER_DAY - 1)
}

/// A calendar date and time of day, UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DateTime {
    /// Full year.
    pub year: u32,
    /// 1-12.
    pub month: u32,
    /// 1-31.
    pub day: u32,
    /// 0-23.
    pub hour: u32,
    /// 0-59.
    pub minute: u32,
    /// 0-59.
    pub second: u32,
}

impl DateTime {
    /// The UTC date and time `secs` after the Unix epoch (Howard Hinnant's civil_from_days).
    pub fn from_unix(secs: u64) -> DateTime {
        let days = (secs / 86_400) as i64;
        let tod = secs % 86_400;
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = (yoe + era * 400 + i64::from(month <= 2)) as u32;
        DateTime {
            year,
            month,
            day,
            hour: (tod / 3600) as u32,
            minute: (tod / 60 % 60) as u32,
            second: (tod % 60) as u32,
        }
    }
}

/// A number 0-99 in BCD.
fn bcd(n: u32) -> u8 {
    (((n / 10 % 10) << 4) | (n % 10)) as u8
}

/// Serves int 1Ah.
pub fn int1a(cpu: &mut Cpu, m: &mut dyn Machine) -> Result<(), Unsupported> {
    match cpu.ah() {
        0x00 => {
            let ticks = m.read_u32(bda::TICKS);
            cpu.set_cx((ticks >> 16) as u16);
            cpu.set_dx(ticks as u16);
            cpu.set_al(m.read_u8(bda::MIDNIGHT));
            m.write_u8(bda::MIDNIGHT, 0);
        }
        0x01 => {
            let ticks = (u32::from(cpu.cx()) << 16) | u32::from(cpu.dx());
            m.write_u32(bda::TICKS, ticks);
            m.write_u8(bda::MIDNIGHT, 0);
        }
        0x02 => {
            let now = DateTime::from_unix(m.now().0);
            cpu.set_ch(bcd(now.hour));
            cpu.set_cl(bcd(now.minute));
            cpu.set_dh(bcd(now.second));
            cpu.set_dl(0);
            cpu.set_carry(m, false);
        }
        0x04 => {
            let now = DateTime::from_unix(m.now().0);
            cpu.set_ch(bcd(now.year / 100));
            cpu.set_cl(bcd(now.year % 100));
            cpu.set_dh(bcd(now.month));
            cpu.set_dl(bcd(now.day));
            cpu.set_carry(m, false);
        }
        // Setting the RTC: the host's clock is not the guest's to change; accepted.
        0x03 | 0x05 => cpu.set_carry(m, false),
        _ => return Err(Unsupported),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::FakeMachine;

    #[test]
    fn test_calendar_from_unix_time() {
        // 2026-11-30 21:05:09 UTC.
        let t = DateTime::from_unix(1_796_072_709);
        assert_eq!((t.year, t.month, t.day), (2026, 11, 30));
        assert_eq!((t.hour, t.minute, t.second), (21, 5, 9));
        assert_eq!(DateTime::from_unix(951_782_400).month, 2); // 2000-02-29
        assert_eq!(DateTime::from_unix(951_782_400).day, 29);
    }

    #[test]
    fn test_rtc_time_and_date_are_bcd() {
        let mut m = FakeMachine::new();
        m.stack_frame(0x0201);
        m.clock = 1_796_072_709;
        let mut cpu = Cpu {
            eax: 0x0200,
            esp: 0x7000,
            ..Cpu::default()
        };
        int1a(&mut cpu, &mut m).expect("implemented");
        assert_eq!((cpu.ch(), cpu.cl(), cpu.dh()), (0x21, 0x05, 0x09));
        cpu.set_ah(0x04);
        int1a(&mut cpu, &mut m).expect("implemented");
        assert_eq!(
            (cpu.ch(), cpu.cl(), cpu.dh(), cpu.dl()),
            (0x20, 0x26, 0x11, 0x30)
        );
        assert_eq!(m.frame_flags() & crate::cpu::CF, 0);
    }

    #[test]
    fn test_ticks_count_wrap_at_midnight_and_read_once() {
        let mut m = FakeMachine::new();
        m.write_u32(bda::TICKS, bda::TICKS_PER_DAY - 1);
        tick(&mut m);
        assert_eq!(m.eois, 1);
        let mut cpu = Cpu::default();
        int1a(&mut cpu, &mut m).expect("implemented");
        assert_eq!((cpu.cx(), cpu.dx(), cpu.al()), (0, 0, 1));
        int1a(&mut cpu, &mut m).expect("implemented");
        assert_eq!(cpu.al(), 0);
        assert_eq!(ticks_at(3600, 0), 65_543);
    }
}
