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

/// Starts `picovmm run --image serial-echo.bin ARGS` with stderr piped; returns the child and
/// the first line it prints on stderr.
fn start_echo(args: &[&str]) -> (std::process::Child, String) {
    use std::io::BufRead;
    let mut child = picovmm()
        .args([
            "run",
            "--image",
            "guests/tests/serial-echo.bin",
            "--timeout",
            "30s",
        ])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start picovmm");
    let mut stderr = std::io::BufReader::new(child.stderr.take().expect("stderr"));
    let mut line = String::new();
    stderr.read_line(&mut line).expect("a line on stderr");
    (child, line)
}

/// Reads from `read` until `want` shows or 30 s pass.
fn read_until(mut read: impl FnMut(&mut [u8]) -> std::io::Result<usize>, want: &str) -> String {
    let start = std::time::Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 256];
    while !String::from_utf8_lossy(&got).contains(want) {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(30),
            "{got:?}"
        );
        match read(&mut buf) {
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(e) => panic!("read: {e}"),
        }
    }
    String::from_utf8_lossy(&got).into_owned()
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_serial_pty_is_a_terminal_a_program_talks_to() {
    if !kvm_available() {
        return;
    }
    use std::io::Read;
    let (child, line) = start_echo(&["--serial", "pty"]);
    let path = line
        .split_whitespace()
        .find(|w| w.starts_with("/dev/pts/"))
        .unwrap_or_else(|| panic!("no pty in {line:?}"))
        .to_owned();
    // As screen or minicom would: open the terminal, raw, then type.
    let mut tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&path)
        .expect("open the pty");
    assert!(std::process::Command::new("stty")
        .args(["-F", &path, "raw", "-echo"])
        .status()
        .expect("stty")
        .success());
    tty.write_all(b"hello\n").expect("type");
    let got = read_until(|buf| tty.read(buf), "HELLO");
    let out = child.wait_with_output().expect("picovmm ends");
    assert_eq!(
        (got.contains("HELLO"), out.status.code()),
        (true, Some(0x21))
    );
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_serial_unix_server_waits_for_its_client_and_talks_to_it() {
    if !kvm_available() {
        return;
    }
    use std::io::Read;
    let dir = tempfile::tempdir().expect("tempdir");
    let socket = dir.path().join("com1.sock");
    let backend = format!("unix:{},server", socket.display());
    let (child, line) = start_echo(&["--serial", &backend]);
    assert!(
        line.contains("the guest starts when a client connects"),
        "{line}"
    );
    let mut client = std::os::unix::net::UnixStream::connect(&socket).expect("connect");
    client
        .set_read_timeout(Some(std::time::Duration::from_secs(1)))
        .expect("timeout");
    // Nothing was lost before the client came: the guest waited.
    let ready = read_until(|buf| client.read(buf), "serial ready\n");
    client.write_all(b"socket\n").expect("send");
    let echo = read_until(|buf| client.read(buf), "SOCKET");
    let out = child.wait_with_output().expect("picovmm ends");
    assert_eq!(
        (ready.as_str(), echo.contains("SOCKET"), out.status.code()),
        ("serial ready\n", true, Some(0x21))
    );
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_serial_tcp_client_connects_to_a_listener() {
    if !kvm_available() {
        return;
    }
    use std::io::Read;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("listen");
    let backend = format!("tcp:{}", listener.local_addr().expect("address"));
    let child = picovmm()
        .args([
            "run",
            "--image",
            "guests/tests/serial-echo.bin",
            "--timeout",
            "30s",
            "--serial",
            &backend,
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start picovmm");
    let (mut peer, _) = listener.accept().expect("picovmm connects");
    peer.set_read_timeout(Some(std::time::Duration::from_secs(1)))
        .expect("timeout");
    read_until(|buf| peer.read(buf), "serial ready\n");
    peer.write_all(b"tcp\n").expect("send");
    let echo = read_until(|buf| peer.read(buf), "TCP");
    let out = child.wait_with_output().expect("picovmm ends");
    assert_eq!(
        (echo.contains("TCP"), out.status.code()),
        (true, Some(0x21))
    );
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_serial_file_null_none_and_debugcon_backends() {
    if !kvm_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let com1 = dir.path().join("com1.txt");
    let file = format!("file:{}", com1.display());
    let to_file = run(&[
        "run",
        "--image",
        "guests/tests/serial-echo.bin",
        "--timeout",
        "1s",
        "--serial",
        &file,
    ]);
    let null = run(&[
        "run",
        "--image",
        "guests/tests/serial-echo.bin",
        "--timeout",
        "1s",
        "--serial",
        "null",
    ]);
    let dc = dir.path().join("debugcon.txt");
    let dc_file = format!("file:{}", dc.display());
    let debugcon = run(&[
        "run",
        "--image",
        "guests/tests/debugcon.bin",
        "--debugcon",
        &dc_file,
    ]);
    let no_debugcon = run(&[
        "run",
        "--image",
        "guests/tests/debugcon.bin",
        "--debugcon",
        "none",
    ]);
    assert_eq!(
        (
            std::fs::read_to_string(&com1)
                .expect("COM1's file")
                .as_str(),
            to_file.stdout.as_str(),
            null.stdout.as_str(),
            std::fs::read_to_string(&dc)
                .expect("the debug console's file")
                .as_str(),
            debugcon.stdout.as_str(),
        ),
        (
            "serial ready\n",
            "",
            "",
            "hello from the debug console\nport 0xe9 reads 0xe9\n",
            ""
        )
    );
    // Without the device, the port is nobody's.
    assert!(
        no_debugcon.stderr.contains("unclaimed port write to 0xe9"),
        "{}",
        no_debugcon.stderr
    );
}

#[test]
fn test_serial_bad_backends_are_refused_before_the_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("mine.txt");
    std::fs::write(&file, "mine").expect("write");
    let on_file = format!("unix:{},server", file.display());
    let socket = run(&[
        "run",
        "--image",
        "guests/hello/hello.bin",
        "--serial",
        &on_file,
    ]);
    let unknown = run(&[
        "run",
        "--image",
        "guests/hello/hello.bin",
        "--serial",
        "serial0",
    ]);
    let five: Vec<&str> = ["run", "--image", "guests/hello/hello.bin"]
        .into_iter()
        .chain(std::iter::repeat_n(["--serial", "null"], 5).flatten())
        .collect();
    let too_many = run(&five);
    assert_eq!(
        (socket.status, unknown.status, too_many.status),
        (2, 2, 2),
        "{}{}{}",
        socket.stderr,
        unknown.stderr,
        too_many.stderr
    );
    assert!(
        socket.stderr.contains("COM1 ") && socket.stderr.contains("exists and is not a socket"),
        "{}",
        socket.stderr
    );
    assert!(
        unknown.stderr.contains("unknown backend \"serial0\""),
        "{}",
        unknown.stderr
    );
    assert!(
        too_many.stderr.contains("a PC has 4 serial ports"),
        "{}",
        too_many.stderr
    );
    assert_eq!(std::fs::read_to_string(&file).expect("kept"), "mine");
}
