//! The machine and its handle: the one way in for every front end.
//!
//! A [`Machine`] is owned by the thread that runs its vCPU. It runs until something happens
//! ([`Machine::run_until_event`]) or to the end ([`Machine::run`]), and between runs it reads
//! and writes guest memory, captures the screen, and saves or restores snapshots.
//!
//! A [`MachineHandle`] is its thread-safe face, cloned into front ends on other threads (a
//! display, a debugger, a control socket, a test runner): pause, resume and stop; keys and
//! serial bytes in; the screen as a [`Frame`]; memory; registers and snapshots, served by the
//! vCPU thread between two runs of the guest (as crosvm and Cloud Hypervisor serve theirs).

use std::io::Write;
use std::sync::{mpsc, Arc, Mutex};
use std::time::Instant;

use vmm_core::{
    DebugEvent, GuestDebug, Registers, RunOutcome, RunReport, StopReason, VcpuControl, VcpuEvent,
};
use vmm_devices::i8042::I8042;
use vmm_devices::keymap::KeyEvent;
use vmm_devices::serial::Uart16550;

use crate::board::{Board, ConsoleKind, ConsoleOutput, DeviceRegistry};
use crate::diagnostic::Report;
use crate::error::MachineError;
use crate::frame::{Frame, ScreenSources};
use crate::guest_view::GuestView;
use crate::plugin_path::PluginPath;
use crate::snapshot::{self, DriveRecord, MachineDef, MachineState, Snapshot};
use crate::spec::MachineSpec;
use crate::validate::{validate, ValidMachine};

/// Where the guest's console output (debug consoles, serial ports without a file) goes: a
/// sink made for each such device.
pub struct Outputs {
    make: Box<dyn FnMut(ConsoleKind) -> ConsoleOutput>,
}

impl Outputs {
    /// Each device's output goes to the sink `make` returns for its kind.
    pub fn new(make: impl FnMut(ConsoleKind) -> ConsoleOutput + 'static) -> Outputs {
        Outputs {
            make: Box::new(make),
        }
    }

    /// Console output is dropped.
    pub fn discard() -> Outputs {
        Outputs::new(|_| Box::new(std::io::sink()))
    }

    /// Console output is kept in memory, in the returned buffer.
    pub fn buffer() -> (Outputs, OutputBuffer) {
        let buffer = OutputBuffer::default();
        let sink = buffer.clone();
        (Outputs::new(move |_| Box::new(sink.clone())), buffer)
    }
}

/// Console output kept in memory (see [`Outputs::buffer`]).
#[derive(Clone, Default)]
pub struct OutputBuffer(Arc<Mutex<Vec<u8>>>);

impl OutputBuffer {
    /// Everything written so far.
    pub fn contents(&self) -> Vec<u8> {
        crate::sync::lock(&self.0).clone()
    }
}

impl Write for OutputBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        crate::sync::lock(&self.0).extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Why a run of the guest returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// The run is over.
    Ended(RunOutcome),
    /// Someone paused the machine; it waits in [`Machine::wait_while_paused`].
    Paused,
    /// A breakpoint or single step (only while guest debugging is on).
    Debug(DebugEvent),
}

/// A built machine, owned by the thread that runs it.
pub struct Machine {
    board: Board,
    view: GuestView,
    screen: Option<ScreenSources>,
    step: PendingStep,
    /// The boot drive's image and where its sector 0 goes, for a reboot to read it again.
    boot_from: Option<(std::path::PathBuf, u64)>,
    /// The machine as it powered on, when a guest's reset starts it again (`--reboot`).
    power_on: Option<Snapshot>,
}

/// A single step a handle asked for: told when the step is done (or dropped when the run ends).
type PendingStep = Arc<Mutex<StepState>>;

/// Steps between the handle and the running machine.
#[derive(Default)]
struct StepState {
    /// Told when the step asked for is done.
    waiting: Option<mpsc::Sender<()>>,
    /// The run is over: no step will come.
    ended: bool,
}

impl Machine {
    /// Validates `spec` (plugins looked up on `plugins`) and builds it.
    pub fn build(
        spec: MachineSpec,
        plugins: &PluginPath,
        outputs: Outputs,
    ) -> Result<Machine, MachineError> {
        let source = spec.source.clone();
        let valid = validate(spec, plugins).map_err(|d| Report::new(d, source.as_ref()))?;
        Machine::from_valid(valid, outputs)
    }

    /// Builds a validated description; building consumes it.
    pub fn from_valid(valid: ValidMachine, outputs: Outputs) -> Result<Machine, MachineError> {
        // A drive in snapshot mode keeps its writes in memory: its file's sector 0 is stale.
        let boot_from = valid
            .boot_drive
            .and(valid.spec.drives.first())
            .filter(|d| d.value.mode != vmm_bios::WriteMode::Snapshot)
            .map(|d| (d.value.path.clone(), valid.spec.load.value));
        let board = Board::build(valid, outputs.make)?;
        let mut machine = Machine::around(board);
        machine.boot_from = boot_from;
        Ok(machine)
    }

    /// The machine around a built board.
    pub fn around(board: Board) -> Machine {
        Machine {
            view: GuestView::of(&board),
            screen: ScreenSources::of(&board),
            board,
            step: PendingStep::default(),
            boot_from: None,
            power_on: None,
        }
    }

    /// From now on a reset of the guest (the i8042's pulse, a triple fault) powers the machine
    /// on again, as a PC reboots (QEMU without `-no-reboot`): devices, RAM and the CPU as they
    /// were at power-on, the boot sector read again from the boot drive, the disks as the guest
    /// left them. Refused when a device cannot save its state. Call before the first run.
    pub fn enable_reboot(&mut self) -> Result<(), MachineError> {
        if let Some(name) = self.unsaveable() {
            return Err(MachineError::Refused(format!(
                "--reboot: {name} cannot save its state, so the machine cannot be powered on again"
            )));
        }
        let file = tempfile::NamedTempFile::new()
            .map_err(|e| MachineError::Refused(format!("--reboot: {e}")))?;
        let def = MachineDef {
            cwd: std::path::PathBuf::new(),
            args: Vec::new(),
            machine_text: None,
        };
        self.save_snapshot(&def, &[], file.path())?;
        self.power_on = Some(snapshot::load(file.path())?);
        Ok(())
    }

    /// Whether a reset of the guest powers this machine on again ([`Machine::enable_reboot`]).
    pub fn reboots(&self) -> bool {
        self.power_on.is_some()
    }

    /// Whether `outcome` is a reset this machine reboots from.
    fn reboots_from(&self, outcome: &RunOutcome) -> bool {
        self.power_on.is_some()
            && matches!(
                outcome,
                RunOutcome::Reset | RunOutcome::Fault(vmm_core::Fault::TripleFault)
            )
    }

    /// Powers the machine on again from its power-on state.
    fn power_cycle(&mut self) -> Result<(), MachineError> {
        let Some(state) = &self.power_on else {
            return Ok(());
        };
        state.apply(&mut self.board)?;
        if let Some((path, load)) = &self.boot_from {
            let mut sector = [0u8; 512];
            let read = std::fs::File::open(path)
                .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut sector));
            if read.is_ok() && sector[510..] == [0x55, 0xAA] {
                self.view.write(*load, &sector);
            }
        }
        log::info!("the guest reset the machine; it starts again (--reboot)");
        Ok(())
    }

    /// A handle for other threads.
    pub fn handle(&self) -> MachineHandle {
        let devices = self.board.devices();
        MachineHandle {
            control: self.board.control(),
            view: self.view.clone(),
            screen: self.screen.clone(),
            keyboard: devices.keyboard().cloned(),
            serial: devices.serials().next().cloned(),
            devices: devices.clone(),
            step: self.step.clone(),
        }
    }

    /// Runs the guest until it halts, exits, faults or is stopped; pauses are waited out and
    /// debug events pass.
    pub fn run(&mut self) -> RunReport {
        let start = Instant::now();
        crate::sync::lock(&self.step).ended = false;
        let outcome = loop {
            match self.run_until_event() {
                Event::Ended(outcome) if self.reboots_from(&outcome) => {
                    if let Err(e) = self.power_cycle() {
                        log::error!("the machine could not start again: {e}");
                        break outcome;
                    }
                }
                Event::Ended(outcome) => break outcome,
                Event::Paused => self.wait_while_paused(),
                Event::Debug(_) => self.finish_step(),
            }
        };
        // A step asked for as the run ended is not coming: its caller stops waiting.
        let mut step = crate::sync::lock(&self.step);
        step.ended = true;
        step.waiting = None;
        drop(step);
        self.report(outcome, start)
    }

    /// Runs the guest until something happens.
    pub fn run_until_event(&mut self) -> Event {
        match self.board.vcpu().run() {
            VcpuEvent::Halted => Event::Ended(RunOutcome::Halted),
            VcpuEvent::Stopped(reason) => Event::Ended(self.board.outcome_of(reason)),
            VcpuEvent::Fault(fault) => Event::Ended(RunOutcome::Fault(fault)),
            VcpuEvent::Paused => Event::Paused,
            VcpuEvent::Debug(event) => Event::Debug(event),
        }
    }

    /// After a debug event: if a handle asked for a step, the guest pauses after it.
    fn finish_step(&mut self) {
        if let Some(done) = crate::sync::lock(&self.step).waiting.take() {
            let _ = self.board.vcpu().set_guest_debug(&GuestDebug::default());
            self.board.control().pause();
            let _ = done.send(());
        }
    }

    /// Waits while the machine is paused, serving the handle's requests.
    pub fn wait_while_paused(&mut self) {
        self.board.vcpu().wait_while_paused();
    }

    /// The report of a run that started at `start` and ended with `outcome`.
    pub fn report(&self, outcome: RunOutcome, start: Instant) -> RunReport {
        self.board.report(outcome, start)
    }

    /// The screen now; `None` on a machine without one.
    pub fn capture(&self) -> Option<Frame> {
        self.screen.as_ref().map(ScreenSources::capture)
    }

    /// Whether the machine has a screen.
    pub fn has_screen(&self) -> bool {
        self.screen.is_some()
    }

    /// Where the screen is read from, for a front end that reads it again and again.
    pub fn screen_sources(&self) -> Option<ScreenSources> {
        self.screen.clone()
    }

    /// Everything the guest can address.
    pub fn memory(&self) -> &GuestView {
        &self.view
    }

    /// The vCPU's registers now.
    pub fn registers(&self) -> Option<Registers> {
        self.board.vcpu_ref().registers()
    }

    /// Saves the machine (between runs) to `path`; returns the file's size.
    pub fn save_snapshot(
        &self,
        def: &MachineDef,
        drives: &[DriveRecord],
        path: &std::path::Path,
    ) -> Result<u64, MachineError> {
        let vcpu = self
            .board
            .vcpu_ref()
            .state()
            .map_err(|e| MachineError::Refused(format!("snapshot: the vCPU: {e}")))?;
        let state = MachineState {
            vcpu,
            memory: self.board.vm().memory(),
            devices: self.board.devices(),
        };
        Ok(snapshot::save(state, def, drives, path)?)
    }

    /// Puts a snapshot's state into this machine, built from the snapshot's description.
    pub fn restore(&mut self, snapshot: &Snapshot) -> Result<(), MachineError> {
        Ok(snapshot.apply(&mut self.board)?)
    }

    /// The first device that cannot save its state, if any.
    pub fn unsaveable(&self) -> Option<String> {
        self.board.devices().unsaveable()
    }

    /// Flushes every console and serial output; returns whether console output ends mid-line.
    pub fn flush_outputs(&self) -> bool {
        self.board.flush_outputs()
    }

    /// The board, for what the handle does not cover.
    pub fn board(&self) -> &Board {
        &self.board
    }

    /// The board, mutably (the vCPU, for a policy of the caller's own).
    pub fn board_mut(&mut self) -> &mut Board {
        &mut self.board
    }
}

/// The machine's thread-safe face: cheap to clone, usable from any thread.
#[derive(Clone)]
pub struct MachineHandle {
    control: VcpuControl,
    view: GuestView,
    screen: Option<ScreenSources>,
    keyboard: Option<Arc<Mutex<I8042>>>,
    serial: Option<Arc<Mutex<Uart16550<ConsoleOutput>>>>,
    devices: Arc<DeviceRegistry>,
    step: PendingStep,
}

impl MachineHandle {
    /// The vCPU's control, for what this handle does not cover.
    pub fn control(&self) -> &VcpuControl {
        &self.control
    }

    /// Pauses the guest at its next exit (at once if it spins: the vCPU is kicked).
    pub fn pause(&self) {
        self.control.pause();
    }

    /// Lets a paused guest go on.
    pub fn resume(&self) {
        self.control.resume();
    }

    /// Whether a pause is asked for.
    pub fn is_paused(&self) -> bool {
        self.control.pause_requested()
    }

    /// Whether the guest waits: in `hlt` for an interrupt, or in the BIOS for a key.
    pub fn is_idle(&self) -> bool {
        self.control.is_idle()
    }

    /// Runs one instruction of a paused guest (under [`Machine::run`]) and pauses it again;
    /// returns when the step is done. Refused while the guest runs, or when the run ends first.
    pub fn step(&self) -> Result<(), MachineError> {
        if !self.control.pause_requested() {
            return Err(MachineError::Refused(
                "step: the machine is running; pause it first".into(),
            ));
        }
        let (done, finished) = mpsc::channel();
        {
            let mut step = crate::sync::lock(&self.step);
            if step.ended {
                return Err(MachineError::Refused("step: the run ended first".into()));
            }
            step.waiting = Some(done);
        }
        let single_step = GuestDebug {
            single_step: true,
            breakpoints: Vec::new(),
        };
        let posted = self.control.post(move |cpu| {
            let _ = cpu.set_guest_debug(&single_step);
        });
        if !posted {
            return Err(MachineError::Refused("step: the machine is gone".into()));
        }
        self.control.resume();
        finished
            .recv()
            .map_err(|_| MachineError::Refused("step: the run ended first".into()))
    }

    /// Ends the run for `reason`.
    pub fn stop(&self, reason: StopReason) {
        self.control.stop(reason);
    }

    /// Presses and releases keys on the i8042's keyboard; returns how many of `events` fit in
    /// its type-ahead queue (0 without a keyboard).
    pub fn keys(&self, events: &[KeyEvent]) -> usize {
        let taken = self
            .keyboard
            .as_ref()
            .map_or(0, |kbc| crate::sync::lock(kbc).type_ahead(events));
        self.wake_if(taken)
    }

    /// Whether the machine has a keyboard.
    pub fn has_keyboard(&self) -> bool {
        self.keyboard.is_some()
    }

    /// Moves the PS/2 mouse by `dx`, `dy` (right and up positive) with `buttons` down; `false`
    /// without a mouse.
    pub fn mouse(&self, dx: i32, dy: i32, buttons: vmm_devices::ps2_mouse::Buttons) -> bool {
        let moved = self
            .keyboard
            .as_ref()
            .is_some_and(|kbc| crate::sync::lock(kbc).mouse_moved(dx, dy, buttons));
        if moved {
            self.control.wake();
        }
        moved
    }

    /// Whether the machine has a PS/2 mouse.
    pub fn has_mouse(&self) -> bool {
        self.keyboard
            .as_ref()
            .is_some_and(|kbc| crate::sync::lock(kbc).has_mouse())
    }

    /// The mouse buttons the guest last saw (none without a mouse).
    pub fn mouse_buttons(&self) -> vmm_devices::ps2_mouse::Buttons {
        self.keyboard
            .as_ref()
            .map(|kbc| crate::sync::lock(kbc).mouse_buttons())
            .unwrap_or_default()
    }

    /// Bytes into the first serial port's receive FIFO; returns how many fit (0 without one).
    pub fn serial_in(&self, bytes: &[u8]) -> usize {
        let taken = self
            .serial
            .as_ref()
            .map_or(0, |uart| crate::sync::lock(uart).enqueue(bytes));
        self.wake_if(taken)
    }

    /// Bytes into the receive FIFO of the serial port at `port`; returns how many fit (0
    /// without a serial port there).
    pub fn serial_in_at(&self, port: u16, bytes: &[u8]) -> usize {
        let taken = self
            .devices
            .serial_at(port)
            .map_or(0, |uart| crate::sync::lock(uart).enqueue(bytes));
        self.wake_if(taken)
    }

    /// Calls `wanted` once, from the vCPU's thread, when the guest first looks for input at the
    /// UART at `port` (polls its line status, reads its receive buffer or enables its receive
    /// interrupt); false, and nothing happens, when there is no UART there.
    pub fn when_serial_input_wanted(
        &self,
        port: u16,
        wanted: impl FnOnce() + Send + 'static,
    ) -> bool {
        match self.devices.serial_at(port) {
            Some(uart) => {
                crate::sync::lock(uart).when_input_wanted(wanted);
                true
            }
            None => false,
        }
    }

    /// Wakes a vCPU idle in `hlt` when input arrived (`taken` > 0); returns `taken`.
    fn wake_if(&self, taken: usize) -> usize {
        if taken > 0 {
            self.control.wake();
        }
        taken
    }

    /// Whether the machine has a serial port.
    pub fn has_serial(&self) -> bool {
        self.serial.is_some()
    }

    /// Whether the machine has a serial port at `port`.
    pub fn has_serial_at(&self, port: u16) -> bool {
        self.devices.serial_at(port).is_some()
    }

    /// The screen now; `None` on a machine without one.
    pub fn capture(&self) -> Option<Frame> {
        self.screen.as_ref().map(ScreenSources::capture)
    }

    /// Everything the guest can address.
    pub fn memory(&self) -> &GuestView {
        &self.view
    }

    /// The vCPU's registers, read on the vCPU thread; `None` once the machine is gone.
    pub fn registers(&self) -> Option<Registers> {
        self.control.call(|vcpu| vcpu.registers()).flatten()
    }

    /// Saves the machine to `path` while it is paused (served by the vCPU thread); the guest
    /// goes on afterwards when it is resumed.
    pub fn save_snapshot(
        &self,
        def: &MachineDef,
        drives: &[DriveRecord],
        path: &std::path::Path,
    ) -> Result<u64, MachineError> {
        let vcpu = self
            .control
            .call(|vcpu| vcpu.state().map_err(|e| e.to_string()))
            .ok_or_else(|| MachineError::Refused("the machine is gone".into()))?
            .map_err(|e| MachineError::Refused(format!("snapshot: the vCPU: {e}")))?;
        let state = MachineState {
            vcpu,
            memory: self.view.ram(),
            devices: &self.devices,
        };
        Ok(snapshot::save(state, def, drives, path)?)
    }
}
