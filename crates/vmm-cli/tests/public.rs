//! Published boot programs, from Debian's packages, on picovmm's interpreter: disk images are
//! built at test time with the programs' own tools (CI installs syslinux, mtools, grub-pc-bin
//! and memtest86+), and `picovmm test` drives them as a user would. SYSLINUX reads its
//! configuration from a FAT floppy and answers at its `boot:` prompt (real mode, then 32-bit
//! protected mode with calls back into the BIOS); GRUB answers a command typed at its command
//! line; memtest86+, loaded by GRUB as a Linux kernel, tests memory with PAE paging on the
//! interpreter alone; Debian's Linux 6.1 for i686, loaded by SYSLINUX, runs a static glibc
//! program from its initramfs and powers off. On this project's hosts KVM takes minutes over
//! what the interpreter does in a second, so the machines ask for the interpreter.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{picovmm, Run};

const FLOPPY: u64 = 1_474_560;

/// Runs `program ARGS` in `dir`; panics with its output when it fails.
fn tool(dir: &Path, program: &str, args: &[&str]) {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("run {program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A 1.44 MB FAT floppy with SYSLINUX installed and `config` as its syslinux.cfg.
fn syslinux_floppy(dir: &Path, config: &str) -> PathBuf {
    let image = dir.join("syslinux.img");
    std::fs::File::create(&image)
        .and_then(|f| f.set_len(FLOPPY))
        .expect("create the floppy image");
    tool(dir, "mformat", &["-i", "syslinux.img", "-f", "1440", "::"]);
    std::fs::write(dir.join("syslinux.cfg"), config).expect("write syslinux.cfg");
    tool(dir, "mcopy", &["-i", "syslinux.img", "syslinux.cfg", "::"]);
    tool(dir, "syslinux", &["--install", "syslinux.img"]);
    image
}

/// A floppy that boots GRUB (its boot sector, then its core image in the sectors after it):
/// to its command line, or, with `files`, running `config` with those files in its memdisk.
fn grub_floppy(dir: &Path, config: Option<&str>, files: &[&Path]) -> PathBuf {
    let core = dir.join("core.img");
    let prefix = if config.is_some() {
        "(memdisk)"
    } else {
        "(fd0)"
    };
    let mut args = vec!["-O", "i386-pc", "-o", "core.img", "-p", prefix];
    if let Some(config) = config {
        std::fs::write(dir.join("early.cfg"), config).expect("write early.cfg");
        let disk = dir.join("disk");
        std::fs::create_dir_all(&disk).expect("memdisk folder");
        let mut tar = vec!["cf".to_owned(), "../memdisk.tar".to_owned()];
        for file in files {
            let name = file.file_name().expect("file name");
            std::fs::copy(file, disk.join(name)).expect("copy into the memdisk");
            tar.push(name.to_string_lossy().into_owned());
        }
        let tar: Vec<&str> = tar.iter().map(String::as_str).collect();
        tool(&disk, "tar", &tar);
        args.extend(["-c", "early.cfg", "-m", "memdisk.tar"]);
        args.extend(["memdisk", "tar", "linux16"]);
    }
    args.extend(["biosdisk", "normal", "echo", "minicmd"]);
    tool(dir, "grub-mkimage", &args);
    let mut image = std::fs::read("/usr/lib/grub/i386-pc/boot.img").expect("GRUB's boot.img");
    image.extend(std::fs::read(core).expect("core.img"));
    assert!(image.len() as u64 <= FLOPPY, "GRUB does not fit a floppy");
    image.resize(FLOPPY as usize, 0);
    let path = dir.join("grub.img");
    std::fs::write(&path, image).expect("write the GRUB floppy");
    path
}

/// Writes `test` as `public.test.toml` in `dir` and runs `picovmm test` on it there; with
/// `kvm` false, where /dev/kvm is /dev/null (None when such a namespace cannot be made).
fn picovmm_test(dir: &Path, test: &str, kvm: bool) -> Option<Run> {
    std::fs::write(dir.join("public.test.toml"), test).expect("write the test file");
    let out = if kvm {
        picovmm()
            .args(["test", "public.test.toml"])
            .current_dir(dir)
            .output()
    } else {
        let binary = env!("CARGO_BIN_EXE_picovmm");
        let script =
            format!("mount --bind /dev/null /dev/kvm && exec {binary} test public.test.toml");
        Command::new("unshare")
            .args(["--mount", "--propagation", "private", "sh", "-c", &script])
            .current_dir(dir)
            .output()
    };
    let run = Run::from(out.expect("run picovmm test"));
    if run.stderr.contains("unshare:") || run.stderr.contains("mount:") {
        return None;
    }
    Some(run)
}

fn assert_passed(run: &Run, tests: usize) {
    assert_eq!(run.status, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains(&format!("test result: ok. {tests} passed")),
        "{}",
        run.stdout
    );
}

#[test]
#[cfg_attr(picovmm_missing = "syslinux", ignore = "needs syslinux and mtools")]
fn test_syslinux_reads_its_configuration_and_answers_at_its_prompt() {
    let dir = tempfile::tempdir().expect("tempdir");
    syslinux_floppy(dir.path(), "SAY picovmm boots SYSLINUX\nPROMPT 1\n");
    let test = r#"
[machine]
drives = ["syslinux.img"]
memory = "64 MiB"
accel = "interp"

[[test]]
name = "prompt"
steps = [
  { screen = "picovmm boots SYSLINUX" },
  { screen = "boot:" },
  { type = "nothing-here{Enter}" },
  { screen = "Loading nothing-here... failed: No such file or directory" },
]
"#;

    let run = picovmm_test(dir.path(), test, true).expect("no namespace wanted");

    assert_passed(&run, 1);
}

/// SYSLINUX's graphical menu (vesamenu.c32) in VESA's 640x480 mode draws its text with the
/// BIOS's 8x16 font, found through int 10h AX=1130h: picture against picture.
#[test]
#[cfg_attr(picovmm_missing = "syslinux", ignore = "needs syslinux and mtools")]
fn test_syslinux_vesamenu_draws_its_menu_with_the_bioss_8x16_font() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = "UI vesamenu.c32\nPROMPT 0\nTIMEOUT 0\nMENU TITLE picovmm vesamenu\n\
                  LABEL hdt\n  MENU LABEL HDT\n  COM32 hdt.c32\n\
                  LABEL off\n  MENU LABEL Power off\n  COM32 poweroff.c32\n";
    let image = syslinux_floppy(dir.path(), config);
    let modules = Path::new("/usr/lib/syslinux/modules/bios");
    for module in ["vesamenu.c32", "libcom32.c32", "libutil.c32"] {
        let from = modules.join(module);
        let args = [
            "-i",
            &image.to_string_lossy(),
            &from.to_string_lossy(),
            "::",
        ];
        tool(dir.path(), "mcopy", &args);
    }
    let golden = common::repo_root().join("crates/vmm-cli/tests/golden/vesamenu.png");
    let test = format!(
        r#"
[machine]
drives = ["syslinux.img"]
memory = "64 MiB"
accel = "interp"

[[test]]
name = "vesamenu"
steps = [
  {{ idle = true, timeout = "120s" }},
  {{ picture = "{}" }},
]
"#,
        golden.display()
    );

    let run = picovmm_test(dir.path(), &test, true).expect("no namespace wanted");

    assert_passed(&run, 1);
}

#[test]
#[cfg_attr(picovmm_missing = "grub", ignore = "needs grub-pc-bin")]
fn test_grub_answers_a_command_typed_at_its_command_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    grub_floppy(dir.path(), None, &[]);
    // Longer than the BIOS's 15-key buffer: the keys GRUB has not read yet must wait.
    let test = r#"
[machine]
drives = ["grub.img"]
memory = "64 MiB"
accel = "interp"

[[test]]
name = "echo"
steps = [
  { screen = "GNU GRUB" },
  { screen = "grub>" },
  { type = "echo a line typed faster than GRUB reads it{Enter}" },
  { screen_regex = "(?m)^a line typed faster than GRUB reads it" },
]
"#;

    let run = picovmm_test(dir.path(), test, true).expect("no namespace wanted");

    assert_passed(&run, 1);
}

/// Without KVM the guest sees the interpreter's own CPUID (a P6 with PAE), and memtest86+
/// runs on it from start to its tests; with KVM usable it would see KVM's table, choose long
/// mode and be handed to KVM, which on this project's hosts cannot run its x87 code.
#[test]
#[cfg_attr(picovmm_missing = "memtest", ignore = "needs memtest86+")]
#[cfg_attr(picovmm_missing = "grub", ignore = "needs grub-pc-bin")]
fn test_memtest86_plus_loaded_by_grub_tests_memory_on_the_interpreter() {
    let dir = tempfile::tempdir().expect("tempdir");
    let memtest = Path::new("/boot/memtest86+ia32.bin");
    let config = "linux16 (memdisk)/memtest86+ia32.bin\nboot\n";
    grub_floppy(dir.path(), Some(config), &[memtest]);
    let test = r#"
[machine]
drives = ["grub.img"]
memory = "32 MiB"
accel = "auto"

[[test]]
name = "tests memory"
timeout = "600s"
steps = [
  { screen = "Memtest86+", timeout = "300s" },
  { screen = "Status: Testing", timeout = "300s" },
  { screen = "Errors: 0" },
]
"#;

    let Some(run) = picovmm_test(dir.path(), test, false) else {
        eprintln!("skipping: no mount namespace here to hide /dev/kvm (needs root and unshare)");
        return;
    };

    assert_passed(&run, 1);
    assert!(!run.stdout.contains("FAILED"), "{}", run.stdout);
}

/// Debian's i686 kernel (downloaded once into target/linux by guests/linux/build.sh) boots to
/// its /init, which prints, computes with the x87 and powers off: on the interpreter where KVM
/// emulates ring 0 or is missing (about 90 s in a release build), under KVM where it runs the
/// guest natively.
#[test]
#[cfg_attr(
    picovmm_missing = "linux",
    ignore = "needs apt-get, gcc -m32, cpio, mtools, syslinux"
)]
fn test_debian_linux_runs_its_init_and_powers_off_on_the_interpreter() {
    let dir = common::repo_root().join("target/linux");
    let built = Command::new("bash")
        .arg(common::repo_root().join("guests/linux/build.sh"))
        .arg(&dir)
        .output()
        .expect("run guests/linux/build.sh");
    if !built.status.success() {
        let why = String::from_utf8_lossy(&built.stderr);
        assert_ne!(std::env::var("CI").as_deref(), Ok("true"), "{why}");
        eprintln!("skipping: the Linux disk could not be built (no Debian archive?): {why}");
        return;
    }
    let test = r#"
[machine]
drives = ["linux.img,snapshot"]
memory = "128 MiB"
accel = "auto"

[[test]]
name = "to user space"
timeout = "3600s"
steps = [
  { serial = "hello from user space on Linux 6.1", timeout = "3000s" },
  { serial = "sqrt(2) ~ 1.414213562" },
  { expect = "halted", timeout = "120s" },
]
"#;

    let run = picovmm_test(&dir, test, true).expect("no namespace wanted");

    assert_passed(&run, 1);
}
