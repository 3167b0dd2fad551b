//! Installing: `install.sh` into a fresh prefix (a debug build, reusing this workspace's
//! target folder), then the installed picovmm runs a machine with a plugin it finds in
//! PREFIX/lib/picovmm/plugins on its own, and bash completes its commands from the installed
//! script.

mod common;

use std::process::Command;

use common::{kvm_available, repo_root};

fn cc_available() -> bool {
    match Command::new("cc").arg("--version").output() {
        Ok(out) if out.status.success() => true,
        _ if std::env::var("CI").as_deref() == Ok("true") => panic!("CI=true and cc is missing"),
        _ => {
            eprintln!("skipping: no C compiler (apt-get install gcc)");
            false
        }
    }
}

#[test]
#[cfg_attr(
    any(picovmm_missing = "kvm", picovmm_missing = "cc"),
    ignore = "needs a usable /dev/kvm and cc"
)]
fn test_install_sh_puts_picovmm_its_plugins_completions_and_man_page_in_a_prefix() {
    if !kvm_available() || !cc_available() {
        return;
    }
    let prefix = tempfile::tempdir().expect("tempdir");
    let target = std::path::Path::new(env!("CARGO_BIN_EXE_picovmm"))
        .ancestors()
        .nth(2)
        .map(std::path::Path::to_path_buf)
        .unwrap_or_default();
    let installed = Command::new("bash")
        .arg(repo_root().join("install.sh"))
        .env("PREFIX", prefix.path())
        .env("PROFILE", "debug")
        .env("CARGO_TARGET_DIR", &target)
        .output()
        .expect("install.sh");
    let log = String::from_utf8_lossy(&installed.stdout).into_owned()
        + &String::from_utf8_lossy(&installed.stderr);
    assert!(installed.status.success(), "{log}");
    let picovmm = prefix.path().join("bin/picovmm");
    // From another folder, with no plugin path of the user's: the installed folder is found.
    let run = Command::new(&picovmm)
        .args(["run"])
        .arg(repo_root().join("machines/rtc.toml"))
        .current_dir(prefix.path())
        .env_remove("PICOVMM_PLUGIN_PATH")
        .env("HOME", prefix.path())
        .output()
        .expect("run the installed picovmm");
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert_eq!(
        run.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(stdout.starts_with("2024-02-29T"), "{stdout}");
    let script = prefix
        .path()
        .join("share/bash-completion/completions/picovmm");
    let completed = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "source {}; COMP_WORDS=(picovmm te); COMP_CWORD=1; _picovmm picovmm te picovmm; echo ${{COMPREPLY[@]}}",
            script.display()
        ))
        .output()
        .expect("bash");
    assert_eq!(String::from_utf8_lossy(&completed.stdout).trim(), "test");
    let man =
        std::fs::read_to_string(prefix.path().join("share/man/man1/picovmm.1")).expect("man page");
    assert!(man.contains(".TH picovmm 1"), "{man}");
}
