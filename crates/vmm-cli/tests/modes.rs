//! End-to-end: guests entered in each CPU mode check their own CPU state and exit with a code
//! that proves the mode they ran in.

mod common;

use common::{kvm_available, run};

#[test]
fn test_protected_mode_guest_proves_its_mode() {
    if !kvm_available() {
        return;
    }
    let out = run(&["run", "machines/protected.toml"]);
    assert_eq!(
        out.stdout,
        "protected mode: CR0.PE=1 CR0.PG=0, 32-bit registers\n"
    );
    assert_eq!((out.stderr.as_str(), out.status), ("", (0x32 << 1) | 1));
}

#[test]
fn test_long_mode_guest_proves_its_mode() {
    if !kvm_available() {
        return;
    }
    let out = run(&["run", "machines/long.toml"]);
    assert_eq!(
        out.stdout,
        "long mode: CR0.PG=1 CR4.PAE=1 EFER.LMA=1, 64-bit registers\n"
    );
    assert_eq!((out.stderr.as_str(), out.status), ("", (0x64 << 1) | 1));
}

#[test]
fn test_mode_flag_overrides_machine_file() {
    if !kvm_available() {
        return;
    }
    // The 64-bit guest decoded as 32-bit code fails its own checks and exits with 1.
    let out = run(&["run", "machines/long.toml", "--mode", "protected"]);
    assert_eq!(out.status, (0x01 << 1) | 1);
}

#[test]
fn test_image_over_page_tables_is_refused() {
    let out = run(&[
        "run",
        "machines/long.toml",
        "--load",
        "0x9000",
        "--entry",
        "0x9000",
    ]);
    assert_eq!(
        out.stderr,
        "Error: --load: the image at [0x9000, 0x90b6) overlaps picovmm's page tables at [0x9000, 0xf000), \
         which long mode needs; load it elsewhere\n"
    );
    assert_eq!(out.status, 2);
}

#[test]
fn test_seg_off_entry_outside_real_mode_is_refused() {
    let out = run(&["run", "machines/protected.toml", "--entry", "0000:7c00"]);
    assert_eq!(
        out.stderr,
        "Error: --entry: entry 0000:7c00 is a real-mode SEG:OFF; in protected mode give the entry as an address\n"
    );
    assert_eq!(out.status, 2);
}

#[test]
fn test_protected_mode_entry_above_4_gib_is_refused() {
    let out = run(&["run", "machines/protected.toml", "--entry", "0x100000000"]);
    assert_eq!(
        out.stderr,
        "Error: --entry: entry 0x100000000 is beyond protected mode's 4 GiB\n"
    );
    assert_eq!(out.status, 2);
}
