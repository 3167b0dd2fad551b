//! End-to-end: the PC's interrupt controllers, timer and keyboard controller, with real guests
//! under KVM (guests/irq). Each asserts on what the guest printed, the exit status and the
//! run's figures from --stats-json.

mod common;

use std::io::Write;
use std::process::Stdio;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::{kvm_available, picovmm, repo_root, run, run_with_stats, Run};

/// Held by the tests whose figures depend on the host's timing, so they do not run at once:
/// on two cores, a vCPU kept off its CPU for over a period loses the ticks the PIC merges.
static TIMING: Mutex<()> = Mutex::new(());

fn timing() -> std::sync::MutexGuard<'static, ()> {
    TIMING.lock().unwrap_or_else(|p| p.into_inner())
}

/// The timer rate a guest saw: `ticks` interrupts over the run loop's time.
fn rate(stats: &serde_json::Value, ticks: f64) -> f64 {
    let run_ns = stats["run_ns"].as_f64().expect("run_ns");
    ticks / (run_ns / 1e9)
}

/// Timer rates are measured by the benchmarks; here a rate only has to be plausible: never
/// faster than programmed (ticks come on time or late, never early), and not starved (a busy
/// machine may delay the timer thread, so the lower bound is generous).
fn assert_plausible(hz: f64, programmed: f64) {
    assert!(
        hz < programmed * 1.05 && hz > programmed * 0.5,
        "{hz} Hz for {programmed} Hz"
    );
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_pit_mode_2_at_1khz_ticks_at_its_rate() {
    if !kvm_available() {
        return;
    }
    let _serial = timing();
    let (out, stats) = run_with_stats(&["run", "--image", "guests/irq/pit-1khz.bin"]);
    assert_eq!((out.stdout.as_str(), out.status), ("ticks counted\n", 0x21));
    assert_plausible(rate(&stats, 600.0), 1000.15);
    // One more tick may be taken as the guest exits.
    let taken = stats["interrupts"].as_u64().unwrap_or(0);
    assert!((600..=601).contains(&taken), "{taken}");
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_pit_mode_3_at_100hz_ticks_at_its_rate() {
    if !kvm_available() {
        return;
    }
    let _serial = timing();
    let (out, stats) = run_with_stats(&["run", "--image", "guests/irq/pit-100hz.bin"]);
    assert_eq!((out.stdout.as_str(), out.status), ("ticks counted\n", 0x21));
    assert_plausible(rate(&stats, 60.0), 100.0);
    // Idling costs exits per tick, not per microsecond: a halt and an EOI each.
    assert!(stats["exits"]["total"].as_u64().unwrap() < 200, "{stats}");
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_pit_counter_falls_and_channel_2_output_rises() {
    if !kvm_available() {
        return;
    }
    let out = run(&["run", "--image", "guests/irq/pit-counter.bin"]);
    assert_eq!(
        out.stdout,
        "channel 0 counts down\nchannel 2 output rose\nrefresh bit toggles\n"
    );
    assert_eq!(out.status, 0x21);
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_pic_masks_and_unmasks_the_timer() {
    if !kvm_available() {
        return;
    }
    let out = run(&["run", "--image", "guests/irq/pic-mask.bin"]);
    assert_eq!(
        out.stdout,
        "masked: no tick, IRR holds it\nunmasked: ticks\nmasked again: ticks stop\n"
    );
    assert_eq!(out.status, 0x21);
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_serial_input_arrives_by_irq4() {
    if !kvm_available() {
        return;
    }
    let mut child = picovmm()
        .args([
            "run",
            "--image",
            "guests/irq/serial-irq.bin",
            "--timeout",
            "20s",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start picovmm");
    let mut stdin = child.stdin.take().expect("stdin");
    // Two writes apart in time: the second arrives while the guest idles in `hlt`.
    stdin.write_all(b"by ").expect("write");
    std::thread::sleep(Duration::from_millis(100));
    stdin.write_all(b"interrupt\n").expect("write");
    let out: Run = child.wait_with_output().expect("wait").into();
    assert_eq!(out.stdout, "by interrupt\n");
    assert_eq!(out.status, 0x21, "{}", out.stderr);
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_keys_from_the_machine_file_arrive_by_irq1() {
    if !kvm_available() {
        return;
    }
    let out = run(&["run", "machines/keyboard.toml", "--timeout", "20s"]);
    assert_eq!(out.stdout, "hello world\n");
    assert_eq!(out.status, 0x21, "{}", out.stderr);
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_keys_read_by_polling_as_scancodes() {
    if !kvm_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let machine = dir.path().join("poll.toml");
    let image = repo_root().join("guests/irq/keyboard-poll.bin");
    std::fs::write(
        &machine,
        format!(
            "[[memory]]\nbase = 0\nsize = \"640 KiB\"\n[boot]\nimage = {image:?}\n\
             [[device]]\ntype = \"debugcon\"\n[[device]]\ntype = \"isa-debug-exit\"\n\
             [[device]]\ntype = \"i8042\"\nkeys = \"Hi{{Up}}\\n\"\n"
        ),
    )
    .expect("write machine");
    let out = run(&["run", machine.to_str().unwrap(), "--timeout", "20s"]);
    // Shift, h, h up, Shift up, i, i up, Up (extended), Up up, Enter, Enter up.
    assert_eq!(out.stdout, "2a 23 a3 aa 17 97 e0 48 e0 c8 1c 9c \n");
    assert_eq!(out.status, 0x21, "{}", out.stderr);
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_cli_hlt_ends_the_run_promptly_in_one_exit() {
    if !kvm_available() {
        return;
    }
    let _serial = timing();
    let (out, stats) = run_with_stats(&["run", "--image", "guests/hello/hello.bin"]);
    assert_eq!(out.status, 0);
    assert_eq!(stats["exits"]["total"], 1);
    assert!(stats["run_ns"].as_u64().unwrap() < 10_000_000, "{stats}");
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_sti_hlt_with_every_line_masked_halts_promptly() {
    if !kvm_available() {
        return;
    }
    let _serial = timing();
    let (out, stats) = run_with_stats(&["run", "--image", "guests/irq/masked-halt.bin"]);
    assert_eq!((out.stdout.as_str(), out.status), ("", 0));
    assert_eq!(stats["outcome"], "halted");
    assert!(stats["run_ns"].as_u64().unwrap() < 10_000_000, "{stats}");
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_sti_hlt_with_a_timer_waits_until_the_timeout() {
    if !kvm_available() {
        return;
    }
    let _serial = timing();
    // The storm guest's timer keeps interrupting `jmp $`; the timeout, not a halt, ends it.
    let started = Instant::now();
    let (out, stats) =
        run_with_stats(&["run", "--image", "guests/irq/storm.bin", "--timeout", "1s"]);
    assert_eq!(out.status, 124, "{}", out.stderr);
    assert_eq!(out.stdout, "storming\n");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    // A count of 1 asks for 1.19 MHz; the PIT's interrupts are capped at 5 kHz.
    let interrupts = stats["interrupts"].as_u64().unwrap();
    assert!((1_000..=5_500).contains(&interrupts), "{interrupts}");
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_i8042_reset_pulse_ends_the_run_as_reset() {
    if !kvm_available() {
        return;
    }
    let (out, stats) = run_with_stats(&["run", "--image", "guests/irq/reset.bin"]);
    assert_eq!((out.stdout.as_str(), out.status), ("resetting\n", 0));
    assert_eq!(stats["outcome"], "reset");
    assert!(
        out.stderr
            .starts_with("picovmm: the guest reset the machine (i8042 reset pulse)"),
        "{}",
        out.stderr
    );
}

#[test]
fn test_bad_keys_in_machine_file_are_rejected() {
    let dir = tempfile::tempdir().expect("tempdir");
    let machine = dir.path().join("bad.toml");
    std::fs::write(
        &machine,
        "[[memory]]\nbase = 0\nsize = \"640 KiB\"\n[[device]]\ntype = \"i8042\"\nkeys = \"{Nope}\"\n",
    )
    .expect("write machine");
    let out = run(&["check", machine.to_str().unwrap()]);
    assert_eq!(out.status, 2);
    assert!(
        out.stderr
            .contains(":6:8: keys: unknown key {Nope}; known: Esc,"),
        "{}",
        out.stderr
    );
}

#[test]
fn test_serial_irq_out_of_range_is_rejected() {
    let dir = tempfile::tempdir().expect("tempdir");
    let machine = dir.path().join("bad.toml");
    std::fs::write(
        &machine,
        "[[memory]]\nbase = 0\nsize = \"640 KiB\"\n[[device]]\ntype = \"serial\"\nirq = 2\n",
    )
    .expect("write machine");
    let out = run(&["check", machine.to_str().unwrap()]);
    assert_eq!(out.status, 2);
    assert!(
        out.stderr
            .contains(":6:7: irq 2 is not a line a device can use: 0-15, but not 2 (the cascade)"),
        "{}",
        out.stderr
    );
}

/// Runs a kernel guest that counts 50 timer interrupts through its IDT in `mode`.
fn kernel_ticks(image: &str, mode: &str, banner: &str) -> serde_json::Value {
    let (out, stats) = run_with_stats(&[
        "run",
        "--image",
        image,
        "--mode",
        mode,
        "--entry",
        "0x7c00",
        "--timeout",
        "20s",
    ]);
    assert_eq!(
        (out.stdout.as_str(), out.status),
        (banner, 0x21),
        "{}",
        out.stderr
    );
    assert_eq!(stats["interrupts"], 50);
    stats
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_protected_mode_kernel_takes_the_timer_through_its_idt() {
    if !kvm_available() {
        return;
    }
    let stats = kernel_ticks(
        "guests/irq/pm-ticks.bin",
        "protected",
        "50 timer interrupts in protected mode\n",
    );
    // On this project's host KVM cannot emulate IRETD at ring 0; picovmm does each one.
    let done_by_picovmm = stats["iret_emulated"].as_u64().unwrap_or(0);
    assert!(done_by_picovmm == 0 || done_by_picovmm == 50, "{stats}");
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_long_mode_kernel_takes_the_timer_through_its_idt() {
    if !kvm_available() {
        return;
    }
    kernel_ticks(
        "guests/irq/lm-ticks.bin",
        "long",
        "50 timer interrupts in long mode\n",
    );
}
