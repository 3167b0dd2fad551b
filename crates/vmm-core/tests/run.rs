//! The run loop against real KVM, with guests of a few hand-assembled bytes.

use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use vm_device::bus::{MmioAddress, MmioAddressOffset, PioAddress, PioAddressOffset};
use vm_device::{MutDeviceMmio, MutDevicePio};
use vmm_core::{
    Access, BootCpu, CpuMode, Entry, Machine, RamRegion, RealAddress, RunOutcome, Space,
    StopReason, UnclaimedPolicy,
};

/// Whether `/dev/kvm` can be used; under `CI=true` its absence fails the test.
fn kvm_available() -> bool {
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
            eprintln!("skipping: /dev/kvm is unusable here ({e})");
            false
        }
    }
}

fn machine_with(code: &[u8]) -> Machine {
    let mut machine = Machine::new(&[RamRegion {
        base: 0,
        size: 0xA_0000,
    }])
    .expect("machine");
    machine.load_image(0x7C00, code).expect("load");
    let entry = RealAddress {
        segment: 0,
        offset: 0x7C00,
    };
    machine
        .set_boot_cpu(&BootCpu {
            mode: CpuMode::Real,
            entry: Entry::Real(entry),
            stack: 0x7C00,
            rax: 0,
            rbx: 0,
        })
        .expect("cpu");
    machine.set_warning_output(Box::new(std::io::sink()));
    machine
}

#[derive(Default)]
struct Port {
    written: Vec<u8>,
}

impl MutDevicePio for Port {
    fn pio_read(&mut self, _: PioAddress, _: PioAddressOffset, data: &mut [u8]) {
        data.fill(0x5A);
    }
    fn pio_write(&mut self, _: PioAddress, _: PioAddressOffset, data: &[u8]) {
        self.written.extend_from_slice(data);
    }
}

#[test]
fn test_run_hlt_guest_is_halted() {
    if !kvm_available() {
        return;
    }
    let mut machine = machine_with(&[0xF4]); // hlt
    let report = machine.run();
    assert_eq!(report.outcome, RunOutcome::Halted);
    assert_eq!((report.exits.total, report.exits.hlt), (1, 1));
    assert_eq!(report.registers.map(|r| r.rip), Some(0x7C01));
}

#[test]
fn test_run_port_round_trip_reaches_device() {
    if !kvm_available() {
        return;
    }
    // in al, 0x60 ; out 0x61, al ; hlt
    let mut machine = machine_with(&[0xE4, 0x60, 0xE6, 0x61, 0xF4]);
    let port = Arc::new(Mutex::new(Port::default()));
    machine
        .register_pio(0x60, 2, port.clone())
        .expect("register");
    let report = machine.run();
    assert_eq!(report.outcome, RunOutcome::Halted);
    assert_eq!(
        port.lock().map(|p| p.written.clone()).unwrap_or_default(),
        vec![0x5A]
    );
    assert_eq!((report.exits.io_in, report.exits.io_out), (1, 1));
}

#[test]
fn test_run_spinning_guest_is_stopped_from_another_thread() {
    if !kvm_available() {
        return;
    }
    let mut machine = machine_with(&[0xEB, 0xFE]); // jmp $
    let stop = machine.stop_handle();
    let stopper = thread::spawn(move || {
        thread::sleep(Duration::from_millis(200));
        stop.stop(StopReason::Timeout);
    });
    let report = machine.run();
    let _ = stopper.join();
    assert_eq!(report.outcome, RunOutcome::Timeout);
    assert_eq!(report.registers.map(|r| r.rip), Some(0x7C00));
}

#[test]
fn test_run_unclaimed_port_under_stop_policy_ends_run() {
    if !kvm_available() {
        return;
    }
    // mov al, 0x12 ; out 0x80, al ; hlt
    let mut machine = machine_with(&[0xB0, 0x12, 0xE6, 0x80, 0xF4]);
    machine.set_unclaimed_policy(UnclaimedPolicy::Stop);
    let report = machine.run();
    let access = Access {
        space: Space::Port,
        addr: 0x80,
        len: 1,
        write: true,
        value: 0x12,
    };
    assert_eq!(report.outcome, RunOutcome::UnclaimedAccess(access));
}

#[test]
fn test_run_unclaimed_port_under_log_policy_reads_open_bus() {
    if !kvm_available() {
        return;
    }
    // in al, 0x80 ; out 0x61, al ; hlt
    let mut machine = machine_with(&[0xE4, 0x80, 0xE6, 0x61, 0xF4]);
    let port = Arc::new(Mutex::new(Port::default()));
    machine
        .register_pio(0x61, 1, port.clone())
        .expect("register");
    let report = machine.run();
    assert_eq!(report.outcome, RunOutcome::Halted);
    assert_eq!(
        port.lock().map(|p| p.written.clone()).unwrap_or_default(),
        vec![0xFF]
    );
}

#[test]
fn test_register_mmio_over_ram_is_rejected() {
    if !kvm_available() {
        return;
    }
    let mut machine = machine_with(&[0xF4]);
    let dev = Arc::new(Mutex::new(NullMmio));
    let err = machine.register_mmio(0x9_F000, 0x2000, dev).unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot place MMIO range [0x9f000, +0x2000): overlaps guest RAM"
    );
}

/// An MMIO device that ignores everything.
struct NullMmio;

impl MutDeviceMmio for NullMmio {
    fn mmio_read(&mut self, _: MmioAddress, _: MmioAddressOffset, _: &mut [u8]) {}
    fn mmio_write(&mut self, _: MmioAddress, _: MmioAddressOffset, _: &[u8]) {}
}

#[test]
fn test_device_memory_guest_writes_are_seen_without_exits() {
    if !kvm_available() {
        return;
    }
    // mov ax, 0xb800 ; mov es, ax ; mov word [es:0], 0x1f41 ; hlt
    let code = [
        0xB8, 0x00, 0xB8, 0x8E, 0xC0, 0x26, 0xC7, 0x06, 0x00, 0x00, 0x41, 0x1F, 0xF4,
    ];
    let mut machine = machine_with(&code);
    let window = machine.map_device_memory(0xB_8000, 0x8000).expect("map");
    let report = machine.run();
    let mut cell = [0u8; 2];
    window.read(0, &mut cell);
    assert_eq!(report.outcome, RunOutcome::Halted);
    assert_eq!(cell, [0x41, 0x1F]);
    assert_eq!(report.exits.total, 1);
}

#[test]
fn test_device_memory_over_ram_is_rejected() {
    if !kvm_available() {
        return;
    }
    let mut machine = machine_with(&[0xF4]);
    let err = machine
        .map_device_memory(0x9_0000, 0x1_0000)
        .err()
        .map(|e| e.to_string());
    assert_eq!(
        err.as_deref(),
        Some("cannot place MMIO range [0x90000, +0x10000): overlaps guest RAM")
    );
}

#[test]
fn test_register_mmio_over_device_memory_is_rejected() {
    if !kvm_available() {
        return;
    }
    let mut machine = machine_with(&[0xF4]);
    let _window = machine.map_device_memory(0xB_8000, 0x8000).expect("map");
    let err = machine
        .register_mmio(0xB_F000, 0x2000, Arc::new(Mutex::new(NullMmio)))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot place MMIO range [0xbf000, +0x2000): overlaps another device"
    );
}

/// Boots `code` at 0x7C00 in `mode` with a port recorder at 0x60..0x64; returns the bytes the
/// guest wrote there and the outcome.
fn run_flat(mode: CpuMode, code: &[u8]) -> (RunOutcome, Vec<u8>) {
    let mut machine = Machine::new(&[RamRegion {
        base: 0,
        size: 0xA_0000,
    }])
    .expect("machine");
    machine.load_image(0x7C00, code).expect("load");
    let boot = BootCpu {
        mode,
        entry: Entry::Flat(0x7C00),
        stack: 0x7C00,
        rax: 0,
        rbx: 0,
    };
    machine.set_boot_cpu(&boot).expect("cpu");
    let port = Arc::new(Mutex::new(Port::default()));
    machine
        .register_pio(0x60, 4, port.clone())
        .expect("register");
    let report = machine.run();
    let written = port.lock().map(|p| p.written.clone()).unwrap_or_default();
    (report.outcome, written)
}

#[test]
fn test_protected_mode_entry_has_pe_without_paging() {
    if !kvm_available() {
        return;
    }
    // mov eax, cr0 ; out 0x60, eax ; hlt   (32-bit code)
    let (outcome, written) = run_flat(CpuMode::Protected, &[0x0F, 0x20, 0xC0, 0xE7, 0x60, 0xF4]);
    assert_eq!(outcome, RunOutcome::Halted);
    assert_eq!(written, 0x11u32.to_le_bytes());
}

#[test]
fn test_long_mode_entry_has_paging_and_64_bit_code() {
    if !kvm_available() {
        return;
    }
    // mov rax, cr0 ; out 0x60, eax ; mov rax, 0x123456789 ; shr rax, 32 ; out 0x60, eax ; hlt
    // (the second write proves 64-bit registers: only long mode has bit 32 of RAX)
    let code = [
        0x0F, 0x20, 0xC0, 0xE7, 0x60, 0x48, 0xB8, 0x89, 0x67, 0x45, 0x23, 0x01, 0x00, 0x00, 0x00,
        0x48, 0xC1, 0xE8, 0x20, 0xE7, 0x60, 0xF4,
    ];
    let (outcome, written) = run_flat(CpuMode::Long, &code);
    assert_eq!(outcome, RunOutcome::Halted);
    assert_eq!(
        written,
        [0x8000_0011u32.to_le_bytes(), 1u32.to_le_bytes()].concat()
    );
}

#[test]
fn test_flat_entry_in_real_mode_is_refused() {
    if !kvm_available() {
        return;
    }
    let machine = Machine::new(&[RamRegion {
        base: 0,
        size: 0xA_0000,
    }])
    .expect("machine");
    let boot = BootCpu {
        mode: CpuMode::Real,
        entry: Entry::Flat(0x7C00),
        stack: 0x7C00,
        rax: 0,
        rbx: 0,
    };
    let err = machine.set_boot_cpu(&boot).err().map(|e| e.to_string());
    assert_eq!(
        err.as_deref(),
        Some(
            "entry 0x7c00 does not fit real mode (real mode takes SEG:OFF, the others an address)"
        )
    );
}
