//! Benchmark (run by bench/run, not a test): the cost of one port write dispatched through
//! vm-device's IoManager to a built-in device and to a plugin device, without KVM.
//!
//!   cargo run --release -p vmm-devices --example dispatch -- PLUGIN.so [ACCESSES]
//!
//! PLUGIN.so must serve port writes at offset 0 (bench/plugins/latch.c does).

use std::sync::{Arc, Mutex};
use std::time::Instant;

use vm_device::bus::PioAddress;
use vm_device::device_manager::{IoManager, PioManager};
use vmm_devices::debugcon::DebugConsole;
use vmm_devices::plugin::{LogLevel, PluginDevice, PluginHost, PluginLibrary};

/// A host with no guest memory: the benchmark's plugin never uses it.
struct NoHost;

impl PluginHost for NoHost {
    fn log(&self, plugin: &str, level: LogLevel, message: &str) {
        eprintln!("{plugin}: {}: {message}", level.name());
    }
    fn read_guest(&self, _addr: u64, _buf: &mut [u8]) -> bool {
        false
    }
    fn write_guest(&self, _addr: u64, _buf: &[u8]) -> bool {
        false
    }
    fn request_stop(&self, _value: u32) {}
    fn device_failed(&self, message: String) {
        eprintln!("device failed: {message}");
    }
}

fn time_writes(io: &IoManager, port: u16, accesses: u32) -> f64 {
    let start = Instant::now();
    for i in 0..accesses {
        let _ = io.pio_write(PioAddress(port), &[i as u8]);
    }
    start.elapsed().as_nanos() as f64 / f64::from(accesses)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let plugin_path = args.next().ok_or("usage: dispatch PLUGIN.so [ACCESSES]")?;
    let accesses: u32 = args
        .next()
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(10_000_000);
    let library = PluginLibrary::load(std::path::Path::new(&plugin_path))?;
    let plugin = PluginDevice::create(&library, Arc::new(NoHost), "")?;
    let mut io = IoManager::new();
    io.register_pio(
        vm_device::bus::PioRange::new(PioAddress(0xE9), 1)?,
        Arc::new(Mutex::new(DebugConsole::new(std::io::sink()))),
    )?;
    io.register_pio(
        vm_device::bus::PioRange::new(PioAddress(0x60), 1)?,
        Arc::new(Mutex::new(plugin)),
    )?;
    // Warm up, then alternate five rounds of each and keep the medians.
    time_writes(&io, 0xE9, accesses / 10);
    time_writes(&io, 0x60, accesses / 10);
    let (mut builtin, mut plugin) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        builtin.push(time_writes(&io, 0xE9, accesses));
        plugin.push(time_writes(&io, 0x60, accesses));
    }
    builtin.sort_by(f64::total_cmp);
    plugin.sort_by(f64::total_cmp);
    println!("builtin_ns {:.2}", builtin[2]);
    println!("plugin_ns {:.2}", plugin[2]);
    Ok(())
}
