//! The device models fed random access sequences: each 12-byte record is one access (device,
//! direction, width, offset, value). No access may panic or write outside a device's state,
//! and the screen must always render.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vmm_devices::debug_exit::IsaDebugExit;
use vmm_devices::debugcon::DebugConsole;
use vmm_devices::vga_text::VgaText;

fuzz_target!(|data: &[u8]| {
    let mut vga = VgaText::new();
    let mut console = DebugConsole::new(std::io::sink());
    let mut exits = 0u32;
    let mut debug_exit = IsaDebugExit::new(|_value| exits = exits.wrapping_add(1));
    for record in data.chunks_exact(12) {
        let device = record[0] % 3;
        let write = record[1] & 1 == 1;
        let len = usize::from(record[2] % 17); // 0..=16, beyond what KVM sends
        let offset = u64::from_le_bytes([
            record[3], record[4], record[5], record[6], record[7], record[8], record[9], record[10],
        ]);
        let fill = record[11];
        let value = vec![fill; len];
        let mut buf = vec![0u8; len];
        match (device, write) {
            (0, true) => {
                vga.write(offset, &value);
            }
            (0, false) => vga.read(offset, &mut buf),
            (1, true) => console.write(&value),
            (1, false) => console.read(&mut buf),
            (_, true) => debug_exit.write(&value),
            (_, false) => {}
        }
    }
    let _ = vga.screen().to_text();
    let _ = vga.screen().to_ansi();
});
