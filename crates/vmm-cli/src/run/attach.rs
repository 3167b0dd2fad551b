//! The third phase: the front ends around a built machine. Stop signals, stdin into the
//! first serial port (raw when it is a terminal), the live display, the gdb stub and the time
//! limit; each stands on the machine's handle, none knows another.

use std::sync::Arc;
use std::thread;

use vmm_core::{RunReport, StopReason};
use vmm_machine::{Machine, MachineHandle};

use super::console::Console;
use super::control::{self, Control};
use super::prepare::OutputFiles;
use crate::cli::RunArgs;
use crate::display::LiveDisplay;
use crate::error::{thread as thread_error, CliError};
use crate::gdb::{GdbServer, Hub};
use crate::terminal::RawMode;
use crate::{signals, status};

/// The front ends of one run; the terminal is restored when they drop.
pub(super) struct FrontEnds {
    control: Control,
    _display: Option<LiveDisplay>,
    gdb: Option<(GdbServer, Arc<Hub>, bool)>,
    _raw: Option<RawMode>,
}

/// How long the serial feeder waits for the guest to drain a full receive FIFO.
const FIFO_FULL_WAIT: std::time::Duration = std::time::Duration::from_millis(1);

pub(super) fn attach(
    machine: &Machine,
    files: &mut OutputFiles,
    args: &RunArgs,
    console: &Console,
) -> Result<FrontEnds, CliError> {
    let handle = machine.handle();
    console.stdout.stop_waiting_on(handle.control().clone());
    signals::stop_on_signals(handle.control().clone()).map_err(CliError::Signals)?;
    // The first serial port reads stdin, raw when it is a terminal; restored when `_raw` drops.
    // The reader starts when the guest first looks for input there (a guest that never does
    // costs no thread). With the live display, stdin is the keyboard instead.
    let stdin_port = super::routing::stdin_port(args).filter(|p| handle.has_serial_at(*p));
    let raw = match stdin_port {
        Some(port) if !console.live => {
            let feeder = handle.clone();
            handle.when_serial_input_wanted(port, move || {
                if let Err(e) = feed_serial(feeder, port) {
                    crate::errln!("picovmm: {e}");
                }
            });
            RawMode::enable()
        }
        _ => None,
    };
    files
        .chardevs
        .start(&handle)
        .map_err(thread_error("serial"))?;
    if console.live && !machine.has_screen() {
        return Err(CliError::Usage(
            "--display terminal needs a screen: this machine has no vga-text device and no BIOS"
                .into(),
        ));
    }
    if args.output.screenshot.is_some() && !machine.has_screen() {
        return Err(CliError::Usage(
            "--screenshot needs a screen: this machine has no vga-text device and no BIOS".into(),
        ));
    }
    open_screenshot(args, files)?;
    let control = control::start(machine, files, args, console)?;
    let display = match (machine.has_screen(), console.live) {
        (true, true) => Some(
            LiveDisplay::start(control.session.clone(), args.output.screenshot.clone())
                .map_err(thread_error("display"))?,
        ),
        _ => None,
    };
    if let Some(limit) = args.output.timeout {
        // The vCPU runs on this thread; only a time limit needs a second one.
        let control = handle.control().clone();
        thread::Builder::new()
            .name("timeout".into())
            .spawn(move || {
                thread::sleep(limit);
                control.stop(StopReason::Timeout);
            })
            .map_err(thread_error("timeout"))?;
    }
    let gdb = match &files.gdb {
        Some(listener) => Some(start_gdb(listener, handle, files.gdb_wait)?),
        None => None,
    };
    Ok(FrontEnds {
        control,
        _display: display,
        gdb,
        _raw: raw,
    })
}

/// Creates `--screenshot`'s file now, so a bad path never costs a run.
fn open_screenshot(args: &RunArgs, files: &mut OutputFiles) -> Result<(), CliError> {
    if let Some(path) = &args.output.screenshot {
        files.screenshot = Some(super::sink::Sink::open(path)?);
    }
    Ok(())
}

fn start_gdb(
    listener: &std::net::TcpListener,
    handle: MachineHandle,
    wait: bool,
) -> Result<(GdbServer, Arc<Hub>, bool), CliError> {
    let listener = listener.try_clone().map_err(thread_error("gdb"))?;
    let hub = Arc::new(Hub::new().map_err(thread_error("gdb"))?);
    let address = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let server = GdbServer::start(listener, handle, hub.clone()).map_err(thread_error("gdb"))?;
    let waiting = if wait {
        "; the guest waits for gdb to continue"
    } else {
        ""
    };
    crate::errln!("picovmm: gdb stub listening on {address}{waiting}");
    Ok((server, hub, wait))
}

/// Copies stdin into the first serial port's receive FIFO, waiting while it is full; each
/// arrival wakes a vCPU idling in the BIOS for a key.
fn feed_serial(handle: MachineHandle, port: u16) -> Result<(), CliError> {
    crate::stdin::read_stdin("serial-input", move |bytes| {
        vmm_machine::handover::hand_over(
            bytes,
            FIFO_FULL_WAIT,
            |rest| handle.serial_in_at(port, rest),
            || {},
        );
    })
    .map_err(thread_error("serial-input"))
}

impl FrontEnds {
    /// The fourth phase: runs the machine to the end, under the debugger when there is one.
    pub(super) fn run(&mut self, machine: &mut Machine) -> RunReport {
        let report = match self.gdb.take() {
            Some((server, hub, wait)) => {
                let on_break = self.control.breakpoint_reporter();
                let report =
                    crate::gdb::run_debugged(machine, &hub, wait, status::for_outcome, on_break);
                server.finish();
                report
            }
            None => machine.run(),
        };
        self.control.finish(&report.outcome);
        report
    }
}
