//! The project's own test files (`tests/*.test.toml`), run by `picovmm test` as a user runs
//! them: every CI run exercises the runner on the guests, the BIOS, the keyboard, the modes,
//! a plugin, snapshots handed between tests and golden pictures.

mod common;

use common::{kvm_available, picovmm};

/// Where cargo put the example plugins this crate's tests build (libcmos_rtc.so).
fn plugin_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_BIN_EXE_picovmm"))
        .parent()
        .map(|p| p.join("deps"))
        .unwrap_or_default()
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_the_projects_test_files_pass_under_picovmm_test() {
    if !kvm_available() {
        return;
    }
    let artifacts = tempfile::tempdir().expect("tempdir");
    let out = picovmm()
        .args(["test", "tests", "--plugin-dir"])
        .arg(plugin_dir())
        .arg("--artifacts")
        .arg(artifacts.path())
        .output()
        .expect("picovmm test");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let files = std::fs::read_dir(common::repo_root().join("tests"))
        .expect("tests folder")
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.file_name().to_string_lossy().ends_with(".test.toml"))
        })
        .count();
    assert!(files >= 15, "only {files} test files");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary = stdout
        .lines()
        .find(|l| l.starts_with("test result: ok."))
        .unwrap_or_default();
    let passed: usize = summary
        .split_whitespace()
        .nth(3)
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(passed >= files, "{stdout}");
}
