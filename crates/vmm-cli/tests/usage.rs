//! What a user gets wrong on the command line gets a clear error and status 2, at once: a boot
//! image given as the machine file, durations without a unit or of zero, drive options that
//! do not exist or contradict each other, a FIFO as a disk, a plugin folder that is not there;
//! and `-` means stdout for the outputs that take a path.

mod common;

use std::time::{Duration, Instant};

use common::{kvm_available, run};

#[test]
fn test_a_boot_image_given_as_the_machine_file_is_named_not_printed() {
    let out = run(&["run", "guests/hello/hello.bin"]);
    assert_eq!(out.status, 2);
    assert_eq!(
        out.stderr,
        "Error: guests/hello/hello.bin is not a machine file: it is not UTF-8 text; it looks like a boot image (a boot signature at byte 510): did you mean --image FILE or --drive FILE?\n"
    );
}

#[test]
fn test_a_duration_needs_a_unit_and_zero_is_refused_with_a_reason() {
    let no_unit = run(&["run", "--image", "guests/hello/hello.bin", "--timeout", "1"]);
    let zero = run(&[
        "run",
        "--image",
        "guests/hello/hello.bin",
        "--timeout",
        "0s",
    ]);
    assert_eq!((no_unit.status, zero.status), (2, 2));
    assert!(
        no_unit.stderr.contains("give a unit, like 2s, 500ms or 1m"),
        "{}",
        no_unit.stderr
    );
    assert!(
        zero.stderr
            .contains("a limit of 0 would stop the guest before its first instruction"),
        "{}",
        zero.stderr
    );
}

#[test]
fn test_an_unknown_or_contradicting_drive_option_is_named() {
    let unknown = run(&["run", "--drive", "guests/bios/teletype.bin,bogus"]);
    let both = run(&[
        "run",
        "--drive",
        "guests/bios/teletype.bin,readonly,snapshot",
    ]);
    assert_eq!((unknown.status, both.status), (2, 2));
    assert!(
        unknown
            .stderr
            .contains("unknown drive option \"bogus\"; options: readonly, snapshot, floppy, hd"),
        "{}",
        unknown.stderr
    );
    assert!(
        both.stderr
            .contains("a drive is readonly or snapshot, not both"),
        "{}",
        both.stderr
    );
}

#[test]
fn test_a_fifo_as_a_disk_is_refused_at_once_in_every_mode() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fifo = dir.path().join("disk.fifo");
    let path = std::ffi::CString::new(fifo.to_string_lossy().as_bytes()).expect("path");
    // SAFETY: mkfifo with a NUL-terminated path that lives for the call.
    assert_eq!(unsafe { libc::mkfifo(path.as_ptr(), 0o600) }, 0);
    for option in ["", ",readonly", ",snapshot"] {
        let drive = format!("{}{option}", fifo.display());
        let started = Instant::now();
        let out = run(&["run", "--drive", &drive]);
        assert_eq!(out.status, 2, "{option}: {}", out.stderr);
        assert!(
            out.stderr.contains("not a regular file"),
            "{option}: {}",
            out.stderr
        );
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{option} blocked"
        );
    }
}

#[test]
fn test_a_plugin_folder_that_is_not_there_is_a_usage_error() {
    let out = run(&[
        "run",
        "--image",
        "guests/hello/hello.bin",
        "--plugin-dir",
        "/nonexistent",
    ]);
    assert_eq!(out.status, 2);
    assert_eq!(
        out.stderr,
        "Error: --plugin-dir /nonexistent: no such folder\n"
    );
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_stats_json_dash_writes_to_stdout() {
    if !kvm_available() {
        return;
    }
    let out = run(&[
        "run",
        "--image",
        "guests/hello/hello.bin",
        "--screen",
        "none",
        "--stats-json",
        "-",
    ]);
    assert_eq!(out.status, 0, "{}", out.stderr);
    let json: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON on stdout");
    assert_eq!(json["outcome"], "halted");
    assert!(!std::path::Path::new(&common::repo_root().join("-")).exists());
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_the_printed_default_machine_checks_and_runs_as_the_built_in_one() {
    if !kvm_available() {
        return;
    }
    let printed = run(&["machine", "--default"]);
    assert_eq!(printed.status, 0, "{}", printed.stderr);
    assert!(printed.stdout.contains("name = \"default\""));
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("my.toml");
    std::fs::write(&file, &printed.stdout).expect("save it");
    let hello = common::repo_root().join("guests/hello/hello.bin");
    std::fs::copy(hello, dir.path().join("boot.bin")).expect("its boot image");
    let file = file.to_string_lossy().into_owned();
    let check = run(&["check", &file]);
    assert_eq!(check.status, 0, "{}", check.stderr);
    assert!(
        check.stdout.starts_with("machine default ("),
        "{}",
        check.stdout
    );
    let (from_file, built_in) = (
        run(&["run", &file]),
        run(&["run", "--image", "guests/hello/hello.bin"]),
    );
    assert_eq!(from_file.stdout, built_in.stdout);
    assert_eq!(
        (from_file.status, from_file.stderr.as_str()),
        (built_in.status, built_in.stderr.as_str())
    );
}

#[test]
fn test_machine_without_default_is_a_usage_error() {
    let out = run(&["machine"]);
    assert_eq!(out.status, 2);
    assert!(out.stderr.contains("--default"), "{}", out.stderr);
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_qemus_drive_spelling_and_short_memory_flag_boot_as_the_short_forms() {
    if !kvm_available() {
        return;
    }
    let qemu = common::run_with_input(
        &[
            "run",
            "-m",
            "16M",
            "--drive",
            "file=guests/bios/repl.bin,format=raw,if=floppy,readonly=on,media=disk",
            "--timeout",
            "20s",
        ],
        b"qemu\nquit\n",
    );
    assert_eq!(qemu.status, 0, "{}", qemu.stderr);
    assert!(qemu.stdout.contains("QEMU (4)"), "{}", qemu.stdout);
}

#[test]
fn test_qemus_drive_spelling_names_what_it_does_not_take() {
    let cache = run(&["run", "--drive", "file=x.img,cache=none"]);
    let qcow = run(&["run", "--drive", "file=x.img,format=qcow2"]);
    let both = run(&[
        "run",
        "-s",
        "--gdb",
        "4444",
        "--image",
        "guests/hello/hello.bin",
    ]);
    assert_eq!((cache.status, qcow.status, both.status), (2, 2, 2));
    assert!(
        cache
            .stderr
            .contains("unknown drive key \"cache\"; keys: file, format=raw"),
        "{}",
        cache.stderr
    );
    assert!(
        qcow.stderr
            .contains("format=qcow2: picovmm reads raw images only"),
        "{}",
        qcow.stderr
    );
    assert!(
        both.stderr.contains("cannot be used with"),
        "{}",
        both.stderr
    );
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_messages_quiet_filtered_and_filed_with_timestamps() {
    if !kvm_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("picovmm.log");
    let args = [
        "run",
        "--image",
        "guests/tests/debugcon.bin",
        "--debugcon",
        "none",
    ];
    let warning = "picovmm: warning: unclaimed port write to 0xe9 (1 byte, value 0x68) at 0000:7c28 ignored (reported once per address)\n";
    let plain = run(&args);
    let mut filed_args = args.to_vec();
    let log_arg = log.to_string_lossy().into_owned();
    filed_args.extend(["--log-file", &log_arg]);
    let filed = run(&filed_args);
    let mut quiet_args = vec!["-q"];
    quiet_args.extend(args);
    let quiet = run(&quiet_args);
    let off: common::Run = common::picovmm()
        .args(args)
        .env("RUST_LOG", "vmm_core=off")
        .output()
        .expect("picovmm")
        .into();
    assert_eq!(
        (
            plain.stderr.as_str(),
            filed.stderr.as_str(),
            quiet.stderr.as_str(),
            off.stderr.as_str()
        ),
        (warning, warning, "", "")
    );
    let line = std::fs::read_to_string(&log).expect("the log file");
    let (stamp, rest) = line.split_once(' ').unwrap_or_default();
    assert!(
        stamp.len() == 24 && stamp.ends_with('Z') && stamp.as_bytes()[10] == b'T',
        "{line}"
    );
    assert!(
        rest.starts_with("WARN  vmm_core::vcpu::unclaimed: warning: unclaimed port write to 0xe9"),
        "{line}"
    );
}

#[test]
fn test_a_log_file_that_cannot_be_opened_is_a_usage_error() {
    let out = run(&[
        "run",
        "--image",
        "guests/hello/hello.bin",
        "--log-file",
        "/nonexistent/dir/x.log",
    ]);
    assert_eq!(out.status, 2);
    assert!(
        out.stderr
            .starts_with("Error: --log-file /nonexistent/dir/x.log: "),
        "{}",
        out.stderr
    );
}

/// `check`'s description of a machine file, without its first line (the file's name) and
/// with paths as `check` of the printed file shows them.
fn described(path: &str) -> String {
    let out = run(&["check", path]);
    assert_eq!(out.status, 0, "{}", out.stderr);
    let root = common::repo_root().to_string_lossy().into_owned() + "/";
    out.stdout
        .lines()
        .skip(1)
        .map(|l| l.replace(&root, "").replace("machines/../", ""))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn test_check_print_gives_a_machine_file_that_checks_as_the_same_machine() {
    let dir = tempfile::tempdir().expect("tempdir");
    for machine in [
        "hello",
        "keyboard",
        "long",
        "multiboot",
        "elf",
        "floppy",
        "seed",
        "protected",
    ] {
        let file = format!("machines/{machine}.toml");
        let printed = run(&["check", &file, "--print"]);
        assert_eq!(printed.status, 0, "{}", printed.stderr);
        let effective = dir.path().join(format!("{machine}.toml"));
        std::fs::write(&effective, &printed.stdout).expect("write");
        assert_eq!(
            described(&effective.to_string_lossy()),
            described(&file),
            "{machine}:\n{}",
            printed.stdout
        );
    }
}
