//! End-to-end: the real gdb against picovmm's stub (`--gdb`), in real, protected and long mode,
//! and clients that misbehave. Needs gdb; without it the tests skip and say why, except under
//! `CI=true` (where .ci/run installs it).

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use common::{kvm_available, picovmm};

fn gdb_available() -> bool {
    if Command::new("gdb").arg("--version").output().is_ok() {
        return true;
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("CI=true and gdb is not installed");
    }
    eprintln!("skipping: gdb is not installed");
    false
}

/// A picovmm run serving gdb.
struct Stub {
    child: Child,
    address: String,
    stderr: thread::JoinHandle<String>,
}

impl Drop for Stub {
    /// A test that fails before `finish` must not leave a guest spinning.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `picovmm run ARGS --gdb 127.0.0.1:0` and reads the address it listens on.
fn start(args: &[&str]) -> Stub {
    let mut child = picovmm()
        .args(["run"])
        .args(args)
        .args(["--gdb", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start picovmm");
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
    // Lines before the stub's (the control socket's) are kept with the rest.
    let mut first = String::new();
    while !first.contains("gdb stub listening") {
        let mut line = String::new();
        if stderr.read_line(&mut line).expect("read stderr") == 0 {
            break;
        }
        first.push_str(&line);
    }
    let address = first
        .lines()
        .last()
        .unwrap_or_default()
        .strip_prefix("picovmm: gdb stub listening on ")
        .and_then(|rest| rest.split(';').next())
        .map(|a| a.trim().to_owned())
        .unwrap_or_else(|| panic!("no listening line: {first:?}"));
    let stderr = thread::spawn(move || {
        let mut rest = first;
        let _ = stderr.read_to_string(&mut rest);
        rest
    });
    Stub {
        child,
        address,
        stderr,
    }
}

/// Runs gdb in batch mode against the stub with `commands`; returns what it printed.
fn gdb(stub: &Stub, commands: &[&str]) -> String {
    gdb_interrupted(stub, commands, None)
}

/// [`gdb`], sending gdb a SIGINT (what Ctrl-C in its terminal does) after `interrupt_after`.
fn gdb_interrupted(stub: &Stub, commands: &[&str], interrupt_after: Option<Duration>) -> String {
    let mut cmd = Command::new("gdb");
    cmd.args(["-batch", "-nx", "-ex", "set confirm off"]);
    cmd.args(["-ex", &format!("target remote {}", stub.address)]);
    for c in commands {
        cmd.args(["-ex", c]);
    }
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start gdb");
    if let Some(after) = interrupt_after {
        thread::sleep(after);
        // SAFETY: kill(2) on our own child's pid, which has not been waited for yet.
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    }
    let out = wait(&mut child, Duration::from_secs(60));
    let mut text = String::new();
    let _ = child.stdout.take().map(|mut o| o.read_to_string(&mut text));
    let _ = child.stderr.take().map(|mut e| e.read_to_string(&mut text));
    assert!(out.is_some(), "gdb did not finish:\n{text}");
    text
}

/// [`gdb`], with what gdb printed on stdout and on stderr apart.
fn gdb_streams(stub: &Stub, commands: &[&str]) -> (String, String) {
    let mut child = Command::new("gdb")
        .args(["-batch", "-nx", "-ex", "set confirm off"])
        .args(["-ex", &format!("target remote {}", stub.address)])
        .args(commands.iter().flat_map(|c| ["-ex", c]))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start gdb");
    let finished = wait(&mut child, Duration::from_secs(60));
    let (mut out, mut err) = (String::new(), String::new());
    let _ = child.stdout.take().map(|mut o| o.read_to_string(&mut out));
    let _ = child.stderr.take().map(|mut e| e.read_to_string(&mut err));
    assert!(finished.is_some(), "gdb did not finish:\n{out}\n{err}");
    (out, err)
}

/// Waits for `child` at most `limit`; kills it after that.
fn wait(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        thread::sleep(Duration::from_millis(10));
    }
}

/// Waits for picovmm to end; returns its status, stdout and stderr.
fn finish(mut stub: Stub) -> (i32, String, String) {
    let status = wait(&mut stub.child, Duration::from_secs(30)).expect("picovmm ended");
    let mut stdout = String::new();
    let _ = stub
        .child
        .stdout
        .take()
        .map(|mut o| o.read_to_string(&mut stdout));
    let stderr = std::mem::replace(&mut stub.stderr, thread::spawn(String::new))
        .join()
        .unwrap_or_default();
    (status.code().unwrap_or(-1), stdout, stderr)
}

fn assert_contains(text: &str, part: &str) {
    assert!(text.contains(part), "expected {part:?} in:\n{text}");
}

#[test]
#[cfg_attr(
    any(picovmm_missing = "kvm", picovmm_missing = "gdb"),
    ignore = "needs a usable /dev/kvm and gdb"
)]
fn test_real_mode_session_with_cs_not_zero() {
    if !kvm_available() || !gdb_available() {
        return;
    }
    let stub = start(&["--image", "guests/debug/segments.bin", "--gdb-wait"]);
    let out = gdb(
        &stub,
        &[
            "x/3i $pc",
            "break *0x7c0b",
            "continue",
            "info registers eip",
            "monitor regs",
            "set $ebx = 0x21",
            "stepi",
            "monitor regs",
            "delete",
            "watch *(char *)0xb8000",
            "continue",
            "monitor screen",
            "detach",
        ],
    );
    // Stopped before the first instruction, disassembled as 16-bit code.
    assert_contains(&out, "=> 0x7c00:\tljmp   $0x7c0,$0x5");
    assert_contains(&out, "0x7c05:\tmov    %cs,%ax");
    // A breakpoint at a linear address reached with CS = 0x07C0.
    assert_contains(&out, "Breakpoint 1, 0x00007c0b in ?? ()");
    assert_contains(&out, "eip            0x7c0b");
    assert_contains(&out, "cs:ip=07c0:000b  linear pc 0x7c0b");
    // stepi advances IP as the guest does (mov ax, 0xb800 is 3 bytes).
    assert_contains(&out, "cs:ip=07c0:000e  linear pc 0x7c0e");
    // The watchpoint on the VGA cell stops the write of "G".
    assert_contains(&out, "Hardware watchpoint 2: *(char *)0xb8000");
    assert_contains(&out, "New value = 71 'G'");
    assert_contains(&out, "\nG\n");
    let (status, stdout, stderr) = finish(stub);
    // BL, written from gdb, is what the guest exits with: (0x21 << 1) | 1.
    assert_eq!(status, 67, "{stderr}");
    assert_eq!(stdout, "G\n");
    assert_contains(&stderr, "picovmm: gdb detached; the guest runs on");
}

/// gdb reads the x87's registers: pi just loaded into ST(0) (`fldpi` in guests/cpu/x87-real.asm,
/// run by the interpreter), the control word FNINIT left, one register in use.
#[test]
#[cfg_attr(
    any(picovmm_missing = "kvm", picovmm_missing = "gdb"),
    ignore = "needs a usable /dev/kvm and gdb"
)]
fn test_gdb_reads_the_x87_registers() {
    if !kvm_available() || !gdb_available() {
        return;
    }
    let stub = start(&[
        "--accel",
        "interp",
        "--image",
        "guests/cpu/x87-real.bin",
        "--gdb-wait",
    ]);
    let out = gdb(
        &stub,
        &[
            "break *0x7c4d",
            "continue",
            "p $st0",
            "p/x $fctrl",
            "p/x $ftag",
            "detach",
        ],
    );
    assert_contains(&out, "Breakpoint 1, 0x00007c4d in ?? ()");
    assert_contains(&out, "$1 = 3.14159265358979323851");
    assert_contains(&out, "$2 = 0x37f");
    // ST(0) is physical register 7 (TOP = 7): valid (00) there, every other one empty (11).
    assert_contains(&out, "$3 = 0x3fff");
    let (status, _, stderr) = finish(stub);
    assert_eq!(status, (0x48 << 1) | 1, "{stderr}");
}

/// gdb reads memory at linear addresses through the interpreter's page tables: the 4 MiB page
/// guests/cpu/protected.asm maps at 8 MiB shows physical 0 (its own first bytes at 0x807c00),
/// and the page its fault handler mapped at 2 MiB shows what the guest wrote there.
#[test]
#[cfg_attr(
    any(picovmm_missing = "kvm", picovmm_missing = "gdb"),
    ignore = "needs a usable /dev/kvm and gdb"
)]
fn test_gdb_reads_through_the_interpreters_paging() {
    if !kvm_available() || !gdb_available() {
        return;
    }
    let stub = start(&[
        "--accel",
        "interp",
        "--image",
        "guests/cpu/protected.bin",
        "--gdb-wait",
    ]);
    let out = gdb(
        &stub,
        &[
            "break *0x7d22",
            "continue",
            "x/3xb 0x807c00",
            "x/xw 0x200004",
            "detach",
        ],
    );
    assert_contains(&out, "0x807c00:\t0xfa\t0x31\t0xc0");
    assert_contains(&out, "0x200004:\t0xcafef00d");
    let (status, _, stderr) = finish(stub);
    assert_eq!(status, (0x33 << 1) | 1, "{stderr}");
}

/// Steps, breaks, watches the return address a `call` pushes, changes the exit value in a
/// register, and detaches: the same session in protected and long mode.
fn flat_mode_session(
    machine: &str,
    call: u64,
    push: u64,
    out: u64,
    width: &str,
    acc: &str,
) -> (String, i32) {
    let stub = start(&[machine, "--gdb-wait"]);
    let gdb_out = gdb(
        &stub,
        &[
            "x/2i $pc",
            "stepi",
            &format!(
                "info registers {}",
                if acc == "rax" { "rip" } else { "eip" }
            ),
            &format!("break *{call:#x}"),
            "continue",
            &format!("watch *({width} *){push:#x}"),
            "continue",
            "delete",
            &format!("break *{out:#x}"),
            "continue",
            &format!("set ${acc} = 0x10"),
            "detach",
        ],
    );
    let (status, _, stderr) = finish(stub);
    assert!(!stderr.contains("panicked"), "{stderr}");
    (gdb_out, status)
}

#[test]
#[cfg_attr(
    any(picovmm_missing = "kvm", picovmm_missing = "gdb"),
    ignore = "needs a usable /dev/kvm and gdb"
)]
fn test_protected_mode_session() {
    if !kvm_available() || !gdb_available() {
        return;
    }
    let (out, status) = flat_mode_session(
        "machines/protected.toml",
        0x7c25,
        0x7bfc,
        0x7c2c,
        "int",
        "eax",
    );
    assert_contains(&out, "=> 0x7c00:\tmov    %cr0,%eax");
    assert_contains(&out, "eip            0x7c03");
    assert_contains(&out, "Breakpoint 1, 0x00007c25 in ?? ()");
    // The call's push of its return address, 0x7c2a.
    assert_contains(&out, "New value = 31786");
    assert_contains(&out, "Breakpoint 3, 0x00007c2c in ?? ()");
    assert_eq!(status, 0x21, "the exit value gdb put in EAX");
}

#[test]
#[cfg_attr(
    any(picovmm_missing = "kvm", picovmm_missing = "gdb"),
    ignore = "needs a usable /dev/kvm and gdb"
)]
fn test_long_mode_session() {
    if !kvm_available() || !gdb_available() {
        return;
    }
    let (out, status) =
        flat_mode_session("machines/long.toml", 0x7c3d, 0x7bf8, 0x7c44, "long", "rax");
    assert_contains(&out, "=> 0x7c00:\tmov    %cr0,%rax");
    assert_contains(&out, "rip            0x7c03");
    assert_contains(&out, "Breakpoint 1, 0x0000000000007c3d in ?? ()");
    assert_contains(&out, "New value = 31810");
    assert_contains(&out, "Breakpoint 3, 0x0000000000007c44 in ?? ()");
    assert_eq!(status, 0x21, "the exit value gdb put in RAX");
}

#[test]
#[cfg_attr(
    any(picovmm_missing = "kvm", picovmm_missing = "gdb"),
    ignore = "needs a usable /dev/kvm and gdb"
)]
fn test_interrupt_then_kill_ends_the_run() {
    if !kvm_available() || !gdb_available() {
        return;
    }
    let stub = start(&["--image", "guests/hostile/spin.bin", "--gdb-wait"]);
    let out = gdb_interrupted(
        &stub,
        &["continue", "info registers eip", "kill"],
        Some(Duration::from_millis(800)),
    );
    // Ctrl-C stops the spinning guest where it spins: `jmp $` at 0x7c00 + its offset.
    assert_contains(&out, "Program received signal SIGINT");
    assert_contains(&out, "eip            0x7c");
    let (status, _, stderr) = finish(stub);
    assert_eq!(status, 130, "{stderr}");
    assert_contains(&stderr, "picovmm: gdb killed the guest");
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_garbage_and_a_second_client_leave_the_guest_to_finish() {
    if !kvm_available() {
        return;
    }
    let stub = start(&["--image", "guests/irq/pit-100hz.bin"]);
    // A second client queues behind the first and is served after it: neither stops picovmm.
    let mut first = TcpStream::connect(&stub.address).expect("connect");
    let mut second = TcpStream::connect(&stub.address).expect("connect again");
    first
        .write_all(b"\x00\xff$qSupported:garbage\xfe#zz+++$m7c00,ffffffffffffffff#00$")
        .expect("send garbage");
    thread::sleep(Duration::from_millis(100));
    drop(first); // disconnect mid-packet
    second.write_all(b"$g#67").expect("send");
    thread::sleep(Duration::from_millis(100));
    drop(second);
    let (status, stdout, stderr) = finish(stub);
    assert_eq!(
        (status, stdout.as_str()),
        (0x21, "ticks counted\n"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// `stepi` over each instruction a step must treat exactly (guests/debug/stepping.asm): where
/// each step stops, and that no trap flag reaches the guest, with the backend `args` choose.
fn stepping_session(args: &[&str]) -> (String, i32, String) {
    let mut all = vec!["--image", "guests/debug/stepping.bin", "--gdb-wait"];
    all.extend_from_slice(args);
    let stub = start(&all);
    let mut commands = Vec::new();
    for at in ["0x7c40", "0x7c50", "0x7c60", "0x7c70", "0x7c80"] {
        commands.push(format!("break *{at}"));
        commands.push("continue".to_owned());
        commands.push("stepi".to_owned());
        commands.push("info registers eip ecx".to_owned());
        commands.push("delete".to_owned());
    }
    commands.push("continue".to_owned());
    let commands: Vec<&str> = commands.iter().map(String::as_str).collect();
    let out = gdb(&stub, &commands);
    let (status, stdout, stderr) = finish(stub);
    (out, status, format!("{stdout}{stderr}"))
}

/// The `eip` values `info registers` printed after each step, in order.
fn stepped_to(gdb_out: &str) -> Vec<String> {
    gdb_out
        .lines()
        .filter_map(|l| l.strip_prefix("eip"))
        .filter_map(|rest| rest.split_whitespace().next().map(str::to_owned))
        .collect()
}

#[test]
#[cfg_attr(
    any(picovmm_missing = "kvm", picovmm_missing = "gdb"),
    ignore = "needs a usable /dev/kvm and gdb"
)]
fn test_stepi_is_one_instruction_and_leaves_no_trap_flag_in_the_interpreter() {
    if !kvm_available() || !gdb_available() {
        return;
    }
    for backend in [&["--accel", "interp"][..], &["--accel", "auto"][..]] {
        let (out, status, output) = stepping_session(backend);
        assert_eq!(
            stepped_to(&out),
            ["0x7c41", "0x7c51", "0x7d00", "0x7d40", "0x7c82"],
            "{backend:?}:\n{out}"
        );
        // After `rep movsb`, its count is spent: the step ran all 16 iterations.
        assert_contains(&out, "ecx            0x0");
        assert_eq!(status, 33, "{backend:?}: {output}");
        assert_contains(&output, "no trap flag reached the guest");
    }
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_a_packet_that_never_ends_drops_the_client_and_the_guest_goes_on() {
    if !kvm_available() {
        return;
    }
    let stub = start(&["--image", "guests/irq/pit-100hz.bin"]);
    let mut client = TcpStream::connect(&stub.address).expect("connect");
    client
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    // 1 MiB of a packet with no end: the stub's fixed buffer fills and it hangs up.
    let mut sent = client.write_all(b"$").is_ok();
    let chunk = vec![b'A'; 64 * 1024];
    for _ in 0..16 {
        sent &= client.write_all(&chunk).is_ok();
    }
    let mut rest = Vec::new();
    // Closed: an end of file, or a reset (the stub hung up with our bytes unread).
    let closed = match client.read_to_end(&mut rest) {
        Ok(_) => true,
        Err(e) => !matches!(
            e.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ),
    };
    assert!(closed || !sent, "the stub kept the connection");
    let (status, stdout, stderr) = finish(stub);
    assert_eq!(
        (status, stdout.as_str()),
        (0x21, "ticks counted\n"),
        "{stderr}"
    );
    assert!(stderr.contains("gdb connection ended"), "{stderr}");
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_ctrl_c_while_stopped_is_answered_and_the_guest_goes_on_after_detach() {
    if !kvm_available() {
        return;
    }
    let stub = start(&["--image", "guests/irq/pit-100hz.bin", "--gdb-wait"]);
    let mut client = TcpStream::connect(&stub.address).expect("connect");
    client
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    // Two interrupt bytes while the guest is stopped (a user pressing Ctrl-C twice), then a
    // query of why it stopped: the stub must still answer.
    client.write_all(b"\x03\x03+$?#3f").expect("send");
    let mut seen = Vec::new();
    let mut buf = [0u8; 256];
    while !seen.contains(&b'#') {
        let n = client.read(&mut buf).expect("the stub answers");
        assert!(
            n > 0,
            "the stub hung up: {:?}",
            String::from_utf8_lossy(&seen)
        );
        seen.extend_from_slice(&buf[..n]);
    }
    let reply = String::from_utf8_lossy(&seen).into_owned();
    assert!(reply.contains("$S") || reply.contains("$T"), "{reply}");
    // Detach: the guest runs to its end.
    client.write_all(b"+$D#44").expect("detach");
    let _ = client.read(&mut buf);
    drop(client);
    let (status, stdout, stderr) = finish(stub);
    assert_eq!(
        (status, stdout.as_str()),
        (0x21, "ticks counted\n"),
        "{stderr}"
    );
}

/// docs/debugging.md's session, replayed: its `(gdb)` commands are sent to the real gdb, and
/// every line gdb printed there must come out of gdb in that order; picovmm's lines (port
/// numbers aside) are its stderr, and nothing else of picovmm's is.
#[test]
#[cfg_attr(
    any(picovmm_missing = "kvm", picovmm_missing = "gdb"),
    ignore = "needs a usable /dev/kvm and gdb"
)]
fn test_the_session_in_the_debugging_docs_is_what_gdb_prints() {
    if !kvm_available() || !gdb_available() {
        return;
    }
    let doc = std::fs::read_to_string(common::repo_root().join("docs/debugging.md")).expect("doc");
    let session = doc
        .split("```text\n$ picovmm run --image guests/debug/segments.bin")
        .nth(1)
        .and_then(|rest| rest.split("\n```").next())
        .expect("the session in docs/debugging.md");
    let (mut commands, mut printed, mut ours) = (Vec::new(), Vec::new(), Vec::new());
    for line in session.lines().skip(1) {
        if let Some(command) = line.strip_prefix("(gdb) ") {
            commands.push(command);
        } else if let Some(message) = line.strip_prefix("picovmm: ") {
            ours.push(message.split(" 127.0.0.1:").next().unwrap_or(message));
        } else if !line.starts_with('$') && !line.trim().is_empty() {
            printed.push(line);
        }
    }
    // The guest's own "G" after detaching and the exit status are picovmm's stdout and status.
    let guest_line = printed.pop();
    let status = printed.pop();
    assert_eq!((guest_line, status), (Some("67"), Some("G")));
    let stub = start(&["--image", "guests/debug/segments.bin", "--gdb-wait"]);
    let (out, err) = gdb_streams(&stub, &commands);
    // gdb prints `monitor` replies on stderr, the rest on stdout: each in the doc's order.
    let (mut rest_out, mut rest_err) = (out.as_str(), err.as_str());
    for line in printed {
        let found = [&mut rest_out, &mut rest_err].into_iter().find_map(|rest| {
            let at = rest.find(line)?;
            *rest = &rest[at + line.len()..];
            Some(())
        });
        assert!(
            found.is_some(),
            "docs/debugging.md shows {line:?}; gdb printed:\n{out}\n{err}"
        );
    }
    let (status, stdout, stderr) = finish(stub);
    assert_eq!((status, stdout.as_str()), (67, "G\n"), "{stderr}");
    let said: Vec<&str> = stderr
        .lines()
        .filter_map(|l| l.strip_prefix("picovmm: "))
        .map(|m| m.split(" 127.0.0.1:").next().unwrap_or(m))
        .collect();
    assert_eq!(said.len(), stderr.lines().count(), "{stderr}");
    assert_eq!(said, ours, "{stderr}");
}

/// A breakpoint gdb hits is an event on the control socket, for every client.
#[test]
#[cfg_attr(
    any(picovmm_missing = "kvm", picovmm_missing = "gdb"),
    ignore = "needs a usable /dev/kvm and gdb"
)]
fn test_a_breakpoint_is_an_event_on_the_control_socket() {
    if !kvm_available() || !gdb_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let socket = dir.path().join("vm.sock");
    let control = format!("unix:{}", socket.display());
    let stub = start(&[
        "--image",
        "guests/debug/segments.bin",
        "--gdb-wait",
        "--control",
        &control,
    ]);
    let stream = std::os::unix::net::UnixStream::connect(&socket).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .expect("timeout");
    let mut events = BufReader::new(stream);
    let mut greeting = String::new();
    events.read_line(&mut greeting).expect("greeting");
    gdb(&stub, &["break *0x7c0b", "continue", "detach"]);
    let mut line = String::new();
    events.read_line(&mut line).expect("an event");
    let event: serde_json::Value = serde_json::from_str(&line).expect("JSON");
    assert_eq!(
        (event["event"].as_str(), event["data"]["pc"].as_u64()),
        (Some("BREAKPOINT"), Some(0x7c0b)),
        "{line}"
    );
    finish(stub);
}
