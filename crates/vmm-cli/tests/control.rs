//! End-to-end: the control socket (`run --control unix:PATH`) driven by a raw client on a Unix
//! socket and by `picovmm ctl`, around guests that keep running: pause and resume, keys with a
//! held modifier, snapshots the run goes on after, pictures, several clients, clients that
//! misbehave.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::{kvm_available, picovmm, repo_root, run, Run};
use serde_json::{json, Value};

/// How long a test waits for anything before it fails.
const DEADLINE: Duration = Duration::from_secs(30);

/// A picovmm run serving a control socket in a folder of its own; killed when dropped.
struct Vm {
    child: Option<Child>,
    socket: PathBuf,
    dir: tempfile::TempDir,
}

impl Vm {
    /// Runs `image` on the default machine with `--control`, and `extra` arguments.
    fn start(image: &str, extra: &[&str]) -> Vm {
        let dir = tempfile::tempdir().expect("tempdir");
        let socket = dir.path().join("vm.sock");
        let control = format!("unix:{}", socket.display());
        let image = repo_root().join(image);
        let child = picovmm()
            .args(["run", "--image"])
            .arg(&image)
            .args(["--control", &control, "--timeout", "120s"])
            .args(extra)
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start picovmm");
        let vm = Vm {
            child: Some(child),
            socket,
            dir,
        };
        vm.wait_for_socket();
        vm
    }

    fn wait_for_socket(&self) {
        let start = Instant::now();
        while UnixStream::connect(&self.socket).is_err() {
            assert!(
                start.elapsed() < DEADLINE,
                "no control socket at {:?}",
                self.socket
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn client(&self) -> Client {
        Client::connect(&self.socket)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `picovmm ctl SOCKET args...`.
    fn ctl(&self, args: &[&str]) -> Run {
        let socket = self.socket.to_string_lossy().into_owned();
        let mut all = vec!["ctl", socket.as_str()];
        all.extend_from_slice(args);
        run(&all)
    }

    /// Waits for the run to end; its exit status, stdout and stderr.
    fn finish(&mut self) -> Run {
        let child = self.child.take().expect("running");
        child.wait_with_output().expect("picovmm ends").into()
    }
}

impl Drop for Vm {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A raw client: JSON lines over the socket, nothing of picovmm's own.
struct Client {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
    greeting: Value,
    events: Vec<Value>,
}

impl Client {
    fn connect(path: &Path) -> Client {
        let stream = UnixStream::connect(path).expect("connect");
        stream
            .set_read_timeout(Some(DEADLINE))
            .expect("read timeout");
        let writer = stream.try_clone().expect("clone");
        let mut client = Client {
            reader: BufReader::new(stream),
            writer,
            greeting: Value::Null,
            events: Vec::new(),
        };
        client.greeting = client.read().expect("a greeting");
        client
    }

    fn read(&mut self) -> Option<Value> {
        let mut line = String::new();
        match self.reader.read_line(&mut line) {
            Ok(0) | Err(_) => None,
            Ok(_) => Some(serde_json::from_str(&line).expect("a JSON line")),
        }
    }

    fn send_line(&mut self, line: &str) {
        self.writer.write_all(line.as_bytes()).expect("send");
        self.writer.write_all(b"\n").expect("send");
    }

    /// The next reply (events on the way are kept).
    fn reply(&mut self) -> Value {
        loop {
            let message = self.read().expect("a reply");
            if message.get("event").is_some() {
                self.events.push(message);
            } else {
                return message;
            }
        }
    }

    fn execute(&mut self, name: &str, arguments: Value) -> Value {
        let request = json!({"execute": name, "arguments": arguments, "id": name});
        self.send_line(&request.to_string());
        self.reply()
    }

    /// `execute`, asserting success; the `return` value.
    fn ok(&mut self, name: &str, arguments: Value) -> Value {
        let reply = self.execute(name, arguments);
        assert!(reply.get("return").is_some(), "{name} failed: {reply}");
        reply["return"].clone()
    }

    /// Waits for the event `name`, reading past others.
    fn event(&mut self, name: &str) -> Value {
        if let Some(i) = self.events.iter().position(|e| e["event"] == name) {
            return self.events.remove(i);
        }
        loop {
            let message = self.read().unwrap_or_else(|| panic!("no {name} event"));
            if message["event"] == name {
                return message;
            }
        }
    }

    fn screen(&mut self) -> String {
        self.ok("query-screen", json!({}))["text"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Waits until the screen shows `text`.
    fn wait_for_screen(&mut self, text: &str) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if screen.contains(text) {
                return screen;
            }
            assert!(
                start.elapsed() < DEADLINE,
                "waited for {text:?}; the screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The BIOS's timer tick count (BDA 0040:006C).
    fn ticks(&mut self) -> String {
        let read = self.ok("memory-read", json!({"address": 0x46c, "size": 4}));
        read["data"].as_str().unwrap_or_default().to_owned()
    }
}

const PANEL: &str = "guests/control/panel.bin";

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_control_greets_like_qmp_and_echoes_the_id() {
    if !kvm_available() {
        return;
    }
    let vm = Vm::start(PANEL, &[]);
    let mut c = vm.client();
    c.send_line(r#"{"execute": "query-status", "id": {"mine": [1, 2]}}"#);
    let reply = c.reply();
    assert_eq!(
        (
            c.greeting["QMP"]["version"]["package"].as_str().is_some(),
            c.greeting["QMP"]["capabilities"].clone(),
            reply,
        ),
        (
            true,
            json!([]),
            json!({"return": {"running": true, "singlestep": false, "status": "running"}, "id": {"mine": [1, 2]}})
        )
    );
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_control_stop_freezes_the_timer_and_cont_lets_it_go_on() {
    if !kvm_available() {
        return;
    }
    let vm = Vm::start(PANEL, &[]);
    let mut c = vm.client();
    c.wait_for_screen("ticks:");
    c.ok("stop", json!({}));
    let paused = c.ticks();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        (c.ticks(), c.ok("query-status", json!({}))["status"].clone()),
        (paused.clone(), json!("paused"))
    );
    c.ok("cont", json!({}));
    let start = Instant::now();
    while c.ticks() == paused {
        assert!(
            start.elapsed() < DEADLINE,
            "the timer did not go on after cont"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        (
            c.event("STOP")["data"]["reason"].clone(),
            c.event("RESUME")["event"].clone()
        ),
        (json!("pause"), json!("RESUME"))
    );
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_control_held_shift_reaches_the_guests_shift_flags() {
    if !kvm_available() {
        return;
    }
    let vm = Vm::start(PANEL, &[]);
    let mut c = vm.client();
    let key = |down: bool, name: &str| json!({"events": [{"type": "key", "data": {"down": down, "key": {"type": "qcode", "data": name}}}]});
    c.ok("input-send-event", key(true, "shift"));
    c.wait_for_screen("shift: 02");
    c.ok(
        "send-key",
        json!({"keys": [{"type": "qcode", "data": "a"}]}),
    );
    c.ok("input-send-event", key(false, "shift"));
    c.wait_for_screen("shift: 00");
    c.ok(
        "send-key",
        json!({"keys": [{"type": "qcode", "data": "b"}]}),
    );
    let screen = c.wait_for_screen("keys: Ab");
    assert!(screen.contains("shift: 00"), "{screen}");
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_control_snapshot_save_goes_on_and_restore_continues_from_it() {
    if !kvm_available() {
        return;
    }
    let vm = Vm::start(PANEL, &[]);
    let mut c = vm.client();
    c.ok("type", json!({"text": "abc"}));
    c.wait_for_screen("keys: abc");
    let snap = vm.path("game.snap");
    let saved = c.ok("snapshot-save", json!({"filename": "game.snap"}));
    assert_eq!(saved["filename"], json!(snap.display().to_string()));
    // The guest goes on after the snapshot.
    assert_eq!(c.ok("query-status", json!({}))["status"], "running");
    c.ok("type", json!({"text": "d"}));
    c.wait_for_screen("keys: abcd");
    c.ok("quit", json!({}));
    let restored = picovmm()
        .args(["restore"])
        .arg(&snap)
        .args(["--timeout", "1s"])
        .output()
        .expect("restore");
    let stdout = String::from_utf8_lossy(&restored.stdout);
    assert!(
        stdout.contains("keys: abc") && !stdout.contains("keys: abcd"),
        "{stdout}"
    );
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_control_screendump_matches_the_runs_screenshot() {
    if !kvm_available() {
        return;
    }
    let mut vm = Vm::start(PANEL, &["--screenshot", "end.png"]);
    let mut c = vm.client();
    c.ok("type", json!({"text": "xyz"}));
    let text = c.wait_for_screen("keys: xyz");
    c.ok("stop", json!({}));
    let dumped = c.ok("screendump", json!({"filename": "dump.png"}));
    assert!(
        dumped["text"]
            .as_str()
            .unwrap_or_default()
            .contains("keys: xyz"),
        "{text}"
    );
    let quit = c.ok("quit", json!({}));
    let dump = vm.path("dump.png");
    let end = vm.path("end.png");
    let run = vm.finish();
    assert_eq!(
        (quit, run.status),
        (
            json!({"outcome": "quit", "description": "the run was ended by a quit command", "status": 0}),
            0
        )
    );
    let same = std::fs::read(dump).expect("dump.png") == std::fs::read(end).expect("end.png");
    assert!(same, "screendump and --screenshot differ");
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_control_two_clients_see_each_others_pause_and_resume() {
    if !kvm_available() {
        return;
    }
    let vm = Vm::start(PANEL, &[]);
    let mut a = vm.client();
    let mut b = vm.client();
    a.ok("stop", json!({}));
    assert_eq!(b.event("STOP")["data"]["reason"], "pause");
    assert_eq!(b.ok("query-status", json!({}))["status"], "paused");
    b.ok("cont", json!({}));
    assert_eq!(a.event("RESUME")["event"], "RESUME");
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_control_client_that_never_reads_stalls_neither_guest_nor_others() {
    if !kvm_available() {
        return;
    }
    let vm = Vm::start(PANEL, &[]);
    let mut stuck = UnixStream::connect(&vm.socket).expect("connect");
    stuck
        .set_write_timeout(Some(Duration::from_secs(2)))
        .expect("write timeout");
    // Thousands of requests whose replies it never reads: its socket fills up.
    let request = b"{\"execute\": \"query-screen\"}\n".repeat(20_000);
    let _ = stuck.write_all(&request);
    let mut c = vm.client();
    let before = c.ticks();
    let start = Instant::now();
    while c.ticks() == before {
        assert!(start.elapsed() < DEADLINE, "the timer stopped");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(c.ok("query-status", json!({}))["status"], "running");
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_control_bad_requests_get_errors_and_the_connection_goes_on() {
    if !kvm_available() {
        return;
    }
    let vm = Vm::start(PANEL, &[]);
    let mut c = vm.client();
    let huge = format!("{{\"execute\": \"{}\"}}", "x".repeat(300_000));
    let bad = [
        "not json",
        "[1, 2]",
        r#"{"execute": "frobnicate", "id": 1}"#,
        r#"{"execute": "memory-read", "arguments": {"address": 0, "size": 1000000}, "id": 2}"#,
        r#"{"execute": "memory-read", "arguments": {"address": "0xffffffffffff", "size": 4}, "id": 3}"#,
        r#"{"execute": "send-key", "arguments": {"keys": [{"type": "qcode", "data": "nokey"}]}, "id": 4}"#,
        r#"{"execute": "cont", "arguments": {"now": true}, "id": 5}"#,
        huge.as_str(),
    ];
    let classes: Vec<Value> = bad
        .iter()
        .map(|line| {
            c.send_line(line);
            c.reply()["error"]["class"].clone()
        })
        .collect();
    assert_eq!(
        classes,
        [
            "GenericError",
            "GenericError",
            "CommandNotFound",
            "GenericError",
            "GenericError",
            "GenericError",
            "GenericError",
            "GenericError"
        ]
    );
    assert_eq!(c.ok("query-status", json!({}))["status"], "running");
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_control_client_gone_mid_request_leaves_the_machine_as_it_was() {
    if !kvm_available() {
        return;
    }
    let vm = Vm::start(PANEL, &[]);
    let mut gone = UnixStream::connect(&vm.socket).expect("connect");
    gone.write_all(br#"{"execute": "stop""#)
        .expect("half a request");
    drop(gone);
    let mut c = vm.client();
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(c.ok("query-status", json!({}))["status"], "running");
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_control_serial_write_reaches_com1_and_its_lines_come_back_as_events() {
    if !kvm_available() {
        return;
    }
    let mut vm = Vm::start("guests/tests/serial-echo.bin", &[]);
    let mut c = vm.client();
    c.ok("subscribe", json!({"events": ["SERIAL_OUTPUT"]}));
    c.ok("serial-write", json!({"data": "hello\n"}));
    let line = loop {
        let event = c.event("SERIAL_OUTPUT");
        if event["data"]["line"] != "serial ready" {
            break event["data"].clone();
        }
    };
    let end = c.event("SHUTDOWN")["data"].clone();
    assert_eq!(
        (line, end["reason"].clone(), end["status"].clone()),
        (
            json!({"device": "serial", "line": "HELLO"}),
            json!("exit"),
            json!(0x21)
        )
    );
    assert_eq!(vm.finish().status, 0x21);
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_ctl_prints_for_people_or_json_and_says_what_failed() {
    if !kvm_available() {
        return;
    }
    let vm = Vm::start(PANEL, &[]);
    let status = vm.ctl(&["query-status"]);
    let json = vm.ctl(&["query-status", "--json"]);
    let refused = vm.ctl(&["memory-read", "0", "999999"]);
    let usage = vm.ctl(&["frobnicate"]);
    let sendkey = vm.ctl(&["send-key", "shift-x"]);
    vm.client().wait_for_screen("keys: X");
    let quit = vm.ctl(&["quit"]);
    assert_eq!(
        (
            (status.stdout.as_str(), status.status),
            (json.stdout.as_str(), json.status),
            (refused.stderr.as_str(), refused.status),
            usage.status,
            sendkey.status,
            (quit.stdout.as_str(), quit.status),
        ),
        (
            ("running\n", 0),
            ("{\"running\":true,\"singlestep\":false,\"status\":\"running\"}\n", 0),
            ("picovmm ctl: memory-read: 999999 bytes is more than one request moves (65536); split it\n", 1),
            2,
            0,
            ("the run ended: the run was ended by a quit command (exit status 0)\n", 0),
        )
    );
    let gone = vm.ctl(&["query-status"]);
    assert_eq!(gone.status, 3, "{}", gone.stderr);
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_ctl_watch_prints_events_until_the_run_ends() {
    if !kvm_available() {
        return;
    }
    let vm = Vm::start(PANEL, &[]);
    let socket = vm.socket.to_string_lossy().into_owned();
    let mut watch = picovmm()
        .args(["ctl", &socket, "watch"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("watch");
    let stdout = watch.stdout.take().expect("stdout");
    let (lines, seen) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines.send(line);
        }
    });
    // Pause and resume until the watcher, connected at some point, has seen a pause.
    let mut c = vm.client();
    let start = Instant::now();
    let first = loop {
        c.ok("stop", json!({}));
        c.ok("cont", json!({}));
        if let Ok(line) = seen.recv_timeout(Duration::from_millis(100)) {
            break line;
        }
        assert!(start.elapsed() < DEADLINE, "watch printed nothing");
    };
    c.ok("quit", json!({}));
    let mut names: Vec<String> = vec![first];
    names.extend(seen.iter());
    let names: Vec<&str> = names.iter().filter_map(|l| l.split(' ').next()).collect();
    let status = watch.wait().expect("watch ends").code();
    assert_eq!(
        (names.last().copied(), status),
        (Some("SHUTDOWN"), Some(0)),
        "{names:?}"
    );
    assert!(
        names
            .iter()
            .all(|n| ["STOP", "RESUME", "SHUTDOWN"].contains(n)),
        "{names:?}"
    );
}

#[test]
fn test_control_path_that_is_a_file_is_refused_and_kept() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("notes.txt");
    std::fs::write(&file, "mine").expect("write");
    let control = format!("unix:{}", file.display());
    let out = run(&[
        "run",
        "--image",
        "guests/hello/hello.bin",
        "--control",
        &control,
    ]);
    assert_eq!(
        (
            out.status,
            out.stderr.contains("exists and is not a socket")
        ),
        (2, true),
        "{}",
        out.stderr
    );
    assert_eq!(std::fs::read_to_string(&file).expect("kept"), "mine");
}

#[test]
fn test_control_address_without_unix_is_refused() {
    let out = run(&[
        "run",
        "--image",
        "guests/hello/hello.bin",
        "--control",
        "/tmp/x.sock",
    ]);
    assert_eq!(
        (out.status, out.stderr.contains("write unix:PATH")),
        (2, true),
        "{}",
        out.stderr
    );
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_control_table_in_a_machine_file_serves_the_socket_next_to_it() {
    if !kvm_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let machine = dir.path().join("m.toml");
    let text = format!(
        "[[memory]]\nbase = 0\nsize = \"640 KiB\"\n\n[boot]\nimage = \"{}\"\n\n[[device]]\ntype = \"vga-text\"\n\n[control]\nsocket = \"unix:m.sock\"\n",
        repo_root().join("guests/snapshot/long-loop.bin").display()
    );
    std::fs::write(&machine, text).expect("write machine");
    let child = picovmm()
        .args(["run"])
        .arg(&machine)
        .args(["--timeout", "60s"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start");
    let mut vm = Vm {
        child: Some(child),
        socket: dir.path().join("m.sock"),
        dir,
    };
    vm.wait_for_socket();
    let quit = vm.ctl(&["quit", "--json"]);
    assert_eq!(quit.status, 0, "{}", quit.stderr);
    assert_eq!(vm.finish().status, 0);
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_control_screen_changed_comes_to_a_subscriber_with_the_new_text() {
    if !kvm_available() {
        return;
    }
    let vm = Vm::start(PANEL, &[]);
    let mut c = vm.client();
    c.ok("subscribe", json!({"events": ["SCREEN_CHANGED"]}));
    c.ok("type", json!({"text": "k"}));
    let start = Instant::now();
    let text = loop {
        let event = c.event("SCREEN_CHANGED");
        let text = event["data"]["text"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if text.contains("keys: k") {
            break text;
        }
        assert!(start.elapsed() < DEADLINE, "no change with the key: {text}");
    };
    assert!(text.contains("ticks:"), "{text}");
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_control_on_restore_serves_the_restored_machine() {
    if !kvm_available() {
        return;
    }
    let mut vm = Vm::start(PANEL, &[]);
    let mut c = vm.client();
    c.ok("type", json!({"text": "saved"}));
    c.wait_for_screen("keys: saved");
    c.ok("snapshot-save", json!({"filename": "panel.snap"}));
    c.ok("quit", json!({}));
    vm.finish();
    let socket = vm.path("again.sock");
    let restored = picovmm()
        .args(["restore"])
        .arg(vm.path("panel.snap"))
        .arg("--control")
        .arg(format!("unix:{}", socket.display()))
        .args(["--timeout", "60s"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("restore");
    let mut again = Vm {
        child: Some(restored),
        socket,
        dir: tempfile::tempdir().expect("tempdir"),
    };
    again.wait_for_socket();
    let mut c = again.client();
    c.ok("type", json!({"text": "!"}));
    c.wait_for_screen("keys: saved!");
    c.ok("quit", json!({}));
    assert_eq!(again.finish().status, 0);
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_control_system_reset_under_reboot_powers_the_machine_on_again() {
    if !kvm_available() {
        return;
    }
    let vm = Vm::start(PANEL, &["--reboot"]);
    let mut c = vm.client();
    c.ok("type", json!({"text": "before"}));
    c.wait_for_screen("keys: before");
    c.ok("system_reset", json!({}));
    assert_eq!(c.event("RESET")["data"]["guest"], json!(false));
    // A fresh machine: the panel again, no keys typed, and it runs on.
    let start = Instant::now();
    while c.screen().contains("before") {
        assert!(
            start.elapsed() < DEADLINE,
            "the machine did not start again"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    c.wait_for_screen("keys:");
    c.ok("type", json!({"text": "after"}));
    c.wait_for_screen("keys: after");
    assert_eq!(c.ok("query-status", json!({}))["status"], "running");
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_control_mouse_events_reach_the_guests_ps2_mouse() {
    if !kvm_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let socket = dir.path().join("m.sock");
    let child = picovmm()
        .args([
            "run",
            "machines/mouse.toml",
            "--timeout",
            "60s",
            "--control",
        ])
        .arg(format!("unix:{}", socket.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start");
    let mut vm = Vm {
        child: Some(child),
        socket,
        dir,
    };
    vm.wait_for_socket();
    let mut c = vm.client();
    c.wait_for_screen("mouse ready");
    let rel =
        |axis: &str, value: i32| json!({"type": "rel", "data": {"axis": axis, "value": value}});
    let btn =
        |down: bool, button: &str| json!({"type": "btn", "data": {"down": down, "button": button}});
    c.ok(
        "input-send-event",
        json!({"events": [rel("x", 5), rel("y", 3)]}),
    );
    c.ok(
        "input-send-event",
        json!({"events": [btn(true, "left"), btn(false, "left")]}),
    );
    c.ok("input-send-event", json!({"events": [btn(true, "right")]}));
    let run = vm.finish();
    assert_eq!(
        (
            run.status,
            run.stdout
                .lines()
                .filter(|l| l.starts_with("packet"))
                .collect::<Vec<_>>()
        ),
        (
            0x21,
            vec![
                "packet 28 05 FD",
                "packet 09 00 00",
                "packet 08 00 00",
                "packet 0A 00 00"
            ]
        ),
        "{}",
        run.stderr
    );
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_control_mouse_events_without_a_mouse_are_refused() {
    if !kvm_available() {
        return;
    }
    let vm = Vm::start(PANEL, &[]);
    let mut c = vm.client();
    let reply = c.execute(
        "input-send-event",
        json!({"events": [{"type": "rel", "data": {"axis": "x", "value": 1}}]}),
    );
    assert_eq!(reply["error"]["class"], "DeviceNotFound", "{reply}");
}
