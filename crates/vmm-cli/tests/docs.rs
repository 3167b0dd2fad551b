//! Every example in the documentation works as shown.
//!
//! - A `console` block holds commands (`$ picovmm ...`, or `$ cargo run --release -p vmm-cli --
//!   ...`) each followed by what it prints: stdout, then stderr, then `exit status N` when the
//!   command ends in `; echo "exit status $?"`. In an expected line, `...` matches any text.
//! - In docs/machine-format.md, a `toml` block is a machine file: saved as
//!   `machines/example.toml` next to a copy of the guests, it must pass `picovmm check`, or,
//!   when a `text` block follows it, fail with exactly that text on stderr and status 2.
//!
//! `sh` blocks (installing, running the tests) are not run.

mod common;

use std::path::Path;

use common::{kvm_available, picovmm, repo_root};

struct Block {
    lang: String,
    body: String,
}

fn blocks(markdown: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut current: Option<Block> = None;
    for line in markdown.lines() {
        match (&mut current, line.strip_prefix("```")) {
            (None, Some(lang)) => {
                current = Some(Block {
                    lang: lang.trim().to_owned(),
                    body: String::new(),
                })
            }
            (Some(_), Some(_)) => out.extend(current.take()),
            (Some(block), None) => {
                block.body.push_str(line);
                block.body.push('\n');
            }
            (None, None) => {}
        }
    }
    out
}

fn read_doc(name: &str) -> String {
    std::fs::read_to_string(repo_root().join(name)).expect("doc file")
}

/// Whether `actual` matches `expected`, where `...` in `expected` stands for any text.
fn line_matches(expected: &str, actual: &str) -> bool {
    let parts: Vec<&str> = expected.split("...").collect();
    if parts.len() == 1 {
        return expected == actual;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !actual.starts_with(first)
        || !actual.ends_with(last)
        || actual.len() < first.len() + last.len()
    {
        return false;
    }
    let mut rest = &actual[first.len()..actual.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    true
}

/// Runs one documented command line and returns what a terminal would show.
fn run_documented(command: &str) -> String {
    const ECHO_STATUS: &str = "; echo \"exit status $?\"";
    let (command, echo_status) = match command.strip_suffix(ECHO_STATUS) {
        Some(c) => (c, true),
        None => (command, false),
    };
    // `printf 'TEXT' | picovmm ...`: TEXT (with \n escapes) is picovmm's stdin.
    let (input, command) = match command
        .strip_prefix("printf '")
        .and_then(|rest| rest.split_once("' | "))
    {
        Some((text, rest)) => (text.replace("\\n", "\n"), rest),
        None => (String::new(), command),
    };
    let args = command
        .strip_prefix("picovmm ")
        .or_else(|| command.strip_prefix("cargo run --release -p vmm-cli -- "))
        .unwrap_or_else(|| panic!("documented command is not picovmm: {command}"));
    // The documentation shows the default backend: a PICOVMM_ACCEL matrix run does not apply.
    let mut child = picovmm()
        .env_remove("PICOVMM_ACCEL")
        .args(args.split_whitespace())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run picovmm");
    if let Some(mut stdin) = child.stdin.take() {
        use std::io::Write as _;
        let _ = stdin.write_all(input.as_bytes());
    }
    let out = child.wait_with_output().expect("picovmm ends");
    let mut shown = String::from_utf8_lossy(&out.stdout).into_owned();
    shown.push_str(&String::from_utf8_lossy(&out.stderr));
    if echo_status {
        if !shown.is_empty() && !shown.ends_with('\n') {
            shown.push('\n');
        }
        shown.push_str(&format!(
            "exit status {}\n",
            out.status.code().unwrap_or(-1)
        ));
    }
    shown
}

fn assert_console_examples(doc: &str) {
    let text = read_doc(doc);
    let mut ran = 0;
    for block in blocks(&text).iter().filter(|b| b.lang == "console") {
        let mut lines = block.body.lines().peekable();
        while let Some(line) = lines.next() {
            let command = line
                .strip_prefix("$ ")
                .unwrap_or_else(|| panic!("{doc}: expected a $ command, got {line:?}"));
            let mut expected = Vec::new();
            while let Some(next) = lines.next_if(|l| !l.starts_with("$ ")) {
                expected.push(next);
            }
            let boots_guest = command.contains(" run ") || command.starts_with("picovmm run");
            if boots_guest && !kvm_available() {
                continue;
            }
            let shown = run_documented(command);
            let actual: Vec<&str> = shown.lines().collect();
            assert_eq!(
                actual.len(),
                expected.len(),
                "{doc}: `{command}` printed:\n{shown}"
            );
            for (e, a) in expected.iter().zip(&actual) {
                assert!(
                    line_matches(e, a),
                    "{doc}: `{command}`: expected {e:?}, got {a:?}\nfull output:\n{shown}"
                );
            }
            ran += 1;
        }
    }
    assert!(ran > 0 || !kvm_available(), "{doc} has no console examples");
}

/// Writes `machine` to `<tmp>/machines/example.toml` beside a copy of the guests and runs
/// `picovmm check` on it there.
fn check_example(machine: &str) -> common::Run {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = repo_root();
    for guest in [
        "hello/hello.bin",
        "seed/seed-boot.bin",
        "plugins/rtc.bin",
        "modes/long.bin",
        "modes/multiboot.bin",
        "irq/keyboard-irq.bin",
        "bios/repl.bin",
    ] {
        let to = dir.path().join("guests").join(guest);
        std::fs::create_dir_all(to.parent().unwrap_or(Path::new("."))).expect("mkdir");
        std::fs::copy(root.join("guests").join(guest), &to).expect("copy guest");
    }
    std::fs::create_dir_all(dir.path().join("machines")).expect("mkdir");
    std::fs::write(dir.path().join("machines/example.toml"), machine).expect("write example");
    // The Rust example plugins this crate depends on are built into target/<profile>/deps.
    let plugins = std::path::Path::new(env!("CARGO_BIN_EXE_picovmm"))
        .parent()
        .map(|p| p.join("deps"));
    picovmm()
        .current_dir(dir.path())
        .args(["check", "machines/example.toml", "--plugin-dir"])
        .arg(plugins.unwrap_or_default())
        .output()
        .expect("run picovmm")
        .into()
}

#[test]
fn test_machine_format_toml_examples_check_as_documented() {
    let text = read_doc("docs/machine-format.md");
    let all = blocks(&text);
    let mut checked = 0;
    for (i, block) in all.iter().enumerate().filter(|(_, b)| b.lang == "toml") {
        let out = check_example(&block.body);
        match all.get(i + 1).filter(|b| b.lang == "text") {
            Some(expected) => {
                assert_eq!(
                    out.stderr, expected.body,
                    "example {i} should fail as documented"
                );
                assert_eq!(out.status, 2);
            }
            None => assert_eq!(
                (out.status, out.stderr.as_str()),
                (0, ""),
                "example {i} should be valid:\n{}",
                block.body
            ),
        }
        checked += 1;
    }
    assert_eq!(checked, 20);
}

#[test]
fn test_machine_format_console_examples_print_as_documented() {
    assert_console_examples("docs/machine-format.md");
}

#[test]
fn test_cpu_console_examples_print_as_documented() {
    assert_console_examples("docs/cpu.md");
}

#[test]
fn test_interrupts_console_examples_print_as_documented() {
    assert_console_examples("docs/interrupts.md");
}

#[test]
fn test_snapshots_console_examples_print_as_documented() {
    assert_console_examples("docs/snapshots.md");
}

#[test]
fn test_display_console_examples_print_as_documented() {
    assert_console_examples("docs/display.md");
}

#[test]
fn test_bios_console_examples_print_as_documented() {
    assert_console_examples("docs/bios.md");
}

#[test]
fn test_command_line_console_examples_print_as_documented() {
    assert_console_examples("docs/command-line.md");
}

/// The documents whose console examples a test above runs (docs/plugins.md has its own).
const TESTED: [&str; 11] = [
    "docs/control.md",
    "docs/testing.md",
    "docs/machine-format.md",
    "docs/cpu.md",
    "docs/interrupts.md",
    "docs/snapshots.md",
    "docs/display.md",
    "docs/bios.md",
    "docs/command-line.md",
    "docs/plugins.md",
    "README.md",
];

#[test]
fn test_every_document_with_console_examples_is_tested() {
    let mut untested = Vec::new();
    let docs = std::fs::read_dir(repo_root().join("docs")).expect("docs folder");
    for entry in docs.flatten() {
        let name = format!("docs/{}", entry.file_name().to_string_lossy());
        let has_console =
            name.ends_with(".md") && blocks(&read_doc(&name)).iter().any(|b| b.lang == "console");
        if has_console && !TESTED.contains(&name.as_str()) {
            untested.push(name);
        }
    }
    assert_eq!(untested, Vec::<String>::new());
}

#[test]
fn test_readme_console_examples_print_as_documented() {
    assert_console_examples("README.md");
}

fn python3_available() -> bool {
    match std::process::Command::new("python3")
        .arg("--version")
        .output()
    {
        Ok(out) if out.status.success() => true,
        _ if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("CI=true and python3 is missing")
        }
        _ => {
            eprintln!("skipping: python3 is not installed (apt-get install python3)");
            false
        }
    }
}

/// How long the control guide waits for a socket, a reply or a background run.
const GUIDE_DEADLINE: std::time::Duration = std::time::Duration::from_secs(30);

/// docs/control.md followed by a user in a fresh folder (the guests linked in, picovmm on
/// PATH): `file=NAME` blocks are written there; console commands run in `sh`, a command ending
/// in ` &` in the background (the next command waits for the `unix:` socket it names); a `qmp`
/// transcript is replayed on the last socket started, `->` sent and `<-` expected.
struct Guide {
    dir: tempfile::TempDir,
    path: String,
    background: Vec<std::process::Child>,
    socket: Option<std::path::PathBuf>,
}

impl Guide {
    fn new() -> Guide {
        let dir = tempfile::tempdir().expect("tempdir");
        for folder in ["guests", "machines"] {
            std::os::unix::fs::symlink(repo_root().join(folder), dir.path().join(folder))
                .expect("link the guests and machines");
        }
        let bin = Path::new(env!("CARGO_BIN_EXE_picovmm"))
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let path = format!(
            "{}:{}",
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        Guide {
            dir,
            path,
            background: Vec::new(),
            socket: None,
        }
    }

    fn sh(&self, command: &str) -> std::process::Command {
        let mut sh = std::process::Command::new("sh");
        // The example plugins this crate's tests build are where a user's installed ones are.
        let plugins = Path::new(env!("CARGO_BIN_EXE_picovmm"))
            .parent()
            .map(|p| p.join("deps"))
            .unwrap_or_default();
        sh.args(["-c", command])
            .current_dir(self.dir.path())
            .env("PATH", &self.path)
            .env("PICOVMM_PLUGIN_PATH", plugins)
            .env_remove("PICOVMM_ACCEL");
        sh
    }

    fn start(&mut self, command: &str) {
        // `exec`: the child is picovmm itself, so that killing it (a failed test) ends the run.
        let child = self
            .sh(&format!("exec {command}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start in the background");
        self.background.push(child);
        let Some(name) = command
            .split_whitespace()
            .find_map(|w| w.strip_prefix("unix:"))
        else {
            return;
        };
        let socket = self.dir.path().join(name);
        let start = std::time::Instant::now();
        while std::os::unix::net::UnixStream::connect(&socket).is_err() {
            assert!(
                start.elapsed() < GUIDE_DEADLINE,
                "no socket {name} from `{command}`"
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        self.socket = Some(socket);
    }

    fn console(&mut self, body: &str) {
        let mut lines = body.lines().peekable();
        while let Some(line) = lines.next() {
            let command = line.strip_prefix("$ ").expect("a $ command");
            let mut expected = Vec::new();
            while let Some(next) = lines.next_if(|l| !l.starts_with("$ ")) {
                expected.push(next);
            }
            if let Some(background) = command.strip_suffix(" &") {
                self.start(background);
                continue;
            }
            // As a terminal shows it: stdout and stderr in the order they were written.
            let out = self
                .sh(&format!("{{ {command}\n}} 2>&1"))
                .output()
                .expect("run");
            let shown = String::from_utf8_lossy(&out.stdout).into_owned();
            let actual: Vec<&str> = shown.lines().collect();
            let matches = actual.len() == expected.len()
                && expected
                    .iter()
                    .zip(&actual)
                    .all(|(e, a)| line_matches(e, a));
            assert!(
                matches,
                "`{command}` printed:\n{shown}\nexpected:\n{}",
                expected.join("\n")
            );
        }
    }

    fn transcript(&self, body: &str) {
        use std::io::{BufRead as _, Write as _};
        let socket = self.socket.as_ref().expect("a machine to talk to");
        let stream = std::os::unix::net::UnixStream::connect(socket).expect("connect");
        stream
            .set_read_timeout(Some(GUIDE_DEADLINE))
            .expect("timeout");
        let mut writer = stream.try_clone().expect("clone");
        let mut reader = std::io::BufReader::new(stream);
        for line in body.lines() {
            if let Some(request) = line.strip_prefix("-> ") {
                writeln!(writer, "{request}").expect("send");
            } else if let Some(expected) = line.strip_prefix("<- ") {
                let mut got = String::new();
                reader.read_line(&mut got).expect("a line");
                let got = got.trim_end();
                assert!(
                    line_matches(expected, got),
                    "expected {expected}\ngot      {got}"
                );
            }
        }
    }

    /// Waits for the background runs; each must have ended with status 0.
    fn finish(&mut self) {
        let start = std::time::Instant::now();
        for child in &mut self.background {
            let status = loop {
                if let Some(status) = child.try_wait().expect("wait") {
                    break status;
                }
                assert!(
                    start.elapsed() < GUIDE_DEADLINE,
                    "a background run did not end"
                );
                std::thread::sleep(std::time::Duration::from_millis(10));
            };
            assert_eq!(status.code(), Some(0));
        }
    }
}

impl Drop for Guide {
    fn drop(&mut self) {
        for child in &mut self.background {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[test]
#[cfg_attr(
    any(picovmm_missing = "kvm", picovmm_missing = "python3"),
    ignore = "needs a usable /dev/kvm and python3"
)]
fn test_control_guide_runs_as_shown() {
    if !kvm_available() || !python3_available() {
        return;
    }
    let guide = follow("docs/control.md");
    let taken = std::fs::read(guide.dir.path().join("walk.png")).expect("the guide's picture");
    let shown =
        std::fs::read(repo_root().join("docs/images/walk.png")).expect("docs/images/walk.png");
    assert!(
        taken == shown,
        "docs/images/walk.png is not the picture the guide takes"
    );
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_testing_guide_runs_as_shown() {
    if !kvm_available() {
        return;
    }
    follow("docs/testing.md");
}

/// Follows `doc` in a fresh folder: its `file=NAME` blocks written, its console commands and
/// transcripts run in order; then waits for what it left running.
fn follow(doc: &str) -> Guide {
    let mut guide = Guide::new();
    for block in blocks(&read_doc(doc)) {
        if let Some((_, name)) = block.lang.split_once(" file=") {
            std::fs::write(guide.dir.path().join(name), &block.body).expect("write the file");
        } else if block.lang == "console" {
            guide.console(&block.body);
        } else if block.lang == "qmp" {
            guide.transcript(&block.body);
        }
    }
    guide.finish();
    guide
}

/// docs/plugins.md, followed as a third-party author would: every `file=NAME` block written
/// to a fresh folder (with `/path/to/picovmm` meaning this checkout), every `sh run` block run
/// there, then every console command run there with a copy of picovmm installed in a folder of
/// its own (so only the plugins the guide built are found).
#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_plugins_guide_builds_and_runs_both_plugins() {
    if !kvm_available() {
        return;
    }
    let root = repo_root();
    let root_text = root.to_string_lossy().into_owned();
    let work = tempfile::tempdir().expect("tempdir");
    let bin = tempfile::tempdir().expect("tempdir");
    let picovmm_copy = bin.path().join("picovmm");
    std::fs::copy(env!("CARGO_BIN_EXE_picovmm"), &picovmm_copy).expect("install picovmm");
    std::fs::copy(
        root.join("guests/plugins/latch.bin"),
        work.path().join("latch.bin"),
    )
    .expect("guest");
    let text = read_doc("docs/plugins.md");
    let all = blocks(&text);
    for block in &all {
        if let Some(name) = block
            .lang
            .split_whitespace()
            .find_map(|w| w.strip_prefix("file="))
        {
            let path = work.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap_or(work.path())).expect("mkdir");
            std::fs::write(&path, block.body.replace("/path/to/picovmm", &root_text))
                .expect("write");
        }
    }
    let mut steps = 0;
    for block in &all {
        if block.lang == "sh run" {
            let script = block.body.replace("/path/to/picovmm", &root_text);
            let out = std::process::Command::new("sh")
                .args(["-ec", &script])
                .current_dir(work.path())
                .output()
                .expect("run sh");
            assert!(
                out.status.success(),
                "step failed:\n{script}\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
            steps += 1;
        }
        if block.lang == "console" {
            let mut lines = block.body.lines().peekable();
            while let Some(line) = lines.next() {
                let args = line
                    .strip_prefix("$ picovmm ")
                    .unwrap_or_else(|| panic!("not a picovmm command: {line}"));
                let mut expected = Vec::new();
                while let Some(next) = lines.next_if(|l| !l.starts_with("$ ")) {
                    expected.push(next);
                }
                let out = std::process::Command::new(&picovmm_copy)
                    .args(args.split_whitespace())
                    .current_dir(work.path())
                    .output()
                    .expect("run picovmm");
                let shown = String::from_utf8_lossy(&out.stdout).into_owned()
                    + &String::from_utf8_lossy(&out.stderr);
                assert_eq!(
                    shown.lines().collect::<Vec<_>>(),
                    expected,
                    "`picovmm {args}`"
                );
                steps += 1;
            }
        }
    }
    assert_eq!(steps, 8);
}

#[test]
fn test_line_matches_wildcard() {
    assert!(line_matches("exits ... (hlt 1)", "exits 5 (hlt 1)"));
    assert!(!line_matches("exits ... (hlt 1)", "exits 5 (hlt 2)"));
}

/// A closing code fence is a line of its own: text after it makes a renderer run two examples
/// into one block.
#[test]
fn test_every_closing_code_fence_is_a_line_of_its_own() {
    let mut docs = vec!["README.md".to_owned()];
    for entry in std::fs::read_dir(repo_root().join("docs"))
        .expect("docs")
        .flatten()
    {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".md") {
            docs.push(format!("docs/{name}"));
        }
    }
    let mut bad = Vec::new();
    for doc in docs {
        let mut inside = false;
        for (n, line) in read_doc(&doc).lines().enumerate() {
            if !line.trim_start().starts_with("```") {
                continue;
            }
            if inside && line.trim() != "```" {
                bad.push(format!("{doc}:{}: {line}", n + 1));
            }
            inside = !inside;
        }
    }
    assert_eq!(bad, Vec::<String>::new());
}
