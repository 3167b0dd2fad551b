//! The BIOS end to end: boot sectors that call int 10h, 13h, 15h, 16h and 1Ah, booted from
//! disk images (--drive) and placed with --image; stdin as keys; the disk file's bytes after
//! the guest wrote them; what is refused and how.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::{kvm_available, repo_root, run, run_with_input, run_with_stats};

/// A 1.44 MB floppy image whose boot sector is `guest`.
fn floppy_with(guest: &str, dir: &tempfile::TempDir) -> String {
    let mut bytes = std::fs::read(repo_root().join(guest)).expect("guest");
    bytes.resize(1_474_560, 0);
    let path = dir.path().join("floppy.img");
    std::fs::write(&path, bytes).expect("write image");
    path.to_string_lossy().into_owned()
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_teletype_prints_and_scrolls_the_screen() {
    if !kvm_available() {
        return;
    }
    let out = run(&["run", "--drive", "guests/bios/teletype.bin,readonly"]);
    assert_eq!(out.status, 0, "{}", out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    // 30 lines on 25 rows: the screen scrolled; lines 7-30 are left, the cursor on row 24.
    assert_eq!(lines.len(), 24, "{}", out.stdout);
    assert_eq!(lines[0], "line 7");
    assert_eq!(lines[23], "line 30");
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_repl_reads_stdin_as_keys_and_powers_off() {
    if !kvm_available() {
        return;
    }
    let out = run_with_input(
        &[
            "run",
            "--drive",
            "guests/bios/repl.bin,readonly",
            "--timeout",
            "10s",
        ],
        b"hello\nab\x7fc\nquit\n",
    );
    assert_eq!(out.status, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout, "> hello\nHELLO (5)\n> ac\nAC (2)\n> quit\nbye\n",
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("turned the machine off (APM)"));
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_repl_gets_every_key_of_a_long_paste() {
    if !kvm_available() {
        return;
    }
    let line: String = (0..600).map(|i| (b'a' + (i % 26) as u8) as char).collect();
    let input = format!("{line}\nquit\n");
    let out = run_with_input(
        &[
            "run",
            "--drive",
            "guests/bios/repl.bin,readonly",
            "--timeout",
            "20s",
        ],
        input.as_bytes(),
    );
    assert_eq!(out.status, 0, "{}", out.stderr);
    assert!(out.stdout.contains("(600)"), "{}", out.stdout);
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_disk_writes_persist_across_runs_and_readonly_refuses() {
    if !kvm_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let image = floppy_with("guests/bios/disk.bin", &dir);
    let first = run(&["run", "--drive", &image]);
    assert_eq!(first.status, 0, "{}", first.stderr);
    assert_eq!(
        first.stdout,
        "boot 1\nsectors per track 18\nread by LBA 1\n"
    );
    let second = run(&["run", "--drive", &image]);
    assert!(second.stdout.starts_with("boot 2\n"), "{}", second.stdout);
    let bytes = std::fs::read(&image).expect("image");
    assert_eq!(
        &bytes[512..514],
        &[2, 0],
        "the count the guest wrote is in the file"
    );
    assert_eq!(bytes.len(), 1_474_560);
    // Write-protected: the BIOS's status 03h; the file is untouched.
    let readonly = run(&["run", "--drive", &format!("{image},readonly")]);
    assert_eq!(readonly.stdout, "disk error 3\n");
    // Snapshot: the guest sees its write, the file does not.
    let snapshot = run(&["run", "--drive", &format!("{image},snapshot")]);
    assert!(snapshot.stdout.starts_with("boot 3\n"));
    assert_eq!(&std::fs::read(&image).expect("image")[512..514], &[2, 0]);
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_an_image_in_use_is_locked_against_a_second_writer() {
    if !kvm_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let image = floppy_with("guests/bios/repl.bin", &dir);
    // The REPL waits for input, holding its writable image.
    let mut holder = Command::new(env!("CARGO_BIN_EXE_picovmm"))
        .current_dir(repo_root())
        .args(["run", "--drive", &image, "--timeout", "10s"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the holder");
    std::thread::sleep(std::time::Duration::from_millis(300));
    let second = run(&["run", "--drive", &image]);
    let _ = holder.stdin.take().map(|mut s| s.write_all(b"quit\n"));
    let _ = holder.wait();
    assert_eq!(second.status, 2);
    assert!(
        second
            .stderr
            .contains("is in use by another program (locked)"),
        "{}",
        second.stderr
    );
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_mode_13h_drawing_and_graphics_screen() {
    if !kvm_available() {
        return;
    }
    let out = run(&["run", "--drive", "guests/bios/mode13.bin,readonly"]);
    assert_eq!(out.status, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "mode 13h drawn\n");
    assert!(
        out.stderr
            .contains("the screen is in a 320x200 graphics mode"),
        "{}",
        out.stderr
    );
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_game_loop_timed_by_the_bios_clock_and_a_real_wait() {
    if !kvm_available() {
        return;
    }
    let (out, stats) = run_with_stats(&["run", "--drive", "guests/bios/ticks.bin,readonly"]);
    assert_eq!(out.status, 0, "{}", out.stderr);
    assert!(out.stdout.contains("moved 18 cells"), "{}", out.stdout);
    assert!(out.stdout.contains("waited 220 ms"), "{}", out.stdout);
    // 18 ticks at 18.2 Hz and a 220 ms wait: a second and more of the guest's time.
    let run_ns = stats["run_ns"].as_u64().unwrap_or(0);
    assert!(run_ns > 1_150_000_000, "run took {run_ns} ns");
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_tutorial_boot_sector_with_image_and_a_key_from_stdin() {
    if !kvm_available() {
        return;
    }
    let out = run_with_input(&["run", "--image", "guests/bios/tutorial.bin"], b"x");
    assert_eq!(out.status, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "Hello, World! Press a key: x\n");
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_sample_still_takes_one_exit_with_the_bios_underneath() {
    if !kvm_available() {
        return;
    }
    let (out, stats) = run_with_stats(&["run", "--image", "guests/hello/hello.bin"]);
    assert_eq!(out.status, 0);
    assert_eq!(stats["exits"]["total"], 1);
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_unimplemented_service_is_reported_once_and_fails_with_carry() {
    if !kvm_available() {
        return;
    }
    // int 21h (DOS) three times, then the carry flag to the debug console.
    let dir = tempfile::tempdir().expect("tempdir");
    let mut code = vec![
        0xB4, 0x09, 0xCD, 0x21, 0xCD, 0x21, 0xCD, 0x21, // mov ah, 9; int 21h x3
        0xB0, b'0', 0x14, 0x00, // mov al, '0'; adc al, 0
        0xE6, 0xE9, 0xFA, 0xF4, // out 0xE9, al; cli; hlt
    ];
    code.resize(512, 0);
    let path = dir.path().join("dos.bin");
    std::fs::write(&path, code).expect("write");
    let out = run(&["run", "--image", &path.to_string_lossy()]);
    assert_eq!(out.stdout, "1");
    assert_eq!(
        out.stderr
            .matches("picovmm: int 21h AH=09h is not implemented")
            .count(),
        1,
        "{}",
        out.stderr
    );
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_jump_to_the_reset_vector_ends_the_run_as_a_reset() {
    if !kvm_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let mut code = vec![0xEA, 0x00, 0x00, 0xFF, 0xFF]; // jmp 0xFFFF:0x0000
    code.resize(512, 0);
    let path = dir.path().join("reboot.bin");
    std::fs::write(&path, code).expect("write");
    let (out, stats) = run_with_stats(&["run", "--image", &path.to_string_lossy()]);
    assert_eq!(out.status, 0);
    assert_eq!(stats["outcome"], "reset");
}

#[test]
fn test_bad_drives_are_refused_before_the_run() {
    let missing = run(&["run", "--drive", "no/such/disk.img"]);
    assert_eq!(missing.status, 2);
    assert!(
        missing
            .stderr
            .contains("cannot open disk image no/such/disk.img"),
        "{}",
        missing.stderr
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let big = dir.path().join("big.img");
    std::fs::write(&big, vec![0u8; 3_000_000]).expect("write");
    let floppy = run(&["run", "--drive", &format!("{},floppy", big.display())]);
    assert_eq!(floppy.status, 2);
    assert!(
        floppy.stderr.contains("too large for a floppy"),
        "{}",
        floppy.stderr
    );
    let empty = dir.path().join("empty.img");
    std::fs::write(&empty, b"").expect("write");
    let out = run(&["run", "--drive", &empty.to_string_lossy()]);
    assert_eq!(out.status, 2);
    assert!(out.stderr.contains("is empty"), "{}", out.stderr);
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_boot_sector_without_signature_boots_with_a_warning() {
    if !kvm_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let mut code = vec![0xB0, b'k', 0xE6, 0xE9, 0xFA, 0xF4];
    code.resize(512, 0);
    let path = dir.path().join("nosig.img");
    std::fs::write(&path, code).expect("write");
    let out = run(&["run", "--drive", &format!("{},readonly", path.display())]);
    assert_eq!(out.status, 0);
    assert_eq!(out.stdout, "k");
    assert!(
        out.stderr.contains("has no boot signature"),
        "{}",
        out.stderr
    );
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_instructions_boot_sectors_rely_on() {
    if !kvm_available() {
        return;
    }
    let out = run(&["run", "--image", "guests/bios/instructions.bin"]);
    assert_eq!(
        (out.status, out.stdout.as_str()),
        (0, "ok"),
        "{}",
        out.stderr
    );
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_forty_column_mode_is_printed_forty_columns_wide() {
    if !kvm_available() {
        return;
    }
    // mov ax, 0001h; int 10h; mov cx, 45; l: mov ax, 0E78h; int 10h; loop l; cli; hlt
    let mut code = vec![
        0xB8, 0x01, 0x00, 0xCD, 0x10, 0xB9, 0x2D, 0x00, 0xB8, 0x78, 0x0E, 0xCD, 0x10, 0xE2, 0xF9,
        0xFA, 0xF4,
    ];
    code.resize(512, 0);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("forty.bin");
    std::fs::write(&path, code).expect("write");
    let out = run(&["run", "--image", &path.to_string_lossy()]);
    assert_eq!(out.status, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout,
        format!("{}\n{}\n", "x".repeat(40), "x".repeat(5))
    );
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_reboot_powers_the_machine_on_again_and_the_disk_keeps_its_writes() {
    if !kvm_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let drive = floppy_with("guests/bios/reboot.bin", &dir);
    let once = run(&["run", "--drive", &drive, "--timeout", "20s"]);
    assert_eq!(
        (once.status, once.stdout.as_str()),
        (0, "boot 1\nboot 1\n"),
        "{}",
        once.stderr
    );
    assert!(
        once.stderr
            .contains("the run ends here, as under QEMU's -no-reboot"),
        "{}",
        once.stderr
    );
    let rebooted = run(&["run", "--drive", &drive, "--timeout", "20s", "--reboot"]);
    // Boots 2 and 3 (the disk kept boot 1's write), each from power-on: a fresh screen.
    assert_eq!(
        (rebooted.status, rebooted.stdout.as_str()),
        (0, "boot 2\nboot 3\nboot 3\n"),
        "{}",
        rebooted.stderr
    );
    assert_eq!(
        rebooted
            .stderr
            .matches("it starts again (--reboot)")
            .count(),
        1,
        "{}",
        rebooted.stderr
    );
    let disk = std::fs::read(&drive).expect("disk");
    assert_eq!(&disk[512..514], &[3, 0]);
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_the_rtc_tells_the_hosts_utc_time_and_raises_periodic_interrupts() {
    if !kvm_available() {
        return;
    }
    let before = std::time::SystemTime::now();
    let out = run(&["run", "--image", "guests/bios/cmos.bin", "--timeout", "20s"]);
    let after = std::time::SystemTime::now();
    assert_eq!(out.status, 0x21, "{}", out.stderr);
    let stamp = out
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("rtc "))
        .unwrap_or_else(|| panic!("{}", out.stdout));
    // As `date -u` would print them, one second either side.
    let secs = |t: std::time::SystemTime| {
        t.duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    };
    let utc = |s: u64| {
        let out = std::process::Command::new("date")
            .args(["-u", "-d", &format!("@{s}"), "+%Y-%m-%d %H:%M:%S"])
            .output()
            .expect("date");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    let window: Vec<String> = (secs(before).saturating_sub(1)..=secs(after) + 1)
        .map(utc)
        .collect();
    assert!(
        window.iter().any(|w| w == stamp),
        "{stamp} not in {window:?}"
    );
    assert!(out.stdout.contains("periodic 32"), "{}", out.stdout);
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_the_a20_gate_wraps_1_mib_onto_0_when_off_through_each_switch() {
    if !kvm_available() {
        return;
    }
    let expected = "port 0x92: off wraps, on apart\n\
                    i8042 0xd1: off wraps dd, on apart df\n\
                    i8042 0xdd/0xdf: off wraps, on apart\n\
                    int 15h: off wraps 00, on apart 01 03\n";
    let out = run(&["run", "-m", "2M", "--image", "guests/bios/a20.bin"]);
    assert_eq!(
        (out.status, out.stdout.as_str()),
        (0x21, expected),
        "{}",
        out.stderr
    );
    assert_eq!(out.stderr, "");
    // Without RAM at 1 MiB the gate still folds it onto 0 when off; on, nothing is there.
    let out = run(&["run", "--image", "guests/bios/a20.bin"]);
    assert_eq!(
        (out.status, out.stdout.as_str()),
        (0x21, expected),
        "{}",
        out.stderr
    );
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_planar_and_cga_modes_draw_read_back_and_report_their_mode() {
    if !kvm_available() {
        return;
    }
    for (guest, expected) in [
        ("guests/bios/planar.bin", "pixel 0e compare 55 mode 12\n"),
        ("guests/bios/planar10.bin", "pixel 0e compare 55 mode 10\n"),
        ("guests/bios/cga.bin", "pixel 02 mode 04\n"),
    ] {
        let out = run(&["run", "--image", guest]);
        assert_eq!(
            (out.status, out.stdout.as_str()),
            (0x21, expected),
            "{}",
            out.stderr
        );
        assert!(out.stderr.contains("graphics mode"), "{}", out.stderr);
    }
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_vesa_finds_sets_and_draws_800x600x32_through_banks_and_the_frame_buffer() {
    if !kvm_available() {
        return;
    }
    let out = run(&["run", "--image", "guests/bios/vbe.bin"]);
    assert_eq!(
        (out.status, out.stdout.as_str()),
        (0x21, "vbe 0300 mode 0141 lfb e0000000\n"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("the screen is in a 800x600 graphics mode"),
        "{}",
        out.stderr
    );
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_the_8x8_font_gives_50_text_rows_and_the_screen_prints_them_all() {
    if !kvm_available() {
        return;
    }
    let out = run(&["run", "--image", "guests/bios/lines.bin"]);
    assert_eq!(out.status, 0, "{}", out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.first().copied(), Some("rows 50, points 08"));
    // The screen follows the debug console's line: 50 rows, the last one written.
    assert_eq!(lines.len(), 1 + 50, "{}", out.stdout);
    assert_eq!(lines[1], "the first of 50 rows");
    assert_eq!(lines[50], "the last of 50 rows");
}
