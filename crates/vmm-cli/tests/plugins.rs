//! End-to-end: device plugins in Rust and in C under real KVM, and every way a plugin can be
//! broken, each ending with a clear message and the documented exit status.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{kvm_available, picovmm, repo_root, run, Run};

/// Where cargo put the Rust plugins this crate depends on (libcmos_rtc.so, libfaulty_plugin.so).
fn rust_plugin_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_picovmm"))
        .parent()
        .expect("target dir")
        .join("deps")
}

/// Whether a C compiler is there; under `CI=true` its absence fails the test.
fn cc_available() -> bool {
    match Command::new("cc").arg("--version").output() {
        Ok(out) if out.status.success() => true,
        _ if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("CI=true and no C compiler (cc)")
        }
        _ => {
            eprintln!("skipping: no C compiler (cc) to build the test plugin");
            false
        }
    }
}

/// Builds C plugin `source` (relative to the repository) into `dir/lib<name>.so`.
fn build_c_plugin(source: &str, dir: &Path, name: &str, defines: &[&str]) -> PathBuf {
    build_c_plugin_with(source, dir, name, defines, "plugins/api/include")
}

/// Builds C plugin `source` against the header in `include` (relative to the repository).
fn build_c_plugin_with(
    source: &str,
    dir: &Path,
    name: &str,
    defines: &[&str],
    include: &str,
) -> PathBuf {
    let root = repo_root();
    let out = dir.join(format!("lib{name}.so"));
    let status = Command::new("cc")
        .args(["-shared", "-fPIC", "-O2", "-Wall", "-I"])
        .arg(root.join(include))
        .arg(format!(
            "-Wl,--version-script={}",
            root.join("plugins/api/picovmm_plugin.map").display()
        ))
        .args(defines)
        .arg("-o")
        .arg(&out)
        .arg(root.join(source))
        .status()
        .expect("run cc");
    assert!(status.success(), "cc failed on {source}");
    out
}

/// Writes a machine file into `dir` that boots `image` (relative to the repository) with a
/// debug console and `device` (a `[[device]]` table's body).
fn machine_with_device(dir: &Path, image: &str, device: &str) -> PathBuf {
    let text = format!(
        "[[memory]]\nbase = 0\nsize = \"640 KiB\"\n\n[boot]\nimage = \"{}\"\n\n[[device]]\ntype = \"debugcon\"\n\n[[device]]\n{device}\n",
        repo_root().join(image).display()
    );
    let path = dir.join("machine.toml");
    std::fs::write(&path, text).expect("write machine");
    path
}

fn run_machine(machine: &Path, plugin_dir: &Path) -> Run {
    let (m, p) = (
        machine.to_string_lossy().into_owned(),
        plugin_dir.to_string_lossy().into_owned(),
    );
    run(&["run", &m, "--plugin-dir", &p])
}

fn faulty(config: &str) -> Run {
    let dir = tempfile::tempdir().expect("tempdir");
    let device = format!(
        "type = \"plugin\"\nlibrary = \"faulty-plugin\"\nport = 0x60\nconfig = {{ {config} }}"
    );
    let machine = machine_with_device(dir.path(), "guests/plugins/latch.bin", &device);
    run_machine(&machine, &rust_plugin_dir())
}

fn faulty_mmio(config: &str) -> Run {
    let dir = tempfile::tempdir().expect("tempdir");
    let device = format!(
        "type = \"plugin\"\nlibrary = \"faulty-plugin\"\nmmio = 0xd0000\nconfig = {{ {config} }}"
    );
    let machine = machine_with_device(dir.path(), "guests/plugins/mmio-latch.bin", &device);
    run_machine(&machine, &rust_plugin_dir())
}

/// `picovmm check` on a machine whose plugin is the C file `descriptor.c` built with `defines`.
fn check_bad_descriptor(defines: &[&str]) -> Run {
    let dir = tempfile::tempdir().expect("tempdir");
    let lib = build_c_plugin(
        "crates/vmm-cli/tests/fixtures/plugins/descriptor.c",
        dir.path(),
        "bad",
        defines,
    );
    let device = format!(
        "type = \"plugin\"\nlibrary = \"{}\"\nport = 0x60",
        lib.display()
    );
    let machine = machine_with_device(dir.path(), "guests/plugins/latch.bin", &device);
    run(&["check", &machine.to_string_lossy()])
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_rust_rtc_plugin_guest_reads_fixed_time() {
    if !kvm_available() {
        return;
    }
    let out = run_machine(&repo_root().join("machines/rtc.toml"), &rust_plugin_dir());
    assert_eq!(
        (out.stdout.as_str(), out.stderr.as_str(), out.status),
        ("2024-02-29T12:34:56\n", "", 0)
    );
}

#[test]
#[cfg_attr(
    any(picovmm_missing = "kvm", picovmm_missing = "cc"),
    ignore = "needs a usable /dev/kvm and a C compiler (cc)"
)]
fn test_c_dma_plugin_reads_and_writes_guest_memory() {
    if !kvm_available() || !cc_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    build_c_plugin("plugins/examples/dma-c/dma.c", dir.path(), "dma", &[]);
    let out = run_machine(&repo_root().join("machines/dma.toml"), dir.path());
    assert_eq!(
        out.stdout,
        "id DMA1\nchecksum 077b\n****************\noutside RAM: refused\n"
    );
    assert_eq!((out.stderr.as_str(), out.status), ("", 0));
}

#[test]
#[cfg_attr(
    any(picovmm_missing = "kvm", picovmm_missing = "cc"),
    ignore = "needs a usable /dev/kvm and a C compiler (cc)"
)]
fn test_plugin_debug_log_shows_with_env_var() {
    if !kvm_available() || !cc_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    build_c_plugin("plugins/examples/dma-c/dma.c", dir.path(), "dma", &[]);
    let out: Run = picovmm()
        .env("PICOVMM_PLUGIN_LOG", "debug")
        .args(["run", "machines/dma.toml", "--plugin-dir"])
        .arg(dir.path())
        .output()
        .expect("run")
        .into();
    assert_eq!(out.stderr, "picovmm: plugin dma: debug: dma: created\n");
}

/// The 1.0 example, unchanged and built against ABI 1.0's header (as a third party built it
/// before 1.1), loads and works on this picovmm.
#[test]
#[cfg_attr(
    any(picovmm_missing = "cc", picovmm_missing = "kvm"),
    ignore = "needs a C compiler (cc) and a usable /dev/kvm"
)]
fn test_a_plugin_built_for_abi_1_0_still_loads_and_works() {
    if !cc_available() || !kvm_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let lib = build_c_plugin_with(
        "plugins/examples/dma-c/dma.c",
        dir.path(),
        "dma",
        &[],
        "plugins/tests/abi-1.0",
    );
    let listed = run(&["plugins", "--plugin-dir", &dir.path().to_string_lossy()]);
    assert!(
        listed.stdout.starts_with(&format!(
            "dma              1.0.0      ABI 1.0  MMIO        {}",
            lib.display()
        )),
        "{}",
        listed.stdout
    );
    let out = run_machine(&repo_root().join("machines/dma.toml"), dir.path());
    assert_eq!(
        out.stdout,
        "id DMA1\nchecksum 077b\n****************\noutside RAM: refused\n"
    );
    assert_eq!((out.stderr.as_str(), out.status), ("", 0));
}

#[test]
#[cfg_attr(picovmm_missing = "cc", ignore = "needs a C compiler (cc)")]
fn test_plugins_command_lists_name_version_abi_accesses_path() {
    if !cc_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let lib = build_c_plugin("plugins/examples/dma-c/dma.c", dir.path(), "dma", &[]);
    let out = run(&["plugins", "--plugin-dir", &dir.path().to_string_lossy()]);
    let first = out.stdout.lines().next().unwrap_or_default().to_owned();
    assert_eq!(
        first,
        format!(
            "dma              1.0.0      ABI 1.1  MMIO        {}",
            lib.display()
        )
    );
    assert_eq!(out.status, 0);
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_plugin_path_env_var_is_searched() {
    if !kvm_available() {
        return;
    }
    let out: Run = picovmm()
        .env("PICOVMM_PLUGIN_PATH", rust_plugin_dir())
        .args(["run", "machines/rtc.toml"])
        .output()
        .expect("run")
        .into();
    assert_eq!(
        (out.stdout.as_str(), out.status),
        ("2024-02-29T12:34:56\n", 0)
    );
}

#[test]
#[cfg_attr(
    any(picovmm_missing = "kvm", picovmm_missing = "cc"),
    ignore = "needs a usable /dev/kvm and a C compiler (cc)"
)]
fn test_plugin_access_error_stops_with_guest_fault() {
    if !kvm_available() || !cc_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    build_c_plugin("plugins/examples/dma-c/dma.c", dir.path(), "dma", &[]);
    let device = "type = \"plugin\"\nlibrary = \"dma\"\nmmio = 0xd0000";
    let machine = machine_with_device(dir.path(), "guests/plugins/dma-bad-register.bin", device);
    let out = run_machine(&machine, dir.path());
    let mut lines = out.stderr.lines();
    assert_eq!(
        lines.next(),
        Some("picovmm: plugin dma: error: dma: read from a register that does not exist")
    );
    assert_eq!(
        lines.next(),
        Some("Error: plugin dma failed a MMIO read from 0xd0100 (4 bytes); see its log above")
    );
    assert_eq!(out.status, 4);
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_plugin_panic_in_port_write_stops_with_guest_fault() {
    if !kvm_available() {
        return;
    }
    let out = faulty("panic_in = \"port_write\"");
    let mut lines = out.stderr.lines();
    assert!(lines.next().is_some_and(|l| l.starts_with(
        "picovmm: plugin faulty: error: port write: panicked: faulty plugin panics in port_write, as configured at "
    )));
    assert_eq!(
        lines.next(),
        Some("Error: plugin faulty failed a port write to 0x60 (1 byte); see its log above")
    );
    assert_eq!((out.stdout.as_str(), out.status), ("", 4));
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_plugin_error_in_port_read_stops_with_guest_fault() {
    if !kvm_available() {
        return;
    }
    let out = faulty("fail_in = \"port_read\"");
    assert!(out
        .stderr
        .contains("Error: plugin faulty failed a port read from 0x60 (1 byte)"));
    assert_eq!(out.status, 4);
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_plugin_that_works_lets_guest_finish() {
    if !kvm_available() {
        return;
    }
    let out = faulty("fail_in = \"nothing\"");
    assert_eq!(
        (out.stdout.as_str(), out.stderr.as_str(), out.status),
        ("latched\n", "", 0)
    );
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_plugin_create_failure_points_at_config() {
    if !kvm_available() {
        return;
    }
    let out = faulty("fail_in = \"create\"");
    assert!(out.stderr.starts_with("Error: "));
    assert!(out.stderr.contains(
        "machine.toml:15:10: plugin faulty refused its configuration: faulty plugin fails in create, as configured\n"
    ));
    assert_eq!(out.status, 2);
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_plugin_create_panic_is_reported_not_fatal() {
    if !kvm_available() {
        return;
    }
    let out = faulty("panic_in = \"create\"");
    assert!(out.stderr.contains(
        "plugin faulty refused its configuration: create panicked: faulty plugin panics in create"
    ));
    assert_eq!(out.status, 2);
}

#[test]
fn test_missing_plugin_lists_where_it_looked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let machine = machine_with_device(
        dir.path(),
        "guests/plugins/latch.bin",
        "type = \"plugin\"\nlibrary = \"nope\"\nport = 0x60",
    );
    // An empty folder (one that does not exist is a usage error of its own).
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).expect("folder");
    let out = run(&[
        "check",
        &machine.to_string_lossy(),
        "--plugin-dir",
        &empty.to_string_lossy(),
    ]);
    let looked = format!(
        ": plugin \"nope\" not found: looked for libnope.so, nope.so in {}, ",
        empty.display()
    );
    assert!(out.stderr.contains(&looked), "{}", out.stderr);
    assert_eq!(out.status, 2);
}

#[test]
fn test_not_a_shared_library_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fake = dir.path().join("libfake.so");
    std::fs::write(&fake, "this is text, not ELF\n").expect("write");
    let device = format!(
        "type = \"plugin\"\nlibrary = \"{}\"\nport = 0x60",
        fake.display()
    );
    let machine = machine_with_device(dir.path(), "guests/plugins/latch.bin", &device);
    let out = run(&["check", &machine.to_string_lossy()]);
    assert!(out.stderr.contains(&format!(
        "cannot load plugin {}: not a shared library",
        fake.display()
    )));
    assert_eq!(out.status, 2);
}

#[test]
#[cfg_attr(picovmm_missing = "cc", ignore = "needs a C compiler (cc)")]
fn test_library_without_entry_symbol_is_refused() {
    if !cc_available() {
        return;
    }
    let out = check_bad_descriptor(&["-DNO_ENTRY"]);
    assert!(out
        .stderr
        .contains("libbad.so is not a picovmm plugin: it exports no picovmm_plugin_entry symbol"));
    assert_eq!(out.status, 2);
}

#[test]
#[cfg_attr(picovmm_missing = "cc", ignore = "needs a C compiler (cc)")]
fn test_wrong_magic_is_refused() {
    if !cc_available() {
        return;
    }
    let out = check_bad_descriptor(&["-DMAGIC=0x12345678u"]);
    assert!(out.stderr.contains(
        "libbad.so is not a picovmm plugin: its picovmm_plugin_entry starts with 0x12345678, not the magic 0x4d565650"
    ));
    assert_eq!(out.status, 2);
}

#[test]
#[cfg_attr(picovmm_missing = "cc", ignore = "needs a C compiler (cc)")]
fn test_abi_major_mismatch_names_both_versions() {
    if !cc_available() {
        return;
    }
    let out = check_bad_descriptor(&["-DMAJOR=2"]);
    assert!(out.stderr.contains(
        "libbad.so speaks plugin ABI 2.1, and this picovmm speaks 1.1: the major versions must match"
    ));
    assert_eq!(out.status, 2);
}

#[test]
#[cfg_attr(picovmm_missing = "cc", ignore = "needs a C compiler (cc)")]
fn test_abi_minor_newer_than_host_is_refused() {
    if !cc_available() {
        return;
    }
    let out = check_bad_descriptor(&["-DMINOR=5"]);
    assert!(out.stderr.contains(
        "libbad.so needs plugin ABI 1.5, newer than this picovmm's 1.1 (upgrade picovmm)"
    ));
    assert_eq!(out.status, 2);
}

#[test]
#[cfg_attr(picovmm_missing = "cc", ignore = "needs a C compiler (cc)")]
fn test_descriptor_smaller_than_abi_is_refused() {
    if !cc_available() {
        return;
    }
    let out = check_bad_descriptor(&["-DSIZE=64"]);
    assert!(out
        .stderr
        .contains("libbad.so: its plugin descriptor is 64 bytes, smaller than ABI 1.0's 128"));
    assert_eq!(out.status, 2);
}

#[test]
#[cfg_attr(picovmm_missing = "cc", ignore = "needs a C compiler (cc)")]
fn test_descriptor_name_running_past_mapped_memory_is_refused() {
    if !cc_available() {
        return;
    }
    // A name 4 KiB long at 2 MiB past the descriptor, beyond the library's mappings: read
    // through the kernel, it is refused instead of faulting.
    let out = check_bad_descriptor(&[
        "-DNAME_LEN=4096",
        "-DNAME_PTR=((const char *)&picovmm_plugin_entry + 0x200000)",
    ]);
    assert!(
        out.stderr.contains(
            "libbad.so: invalid plugin descriptor: its name points at memory that cannot be read"
        ),
        "{}",
        out.stderr
    );
    assert_eq!(out.status, 2);
    let plugins = {
        let lib_dir = tempfile::tempdir().expect("tempdir");
        build_c_plugin(
            "crates/vmm-cli/tests/fixtures/plugins/descriptor.c",
            lib_dir.path(),
            "bad",
            &["-DNAME_PTR=((const char *)0x1000)"],
        );
        run(&["plugins", "--plugin-dir", &lib_dir.path().to_string_lossy()])
    };
    // One stray library on the plugin path does not take `picovmm plugins` down.
    assert!(
        plugins
            .stderr
            .contains("its name points at memory that cannot be read"),
        "{}",
        plugins.stderr
    );
    assert!(
        plugins.status == 0 || plugins.status == 2,
        "{}",
        plugins.status
    );
}

#[test]
#[cfg_attr(picovmm_missing = "cc", ignore = "needs a C compiler (cc)")]
fn test_descriptor_name_longer_than_the_abi_allows_is_refused() {
    if !cc_available() {
        return;
    }
    let out = check_bad_descriptor(&["-DNAME_LEN=0x10000000000ULL"]);
    assert!(
        out.stderr.contains(
            "libbad.so: invalid plugin descriptor: its name is 1099511627776 bytes long, more than the 4096 the ABI allows"
        ),
        "{}",
        out.stderr
    );
    assert_eq!(out.status, 2);
}

#[test]
#[cfg_attr(picovmm_missing = "cc", ignore = "needs a C compiler (cc)")]
fn test_descriptor_without_port_functions_is_refused() {
    if !cc_available() {
        return;
    }
    let out = check_bad_descriptor(&[]);
    assert!(out.stderr.contains(
        "libbad.so: invalid plugin descriptor: it serves port accesses but has no port_read or port_write"
    ));
    assert_eq!(out.status, 2);
}

#[test]
fn test_plugin_given_wrong_access_kind_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let device = "type = \"plugin\"\nlibrary = \"cmos-rtc\"\nmmio = 0xd0000";
    let machine = machine_with_device(dir.path(), "guests/plugins/rtc.bin", device);
    let out = run(&[
        "check",
        &machine.to_string_lossy(),
        "--plugin-dir",
        &rust_plugin_dir().to_string_lossy(),
    ]);
    assert!(out
        .stderr
        .contains(": plugin cmos-rtc serves port accesses, not MMIO: give it `port`\n"));
    assert_eq!(out.status, 2);
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_plugin_panic_in_mmio_write_stops_with_guest_fault() {
    if !kvm_available() {
        return;
    }
    let out = faulty_mmio("panic_in = \"mmio_write\"");
    assert!(out.stderr.contains(
        "picovmm: plugin faulty: error: MMIO write: panicked: faulty plugin panics in mmio_write"
    ));
    assert!(out.stderr.contains(
        "Error: plugin faulty failed a MMIO write to 0xd0000 (1 byte); see its log above\n"
    ));
    assert_eq!(out.status, 4);
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_plugin_panic_in_mmio_read_stops_with_guest_fault() {
    if !kvm_available() {
        return;
    }
    let out = faulty_mmio("panic_in = \"mmio_read\"");
    assert!(out.stderr.contains(
        "Error: plugin faulty failed a MMIO read from 0xd0000 (1 byte); see its log above\n"
    ));
    assert_eq!(out.status, 4);
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_plugin_error_in_mmio_write_stops_with_guest_fault() {
    if !kvm_available() {
        return;
    }
    let out = faulty_mmio("fail_in = \"mmio_write\"");
    assert!(out.stderr.contains("picovmm: plugin faulty: error: MMIO write: faulty plugin fails in mmio_write, as configured\n"));
    assert_eq!(out.status, 4);
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_plugin_panic_in_destroy_does_not_change_the_outcome() {
    if !kvm_available() {
        return;
    }
    let out = faulty_mmio("panic_in = \"destroy\"");
    assert_eq!(
        (out.stdout.as_str(), out.stderr.as_str(), out.status),
        ("latched\n", "", 0)
    );
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_plugin_panic_in_port_read_stops_with_guest_fault() {
    if !kvm_available() {
        return;
    }
    let out = faulty("panic_in = \"port_read\"");
    assert!(out.stderr.contains(
        "Error: plugin faulty failed a port read from 0x60 (1 byte); see its log above\n"
    ));
    assert_eq!(out.status, 4);
}

/// Runs machines/console.toml (or `machine`) with the console plugin built into `dir`, feeding
/// `input` on stdin (and keeping stdin open when `None`), with `extra` arguments.
fn run_console(
    dir: &Path,
    machine: &Path,
    input: Option<&[u8]>,
    extra: &[&str],
) -> (Run, Duration) {
    use std::io::Write as _;
    let start = Instant::now();
    let mut child = picovmm()
        .args([
            "run",
            &machine.to_string_lossy(),
            "--plugin-dir",
            &dir.to_string_lossy(),
        ])
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start picovmm");
    let stdin = child.stdin.take();
    let holder = match (input, stdin) {
        (Some(bytes), Some(mut s)) => {
            let _ = s.write_all(bytes);
            None
        }
        (None, s) => s,
        (Some(_), None) => None,
    };
    let out: Run = child.wait_with_output().expect("picovmm ends").into();
    drop(holder);
    (out, start.elapsed())
}

fn console_plugin(dir: &Path) -> PathBuf {
    build_c_plugin("plugins/examples/console-c/console.c", dir, "console", &[])
}

#[test]
#[cfg_attr(
    any(picovmm_missing = "kvm", picovmm_missing = "cc"),
    ignore = "needs a usable /dev/kvm and a C compiler (cc)"
)]
fn test_console_plugin_interrupts_the_guest_for_host_input() {
    if !kvm_available() || !cc_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    console_plugin(dir.path());
    let machine = repo_root().join("machines/console.toml");
    let (out, _) = run_console(dir.path(), &machine, Some(b"hello\n"), &[]);
    assert_eq!(out.status, 33, "{}", out.stderr);
    assert!(
        out.stdout.starts_with("hello\n\ninterrupts: 00 0"),
        "{}",
        out.stdout
    );
    // At least one interrupt, and no more than one per byte.
    let count = out.stdout.trim_end().rsplit(' ').next().unwrap_or_default();
    let count = u8::from_str_radix(count, 16).expect("a count");
    assert!((1..=6).contains(&count), "{}", out.stdout);
}

#[test]
#[cfg_attr(
    any(picovmm_missing = "kvm", picovmm_missing = "cc"),
    ignore = "needs a usable /dev/kvm and a C compiler (cc)"
)]
fn test_console_plugin_waiting_for_input_ends_on_time() {
    if !kvm_available() || !cc_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    console_plugin(dir.path());
    let machine = repo_root().join("machines/console.toml");
    // stdin stays open and empty: the plugin waits for input without blocking the vCPU.
    let (out, took) = run_console(dir.path(), &machine, None, &["--timeout", "1s"]);
    assert_eq!(out.status, 124, "{}", out.stderr);
    assert!(took < Duration::from_millis(1800), "took {took:?}");
}

#[test]
#[cfg_attr(
    any(picovmm_missing = "kvm", picovmm_missing = "cc"),
    ignore = "needs a usable /dev/kvm and a C compiler (cc)"
)]
fn test_console_plugin_waiting_for_input_ends_on_ctrl_c() {
    if !kvm_available() || !cc_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    console_plugin(dir.path());
    let mut child = picovmm()
        .args([
            "run",
            "machines/console.toml",
            "--plugin-dir",
            &dir.path().to_string_lossy(),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start");
    std::thread::sleep(Duration::from_millis(400));
    let start = Instant::now();
    // SAFETY: kill(2) on our own child's pid.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(130));
    assert!(
        start.elapsed() < Duration::from_millis(500),
        "{:?}",
        start.elapsed()
    );
}

#[test]
#[cfg_attr(
    any(picovmm_missing = "kvm", picovmm_missing = "cc"),
    ignore = "needs a usable /dev/kvm and a C compiler (cc)"
)]
fn test_a_plugin_ends_the_run_halted_or_failed_and_stats_say_which() {
    if !kvm_available() || !cc_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    console_plugin(dir.path());
    for (how, status, outcome) in [("halt", 0, "device_halted"), ("fail", 4, "device_failed")] {
        let text = std::fs::read_to_string(repo_root().join("machines/console.toml"))
            .expect("machine")
            .replace("../guests", &repo_root().join("guests").to_string_lossy())
            .replace(
                "{ input = \"-\" }",
                &format!("{{ input = \"-\", at_end = \"{how}\" }}"),
            );
        let machine = dir.path().join(format!("{how}.toml"));
        std::fs::write(&machine, text).expect("write machine");
        let json = dir.path().join(format!("{how}.json"));
        let (out, _) = run_console(
            dir.path(),
            &machine,
            Some(b"hi\n"),
            &["--stats-json", &json.to_string_lossy()],
        );
        assert_eq!(out.status, status, "{}", out.stderr);
        assert_eq!(out.stdout, "hi\n");
        let stats: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&json).expect("stats")).expect("json");
        assert_eq!(stats["outcome"], outcome);
        assert_eq!(stats["ended_by"]["device"], "console0");
        assert_eq!(stats["ended_by"]["message"], "console0: the input ended");
        assert!(stats.get("guest_exit_value").is_none());
    }
}

#[test]
#[cfg_attr(picovmm_missing = "cc", ignore = "needs a C compiler (cc)")]
fn test_check_runs_the_plugins_create_and_points_at_its_config() {
    if !cc_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    console_plugin(dir.path());
    let machine = dir.path().join("m.toml");
    std::fs::write(
        &machine,
        "[[memory]]\nbase = 0\nsize = \"640 KiB\"\n\n[boot]\nimage = \"boot.bin\"\n\n[[device]]\ntype = \"pic\"\n\n[[device]]\ntype = \"plugin\"\nlibrary = \"console\"\nport = 0x300\nports = 3\nirq = 5\nconfig = { input = \"no-such-input.txt\" }\n",
    )
    .expect("write");
    std::fs::write(dir.path().join("boot.bin"), [0xF4u8]).expect("image");
    let out = run(&[
        "check",
        &machine.to_string_lossy(),
        "--plugin-dir",
        &dir.path().to_string_lossy(),
    ]);
    assert_eq!(out.status, 2);
    let path = dir.path().join("no-such-input.txt");
    assert!(
        out.stderr.starts_with(&format!(
            "Error: {}:17:10: plugin console refused its configuration: cannot open input {}: No such file or directory\n",
            machine.display(),
            path.display()
        )),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("^^^"), "{}", out.stderr);
}

#[test]
fn test_plugin_irq_key_takes_a_list_and_refuses_bad_lines() {
    let dir = tempfile::tempdir().expect("tempdir");
    let machine = dir.path().join("m.toml");
    std::fs::write(dir.path().join("boot.bin"), [0xF4u8]).expect("image");
    for (irq, message) in [
        (
            "[3, 2]",
            "irq 2 is not a line a device can use: 0-15, but not 2 (the cascade)",
        ),
        ("[5, 5]", "irq 5 is listed twice"),
        ("16", "irq 16 is not a line a device can use"),
    ] {
        std::fs::write(
            &machine,
            format!("[[memory]]\nbase = 0\nsize = \"640 KiB\"\n\n[boot]\nimage = \"boot.bin\"\n\n[[device]]\ntype = \"plugin\"\nlibrary = \"console\"\nport = 0x300\nirq = {irq}\n"),
        )
        .expect("write");
        let out = run(&["check", &machine.to_string_lossy()]);
        assert_eq!(out.status, 2);
        assert!(out.stderr.contains(message), "{irq}: {}", out.stderr);
    }
}

#[test]
#[cfg_attr(picovmm_missing = "cc", ignore = "needs a C compiler (cc)")]
fn test_c_plugin_unit_tests_run_on_the_mock_host() {
    if !cc_available() {
        return;
    }
    let root = repo_root();
    let dir = tempfile::tempdir().expect("tempdir");
    let binary = dir.path().join("console_test");
    let status = Command::new("cc")
        .args([
            "-std=c11",
            "-D_DEFAULT_SOURCE",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-I",
        ])
        .arg(root.join("plugins/api/include"))
        .arg("-I")
        .arg(root.join("plugins/api/harness"))
        .arg("-o")
        .arg(&binary)
        .arg(root.join("plugins/examples/console-c/console_test.c"))
        .status()
        .expect("cc");
    assert!(status.success());
    let out = Command::new(&binary).output().expect("run the test");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "console_test: ok\n");
}

#[test]
#[cfg_attr(picovmm_missing = "cc", ignore = "needs a C compiler (cc)")]
fn test_installed_header_and_pkg_config_build_a_plugin_without_the_checkout() {
    if !cc_available() {
        return;
    }
    if Command::new("pkg-config")
        .arg("--version")
        .output()
        .is_err()
    {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true and no pkg-config"
        );
        eprintln!("skipping: pkg-config is not installed");
        return;
    }
    let root = repo_root();
    let dir = tempfile::tempdir().expect("tempdir");
    let prefix = dir.path().join("prefix");
    let status = Command::new("sh")
        .arg(root.join("plugins/api/install.sh"))
        .arg(&prefix)
        .status()
        .expect("install");
    assert!(status.success());
    // Only the installed files: the source is copied out of the checkout first.
    let source = dir.path().join("console.c");
    std::fs::copy(root.join("plugins/examples/console-c/console.c"), &source).expect("copy");
    let flags = Command::new("pkg-config")
        .args(["--cflags", "--libs", "picovmm-plugin"])
        .env("PKG_CONFIG_PATH", prefix.join("lib/pkgconfig"))
        .output()
        .expect("pkg-config");
    assert!(flags.status.success());
    let flags = String::from_utf8_lossy(&flags.stdout).into_owned();
    assert!(flags.contains(&prefix.join("include").to_string_lossy().into_owned()));
    let lib = dir.path().join("libconsole.so");
    let status = Command::new("cc")
        .args(["-shared", "-fPIC", "-O2", "-Wall"])
        .args(flags.split_whitespace())
        .arg("-o")
        .arg(&lib)
        .arg(&source)
        .current_dir(dir.path())
        .status()
        .expect("cc");
    assert!(status.success());
    let out = run(&["plugins", "--plugin-dir", &dir.path().to_string_lossy()]);
    assert!(
        out.stdout
            .starts_with("console          1.0.0      ABI 1.1  port"),
        "{}",
        out.stdout
    );
    let version = Command::new("pkg-config")
        .args(["--modversion", "picovmm-plugin"])
        .env("PKG_CONFIG_PATH", prefix.join("lib/pkgconfig"))
        .output()
        .expect("pkg-config");
    assert_eq!(String::from_utf8_lossy(&version.stdout).trim(), "1.1");
}
