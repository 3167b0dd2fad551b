//! Protected mode on picovmm's own CPU: a small kernel's GDT, IDT, `int n`, faults with their
//! error codes, 32-bit paging without PAE, ring 3 through the TSS and a double fault, under
//! `--accel interp` and the default `auto`; protected-mode boots in the interpreter; and the
//! hand-over between KVM and the interpreter in both directions; the x87 in real and protected
//! mode; and tinyos, a C kernel from its floppy, to its shell.

mod common;

use common::{kvm_available, run, run_with_stats};

const KERNEL_LINES: &str = "protected mode, own GDT and IDT
int 30h returned 1234abcd
#GP(0048) on mov ds
paging on, no PAE
#PF at 00200004 code 2, mapped, dirty
4 MiB page read, accessed
ring 3: int 30h on the TSS stack, cli #GP
double fault
";

#[test]
fn test_a_protected_mode_kernel_runs_in_the_interpreter() {
    let out = run(&[
        "run",
        "--accel",
        "interp",
        "--image",
        "guests/cpu/protected.bin",
    ]);
    assert_eq!(out.stdout, KERNEL_LINES, "{}", out.stderr);
    assert_eq!((out.stderr.as_str(), out.status), ("", (0x33 << 1) | 1));
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_a_protected_mode_kernel_runs_under_auto() {
    if !kvm_available() {
        return;
    }
    // Here the interpreter runs it; where KVM runs everything natively, KVM does.
    let out = run(&[
        "run",
        "--accel",
        "auto",
        "--image",
        "guests/cpu/protected.bin",
    ]);
    assert_eq!(out.stdout, KERNEL_LINES, "{}", out.stderr);
    assert_eq!((out.stderr.as_str(), out.status), ("", (0x33 << 1) | 1));
}

#[test]
fn test_protected_mode_boots_run_in_the_interpreter() {
    let out = run(&["run", "machines/protected.toml", "--accel", "interp"]);
    assert_eq!(
        out.stdout,
        "protected mode: CR0.PE=1 CR0.PG=0, 32-bit registers\n"
    );
    assert_eq!((out.stderr.as_str(), out.status), ("", (0x32 << 1) | 1));
    let out = run(&["run", "machines/multiboot.toml", "--accel", "interp"]);
    assert_eq!(
        out.stdout,
        "multiboot: mem_lower 640 KiB, cmdline console=ttyS0 hello\n"
    );
    assert_eq!((out.stderr.as_str(), out.status), ("", (0x2B << 1) | 1));
}

/// A protected-mode monitor runs real-mode code in virtual-8086 mode and reflects its int 10h
/// to picovmm's BIOS, which serves it there (as for DOS under EMM386).
#[test]
fn test_the_bios_serves_virtual_8086_mode_through_a_monitor() {
    for accel in ["interp", "auto"] {
        let out = run(&[
            "run",
            "--accel",
            accel,
            "--image",
            "guests/cpu/v86-bios.bin",
        ]);
        assert_eq!(
            out.stdout, "printed from virtual-8086 mode through the BIOS\n",
            "{accel}: {}",
            out.stderr
        );
        assert_eq!(out.status, (0x56 << 1) | 1, "{accel}");
    }
}

#[test]
fn test_the_x87_in_real_mode_is_found_and_computes() {
    let out = run(&[
        "run",
        "--accel",
        "interp",
        "--image",
        "guests/cpu/x87-real.bin",
    ]);
    assert_eq!(
        out.stdout,
        "x87 found: status 0000, control 037f\nsqrt(2) * 1e6 = 1414214\n\
         pi as a double: 400921fb54442d18\n-7 / 2 rounded down = -4\n",
        "{}",
        out.stderr
    );
    assert_eq!(out.status, (0x48 << 1) | 1);
}

#[test]
fn test_the_x87_in_protected_mode_with_a_lazy_switch() {
    for accel in ["interp", "auto"] {
        let out = run(&[
            "run",
            "--accel",
            accel,
            "--image",
            "guests/cpu/x87-protected.bin",
        ]);
        assert_eq!(
            out.stdout, "x87 in protected mode: 1.5*4+0.25 = 6, one #NM\n",
            "{accel}: {}",
            out.stderr
        );
        assert_eq!(out.status, (0x47 << 1) | 1, "{accel}");
    }
}

#[test]
fn test_a_fault_with_no_gate_in_protected_mode_is_a_triple_fault() {
    let out = run(&[
        "run",
        "--accel",
        "interp",
        "--image",
        "guests/hostile/triple-fault.bin",
    ]);
    assert_eq!(out.stdout, "about to triple-fault\n");
    assert!(
        out.stderr.starts_with("Error: the guest triple-faulted"),
        "{}",
        out.stderr
    );
    assert_eq!(out.status, 4);
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_kvm_and_the_interpreter_hand_the_machine_to_each_other() {
    if !kvm_available() {
        return;
    }
    let (out, stats) = run_with_stats(&[
        "run",
        "--accel",
        "auto",
        "--image",
        "guests/cpu/handover.bin",
    ]);
    assert_eq!(
        out.stdout, "real mode\nmovaps ran\nint 30h in protected mode\n",
        "{}",
        out.stderr
    );
    assert_eq!(out.status, (0x35 << 1) | 1, "{}", out.stderr);
    let reason = stats["accel"]["reason"].as_str().unwrap_or_default();
    if reason.contains("emulates real mode") {
        // To KVM at `movaps`, back to the interpreter at `int 30h`, which KVM cannot emulate.
        assert_eq!(stats["handovers"], 2, "{stats}");
        assert_eq!(stats["accel"]["backend"], "interp", "{stats}");
    }
}

/// Whether `cmd args` runs and succeeds (a tool the test needs); under `CI=true` its absence
/// is a failure.
fn tool_works(cmd: &str, args: &[&str]) -> bool {
    let ok = std::process::Command::new(cmd)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "CI=true and `{cmd}` does not work"
        );
        eprintln!("skipping: `{cmd} {}` does not work here", args.join(" "));
    }
    ok
}

/// tinyos (guests/kernel): built as its build.sh says, its boot sector loads it from the
/// floppy, and the C kernel's own IDT, timer, keyboard and paging carry its shell through every
/// command, as `picovmm test` drives it with key presses; a snapshot of it continues.
#[test]
#[cfg_attr(
    any(picovmm_missing = "nasm", picovmm_missing = "cc-m32"),
    ignore = "needs nasm and cc -m32 (gcc-multilib)"
)]
fn test_tinyos_a_c_kernel_boots_from_its_floppy_to_its_shell() {
    let m32 = [
        "-m32",
        "-ffreestanding",
        "-nostdlib",
        "-x",
        "c",
        "-c",
        "-o",
        "/dev/null",
        "-",
    ];
    if !tool_works("nasm", &["-v"]) || !tool_works("cc", &m32) {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().to_string_lossy().into_owned();
    let build = std::process::Command::new("sh")
        .args(["guests/kernel/build.sh", &out])
        .current_dir(common::repo_root())
        .output()
        .expect("run build.sh");
    assert!(
        build.status.success(),
        "{}",
        String::from_utf8_lossy(&build.stderr)
    );
    let test_file = dir.path().join("tinyos.test.toml");
    let run = run(&["test", &test_file.to_string_lossy()]);
    assert!(
        run.stdout.contains("test result: ok. 2 passed"),
        "{}\n{}",
        run.stdout,
        run.stderr
    );
    assert_eq!(run.status, 0);
}
