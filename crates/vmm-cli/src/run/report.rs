//! The last phase: after the run, the terminal is the user's again; then the held console
//! output, the screenshot, how the run ended, the screen as text, the statistics, the memory
//! dump and the snapshot, in that order.

use std::io::Write;
use vmm_machine::frame::Contents;

use vmm_core::{Fault, RunOutcome, RunReport};
use vmm_machine::snapshot::DriveRecord;
use vmm_machine::Machine;

use super::attach::FrontEnds;
use super::console::Console;
use super::prepare::OutputFiles;
use crate::cli::{RunArgs, ScreenFormat};
use crate::error::CliError;
use crate::{stats, status};

/// How long the closing message waits for the guest's output to reach a reader.
const OUTPUT_GRACE: std::time::Duration = std::time::Duration::from_millis(200);

pub(super) fn report(
    machine: &Machine,
    report: RunReport,
    front: FrontEnds,
    files: OutputFiles,
    console: &Console,
    args: &RunArgs,
) -> Result<i32, CliError> {
    // The terminal is the user's again before anything more is printed.
    drop(front);
    print_held(console);
    if let (Some(sink), Some(frame)) = (files.screenshot, machine.capture()) {
        sink.write(&frame.png())?;
    }
    // The outcome is known: on a shared stream (a terminal) say it after the guest's output,
    // but no later than OUTPUT_GRACE when the reader is not reading; on separate streams, now.
    machine.flush_outputs();
    if crate::output::shares_stderr() {
        console.stdout.drain_for(OUTPUT_GRACE);
    }
    report_outcome(&report, args);
    let mid_line = machine.flush_outputs();
    let lost = console.stdout.finish();
    if lost > 0 {
        crate::errln!(
            "picovmm: stopped again while the guest's output drained: {lost} bytes of it were not delivered"
        );
        // stdout is the blocked writer's: no screen, no statistics there.
        return Ok(status::for_outcome(&report.outcome));
    }
    print_screen(machine, args.output.screen, mid_line);
    let code = status::for_outcome(&report.outcome);
    if args.output.stats {
        crate::err!("{}", stats::summary(&report));
    }
    if let Some(sink) = files.stats_json {
        sink.write(stats::to_json(&report, code).as_bytes())?;
    }
    if let Some(save) = files.pmemsave {
        save.write(machine.memory())?;
    }
    save_snapshot(machine, &report, &files.drive_paths, &files.def, args)?;
    Ok(code)
}

/// What the guest printed while the live display owned the terminal.
fn print_held(console: &Console) {
    let (held_bytes, dropped) = console.held.take();
    if !held_bytes.is_empty() {
        let mut out = std::io::stdout();
        let _ = out.write_all(&held_bytes);
        let _ = out.flush();
    }
    if dropped > 0 {
        crate::errln!(
            "picovmm: {dropped} bytes of console output past the first {} MiB were dropped while the display was live",
            crate::display::HELD_OUTPUT_LIMIT >> 20
        );
    }
}

/// The text screen on stdout, as `--screen` asks (a note on stderr in a graphics mode).
fn print_screen(machine: &Machine, format: ScreenFormat, mid_line: bool) {
    let mut stdout = std::io::stdout().lock();
    let frame = machine
        .capture()
        .filter(|_| format != ScreenFormat::None && machine.board().devices().screen().is_some());
    if let Some(frame) = frame {
        let text = match format {
            ScreenFormat::Ansi => frame.ansi(),
            _ => frame.text(),
        };
        let text = text.unwrap_or_else(|| {
            if let Contents::Graphics { width, height, .. } | Contents::Rgb { width, height, .. } =
                frame.contents
            {
                crate::errln!(
                    "picovmm: the screen is in a {width}x{height} graphics mode: not printed as \
                     text (--screenshot FILE saves it as a picture)"
                );
            }
            String::new()
        });
        if mid_line && !text.is_empty() {
            let _ = stdout.write_all(b"\n");
        }
        let _ = stdout.write_all(text.as_bytes());
    }
    let _ = stdout.flush();
}

/// `--snapshot-on-exit`: the machine saved when the run was stopped.
fn save_snapshot(
    machine: &Machine,
    report: &RunReport,
    drive_paths: &[std::path::PathBuf],
    def: &vmm_machine::snapshot::MachineDef,
    args: &RunArgs,
) -> Result<(), CliError> {
    let stopped = matches!(
        report.outcome,
        RunOutcome::Timeout
            | RunOutcome::Interrupted
            | RunOutcome::Quit
            | RunOutcome::Signal(_)
            | RunOutcome::GuestExit(_)
    );
    let Some(path) = args.output.snapshot_on_exit.as_ref() else {
        return Ok(());
    };
    if !stopped {
        crate::errln!(
            "picovmm: no snapshot written to {:?}: the run ended ({}) rather than being stopped; a snapshot keeps a machine stopped by --timeout, a signal, Ctrl-a x or isa-debug-exit",
            path,
            report.outcome.name()
        );
        return Ok(());
    }
    let drives = drive_paths
        .iter()
        .map(|p| DriveRecord::of(p))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| CliError::Output {
            path: path.clone(),
            source,
        })?;
    let bytes = machine.save_snapshot(def, &drives, path)?;
    crate::errln!(
        "picovmm: snapshot written to {} ({} KiB); continue it with `picovmm restore {}`",
        path.display(),
        bytes / 1024,
        path.display()
    );
    Ok(())
}

/// Says on stderr how the run ended, when it is not a plain halt or guest exit.
fn report_outcome(report: &RunReport, args: &RunArgs) {
    let at = report
        .registers
        .map(|r| format!(" at cs:ip={}", r.cs_ip()))
        .unwrap_or_default();
    match &report.outcome {
        RunOutcome::Halted | RunOutcome::GuestExit(_) => {}
        RunOutcome::Reset => crate::errln!(
            "picovmm: the guest reset the machine (i8042 reset pulse); the run ends here, as under QEMU's -no-reboot{at}"
        ),
        RunOutcome::Timeout => {
            let limit = args
                .output
                .timeout
                .map(|t| format!(" after {t:?}"))
                .unwrap_or_default();
            crate::errln!("picovmm: timed out{limit}; the guest was stopped{at}");
        }
        RunOutcome::Interrupted => crate::errln!("picovmm: interrupted; the guest was stopped{at}"),
        RunOutcome::Quit => crate::errln!("picovmm: quit from the control socket; the guest was stopped{at}"),
        RunOutcome::DeviceHalted { device, message } => {
            crate::errln!("picovmm: device {device} ended the run: {message}")
        }
        RunOutcome::Signal(signal) => {
            crate::errln!(
                "picovmm: {}; the guest was stopped{at}",
                signal_name(*signal)
            )
        }
        outcome => {
            crate::errln!("Error: {outcome}");
            if let Some(regs) = report.registers {
                for line in regs.to_string().lines() {
                    crate::errln!("  {line}");
                }
            }
            match outcome {
                RunOutcome::Fault(Fault::InternalError { code, .. }) if code.is_empty() => {
                    note_no_code(report)
                }
                RunOutcome::Fault(Fault::CodeOutsideMemory) => note_no_code(report),
                RunOutcome::Fault(fault) if fault.is_emulation_failure() => crate::errln!(
                    "  note: this host's KVM emulates some guest instructions in software and \
                     cannot emulate this one"
                ),
                _ => {}
            }
        }
    }
}

/// How a stop signal is named in the closing message.
fn signal_name(signal: i32) -> String {
    match signal {
        libc::SIGTERM => "terminated (SIGTERM)".to_owned(),
        libc::SIGHUP => "hung up (SIGHUP)".to_owned(),
        libc::SIGQUIT => "quit (SIGQUIT)".to_owned(),
        other => format!("stopped by signal {other}"),
    }
}

/// The note for a guest whose next instruction is where there is no memory.
fn note_no_code(report: &RunReport) {
    let at = report
        .registers
        .map(|r| format!(" ({:#x})", r.code_address()))
        .unwrap_or_default();
    crate::errln!(
        "  note: CS:IP{at} is not in guest RAM: the guest jumped where there is no memory"
    );
}
