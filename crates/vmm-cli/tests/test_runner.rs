//! `picovmm test` end to end: test files written to a fresh folder, run as a user runs them;
//! exit statuses, what a failure shows and leaves behind, the output formats, selection.

mod common;

use std::path::{Path, PathBuf};

use common::{kvm_available, picovmm, repo_root, Run};

/// A folder of test files.
struct Suite {
    dir: tempfile::TempDir,
}

impl Suite {
    fn new() -> Suite {
        Suite {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    /// Writes `name` with `text`, where `GUESTS` stands for the repository's guests folder.
    fn file(&self, name: &str, text: &str) -> PathBuf {
        let guests = repo_root().join("guests");
        let path = self.dir.path().join(name);
        std::fs::write(&path, text.replace("GUESTS", &guests.to_string_lossy())).expect("write");
        path
    }

    /// `picovmm test ARGS` in the folder.
    fn run(&self, args: &[&str]) -> Run {
        picovmm()
            .current_dir(self.dir.path())
            .arg("test")
            .args(args)
            .output()
            .expect("picovmm test")
            .into()
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

const PASSING: &str = r#"
[machine]
image = "GUESTS/control/panel.bin"

[[test]]
name = "shows the panel"
steps = [{ screen = "picovmm control panel" }, { expect = "running" }]

[[test]]
name = "types"
steps = [{ type = "hi" }, { screen = "keys: hi" }]
"#;

const FAILING: &str = r#"
[machine]
image = "GUESTS/control/panel.bin"

[[test]]
name = "waits for a game over"
steps = [
  { screen = "picovmm control panel" },
  { screen = "GAME OVER", timeout = "200ms" },
]
"#;

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_passing_tests_exit_0_with_a_summary() {
    if !kvm_available() {
        return;
    }
    let suite = Suite::new();
    suite.file("panel.test.toml", PASSING);
    let out = suite.run(&[]);
    assert_eq!(out.status, 2, "no tests folder here: {}", out.stderr);
    let out = suite.run(&["."]);
    assert_eq!(out.status, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("test panel::shows the panel ... ok"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("test result: ok. 2 passed; 0 failed; 0 filtered out"),
        "{}",
        out.stdout
    );
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_a_failure_shows_what_it_waited_for_and_what_was_there_and_keeps_artifacts() {
    if !kvm_available() {
        return;
    }
    let suite = Suite::new();
    suite.file("over.test.toml", FAILING);
    let out = suite.run(&["over.test.toml", "--artifacts", "out"]);
    assert_eq!(out.status, 1, "{}", out.stderr);
    for part in [
        "test over::waits for a game over ... FAILED",
        "step 2 (line 9: { screen = \"GAME OVER\", timeout = \"200ms\" }): waited 0.",
        "expected the screen to show \"GAME OVER\"; it shows:\npicovmm control panel\nticks: ",
        "artifacts: out/over__waits_for_a_game_over (screen.txt, screen.png, serial.log, debugcon.log; `picovmm restore out/over__waits_for_a_game_over/machine.snap` continues it)",
        "test result: FAILED. 0 passed; 1 failed",
    ] {
        assert!(out.stdout.contains(part), "missing {part:?} in:\n{}", out.stdout);
    }
    let dir = suite.path("out/over__waits_for_a_game_over");
    let screen = std::fs::read_to_string(dir.join("screen.txt")).expect("screen.txt");
    assert!(screen.starts_with("picovmm control panel"), "{screen}");
    assert!(std::fs::read(dir.join("screen.png"))
        .expect("png")
        .starts_with(b"\x89PNG"));
    let restored: Run = picovmm()
        .current_dir(suite.dir.path())
        .args([
            "restore",
            "out/over__waits_for_a_game_over/machine.snap",
            "--timeout",
            "300ms",
        ])
        .output()
        .expect("restore")
        .into();
    assert_eq!(restored.status, 124, "{}", restored.stderr);
    assert!(
        restored.stdout.starts_with("picovmm control panel"),
        "{}",
        restored.stdout
    );
}

/// Runs a test file that must be refused; returns stderr.
fn refused(text: &str) -> String {
    let suite = Suite::new();
    suite.file("bad.test.toml", text);
    let out = suite.run(&["bad.test.toml"]);
    assert_eq!((out.status, out.stdout.as_str()), (2, ""), "{}", out.stderr);
    out.stderr
}

#[test]
fn test_an_unknown_step_key_is_refused_with_file_line_and_column() {
    let stderr = refused("[machine]\nimage = \"x.bin\"\n\n[[test]]\nname = \"t\"\nsteps = [\n  { scren = \"x\" },\n]\n");
    assert_eq!(
        stderr.lines().take(4).collect::<Vec<_>>(),
        [
            "Error: bad.test.toml:7:5: unknown field `scren`, expected one of `screen`, `screen_regex`, `region`, `serial`, `serial_regex`, `debugcon`, `debugcon_regex`, `type`, `keys`, `press`, `release`, `serial_in`, `wait`, `idle`, `picture`, `tolerance`, `snapshot`, `expect`, `exit`, `timeout`",
            "  |",
            "7 |   { scren = \"x\" },",
            "  |     ^^^^^",
        ]
    );
}

#[test]
fn test_a_step_with_two_actions_is_refused() {
    let stderr = refused("[machine]\nimage = \"x.bin\"\n\n[[test]]\nname = \"t\"\nsteps = [{ screen = \"a\", type = \"b\" }]\n");
    assert!(
        stderr.starts_with("Error: bad.test.toml:6:10: a step has one action, not screen and type"),
        "{stderr}"
    );
}

#[test]
fn test_from_a_snapshot_no_earlier_test_saves_is_refused() {
    let stderr = refused("[machine]\nimage = \"x.bin\"\n\n[[test]]\nname = \"t\"\nfrom = \"later\"\nsteps = [{ wait = \"1ms\" }]\n");
    assert!(stderr.starts_with("Error: bad.test.toml:6:8: no earlier test of this file saves a snapshot named \"later\""), "{stderr}");
}

#[test]
fn test_an_unknown_expectation_and_a_bad_regex_are_refused() {
    let expect = refused("[machine]\nimage = \"x.bin\"\n\n[[test]]\nname = \"t\"\nsteps = [{ expect = \"happy\" }]\n");
    let regex = refused("[machine]\nimage = \"x.bin\"\n\n[[test]]\nname = \"t\"\nsteps = [{ screen_regex = \"(\" }]\n");
    assert!(
        expect.contains("expect is one of running, halted, reset, quit, timeout, fault"),
        "{expect}"
    );
    assert!(regex.contains("not a regular expression"), "{regex}");
}

#[test]
fn test_a_test_without_a_machine_is_refused() {
    let stderr = refused("[[test]]\nname = \"t\"\nsteps = [{ wait = \"1ms\" }]\n");
    assert!(stderr.contains("this test has no machine"), "{stderr}");
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_tap_and_junit_report_the_same_verdicts() {
    if !kvm_available() {
        return;
    }
    let suite = Suite::new();
    suite.file("a.test.toml", PASSING);
    suite.file("b.test.toml", FAILING);
    let out = suite.run(&[
        ".",
        "--format",
        "tap",
        "--junit",
        "report.xml",
        "--jobs",
        "1",
    ]);
    assert_eq!(out.status, 1);
    let tap: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("ok") || l.starts_with("not ok") || l.starts_with("1.."))
        .collect();
    assert_eq!(
        tap,
        [
            "1..3",
            "ok 1 - a::shows the panel",
            "ok 2 - a::types",
            "not ok 3 - b::waits for a game over"
        ]
    );
    let xml = std::fs::read_to_string(suite.path("report.xml")).expect("junit");
    assert!(
        xml.contains("<testsuite name=\"picovmm test\" tests=\"3\" failures=\"1\""),
        "{xml}"
    );
    assert!(
        xml.contains("<testcase classname=\"b\" name=\"waits for a game over\""),
        "{xml}"
    );
    assert!(
        xml.contains("<failure message=\"step 2 (line 9: { screen = &quot;GAME OVER&quot;"),
        "{xml}"
    );
}

#[test]
fn test_list_filter_and_shards_split_the_tests_without_running_them() {
    let suite = Suite::new();
    suite.file("a.test.toml", PASSING);
    suite.file("b.test.toml", FAILING);
    let list = |args: &[&str]| -> Vec<String> {
        let mut all = vec![".", "--list"];
        all.extend_from_slice(args);
        let out = suite.run(&all);
        assert_eq!(out.status, 0, "{}", out.stderr);
        out.stdout.lines().map(str::to_owned).collect()
    };
    let everything = list(&[]);
    assert_eq!(
        everything,
        [
            "a::shows the panel: test",
            "a::types: test",
            "b::waits for a game over: test"
        ]
    );
    assert_eq!(list(&["--filter", "types"]), ["a::types: test"]);
    let mut shards = list(&["--shard", "1/2"]);
    let second = list(&["--shard", "2/2"]);
    assert!(shards.iter().all(|t| !second.contains(t)));
    shards.extend(second);
    shards.sort();
    assert_eq!(shards, everything);
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_pictures_are_written_by_update_goldens_then_compared_with_a_tolerance() {
    if !kvm_available() {
        return;
    }
    let suite = Suite::new();
    let text = "[machine]\nimage = \"GUESTS/hello/hello.bin\"\n\n[[test]]\nname = \"picture\"\nsteps = [{ expect = \"halted\" }, { picture = \"hello.png\" }]\n";
    suite.file("p.test.toml", text);
    let missing = suite.run(&["."]);
    assert!(
        missing.stdout.contains("write it with --update-goldens"),
        "{}",
        missing.stdout
    );
    assert_eq!(suite.run(&[".", "--update-goldens"]).status, 0);
    assert_eq!(suite.run(&["."]).status, 0);
    // Another picture in its place: it differs.
    std::fs::copy(
        repo_root().join("tests/golden/mode13.png"),
        suite.path("hello.png"),
    )
    .expect("copy");
    let differs = suite.run(&["."]);
    assert!(
        differs
            .stdout
            .contains("the screen is 640x400, the golden picture hello.png is 320x200"),
        "{}",
        differs.stdout
    );
    let loose = text.replace(
        "picture = \"hello.png\"",
        "picture = \"golden.png\", tolerance = 100",
    );
    suite.file("p.test.toml", &loose);
    assert_eq!(suite.run(&[".", "--update-goldens"]).status, 0);
    edit_pixels(&suite.path("golden.png"), 50);
    assert_eq!(suite.run(&["."]).status, 0, "50 pixels differ, 100 may");
    edit_pixels(&suite.path("golden.png"), 150);
    let over = suite.run(&["."]);
    assert!(
        over.stdout
            .contains("pixels differ from golden.png (tolerance 100)"),
        "{}",
        over.stdout
    );
}

/// Turns the first `n` pixels of a PNG white.
fn edit_pixels(path: &Path, n: usize) {
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(path).expect("open"),
    ));
    let mut reader = decoder.read_info().expect("png");
    let mut buf = vec![0; reader.output_buffer_size().expect("size")];
    let info = reader.next_frame(&mut buf).expect("frame");
    for byte in buf.iter_mut().take(n * 3) {
        *byte = 0xFF;
    }
    let file = std::fs::File::create(path).expect("create");
    let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), info.width, info.height);
    encoder.set_color(info.color_type);
    encoder.set_depth(info.bit_depth);
    encoder
        .write_header()
        .and_then(|mut w| w.write_image_data(&buf[..info.buffer_size()]))
        .expect("write png");
}
