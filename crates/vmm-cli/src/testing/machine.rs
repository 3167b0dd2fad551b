//! A test's machine: built from its description (or a snapshot) and run on a thread of its
//! own; the test drives it through the handle and reads its console output from memory.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use vmm_core::{RunReport, StopReason};
use vmm_machine::board::ConsoleKind;
use vmm_machine::snapshot::{self, MachineDef};
use vmm_machine::spec::{Located, MachineSpec};
use vmm_machine::validate::{validate, validate_restored};
use vmm_machine::{config, Machine, MachineHandle, OutputBuffer, Outputs, PluginPath};

use super::model::MachineDesc;

/// A machine running for a test.
pub struct Running {
    /// Its handle.
    pub handle: MachineHandle,
    /// What its serial ports printed.
    pub serial: OutputBuffer,
    /// What its debug consoles printed.
    pub debugcon: OutputBuffer,
    /// What a snapshot of it records.
    pub def: MachineDef,
    /// Its disk images.
    pub drives: Vec<PathBuf>,
    ended: mpsc::Receiver<RunReport>,
    report: Option<RunReport>,
    thread: Option<JoinHandle<()>>,
}

/// The machine `desc` describes.
fn spec(desc: &MachineDesc) -> Result<MachineSpec, String> {
    let mut spec = match &desc.file {
        Some(file) => config::load(file).map_err(|e| chain(&e))?,
        None => MachineSpec::default_machine(),
    };
    if let Some(image) = &desc.image {
        spec.set_image(image.clone());
        if let Some(located) = &mut spec.image {
            // Errors about it name the test file's key, not a flag the user never gave.
            located.origin = vmm_machine::spec::Origin::Flag("[machine] image");
        }
    }
    if !desc.drives.is_empty() {
        spec.drives = desc
            .drives
            .iter()
            .map(|d| Located::flag(d.clone(), "drives"))
            .collect();
    }
    if let Some(size) = desc.memory {
        spec.set_memory_size(size);
    }
    let from_env = std::env::var("PICOVMM_ACCEL")
        .ok()
        .and_then(|name| vmm_machine::named::from_name(&name));
    if let Some(accel) = desc.accel.or(from_env) {
        spec.accel = accel;
    }
    Ok(spec)
}

/// An error with its causes: `what: why: why`.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(&format!(": {c}"));
        cause = c.source();
    }
    text
}

/// The `run` command line that builds the same machine (for `picovmm restore` of a snapshot).
fn def(desc: &MachineDesc) -> MachineDef {
    let cwd = std::env::current_dir().unwrap_or_default();
    let absolute = |p: &Path| cwd.join(p).to_string_lossy().into_owned();
    let mut args = vec!["run".to_owned()];
    if let Some(file) = &desc.file {
        args.push(absolute(file));
    }
    if let Some(image) = &desc.image {
        args.extend(["--image".to_owned(), absolute(image)]);
    }
    for d in &desc.drives {
        let mut text = absolute(&d.path);
        text.push_str(match d.mode {
            vmm_bios::WriteMode::ReadOnly => ",readonly",
            vmm_bios::WriteMode::Snapshot => ",snapshot",
            vmm_bios::WriteMode::Write => "",
        });
        args.extend(["--drive".to_owned(), text]);
    }
    if let Some(size) = desc.memory {
        args.extend(["--memory".to_owned(), size.to_string()]);
    }
    MachineDef {
        cwd,
        args,
        machine_text: desc
            .file
            .as_ref()
            .and_then(|f| std::fs::read_to_string(f).ok()),
    }
}

/// Builds the machine (restored from the snapshot at `from`, if given) and starts it.
pub fn start(
    desc: &MachineDesc,
    from: Option<&Path>,
    plugins: &PluginPath,
) -> Result<Running, String> {
    let spec = spec(desc)?;
    let drives: Vec<PathBuf> = spec.drives.iter().map(|d| d.value.path.clone()).collect();
    let (serial, debugcon) = (OutputBuffer::default(), OutputBuffer::default());
    let sinks = (serial.clone(), debugcon.clone());
    let (plugins, from) = (plugins.clone(), from.map(Path::to_path_buf));
    let (ready, handle) = mpsc::channel();
    let (done, ended) = mpsc::channel();
    let thread = std::thread::Builder::new()
        .name("test-vcpu".into())
        .spawn(move || {
            let (serial, debugcon) = sinks;
            let outputs = Outputs::new(move |kind| match kind {
                ConsoleKind::Serial(_) => Box::new(serial.clone()),
                ConsoleKind::Debugcon => Box::new(debugcon.clone()),
            });
            let mut machine = match build(spec, from.as_deref(), &plugins, outputs) {
                Ok(machine) => machine,
                Err(e) => {
                    let _ = ready.send(Err(e));
                    return;
                }
            };
            let _ = ready.send(Ok(machine.handle()));
            let _ = done.send(machine.run());
        })
        .map_err(|e| format!("cannot start the machine's thread: {e}"))?;
    let handle = handle
        .recv()
        .map_err(|_| "the machine's thread ended before the machine was built".to_owned())??;
    Ok(Running {
        handle,
        serial,
        debugcon,
        def: def(desc),
        drives,
        ended,
        report: None,
        thread: Some(thread),
    })
}

fn build(
    spec: MachineSpec,
    from: Option<&Path>,
    plugins: &PluginPath,
    outputs: Outputs,
) -> Result<Machine, String> {
    let source = spec.source.clone();
    let report = |d| vmm_machine::diagnostic::Report::new(d, source.as_ref()).to_string();
    let Some(path) = from else {
        let valid = validate(spec, plugins).map_err(report)?;
        return Machine::from_valid(valid, outputs).map_err(|e| chain(&e));
    };
    let snap = snapshot::load(path).map_err(|e| e.to_string())?;
    let mode = snap.cpu_mode().map_err(|e| e.to_string())?;
    let valid = validate_restored(spec, plugins, mode).map_err(report)?;
    let mut machine = Machine::from_valid(valid, outputs).map_err(|e| e.to_string())?;
    machine.restore(&snap).map_err(|e| e.to_string())?;
    Ok(machine)
}

impl Running {
    /// The run's report once it has ended, waiting for it until `deadline`.
    pub fn report_by(&mut self, deadline: Instant) -> Option<&RunReport> {
        if self.report.is_none() {
            let wait = deadline.saturating_duration_since(Instant::now());
            self.report = self.ended.recv_timeout(wait).ok();
        }
        self.report.as_ref()
    }

    /// The report if the run has ended, without waiting.
    pub fn ended(&mut self) -> Option<&RunReport> {
        if self.report.is_none() {
            self.report = self.ended.try_recv().ok();
        }
        self.report.as_ref()
    }

    /// Saves the machine to `path`, pausing it for the copy; it goes on afterwards.
    pub fn save(&self, path: &Path) -> Result<u64, String> {
        let records = self
            .drives
            .iter()
            .map(|p| snapshot::DriveRecord::of(p))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())?;
        let was_paused = self.handle.is_paused();
        self.handle.pause();
        let saved = self
            .handle
            .control()
            .call(|_| ())
            .ok_or_else(|| "the run has ended".to_owned())
            .and_then(|()| {
                self.handle
                    .save_snapshot(&self.def, &records, path)
                    .map_err(|e| e.to_string())
            });
        if !was_paused {
            self.handle.resume();
        }
        saved
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.handle.stop(StopReason::Quit);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// How long input waits for the guest to make room before the step fails.
pub const POLL: Duration = Duration::from_millis(5);
