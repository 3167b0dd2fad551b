//! The process's start-up (picovmm has its own C `main`, see src/entry.rs): with its standard
//! output and error closed, picovmm still runs, and a disk it opens never becomes its
//! standard output, so what it prints never lands in the user's image.

mod common;

use std::process::Command;

use common::repo_root;

#[test]
fn test_run_with_standard_descriptors_closed_leaves_the_disk_untouched() {
    let dir = tempfile::tempdir().expect("tempdir");
    let disk = dir.path().join("floppy.img");
    let mut image = std::fs::read(repo_root().join("guests/bench/bios-hello.bin")).expect("guest");
    image.resize(1_474_560, 0);
    std::fs::write(&disk, &image).expect("write disk");

    // The shell closes stdout and stderr (the lowest free descriptor is then 1, the first a
    // file opened would get), then becomes picovmm.
    let status = Command::new("sh")
        .arg("-c")
        .arg(r#"exec "$0" run --drive "$1" --timeout 20s </dev/null >&- 2>&-"#)
        .arg(env!("CARGO_BIN_EXE_picovmm"))
        .arg(&disk)
        .current_dir(repo_root())
        .status()
        .expect("run sh");

    // The guest's own status: it exits through isa-debug-exit with 0, which is status 1.
    assert_eq!(status.code(), Some(1));
    assert!(
        std::fs::read(&disk).expect("read disk") == image,
        "the disk changed"
    );
}
