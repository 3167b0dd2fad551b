//! A test file's text to its tests, checked: every error names `file:line:column` with the
//! line and a caret, as a bad machine file's does.

use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::Spanned;
use vmm_control::qcode;
use vmm_devices::keymap::{self, KeyEvent};
use vmm_machine::diagnostic::{line_col, Diagnostic};
use vmm_machine::spec::{AccelChoice, Origin, SourceFile};
use vmm_machine::units;

use super::model::{
    beside, Action, Expectation, MachineDesc, Matcher, Region, Step, TestCase, STEP_TIMEOUT,
    TEST_TIMEOUT,
};
use super::schema::{FileTable, MachineTable, StepTable, TestTable};

/// A test file that does not parse or check: the rendered message.
#[derive(Debug)]
pub struct BadFile(pub String);

struct Source<'a> {
    file: &'a SourceFile,
}

impl Source<'_> {
    fn error(&self, span: std::ops::Range<usize>, message: impl Into<String>) -> BadFile {
        BadFile(Diagnostic::new(Origin::File(span), message).render(Some(self.file)))
    }

    fn at<T>(&self, value: &Spanned<T>, message: impl Into<String>) -> BadFile {
        self.error(value.span(), message)
    }
}

/// Reads and checks the test file at `path`.
pub fn load(path: &Path) -> Result<Vec<TestCase>, BadFile> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        BadFile(format!(
            "cannot read test file {}\n  caused by: {e}",
            path.display()
        ))
    })?;
    let file = SourceFile {
        path: path.to_path_buf(),
        text,
    };
    parse(&file)
}

/// Checks the test file `file`.
pub fn parse(file: &SourceFile) -> Result<Vec<TestCase>, BadFile> {
    let source = Source { file };
    let table: FileTable = toml::from_str(&file.text).map_err(|e| {
        let span = e.span().unwrap_or(0..0);
        source.error(span, e.message().trim_end().to_owned())
    })?;
    if table.tests.is_empty() {
        return Err(source.error(0..0, "no [[test]] in this file"));
    }
    let stem = file
        .path
        .file_name()
        .map(|n| {
            n.to_string_lossy()
                .trim_end_matches(".test.toml")
                .to_owned()
        })
        .unwrap_or_default();
    let mut tests: Vec<TestCase> = Vec::new();
    for test in &table.tests {
        let case = test_case(&source, &stem, table.machine.as_ref(), test)?;
        if tests.iter().any(|t| t.name == case.name) {
            return Err(source.at(
                &test.get_ref().name,
                "another test of this file has this name",
            ));
        }
        if let Some(from) = &case.from {
            let saved = tests.iter().any(|t| {
                t.steps
                    .iter()
                    .any(|s| matches!(&s.action, Action::Snapshot(n) if n == from))
            });
            if !saved {
                let at = test
                    .get_ref()
                    .from
                    .as_ref()
                    .map_or(test.span(), Spanned::span);
                return Err(source.error(at, format!("no earlier test of this file saves a snapshot named {from:?} (a step `snapshot = \"{from}\"`)")));
            }
        }
        tests.push(case);
    }
    Ok(tests)
}

fn test_case(
    source: &Source<'_>,
    stem: &str,
    shared: Option<&Spanned<MachineTable>>,
    test: &Spanned<TestTable>,
) -> Result<TestCase, BadFile> {
    let t = test.get_ref();
    let machine = t.machine.as_ref().or(shared).ok_or_else(|| {
        source.at(test, "this test has no machine: add [machine] to the file (image = \"...\" or file = \"...\"), or [test.machine]")
    })?;
    let timeout = match &t.timeout {
        Some(limit) => units::parse_duration(limit.get_ref()).map_err(|e| source.at(limit, e))?,
        None => TEST_TIMEOUT,
    };
    if t.steps.is_empty() {
        return Err(source.at(&t.name, "this test has no steps"));
    }
    let steps = t
        .steps
        .iter()
        .map(|s| step(source, s))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(TestCase {
        id: format!("{stem}::{}", t.name.get_ref()),
        name: t.name.get_ref().clone(),
        file: source.file.path.clone(),
        machine: machine_desc(source, machine)?,
        from: t.from.as_ref().map(|f| f.get_ref().clone()),
        timeout,
        steps,
    })
}

fn machine_desc(
    source: &Source<'_>,
    table: &Spanned<MachineTable>,
) -> Result<MachineDesc, BadFile> {
    let m = table.get_ref();
    let path = |p: &Spanned<String>| beside(&source.file.path, p.get_ref());
    if m.file.is_none() && m.image.is_none() && m.drives.is_empty() {
        return Err(source.at(table, "a machine needs file = \"MACHINE.toml\", image = \"BOOT.bin\" or drives = [\"DISK.img\"]"));
    }
    let drives = m
        .drives
        .iter()
        .map(|d| {
            let mut drive = units::drive(d.get_ref()).map_err(|e| source.at(d, e))?;
            drive.path = beside(&source.file.path, &drive.path.to_string_lossy());
            Ok(drive)
        })
        .collect::<Result<Vec<_>, BadFile>>()?;
    let memory = m
        .memory
        .as_ref()
        .map(|s| units::parse_size(s.get_ref()).map_err(|e| source.at(s, e)))
        .transpose()?;
    let accel = m
        .accel
        .as_ref()
        .map(|a| {
            vmm_machine::named::from_name::<AccelChoice>(a.get_ref())
                .ok_or_else(|| source.at(a, "accel is kvm, interp or auto"))
        })
        .transpose()?;
    Ok(MachineDesc {
        file: m.file.as_ref().map(path),
        image: m.image.as_ref().map(path),
        drives,
        memory,
        accel,
    })
}

/// The action keys a step may have (exactly one of them).
const ACTIONS: &[&str] = &[
    "screen",
    "screen_regex",
    "serial",
    "serial_regex",
    "debugcon",
    "debugcon_regex",
    "type",
    "keys",
    "press",
    "release",
    "serial_in",
    "wait",
    "idle",
    "picture",
    "snapshot",
    "expect",
    "exit",
];

fn step(source: &Source<'_>, step: &Spanned<StepTable>) -> Result<Step, BadFile> {
    let s = step.get_ref();
    let fail = |message: String| source.at(step, message);
    let actions = given(s);
    let name = match actions.as_slice() {
        [one] => *one,
        [] => {
            return Err(fail(format!(
                "a step needs one action: {}",
                ACTIONS.join(", ")
            )))
        }
        many => {
            return Err(fail(format!(
                "a step has one action, not {}",
                many.join(" and ")
            )))
        }
    };
    let timeout = match &s.timeout {
        Some(t) => units::parse_duration(t).map_err(&fail)?,
        None => STEP_TIMEOUT,
    };
    let action = action(source, step, name).map_err(fail)?;
    let (line, _) = line_col(&source.file.text, step.span().start);
    let text = source.file.text[step.span()].trim().to_owned();
    Ok(Step {
        action,
        timeout,
        line,
        text,
    })
}

/// The action keys `s` has, in [`ACTIONS`]' order.
fn given(s: &StepTable) -> Vec<&'static str> {
    [
        ("screen", s.screen.is_some()),
        ("screen_regex", s.screen_regex.is_some()),
        ("serial", s.serial.is_some()),
        ("serial_regex", s.serial_regex.is_some()),
        ("debugcon", s.debugcon.is_some()),
        ("debugcon_regex", s.debugcon_regex.is_some()),
        ("type", s.type_.is_some()),
        ("keys", s.keys.is_some()),
        ("press", s.press.is_some()),
        ("release", s.release.is_some()),
        ("serial_in", s.serial_in.is_some()),
        ("wait", s.wait.is_some()),
        ("idle", s.idle.is_some()),
        ("picture", s.picture.is_some()),
        ("snapshot", s.snapshot.is_some()),
        ("expect", s.expect.is_some()),
        ("exit", s.exit.is_some()),
    ]
    .into_iter()
    .filter(|(_, present)| *present)
    .map(|(name, _)| name)
    .collect()
}

fn action(source: &Source<'_>, step: &Spanned<StepTable>, name: &str) -> Result<Action, String> {
    let s = step.get_ref();
    if s.region.is_some() && !name.starts_with("screen") && name != "picture" {
        return Err("region goes with screen, screen_regex (cells) or picture (pixels)".into());
    }
    if s.tolerance.is_some() && name != "picture" {
        return Err("tolerance goes with picture".into());
    }
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    Ok(match name {
        "screen" => Action::Screen(Matcher::Text(text(&s.screen)), region(s)?),
        "screen_regex" => Action::Screen(regex(&s.screen_regex)?, region(s)?),
        "serial" => Action::Serial(Matcher::Text(text(&s.serial))),
        "serial_regex" => Action::Serial(regex(&s.serial_regex)?),
        "debugcon" => Action::Debugcon(Matcher::Text(text(&s.debugcon))),
        "debugcon_regex" => Action::Debugcon(regex(&s.debugcon_regex)?),
        "type" => Action::Keys(keymap::type_text(&text(&s.type_)).map_err(|e| e.to_string())?),
        "keys" => Action::Keys(qcode::chord(&text(&s.keys))?),
        "press" => Action::Keys(vec![key(&text(&s.press), false)?]),
        "release" => Action::Keys(vec![key(&text(&s.release), true)?]),
        "serial_in" => Action::SerialIn(text(&s.serial_in).into_bytes()),
        "wait" => Action::Wait(units::parse_duration(&text(&s.wait))?),
        "idle" if s.idle == Some(true) => Action::Idle,
        "idle" => return Err("idle = true is the only idle".into()),
        "picture" => Action::Picture {
            golden: beside(&source.file.path, &text(&s.picture)),
            tolerance: s.tolerance.unwrap_or(0),
            region: region(s)?,
        },
        "snapshot" => Action::Snapshot(text(&s.snapshot)),
        "expect" => Action::Expect(expectation(&text(&s.expect))?),
        _ => Action::Expect(Expectation::Exit(
            u32::try_from(s.exit.unwrap_or_default()).map_err(|_| "exit is a 32-bit value")?,
        )),
    })
}

fn regex(pattern: &Option<String>) -> Result<Matcher, String> {
    regex_lite::Regex::new(pattern.as_deref().unwrap_or_default())
        .map(Matcher::Regex)
        .map_err(|e| format!("not a regular expression: {e}"))
}

fn region(s: &StepTable) -> Result<Option<Region>, String> {
    let Some(r) = &s.region else {
        return Ok(None);
    };
    let [top, left, bottom, right] = r.as_slice() else {
        return Err("region is [top, left, bottom, right] (cells, or pixels for a picture)".into());
    };
    let cell = |v: u64| usize::try_from(v).unwrap_or(usize::MAX);
    if top > bottom || left > right {
        return Err(
            "region's top must not be below its bottom, nor its left right of its right".into(),
        );
    }
    Ok(Some(Region {
        top: cell(*top),
        left: cell(*left),
        bottom: cell(*bottom),
        right: cell(*right),
    }))
}

fn key(name: &str, release: bool) -> Result<KeyEvent, String> {
    let key = qcode::key(name).ok_or_else(|| qcode::unknown(name))?;
    Ok(KeyEvent { key, release })
}

/// The outcomes a test may expect, by the names `--stats-json` gives them.
const OUTCOMES: &[&str] = &[
    "running",
    "halted",
    "reset",
    "quit",
    "timeout",
    "fault",
    "device_failed",
    "device_halted",
];

fn expectation(name: &str) -> Result<Expectation, String> {
    match name {
        "running" => Ok(Expectation::Running),
        _ if OUTCOMES.contains(&name) => Ok(Expectation::Outcome(name.to_owned())),
        _ => Err(format!(
            "expect is one of {} (or exit = VALUE for isa-debug-exit)",
            OUTCOMES.join(", ")
        )),
    }
}

/// The files named by `paths` (folders searched for `*.test.toml`), in order.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found = Vec::new();
            collect(path, &mut found).map_err(|e| format!("{}: {e}", path.display()))?;
            found.sort();
            files.extend(found);
        } else if path.is_file() {
            files.push(path.clone());
        } else {
            return Err(format!("{}: no such test file or folder", path.display()));
        }
    }
    Ok(files)
}

fn collect(dir: &Path, found: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect(&path, found)?;
        } else if path.to_string_lossy().ends_with(".test.toml") {
            // `./a.test.toml` is `a.test.toml` in messages.
            found.push(
                path.strip_prefix(".")
                    .map(Path::to_path_buf)
                    .unwrap_or(path),
            );
        }
    }
    Ok(())
}

/// A duration for messages: `1.5s`, `250ms`.
pub fn seconds(d: Duration) -> String {
    format!("{:.2}s", d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str) -> Result<Vec<TestCase>, BadFile> {
        parse(&SourceFile {
            path: PathBuf::from("t.test.toml"),
            text: text.to_owned(),
        })
    }

    #[test]
    fn test_every_action_key_is_seen_and_listed() {
        let all = StepTable {
            screen: Some(String::new()),
            screen_regex: Some(String::new()),
            serial: Some(String::new()),
            serial_regex: Some(String::new()),
            debugcon: Some(String::new()),
            debugcon_regex: Some(String::new()),
            type_: Some(String::new()),
            keys: Some(String::new()),
            press: Some(String::new()),
            release: Some(String::new()),
            serial_in: Some(String::new()),
            wait: Some(String::new()),
            idle: Some(true),
            picture: Some(String::new()),
            snapshot: Some(String::new()),
            expect: Some(String::new()),
            exit: Some(0),
            ..StepTable::default()
        };
        assert_eq!(given(&all), ACTIONS);
    }

    #[test]
    fn test_steps_get_the_default_timeout_and_their_line() {
        let tests = check("[machine]\nimage = \"x\"\n[[test]]\nname = \"t\"\nsteps = [\n  { wait = \"1ms\" },\n]\n").unwrap();
        assert_eq!(
            (tests[0].steps[0].timeout, tests[0].steps[0].line),
            (STEP_TIMEOUT, 6)
        );
    }

    #[test]
    fn test_paths_are_relative_to_the_test_file() {
        let tests = check(
            "[machine]\nimage = \"boot.bin\"\n[[test]]\nname = \"t\"\nsteps = [{ idle = true }]\n",
        )
        .unwrap();
        assert_eq!(tests[0].machine.image, Some(PathBuf::from("boot.bin")));
    }

    #[test]
    fn test_a_region_upside_down_is_refused() {
        let bad = check("[machine]\nimage = \"x\"\n[[test]]\nname = \"t\"\nsteps = [{ screen = \"a\", region = [5, 0, 1, 9] }]\n");
        assert!(bad
            .unwrap_err()
            .0
            .contains("region's top must not be below its bottom"));
    }

    #[test]
    fn test_two_tests_of_one_name_are_refused() {
        let bad = check("[machine]\nimage = \"x\"\n[[test]]\nname = \"t\"\nsteps = [{ idle = true }]\n[[test]]\nname = \"t\"\nsteps = [{ idle = true }]\n");
        assert!(bad
            .unwrap_err()
            .0
            .contains("another test of this file has this name"));
    }
}
