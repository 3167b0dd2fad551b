//! End-to-end: real guests under real KVM, asserting on the screen, the debug console, the
//! exit status and the statistics.

mod common;

use std::time::Duration;

use common::{kvm_available, picovmm, run, run_with_stats};

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
fn test_hello_image_on_default_machine_matches_machine_file() {
    if !kvm_available() {
        return;
    }
    let out = run(&["run", "--image", "guests/hello/hello.bin"]);
    assert_eq!(out.stdout, hello_screen());
    assert_eq!(out.status, 0);
}

#[test]
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
fn test_seed_machine_file_prints_seed_screen() {
    if !kvm_available() {
        return;
    }
    let out = run(&["run", "machines/seed.toml"]);
    assert_eq!(out.stdout, SEED_SCREEN);
    assert_eq!(out.status, 0);
}

#[test]
fn test_vga_trap_mode_prints_same_screen_as_memory_mode() {
    if !kvm_available() {
        return;
    }
    let trapped = run(&["run", "machines/hello.toml", "--vga-mode", "trap"]);
    assert_eq!((trapped.stdout, trapped.status), (hello_screen(), 0));
}

#[test]
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
fn test_vga_window_guest_in_trap_mode_behaves_as_in_memory_mode() {
    if !kvm_available() {
        return;
    }
    let memory = run(&["run", "--image", "guests/tests/vga-window.bin"]);
    let trapped = run(&[
        "run",
        "--image",
        "guests/tests/vga-window.bin",
        "--vga-mode",
        "trap",
    ]);
    assert_eq!(trapped.stdout, memory.stdout);
    assert_eq!(trapped.stderr, memory.stderr);
    assert_eq!((trapped.status, memory.status), (0x21, 0x21));
}

#[test]
fn test_screen_none_prints_nothing() {
    if !kvm_available() {
        return;
    }
    let out = run(&["run", "machines/hello.toml", "--screen", "none"]);
    assert_eq!((out.stdout.as_str(), out.status), ("", 0));
}

#[test]
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
fn test_triple_fault_guest_reports_fault_with_registers() {
    if !kvm_available() {
        return;
    }
    let out = run(&["run", "--image", "guests/tests/triple-fault.bin"]);
    assert_eq!(out.stdout, "about to triple-fault\n");
    let mut lines = out.stderr.lines();
    assert_eq!(
        lines.next(),
        Some("Error: the guest triple-faulted (KVM_EXIT_SHUTDOWN)")
    );
    assert!(lines
        .next()
        .is_some_and(|l| l.starts_with("  cs:ip=0000:7c")));
    assert_eq!(out.status, 4);
}

#[test]
fn test_unemulatable_instruction_is_reported_with_code_bytes() {
    if !kvm_available() {
        return;
    }
    let out = run(&["run", "--image", "guests/tests/emulation-failure.bin"]);
    assert_eq!(out.stdout, "about to int 0x20 in protected mode\n");
    let first = out.stderr.lines().next().unwrap_or_default();
    // Hosts that emulate ring-0 code in software (this project's) cannot emulate `int n` in
    // protected mode; a host with full VMX support runs it, and the empty IDT triple-faults.
    let emulation_failure =
        "Error: KVM internal error 1 (emulation failure: KVM cannot emulate the \
                             instruction); code at CS:IP: cd 20 be";
    let triple_fault = "Error: the guest triple-faulted (KVM_EXIT_SHUTDOWN)";
    assert!(
        first.starts_with(emulation_failure) || first == triple_fault,
        "stderr: {}",
        out.stderr
    );
    assert!(out.stderr.contains("  cs:ip=0000:7c22 "));
    assert_eq!(out.status, 4);
}

#[test]
fn test_spinning_guest_is_stopped_by_timeout_and_screen_printed() {
    if !kvm_available() {
        return;
    }
    let out = run(&[
        "run",
        "--image",
        "guests/tests/spin.bin",
        "--timeout",
        "500ms",
    ]);
    assert_eq!(out.stdout, "spinning in jmp $\n");
    assert!(out
        .stderr
        .starts_with("picovmm: timed out after 500ms; the guest was stopped at cs:ip=0000:7c"));
    assert_eq!(out.status, 124);
}

#[test]
fn test_spinning_guest_is_stopped_by_ctrl_c() {
    if !kvm_available() {
        return;
    }
    let child = picovmm()
        .args(["run", "--image", "guests/tests/spin.bin"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start picovmm");
    std::thread::sleep(Duration::from_millis(500));
    // SAFETY: kill with a valid pid of our own child and a standard signal.
    let sent = unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    assert_eq!(sent, 0);
    let out: common::Run = child.wait_with_output().expect("wait").into();
    assert_eq!(out.stdout, "spinning in jmp $\n");
    assert!(out
        .stderr
        .starts_with("picovmm: interrupted; the guest was stopped at cs:ip=0000:7c"));
    assert_eq!(out.status, 130);
}

#[test]
fn test_vga_window_guest_keeps_whole_window_and_drops_writes_past_it() {
    if !kvm_available() {
        return;
    }
    let out = run(&["run", "--image", "guests/tests/vga-window.bin"]);
    let mut lines = out.stdout.lines();
    assert_eq!(lines.next(), Some("last cell of the window reads back"));
    assert_eq!(lines.next(), Some("past the window reads 0xff"));
    assert_eq!(
        lines.next(),
        Some(format!("VGA window test{}", "A".repeat(65)).as_str())
    );
    assert_eq!(lines.filter(|l| *l == "A".repeat(80)).count(), 24);
    // Writes past the window are unclaimed: reported once per address, at most 16 of them.
    let warnings: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(
        warnings.first().copied(),
        Some(
            "picovmm: warning: unclaimed MMIO write to 0xc0000 (1 byte, value 0x55) at 0000:7c20 \
             ignored (reported once per address)"
        )
    );
    assert_eq!(warnings.len(), 17);
    assert_eq!(
        warnings.last().copied(),
        Some("picovmm: warning: more than 16 unclaimed addresses; not reporting further ones")
    );
    assert_eq!(out.status, (0x10 << 1) | 1);
}

#[test]
fn test_stats_json_counts_exits_by_reason() {
    if !kvm_available() {
        return;
    }
    let (out, json) = run_with_stats(&["run", "machines/hello.toml", "--screen", "none"]);
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
fn test_unclaimed_policy_stop_ends_run_with_guest_fault() {
    if !kvm_available() {
        return;
    }
    let out = run(&[
        "run",
        "crates/vmm-cli/tests/fixtures/good/unclaimed-stop.toml",
    ]);
    assert!(out.stderr.starts_with(
        "Error: unclaimed MMIO write to 0xc0000 (1 byte, value 0x55)\n  cs:ip=0000:7c20 "
    ));
    assert_eq!(out.status, 4);
}
