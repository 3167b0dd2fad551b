//! A machine composed in Rust, without a machine file: 64 KiB of RAM, a VGA text window, a
//! debug console and isa-debug-exit, and a boot sector assembled here by hand. It runs to the
//! guest's exit, then prints what the guest wrote to the debug console and the screen.
//!
//!     cargo run -p vmm-machine --example compose
//!
//! The tests run it (`tests/compose.rs`), so it stays true.

use vmm_core::RamRegion;
use vmm_machine::spec::{DeviceKind, Located, MachineSpec, VgaMode};
use vmm_machine::{Machine, Outputs, PluginPath};

/// The guest: writes "hi" to the debug console, "OK" in the screen's top-left corner (white on
/// blue), then 0x10 to isa-debug-exit.
const GUEST: &[u8] = &[
    0xB0, b'h', 0xE6, 0xE9, // mov al, 'h' ; out 0xe9, al
    0xB0, b'i', 0xE6, 0xE9, // mov al, 'i' ; out 0xe9, al
    0xB8, 0x00, 0xB8, // mov ax, 0xb800
    0x8E, 0xC0, // mov es, ax
    0x26, 0xC7, 0x06, 0x00, 0x00, b'O', 0x1F, // mov word [es:0], 0x1f00 | 'O'
    0x26, 0xC7, 0x06, 0x02, 0x00, b'K', 0x1F, // mov word [es:2], 0x1f00 | 'K'
    0xB0, 0x10, 0xE6, 0xF4, // mov al, 0x10 ; out 0xf4, al
    0xF4, // hlt
];

/// What the run printed and how it ended, as the example's `main` shows it.
pub fn compose_and_run() -> Result<String, vmm_machine::MachineError> {
    let dir = std::env::temp_dir().join(format!("picovmm-compose-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| vmm_machine::MachineError::Refused(e.to_string()))?;
    let image = dir.join("guest.bin");
    std::fs::write(&image, GUEST).map_err(|e| vmm_machine::MachineError::Refused(e.to_string()))?;

    let mut spec = MachineSpec::default_machine();
    spec.name = "composed".into();
    spec.memory = vec![Located::default(RamRegion {
        base: 0,
        size: 64 * 1024,
    })];
    spec.devices = vec![
        Located::default(DeviceKind::VgaText {
            mmio: 0xB_8000,
            mode: VgaMode::Memory,
        }),
        Located::default(DeviceKind::Debugcon { port: 0xE9 }),
        Located::default(DeviceKind::IsaDebugExit { port: 0xF4 }),
    ];
    spec.set_image(&image);

    let (outputs, console) = Outputs::buffer();
    let mut machine = Machine::build(spec, &PluginPath::new(&[]), outputs)?;
    let report = machine.run();
    let screen = machine.capture().and_then(|f| f.text()).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&dir);
    Ok(format!(
        "outcome: {:?}\ndebug console: {}\nscreen: {}\n",
        report.outcome,
        String::from_utf8_lossy(&console.contents()),
        screen.trim_end()
    ))
}

#[allow(dead_code)]
fn main() {
    match compose_and_run() {
        Ok(text) => print!("{text}"),
        Err(e) => {
            eprintln!("compose: {e}");
            std::process::exit(1);
        }
    }
}
