//! What a failing test leaves behind for whoever looks at it (in CI, or after the fact): the
//! screen as text and as a PNG, the serial and debug-console output, the failure, and the
//! machine itself as a snapshot that `picovmm restore` continues.

use std::path::Path;

use super::machine::Running;
use super::model::TestCase;
use super::view::{relative, sanitize, screen_text};

/// Saves the artifacts of `case` under `root`; returns a line saying where (or why not).
pub fn save(vm: &mut Running, case: &TestCase, failure: &str, root: &Path) -> String {
    let dir = root.join(sanitize(&case.id));
    if let Err(e) = std::fs::create_dir_all(&dir) {
        return format!("no artifacts: cannot create {}: {e}", relative(&dir));
    }
    let write = |name: &str, bytes: &[u8]| {
        let _ = std::fs::write(dir.join(name), bytes);
    };
    write(
        "failure.txt",
        format!("{}\n{failure}\n", case.id).as_bytes(),
    );
    let screen = screen_text(vm, None).unwrap_or_else(|why| format!("({why})"));
    write("screen.txt", screen.as_bytes());
    if let Some(frame) = vm.handle.capture() {
        write("screen.png", &frame.png());
    }
    write("serial.log", &vm.serial.contents());
    write("debugcon.log", &vm.debugcon.contents());
    let snapshot = if vm.ended().is_some() {
        "no snapshot: the run had ended".to_owned()
    } else {
        match vm.save(&dir.join("machine.snap")) {
            Ok(_) => format!(
                "`picovmm restore {}` continues it",
                relative(&dir.join("machine.snap"))
            ),
            Err(e) => format!("no snapshot: {e}"),
        }
    };
    format!(
        "artifacts: {} (screen.txt, screen.png, serial.log, debugcon.log; {snapshot})",
        relative(&dir)
    )
}
