//! The machine as a library: a machine built from a description without the command line, its
//! device registry, its handle driven from other threads, and the resumable vCPU under a policy
//! of the test's own.

mod common;

use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use common::{kvm_available, repo_root};
use vmm_core::{RunOutcome, StopReason, VcpuEvent};
use vmm_machine::board::ConsoleOutput;
use vmm_machine::named::Named;
use vmm_machine::plugin_path::PluginPath;
use vmm_machine::snapshot::MachineDef;
use vmm_machine::spec::{DeviceRange, MachineSpec};
use vmm_machine::{Machine, Outputs};

/// A console sink the test can read.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut v) = self.0.lock() {
            v.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The default machine with `image` (relative to the repository), built.
fn board_for(image: &str, out: &Captured) -> Machine {
    let mut spec = MachineSpec::default_machine();
    spec.set_image(repo_root().join(image));
    let out = out.clone();
    let outputs = Outputs::new(move |_| Box::new(out.clone()) as ConsoleOutput);
    Machine::build(spec, &PluginPath::new(&[]), outputs).expect("machine")
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_board_lists_default_devices_with_their_ranges() {
    if !kvm_available() {
        return;
    }
    let board = board_for("guests/hello/hello.bin", &Captured::default());
    let listed: Vec<(String, &str, Vec<DeviceRange>)> = board
        .board()
        .devices()
        .iter()
        .map(|d| (d.name.clone(), d.kind.name(), d.ranges.clone()))
        .collect();
    let port = |base, len| DeviceRange::Port { base, len };
    assert_eq!(
        listed,
        vec![
            (
                "vga-text0".to_owned(),
                "vga-text",
                vec![DeviceRange::Mmio {
                    base: 0xB8000,
                    len: 0x8000
                }]
            ),
            ("debugcon0".to_owned(), "debugcon", vec![port(0xE9, 1)]),
            (
                "isa-debug-exit0".to_owned(),
                "isa-debug-exit",
                vec![port(0xF4, 4)]
            ),
            ("serial0".to_owned(), "serial", vec![port(0x3F8, 8)]),
            (
                "pic0".to_owned(),
                "pic",
                vec![port(0x20, 2), port(0xA0, 2), port(0x4D0, 2)]
            ),
            ("pit0".to_owned(), "pit", vec![port(0x40, 4), port(0x61, 1)]),
            ("rtc0".to_owned(), "rtc", vec![port(0x70, 1), port(0x71, 1)]),
            (
                "i80420".to_owned(),
                "i8042",
                vec![port(0x60, 1), port(0x64, 1), port(0x92, 1)]
            ),
            (
                "bios0".to_owned(),
                "bios",
                vec![
                    port(0xEF, 1),
                    port(0x3C0, 0x20),
                    DeviceRange::Mmio {
                        base: 0xA0000,
                        len: 0x10000
                    },
                    DeviceRange::Mmio {
                        base: 0xF0000,
                        len: 0x10000
                    },
                    port(0x1CE, 3),
                ]
            ),
        ]
    );
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_board_runs_the_sample_to_its_screen_in_one_exit() {
    if !kvm_available() {
        return;
    }
    let mut board = board_for("guests/hello/hello.bin", &Captured::default());
    let report = board.run();
    let text = board.capture().and_then(|f| f.text()).unwrap_or_default();
    assert_eq!(report.outcome, RunOutcome::Halted);
    assert_eq!(report.exits.total, 1);
    assert!(text.contains("Hello World from picovmm"), "{text}");
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_board_guest_paused_and_resumed_finishes_with_its_output() {
    if !kvm_available() {
        return;
    }
    // The debug-console guest prints and exits; pause it as it starts, then let it go on.
    let out = Captured::default();
    let mut board = board_for("guests/tests/debugcon.bin", &out);
    let control = board.handle().control().clone();
    control.pause();
    assert_eq!(board.board_mut().vcpu().run(), VcpuEvent::Paused);
    let rip = board.board_mut().vcpu().registers().map(|r| r.rip);
    control.resume();
    let report = board.run();
    assert_eq!(rip, Some(0x7C00));
    assert!(matches!(
        report.outcome,
        RunOutcome::GuestExit(_) | RunOutcome::Halted
    ));
    assert!(!out.0.lock().map(|v| v.is_empty()).unwrap_or(true));
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_board_pause_from_another_thread_is_waited_out() {
    if !kvm_available() {
        return;
    }
    let mut board = board_for("guests/hostile/spin.bin", &Captured::default());
    let control = board.handle().control().clone();
    let driver = thread::spawn(move || {
        thread::sleep(Duration::from_millis(30));
        control.pause();
        let rip = control.call(|vcpu| vcpu.registers().map(|r| r.rip));
        control.resume();
        thread::sleep(Duration::from_millis(30));
        control.stop(StopReason::Timeout);
        rip
    });
    let report = board.run();
    let seen = driver.join().ok().flatten().flatten();
    assert_eq!(report.outcome, RunOutcome::Timeout);
    assert!(seen.is_some());
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_board_serial_state_round_trips_while_built() {
    if !kvm_available() {
        return;
    }
    let board = board_for("guests/hello/hello.bin", &Captured::default());
    let devices = board.board().devices();
    let saved = devices.save_state("serial0").expect("save");
    devices
        .restore_state("serial0", saved.clone())
        .expect("restore");
    assert_eq!(devices.save_state("serial0").expect("save"), saved);
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_board_keys_typed_through_the_api_reach_an_irq_guest() {
    if !kvm_available() {
        return;
    }
    let out = Captured::default();
    let mut board = board_for("guests/irq/keyboard-irq.bin", &out);
    let keys = vmm_devices::keymap::type_text("api\n").expect("keys");
    let handle = board.handle();
    assert_eq!(handle.keys(&[]), 0);
    // Type once the guest has set up its PIC, as a person types after the boot: from another
    // thread, through the machine's handle, while the machine runs on this one.
    let typist = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(50));
        handle.keys(&keys)
    });
    let report = board.run();
    assert_eq!(typist.join().expect("typist"), 8);
    assert_eq!(report.outcome, RunOutcome::GuestExit(0x10));
    let printed = out.0.lock().map(|v| v.clone()).unwrap_or_default();
    assert_eq!(String::from_utf8_lossy(&printed), "api\n");
    assert_eq!(report.exits.injected, 8, "one IRQ 1 per scancode byte");
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_a_plugin_without_state_is_named_when_its_state_is_asked_for() {
    if !kvm_available() {
        return;
    }
    // The cmos-rtc example does not save state (SAVES_STATE is false).
    let deps = std::path::Path::new(env!("CARGO_BIN_EXE_picovmm"))
        .parent()
        .map(|p| p.join("deps"))
        .unwrap_or_default();
    let spec = vmm_machine::config::load(&repo_root().join("machines/rtc.toml")).expect("machine");
    let board =
        Machine::build(spec, &PluginPath::new(&[deps]), Outputs::discard()).expect("machine");
    let err = board
        .board()
        .devices()
        .save_state("cmos-rtc0")
        .expect_err("no state to save");
    assert!(
        err.to_string()
            .contains("plugin cmos-rtc cannot save its state (it has no picovmm.state/1)"),
        "{err}"
    );
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_machine_built_twice_from_one_description_boots_its_drive_both_times() {
    if !kvm_available() {
        return;
    }
    let mut spec = MachineSpec::default_machine();
    let drive = vmm_machine::spec::DriveSpec {
        path: repo_root().join("guests/bios/teletype.bin"),
        kind: None,
        mode: vmm_bios::WriteMode::ReadOnly,
    };
    spec.drives = vec![vmm_machine::spec::Located::flag(drive, "--drive")];
    for _ in 0..2 {
        let mut machine = Machine::build(spec.clone(), &PluginPath::new(&[]), Outputs::discard())
            .expect("machine");
        let report = machine.run();
        let text = machine.capture().and_then(|f| f.text()).unwrap_or_default();
        assert_eq!(report.outcome, RunOutcome::Halted);
        assert!(text.trim_end().ends_with("line 30"), "{text}");
    }
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_handle_reads_what_the_guest_sees_rom_and_vga_windows_included() {
    if !kvm_available() {
        return;
    }
    let mut machine = board_for("guests/hello/hello.bin", &Captured::default());
    machine.run();
    let view = machine.handle().memory().clone();
    let mut reset_vector = [0u8; 1];
    let mut screen = [0u8; 10];
    let mut graphics = [0xAAu8; 16];
    assert_eq!(view.read(0xF_FFF0, &mut reset_vector), 1);
    assert_eq!(view.read(0xB_8000, &mut screen), 10);
    assert_eq!(view.read(0xA_0000, &mut graphics), 16);
    assert_eq!(reset_vector, [0xEA], "a far jump, as on every PC");
    let cells = match machine.capture().map(|f| f.contents) {
        Some(vmm_machine::frame::Contents::Text { cells, .. }) => cells,
        other => panic!("not a text screen: {other:?}"),
    };
    assert_eq!(
        &screen[..],
        &cells[..10],
        "the window is what the screen shows"
    );
    assert_eq!(view.read(0xB_0000, &mut [0u8; 4]), 0, "nothing is there");
    let mut option_rom = [0xAAu8; 4];
    assert_eq!(
        view.read(0xC_0000, &mut option_rom),
        4,
        "the option-ROM space"
    );
    assert_eq!(option_rom, [0; 4], "empty");
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_handle_saves_a_snapshot_while_paused_and_the_guest_goes_on() {
    if !kvm_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("paused.snap");
    let mut machine = board_for("guests/hostile/spin.bin", &Captured::default());
    let handle = machine.handle();
    let saver = {
        let path = path.clone();
        thread::spawn(move || {
            thread::sleep(Duration::from_millis(30));
            handle.pause();
            let def = MachineDef {
                cwd: repo_root(),
                args: vec![
                    "run".into(),
                    "--image".into(),
                    "guests/hostile/spin.bin".into(),
                ],
                machine_text: None,
            };
            let saved = handle.save_snapshot(&def, &[], &path);
            handle.resume();
            thread::sleep(Duration::from_millis(30));
            handle.stop(StopReason::Timeout);
            saved.map_err(|e| e.to_string())
        })
    };
    let report = machine.run();
    let saved = saver.join().expect("saver");
    assert_eq!(report.outcome, RunOutcome::Timeout, "the guest went on");
    assert!(saved.is_ok_and(|bytes| bytes > 0));
    let snap = vmm_machine::snapshot::load(&path).expect("a snapshot that loads");
    assert_eq!(snap.machine.args[2], "guests/hostile/spin.bin");
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_handle_steps_a_paused_guest_one_instruction_at_a_time() {
    if !kvm_available() {
        return;
    }
    // exit-code.bin starts: xor ax,ax (2 bytes) ; mov ds,ax (2) ; mov si,0x7c1b (3).
    let mut machine = board_for("guests/tests/exit-code.bin", &Captured::default());
    let handle = machine.handle();
    handle.pause();
    let driver = thread::spawn(move || {
        let mut seen = Vec::new();
        for _ in 0..3 {
            handle.step().expect("a step");
            seen.push(handle.registers().map(|r| r.rip));
        }
        let refused = handle.stop_then_step();
        (seen, refused)
    });
    let report = machine.run();
    let (seen, refused) = driver.join().expect("driver");
    assert_eq!(seen, vec![Some(0x7C02), Some(0x7C04), Some(0x7C07)]);
    assert_eq!(report.outcome, RunOutcome::Interrupted);
    assert!(refused.contains("the run ended first"), "{refused}");
}

/// What a handle's step says when the run ends before it.
trait StopThenStep {
    fn stop_then_step(&self) -> String;
}

impl StopThenStep for vmm_machine::MachineHandle {
    fn stop_then_step(&self) -> String {
        self.stop(StopReason::Interrupted);
        match self.step() {
            Ok(()) => "stepped".into(),
            Err(e) => e.to_string(),
        }
    }
}
