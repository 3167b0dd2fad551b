//! Where the machine's messages go: the machine crate logs through the `log` facade (a BIOS
//! service that is not there, a plugin's message, a disk without a boot signature); the
//! command line prints each on stderr as `picovmm: MESSAGE`, as it always has. Other crates'
//! records (gdbstub's "Unknown command" for packets it answers as unsupported) are theirs to
//! debug: only their warnings and errors are printed.

use log::{Level, LevelFilter, Metadata, Record};

struct StderrLog;

impl log::Log for StderrLog {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        let ours = metadata.target().starts_with("vmm_");
        metadata.level() <= if ours { Level::Info } else { Level::Warn }
    }

    fn log(&self, record: &Record<'_>) {
        if self.enabled(record.metadata()) {
            crate::errln!("picovmm: {}", record.args());
        }
    }

    fn flush(&self) {}
}

static LOGGER: StderrLog = StderrLog;

/// Prints the machine's messages on stderr from now on.
pub fn init() {
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(LevelFilter::Info);
    }
}
