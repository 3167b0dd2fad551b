// probes.rs -- what the tests need from the host, probed when a crate with end-to-end tests
// is built (each such crate's build.rs includes this file). A tool that is missing sets
// `cfg(picovmm_missing = "TOOL")`, and the tests that need it are marked ignored with the
// reason, so a run without /dev/kvm or gdb says "N ignored" instead of counting them as
// passed. Under `CI=true` nothing is marked: the tests run, and their own checks fail them.

/// How to find out whether this host has a tool.
type Probe = fn() -> bool;

/// The tools a test may need, each with its probe.
const PROBES: [(&str, Probe); 12] = [
    ("kvm", kvm),
    ("syslinux", || runs("syslinux", &["--version"]) && runs("mformat", &["--version"])),
    ("grub", || {
        runs("grub-mkimage", &["--version"])
            && std::path::Path::new("/usr/lib/grub/i386-pc/boot.img").exists()
    }),
    ("memtest", || std::path::Path::new("/boot/memtest86+ia32.bin").exists()),
    ("linux", || {
        runs("apt-get", &["--version"])
            && runs("cpio", &["--version"])
            && runs("syslinux", &["--version"])
            && runs("mformat", &["--version"])
            && cc_m32()
    }),
    ("gdb", || runs("gdb", &["--version"])),
    ("nasm", || runs("nasm", &["-v"])),
    ("tmux", || runs("tmux", &["-V"])),
    ("script", || runs("script", &["--version"])),
    ("cc", || runs("cc", &["--version"])),
    ("cc-m32", cc_m32),
    ("python3", || runs("python3", &["--version"])),
];

fn kvm() -> bool {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
        .is_ok()
}

fn runs(program: &str, args: &[&str]) -> bool {
    std::process::Command::new(program)
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Whether the C compiler builds 32-bit freestanding code (gcc-multilib).
fn cc_m32() -> bool {
    let args = ["-m32", "-ffreestanding", "-nostdlib", "-x", "c", "-c", "-o", "/dev/null"];
    std::process::Command::new("cc")
        .args(args)
        .arg("/dev/null")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Tells cargo which of the tools `needed` (names in [`PROBES`]) are missing, and when to look
/// again.
fn emit_probes(needed: &[&str]) {
    let names: Vec<String> = PROBES.iter().map(|(n, _)| format!("\"{n}\"")).collect();
    println!("cargo::rustc-check-cfg=cfg(picovmm_missing, values({}))", names.join(", "));
    println!("cargo::rerun-if-env-changed=PATH");
    println!("cargo::rerun-if-env-changed=CI");
    println!("cargo::rerun-if-changed=/dev/kvm");
    if std::env::var("CI").as_deref() == Ok("true") {
        return;
    }
    for (name, present) in PROBES.into_iter().filter(|(n, _)| needed.contains(n)) {
        if !present() {
            println!("cargo::rustc-cfg=picovmm_missing=\"{name}\"");
            println!("cargo::warning=tests that need {name} are marked ignored: it is not available here");
        }
    }
}
