//! Probes the host for what the end-to-end tests need (see build/probes.rs), and links the
//! binary with its hot code together (see link/hot-code.ld).

include!("../../build/probes.rs");

fn main() {
    emit_probes(&PROBES.map(|(name, _)| name));
    hot_code_first();
}

/// The functions a run uses are placed side by side at the start of the code, so that a run
/// pages in a few hundred KiB of the binary instead of most of it: the kernel maps code 64 KiB
/// around each page a run touches, and a run's functions were scattered over all 3.5 MB.
/// Only for Linux (the script is GNU ld's and lld's, which both take `INSERT BEFORE`).
fn hot_code_first() {
    println!("cargo::rerun-if-env-changed=PICOVMM_HOT_CODE");
    let linux = std::env::var("CARGO_CFG_TARGET_OS").is_ok_and(|os| os == "linux");
    // hot-code.py profiles a build without it (valgrind names no function in `.text.hot`).
    let off = std::env::var("PICOVMM_HOT_CODE").is_ok_and(|v| v == "off");
    let Ok(dir) = std::env::var("CARGO_MANIFEST_DIR") else {
        return;
    };
    if !linux || off {
        return;
    }
    let script = std::path::Path::new(&dir).join("link/hot-code.ld");
    println!("cargo::rerun-if-changed={}", script.display());
    println!(
        "cargo::rustc-link-arg-bin=picovmm=-Wl,-T,{}",
        script.display()
    );
}
