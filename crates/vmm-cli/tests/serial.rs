//! End-to-end: the 16550 UART (COM1) passes the guest's output to stdout or a file, and stdin
//! to the guest, driven here through a pipe.

mod common;

use std::io::Write;
use std::process::Stdio;

use common::{kvm_available, picovmm, repo_root, run, Run};

/// Runs the serial-echo guest with `input` on a piped stdin (closed after it).
fn echo(input: &[u8]) -> Run {
    run_with_stdin("guests/tests/serial-echo.bin", input)
}

/// Runs `image` with `input` on a piped stdin (closed after it).
fn run_with_stdin(image: &str, input: &[u8]) -> Run {
    let mut child = picovmm()
        .args(["run", "--image", image, "--timeout", "20s"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start picovmm");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(input).expect("write to the guest");
    drop(stdin);
    child.wait_with_output().expect("wait").into()
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_serial_echoes_stdin_through_a_pipe() {
    if !kvm_available() {
        return;
    }
    let out = echo(b"hello, serial\n");
    assert_eq!(out.stdout, "serial ready\nHELLO, SERIAL\n");
    assert_eq!((out.stderr.as_str(), out.status), ("", (0x10 << 1) | 1));
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_serial_more_input_than_the_fifo_holds_arrives_whole() {
    if !kvm_available() {
        return;
    }
    let out = echo(format!("{}\n", "x".repeat(1000)).as_bytes());
    assert_eq!(out.stdout, format!("serial ready\n{}\n", "X".repeat(1000)));
    assert_eq!(out.status, (0x10 << 1) | 1);
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_serial_output_goes_to_the_named_file() {
    if !kvm_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let machine = dir.path().join("serial.toml");
    let text = format!(
        "[[memory]]\nbase = 0\nsize = \"640 KiB\"\n\n[boot]\nimage = \"{}\"\n\n[[device]]\ntype = \"serial\"\noutput = \"com1.txt\"\n\n[[device]]\ntype = \"isa-debug-exit\"\n",
        repo_root().join("guests/tests/serial-echo.bin").display()
    );
    std::fs::write(&machine, text).expect("write machine");
    let out = run(&["run", &machine.to_string_lossy(), "--timeout", "2s"]);
    let written = std::fs::read_to_string(dir.path().join("com1.txt")).expect("serial output file");
    // stdin is closed (no input): the guest prints its prompt, then waits until the timeout.
    assert_eq!(
        (written.as_str(), out.stdout.as_str()),
        ("serial ready\n", "")
    );
    assert_eq!(out.status, 124);
}

/// Whether script(1) can give a test a pseudo-terminal; under CI=true it must.
fn script_available() -> bool {
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_ok()
    {
        return true;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "CI=true and script(1) is missing"
    );
    eprintln!("skipping: script(1) is not installed (util-linux / bsdutils)");
    false
}

/// Runs the serial echo guest with stdin on a pseudo-terminal (from `script`), ended by
/// `ending` (a shell fragment run with the guest's pid in `$pid`); returns the terminal's
/// settings before and after, and picovmm's exit status.
fn terminal_around_run(ending: &str) -> (Option<String>, Option<String>, Option<String>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = |name: &str| dir.path().join(name).display().to_string();
    let inner = format!(
        "stty -g > {before}; {picovmm} run --image {image} --timeout 5s > /dev/null 2>&1 & \
         pid=$!; {ending}; wait $pid; echo $? > {status}; stty -g > {after}",
        before = file("before"),
        after = file("after"),
        status = file("status"),
        picovmm = env!("CARGO_BIN_EXE_picovmm"),
        image = repo_root().join("guests/tests/serial-echo.bin").display(),
    );
    let status = std::process::Command::new("script")
        .args(["-qec", &inner, "/dev/null"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .status()
        .expect("run script");
    assert!(status.success());
    let read = |name: &str| std::fs::read_to_string(dir.path().join(name)).ok();
    (read("before"), read("after"), read("status"))
}

/// picovmm puts a terminal stdin in raw mode for the serial port and must leave it exactly as
/// it found it, here after a timeout ends the run.
#[test]
#[cfg_attr(
    any(picovmm_missing = "kvm", picovmm_missing = "script"),
    ignore = "needs a usable /dev/kvm and script(1)"
)]
fn test_terminal_settings_are_restored_after_the_run() {
    if !kvm_available() || !script_available() {
        return;
    }
    let (before, after, status) = terminal_around_run("true");
    assert!(before.as_ref().is_some_and(|b| b.len() > 10));
    assert_eq!(before, after);
    assert_eq!(status.as_deref(), Some("124\n"));
}

#[test]
#[cfg_attr(
    any(picovmm_missing = "kvm", picovmm_missing = "script"),
    ignore = "needs a usable /dev/kvm and script(1)"
)]
fn test_terminal_settings_are_restored_after_sigterm() {
    if !kvm_available() || !script_available() {
        return;
    }
    let (before, after, status) = terminal_around_run("sleep 0.5; kill -TERM $pid");
    assert!(before.as_ref().is_some_and(|b| b.len() > 10));
    assert_eq!(before, after);
    assert_eq!(status.as_deref(), Some("143\n"));
}

#[test]
#[cfg_attr(
    any(picovmm_missing = "kvm", picovmm_missing = "script"),
    ignore = "needs a usable /dev/kvm and script(1)"
)]
fn test_terminal_settings_are_restored_after_sighup() {
    if !kvm_available() || !script_available() {
        return;
    }
    let (before, after, status) = terminal_around_run("sleep 0.5; kill -HUP $pid");
    assert!(before.as_ref().is_some_and(|b| b.len() > 10));
    assert_eq!(before, after);
    assert_eq!(status.as_deref(), Some("129\n"));
}

/// Issue 14: string and wide port I/O reach the devices as KVM hands them over, `count`
/// accesses of `size` bytes: a word to the debug console prints its low byte (as QEMU), and
/// `rep insb` takes three received bytes from COM1 (it used to read 0xFF, unclaimed).
#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_string_and_wide_port_io_reach_the_devices() {
    if !kvm_available() {
        return;
    }
    let out = run_with_stdin("guests/tests/string-io.bin", b"xyz");
    assert_eq!(out.stdout, "OK\nAC\nxyz\n");
    assert_eq!(out.stderr, "");
    assert_eq!(out.status, (0x55 << 1) | 1);
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_a_second_ctrl_c_ends_the_wait_for_a_reader_that_does_not_read() {
    if !kvm_available() {
        return;
    }
    // The guest floods stdout; nobody reads the pipe. The first SIGINT stops the guest and
    // picovmm waits for the reader to take what the guest wrote; the second ends that wait.
    let mut child = common::picovmm()
        .args([
            "run",
            "--image",
            "guests/hostile/debugcon-flood.bin",
            "--screen",
            "none",
        ])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start picovmm");
    // Long enough for the guest to write more than the pipe and picovmm's buffer hold (200,000
    // bytes; each a port exit of about 10 us under KVM here).
    std::thread::sleep(std::time::Duration::from_secs(3));
    let pid = child.id() as libc::pid_t;
    // SAFETY: kill(2) on our own child, which has not been waited for.
    unsafe { libc::kill(pid, libc::SIGINT) };
    std::thread::sleep(std::time::Duration::from_millis(300));
    // SAFETY: as above.
    unsafe { libc::kill(pid, libc::SIGINT) };
    let started = std::time::Instant::now();
    let status = loop {
        if let Ok(Some(status)) = child.try_wait() {
            break status;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "picovmm still waits for its reader after a second Ctrl-C"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let mut stderr = String::new();
    let _ = std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut stderr);
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("bytes of it were not delivered"),
        "{stderr}"
    );
}
