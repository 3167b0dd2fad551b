//! The exit-handling function fed hand-made vCPU exits on a bus with the default machine's
//! devices (VGA trapped, debug console, isa-debug-exit): it must count and dispatch every exit
//! and never panic, whatever the port, address, width or data.
#![no_main]

use std::sync::{Arc, Mutex};

use kvm_ioctls::VcpuExit;
use libfuzzer_sys::fuzz_target;
use vm_device::bus::{MmioAddress, MmioRange, PioAddress, PioRange};
use vm_device::device_manager::{IoManager, MmioManager, PioManager};
use vmm_core::exit::{handle_exit, ExitCounters};
use vmm_devices::debug_exit::IsaDebugExit;
use vmm_devices::debugcon::DebugConsole;
use vmm_devices::vga_text::VgaText;

fn bus() -> Option<IoManager> {
    let mut io = IoManager::new();
    io.register_mmio(
        MmioRange::new(MmioAddress(0xB8000), 0x8000).ok()?,
        Arc::new(Mutex::new(VgaText::new())),
    )
    .ok()?;
    io.register_pio(
        PioRange::new(PioAddress(0xE9), 1).ok()?,
        Arc::new(Mutex::new(DebugConsole::new(std::io::sink()))),
    )
    .ok()?;
    io.register_pio(
        PioRange::new(PioAddress(0xF4), 4).ok()?,
        Arc::new(Mutex::new(IsaDebugExit::new(|_v| {}))),
    )
    .ok()?;
    Some(io)
}

fuzz_target!(|data: &[u8]| {
    let Some(io) = bus() else { return };
    let mut counters = ExitCounters::default();
    let mut handled = 0u64;
    for record in data.chunks_exact(11) {
        let len = usize::from(record[1] % 9); // 0..=8 bytes
        let addr = u64::from_le_bytes([
            record[2], record[3], record[4], record[5], record[6], record[7], record[8], record[9],
        ]);
        let mut bytes = vec![record[10]; len];
        let exit = match record[0] % 8 {
            0 => VcpuExit::IoOut(addr as u16, &bytes),
            1 => VcpuExit::IoIn(addr as u16, &mut bytes),
            2 => VcpuExit::MmioWrite(addr, &bytes),
            3 => VcpuExit::MmioRead(addr, &mut bytes),
            4 => VcpuExit::Hlt,
            5 => VcpuExit::Shutdown,
            6 => VcpuExit::FailEntry(addr, 0),
            _ => VcpuExit::InternalError,
        };
        let _ = handle_exit(exit, &io, &mut counters, usize::from(record[1] % 5));
        handled += 1;
    }
    assert_eq!(counters.total, handled);
});
