//! Tests as the runner runs them: each test's machine, its steps with their limits, checked.

use std::path::{Path, PathBuf};
use std::time::Duration;

use vmm_devices::keymap::KeyEvent;
use vmm_machine::spec::{AccelChoice, DriveSpec};

/// The default limit of a step.
pub const STEP_TIMEOUT: Duration = Duration::from_secs(10);
/// The default limit of a whole test.
pub const TEST_TIMEOUT: Duration = Duration::from_secs(60);

/// One test, ready to run.
#[derive(Clone, Debug)]
pub struct TestCase {
    /// `FILE::NAME`, unique in a run.
    pub id: String,
    /// The name its file gives it.
    pub name: String,
    /// The test file.
    pub file: PathBuf,
    /// The machine it runs on.
    pub machine: MachineDesc,
    /// The snapshot (by name, saved by an earlier test of the file) it starts from.
    pub from: Option<String>,
    /// Its overall limit.
    pub timeout: Duration,
    /// Its steps.
    pub steps: Vec<Step>,
}

/// The machine of a test.
#[derive(Clone, Debug)]
pub struct MachineDesc {
    /// A machine file, or none for the default machine.
    pub file: Option<PathBuf>,
    /// The boot image (replacing the machine file's).
    pub image: Option<PathBuf>,
    /// Disk images (replacing the machine file's).
    pub drives: Vec<DriveSpec>,
    /// RAM size.
    pub memory: Option<u64>,
    /// The CPU backend.
    pub accel: Option<AccelChoice>,
}

/// One step: what it does, its limit, and where it was written (for messages).
#[derive(Clone, Debug)]
pub struct Step {
    /// What it does.
    pub action: Action,
    /// How long it may take.
    pub timeout: Duration,
    /// Its line in the test file.
    pub line: usize,
    /// How it was written (for messages): `screen = "HELLO"`.
    pub text: String,
}

/// Text to look for.
#[derive(Clone, Debug)]
pub enum Matcher {
    /// Anywhere.
    Text(String),
    /// A regular expression.
    Regex(regex_lite::Regex),
}

impl Matcher {
    /// Whether `haystack` matches.
    pub fn matches(&self, haystack: &str) -> bool {
        match self {
            Matcher::Text(text) => haystack.contains(text.as_str()),
            Matcher::Regex(re) => re.is_match(haystack),
        }
    }
}

/// Cells of the text screen (or pixels of a picture): top, left, bottom, right, inclusive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Region {
    /// First row.
    pub top: usize,
    /// First column.
    pub left: usize,
    /// Last row.
    pub bottom: usize,
    /// Last column.
    pub right: usize,
}

/// What a step does.
#[derive(Clone, Debug)]
pub enum Action {
    /// Wait for the screen (within a region).
    Screen(Matcher, Option<Region>),
    /// Wait for serial output.
    Serial(Matcher),
    /// Wait for debug-console output.
    Debugcon(Matcher),
    /// Press and release keys (typed text, a chord, a held key or its release).
    Keys(Vec<KeyEvent>),
    /// Bytes into COM1.
    SerialIn(Vec<u8>),
    /// Let the guest run.
    Wait(Duration),
    /// Wait until the guest waits for an interrupt or a key.
    Idle,
    /// Compare the screen with a golden PNG.
    Picture {
        /// The golden file.
        golden: PathBuf,
        /// Pixels that may differ.
        tolerance: u64,
        /// Only these pixels are compared: top, left, bottom, right (inclusive).
        region: Option<Region>,
    },
    /// Save the machine for a later test.
    Snapshot(String),
    /// How the run ends (or that it has not).
    Expect(Expectation),
}

/// An expected end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expectation {
    /// The run has not ended.
    Running,
    /// It ended with this outcome name (`halted`, `reset`, `timeout`...); `fault` is any fault.
    Outcome(String),
    /// It ended through isa-debug-exit with this value.
    Exit(u32),
}

/// `path` resolved against the folder of the test file `file`.
pub fn beside(file: &Path, path: &str) -> PathBuf {
    file.parent().unwrap_or(Path::new("")).join(path)
}
