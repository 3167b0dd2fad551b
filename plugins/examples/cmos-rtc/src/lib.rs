//! A CMOS real-time clock as a picovmm plugin: the PC's MC146818 at ports 0x70 (index) and
//! 0x71 (data). Time registers read in BCD, 24-hour mode, from the host's clock in UTC, or
//! from a fixed time given in the machine file, so tests are deterministic:
//!
//! ```toml
//! [[device]]
//! type = "plugin"
//! library = "cmos-rtc"
//! port = 0x70
//! ports = 2
//! config = { time = "2024-02-29T12:34:56" }
//! ```
//!
//! The other 114 bytes of CMOS RAM keep what the guest writes.
#![deny(missing_docs)]

use std::time::{SystemTime, UNIX_EPOCH};

use picovmm_plugin::{abi, Host, Plugin};

/// Register numbers (the value written to the index port, bit 7 being the NMI mask).
const REG_SECONDS: u8 = 0x00;
const REG_MINUTES: u8 = 0x02;
const REG_HOURS: u8 = 0x04;
const REG_WEEKDAY: u8 = 0x06;
const REG_DAY: u8 = 0x07;
const REG_MONTH: u8 = 0x08;
const REG_YEAR: u8 = 0x09;
const REG_STATUS_A: u8 = 0x0A;
const REG_STATUS_B: u8 = 0x0B;
const REG_STATUS_D: u8 = 0x0D;
const REG_CENTURY: u8 = 0x32;
/// Status B: 24-hour mode, BCD (bit 2, binary, clear).
const STATUS_B_24H: u8 = 0b0000_0010;
/// Status D: the CMOS battery is good.
const STATUS_D_VALID: u8 = 0b1000_0000;
/// Index bit 7 masks NMIs; it is not part of the register number.
const INDEX_NMI_MASK: u8 = 0b1000_0000;
/// Port offsets.
const PORT_INDEX: u16 = 0;
const PORT_DATA: u16 = 1;

/// A calendar date and time (UTC).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DateTime {
    /// Full year, e.g. 2024.
    pub year: u16,
    /// 1-12.
    pub month: u8,
    /// 1-31.
    pub day: u8,
    /// 0-23.
    pub hour: u8,
    /// 0-59.
    pub minute: u8,
    /// 0-59.
    pub second: u8,
}

impl DateTime {
    /// Parses `YYYY-MM-DDTHH:MM:SS`.
    pub fn parse(text: &str) -> Option<Self> {
        let (date, time) = text.split_once('T')?;
        let mut d = date.splitn(3, '-').map(str::parse::<u16>);
        let mut t = time.splitn(3, ':').map(str::parse::<u8>);
        let dt = DateTime {
            year: d.next()?.ok()?,
            month: u8::try_from(d.next()?.ok()?).ok()?,
            day: u8::try_from(d.next()?.ok()?).ok()?,
            hour: t.next()?.ok()?,
            minute: t.next()?.ok()?,
            second: t.next()?.ok()?,
        };
        let valid = (1..=9999).contains(&dt.year)
            && (1..=12).contains(&dt.month)
            && (1..=31).contains(&dt.day)
            && dt.hour < 24
            && dt.minute < 60
            && dt.second < 60;
        valid.then_some(dt)
    }

    /// The UTC date and time `secs` seconds after 1970-01-01 (Howard Hinnant's civil_from_days).
    pub fn from_unix(secs: u64) -> Self {
        let days = (secs / 86_400) as i64;
        let rem = secs % 86_400;
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
        let year = (yoe + era * 400 + i64::from(month <= 2)) as u16;
        DateTime {
            year,
            month,
            day,
            hour: (rem / 3600) as u8,
            minute: (rem / 60 % 60) as u8,
            second: (rem % 60) as u8,
        }
    }

    /// Day of the week, 1 = Sunday, as the RTC counts.
    pub fn weekday(&self) -> u8 {
        // Sakamoto's method.
        const T: [u16; 12] = [0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4];
        let y = if self.month < 3 {
            self.year - 1
        } else {
            self.year
        };
        let w =
            (y + y / 4 - y / 100 + y / 400 + T[usize::from(self.month - 1)] + u16::from(self.day))
                % 7;
        w as u8 + 1
    }
}

fn bcd(value: u8) -> u8 {
    ((value / 10) << 4) | (value % 10)
}

/// The clock.
pub struct CmosRtc {
    fixed: Option<DateTime>,
    index: u8,
    ram: [u8; 128],
}

impl CmosRtc {
    /// A clock that shows `fixed`, or the host's time when `None`.
    pub fn new(fixed: Option<DateTime>) -> Self {
        CmosRtc {
            fixed,
            index: 0,
            ram: [0; 128],
        }
    }

    fn now(&self) -> DateTime {
        self.fixed.unwrap_or_else(|| {
            let secs = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            DateTime::from_unix(secs)
        })
    }

    /// The value of register `reg`.
    pub fn register(&self, reg: u8) -> u8 {
        let now = self.now();
        match reg {
            REG_SECONDS => bcd(now.second),
            REG_MINUTES => bcd(now.minute),
            REG_HOURS => bcd(now.hour),
            REG_WEEKDAY => bcd(now.weekday()),
            REG_DAY => bcd(now.day),
            REG_MONTH => bcd(now.month),
            REG_YEAR => bcd((now.year % 100) as u8),
            REG_CENTURY => bcd((now.year / 100) as u8),
            REG_STATUS_A => 0x26, // divider and rate as a BIOS sets them; update not in progress
            REG_STATUS_B => STATUS_B_24H,
            REG_STATUS_D => STATUS_D_VALID,
            other => self.ram[usize::from(other & 0x7F)],
        }
    }
}

impl Plugin for CmosRtc {
    const NAME: &'static str = "cmos-rtc";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DESCRIPTION: &'static str = "CMOS real-time clock (MC146818) at ports 0x70/0x71";
    const ACCESSES: u32 = abi::ACCESS_PORT;

    fn create(_host: Host, config_toml: &str) -> Result<Self, String> {
        let table: toml::Table = config_toml
            .parse()
            .map_err(|e: toml::de::Error| e.message().to_owned())?;
        let mut fixed = None;
        for (key, value) in &table {
            match (key.as_str(), value) {
                ("time", toml::Value::String(text)) => {
                    fixed = Some(DateTime::parse(text).ok_or_else(|| {
                        format!("time \"{text}\" is not YYYY-MM-DDTHH:MM:SS (UTC)")
                    })?);
                }
                ("time", _) => {
                    return Err("time must be a string like \"2024-02-29T12:34:56\"".into())
                }
                (other, _) => return Err(format!("unknown config key `{other}`; allowed: time")),
            }
        }
        Ok(CmosRtc::new(fixed))
    }

    fn reset(&mut self) {
        self.index = 0;
    }

    fn port_read(&mut self, offset: u16, data: &mut [u8]) -> Result<(), String> {
        data[0] = match offset {
            PORT_INDEX => self.index,
            PORT_DATA => self.register(self.index),
            _ => return Err(format!("no register at offset {offset}")),
        };
        Ok(())
    }

    fn port_write(&mut self, offset: u16, data: &[u8]) -> Result<(), String> {
        match offset {
            PORT_INDEX => self.index = data[0] & !INDEX_NMI_MASK,
            PORT_DATA => self.ram[usize::from(self.index & 0x7F)] = data[0],
            _ => return Err(format!("no register at offset {offset}")),
        }
        Ok(())
    }
}

picovmm_plugin::export_plugin!(CmosRtc);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_from_unix_leap_day() {
        let dt = DateTime::from_unix(1_709_210_096);
        assert_eq!(
            dt,
            DateTime {
                year: 2024,
                month: 2,
                day: 29,
                hour: 12,
                minute: 34,
                second: 56
            }
        );
    }

    #[test]
    fn test_weekday_of_leap_day_2024_is_thursday() {
        let dt = DateTime::parse("2024-02-29T00:00:00");
        assert_eq!(dt.map(|d| d.weekday()), Some(5));
    }

    #[test]
    fn test_parse_rejects_month_13() {
        assert_eq!(DateTime::parse("2024-13-01T00:00:00"), None);
    }

    #[test]
    fn test_registers_are_bcd() {
        let rtc = CmosRtc::new(DateTime::parse("2024-02-29T12:34:56"));
        assert_eq!(
            [
                REG_SECONDS,
                REG_MINUTES,
                REG_HOURS,
                REG_DAY,
                REG_MONTH,
                REG_YEAR,
                REG_CENTURY
            ]
            .map(|r| rtc.register(r)),
            [0x56, 0x34, 0x12, 0x29, 0x02, 0x24, 0x20]
        );
    }

    #[test]
    fn test_index_then_data_port_reads_register() {
        let mut rtc = CmosRtc::new(DateTime::parse("2024-02-29T12:34:56"));
        let mut data = [0u8];
        rtc.port_write(PORT_INDEX, &[0x80 | REG_MINUTES])
            .expect("index");
        rtc.port_read(PORT_DATA, &mut data).expect("data");
        assert_eq!(data, [0x34]);
    }

    #[test]
    fn test_cmos_ram_keeps_writes() {
        let mut rtc = CmosRtc::new(None);
        let mut data = [0u8];
        rtc.port_write(PORT_INDEX, &[0x40]).expect("index");
        rtc.port_write(PORT_DATA, &[0xA5]).expect("write");
        rtc.port_read(PORT_DATA, &mut data).expect("read");
        assert_eq!(data, [0xA5]);
    }
}
