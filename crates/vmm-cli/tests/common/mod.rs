//! Helpers for the end-to-end tests: the repository, the `picovmm` binary, and KVM detection.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository's root folder.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repo root")
}

/// A `picovmm` command running in the repository's root folder.
pub fn picovmm() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_picovmm"));
    cmd.current_dir(repo_root());
    cmd
}

/// What a finished `picovmm` printed and how it ended.
pub struct Run {
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(out: Output) -> Self {
        Run {
            status: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// Runs `picovmm` with `args` in the repository's root folder.
pub fn run(args: &[&str]) -> Run {
    picovmm().args(args).output().expect("start picovmm").into()
}

/// Runs picovmm with `args`, feeding `input` on stdin (a guest that ends before reading all
/// of it is no error).
pub fn run_with_input(args: &[&str], input: &[u8]) -> Run {
    use std::io::Write as _;
    use std::process::Stdio;
    let mut child = picovmm()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start picovmm");
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(input);
    }
    child.wait_with_output().expect("picovmm ends").into()
}

/// Runs `picovmm` with `args` plus `--stats-json FILE`; returns the run and the parsed JSON.
pub fn run_with_stats(args: &[&str]) -> (Run, serde_json::Value) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("stats.json");
    let mut all: Vec<&str> = args.to_vec();
    let path_arg = path.to_string_lossy().into_owned();
    all.extend(["--stats-json", &path_arg]);
    let out = run(&all);
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let json = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
    (out, json)
}

/// Whether `/dev/kvm` can be used. Without it a test skips, saying why, except under
/// `CI=true`, where it fails: CI machines have KVM, and a silent skip would hide a broken host.
pub fn kvm_available() -> bool {
    match std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
    {
        Ok(_) => true,
        Err(e) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("CI=true and /dev/kvm is unusable: {e}")
        }
        Err(e) => {
            eprintln!("skipping: this test boots a guest and /dev/kvm is unusable here ({e})");
            false
        }
    }
}
