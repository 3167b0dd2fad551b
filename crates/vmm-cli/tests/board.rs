//! The board as a library: a machine built from a description without the command line, its
//! device registry, and the resumable vCPU under a policy of the test's own.

mod common;

use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use common::{kvm_available, repo_root};
use vmm_cli::board::{Board, ConsoleOutput};
use vmm_cli::plugin_path::PluginPath;
use vmm_cli::spec::{DeviceRange, Located, MachineSpec};
use vmm_cli::validate::validate;
use vmm_core::{RunOutcome, StopReason, VcpuEvent};
use vmm_devices::screen::TextScreen;

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

/// The default machine with `image` (relative to the repository), built as a board.
fn board_for(image: &str, out: &Captured) -> Board {
    let mut spec = MachineSpec::default_machine();
    spec.image = Some(Located::default(repo_root().join(image)));
    let mut valid = validate(spec, &PluginPath::new(&[])).expect("valid machine");
    let out = out.clone();
    Board::build(&mut valid, move || Box::new(out.clone()) as ConsoleOutput).expect("board")
}

#[test]
fn test_board_lists_default_devices_with_their_ranges() {
    if !kvm_available() {
        return;
    }
    let board = board_for("guests/hello/hello.bin", &Captured::default());
    let listed: Vec<(String, &str, Vec<DeviceRange>)> = board
        .devices()
        .iter()
        .map(|d| (d.name.clone(), d.kind, d.ranges.clone()))
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
            (
                "i80420".to_owned(),
                "i8042",
                vec![port(0x60, 1), port(0x64, 1)]
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
                    }
                ]
            ),
        ]
    );
}

#[test]
fn test_board_runs_the_sample_to_its_screen_in_one_exit() {
    if !kvm_available() {
        return;
    }
    let mut board = board_for("guests/hello/hello.bin", &Captured::default());
    let report = board.run_to_completion();
    let page = board
        .devices()
        .screen()
        .map(|s| s.page())
        .unwrap_or_default();
    assert_eq!(report.outcome, RunOutcome::Halted);
    assert_eq!(report.exits.total, 1);
    assert!(TextScreen::new(&page)
        .to_text()
        .contains("Hello World from picovmm"));
}

#[test]
fn test_board_guest_paused_and_resumed_finishes_with_its_output() {
    if !kvm_available() {
        return;
    }
    // The debug-console guest prints and exits; pause it as it starts, then let it go on.
    let out = Captured::default();
    let mut board = board_for("guests/tests/debugcon.bin", &out);
    let control = board.control();
    control.pause();
    assert_eq!(board.vcpu().run(), VcpuEvent::Paused);
    let rip = board.vcpu().registers().map(|r| r.rip);
    control.resume();
    let report = board.run_to_completion();
    assert_eq!(rip, Some(0x7C00));
    assert!(matches!(
        report.outcome,
        RunOutcome::GuestExit(_) | RunOutcome::Halted
    ));
    assert!(!out.0.lock().map(|v| v.is_empty()).unwrap_or(true));
}

#[test]
fn test_board_pause_from_another_thread_is_waited_out() {
    if !kvm_available() {
        return;
    }
    let mut board = board_for("guests/hostile/spin.bin", &Captured::default());
    let control = board.control();
    let driver = thread::spawn(move || {
        thread::sleep(Duration::from_millis(30));
        control.pause();
        let rip = control.call(|vcpu| vcpu.registers().map(|r| r.rip));
        control.resume();
        thread::sleep(Duration::from_millis(30));
        control.stop(StopReason::Timeout);
        rip
    });
    let report = board.run_to_completion();
    let seen = driver.join().ok().flatten().flatten();
    assert_eq!(report.outcome, RunOutcome::Timeout);
    assert!(seen.is_some());
}

#[test]
fn test_board_serial_state_round_trips_while_built() {
    if !kvm_available() {
        return;
    }
    let board = board_for("guests/hello/hello.bin", &Captured::default());
    let saved = board.devices().save_state("serial0").expect("save");
    board
        .devices()
        .restore_state("serial0", saved.clone())
        .expect("restore");
    assert_eq!(board.devices().save_state("serial0").expect("save"), saved);
}

#[test]
fn test_board_keys_typed_through_the_api_reach_an_irq_guest() {
    if !kvm_available() {
        return;
    }
    let out = Captured::default();
    let mut board = board_for("guests/irq/keyboard-irq.bin", &out);
    let keys = vmm_devices::keymap::type_text("api\n").expect("keys");
    assert_eq!(board.type_keys(&[]), 0);
    // Type once the guest has set up its PIC, as a person types after the boot: from another
    // thread, through the keyboard's handle, while the board runs on this one.
    let keyboard = board.devices().keyboard().cloned().expect("an i8042");
    let typist = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(50));
        keyboard
            .lock()
            .map(|mut k| k.type_ahead(&keys))
            .unwrap_or(0)
    });
    let report = board.run_to_completion();
    assert_eq!(typist.join().expect("typist"), 8);
    assert_eq!(report.outcome, RunOutcome::GuestExit(0x10));
    let printed = out.0.lock().map(|v| v.clone()).unwrap_or_default();
    assert_eq!(String::from_utf8_lossy(&printed), "api\n");
    assert_eq!(report.exits.injected, 8, "one IRQ 1 per scancode byte");
}

#[test]
fn test_a_plugin_without_state_is_named_when_its_state_is_asked_for() {
    if !kvm_available() {
        return;
    }
    // The cmos-rtc example does not save state (SAVES_STATE is false).
    let deps = std::path::Path::new(env!("CARGO_BIN_EXE_picovmm"))
        .parent()
        .map(|p| p.join("deps"))
        .unwrap_or_default();
    let spec = vmm_cli::config::load(&repo_root().join("machines/rtc.toml")).expect("machine");
    let mut valid = validate(spec, &PluginPath::new(&[deps])).expect("valid machine");
    let board =
        Board::build(&mut valid, || Box::new(std::io::sink()) as ConsoleOutput).expect("board");
    let err = board
        .devices()
        .save_state("cmos-rtc0")
        .expect_err("no state to save");
    assert!(
        err.to_string()
            .contains("plugin cmos-rtc cannot save its state (it has no picovmm.state/1)"),
        "{err}"
    );
}
