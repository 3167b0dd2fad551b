//! The same guests under both CPU backends: KVM and picovmm's interpreter print the same
//! screens and output and end with the same status; `auto` chooses on evidence; without a
//! usable /dev/kvm the interpreter still runs real-mode guests; a snapshot moves between the
//! backends.

mod common;

use std::process::Command;

use common::{kvm_available, picovmm, run, run_with_stats};

/// Real- and protected-mode guests and how they are started. Not here, each for its reason:
/// guests that use what this host's KVM cannot run (`guests/cpu/protected.bin`: 32-bit paging
/// without PAE, `int n`; tests/protected.rs runs them), long mode (KVM's), `guests/cpu/cpuid.bin`
/// (CPUID describes the backend's CPU), and the
/// benchmark guests that print timings, and `guests/irq/storm.bin` (it never ends by itself).
const GUESTS: [&[&str]; 34] = [
    &["machines/protected.toml"],
    &["machines/multiboot.toml"],
    &["machines/elf.toml"],
    &["--image", "guests/hello/hello.bin"],
    &["--image", "guests/tests/exit-code.bin"],
    &["--image", "guests/tests/string-io.bin"],
    &["--image", "guests/cpu/answer.bin"],
    &["--image", "guests/bench/hello-exit.bin"],
    &["--image", "guests/bench/port-loop.bin"],
    &["--image", "guests/bench/screen-writer.bin"],
    &["--drive", "guests/bench/bios-hello.bin,readonly"],
    &["--drive", "guests/bench/teletype-loop.bin,readonly"],
    &["--drive", "guests/bios/teletype.bin,readonly"],
    &["--drive", "guests/bios/mode13.bin,readonly"],
    &["--drive", "guests/bios/instructions.bin,readonly"],
    &["--drive", "guests/bios/ticks.bin,readonly"],
    &["-m", "2M", "--image", "guests/bios/a20.bin"],
    &["--image", "guests/bios/planar.bin"],
    &["--image", "guests/bios/planar10.bin"],
    &["--image", "guests/bios/cga.bin"],
    &["--image", "guests/bios/vbe.bin"],
    &["--image", "guests/bios/lines.bin"],
    &["--image", "guests/display/colours.bin"],
    &["--image", "guests/hostile/far-jump.bin"],
    &["--image", "guests/hostile/triple-fault.bin"],
    &["--image", "guests/hostile/idt-limit.bin"],
    &["--image", "guests/hostile/vga-window.bin"],
    &["--image", "guests/hostile/mmio-sweep.bin"],
    &["--image", "guests/hostile/bios-sweep.bin"],
    &["--image", "guests/irq/pit-1khz.bin"],
    &["--image", "guests/irq/pit-100hz.bin"],
    &["--image", "guests/irq/pit-counter.bin"],
    &["--image", "guests/irq/pic-mask.bin"],
    &["--image", "guests/irq/masked-halt.bin"],
];

fn under(accel: &str, args: &[&str]) -> common::Run {
    let mut all = vec!["run", "--accel", accel, "--timeout", "30s"];
    all.extend_from_slice(args);
    run(&all)
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_real_mode_guests_print_and_end_the_same_under_both_backends() {
    if !kvm_available() {
        return;
    }
    let mut differ = Vec::new();
    for args in GUESTS {
        let (kvm, interp) = (under("kvm", args), under("interp", args));
        if (kvm.stdout.as_str(), kvm.status) != (interp.stdout.as_str(), interp.status) {
            differ.push(format!(
                "{args:?}: kvm ({}) {:?} / interp ({}) {:?} {}",
                kvm.status, kvm.stdout, interp.status, interp.stdout, interp.stderr
            ));
        }
    }
    assert_eq!(differ, Vec::<String>::new());
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_bios_repl_reads_stdin_the_same_under_both_backends() {
    if !kvm_available() {
        return;
    }
    let outputs: Vec<(String, i32)> = ["kvm", "interp"]
        .iter()
        .map(|accel| {
            let out = common::run_with_input(
                &[
                    "run",
                    "--accel",
                    accel,
                    "--drive",
                    "guests/bios/repl.bin,readonly",
                ],
                b"hello\nquit\n",
            );
            (out.stdout, out.status)
        })
        .collect();
    assert_eq!(outputs[0], outputs[1]);
    assert!(outputs[1].0.contains("HELLO (5)"), "{}", outputs[1].0);
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_stats_say_which_backend_ran_and_count_instructions() {
    if !kvm_available() {
        return;
    }
    let (out, stats) = run_with_stats(&[
        "run",
        "--accel",
        "interp",
        "--image",
        "guests/hello/hello.bin",
    ]);
    assert_eq!(out.status, 0, "{}", out.stderr);
    assert_eq!(stats["accel"]["backend"], "interp");
    assert!(
        stats["instructions"].as_u64().is_some_and(|n| n > 100),
        "{stats}"
    );
    let (_, stats) =
        run_with_stats(&["run", "--accel", "kvm", "--image", "guests/hello/hello.bin"]);
    assert_eq!(stats["accel"]["backend"], "kvm");
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_auto_runs_long_mode_guests_on_kvm_and_protected_mode_where_it_is_faster() {
    if !kvm_available() {
        return;
    }
    let (out, stats) = run_with_stats(&["run", "machines/long.toml", "--accel", "auto"]);
    assert_eq!(stats["accel"]["backend"], "kvm", "{}", out.stderr);
    let (out, stats) = run_with_stats(&["run", "machines/protected.toml", "--accel", "auto"]);
    assert_eq!(out.status, (0x32 << 1) | 1, "{}", out.stderr);
    let reason = stats["accel"]["reason"].as_str().unwrap_or_default();
    let expected = if reason.contains("emulates") {
        "interp"
    } else {
        "kvm"
    };
    assert_eq!(stats["accel"]["backend"], expected, "{stats}");
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_interpreter_refuses_a_long_mode_entry_with_a_reason() {
    if !kvm_available() {
        return;
    }
    let out = run(&["run", "machines/long.toml", "--accel", "interp"]);
    assert_eq!(out.status, 6, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("the interpreter runs real- and protected-mode guests, not long mode"),
        "{}",
        out.stderr
    );
}

/// Runs `picovmm ARGS` where /dev/kvm is /dev/null (a private mount namespace): no KVM.
fn without_kvm(args: &str) -> Option<common::Run> {
    let binary = env!("CARGO_BIN_EXE_picovmm");
    let script = format!("mount --bind /dev/null /dev/kvm && exec {binary} {args}");
    let out = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c", &script])
        .current_dir(common::repo_root())
        .output()
        .ok()?;
    let run = common::Run::from(out);
    // Not root, or no unshare: the namespace cannot be made here.
    if run.stderr.contains("unshare:") || run.stderr.contains("mount:") {
        return None;
    }
    Some(run)
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_without_kvm_the_interpreter_runs_and_kvm_is_refused() {
    if !kvm_available() {
        return;
    }
    let Some(auto) =
        without_kvm("run --accel auto --drive guests/bios/teletype.bin,readonly --stats")
    else {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "CI runs as root"
        );
        eprintln!("skipping: cannot hide /dev/kvm here (needs root and unshare)");
        return;
    };
    assert_eq!(auto.status, 0, "{}", auto.stderr);
    assert!(auto.stdout.ends_with("line 30\n"), "{}", auto.stdout);
    assert!(
        auto.stderr.contains("/dev/kvm is not usable here"),
        "{}",
        auto.stderr
    );
    let kvm = without_kvm("run --accel kvm --image guests/hello/hello.bin").expect("namespace");
    assert_eq!(kvm.status, 6, "{}", kvm.stderr);
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_a_snapshot_taken_under_kvm_continues_under_the_interpreter_and_back() {
    if !kvm_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let first = dir.path().join("kvm.snap");
    let second = dir.path().join("interp.snap");
    let p = |p: &std::path::Path| p.to_string_lossy().into_owned();
    // pit-1khz counts 600 ticks of a 1 kHz timer, then exits: stopped after 250 ms under KVM,
    // continued for a while under the interpreter, then finished under KVM.
    let out = run(&[
        "run",
        "--accel",
        "kvm",
        "--image",
        "guests/irq/pit-1khz.bin",
        "--timeout",
        "250ms",
        "--snapshot-on-exit",
        &p(&first),
    ]);
    assert_eq!(out.status, 124, "{}", out.stderr);
    let out = run(&[
        "restore",
        &p(&first),
        "--accel",
        "interp",
        "--timeout",
        "100ms",
        "--snapshot-on-exit",
        &p(&second),
    ]);
    assert!(matches!(out.status, 124 | 33), "{}", out.stderr);
    let out = picovmm()
        .args(["restore", &p(&second), "--accel", "kvm"])
        .output()
        .expect("restore");
    let out = common::Run::from(out);
    assert_eq!(
        (out.stdout.as_str(), out.status),
        ("ticks counted\n", 33),
        "{}",
        out.stderr
    );
}
