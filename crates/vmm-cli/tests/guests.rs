//! End-to-end: real guests under real KVM, asserting on the screen, the debug console, the
//! exit status and the statistics.

mod common;

use common::{kvm_available, run, run_with_stats};

/// The sample's screen: ten blank rows, then the banner (trailing spaces trimmed).
fn hello_screen() -> String {
    let pad = " ".repeat(24);
    format!(
        "{}{pad}╔{bar}╗\n{pad}║   Hello World from picovmm   ║\n{pad}╚{bar}╝\n",
        "\n".repeat(10),
        bar = "═".repeat(30)
    )
}

/// The seed's screen, as its own C program shows it.
const SEED_SCREEN: &str = concat!(
    " _   _      _ _        __        __         _     _ _\n",
    "| | | | ___| | | ___   \\ \\      / /__  _ __| | __| | |\n",
    "| |_| |/ _ \\ | |/ _ \\   \\ \\ /\\ / / _ \\| '__| |/ _` | |\n",
    "|  _  |  __/ | | (_) |   \\ V  V / (_) | |  | | (_| |_|\n",
    "|_| |_|\\___|_|_|\\___/     \\_/\\_/ \\___/|_|  |_|\\__,_(_)\n",
);

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_hello_machine_prints_banner_and_halts() {
    if !kvm_available() {
        return;
    }
    let out = run(&["run", "machines/hello.toml"]);
    assert_eq!(out.stdout, hello_screen());
    assert_eq!(out.stderr, "");
    assert_eq!(out.status, 0);
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_hello_image_on_default_machine_matches_machine_file() {
    if !kvm_available() {
        return;
    }
    let out = run(&["run", "--image", "guests/hello/hello.bin"]);
    assert_eq!(out.stdout, hello_screen());
    assert_eq!(out.status, 0);
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_memory_flag_with_pc_layout_boots_sample() {
    if !kvm_available() {
        return;
    }
    let out = run(&[
        "run",
        "--image",
        "guests/hello/hello.bin",
        "--memory",
        "16M",
    ]);
    assert_eq!((out.stdout, out.status), (hello_screen(), 0));
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_seed_boot_sector_at_zero_prints_seed_screen() {
    if !kvm_available() {
        return;
    }
    let out = run(&[
        "run",
        "--image",
        "guests/seed/seed-boot.bin",
        "--load",
        "0",
        "--entry",
        "0000:0000",
    ]);
    assert_eq!(out.stdout, SEED_SCREEN);
    assert_eq!(out.status, 0);
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_seed_machine_file_prints_seed_screen() {
    if !kvm_available() {
        return;
    }
    let out = run(&["run", "machines/seed.toml"]);
    assert_eq!(out.stdout, SEED_SCREEN);
    assert_eq!(out.status, 0);
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_vga_trap_mode_prints_same_screen_as_memory_mode() {
    if !kvm_available() {
        return;
    }
    let trapped = run(&["run", "machines/hello.toml", "--vga-mode", "trap"]);
    assert_eq!((trapped.stdout, trapped.status), (hello_screen(), 0));
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_vga_memory_mode_writes_cost_no_exits() {
    if !kvm_available() {
        return;
    }
    let (out, json) = run_with_stats(&["run", "machines/hello.toml", "--vga-mode", "memory"]);
    assert_eq!((out.stdout, out.status), (hello_screen(), 0));
    assert_eq!(json["exits"]["mmio_write"], 0);
    assert_eq!(json["exits"]["total"], 1);
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_screen_none_prints_nothing() {
    if !kvm_available() {
        return;
    }
    let out = run(&["run", "machines/hello.toml", "--screen", "none"]);
    assert_eq!((out.stdout.as_str(), out.status), ("", 0));
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_screen_ansi_prints_all_rows_in_colour() {
    if !kvm_available() {
        return;
    }
    let out = run(&["run", "machines/hello.toml", "--screen", "ansi"]);
    assert_eq!(out.stdout.lines().count(), 25);
    // Row 0: white on blue (attribute 0x1F) blanks; row 10: the banner in yellow on blue.
    assert!(out.stdout.starts_with("\x1b[0;97;44m "));
    let banner_row = out.stdout.lines().nth(10).unwrap_or_default();
    assert!(banner_row.contains("\x1b[0;93;44m╔"));
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_debugcon_guest_output_streams_to_stdout() {
    if !kvm_available() {
        return;
    }
    let out = run(&["run", "--image", "guests/tests/debugcon.bin"]);
    assert_eq!(
        out.stdout,
        "hello from the debug console\nport 0xe9 reads 0xe9\n"
    );
    assert_eq!(out.status, 0);
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_debug_exit_guest_sets_qemu_exit_status() {
    if !kvm_available() {
        return;
    }
    let out = run(&["run", "--image", "guests/tests/exit-code.bin"]);
    assert_eq!(out.stdout, "exiting with 0x2a\n");
    assert_eq!(out.stderr, "");
    assert_eq!(out.status, (0x2A << 1) | 1);
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_stats_json_counts_exits_by_reason() {
    if !kvm_available() {
        return;
    }
    // KVM's exits, counted by reason (the interpreter makes none).
    let args = [
        "run",
        "machines/hello.toml",
        "--screen",
        "none",
        "--accel",
        "kvm",
    ];
    let (out, json) = run_with_stats(&args);
    assert_eq!(out.status, 0);
    let exits = &json["exits"];
    let by_reason = [
        "io_in",
        "io_out",
        "mmio_read",
        "mmio_write",
        "hlt",
        "shutdown",
        "interrupted",
        "other",
    ]
    .iter()
    .map(|k| exits[k].as_u64().unwrap_or(u64::MAX))
    .sum::<u64>();
    assert_eq!(exits["total"].as_u64(), Some(by_reason));
    assert_eq!(exits["hlt"], 1);
    assert_eq!(json["outcome"], "halted");
    assert!(json["run_ns"].as_u64().is_some_and(|ns| ns > 0));
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_stats_prints_summary_to_stderr() {
    if !kvm_available() {
        return;
    }
    let out = run(&["run", "--image", "guests/tests/exit-code.bin", "--stats"]);
    let mut lines = out.stderr.lines();
    assert!(lines
        .next()
        .is_some_and(|l| l.starts_with("picovmm: outcome exit, ")));
    assert!(lines
        .next()
        .is_some_and(|l| l.starts_with("picovmm: exits ") && l.contains("io_out ")));
    assert_eq!(out.status, 85);
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_the_closing_message_follows_the_guests_output_on_a_shared_stream() {
    if !kvm_available() {
        return;
    }
    // stdout and stderr into one pipe, as a terminal shows them: the guest printed before it
    // reset the machine, so its line comes before picovmm's message about the reset.
    let binary = env!("CARGO_BIN_EXE_picovmm");
    let out = std::process::Command::new("sh")
        .args([
            "-c",
            &format!("exec {binary} run --image guests/irq/reset.bin --screen none 2>&1"),
        ])
        .current_dir(common::repo_root())
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    let guest = text.find("resetting").expect("the guest's line");
    let closing = text
        .find("picovmm: the guest reset the machine")
        .expect("the message");
    assert!(guest < closing, "{text}");
}

/// A regression guard in counts, not times: the sample takes one exit and ends with no more
/// than two threads: the vCPU's and, under KVM, the PIT's (the interpreter drives the timer
/// from its own thread; there, the second may be the CPUID table's reader, still finishing on
/// a busy host); it never looks for serial input, so no stdin reader starts (see
/// docs/performance.md).
#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_the_sample_costs_one_exit_and_at_most_two_threads() {
    if !kvm_available() {
        return;
    }
    let (out, json) = run_with_stats(&[
        "run",
        "--image",
        "guests/hello/hello.bin",
        "--screen",
        "none",
    ]);
    assert_eq!(out.status, 0, "{}", out.stderr);
    let threads = json["threads"].as_u64().unwrap_or(u64::MAX);
    assert_eq!(json["exits"]["total"], 1);
    assert!((1..=2).contains(&threads), "{threads} threads: {json}");
}
