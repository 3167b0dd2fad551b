//! End-to-end: guests entered in each CPU mode check their own CPU state and exit with a code
//! that proves the mode they ran in.

mod common;

use common::{kvm_available, run};

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
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
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
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
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
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
    assert!(out
        .stderr
        .starts_with("Error: --load: the image at [0x9000, 0x"));
    assert!(out.stderr.ends_with(
        ") overlaps picovmm's page tables at [0x9000, 0xf000), which long mode needs; load it elsewhere\n"
    ));
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

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_elf32_image_is_loaded_by_program_header_in_protected_mode() {
    if !kvm_available() {
        return;
    }
    let out = run(&["run", "machines/elf.toml"]);
    assert_eq!(
        out.stdout,
        "ELF loaded at 1 MiB, entered in protected mode\n"
    );
    assert_eq!((out.stderr.as_str(), out.status), ("", (0x45 << 1) | 1));
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_multiboot_kernel_gets_magic_memory_and_cmdline() {
    if !kvm_available() {
        return;
    }
    let out = run(&["run", "machines/multiboot.toml"]);
    assert_eq!(
        out.stdout,
        "multiboot: mem_lower 640 KiB, cmdline console=ttyS0 hello\n"
    );
    assert_eq!((out.stderr.as_str(), out.status), ("", (0x2B << 1) | 1));
}

/// Whether the system compiler can build 32-bit freestanding code; under `CI=true` it must.
fn cc_m32_available() -> bool {
    let ok = std::process::Command::new("cc")
        .args([
            "-m32",
            "-ffreestanding",
            "-nostdlib",
            "-x",
            "c",
            "-c",
            "-o",
            "/dev/null",
            "-",
        ])
        .stdin(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    match ok {
        true => true,
        false if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("CI=true and cc -m32 does not work")
        }
        false => {
            eprintln!("skipping: the C compiler cannot build 32-bit freestanding code");
            false
        }
    }
}

#[test]
#[cfg_attr(
    any(picovmm_missing = "kvm", picovmm_missing = "cc-m32"),
    ignore = "needs a usable /dev/kvm and cc -m32 (gcc-multilib)"
)]
fn test_c_multiboot_kernel_writes_vga_and_serial() {
    if !kvm_available() || !cc_m32_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let src = common::repo_root().join("guests/modes/kernel-c");
    let object = dir.path().join("kernel.o");
    let kernel = dir.path().join("kernel.elf");
    let cc = std::process::Command::new("cc")
        .args([
            "-m32",
            "-ffreestanding",
            "-nostdlib",
            "-fno-pic",
            "-fno-stack-protector",
            "-O2",
            "-Wall",
            "-c",
        ])
        .arg(src.join("kernel.c"))
        .arg("-o")
        .arg(&object)
        .status()
        .expect("run cc");
    assert!(cc.success());
    let ld = std::process::Command::new("ld")
        .args(["-m", "elf_i386", "--no-warn-rwx-segments", "-T"])
        .arg(src.join("link.ld"))
        .arg("-o")
        .arg(&kernel)
        .arg(&object)
        .status()
        .expect("run ld");
    assert!(ld.success());
    let out = run(&[
        "run",
        "--image",
        &kernel.to_string_lossy(),
        "--memory",
        "16M",
    ]);
    assert_eq!(
        out.stdout,
        "C kernel: booted by multiboot, \nHello from a C kernel\n"
    );
    assert_eq!((out.stderr.as_str(), out.status), ("", (0x43 << 1) | 1));
}

/// Runs `cc` with `args` in `dir`; whether it succeeded.
fn cc_in(dir: &std::path::Path, args: &[&str]) -> bool {
    std::process::Command::new("cc")
        .args(args)
        .current_dir(dir)
        .status()
        .is_ok_and(|s| s.success())
}

/// The OSDev "Bare Bones" kernel built exactly as its Makefile says, with the distribution's
/// default flags: on Debian, a position-independent executable with a header-only segment at
/// 0xff000, in the legacy hole. It boots, as under QEMU's -kernel.
#[test]
#[cfg_attr(
    any(picovmm_missing = "kvm", picovmm_missing = "cc-m32"),
    ignore = "needs a usable /dev/kvm and cc -m32 (gcc-multilib)"
)]
fn test_multiboot_kernel_built_with_default_pie_flags_boots() {
    if !kvm_available() || !cc_m32_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let src = common::repo_root().join("guests/modes/kernel-pie");
    for file in ["boot.S", "kernel.c", "linker.ld"] {
        std::fs::copy(src.join(file), dir.path().join(file)).expect("copy source");
    }
    assert!(cc_in(dir.path(), &["-m32", "-c", "boot.S", "-o", "boot.o"]));
    assert!(cc_in(
        dir.path(),
        &[
            "-m32",
            "-std=gnu99",
            "-ffreestanding",
            "-O2",
            "-Wall",
            "-Wextra",
            "-c",
            "kernel.c",
            "-o",
            "kernel.o"
        ]
    ));
    assert!(cc_in(
        dir.path(),
        &[
            "-m32",
            "-T",
            "linker.ld",
            "-o",
            "kernel.elf",
            "-ffreestanding",
            "-O2",
            "-nostdlib",
            "boot.o",
            "kernel.o"
        ]
    ));
    let kernel = dir.path().join("kernel.elf");
    let out = run(&[
        "run",
        "--image",
        &kernel.to_string_lossy(),
        "--memory",
        "16M",
    ]);
    assert_eq!(
        out.stdout,
        "PIE kernel: booted by multiboot\nHello from a PIE kernel\n"
    );
    assert_eq!((out.stderr.as_str(), out.status), ("", (0x50 << 1) | 1));
}

#[test]
fn test_elf_in_real_mode_is_refused() {
    let out = run(&["run", "machines/elf.toml", "--mode", "real"]);
    assert_eq!(
        out.stderr,
        "Error: --mode: an elf32 image runs in protected mode, not real\n"
    );
    assert_eq!(out.status, 2);
}

#[test]
fn test_multiboot_format_without_header_is_refused() {
    let out = run(&[
        "run",
        "machines/multiboot.toml",
        "--image",
        "guests/hello/hello.bin",
    ]);
    assert_eq!(
        out.stderr,
        "Error: --image: the image has no multiboot header (magic 0x1badb002, 4-byte aligned, in its first 8 KiB)\n"
    );
    assert_eq!(out.status, 2);
}

#[test]
fn test_elf_with_an_entry_point_is_refused() {
    let out = run(&["run", "machines/elf.toml", "--entry", "0x100000"]);
    assert_eq!(
        out.stderr,
        "Error: --entry: an elf32 image gives its own entry point; remove this one\n"
    );
    assert_eq!(out.status, 2);
}

#[test]
fn test_elf_format_on_a_flat_binary_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let machine = dir.path().join("m.toml");
    let text = format!(
        "[[memory]]\nbase = 0\nsize = \"640 KiB\"\n\n[boot]\nimage = \"{}\"\nformat = \"elf\"\n",
        common::repo_root().join("guests/hello/hello.bin").display()
    );
    std::fs::write(&machine, text).expect("write");
    let out = run(&["check", &machine.to_string_lossy()]);
    assert!(out.stderr.starts_with("Error: "));
    assert!(out
        .stderr
        .contains(":6:9: not an ELF file (no \\x7fELF magic)\n"));
    assert_eq!(out.status, 2);
}
