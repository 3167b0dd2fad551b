//! Snapshots end to end: a machine stopped and saved with `run --snapshot-on-exit`, continued
//! with `picovmm restore` in a new process; and the files and machines that are refused.

mod common;

use std::path::Path;

use common::{kvm_available, repo_root, run, run_with_input};

fn stats(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("stats")).expect("json")
}

fn s(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_a_timer_guest_continues_its_count_after_a_restore() {
    if !kvm_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let (snap, first, second) = (
        dir.path().join("t.snap"),
        dir.path().join("1.json"),
        dir.path().join("2.json"),
    );
    let out = run(&[
        "run",
        "--image",
        "guests/irq/pit-1khz.bin",
        "--timeout",
        "250ms",
        "--snapshot-on-exit",
        &s(&snap),
        "--stats-json",
        &s(&first),
    ]);
    assert_eq!(out.status, 124, "{}", out.stderr);
    assert!(out.stderr.contains("snapshot written to"), "{}", out.stderr);
    let out = run(&["restore", &s(&snap), "--stats-json", &s(&second)]);
    assert_eq!(out.status, 33, "{}", out.stderr);
    assert_eq!(out.stdout, "ticks counted\n");
    // 600 ticks in all: the count went on from where the snapshot left it.
    let (a, b) = (
        stats(&first)["interrupts"].as_u64(),
        stats(&second)["interrupts"].as_u64(),
    );
    let (a, b) = (a.unwrap_or(0), b.unwrap_or(0));
    assert!(a > 50 && b > 50, "{a} + {b}");
    assert_eq!(a + b, 600);
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_a_bios_repl_restored_mid_session_answers_the_next_line_and_keeps_its_screen() {
    if !kvm_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let snap = dir.path().join("r.snap");
    let first = run_with_input(
        &[
            "run",
            "--drive",
            "guests/bios/repl.bin,readonly",
            "--timeout",
            "700ms",
            "--snapshot-on-exit",
            &s(&snap),
        ],
        b"hello\n",
    );
    assert_eq!(first.status, 124, "{}", first.stderr);
    assert_eq!(first.stdout, "> hello\nHELLO (5)\n>\n");
    // The screen after a restore is the screen before it.
    let same = run_with_input(&["restore", &s(&snap), "--timeout", "300ms"], b"");
    assert_eq!(same.status, 124, "{}", same.stderr);
    assert_eq!(same.stdout, first.stdout);
    // The next line from stdin is answered, and the guest goes on to the end.
    let next = run_with_input(&["restore", &s(&snap)], b"world\nquit\n");
    assert_eq!(next.status, 0, "{}", next.stderr);
    assert_eq!(
        next.stdout,
        "> hello\nHELLO (5)\n> world\nWORLD (5)\n> quit\nbye\n"
    );
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_a_long_mode_guest_keeps_its_page_tables_and_exits_with_its_code() {
    if !kvm_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let snap = dir.path().join("l.snap");
    let out = run(&[
        "run",
        "--image",
        "guests/snapshot/long-loop.bin",
        "--mode",
        "long",
        "--timeout",
        "400ms",
        "--snapshot-on-exit",
        &s(&snap),
    ]);
    assert_eq!(out.status, 124, "{}", out.stderr);
    let out = run(&["restore", &s(&snap)]);
    // 0x2a: paging was on and RBX kept its marker.
    assert_eq!(out.status, (0x2a << 1) | 1, "{}", out.stderr);
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_another_version_a_truncated_file_and_a_flipped_byte_are_refused() {
    if !kvm_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let snap = dir.path().join("t.snap");
    let out = run(&[
        "run",
        "--image",
        "guests/hostile/spin.bin",
        "--timeout",
        "100ms",
        "--snapshot-on-exit",
        &s(&snap),
    ]);
    assert_eq!(out.status, 124);
    let good = std::fs::read(&snap).expect("snapshot");
    let cases: [(&str, Vec<u8>, &str); 4] = [
        (
            "version",
            {
                let mut b = good.clone();
                b[12] = 9;
                b
            },
            "is a snapshot of format version 9; this picovmm reads version 1",
        ),
        ("truncated", good[..good.len() / 2].to_vec(), "is truncated"),
        (
            "flipped",
            {
                let mut b = good.clone();
                b[good.len() / 3] ^= 0x20;
                b
            },
            "is damaged: its checksum does not match its contents",
        ),
        ("not", b"#!/bin/sh\n".to_vec(), "is not a picovmm snapshot"),
    ];
    for (name, bytes, message) in cases {
        let path = dir.path().join(format!("{name}.snap"));
        std::fs::write(&path, bytes).expect("write");
        let out = run(&["restore", &s(&path)]);
        assert_eq!(out.status, 2, "{name}: {}", out.stderr);
        assert_eq!(
            out.stderr,
            format!("Error: snapshot {}: {message}\n", path.display()),
            "{name}"
        );
    }
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_a_changed_disk_image_is_refused_unless_forced() {
    if !kvm_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let image = dir.path().join("repl.img");
    std::fs::copy(repo_root().join("guests/bios/repl.bin"), &image).expect("copy");
    let snap = dir.path().join("d.snap");
    let out = run_with_input(
        &[
            "run",
            "--drive",
            &s(&image),
            "--timeout",
            "300ms",
            "--snapshot-on-exit",
            &s(&snap),
        ],
        b"",
    );
    assert_eq!(out.status, 124, "{}", out.stderr);
    let mut bytes = std::fs::read(&image).expect("image");
    bytes.extend_from_slice(&[0; 512]);
    std::fs::write(&image, bytes).expect("change the image");
    let out = run_with_input(&["restore", &s(&snap), "--timeout", "200ms"], b"");
    assert_eq!(out.status, 2);
    assert!(
        out.stderr.contains("changed since the snapshot"),
        "{}",
        out.stderr
    );
    let out = run_with_input(
        &["restore", &s(&snap), "--timeout", "200ms", "--force-drives"],
        b"",
    );
    assert_eq!(out.status, 124, "{}", out.stderr);
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_machines_that_cannot_be_saved_are_refused_before_they_run() {
    if !kvm_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let snap = dir.path().join("x.snap");
    // A snapshot drive's writes live only in memory.
    let out = run(&[
        "run",
        "--drive",
        "guests/bios/repl.bin,snapshot",
        "--snapshot-on-exit",
        &s(&snap),
    ]);
    assert_eq!(out.status, 2);
    assert!(out.stderr.contains("in snapshot mode"), "{}", out.stderr);
    // A plugin without picovmm.state/1 is named.
    let deps = Path::new(env!("CARGO_BIN_EXE_picovmm"))
        .parent()
        .map(|p| p.join("deps"))
        .unwrap_or_default();
    let out = run(&[
        "run",
        "machines/rtc.toml",
        "--plugin-dir",
        &s(&deps),
        "--snapshot-on-exit",
        &s(&snap),
    ]);
    assert_eq!(out.status, 2);
    assert!(
        out.stderr
            .contains("plugin device cmos-rtc0 cannot save its state"),
        "{}",
        out.stderr
    );
    assert!(!snap.exists());
}

#[test]
fn test_restore_of_a_device_file_is_refused_without_reading_it() {
    let started = std::time::Instant::now();
    let out = run(&["restore", "/dev/zero"]);
    assert_eq!(out.status, 2, "{}", out.stderr);
    assert!(out.stderr.contains("not a regular file"), "{}", out.stderr);
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_a_snapshot_path_that_cannot_be_written_is_refused_before_the_run() {
    if !kvm_available() {
        return;
    }
    let out = run(&[
        "run",
        "--image",
        "guests/tests/exit-code.bin",
        "--snapshot-on-exit",
        "/nonexistent/x.snap",
    ]);
    assert_eq!(out.status, 2, "{}", out.stderr);
    assert_eq!(out.stdout, "", "the guest never ran");
    assert!(
        out.stderr
            .starts_with("Error: snapshot /nonexistent/x.snap"),
        "{}",
        out.stderr
    );
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_a_halted_guest_says_why_no_snapshot_was_written() {
    if !kvm_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let snap = dir.path().join("h.snap");
    let out = run(&[
        "run",
        "--image",
        "guests/hello/hello.bin",
        "--snapshot-on-exit",
        &s(&snap),
    ]);
    assert_eq!(out.status, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("no snapshot written to"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("the run ended (halted)"),
        "{}",
        out.stderr
    );
    assert!(!snap.exists());
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_restore_serves_only_the_gdb_it_asks_for_and_its_own_pmemsave() {
    if !kvm_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let machine = dir.path().join("gdb.toml");
    let image = repo_root().join("guests/irq/pit-1khz.bin");
    std::fs::write(
        &machine,
        format!(
            "[[memory]]\nbase = 0\nsize = \"640 KiB\"\n[boot]\nimage = {image:?}\n\
             [[device]]\ntype = \"pic\"\n[[device]]\ntype = \"pit\"\n\
             [[device]]\ntype = \"debugcon\"\n[[device]]\ntype = \"isa-debug-exit\"\n\
             [debug]\ngdb = \"127.0.0.1:0\"\n"
        ),
    )
    .expect("machine file");
    let snap = dir.path().join("g.snap");
    let out = run(&[
        "run",
        &s(&machine),
        "--timeout",
        "200ms",
        "--snapshot-on-exit",
        &s(&snap),
    ]);
    assert!(out.stderr.contains("gdb stub listening"), "{}", out.stderr);
    let out = run(&["restore", &s(&snap), "--timeout", "200ms"]);
    assert!(!out.stderr.contains("gdb stub listening"), "{}", out.stderr);
    assert!(matches!(out.status, 124 | 33), "{}", out.stderr);
    // The restore command's own debugging: a stub, and memory saved at the end.
    let ivt = dir.path().join("ivt.bin");
    let asked = run(&[
        "restore",
        &s(&snap),
        "--timeout",
        "200ms",
        "--gdb",
        "127.0.0.1:0",
        "--pmemsave",
        "0",
        "1024",
        &s(&ivt),
    ]);
    assert!(
        asked.stderr.contains("gdb stub listening on 127.0.0.1:"),
        "{}",
        asked.stderr
    );
    assert_eq!(
        std::fs::metadata(&ivt).map(|m| m.len()).ok(),
        Some(1024),
        "{}",
        asked.stderr
    );
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_restore_needs_no_boot_image_file_its_bytes_are_in_the_saved_ram() {
    if !kvm_available() {
        return;
    }
    // A real-mode timer guest and a long-mode one, each from a copy of its image that is
    // deleted after the snapshot: the restored machine runs on to the guest's own end.
    let cases: [(&str, &[&str], &str, i32); 2] = [
        ("guests/irq/pit-1khz.bin", &[], "ticks counted\n", 33),
        (
            "guests/snapshot/long-loop.bin",
            &["--mode", "long"],
            "",
            (0x2a << 1) | 1,
        ),
    ];
    for (guest, flags, stdout, status) in cases {
        let dir = tempfile::tempdir().expect("tempdir");
        let (image, snap) = (dir.path().join("boot.bin"), dir.path().join("b.snap"));
        std::fs::copy(repo_root().join(guest), &image).expect("copy the image");
        let mut args = vec!["run", "--timeout", "300ms", "--snapshot-on-exit"];
        let (image_arg, snap_arg) = (s(&image), s(&snap));
        args.extend([snap_arg.as_str(), "--image", image_arg.as_str()]);
        args.extend_from_slice(flags);
        let out = run(&args);
        assert_eq!(out.status, 124, "{guest}: {}", out.stderr);
        std::fs::remove_file(&image).expect("delete the image");
        let out = run(&["restore", &snap_arg]);
        assert_eq!(out.status, status, "{guest}: {}", out.stderr);
        assert_eq!(out.stdout, stdout, "{guest}");
    }
}
