//! The first phase: the machine description from the machine file (or the default machine)
//! and the flags, validated; then every output the run writes is opened, so that a bad path
//! never costs a run.

use std::net::TcpListener;
use std::os::unix::net::UnixListener;
use std::path::PathBuf;

use vmm_machine::config;
use vmm_machine::diagnostic::Report;
use vmm_machine::snapshot::Snapshot;
use vmm_machine::spec::{DeviceKind, Located, MachineSpec};
use vmm_machine::validate::{validate, validate_restored, ValidMachine};

use super::pmemsave::MemorySave;
use super::sink::Sink;
use crate::cli::{DisplayKind, RunArgs};
use crate::error::CliError;

/// A description ready to build, and the run's output files.
pub(super) struct Prepared {
    pub valid: ValidMachine,
    /// The live display owns the terminal.
    pub live: bool,
    pub files: OutputFiles,
}

/// What the run writes, opened before it starts.
pub(crate) struct OutputFiles {
    pub stats_json: Option<Sink>,
    pub screenshot: Option<Sink>,
    pub pmemsave: Option<MemorySave>,
    pub gdb: Option<TcpListener>,
    pub gdb_wait: bool,
    /// The control socket, bound, and its path.
    pub control: Option<(UnixListener, PathBuf)>,
    /// Why a snapshot of this machine would not restore it, if it would not.
    pub snapshot_refusal: Option<String>,
    /// The serial ports' and debug console's backends, opened.
    pub chardevs: crate::chardev::Chardevs,
    /// The disk images, for the snapshot's records of them.
    pub drive_paths: Vec<PathBuf>,
    /// What describes the machine, for a snapshot of it.
    pub def: vmm_machine::snapshot::MachineDef,
}

pub(super) fn prepare(args: &RunArgs, restored: Option<&Snapshot>) -> Result<Prepared, CliError> {
    let spec = describe(args, restored)?;
    let drive_paths: Vec<PathBuf> = spec.drives.iter().map(|d| d.value.path.clone()).collect();
    let mut spec = spec;
    let live = live_display(args, &spec)?;
    // With the live display, the terminal's keys are the keyboard's, not COM1's.
    spec.serial_keys = !live;
    let source = spec.source.clone();
    let plugin_path = crate::plugins::search_path(&args.plugin_dirs)?;
    // A restored machine's boot image is in its saved RAM: the file is not read again.
    let valid = match restored {
        Some(snap) => validate_restored(spec, &plugin_path, snap.cpu_mode()?),
        None => validate(spec, &plugin_path),
    }
    .map_err(|d| Report::new(d, source.as_ref()))?;
    let files = open_outputs(args, &valid, restored, drive_paths)?;
    Ok(Prepared { valid, live, files })
}

/// The machine file (or the snapshot's copy of it, or the default machine) with the flags.
fn describe(args: &RunArgs, restored: Option<&Snapshot>) -> Result<MachineSpec, CliError> {
    let stored_text = restored.and_then(|s| s.machine.machine_text.clone());
    let mut spec = match (&args.machine, stored_text) {
        (Some(path), Some(text)) => config::load_text(path, text)?,
        (Some(path), None) => config::load(path)?,
        (None, _) if args.image.is_some() || !args.drives.is_empty() => {
            MachineSpec::default_machine()
        }
        (None, _) => {
            return Err(CliError::Usage(
                "nothing to run: give a machine file, --image FILE or --drive FILE".into(),
            ))
        }
    };
    apply_flags(&mut spec, args);
    super::routing::apply(&mut spec, args)?;
    if restored.is_some() {
        // On restore the gdb stub is what the restore command asks for (its --gdb, carried in
        // `args`), never the machine file's [debug] or the stored run's.
        spec.gdb = args.gdb.clone().map(|a| Located::flag(a, "--gdb"));
        spec.gdb_wait = args.gdb_wait;
        // The keys were typed in the first run; the keyboard's state holds what is left.
        for device in &mut spec.devices {
            if let DeviceKind::I8042 { keys, .. } = &mut device.value {
                keys.clear();
            }
        }
    }
    if args.output.snapshot_on_exit.is_some() {
        if let Some(d) = spec
            .drives
            .iter()
            .find(|d| d.value.mode == vmm_bios::WriteMode::Snapshot)
        {
            return Err(CliError::Usage(format!(
                "--snapshot-on-exit with drive {} in snapshot mode: its writes live only in memory, and a snapshot file does not keep them",
                d.value.path.display()
            )));
        }
    }
    Ok(spec)
}

/// Merges the flags into the machine description; flags win.
fn apply_flags(spec: &mut MachineSpec, args: &RunArgs) {
    if let Some(image) = &args.image {
        spec.set_image(image.clone());
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
    // PICOVMM_ACCEL stands for an --accel on every command line (a test matrix, a host
    // without KVM); the flag itself wins.
    let from_env = std::env::var("PICOVMM_ACCEL")
        .ok()
        .and_then(|name| vmm_machine::named::from_name(&name));
    if let Some(accel) = args.accel.or(from_env) {
        spec.accel = accel;
    }
    if let Some(mode) = args.vga_mode {
        spec.set_vga_mode(mode);
    }
    if let Some(address) = &args.gdb {
        spec.gdb = Some(Located::flag(address.clone(), "--gdb"));
    }
    if args.gdb_1234 {
        spec.gdb = Some(Located::flag("127.0.0.1:1234".into(), "-s"));
    }
    if let Some(path) = &args.output.control {
        spec.control = Some(Located::flag(path.clone(), "--control"));
    }
    spec.gdb_wait |= args.gdb_wait;
}

/// Opens every output file and the gdb port before the guest starts.
fn open_outputs(
    args: &RunArgs,
    valid: &ValidMachine,
    restored: Option<&Snapshot>,
    drive_paths: Vec<PathBuf>,
) -> Result<OutputFiles, CliError> {
    let stats_json = args
        .output
        .stats_json
        .as_deref()
        .map(Sink::open)
        .transpose()?;
    let pmemsave = args
        .pmemsave
        .as_deref()
        .map(MemorySave::parse)
        .transpose()?;
    let gdb = valid
        .spec
        .gdb
        .as_ref()
        .map(|address| {
            TcpListener::bind(&address.value).map_err(|source| CliError::GdbListen {
                address: address.value.clone(),
                source,
            })
        })
        .transpose()?;
    if let Some(path) = &args.output.snapshot_on_exit {
        vmm_machine::snapshot::check_destination(path)?;
    }
    let gdb_wait = valid.spec.gdb_wait;
    if gdb_wait && gdb.is_none() {
        return Err(CliError::Usage(
            "--gdb-wait needs a gdb stub to wait for: add --gdb [HOST:]PORT, or gdb = \"[HOST:]PORT\" in the machine file's [debug]".into(),
        ));
    }
    let def = restored
        .map(|s| s.machine.clone())
        .unwrap_or_else(|| machine_def(args));
    let control = valid
        .spec
        .control
        .as_ref()
        .map(|path| {
            vmm_control::server::bind(&path.value)
                .map(|listener| (listener, path.value.clone()))
                .map_err(|e| CliError::Usage(format!("--control: {e}")))
        })
        .transpose()?;
    let snapshot_refusal = valid
        .spec
        .drives
        .iter()
        .find(|d| d.value.mode == vmm_bios::WriteMode::Snapshot)
        .map(|d| {
            format!(
                "drive {} is in snapshot mode: its writes live only in memory, and a snapshot file does not keep them",
                d.value.path.display()
            )
        });
    let chardevs = open_chardevs(args, valid)?;
    Ok(OutputFiles {
        chardevs,
        stats_json,
        screenshot: None,
        pmemsave,
        gdb,
        gdb_wait,
        control,
        snapshot_refusal,
        drive_paths,
        def,
    })
}

/// Opens the `--serial` and `--debugcon` backends of the devices the machine has.
fn open_chardevs(
    args: &RunArgs,
    valid: &ValidMachine,
) -> Result<crate::chardev::Chardevs, CliError> {
    use crate::chardev::{Target, COM_PORTS};
    let mut chardevs = crate::chardev::Chardevs::default();
    for (backend, (port, _)) in args.output.serials.iter().zip(COM_PORTS.iter()) {
        chardevs
            .open(Target::Serial(*port), backend)
            .map_err(CliError::Usage)?;
    }
    let has_debugcon = valid
        .spec
        .devices
        .iter()
        .any(|d| matches!(d.value, DeviceKind::Debugcon { .. }));
    if let (Some(backend), true) = (&args.output.debugcon, has_debugcon) {
        chardevs
            .open(Target::Debugcon, backend)
            .map_err(CliError::Usage)?;
    }
    Ok(chardevs)
}

/// What describes the running machine, for a snapshot of it.
fn machine_def(args: &RunArgs) -> vmm_machine::snapshot::MachineDef {
    vmm_machine::snapshot::MachineDef {
        cwd: std::env::current_dir().unwrap_or_default(),
        args: std::env::args().skip(1).collect(),
        machine_text: args
            .machine
            .as_ref()
            .and_then(|p| std::fs::read_to_string(p).ok()),
    }
}

/// Whether the live display shows the screen: `--display terminal` (which needs terminals),
/// `--display none`, or by default when stdin and stdout are a terminal and the machine has a
/// screen (a pipe or a file sees exactly the end-of-run print).
fn live_display(args: &RunArgs, spec: &MachineSpec) -> Result<bool, CliError> {
    let terminals = is_terminal(libc::STDIN_FILENO) && is_terminal(libc::STDOUT_FILENO);
    match args.output.display {
        Some(DisplayKind::Terminal) if !terminals => Err(CliError::Usage(
            "--display terminal needs a terminal on stdin and stdout (run it in a terminal, or use --screenshot)".into(),
        )),
        Some(DisplayKind::Terminal) => Ok(true),
        Some(DisplayKind::None) => Ok(false),
        None => Ok(terminals
            && (spec.has(vmm_machine::spec::DeviceType::VgaText)
                || spec.has(vmm_machine::spec::DeviceType::Bios))),
    }
}

fn is_terminal(fd: i32) -> bool {
    // SAFETY: isatty has no preconditions.
    unsafe { libc::isatty(fd) == 1 }
}
