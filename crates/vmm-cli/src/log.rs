//! Where the machine's messages go: the machine crates log through the `log` facade (a BIOS
//! service that is not there, a plugin's message, an access nobody claims); the command line
//! prints each on stderr as `picovmm: MESSAGE`, as it always has. Other crates' records
//! (gdbstub's "Unknown command" for packets it answers as unsupported) are theirs to debug:
//! only their warnings and errors are printed.
//!
//! `-q` prints errors only, `-v` adds picovmm's debug records and other crates' information,
//! `-vv` everything; `RUST_LOG` (`warn`, `vmm_machine=debug,gdbstub=off`, as env_logger reads
//! it) decides per target instead. `--log-file FILE` also writes every record shown, with a UTC
//! timestamp, its level and its target, to FILE.

use std::io::Write;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use log::{LevelFilter, Metadata, Record};

/// What the command line asked for.
#[derive(Debug, Default)]
pub struct Settings {
    /// `-v` given this many times.
    pub verbose: u8,
    /// `-q`.
    pub quiet: bool,
    /// `--log-file`, opened.
    pub file: Option<std::fs::File>,
    /// `RUST_LOG`'s value.
    pub filter: Option<String>,
}

struct Logger {
    /// The default level for picovmm's own records and for other crates'.
    ours: LevelFilter,
    others: LevelFilter,
    /// `RUST_LOG`'s rules: a target prefix (empty for all) and its level, later rules winning.
    rules: Vec<(String, LevelFilter)>,
    file: Option<Mutex<std::fs::File>>,
}

impl Logger {
    fn level(&self, target: &str) -> LevelFilter {
        let rule = self
            .rules
            .iter()
            .rev()
            .find(|(prefix, _)| target.starts_with(prefix.as_str()));
        match rule {
            Some((_, level)) => *level,
            None if target.starts_with("vmm_") => self.ours,
            None => self.others,
        }
    }
}

impl log::Log for Logger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= self.level(metadata.target())
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        crate::errln!("picovmm: {}", record.args());
        if let Some(file) = &self.file {
            let mut file = vmm_machine::sync::lock(file);
            let _ = writeln!(
                file,
                "{} {:5} {}: {}",
                timestamp(SystemTime::now()),
                record.level(),
                record.target(),
                record.args()
            );
        }
    }

    fn flush(&self) {
        if let Some(file) = &self.file {
            let _ = vmm_machine::sync::lock(file).flush();
        }
    }
}

/// `RUST_LOG`'s rules: `LEVEL` or `TARGET=LEVEL`, comma-separated; unknown ones are skipped.
fn rules(filter: &str) -> Vec<(String, LevelFilter)> {
    filter
        .split(',')
        .filter_map(|rule| {
            let (target, level) = match rule.trim().split_once('=') {
                Some((t, l)) => (t.trim(), l.trim()),
                None => ("", rule.trim()),
            };
            level
                .parse::<LevelFilter>()
                .ok()
                .map(|l| (target.to_owned(), l))
        })
        .collect()
}

/// Prints the machine's messages on stderr (and the log file) from now on.
pub fn init(settings: Settings) {
    let (ours, others) = match (settings.quiet, settings.verbose) {
        (true, _) => (LevelFilter::Error, LevelFilter::Error),
        (false, 0) => (LevelFilter::Info, LevelFilter::Warn),
        (false, 1) => (LevelFilter::Debug, LevelFilter::Info),
        (false, _) => (LevelFilter::Trace, LevelFilter::Trace),
    };
    let rules = settings.filter.as_deref().map(rules).unwrap_or_default();
    let max = rules
        .iter()
        .map(|(_, l)| *l)
        .chain([ours, others])
        .max()
        .unwrap_or(LevelFilter::Info);
    let logger = Logger {
        ours,
        others,
        rules,
        file: settings.file.map(Mutex::new),
    };
    // The logger lives as long as the process: leaked once, at start.
    if log::set_logger(Box::leak(Box::new(logger))).is_ok() {
        log::set_max_level(max);
    }
}

/// `time` as `YYYY-MM-DDTHH:MM:SS.mmmZ` (UTC).
pub fn timestamp(time: SystemTime) -> String {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (days, rest) = ((secs / 86_400) as i64, secs % 86_400);
    // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rest / 3_600,
        rest % 3_600 / 60,
        rest % 60,
        since.subsec_millis()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn test_timestamp_is_utc_calendar_time() {
        let t = UNIX_EPOCH + Duration::from_millis(1_796_467_563_123);
        assert_eq!(timestamp(t), "2026-12-05T10:46:03.123Z");
    }

    #[test]
    fn test_timestamp_of_a_leap_day() {
        let t = UNIX_EPOCH + Duration::from_secs(1_709_164_800);
        assert_eq!(timestamp(t), "2024-02-29T00:00:00.000Z");
    }

    #[test]
    fn test_rust_log_rules_with_targets_and_a_default() {
        assert_eq!(
            rules("warn,vmm_machine=debug,bad=loud"),
            vec![
                ("".into(), LevelFilter::Warn),
                ("vmm_machine".into(), LevelFilter::Debug)
            ]
        );
    }

    #[test]
    fn test_later_rules_win_and_others_keep_their_default() {
        let logger = Logger {
            ours: LevelFilter::Info,
            others: LevelFilter::Warn,
            rules: rules("vmm_=off,vmm_core=warn"),
            file: None,
        };
        assert_eq!(
            (
                logger.level("vmm_core::vcpu"),
                logger.level("vmm_bios"),
                logger.level("gdbstub")
            ),
            (LevelFilter::Warn, LevelFilter::Off, LevelFilter::Warn)
        );
    }
}
