//! `picovmm run`: build the machine, run its vCPU on this thread (a timer thread stops it when
//! `--timeout` passes), then print the screen, the outcome and the statistics.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use std::sync::{Arc, Mutex};
use std::thread;
use vm_memory::{Bytes, GuestAddress, GuestMemoryMmap};

use vmm_core::{Fault, RunOutcome, RunReport, StopReason};
use vmm_devices::screen::TextScreen;
use vmm_devices::serial::Uart16550;

use crate::board::{Board, ConsoleOutput, VideoLayout};
use crate::cli::{RestoreArgs, RunArgs, ScreenFormat};
use crate::diagnostic::Report;
use crate::display::snapshot::ScreenSources;
use crate::display::{save_screenshot, DisplayKind, HeldOutput, LiveDisplay};
use crate::error::Error;
use crate::gdb::{GdbServer, Hub};
use crate::output::GuestStdout;
use crate::plugin_path::PluginPath;
use crate::snapshot::{self, DriveRecord, MachineDef, Snapshot};
use crate::spec::DeviceKind;
use crate::spec::{Located, MachineSpec};
use crate::terminal::RawMode;
use crate::validate::{validate, ValidMachine};
use crate::{config, signals, stats, status, units};
use clap::Parser as _;

/// Merges the flags into the machine description; flags win.
fn apply_flags(spec: &mut MachineSpec, args: &RunArgs) {
    if let Some(image) = &args.image {
        spec.image = Some(Located::flag(image.clone(), "--image"));
    }
    if !args.drives.is_empty() {
        // Flags replace the machine file's drives, as --image replaces its image.
        spec.drives = args
            .drives
            .iter()
            .map(|d| Located::flag(d.clone(), "--drive"))
            .collect();
    }
    if let Some(load) = args.load {
        spec.load = Located::flag(load, "--load");
    }
    if let Some(entry) = args.entry {
        spec.entry = Some(Located::flag(entry, "--entry"));
    }
    if let Some(mode) = args.mode {
        spec.mode = Located::flag(mode, "--mode");
    }
    if let Some(size) = args.memory {
        spec.set_memory_size(size);
    }
    if let Some(mode) = args.vga_mode {
        spec.set_vga_mode(mode);
    }
    if let Some(address) = &args.gdb {
        spec.gdb = Some(Located::flag(address.clone(), "--gdb"));
    }
    spec.gdb_wait |= args.gdb_wait;
    if let Some(display) = args.display {
        spec.display = display;
    }
}

/// Runs `picovmm run`; returns the exit status.
pub fn run(args: &RunArgs) -> Result<i32, Error> {
    run_machine(args, None)
}

/// Runs `picovmm restore`: the machine the snapshot describes, built again in the snapshot's
/// folder, with its state put back, under the restore command's output flags.
pub fn restore(args: &RestoreArgs) -> Result<i32, Error> {
    let here = std::env::current_dir().unwrap_or_default();
    let absolute = |p: &Option<PathBuf>| p.as_ref().map(|p| here.join(p));
    let snap = snapshot::load(&args.file)?;
    let changed = snap.changed_drives();
    if !changed.is_empty() && !args.force_drives {
        return Err(Error::Usage(format!(
            "disk image {} changed since the snapshot (its size or time); the guest would read data that differs from what it saw: restore with --force-drives to use it anyway",
            changed[0].display()
        )));
    }
    let mut argv = vec!["picovmm".to_owned()];
    argv.extend(snap.machine.args.iter().cloned());
    let parsed = crate::cli::Cli::try_parse_from(&argv)
        .map_err(|e| Error::Usage(format!("the snapshot's command does not parse: {e}")))?;
    let crate::cli::Command::Run(stored) = parsed.command else {
        return Err(Error::Usage("the snapshot's command is not `run`".into()));
    };
    let mut run_args = *stored;
    run_args.timeout = args.timeout;
    run_args.display = args.display;
    run_args.screenshot = absolute(&args.screenshot);
    run_args.screen = args.screen;
    run_args.stats = args.stats;
    run_args.stats_json = absolute(&args.stats_json);
    run_args.snapshot_on_exit = absolute(&args.snapshot_on_exit);
    run_args.pmemsave = None;
    run_args.gdb = None;
    run_args.gdb_wait = false;
    std::env::set_current_dir(&snap.machine.cwd).map_err(|e| {
        Error::Usage(format!(
            "the snapshot's folder {} is gone: {e}",
            snap.machine.cwd.display()
        ))
    })?;
    run_machine(&run_args, Some(snap))
}

/// What describes the running machine, for a snapshot of it.
fn machine_def(args: &RunArgs) -> MachineDef {
    MachineDef {
        cwd: std::env::current_dir().unwrap_or_default(),
        args: std::env::args().skip(1).collect(),
        machine_text: args
            .machine
            .as_ref()
            .and_then(|p| std::fs::read_to_string(p).ok()),
    }
}

fn run_machine(args: &RunArgs, restored: Option<Snapshot>) -> Result<i32, Error> {
    let stored_text = restored
        .as_ref()
        .and_then(|s| s.machine.machine_text.clone());
    let mut spec = match (&args.machine, stored_text) {
        (Some(path), Some(text)) => config::load_text(path, text)?,
        (Some(path), None) => config::load(path)?,
        (None, _) if args.image.is_some() || !args.drives.is_empty() => {
            MachineSpec::default_machine()
        }
        (None, _) => {
            return Err(Error::Usage(
                "nothing to run: give a machine file, --image FILE or --drive FILE".into(),
            ))
        }
    };
    apply_flags(&mut spec, args);
    if restored.is_some() {
        // The keys were typed in the first run; the keyboard's state holds what is left.
        for device in &mut spec.devices {
            if let DeviceKind::I8042 { keys } = &mut device.value {
                keys.clear();
            }
        }
    }
    let def = restored
        .as_ref()
        .map(|s| s.machine.clone())
        .unwrap_or_else(|| machine_def(args));
    if args.snapshot_on_exit.is_some() {
        if let Some(d) = spec
            .drives
            .iter()
            .find(|d| d.value.mode == vmm_bios::WriteMode::Snapshot)
        {
            return Err(Error::Usage(format!(
                "--snapshot-on-exit with drive {} in snapshot mode: its writes live only in memory, and a snapshot file does not keep them",
                d.value.path.display()
            )));
        }
    }
    let drive_paths: Vec<PathBuf> = spec.drives.iter().map(|d| d.value.path.clone()).collect();
    let source = spec.source.clone();
    let mut valid = validate(spec, &PluginPath::new(&args.plugin_dirs))
        .map_err(|d| Report::new(d, source.as_ref()))?;
    // Every output is opened before the guest starts, so a bad path never costs a run.
    let mut stats_file = args
        .stats_json
        .as_ref()
        .map(|path| create_output(path))
        .transpose()?;
    let pmemsave = args
        .pmemsave
        .as_deref()
        .map(|values| MemorySave::parse(values, &valid))
        .transpose()?;
    // The gdb port is taken before the guest starts, so a busy port never costs a run.
    let gdb_listener = valid
        .spec
        .gdb
        .as_ref()
        .map(|address| {
            std::net::TcpListener::bind(&address.value).map_err(|source| Error::GdbListen {
                address: address.value.clone(),
                source,
            })
        })
        .transpose()?;
    let live = valid.spec.display == DisplayKind::Terminal;
    if live && !(is_terminal(libc::STDIN_FILENO) && is_terminal(libc::STDOUT_FILENO)) {
        return Err(Error::Usage(
            "--display terminal needs a terminal on stdin and stdout (run it in a terminal, or use --screenshot)".into(),
        ));
    }
    let gdb_wait = valid.spec.gdb_wait;
    if gdb_wait && gdb_listener.is_none() {
        return Err(Error::Usage(
            "--gdb-wait needs a gdb stub to wait for: add --gdb [HOST:]PORT, or gdb = \"[HOST:]PORT\" in the machine file's [debug]".into(),
        ));
    }
    let guest_stdout = GuestStdout::new();
    let console = guest_stdout.clone();
    // While the live display owns the terminal, console output waits in memory.
    let held = HeldOutput::default();
    let held_sink = held.clone();
    let mut board = Board::build(&mut valid, || -> ConsoleOutput {
        if live {
            Box::new(held_sink.clone())
        } else {
            Box::new(console.clone())
        }
    })?;
    if let Some(snap) = &restored {
        snap.apply(&mut board)?;
    }
    if args.snapshot_on_exit.is_some() {
        if let Some(name) = board.devices().unsaveable() {
            return Err(Error::Usage(format!(
                "--snapshot-on-exit: {name} cannot save its state (a plugin without picovmm.state/1)"
            )));
        }
    }
    let control = board.control();
    guest_stdout.stop_waiting_on(control.clone());
    signals::stop_on_signals(control.clone()).map_err(Error::Signals)?;
    // The first serial port reads stdin, raw when it is a terminal; restored when `_raw` drops.
    // With the live display, stdin is the keyboard instead.
    let _raw = board
        .devices()
        .serials()
        .next()
        .filter(|_| !live)
        .and_then(|uart| {
            feed_stdin(uart.clone(), board.control());
            RawMode::enable()
        });
    let sources = ScreenSources::of(&board);
    if args.screenshot.is_some() && sources.is_none() {
        return Err(Error::Usage(
            "--screenshot needs a screen: this machine has no vga-text device and no BIOS".into(),
        ));
    }
    // Created before the guest starts, so a bad path never costs a run.
    let screenshot = args
        .screenshot
        .as_ref()
        .map(|path| create_output(path).map(|file| (path.clone(), file)))
        .transpose()?;
    let display = match (&sources, live) {
        (Some(sources), true) => Some(
            LiveDisplay::start(
                sources.clone(),
                board.devices().keyboard().cloned(),
                board.control(),
                args.screenshot.clone(),
            )
            .map_err(|source| Error::Thread {
                name: "display",
                source,
            })?,
        ),
        _ => None,
    };
    if let Some(limit) = args.timeout {
        // The vCPU runs on this thread; only a time limit needs a second one.
        thread::Builder::new()
            .name("timeout".into())
            .spawn(move || {
                thread::sleep(limit);
                control.stop(StopReason::Timeout);
            })
            .map_err(|source| Error::Thread {
                name: "timeout",
                source,
            })?;
    }
    let report = match gdb_listener {
        Some(listener) => {
            let hub = Arc::new(Hub::new().map_err(|source| Error::Thread {
                name: "gdb",
                source,
            })?);
            let address = listener
                .local_addr()
                .map(|a| a.to_string())
                .unwrap_or_default();
            let server =
                GdbServer::start(listener, board.control(), hub.clone(), board.vga_window())
                    .map_err(|source| Error::Thread {
                        name: "gdb",
                        source,
                    })?;
            let waiting = if gdb_wait {
                "; the guest waits for gdb to continue"
            } else {
                ""
            };
            crate::errln!("picovmm: gdb stub listening on {address}{waiting}");
            let report = board.run_debugged(&hub, gdb_wait);
            server.finish();
            report
        }
        None => board.run_to_completion(),
    };
    // The terminal is the user's again before anything more is printed.
    drop(display);
    let (held_bytes, dropped) = held.take();
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
    if let (Some((path, file)), Some(sources)) = (screenshot, &sources) {
        drop(file);
        save_screenshot(sources, &path).map_err(|source| Error::Output { path, source })?;
    }
    // The outcome is known: say it now, even if stdout's reader is not reading.
    report_outcome(&report, args);

    let mid_line = board.flush_outputs();
    guest_stdout.finish();
    let mut stdout = std::io::stdout().lock();
    if let Some(screen) = board
        .devices()
        .screen()
        .filter(|_| args.screen != ScreenFormat::None)
    {
        let text = match board.video_layout() {
            VideoLayout::Text {
                columns,
                page_start: start,
            } => {
                let mut page = vec![0u8; columns * vmm_devices::vga_text::ROWS * 2];
                screen.read(start, &mut page);
                let page = TextScreen::with_columns(&page, columns);
                match args.screen {
                    ScreenFormat::Ansi => page.to_ansi(),
                    _ => page.to_text(),
                }
            }
            VideoLayout::Graphics => {
                crate::errln!(
                    "picovmm: the screen is in graphics mode 13h (320x200): not printed as text"
                );
                String::new()
            }
        };
        if mid_line && !text.is_empty() {
            let _ = stdout.write_all(b"\n");
        }
        let _ = stdout.write_all(text.as_bytes());
    }
    let _ = stdout.flush();

    let code = status::for_outcome(&report.outcome);
    if args.stats {
        crate::err!("{}", stats::summary(&report));
    }
    if let (Some(file), Some(path)) = (stats_file.as_mut(), &args.stats_json) {
        file.write_all(stats::to_json(&report, code).as_bytes())
            .map_err(|source| Error::Output {
                path: path.clone(),
                source,
            })?;
    }
    if let Some(save) = pmemsave {
        save.write(board.vm().memory())?;
    }
    let stopped = matches!(
        report.outcome,
        RunOutcome::Timeout
            | RunOutcome::Interrupted
            | RunOutcome::Signal(_)
            | RunOutcome::GuestExit(_)
    );
    if let (Some(path), true) = (&args.snapshot_on_exit, stopped) {
        let drives = drive_paths
            .iter()
            .map(|p| DriveRecord::of(p))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|source| Error::Output {
                path: path.clone(),
                source,
            })?;
        let bytes = snapshot::save(&mut board, &def, &drives, path)?;
        crate::errln!(
            "picovmm: snapshot written to {} ({} KiB); continue it with `picovmm restore {}`",
            path.display(),
            bytes / 1024,
            path.display()
        );
    }
    Ok(code)
}

fn create_output(path: &Path) -> Result<File, Error> {
    File::create(path).map_err(|source| Error::Output {
        path: path.to_path_buf(),
        source,
    })
}

fn is_terminal(fd: i32) -> bool {
    // SAFETY: isatty has no preconditions.
    unsafe { libc::isatty(fd) == 1 }
}

/// `--pmemsave ADDR SIZE FILE`: checked and opened before the run, written after it.
struct MemorySave {
    addr: u64,
    size: u64,
    path: PathBuf,
    file: File,
}

impl MemorySave {
    fn parse(values: &[String], valid: &ValidMachine) -> Result<Self, Error> {
        let [addr, size, path] = values else {
            return Err(Error::Usage("--pmemsave takes ADDR SIZE FILE".into()));
        };
        let number = |what: &str, text: &str| {
            units::parse_u64(text).ok_or_else(|| {
                Error::Usage(format!(
                    "--pmemsave: invalid {what} \"{text}\": expected a number like 0x400"
                ))
            })
        };
        let (addr, size) = (number("address", addr)?, number("size", size)?);
        if !valid
            .spec
            .memory
            .iter()
            .any(|r| r.value.contains(addr, size))
        {
            return Err(Error::Usage(format!(
                "--pmemsave: [{addr:#x}, +{size:#x}) is not inside one region of guest RAM"
            )));
        }
        let path = PathBuf::from(path);
        let file = create_output(&path)?;
        Ok(MemorySave {
            addr,
            size,
            path,
            file,
        })
    }

    fn write(mut self, memory: &GuestMemoryMmap) -> Result<(), Error> {
        let mut bytes = vec![0u8; self.size as usize];
        let output_error = |source| Error::Output {
            path: self.path.clone(),
            source,
        };
        memory
            .read_slice(&mut bytes, GuestAddress(self.addr))
            .map_err(|e| output_error(std::io::Error::other(e.to_string())))?;
        self.file.write_all(&bytes).map_err(output_error)
    }
}

/// Copies stdin into `uart`'s receive FIFO, waiting while the FIFO is full, until stdin ends;
/// each arrival wakes a vCPU idling in the BIOS for a key. The thread is not joined: it may be
/// blocked reading a terminal when the run ends.
fn feed_stdin(uart: Arc<Mutex<Uart16550<ConsoleOutput>>>, control: vmm_core::VcpuControl) {
    let _ = thread::Builder::new()
        .name("serial-input".into())
        .stack_size(INPUT_THREAD_STACK)
        .spawn(move || {
            let mut buf = [0u8; 256];
            let mut stdin = std::io::stdin();
            loop {
                let n = match stdin.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    // A stop signal landed on this thread: it is the vCPU's business, not ours.
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(_) => break,
                };
                crate::handover::hand_over(
                    &buf[..n],
                    FIFO_FULL_WAIT,
                    |rest| {
                        uart.lock()
                            .map(|mut u| u.enqueue(rest))
                            .unwrap_or(rest.len())
                    },
                    || control.wake(),
                );
            }
        });
}

/// The input thread only copies bytes: a small stack keeps its start cheap.
const INPUT_THREAD_STACK: usize = 64 * 1024;

/// How long the input thread waits for the guest to drain a full receive FIFO.
const FIFO_FULL_WAIT: std::time::Duration = std::time::Duration::from_millis(1);

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
                .timeout
                .map(|t| format!(" after {t:?}"))
                .unwrap_or_default();
            crate::errln!("picovmm: timed out{limit}; the guest was stopped{at}");
        }
        RunOutcome::Interrupted => crate::errln!("picovmm: interrupted; the guest was stopped{at}"),
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
                    let at = report
                        .registers
                        .map(|r| format!(" ({:#x})", r.code_address()))
                        .unwrap_or_default();
                    crate::errln!("  note: CS:IP{at} is not in guest RAM: the guest jumped where there is no memory");
                }
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
