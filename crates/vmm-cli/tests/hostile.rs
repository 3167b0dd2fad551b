//! The hostile guest suite (`guests/hostile/`): guests that do what a guest should not, each
//! ending with the documented status and message, never a panic, a hang or a write outside
//! picovmm's buffers.

mod common;

use std::io::Read;
use std::time::Duration;

use common::{kvm_available, picovmm, run};

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_port_sweep_every_unclaimed_read_is_open_bus() {
    if !kvm_available() {
        return;
    }
    let out = run(&["run", "--image", "guests/hostile/port-sweep.bin"]);
    assert_eq!(
        out.stdout,
        "all 65472 ports swept; unclaimed reads gave 0xff\n"
    );
    let warnings: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(warnings.len(), 17);
    assert_eq!(
        warnings.first().copied(),
        Some("picovmm: warning: unclaimed port write to 0x0 (1 byte, value 0x5a) at 0000:7c22 ignored (reported once per address)")
    );
    assert_eq!(out.status, (0x10 << 1) | 1);
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_mmio_sweep_every_unmapped_read_is_open_bus() {
    if !kvm_available() {
        return;
    }
    let out = run(&["run", "--image", "guests/hostile/mmio-sweep.bin"]);
    assert_eq!(
        out.stdout,
        "unmapped MMIO swept; reads gave 0xff; the option-ROM space 0x00\n"
    );
    assert_eq!(out.stderr.lines().count(), 17);
    assert_eq!(out.status, (0x10 << 1) | 1);
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_far_jump_to_unmapped_memory_is_a_guest_fault() {
    if !kvm_available() {
        return;
    }
    let out = run(&["run", "--image", "guests/hostile/far-jump.bin"]);
    assert_eq!(out.stdout, "jumping to ffff:0010\n");
    let mut lines = out.stderr.lines();
    assert!(lines.next().is_some_and(|l| l.starts_with("Error: ")));
    assert!(lines
        .next()
        .is_some_and(|l| l.starts_with("  cs:ip=ffff:0010 ")));
    assert!(out.stderr.contains("  note: CS:IP (0x100000) is not in guest RAM: the guest jumped where there is no memory\n")
        || out.stderr.starts_with("Error: the guest triple-faulted"));
    assert_eq!(out.status, 4);
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_debugcon_flood_streams_while_guest_runs() {
    if !kvm_available() {
        return;
    }
    let mut child = picovmm()
        .args(["run", "--image", "guests/hostile/debugcon-flood.bin"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start picovmm");
    let mut stdout = child.stdout.take().expect("stdout");
    // The guest writes 200,000 bytes and then spins forever: all of it must arrive while
    // picovmm is still running, so it cannot be waiting for the end to print.
    let mut flood = vec![0u8; 200_000];
    stdout.read_exact(&mut flood).expect("read the flood");
    let still_running = child.try_wait().expect("try_wait").is_none();
    std::thread::sleep(Duration::from_millis(100));
    // SAFETY: kill with our own child's pid and a standard signal.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    let status = child.wait().expect("wait");
    assert!(still_running);
    assert_eq!(
        &flood[..64],
        b"bcdefghijklmnopabcdefghijklmnopabcdefghijklmnopabcdefghijklmnop\n"
    );
    assert_eq!(flood.iter().filter(|&&b| b == b'\n').count(), 200_000 / 64);
    assert_eq!(status.code(), Some(130));
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_triple_fault_guest_reports_fault_with_registers() {
    if !kvm_available() {
        return;
    }
    let out = run(&["run", "--image", "guests/hostile/triple-fault.bin"]);
    assert_eq!(out.stdout, "about to triple-fault\n");
    let mut lines = out.stderr.lines();
    assert_eq!(
        lines.next(),
        Some("Error: the guest triple-faulted (KVM_EXIT_SHUTDOWN)")
    );
    assert!(lines
        .next()
        .is_some_and(|l| l.starts_with("  cs:ip=0000:7c")));
    assert_eq!(out.status, 4);
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_unemulatable_instruction_is_reported_with_code_bytes() {
    if !kvm_available() {
        return;
    }
    let out = run(&["run", "--image", "guests/hostile/emulation-failure.bin"]);
    assert_eq!(out.stdout, "about to int 0x20 in protected mode\n");
    let first = out.stderr.lines().next().unwrap_or_default();
    // Hosts that emulate ring-0 code in software (this project's) cannot emulate `int n` in
    // protected mode; a host with full VMX support runs it, and the empty IDT triple-faults.
    let emulation_failure =
        "Error: KVM internal error 1 (emulation failure: KVM cannot emulate the \
                             instruction); code at CS:IP: cd 20 be";
    let triple_fault = "Error: the guest triple-faulted (KVM_EXIT_SHUTDOWN)";
    assert!(
        first.starts_with(emulation_failure) || first == triple_fault,
        "stderr: {}",
        out.stderr
    );
    assert!(out.stderr.contains("  cs:ip=0000:7c22 "));
    assert_eq!(out.status, 4);
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_spinning_guest_is_stopped_by_timeout_and_screen_printed() {
    if !kvm_available() {
        return;
    }
    let out = run(&[
        "run",
        "--image",
        "guests/hostile/spin.bin",
        "--timeout",
        "500ms",
    ]);
    assert_eq!(out.stdout, "spinning in jmp $\n");
    assert!(out
        .stderr
        .starts_with("picovmm: timed out after 500ms; the guest was stopped at cs:ip=0000:7c"));
    assert_eq!(out.status, 124);
}

/// Starts the spinning guest, sends it `signal` after half a second, and returns the run.
fn spin_then_signal(signal: libc::c_int) -> common::Run {
    let child = picovmm()
        .args(["run", "--image", "guests/hostile/spin.bin"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start picovmm");
    std::thread::sleep(Duration::from_millis(500));
    // SAFETY: kill with a valid pid of our own child and a standard signal.
    let sent = unsafe { libc::kill(child.id() as libc::pid_t, signal) };
    assert_eq!(sent, 0);
    child.wait_with_output().expect("wait").into()
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_spinning_guest_is_stopped_by_ctrl_c() {
    if !kvm_available() {
        return;
    }
    let out = spin_then_signal(libc::SIGINT);
    assert_eq!(out.stdout, "spinning in jmp $\n");
    assert!(out
        .stderr
        .starts_with("picovmm: interrupted; the guest was stopped at cs:ip=0000:7c"));
    assert_eq!(out.status, 130);
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_spinning_guest_is_stopped_by_sigterm_with_screen_printed() {
    if !kvm_available() {
        return;
    }
    let out = spin_then_signal(libc::SIGTERM);
    assert_eq!(out.stdout, "spinning in jmp $\n");
    assert!(out
        .stderr
        .starts_with("picovmm: terminated (SIGTERM); the guest was stopped at cs:ip=0000:7c"));
    assert_eq!(out.status, 143);
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_spinning_guest_is_stopped_by_sighup() {
    if !kvm_available() {
        return;
    }
    let out = spin_then_signal(libc::SIGHUP);
    assert!(out.stderr.starts_with("picovmm: hung up (SIGHUP)"));
    assert_eq!(out.status, 129);
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_spinning_guest_is_stopped_by_sigquit() {
    if !kvm_available() {
        return;
    }
    let out = spin_then_signal(libc::SIGQUIT);
    assert!(out.stderr.starts_with("picovmm: quit (SIGQUIT)"));
    assert_eq!(out.status, 131);
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_vga_window_guest_keeps_whole_window_and_drops_writes_past_it() {
    if !kvm_available() {
        return;
    }
    let out = run(&["run", "--image", "guests/hostile/vga-window.bin"]);
    let mut lines = out.stdout.lines();
    assert_eq!(lines.next(), Some("last cell of the window reads back"));
    assert_eq!(lines.next(), Some("past the window reads 0x00"));
    assert_eq!(
        lines.next(),
        Some(format!("VGA window test{}", "A".repeat(65)).as_str())
    );
    assert_eq!(lines.filter(|l| *l == "A".repeat(80)).count(), 24);
    // Past the window is the option-ROM space, empty ROM: the writes go nowhere, silently.
    assert_eq!(out.stderr, "");
    assert_eq!(out.status, (0x10 << 1) | 1);
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_vga_window_guest_in_trap_mode_behaves_as_in_memory_mode() {
    if !kvm_available() {
        return;
    }
    let memory = run(&["run", "--image", "guests/hostile/vga-window.bin"]);
    let trapped = run(&[
        "run",
        "--image",
        "guests/hostile/vga-window.bin",
        "--vga-mode",
        "trap",
    ]);
    assert_eq!(trapped.stdout, memory.stdout);
    assert_eq!(trapped.stderr, memory.stderr);
    assert_eq!((trapped.status, memory.status), (0x21, 0x21));
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_unclaimed_writes_are_reported_once_per_address_up_to_16() {
    if !kvm_available() {
        return;
    }
    // A machine without the BIOS has no option-ROM space: past the text window is nothing.
    let out = run(&[
        "run",
        "crates/vmm-cli/tests/fixtures/good/unclaimed-log.toml",
    ]);
    assert!(
        out.stdout.contains("past the window does not read 0x00"),
        "{}",
        out.stdout
    );
    let warnings: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(
        warnings.first().copied(),
        Some(
            "picovmm: warning: unclaimed MMIO write to 0xc0000 (1 byte, value 0x55) at 0000:7c20 \
             ignored (reported once per address)"
        )
    );
    assert_eq!(warnings.len(), 17);
    assert_eq!(
        warnings.last().copied(),
        Some("picovmm: warning: more than 16 unclaimed addresses; not reporting further ones")
    );
    // Nothing claims isa-debug-exit's port either: the guest halts after it.
    assert_eq!(out.status, 0);
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_unclaimed_policy_stop_ends_run_with_guest_fault() {
    if !kvm_available() {
        return;
    }
    let out = run(&[
        "run",
        "crates/vmm-cli/tests/fixtures/good/unclaimed-stop.toml",
    ]);
    assert!(out.stderr.starts_with(
        "Error: unclaimed MMIO write to 0xc0000 (1 byte, value 0x55)\n  cs:ip=0000:7c20 "
    ));
    assert_eq!(out.status, 4);
}

/// Starts the flood guest with stdout to a pipe nobody reads yet, ended by a `--timeout` in
/// `extra` or by `signal` after a while; returns how long after the start picovmm said the
/// outcome on stderr (`None`: not within 10 s), everything stdout had (read only afterwards),
/// the bytes the guest wrote (its port-write exits) and the exit status.
fn flood_with_blocked_stdout(
    extra: &[&str],
    signal: Option<(libc::c_int, Duration)>,
) -> (Option<Duration>, Vec<u8>, u64, Option<i32>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let stats = dir.path().join("stats.json");
    let stats_arg = stats.to_string_lossy().into_owned();
    let start = std::time::Instant::now();
    let mut args = vec![
        "run",
        "--image",
        "guests/hostile/debugcon-flood.bin",
        "--screen",
        "none",
        "--stats-json",
        &stats_arg,
    ];
    args.extend(extra);
    let mut child = picovmm()
        .args(&args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start picovmm");
    let mut stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut first = [0u8; 1];
        let _ = stderr.read(&mut first);
        let _ = tx.send(start.elapsed());
    });
    if let Some((signal, after)) = signal {
        std::thread::sleep(after);
        // SAFETY: kill with our own child's pid and a standard signal.
        unsafe { libc::kill(child.id() as libc::pid_t, signal) };
    }
    let said_at = rx.recv_timeout(Duration::from_secs(10)).ok();
    let mut stdout = Vec::new();
    child
        .stdout
        .take()
        .expect("stdout")
        .read_to_end(&mut stdout)
        .expect("read stdout");
    let status = child.wait().expect("wait").code();
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&stats).unwrap_or_default())
            .unwrap_or_default();
    let written = json["exits"]["io_out"].as_u64().unwrap_or(0);
    (said_at, stdout, written, status)
}

/// The guest writes 200,000 bytes at one exit each (about 2 s here); stdout's pipe and
/// picovmm's buffer hold 128 KiB, so by 3 s the vCPU is waiting for a reader that never reads.
#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_timeout_fires_on_time_while_stdout_is_blocked_and_no_output_is_lost() {
    if !kvm_available() {
        return;
    }
    let (said_at, stdout, written, status) = flood_with_blocked_stdout(&["--timeout", "3s"], None);
    let said_at = said_at.expect("picovmm said nothing within 10 s");
    assert!(
        said_at < Duration::from_millis(3100),
        "the timeout fired after {said_at:?}"
    );
    // Held back by the reader: without it the guest would have written all 200,000 by now.
    assert!(written > 64 * 1024 && written < 200_000, "{written} bytes");
    assert_eq!(stdout.len() as u64, written);
    assert_eq!(status, Some(124));
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_ctrl_c_wins_while_stdout_is_blocked() {
    if !kvm_available() {
        return;
    }
    let after = Duration::from_millis(2500);
    let (said_at, stdout, written, status) =
        flood_with_blocked_stdout(&[], Some((libc::SIGINT, after)));
    let said_at = said_at.expect("picovmm said nothing within 10 s");
    assert!(
        said_at < after + Duration::from_millis(100),
        "stopped after {said_at:?}"
    );
    assert_eq!(stdout.len() as u64, written);
    assert_eq!(status, Some(130));
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_bios_sweep_every_vector_survives_and_reports_at_most_64_functions() {
    if !kvm_available() {
        return;
    }
    let out = run(&[
        "run",
        "--image",
        "guests/hostile/bios-sweep.bin",
        "--timeout",
        "20s",
    ]);
    assert_eq!(out.status, 0, "{}", out.stderr);
    assert!(
        out.stdout.starts_with("swept vectors 10h-7Fh\n"),
        "{}",
        out.stdout
    );
    let reports = out.stderr.matches("is not implemented").count();
    assert_eq!(reports, 64, "{}", out.stderr);
    assert!(out.stderr.contains("not reporting further ones"));
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_an_interrupt_past_the_idt_limit_is_a_triple_fault() {
    if !kvm_available() {
        return;
    }
    // Through the BIOS's stub under KVM (whose real-mode emulator here ignores the limit),
    // and by the interpreter's own check.
    for accel in ["kvm", "interp"] {
        let out = run(&[
            "run",
            "--accel",
            accel,
            "--image",
            "guests/hostile/idt-limit.bin",
        ]);
        assert_eq!(out.stdout, "lidt with limit 0, then int3\n", "{accel}");
        assert!(
            out.stderr
                .starts_with("Error: the guest triple-faulted (KVM_EXIT_SHUTDOWN)\n"),
            "{accel}: {}",
            out.stderr
        );
        assert_eq!(out.status, 4, "{accel}");
    }
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_the_bios_rom_is_write_protected_from_the_guest() {
    if !kvm_available() {
        return;
    }
    // A `not`, a `rep stosb` and an int 13h read into F000:0000; the guest compares the ROM
    // with the copy it took before. Under KVM the ROM's slot is read-only; the interpreter
    // and the BIOS's own services drop the writes the same way.
    for accel in ["kvm", "interp", "auto"] {
        let out = run(&[
            "run",
            "--accel",
            accel,
            "--drive",
            "guests/hostile/rom-write.bin,readonly",
        ]);
        assert_eq!(
            out.stdout, "the ROM is unchanged\n",
            "{accel}: {}",
            out.stderr
        );
        assert_eq!(out.status, 1, "{accel}: {}", out.stderr);
        assert!(!out.stderr.contains("unclaimed"), "{accel}: {}", out.stderr);
    }
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_int13_cannot_wrap_into_the_ivt_or_write_the_rom_as_the_disk_shows() {
    if !kvm_available() {
        return;
    }
    let rom = std::fs::read(common::repo_root().join("crates/vmm-bios/rom/bios.bin")).expect("rom");
    for accel in ["kvm", "interp"] {
        let dir = tempfile::tempdir().expect("tempdir");
        let image = dir.path().join("floppy.img");
        let mut bytes = std::fs::read(common::repo_root().join("guests/hostile/int13-bounds.bin"))
            .expect("guest");
        bytes.resize(1_474_560, 0);
        std::fs::write(&image, bytes).expect("image");
        let out = run(&["run", "--accel", accel, "--drive", &image.to_string_lossy()]);
        assert_eq!(out.stdout, "sectors written\n", "{accel}: {}", out.stderr);
        assert_eq!(out.status, 1, "{accel}: {}", out.stderr);
        // Sectors 2..5 (CHS 0/0/2..5): the IVT and the ROM after the transfers, and before.
        let disk = std::fs::read(&image).expect("image");
        let sector = |n: usize| &disk[512 * (n - 1)..512 * n];
        assert_eq!(sector(2), sector(4), "{accel}: the IVT changed");
        assert!(sector(2).iter().any(|&b| b != 0), "{accel}: no IVT written");
        assert_eq!(sector(3), sector(5), "{accel}: the ROM changed");
        assert_eq!(sector(3), &rom[..512], "{accel}: the ROM is not the BIOS's");
    }
}
