//! A test file as TOML gives it: tables and values with where they were written, before any
//! check beyond their types (unknown keys are refused here, with their place).

use serde::Deserialize;
use toml::Spanned;

/// A whole test file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileTable {
    /// The machine every test of the file runs on, unless a test names its own.
    pub machine: Option<Spanned<MachineTable>>,
    /// The tests, in order.
    #[serde(default, rename = "test")]
    pub tests: Vec<Spanned<TestTable>>,
}

/// `[machine]`: a machine file, or a boot image on the default machine.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MachineTable {
    /// A machine file, relative to the test file.
    pub file: Option<Spanned<String>>,
    /// A boot image for the default machine (as `run --image`).
    pub image: Option<Spanned<String>>,
    /// Disk images, as `run --drive` takes them.
    #[serde(default)]
    pub drives: Vec<Spanned<String>>,
    /// RAM size, as `run --memory`.
    pub memory: Option<Spanned<String>>,
    /// The CPU backend, as `run --accel`.
    pub accel: Option<Spanned<String>>,
}

/// One `[[test]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestTable {
    /// Its name, unique in the file.
    pub name: Spanned<String>,
    /// A machine of its own.
    pub machine: Option<Spanned<MachineTable>>,
    /// Start from the snapshot an earlier test of the file saved under this name.
    pub from: Option<Spanned<String>>,
    /// The whole test's limit (default 60s).
    pub timeout: Option<Spanned<String>>,
    /// What it does, in order.
    pub steps: Vec<Spanned<StepTable>>,
}

/// One step: exactly one action, and its options.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepTable {
    /// Wait until the text screen shows this.
    pub screen: Option<String>,
    /// Wait until the text screen matches this regular expression.
    pub screen_regex: Option<String>,
    /// Where on the screen to look: `[top, left, bottom, right]` in cells, inclusive.
    pub region: Option<Vec<u64>>,
    /// Wait until the serial output so far shows this.
    pub serial: Option<String>,
    /// ... or matches this.
    pub serial_regex: Option<String>,
    /// Wait until the debug console's output so far shows this.
    pub debugcon: Option<String>,
    /// ... or matches this.
    pub debugcon_regex: Option<String>,
    /// Type text (`{Enter}`, `{F1}` name keys).
    #[serde(rename = "type")]
    pub type_: Option<String>,
    /// Press a chord of QEMU key names (`ctrl-alt-delete`) and release it.
    pub keys: Option<String>,
    /// Press and hold a key (QEMU's name).
    pub press: Option<String>,
    /// Release a held key.
    pub release: Option<String>,
    /// Bytes into COM1's receive FIFO.
    pub serial_in: Option<String>,
    /// Let the guest run this long.
    pub wait: Option<String>,
    /// Wait until the guest waits (in `hlt` for an interrupt, or in the BIOS for a key).
    pub idle: Option<bool>,
    /// Compare the screen with this PNG (relative to the test file).
    pub picture: Option<String>,
    /// How many pixels may differ from the picture.
    pub tolerance: Option<u64>,
    /// Save the machine under this name, for a later test's `from`.
    pub snapshot: Option<String>,
    /// How the run ends: `halted`, `reset`, `quit`, `timeout`, `fault`, or `running` (it has not).
    pub expect: Option<String>,
    /// The run ends with this isa-debug-exit value.
    pub exit: Option<u64>,
    /// This step's limit (default 10s).
    pub timeout: Option<String>,
}
