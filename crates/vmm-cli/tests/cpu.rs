//! The guest's view of the CPU: CPUID as the guest reads it, long mode entered by the guest's
//! own hand, the time-stamp counter, and the CPU state and memory a run leaves behind.

mod common;

use common::{kvm_available, repo_root, run, run_with_stats};

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_boot_sector_enters_long_mode_by_its_own_hand() {
    if !kvm_available() {
        return;
    }
    let out = run(&[
        "run",
        "--image",
        "guests/cpu/long-by-hand.bin",
        "--screen",
        "none",
    ]);
    assert_eq!(
        out.stdout,
        "cpuid: long mode available\nwrmsr: EFER.LME set\nlong mode by hand: EFER.LMA=1, 64-bit code\n"
    );
    assert_eq!(out.status, (0x64 << 1) | 1);
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_cpuid_shows_vendor_max_leaf_and_hypervisor() {
    if !kvm_available() {
        return;
    }
    let out = run(&["run", "--image", "guests/cpu/cpuid.bin", "--screen", "none"]);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(
        matches!(
            lines.first(),
            Some(&"vendor: GenuineIntel" | &"vendor: AuthenticAMD")
        ),
        "{lines:?}"
    );
    let max_leaf = lines
        .get(1)
        .and_then(|l| l.strip_prefix("max leaf: "))
        .and_then(|h| u32::from_str_radix(h, 16).ok());
    assert!(max_leaf.is_some_and(|leaf| leaf >= 1), "{lines:?}");
    assert_eq!(lines.get(2), Some(&"hypervisor: KVMKVMKVM"));
    assert_eq!(out.status, (0x11 << 1) | 1);
}

/// RDTSC runs with the clock under either backend: across two timer ticks spent in `hlt`, a
/// counter of instructions would barely move.
#[test]
fn test_rdtsc_measures_time_across_timer_ticks() {
    let out = run(&["run", "--image", "guests/cpu/tsc.bin", "--screen", "none"]);

    assert_eq!(out.stdout, "tsc runs with time\n");
    assert_eq!(out.status, (0x54 << 1) | 1);
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_final_registers_are_in_stats_json_on_a_clean_halt() {
    if !kvm_available() {
        return;
    }
    let (out, json) = run_with_stats(&["run", "--image", "guests/cpu/answer.bin"]);
    assert_eq!(out.status, 0);
    assert_eq!(json["outcome"], "halted");
    assert_eq!(
        json["registers"]["rax"].as_u64().map(|v| v & 0xFFFF),
        Some(42)
    );
    assert_eq!(json["registers"]["rip"].as_u64(), Some(0x7C0B));
    assert_eq!(json["registers"]["cs"]["selector"], 0);
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_stats_prints_final_registers() {
    if !kvm_available() {
        return;
    }
    let out = run(&["run", "--image", "guests/cpu/answer.bin", "--stats"]);
    assert!(
        out.stderr.contains("picovmm: cs:ip=0000:7c0b"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("rax=0x2a"), "{}", out.stderr);
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_pmemsave_writes_the_guest_memory_the_run_left() {
    if !kvm_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("mem.bin");
    let path = file.to_string_lossy().into_owned();
    let out = run(&[
        "run",
        "--image",
        "guests/cpu/answer.bin",
        "--pmemsave",
        "0x400",
        "4",
        &path,
    ]);
    assert_eq!(out.status, 0);
    assert_eq!(std::fs::read(&file).ok(), Some(vec![42, 0, 0, 0]));
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_pmemsave_outside_guest_memory_is_refused_before_the_run_and_keeps_the_file() {
    if !kvm_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("keep.mem");
    std::fs::write(&file, b"the user's").expect("write");
    // 0xA0000..0xAFFFF is the BIOS's graphics window; nothing is at 0xB0000 (the monochrome
    // text window a colour VGA leaves empty).
    let out = run(&[
        "run",
        "--image",
        "guests/cpu/answer.bin",
        "--pmemsave",
        "0xaff00",
        "0x200",
        &file.to_string_lossy(),
    ]);
    assert_eq!(
        out.stderr,
        "Error: --pmemsave: [0xaff00, +0x200) is not all guest memory: nothing at 0xb0000 (RAM, the VGA windows and the ROMs can be saved)\n"
    );
    assert_eq!((out.status, out.stdout.as_str()), (2, ""));
    assert_eq!(std::fs::read(&file).ok(), Some(b"the user's".to_vec()));
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_pmemsave_saves_the_bios_rom_as_the_guest_sees_it() {
    if !kvm_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("rom.bin");
    let out = run(&[
        "run",
        "--drive",
        "guests/hostile/rom-write.bin,readonly",
        "--screen",
        "none",
        "--pmemsave",
        "0xf0000",
        "0x10000",
        &file.to_string_lossy(),
    ]);
    assert_eq!(out.status, 1, "{}", out.stderr);
    let saved = std::fs::read(&file).expect("saved");
    let rom = std::fs::read(repo_root().join("crates/vmm-bios/rom/bios.bin")).expect("rom");
    assert_eq!(saved.len(), 0x10000);
    // The entry code at the start and the reset vector at the end are the ROM's.
    assert_eq!(&saved[..0x100], &rom[..0x100]);
    assert_eq!(&saved[0xFFF0..0xFFF5], &rom[0xFFF0..0xFFF5]);
}

#[test]
fn test_unwritable_stats_json_is_refused_before_the_guest_runs() {
    let out = run(&[
        "run",
        "--image",
        "guests/hello/hello.bin",
        "--stats-json",
        "/nonexistent-dir/stats.json",
    ]);
    assert_eq!(out.status, 2);
    assert_eq!(out.stdout, "");
    assert!(out
        .stderr
        .starts_with("Error: cannot write /nonexistent-dir/stats.json"));
}
