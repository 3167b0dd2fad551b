//! The MC146818 real-time clock and its CMOS memory at ports 0x70 (index, bit 7 the NMI mask)
//! and 0x71 (data), as a PC has them: the time and date (BCD or binary, 12 or 24 hours, as
//! register B says), the alarm, registers A-D, and the periodic, alarm and update-ended
//! interrupts on IRQ 8 (register C says which; reading it acknowledges them). The clock runs on
//! the host's time (UTC, as QEMU's default `-rtc base=utc`) plus what the guest set.
//!
//! The model has no thread: the board asks it when its next interrupt is due
//! ([`Rtc::next_event`]) and tells it when that time has come ([`Rtc::tick`]).

use serde::{Deserialize, Serialize};

/// The index port (bit 7: NMI disable) and the data port.
pub const INDEX_PORT: u16 = 0x70;
/// The data port.
pub const DATA_PORT: u16 = 0x71;
/// The interrupt line.
pub const IRQ: u8 = 8;

const REG_A: usize = 0x0A;
const REG_B: usize = 0x0B;
const REG_C: usize = 0x0C;
const REG_D: usize = 0x0D;
const CENTURY: usize = 0x32;

/// Register A: the divider (bits 4-6, 010 = 32.768 kHz) and the periodic rate (bits 0-3).
const A_DEFAULT: u8 = 0x26;
/// Register B bits.
const B_SET: u8 = 0x80;
const B_PIE: u8 = 0x40;
const B_AIE: u8 = 0x20;
const B_UIE: u8 = 0x10;
const B_BINARY: u8 = 0x04;
const B_24H: u8 = 0x02;
/// Register C bits.
const C_IRQF: u8 = 0x80;
const C_PF: u8 = 0x40;
const C_AF: u8 = 0x20;
const C_UF: u8 = 0x10;
/// Register D: the battery is good.
const D_VRT: u8 = 0x80;
/// An alarm field that matches any value.
const DONT_CARE: u8 = 0xC0;

/// The clock's state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rtc {
    /// The selected register.
    pub index: u8,
    /// The 128 bytes of CMOS (the time registers are computed when read).
    pub cmos: Vec<u8>,
    /// Seconds the guest's clock is ahead of the host's.
    pub offset: i64,
    /// When the next periodic interrupt is due, ns on the caller's clock.
    pub next_periodic: Option<u64>,
    /// The last whole second the update cycle ended at.
    pub last_update: i64,
}

/// A date and time, broken down.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DateTime {
    /// Full year.
    pub year: i64,
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
    /// 1 (Sunday) to 7.
    pub weekday: u32,
}

/// Seconds since the Unix epoch, broken down (UTC; Howard Hinnant's civil-from-days).
pub fn from_unix(secs: i64) -> DateTime {
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    DateTime {
        year: yoe + era * 400 + i64::from(month <= 2),
        month,
        day,
        hour: (rest / 3_600) as u32,
        minute: (rest % 3_600 / 60) as u32,
        second: (rest % 60) as u32,
        // 1970-01-01 was a Thursday (5 with Sunday as 1).
        weekday: ((days + 4).rem_euclid(7) + 1) as u32,
    }
}

/// A broken-down time as seconds since the Unix epoch.
pub fn to_unix(t: &DateTime) -> i64 {
    let y = t.year - i64::from(t.month <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(t.month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(t.day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    days * 86_400 + i64::from(t.hour) * 3_600 + i64::from(t.minute) * 60 + i64::from(t.second)
}

fn bcd(v: u32) -> u8 {
    (((v / 10) << 4) | (v % 10)) as u8
}

fn from_bcd(v: u8) -> u32 {
    u32::from(v >> 4) * 10 + u32::from(v & 0x0F)
}

impl Rtc {
    /// A clock with the CMOS a BIOS leaves: `memory` bytes of RAM (for the size bytes),
    /// `equipment` (the equipment byte), `floppies` (drive types, high nibble A:).
    pub fn new(memory: u64, equipment: u8, floppies: u8) -> Rtc {
        let mut cmos = vec![0u8; 128];
        cmos[REG_A] = A_DEFAULT;
        cmos[REG_B] = B_24H;
        cmos[REG_D] = D_VRT;
        cmos[0x10] = floppies;
        cmos[0x14] = equipment;
        let base_kb = (memory.min(640 << 10) >> 10) as u16;
        let ext_kb = (memory.saturating_sub(1 << 20).min(0xFFFF << 10) >> 10) as u16;
        let high_64k = (memory.saturating_sub(16 << 20) >> 16).min(0xFFFF) as u16;
        cmos[0x15..0x17].copy_from_slice(&base_kb.to_le_bytes());
        cmos[0x17..0x19].copy_from_slice(&ext_kb.to_le_bytes());
        cmos[0x30..0x32].copy_from_slice(&ext_kb.to_le_bytes());
        cmos[0x34..0x36].copy_from_slice(&high_64k.to_le_bytes());
        let sum: u16 = cmos[0x10..0x2E].iter().map(|&b| u16::from(b)).sum();
        cmos[0x2E..0x30].copy_from_slice(&sum.to_be_bytes());
        Rtc {
            index: 0,
            cmos,
            offset: 0,
            next_periodic: None,
            last_update: 0,
        }
    }

    fn binary(&self) -> bool {
        self.cmos[REG_B] & B_BINARY != 0
    }

    fn encode(&self, v: u32) -> u8 {
        if self.binary() {
            v as u8
        } else {
            bcd(v)
        }
    }

    fn decode(&self, v: u8) -> u32 {
        if self.binary() {
            u32::from(v)
        } else {
            from_bcd(v)
        }
    }

    fn hour_out(&self, hour: u32) -> u8 {
        if self.cmos[REG_B] & B_24H != 0 {
            return self.encode(hour);
        }
        let twelve = if hour.is_multiple_of(12) {
            12
        } else {
            hour % 12
        };
        self.encode(twelve) | if hour >= 12 { 0x80 } else { 0 }
    }

    fn hour_in(&self, v: u8) -> u32 {
        if self.cmos[REG_B] & B_24H != 0 {
            return self.decode(v);
        }
        let h = self.decode(v & 0x7F) % 12;
        h + if v & 0x80 != 0 { 12 } else { 0 }
    }

    /// A write of the index port.
    pub fn write_index(&mut self, value: u8) {
        self.index = value & 0x7F;
    }

    /// A read of the data port, with the host's time `now` (seconds since the epoch).
    pub fn read_data(&mut self, now: i64) -> (u8, bool) {
        let t = from_unix(now + self.offset);
        let i = usize::from(self.index);
        let value = match i {
            0x00 => self.encode(t.second),
            0x02 => self.encode(t.minute),
            0x04 => self.hour_out(t.hour),
            0x06 => self.encode(t.weekday),
            0x07 => self.encode(t.day),
            0x08 => self.encode(t.month),
            0x09 => self.encode((t.year % 100) as u32),
            CENTURY => self.encode((t.year / 100) as u32),
            REG_A => self.cmos[REG_A] & 0x7F,
            REG_C => {
                let c = self.cmos[REG_C];
                self.cmos[REG_C] = 0;
                return (c, c & C_IRQF != 0);
            }
            _ => self.cmos[i],
        };
        (value, false)
    }

    /// A write of the data port; returns whether the interrupt schedule changed.
    pub fn write_data(&mut self, value: u8, now: i64) -> bool {
        let i = usize::from(self.index);
        match i {
            0x00 | 0x02 | 0x04 | 0x06..=0x09 | CENTURY => {
                self.set_time_field(i, value, now);
                false
            }
            REG_A => {
                self.cmos[REG_A] = value & 0x7F;
                true
            }
            REG_B => {
                self.cmos[REG_B] = value;
                true
            }
            REG_C | REG_D => false,
            _ => {
                self.cmos[i] = value;
                false
            }
        }
    }

    fn set_time_field(&mut self, i: usize, value: u8, now: i64) {
        let mut t = from_unix(now + self.offset);
        match i {
            0x00 => t.second = self.decode(value).min(59),
            0x02 => t.minute = self.decode(value).min(59),
            0x04 => t.hour = self.hour_in(value).min(23),
            0x07 => t.day = self.decode(value).clamp(1, 31),
            0x08 => t.month = self.decode(value).clamp(1, 12),
            0x09 => t.year = t.year / 100 * 100 + i64::from(self.decode(value) % 100),
            CENTURY => t.year = i64::from(self.decode(value)) * 100 + t.year % 100,
            _ => return, // the weekday follows from the date
        }
        self.offset = to_unix(&t) - now;
    }

    /// The periodic interrupt's period in ns, when it is enabled.
    fn period_ns(&self) -> Option<u64> {
        if self.cmos[REG_B] & B_PIE == 0 {
            return None;
        }
        let rate = u32::from(self.cmos[REG_A] & 0x0F);
        let hz = match rate {
            0 => return None,
            1 | 2 => 32_768u32 >> (7 + rate),
            r => 32_768u32 >> (r - 1),
        };
        Some(1_000_000_000 / u64::from(hz))
    }

    /// Whether an interrupt needs a clock (periodic, alarm or update-ended).
    pub fn needs_clock(&self) -> bool {
        self.cmos[REG_B] & (B_PIE | B_AIE | B_UIE) != 0
    }

    /// When the next interrupt is due, on the caller's ns clock `now_ns`, whose whole second
    /// boundary falls at `ns_to_next_second` from now.
    pub fn next_event(&mut self, now_ns: u64, ns_to_next_second: u64) -> Option<u64> {
        let periodic = self
            .period_ns()
            .map(|p| *self.next_periodic.get_or_insert(now_ns + p));
        let update =
            (self.cmos[REG_B] & (B_AIE | B_UIE) != 0).then_some(now_ns + ns_to_next_second);
        periodic.into_iter().chain(update).min()
    }

    /// Time `now_ns` (host seconds `now`) has come: sets the flags that are due; returns whether
    /// the interrupt line should rise.
    pub fn tick(&mut self, now_ns: u64, now: i64) -> bool {
        let b = self.cmos[REG_B];
        let mut flags = 0;
        if let (Some(p), Some(due)) = (self.period_ns(), self.next_periodic) {
            if now_ns >= due {
                flags |= C_PF;
                self.next_periodic = Some(due + p * ((now_ns - due) / p + 1));
            }
        } else {
            self.next_periodic = None;
        }
        let second = now + self.offset;
        if second != self.last_update && b & B_SET == 0 {
            self.last_update = second;
            flags |= C_UF;
            if self.alarm_matches(second) {
                flags |= C_AF;
            }
        }
        let enabled = flags & ((b & (B_PIE | B_AIE | B_UIE)) & 0x70);
        self.cmos[REG_C] |= flags;
        if enabled != 0 {
            self.cmos[REG_C] |= C_IRQF;
            return true;
        }
        false
    }

    fn alarm_matches(&self, second: i64) -> bool {
        let t = from_unix(second);
        let field = |alarm: u8, now: u8| alarm & DONT_CARE == DONT_CARE || alarm == now;
        field(self.cmos[0x01], self.encode(t.second))
            && field(self.cmos[0x03], self.encode(t.minute))
            && field(self.cmos[0x05], self.hour_out(t.hour))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-12-05 11:21:04 UTC, a Saturday.
    const NOW: i64 = 1_796_469_664;

    fn read(rtc: &mut Rtc, index: u8) -> u8 {
        rtc.write_index(index);
        rtc.read_data(NOW).0
    }

    #[test]
    fn test_time_and_date_in_bcd_by_default() {
        let mut rtc = Rtc::new(640 << 10, 0x2F, 0x40);
        let got: Vec<u8> = [0x09, 0x08, 0x07, 0x06, 0x04, 0x02, 0x00, 0x32]
            .iter()
            .map(|&i| read(&mut rtc, i))
            .collect();
        assert_eq!(got, [0x26, 0x12, 0x05, 0x07, 0x11, 0x21, 0x04, 0x20]);
    }

    #[test]
    fn test_binary_twelve_hour_mode() {
        let mut rtc = Rtc::new(640 << 10, 0, 0);
        rtc.write_index(0x0B);
        rtc.write_data(B_BINARY, NOW);
        assert_eq!(read(&mut rtc, 0x04), 11);
        rtc.write_index(0x0B);
        rtc.write_data(B_BINARY | B_24H, NOW);
        assert_eq!(read(&mut rtc, 0x09), 26);
    }

    #[test]
    fn test_setting_the_hour_moves_the_clock() {
        let mut rtc = Rtc::new(640 << 10, 0, 0);
        rtc.write_index(0x04);
        rtc.write_data(0x13, NOW);
        assert_eq!((read(&mut rtc, 0x04), rtc.offset), (0x13, 2 * 3600));
    }

    #[test]
    fn test_memory_sizes_and_checksum() {
        let rtc = Rtc::new(16 << 20, 0x2F, 0x40);
        let word = |i: usize| u16::from_le_bytes([rtc.cmos[i], rtc.cmos[i + 1]]);
        assert_eq!(
            (word(0x15), word(0x17), word(0x30)),
            (640, 15 * 1024, 15 * 1024)
        );
        let sum: u16 = rtc.cmos[0x10..0x2E].iter().map(|&b| u16::from(b)).sum();
        assert_eq!(u16::from_be_bytes([rtc.cmos[0x2E], rtc.cmos[0x2F]]), sum);
    }

    #[test]
    fn test_periodic_interrupt_at_1024_hz_and_register_c_acknowledges() {
        let mut rtc = Rtc::new(640 << 10, 0, 0);
        rtc.write_index(0x0B);
        rtc.write_data(B_PIE | B_24H, NOW);
        let due = rtc.next_event(0, 500_000_000).unwrap();
        assert_eq!(due, 976_562);
        assert!(rtc.tick(due, NOW));
        rtc.write_index(0x0C);
        let (c, was) = rtc.read_data(NOW);
        assert_eq!((c & (C_IRQF | C_PF), was), (C_IRQF | C_PF, true));
        assert_eq!(read(&mut rtc, 0x0C), 0);
    }

    #[test]
    fn test_calendar_round_trips() {
        for secs in [0, 951_782_400, NOW, 4_102_444_800] {
            assert_eq!(to_unix(&from_unix(secs)), secs);
        }
    }
}
