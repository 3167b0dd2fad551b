//! The live display in a real terminal (tmux: send-keys to type, capture-pane to read, the
//! terminal's settings compared before and after), and screenshots compared with golden PNGs.
//! Needs tmux: without it the terminal tests skip, saying why, except under `CI=true`.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{kvm_available, repo_root, run};

fn tmux_available() -> bool {
    match Command::new("tmux").arg("-V").output() {
        Ok(out) if out.status.success() => true,
        _ if std::env::var("CI").as_deref() == Ok("true") => panic!("CI=true and tmux is missing"),
        _ => {
            eprintln!("skipping: tmux is not installed (apt-get install tmux)");
            false
        }
    }
}

/// A tmux session of its own (its own server socket), killed when dropped.
struct Terminal {
    socket: String,
    dir: tempfile::TempDir,
}

impl Terminal {
    /// A `width` x `height` terminal running a shell in the repository's root.
    fn new(width: u16, height: u16) -> Terminal {
        let dir = tempfile::tempdir().expect("tempdir");
        let socket = dir.path().join("tmux.sock").to_string_lossy().into_owned();
        let t = Terminal { socket, dir };
        let status = t
            .tmux(&[
                "new-session",
                "-d",
                "-s",
                "t",
                "-x",
                &width.to_string(),
                "-y",
                &height.to_string(),
            ])
            .arg("bash --norc --noprofile")
            .env("PS1", "$ ")
            .current_dir(repo_root())
            .status()
            .expect("start tmux");
        assert!(status.success());
        t
    }

    fn tmux(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new("tmux");
        cmd.args(["-S", &self.socket, "-f", "/dev/null"]).args(args);
        cmd
    }

    /// Types `keys` (tmux key names, or literal text with `literal`).
    fn send(&self, keys: &[&str], literal: bool) {
        let mut args = vec!["send-keys", "-t", "t"];
        if literal {
            args.push("-l");
        }
        args.extend(keys);
        assert!(self.tmux(&args).status().expect("send-keys").success());
    }

    /// What the terminal shows.
    fn screen(&self) -> String {
        let out = self
            .tmux(&["capture-pane", "-t", "t", "-p"])
            .output()
            .expect("capture-pane");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// What the terminal shows, with its colours as escape sequences.
    fn colours(&self) -> String {
        let out = self
            .tmux(&["capture-pane", "-t", "t", "-p", "-e"])
            .output()
            .expect("capture-pane");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Waits until the screen contains `text`; panics with the screen after `limit`.
    fn wait_for(&self, text: &str, limit: Duration) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if screen.contains(text) {
                return screen;
            }
            assert!(
                start.elapsed() < limit,
                "waited for {text:?}; the terminal shows:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until the live view is up (the shell's command line is gone from the screen) and
    /// shows `text`.
    fn wait_for_view(&self, text: &str) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if screen.contains(text) && !screen.contains("stty -a") {
                return screen;
            }
            assert!(
                start.elapsed() < LONG,
                "waited for the view; the terminal shows:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// A file in the session's folder.
    fn file(&self, name: &str) -> String {
        self.dir.path().join(name).to_string_lossy().into_owned()
    }

    /// The pid of the picovmm the shell runs.
    fn picovmm_pid(&self) -> String {
        let out = self
            .tmux(&["list-panes", "-t", "t", "-F", "#{pane_pid}"])
            .output()
            .expect("list-panes");
        let shell = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        let out = Command::new("pgrep")
            .args(["-P", &shell, "picovmm"])
            .output()
            .expect("pgrep");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server"]).status();
    }
}

const LONG: Duration = Duration::from_secs(10);

/// Starts `picovmm run --display terminal ARGS` in `t` between two `stty -a` records, and the
/// exit status after it.
fn start_live(t: &Terminal, args: &str) {
    let picovmm = env!("CARGO_BIN_EXE_picovmm");
    let (before, after, status) = (
        t.file("stty-before"),
        t.file("stty-after"),
        t.file("status"),
    );
    t.send(
        &[&format!(
            "stty -a > {before}; {picovmm} run --display terminal {args}; echo $? > {status}; stty -a > {after}; echo FIN''ISHED"
        )],
        true,
    );
    t.send(&["Enter"], false);
}

/// After the run: its exit status, and whether the terminal's settings are as before.
fn finished(t: &Terminal) -> (String, bool) {
    t.wait_for("FINISHED", LONG);
    let read = |n: &str| std::fs::read_to_string(t.file(n)).unwrap_or_default();
    let same = read("stty-before") == read("stty-after") && !read("stty-before").is_empty();
    (read("status").trim().to_owned(), same)
}

#[test]
#[cfg_attr(
    any(picovmm_missing = "kvm", picovmm_missing = "tmux"),
    ignore = "needs a usable /dev/kvm and tmux"
)]
fn test_keys_reach_the_guest_and_the_screen_is_drawn_live() {
    if !kvm_available() || !tmux_available() {
        return;
    }
    let t = Terminal::new(100, 30);
    start_live(&t, "--drive guests/bios/repl.bin,readonly");
    t.wait_for_view(">");
    t.send(&["hello there"], true);
    t.send(&["Enter"], false);
    let screen = t.wait_for("HELLO THERE (11)", LONG);
    // The alternate screen shows the guest alone: no shell prompt on it.
    assert!(!screen.contains("stty -a"), "{screen}");
    // Backspace and an arrow key (ignored by the REPL) on the way.
    t.send(&["abx"], true);
    t.send(&["BSpace", "Left", "c", "Enter"], false);
    t.wait_for("ABC (3)", LONG);
    t.send(&["quit"], true);
    t.send(&["Enter"], false);
    let (status, same) = finished(&t);
    assert_eq!(status, "0");
    assert!(same, "the terminal's settings changed");
    // The final screen is printed after the view closed, as without it.
    assert!(t.screen().contains("HELLO THERE (11)"));
}

#[test]
#[cfg_attr(
    any(picovmm_missing = "kvm", picovmm_missing = "tmux"),
    ignore = "needs a usable /dev/kvm and tmux"
)]
fn test_ctrl_a_x_leaves_and_restores_the_terminal() {
    if !kvm_available() || !tmux_available() {
        return;
    }
    let t = Terminal::new(100, 30);
    start_live(&t, "--drive guests/bios/repl.bin,readonly");
    t.wait_for_view(">");
    // Ctrl-C goes to the guest (the REPL ignores it), it does not end the run.
    t.send(&["C-c"], false);
    std::thread::sleep(Duration::from_millis(300));
    assert!(!t.screen().contains("FINISHED"));
    t.send(&["C-a", "x"], false);
    let (status, same) = finished(&t);
    assert_eq!(status, "130");
    assert!(same, "the terminal's settings changed");
}

#[test]
#[cfg_attr(
    any(picovmm_missing = "kvm", picovmm_missing = "tmux"),
    ignore = "needs a usable /dev/kvm and tmux"
)]
fn test_the_live_view_draws_a_planar_mode_in_its_colours() {
    if !kvm_available() || !tmux_available() {
        return;
    }
    let t = Terminal::new(100, 30);
    start_live(&t, "--image guests/display/planar-live.bin");
    // Mode 12h's blue band (EGA colour 1: 0, 0, 170) in half blocks across the top.
    let start = Instant::now();
    let band = "\u{1b}[38;2;0;0;170m\u{1b}[48;2;0;0;170m\u{2580}";
    while !t.colours().contains(band) {
        assert!(start.elapsed() < LONG, "no blue band:\n{}", t.colours());
        std::thread::sleep(Duration::from_millis(50));
    }
    t.send(&["C-a", "x"], false);
    let (status, same) = finished(&t);
    assert_eq!(status, "130");
    assert!(same, "the terminal's settings changed");
}

fn signal_restores_terminal(signal: &str, expected_status: &str) {
    let t = Terminal::new(100, 30);
    start_live(&t, "--drive guests/bios/repl.bin,readonly");
    t.wait_for_view(">");
    let pid = t.picovmm_pid();
    assert!(!pid.is_empty(), "picovmm is not running");
    assert!(Command::new("kill")
        .args([signal, &pid])
        .status()
        .expect("kill")
        .success());
    let (status, same) = finished(&t);
    assert_eq!(status, expected_status);
    assert!(same, "the terminal's settings changed after {signal}");
}

#[test]
#[cfg_attr(
    any(picovmm_missing = "kvm", picovmm_missing = "tmux"),
    ignore = "needs a usable /dev/kvm and tmux"
)]
fn test_sigterm_restores_the_terminal() {
    if kvm_available() && tmux_available() {
        signal_restores_terminal("-TERM", "143");
    }
}

#[test]
#[cfg_attr(
    any(picovmm_missing = "kvm", picovmm_missing = "tmux"),
    ignore = "needs a usable /dev/kvm and tmux"
)]
fn test_sighup_restores_the_terminal() {
    if kvm_available() && tmux_available() {
        signal_restores_terminal("-HUP", "129");
    }
}

#[test]
#[cfg_attr(
    any(picovmm_missing = "kvm", picovmm_missing = "tmux"),
    ignore = "needs a usable /dev/kvm and tmux"
)]
fn test_a_small_terminal_gets_a_note() {
    if !kvm_available() || !tmux_available() {
        return;
    }
    let t = Terminal::new(60, 20);
    start_live(&t, "--drive guests/bios/repl.bin,readonly");
    t.wait_for("make it at least 80x25", LONG);
    t.send(&["C-a", "x"], false);
    let (_, same) = finished(&t);
    assert!(same);
}

#[test]
#[cfg_attr(
    any(picovmm_missing = "kvm", picovmm_missing = "tmux"),
    ignore = "needs a usable /dev/kvm and tmux"
)]
fn test_mode_13h_is_drawn_with_half_blocks() {
    if !kvm_available() || !tmux_available() {
        return;
    }
    let t = Terminal::new(160, 50);
    start_live(&t, "--image guests/display/palette.bin --timeout 20s");
    // 160 columns by 50 rows of half blocks: most of the terminal is the picture (drawn in
    // pieces on a busy machine: wait for all of it, not for its first cell).
    let start = Instant::now();
    loop {
        let screen = t.screen();
        if screen.matches('\u{2580}').count() > 4000 {
            break;
        }
        assert!(
            start.elapsed() < LONG,
            "waited for the picture; the terminal shows:\n{screen}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    t.send(&["C-a", "x"], false);
    let (status, same) = finished(&t);
    assert_eq!(status, "130");
    assert!(same);
}

/// The pixels of a PNG.
fn decode(path: &Path) -> (u32, u32, Vec<u8>) {
    let file = std::fs::File::open(path).expect("open PNG");
    let mut reader = png::Decoder::new(std::io::BufReader::new(file))
        .read_info()
        .expect("PNG header");
    let mut pixels = vec![0; reader.output_buffer_size().expect("size")];
    let info = reader.next_frame(&mut pixels).expect("PNG data");
    (info.width, info.height, pixels)
}

fn assert_screenshot_matches(args: &[&str], golden: &str) {
    assert_screenshot_matches_ending(args, golden, 0);
}

/// As [`assert_screenshot_matches`], for a run that ends with exit status `status`.
fn assert_screenshot_matches_ending(args: &[&str], golden: &str, status: i32) {
    let dir = tempfile::tempdir().expect("tempdir");
    let shot = dir.path().join("shot.png");
    let again = dir.path().join("again.png");
    for path in [&shot, &again] {
        let mut all = args.to_vec();
        let p = path.to_string_lossy().into_owned();
        all.extend(["--screenshot", &p, "--screen", "none"]);
        let out = run(&all);
        assert_eq!(out.status, status, "{}", out.stderr);
    }
    let golden = repo_root().join(golden);
    assert!(
        decode(&shot) == decode(&golden),
        "{} differs from {}",
        shot.display(),
        golden.display()
    );
    assert_eq!(
        std::fs::read(&shot).expect("shot"),
        std::fs::read(&again).expect("again"),
        "the same screen gave different bytes"
    );
}

#[test]
fn test_text_screenshot_matches_the_golden_picture() {
    if kvm_available() {
        assert_screenshot_matches(
            &["run", "--image", "guests/display/colours.bin"],
            "crates/vmm-cli/tests/golden/colours.png",
        );
    }
}

#[test]
fn test_a_50_row_text_screenshot_matches_the_golden_picture() {
    if kvm_available() {
        assert_screenshot_matches(
            &["run", "--image", "guests/bios/lines.bin"],
            "crates/vmm-cli/tests/golden/lines50.png",
        );
    }
}

#[test]
fn test_mode_13h_screenshot_matches_the_golden_picture() {
    if kvm_available() {
        assert_screenshot_matches(
            &["run", "--drive", "guests/bios/mode13.bin,readonly"],
            "crates/vmm-cli/tests/golden/mode13.png",
        );
    }
}

#[test]
fn test_planar_and_cga_screenshots_match_the_golden_pictures() {
    if kvm_available() {
        for (guest, golden) in [
            ("guests/bios/planar.bin", "planar12.png"),
            ("guests/bios/planar10.bin", "planar10.png"),
            ("guests/bios/cga.bin", "cga4.png"),
            ("guests/bios/vbe.bin", "vbe800x600.png"),
        ] {
            assert_screenshot_matches_ending(
                &["run", "--image", guest],
                &format!("crates/vmm-cli/tests/golden/{golden}"),
                0x21,
            );
        }
    }
    // docs/bios.md shows the mode 12h picture: it is the one picovmm takes.
    let root = repo_root();
    for picture in ["planar12.png", "vbe800x600.png"] {
        assert!(
            decode(&root.join("docs/images").join(picture))
                == decode(&root.join("crates/vmm-cli/tests/golden").join(picture)),
            "docs/images/{picture} is not the picture picovmm takes"
        );
    }
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_a_snapshot_in_a_planar_or_vesa_mode_restores_its_screen() {
    if !kvm_available() {
        return;
    }
    for guest in ["guests/bios/planar.bin", "guests/bios/vbe.bin"] {
        assert_restored_screen_matches(guest);
    }
}

/// Runs `guest` to its exit with a snapshot and a screenshot, restores it (it halts at once)
/// with another: the same picture.
fn assert_restored_screen_matches(guest: &str) {
    let dir = tempfile::tempdir().expect("tempdir");
    let snap = dir.path().join("planar.snap");
    let (first, second) = (dir.path().join("first.png"), dir.path().join("second.png"));
    let out = run(&[
        "run",
        "--image",
        guest,
        "--screen",
        "none",
        "--screenshot",
        &first.to_string_lossy(),
        "--snapshot-on-exit",
        &snap.to_string_lossy(),
    ]);
    assert_eq!(out.status, 0x21, "{}", out.stderr);
    // The restored guest halts at once: its screen is what the planes and registers restored.
    let out = run(&[
        "restore",
        &snap.to_string_lossy(),
        "--screen",
        "none",
        "--screenshot",
        &second.to_string_lossy(),
    ]);
    assert_eq!(out.status, 0, "{}", out.stderr);
    assert!(
        decode(&first) == decode(&second),
        "the restored screen differs"
    );
}

#[test]
fn test_display_needs_a_terminal_and_screenshot_a_screen() {
    let out = run(&[
        "run",
        "--display",
        "terminal",
        "--image",
        "guests/hello/hello.bin",
    ]);
    assert_eq!(out.status, 2);
    assert!(
        out.stderr.contains("--display terminal needs a terminal"),
        "{}",
        out.stderr
    );
    let out = run(&[
        "run",
        "machines/long.toml",
        "--screenshot",
        "/tmp/never.png",
    ]);
    assert!(
        out.status == 2 || out.stderr.contains("screenshot"),
        "{}",
        out.stderr
    );
}

#[test]
#[cfg_attr(
    any(picovmm_missing = "kvm", picovmm_missing = "tmux"),
    ignore = "needs a usable /dev/kvm and tmux"
)]
fn test_ctrl_a_x_gets_through_behind_a_flood_of_keys() {
    if !kvm_available() || !tmux_available() {
        return;
    }
    // A guest that never reads its keyboard, and 5,000 keys pasted into it: the type-ahead
    // fills, the rest are dropped, and the escape still ends the run.
    let t = Terminal::new(100, 30);
    start_live(&t, "--image guests/hostile/spin.bin --timeout 60s");
    t.wait_for_view("spinning");
    let flood = "k".repeat(5000);
    t.send(&[&flood], true);
    t.send(&["C-a", "x"], false);
    let (status, same) = finished(&t);
    assert_eq!(status, "130");
    assert!(same);
}

#[test]
#[cfg_attr(
    any(picovmm_missing = "kvm", picovmm_missing = "tmux"),
    ignore = "needs a usable /dev/kvm and tmux"
)]
fn test_ctrl_a_c_monitor_pauses_shows_status_and_dumps_the_screen() {
    if !kvm_available() || !tmux_available() {
        return;
    }
    let t = Terminal::new(100, 30);
    let end = t.file("end.png");
    start_live(
        &t,
        &format!("--image guests/control/panel.bin --screenshot {end}"),
    );
    t.wait_for_view("ticks:");
    t.send(&["C-a", "h"], false);
    t.wait_for("Ctrl-a c  the monitor", LONG);
    // The next key closes the list and goes on to the guest.
    t.send(&["q"], true);
    t.wait_for("keys: q", LONG);
    for line in ["stop", "info status"] {
        t.send(&["C-a", "c"], false);
        t.wait_for("(picovmm) _", LONG);
        t.send(&[line], true);
        t.send(&["Enter"], false);
    }
    t.wait_for("(picovmm) info status", LONG);
    let screen = t.wait_for("paused", LONG);
    assert!(!screen.contains("running"), "{screen}");
    let dump = t.file("mon.png");
    t.send(&["C-a", "c"], false);
    t.send(&[&format!("screendump {dump}")], true);
    t.send(&["Enter"], false);
    t.wait_for(&format!("wrote {dump}"), LONG);
    assert!(std::fs::read(&dump)
        .unwrap_or_default()
        .starts_with(b"\x89PNG"));
    t.send(&["C-a", "x"], false);
    let (status, same) = finished(&t);
    assert_eq!((status.as_str(), same), ("130", true));
}

#[test]
#[cfg_attr(
    any(picovmm_missing = "kvm", picovmm_missing = "tmux"),
    ignore = "needs a usable /dev/kvm and tmux"
)]
fn test_ctrl_a_s_says_where_it_saved_and_keeps_an_earlier_picture() {
    if !kvm_available() || !tmux_available() {
        return;
    }
    let t = Terminal::new(100, 30);
    let end = t.file("shot.png");
    let earlier = t.file("shot-1.png");
    std::fs::write(&earlier, b"an earlier run's picture").expect("write");
    start_live(
        &t,
        &format!("--image guests/control/panel.bin --screenshot {end}"),
    );
    t.wait_for_view("ticks:");
    t.send(&["C-a", "s"], false);
    t.wait_for(
        &format!("saved the screen to {}", t.file("shot-2.png")),
        LONG,
    );
    t.send(&["C-a", "x"], false);
    finished(&t);
    assert_eq!(
        std::fs::read(&earlier).expect("kept"),
        b"an earlier run's picture"
    );
    assert!(std::fs::read(t.file("shot-2.png"))
        .unwrap_or_default()
        .starts_with(b"\x89PNG"));
}

#[test]
#[cfg_attr(
    any(picovmm_missing = "kvm", picovmm_missing = "tmux"),
    ignore = "needs a usable /dev/kvm and tmux"
)]
fn test_a_terminal_gets_the_live_view_by_default_and_a_pipe_the_print() {
    if !kvm_available() || !tmux_available() {
        return;
    }
    let t = Terminal::new(100, 30);
    let picovmm = env!("CARGO_BIN_EXE_picovmm");
    let (piped, status) = (t.file("piped"), t.file("status"));
    // Through a pipe: the end-of-run print, as ever.
    t.send(
        &[&format!(
            "{picovmm} run --image guests/control/panel.bin --timeout 300ms | cat > {piped}; {picovmm} run --image guests/control/panel.bin; echo $? > {status}; echo FIN''ISHED"
        )],
        true,
    );
    t.send(&["Enter"], false);
    // In the terminal: the live view, without asking for it.
    t.wait_for_view("ticks:");
    t.send(&["C-a", "x"], false);
    t.wait_for("FINISHED", LONG);
    let read = |n: &str| std::fs::read_to_string(t.file(n)).unwrap_or_default();
    assert!(
        read("piped").starts_with("picovmm control panel\nticks: "),
        "{}",
        read("piped")
    );
    assert_eq!(read("status").trim(), "130");
}

#[test]
#[cfg_attr(
    any(picovmm_missing = "kvm", picovmm_missing = "tmux"),
    ignore = "needs a usable /dev/kvm and tmux"
)]
fn test_forty_columns_are_drawn_two_cells_wide() {
    if !kvm_available() || !tmux_available() {
        return;
    }
    let t = Terminal::new(100, 30);
    start_live(&t, "--image guests/display/forty.bin");
    // The guest writes its line a character at a time: wait for all of it.
    t.wait_for_view("F O R T Y   C O L U M N S   ██████");
    t.send(&["C-a", "x"], false);
    finished(&t);
}

#[test]
#[cfg_attr(
    any(picovmm_missing = "kvm", picovmm_missing = "tmux"),
    ignore = "needs a usable /dev/kvm and tmux"
)]
fn test_ctrl_a_1_holds_shift_in_the_guest_until_pressed_again() {
    if !kvm_available() || !tmux_available() {
        return;
    }
    // tmux passes no kitty key events: the fallback a player can use everywhere.
    let t = Terminal::new(100, 30);
    start_live(&t, "--image guests/control/panel.bin");
    t.wait_for_view("shift: 00");
    t.send(&["C-a", "1"], false);
    t.wait_for("shift: 02", LONG);
    // The held row is drawn with the view's next frame: wait for it too.
    t.wait_for("held: Shift", LONG);
    t.send(&["a"], true);
    t.wait_for("keys: A", LONG);
    t.send(&["C-a", "1"], false);
    let released = t.wait_for("shift: 00", LONG);
    assert!(!released.contains("held:"), "{released}");
    t.send(&["b"], true);
    t.wait_for("keys: Ab", LONG);
    t.send(&["C-a", "x"], false);
    finished(&t);
}

#[test]
#[cfg_attr(
    any(picovmm_missing = "kvm", picovmm_missing = "tmux"),
    ignore = "needs a usable /dev/kvm and tmux"
)]
fn test_a_terminal_mouse_click_reaches_the_guests_ps2_mouse() {
    if !kvm_available() || !tmux_available() {
        return;
    }
    let t = Terminal::new(100, 30);
    let picovmm = env!("CARGO_BIN_EXE_picovmm");
    let status = t.file("status");
    t.send(
        &[&format!(
            "{picovmm} run machines/mouse.toml --display terminal; echo $? > {status}; echo FIN''ISHED"
        )],
        true,
    );
    t.send(&["Enter"], false);
    t.wait_for_view("mouse ready");
    // What a terminal sends with SGR mouse reports on: the left button pressed at column 10,
    // dragged two columns right, let go; then the right button, which ends the guest.
    for report in [
        "\x1b[<0;10;5M",
        "\x1b[<32;12;5M",
        "\x1b[<0;12;5m",
        "\x1b[<2;12;5M",
    ] {
        t.send(&[report], true);
    }
    let screen = t.wait_for("FINISHED", LONG);
    // The debug console's lines, held while the view owned the terminal, come after it.
    for line in [
        "packet 09 00 00",
        "packet 09 10 00",
        "packet 08 00 00",
        "packet 0A 00 00",
    ] {
        assert!(screen.contains(line), "{line} missing:\n{screen}");
    }
    assert_eq!(
        std::fs::read_to_string(status).unwrap_or_default().trim(),
        "33"
    );
}
