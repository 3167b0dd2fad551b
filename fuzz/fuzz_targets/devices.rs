//! The device models fed random access sequences: each 12-byte record is one access (device,
//! direction, width, offset, value) to the VGA text model, the debug console, isa-debug-exit or
//! the 16550 UART (whose receive FIFO the host also fills). No access may panic or write outside
//! a device's state, the screen must always render, and the UART's state must restore.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vmm_devices::debug_exit::IsaDebugExit;
use vmm_devices::debugcon::DebugConsole;
use vmm_devices::serial::Uart16550;
use vmm_devices::state::Stateful;
use vmm_devices::vga_text::VgaText;

fuzz_target!(|data: &[u8]| {
    let mut vga = VgaText::new();
    let mut console = DebugConsole::new(std::io::sink());
    let mut exits = 0u32;
    let mut debug_exit = IsaDebugExit::new(|_value| exits = exits.wrapping_add(1));
    let mut uart = Uart16550::new(std::io::sink());
    for record in data.chunks_exact(12) {
        let device = record[0] % 5;
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
            (2, true) => debug_exit.write(&value),
            (2, false) => {}
            (3, true) => uart.write(offset as u8 & 7, fill),
            (3, false) => {
                let _ = uart.read(offset as u8 & 7);
            }
            (_, _) => {
                uart.enqueue(&value);
            }
        }
    }
    let saved = uart.save();
    uart.restore(saved).expect("a UART state restores");
    let _ = vga.screen().to_text();
    let _ = vga.screen().to_ansi();
});
