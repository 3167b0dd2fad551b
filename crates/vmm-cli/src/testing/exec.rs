//! Running one test: its machine, then its steps in order, each polling the machine's state
//! (never sleeping on a guess) until it holds or the step's limit passes.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use vmm_core::RunOutcome;
use vmm_machine::PluginPath;

use super::machine::{self, Running, POLL};
use super::model::{Action, Expectation, Matcher, Region, Step, TestCase};
use super::parse::seconds;
use super::picture;
use super::view::{sanitize, screen_text};

/// What every test of a run shares.
pub struct Context {
    /// Where plugins are found.
    pub plugins: PluginPath,
    /// Snapshots saved by `snapshot` steps: (test file, name) to the file.
    pub snapshots: Mutex<HashMap<(PathBuf, String), PathBuf>>,
    /// Where those files go.
    pub snapshot_dir: PathBuf,
    /// Pictures are written, not compared.
    pub update_goldens: bool,
    /// Where a failing test leaves what it saw.
    pub artifacts: PathBuf,
}

/// How a test went.
#[derive(Debug)]
pub struct Verdict {
    /// The test's id.
    pub id: String,
    /// Why it failed, if it did.
    pub failure: Option<String>,
    /// How long it took.
    pub duration: Duration,
}

/// Runs `case`.
pub fn run(case: &TestCase, ctx: &Context) -> Verdict {
    let start = Instant::now();
    let failure = run_steps(case, ctx).err();
    Verdict {
        id: case.id.clone(),
        failure,
        duration: start.elapsed(),
    }
}

fn run_steps(case: &TestCase, ctx: &Context) -> Result<(), String> {
    let from = match &case.from {
        Some(name) => {
            let key = (case.file.clone(), name.clone());
            let saved = vmm_machine::sync::lock(&ctx.snapshots).get(&key).cloned();
            Some(saved.ok_or_else(|| {
                format!("the snapshot {name:?} was not saved (the test that saves it failed)")
            })?)
        }
        None => None,
    };
    let mut vm = machine::start(&case.machine, from.as_deref(), &ctx.plugins)
        .map_err(|e| format!("the machine could not be built: {e}"))?;
    let end = Instant::now() + case.timeout;
    for (i, step) in case.steps.iter().enumerate() {
        let deadline = (Instant::now() + step.timeout).min(end);
        if let Err(why) = run_step(&mut vm, step, deadline, case, ctx) {
            let mut message = format!("step {} (line {}: {}): {why}", i + 1, step.line, step.text);
            if Instant::now() >= end {
                message.push_str(&format!(
                    "\n(the test's limit of {} passed)",
                    seconds(case.timeout)
                ));
            }
            let saved = super::artifacts::save(&mut vm, case, &message, &ctx.artifacts);
            message.push_str(&format!("\n{saved}"));
            return Err(message);
        }
    }
    Ok(())
}

fn run_step(
    vm: &mut Running,
    step: &Step,
    deadline: Instant,
    case: &TestCase,
    ctx: &Context,
) -> Result<(), String> {
    match &step.action {
        Action::Screen(matcher, region) => wait_for_screen(vm, matcher, *region, deadline),
        Action::Serial(matcher) => wait_for_output(vm, matcher, deadline, "serial"),
        Action::Debugcon(matcher) => wait_for_output(vm, matcher, deadline, "debugcon"),
        Action::Keys(events) => {
            if !vm.handle.has_keyboard() {
                return Err("this machine has no keyboard".into());
            }
            let handle = vm.handle.clone();
            hand_over(events, deadline, "key events", |rest| handle.keys(rest))
        }
        Action::SerialIn(bytes) => {
            if !vm.handle.has_serial() {
                return Err("this machine has no serial port".into());
            }
            let handle = vm.handle.clone();
            hand_over(bytes, deadline, "serial bytes", |rest| {
                handle.serial_in(rest)
            })
        }
        Action::Wait(time) => {
            std::thread::sleep((*time).min(deadline.saturating_duration_since(Instant::now())));
            Ok(())
        }
        Action::Idle => wait_until_idle(vm, deadline),
        Action::Picture {
            golden,
            tolerance,
            region,
        } => picture::check(vm, golden, (*tolerance, *region), ctx.update_goldens),
        Action::Snapshot(name) => {
            let file = ctx
                .snapshot_dir
                .join(format!("{}-{name}.snap", sanitize(&case.id)));
            vm.save(&file)?;
            let key = (case.file.clone(), name.clone());
            vmm_machine::sync::lock(&ctx.snapshots).insert(key, file);
            Ok(())
        }
        Action::Expect(expected) => expect(vm, expected, deadline),
    }
}

fn wait_for_screen(
    vm: &mut Running,
    matcher: &Matcher,
    region: Option<Region>,
    deadline: Instant,
) -> Result<(), String> {
    let start = Instant::now();
    loop {
        // The end is looked at first: what the guest did before it is all in what is read next.
        let ended = vm.ended().map(|r| r.outcome.clone());
        let screen = screen_text(vm, region)?;
        if matcher.matches(&screen) {
            return Ok(());
        }
        if ended.is_some() || Instant::now() >= deadline {
            let why = match ended {
                Some(outcome) => format!("the run ended ({outcome})"),
                None => format!("waited {}", seconds(start.elapsed())),
            };
            let place = if region.is_some() {
                "the region"
            } else {
                "the screen"
            };
            return Err(format!(
                "{why}; expected {place} to show {}; it shows:\n{screen}",
                describe(matcher)
            ));
        }
        std::thread::sleep(POLL);
    }
}

fn wait_for_output(
    vm: &mut Running,
    matcher: &Matcher,
    deadline: Instant,
    what: &str,
) -> Result<(), String> {
    let start = Instant::now();
    loop {
        // The end is looked at first: what the guest wrote before it is all in what is read next.
        let ended = vm.ended().map(|r| r.outcome.clone());
        let buffer = if what == "serial" {
            &vm.serial
        } else {
            &vm.debugcon
        };
        let text = String::from_utf8_lossy(&buffer.contents()).into_owned();
        if matcher.matches(&text) {
            return Ok(());
        }
        if ended.is_some() || Instant::now() >= deadline {
            let why = match ended {
                Some(outcome) => format!("the run ended ({outcome})"),
                None => format!("waited {}", seconds(start.elapsed())),
            };
            return Err(format!(
                "{why}; expected the {what} output to show {}; it is:\n{text}",
                describe(matcher)
            ));
        }
        std::thread::sleep(POLL);
    }
}

fn wait_until_idle(vm: &mut Running, deadline: Instant) -> Result<(), String> {
    let start = Instant::now();
    while !vm.handle.is_idle() {
        if let Some(report) = vm.ended() {
            return Err(format!(
                "the run ended ({}) before the guest waited",
                report.outcome
            ));
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "waited {} for the guest to wait for an interrupt or a key; it kept running",
                seconds(start.elapsed())
            ));
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    Ok(())
}

fn describe(matcher: &Matcher) -> String {
    match matcher {
        Matcher::Text(text) => format!("{text:?}"),
        Matcher::Regex(re) => format!("a match for /{}/", re.as_str()),
    }
}

/// Gives `items` to `take` as the guest makes room, until `deadline`.
fn hand_over<T>(
    items: &[T],
    deadline: Instant,
    what: &str,
    mut take: impl FnMut(&[T]) -> usize,
) -> Result<(), String> {
    let mut rest = items;
    while !rest.is_empty() {
        let taken = take(rest).min(rest.len());
        rest = &rest[taken..];
        if taken == 0 {
            if Instant::now() >= deadline {
                return Err(format!(
                    "{} of {} {what} taken; the guest made no room for the rest",
                    items.len() - rest.len(),
                    items.len()
                ));
            }
            std::thread::sleep(POLL);
        }
    }
    Ok(())
}

fn expect(vm: &mut Running, expected: &Expectation, deadline: Instant) -> Result<(), String> {
    if *expected == Expectation::Running {
        return match vm.ended() {
            Some(report) => Err(format!(
                "expected the guest still running; the run ended: {}",
                report.outcome
            )),
            None => Ok(()),
        };
    }
    let Some(report) = vm.report_by(deadline) else {
        return Err(format!(
            "expected the run to end ({}); it is still running",
            wanted(expected)
        ));
    };
    let outcome = &report.outcome;
    let met = match expected {
        Expectation::Exit(v) => *outcome == RunOutcome::GuestExit(*v),
        Expectation::Outcome(name) if name == "fault" => matches!(outcome, RunOutcome::Fault(_)),
        Expectation::Outcome(name) => outcome.name() == name,
        Expectation::Running => false,
    };
    if met {
        Ok(())
    } else {
        Err(format!(
            "expected the run to end {}; it ended: {outcome} ({})",
            wanted(expected),
            outcome.name()
        ))
    }
}

fn wanted(expected: &Expectation) -> String {
    match expected {
        Expectation::Exit(v) => format!("with isa-debug-exit value {v:#x}"),
        Expectation::Outcome(name) => format!("as {name}"),
        Expectation::Running => "running".into(),
    }
}
