//! The run loop against real KVM, with guests of a few hand-assembled bytes.

use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use vm_device::bus::{MmioAddress, MmioAddressOffset, PioAddress, PioAddressOffset};
use vm_device::{MutDeviceMmio, MutDevicePio};
use vmm_core::{
    Access, BootCpu, CpuMode, Entry, Fault, GuestDebug, HwBreakpoint, RamRegion, RealAddress,
    Space, StopReason, UnclaimedPolicy, Vcpu, VcpuControl, VcpuEvent, Vm,
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

const REAL_MODE_RAM: [RamRegion; 1] = [RamRegion {
    base: 0,
    size: 0xA_0000,
}];

/// Boots `code` at 0000:7C00 in real mode; `devices` puts devices on the VM first.
fn boot_with(code: &[u8], devices: impl FnOnce(&mut Vm)) -> Vcpu {
    let mut vm = Vm::new(&REAL_MODE_RAM).expect("vm");
    vm.load_image(0x7C00, code).expect("load");
    devices(&mut vm);
    let mut vcpu = vm.create_vcpu().expect("vcpu");
    let entry = RealAddress {
        segment: 0,
        offset: 0x7C00,
    };
    vcpu.set_boot_cpu(&BootCpu {
        mode: CpuMode::Real,
        entry: Entry::Real(entry),
        stack: 0x7C00,
        rax: 0,
        rbx: 0,
    })
    .expect("cpu");
    vcpu.set_warning_output(Box::new(std::io::sink()));
    vcpu
}

fn boot(code: &[u8]) -> Vcpu {
    boot_with(code, |_| {})
}

fn rip(vcpu: &Vcpu) -> Option<u64> {
    vcpu.registers().map(|r| r.rip)
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
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_run_hlt_guest_is_halted() {
    if !kvm_available() {
        return;
    }
    let mut vcpu = boot(&[0xF4]); // hlt
    assert_eq!(vcpu.run(), VcpuEvent::Halted);
    assert_eq!((vcpu.exits().total, vcpu.exits().hlt), (1, 1));
    assert_eq!(rip(&vcpu), Some(0x7C01));
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_run_port_round_trip_reaches_device() {
    if !kvm_available() {
        return;
    }
    let port = Arc::new(Mutex::new(Port::default()));
    // in al, 0x60 ; out 0x61, al ; hlt
    let mut vcpu = boot_with(&[0xE4, 0x60, 0xE6, 0x61, 0xF4], |vm| {
        vm.register_pio(0x60, 2, port.clone()).expect("register")
    });
    assert_eq!(vcpu.run(), VcpuEvent::Halted);
    assert_eq!(
        port.lock().map(|p| p.written.clone()).unwrap_or_default(),
        vec![0x5A]
    );
    assert_eq!((vcpu.exits().io_in, vcpu.exits().io_out), (1, 1));
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_run_spinning_guest_is_stopped_from_another_thread() {
    if !kvm_available() {
        return;
    }
    let mut vcpu = boot(&[0xEB, 0xFE]); // jmp $
    let control = vcpu.control();
    let stopper = thread::spawn(move || {
        thread::sleep(Duration::from_millis(200));
        control.stop(StopReason::Timeout);
    });
    let event = vcpu.run();
    let _ = stopper.join();
    assert_eq!(event, VcpuEvent::Stopped(StopReason::Timeout));
    assert_eq!(rip(&vcpu), Some(0x7C00));
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_run_unclaimed_port_under_stop_policy_ends_run() {
    if !kvm_available() {
        return;
    }
    // mov al, 0x12 ; out 0x80, al ; hlt
    let mut vcpu = boot(&[0xB0, 0x12, 0xE6, 0x80, 0xF4]);
    vcpu.set_unclaimed_policy(UnclaimedPolicy::Stop);
    let access = Access {
        space: Space::Port,
        addr: 0x80,
        len: 1,
        write: true,
        value: 0x12,
    };
    assert_eq!(vcpu.run(), VcpuEvent::Fault(Fault::UnclaimedAccess(access)));
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_run_unclaimed_port_under_log_policy_reads_open_bus() {
    if !kvm_available() {
        return;
    }
    let port = Arc::new(Mutex::new(Port::default()));
    // in al, 0x80 ; out 0x61, al ; hlt
    let mut vcpu = boot_with(&[0xE4, 0x80, 0xE6, 0x61, 0xF4], |vm| {
        vm.register_pio(0x61, 1, port.clone()).expect("register")
    });
    assert_eq!(vcpu.run(), VcpuEvent::Halted);
    assert_eq!(
        port.lock().map(|p| p.written.clone()).unwrap_or_default(),
        vec![0xFF]
    );
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_register_mmio_over_ram_is_rejected() {
    if !kvm_available() {
        return;
    }
    let mut vm = Vm::new(&REAL_MODE_RAM).expect("vm");
    let dev = Arc::new(Mutex::new(NullMmio));
    let err = vm.register_mmio(0x9_F000, 0x2000, dev).unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot place MMIO range [0x9f000, +0x2000): overlaps guest RAM"
    );
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_register_pio_after_vcpu_is_refused() {
    if !kvm_available() {
        return;
    }
    let mut vm = Vm::new(&REAL_MODE_RAM).expect("vm");
    let _vcpu = vm.create_vcpu().expect("vcpu");
    let port = Arc::new(Mutex::new(Port::default()));
    let err = vm.register_pio(0x60, 1, port).err().map(|e| e.to_string());
    assert_eq!(
        err.as_deref(),
        Some("the vCPU exists already: devices are registered before it, and a VM has one vCPU")
    );
}

/// An MMIO device that ignores everything.
struct NullMmio;

impl MutDeviceMmio for NullMmio {
    fn mmio_read(&mut self, _: MmioAddress, _: MmioAddressOffset, _: &mut [u8]) {}
    fn mmio_write(&mut self, _: MmioAddress, _: MmioAddressOffset, _: &[u8]) {}
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_device_memory_guest_writes_are_seen_without_exits() {
    if !kvm_available() {
        return;
    }
    // mov ax, 0xb800 ; mov es, ax ; mov word [es:0], 0x1f41 ; hlt
    let code = [
        0xB8, 0x00, 0xB8, 0x8E, 0xC0, 0x26, 0xC7, 0x06, 0x00, 0x00, 0x41, 0x1F, 0xF4,
    ];
    let mut window = None;
    let mut vcpu = boot_with(&code, |vm| {
        window = Some(vm.map_device_memory(0xB_8000, 0x8000).expect("map"))
    });
    assert_eq!(vcpu.run(), VcpuEvent::Halted);
    let mut cell = [0u8; 2];
    if let Some(w) = &window {
        w.read(0, &mut cell);
    }
    assert_eq!(cell, [0x41, 0x1F]);
    assert_eq!(vcpu.exits().total, 1);
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_device_memory_over_ram_is_rejected() {
    if !kvm_available() {
        return;
    }
    let mut vm = Vm::new(&REAL_MODE_RAM).expect("vm");
    let err = vm
        .map_device_memory(0x9_0000, 0x1_0000)
        .err()
        .map(|e| e.to_string());
    assert_eq!(
        err.as_deref(),
        Some("cannot place MMIO range [0x90000, +0x10000): overlaps guest RAM")
    );
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_register_mmio_over_device_memory_is_rejected() {
    if !kvm_available() {
        return;
    }
    let mut vm = Vm::new(&REAL_MODE_RAM).expect("vm");
    let _window = vm.map_device_memory(0xB_8000, 0x8000).expect("map");
    let err = vm
        .register_mmio(0xB_F000, 0x2000, Arc::new(Mutex::new(NullMmio)))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot place MMIO range [0xbf000, +0x2000): overlaps another device"
    );
}

/// Boots `code` at 0x7C00 in `mode` with a port recorder at 0x60..0x64; returns the bytes the
/// guest wrote there and the event that ended the run.
fn run_flat(mode: CpuMode, code: &[u8]) -> (VcpuEvent, Vec<u8>) {
    let mut vm = Vm::new(&REAL_MODE_RAM).expect("vm");
    vm.load_image(0x7C00, code).expect("load");
    let port = Arc::new(Mutex::new(Port::default()));
    vm.register_pio(0x60, 4, port.clone()).expect("register");
    let mut vcpu = vm.create_vcpu().expect("vcpu");
    let boot = BootCpu {
        mode,
        entry: Entry::Flat(0x7C00),
        stack: 0x7C00,
        rax: 0,
        rbx: 0,
    };
    vcpu.set_boot_cpu(&boot).expect("cpu");
    let event = vcpu.run();
    let written = port.lock().map(|p| p.written.clone()).unwrap_or_default();
    (event, written)
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_protected_mode_entry_has_pe_without_paging() {
    if !kvm_available() {
        return;
    }
    // mov eax, cr0 ; out 0x60, eax ; hlt   (32-bit code)
    let (event, written) = run_flat(CpuMode::Protected, &[0x0F, 0x20, 0xC0, 0xE7, 0x60, 0xF4]);
    assert_eq!(event, VcpuEvent::Halted);
    assert_eq!(written, 0x11u32.to_le_bytes());
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
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
    let (event, written) = run_flat(CpuMode::Long, &code);
    assert_eq!(event, VcpuEvent::Halted);
    assert_eq!(
        written,
        [0x8000_0011u32.to_le_bytes(), 1u32.to_le_bytes()].concat()
    );
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_flat_entry_in_real_mode_is_refused() {
    if !kvm_available() {
        return;
    }
    let mut vm = Vm::new(&REAL_MODE_RAM).expect("vm");
    let mut vcpu = vm.create_vcpu().expect("vcpu");
    let boot = BootCpu {
        mode: CpuMode::Real,
        entry: Entry::Flat(0x7C00),
        stack: 0x7C00,
        rax: 0,
        rbx: 0,
    };
    let err = vcpu.set_boot_cpu(&boot).err().map(|e| e.to_string());
    assert_eq!(
        err.as_deref(),
        Some(
            "entry 0x7c00 does not fit real mode (real mode takes SEG:OFF, the others an address)"
        )
    );
}

// The resumable vCPU: pause, resume, step, registers while paused, state.

/// `inc ax ; jmp short -3` at 0x7C00: a loop that counts in AX forever.
const COUNTING_LOOP: [u8; 3] = [0x40, 0xEB, 0xFD];

/// Pauses `vcpu` from another thread after `after`, and returns the event.
fn pause_after(vcpu: &mut Vcpu, after: Duration) -> VcpuEvent {
    let control = vcpu.control();
    let pauser = thread::spawn(move || {
        thread::sleep(after);
        control.pause();
    });
    let event = vcpu.run();
    let _ = pauser.join();
    event
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_paused_spinning_guest_resumes_where_it_was() {
    if !kvm_available() {
        return;
    }
    let mut vcpu = boot(&[0xEB, 0xFE]); // jmp $
    let first = pause_after(&mut vcpu, Duration::from_millis(50));
    vcpu.control().resume();
    let second = pause_after(&mut vcpu, Duration::from_millis(50));
    assert_eq!((first, second), (VcpuEvent::Paused, VcpuEvent::Paused));
    assert_eq!(rip(&vcpu), Some(0x7C00));
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_paused_counting_guest_continues_its_count() {
    if !kvm_available() {
        return;
    }
    let mut vcpu = boot(&COUNTING_LOOP);
    pause_after(&mut vcpu, Duration::from_millis(50));
    let before = vcpu.regs().expect("regs").rax & 0xFFFF;
    vcpu.control().resume();
    pause_after(&mut vcpu, Duration::from_millis(50));
    let after = vcpu.regs().expect("regs").rax & 0xFFFF;
    assert_ne!(before, after);
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_single_step_advances_exactly_one_instruction() {
    if !kvm_available() {
        return;
    }
    // mov ax, 1 ; mov bx, 2 ; hlt
    let mut vcpu = boot(&[0xB8, 0x01, 0x00, 0xBB, 0x02, 0x00, 0xF4]);
    let step = GuestDebug {
        single_step: true,
        breakpoints: vec![],
    };
    vcpu.set_guest_debug(&step).expect("debug");
    let event = vcpu.run();
    let VcpuEvent::Debug(debug) = event else {
        panic!("expected a debug event, got {event:?}")
    };
    assert!(debug.is_single_step());
    assert_eq!(rip(&vcpu), Some(0x7C03));
    assert_eq!(vcpu.regs().map(|r| (r.rax, r.rbx)).ok(), Some((1, 0)));
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_hardware_breakpoint_stops_at_its_address() {
    if !kvm_available() {
        return;
    }
    // nop ; nop ; nop ; hlt
    let mut vcpu = boot(&[0x90, 0x90, 0x90, 0xF4]);
    let breakpoint = HwBreakpoint {
        addr: 0x7C02,
        on: vmm_core::vcpu::BreakOn::Execute,
        len: 1,
    };
    vcpu.set_guest_debug(&GuestDebug {
        single_step: false,
        breakpoints: vec![breakpoint],
    })
    .expect("debug");
    let event = vcpu.run();
    assert!(matches!(event, VcpuEvent::Debug(d) if d.breakpoint_slot() == Some(0)));
    assert_eq!(rip(&vcpu), Some(0x7C02));
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_registers_written_while_paused_are_what_the_guest_sees() {
    if !kvm_available() {
        return;
    }
    let port = Arc::new(Mutex::new(Port::default()));
    // jmp $ (patched away below) ; out 0x60, al ; hlt
    let mut vcpu = boot_with(&[0xEB, 0xFE, 0xE6, 0x60, 0xF4], |vm| {
        vm.register_pio(0x60, 1, port.clone()).expect("register")
    });
    pause_after(&mut vcpu, Duration::from_millis(20));
    let mut regs = vcpu.regs().expect("regs");
    regs.rax = 0x77;
    regs.rip = 0x7C02;
    vcpu.set_regs(&regs).expect("set regs");
    vcpu.control().resume();
    assert_eq!(vcpu.run(), VcpuEvent::Halted);
    assert_eq!(
        port.lock().map(|p| p.written.clone()).unwrap_or_default(),
        vec![0x77]
    );
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_request_is_served_on_the_vcpu_thread_while_it_runs() {
    if !kvm_available() {
        return;
    }
    let mut vcpu = boot(&[0xEB, 0xFE]); // jmp $
    let control = vcpu.control();
    let asker = thread::spawn(move || {
        let rip =
            control.call(|vcpu: &mut dyn vmm_core::CpuBackend| vcpu.registers().map(|r| r.rip));
        control.stop(StopReason::Interrupted);
        rip
    });
    let event = vcpu.run();
    let seen = asker.join().ok().flatten().flatten();
    assert_eq!(event, VcpuEvent::Stopped(StopReason::Interrupted));
    assert_eq!(seen, Some(0x7C00));
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_request_is_served_while_paused() {
    if !kvm_available() {
        return;
    }
    let mut vcpu = boot(&[0xEB, 0xFE]); // jmp $
    pause_after(&mut vcpu, Duration::from_millis(20));
    let control = vcpu.control();
    let asker = thread::spawn(move || {
        let rip =
            control.call(|vcpu: &mut dyn vmm_core::CpuBackend| vcpu.registers().map(|r| r.rip));
        control.resume();
        rip
    });
    vcpu.wait_while_paused();
    let seen = asker.join().ok().flatten().flatten();
    assert_eq!(seen, Some(0x7C00));
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_vcpu_state_round_trips_into_the_guest() {
    if !kvm_available() {
        return;
    }
    let mut vcpu = boot(&COUNTING_LOOP);
    pause_after(&mut vcpu, Duration::from_millis(20));
    let saved = vcpu.state().expect("state");
    vcpu.control().resume();
    pause_after(&mut vcpu, Duration::from_millis(20));
    vcpu.set_state(&saved).expect("restore");
    let restored = vcpu.state().expect("state");
    assert_eq!(
        (
            restored.regs.rax,
            restored.regs.rip,
            restored.sregs.cs.selector
        ),
        (saved.regs.rax, saved.regs.rip, saved.sregs.cs.selector)
    );
    assert!(!saved.msrs.is_empty());
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_in_completes_before_a_stop_is_reported() {
    if !kvm_available() {
        return;
    }
    // The device asks for a stop while KVM still owes AL the value it read.
    let mut vm = Vm::new(&REAL_MODE_RAM).expect("vm");
    vm.load_image(0x7C00, &[0xE4, 0x60, 0xF4]).expect("load"); // in al, 0x60 ; hlt
    let slot: Arc<Mutex<Option<VcpuControl>>> = Arc::default();
    let device = Arc::new(Mutex::new(LateStop(slot.clone())));
    vm.register_pio(0x60, 1, device).expect("register");
    let mut vcpu = vm.create_vcpu().expect("vcpu");
    if let Ok(mut s) = slot.lock() {
        *s = Some(vcpu.control());
    }
    vcpu.set_boot_cpu(&BootCpu {
        mode: CpuMode::Real,
        entry: Entry::Real(RealAddress {
            segment: 0,
            offset: 0x7C00,
        }),
        stack: 0x7C00,
        rax: 0,
        rbx: 0,
    })
    .expect("cpu");
    assert_eq!(vcpu.run(), VcpuEvent::Stopped(StopReason::GuestExit(1)));
    assert_eq!(
        vcpu.regs().map(|r| (r.rax & 0xFF, r.rip)).ok(),
        Some((0x42, 0x7C02))
    );
}

/// Answers 0x42 and asks the vCPU (known once it exists) to stop.
struct LateStop(Arc<Mutex<Option<VcpuControl>>>);

impl MutDevicePio for LateStop {
    fn pio_read(&mut self, _: PioAddress, _: PioAddressOffset, data: &mut [u8]) {
        data.fill(0x42);
        if let Ok(Some(control)) = self.0.lock().as_deref() {
            control.stop(StopReason::GuestExit(1));
        }
    }
    fn pio_write(&mut self, _: PioAddress, _: PioAddressOffset, _: &[u8]) {}
}

/// An interrupt controller with one request line, asserted from the test.
struct OneLine {
    asserted: std::sync::atomic::AtomicBool,
    can_interrupt: bool,
}

impl vmm_core::InterruptController for OneLine {
    fn pending(&self) -> bool {
        self.asserted.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn acknowledge(&self) -> u8 {
        self.asserted
            .store(false, std::sync::atomic::Ordering::SeqCst);
        0x40
    }

    fn can_interrupt(&self) -> bool {
        self.can_interrupt
    }
}

/// Points vector 0x40 at 0000:7C20 (`mov bx, 0xbeef; iret`), then `sti; hlt; cli; hlt`.
const STI_HLT_WITH_HANDLER: [u8; 36] = {
    let mut code = [0x90u8; 36];
    let head = [
        0xC7, 0x06, 0x00, 0x01, 0x20, 0x7C, // mov word [0x100], 0x7c20
        0xC7, 0x06, 0x02, 0x01, 0x00, 0x00, // mov word [0x102], 0
        0xFB, 0xF4, 0xFA, 0xF4, // sti; hlt; cli; hlt
    ];
    let mut i = 0;
    while i < head.len() {
        code[i] = head[i];
        i += 1;
    }
    let handler = [0xBB, 0xEF, 0xBE, 0xCF]; // mov bx, 0xbeef; iret
    let mut j = 0;
    while j < handler.len() {
        code[0x20 + j] = handler[j];
        j += 1;
    }
    code
};

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_sti_hlt_waits_for_an_interrupt_and_runs_its_handler() {
    if !kvm_available() {
        return;
    }
    let mut vcpu = boot(&STI_HLT_WITH_HANDLER);
    let line = Arc::new(OneLine {
        asserted: false.into(),
        can_interrupt: true,
    });
    vcpu.set_interrupt_controller(line.clone());
    let control = vcpu.control();
    let raiser = thread::spawn(move || {
        thread::sleep(Duration::from_millis(50));
        line.asserted
            .store(true, std::sync::atomic::Ordering::SeqCst);
        control.interrupt();
    });
    let started = std::time::Instant::now();
    assert_eq!(vcpu.run(), VcpuEvent::Halted);
    assert!(started.elapsed() >= Duration::from_millis(50), "it waited");
    raiser.join().expect("raiser");
    let regs = vcpu.regs().expect("regs");
    assert_eq!(regs.rbx, 0xBEEF, "the handler ran");
    assert_eq!(vcpu.exits().injected, 1);
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_sti_hlt_with_nothing_to_wake_it_is_halted() {
    if !kvm_available() {
        return;
    }
    let mut vcpu = boot(&STI_HLT_WITH_HANDLER);
    vcpu.set_interrupt_controller(Arc::new(OneLine {
        asserted: false.into(),
        can_interrupt: false,
    }));
    let started = std::time::Instant::now();
    assert_eq!(vcpu.run(), VcpuEvent::Halted);
    assert!(started.elapsed() < Duration::from_millis(20));
    assert_eq!(vcpu.regs().expect("regs").rbx, 0);
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_waiting_in_hlt_is_stopped_from_another_thread() {
    if !kvm_available() {
        return;
    }
    let mut vcpu = boot(&STI_HLT_WITH_HANDLER);
    vcpu.set_interrupt_controller(Arc::new(OneLine {
        asserted: false.into(),
        can_interrupt: true,
    }));
    let control = vcpu.control();
    let stopper = thread::spawn(move || {
        thread::sleep(Duration::from_millis(30));
        control.stop(StopReason::Timeout);
    });
    assert_eq!(vcpu.run(), VcpuEvent::Stopped(StopReason::Timeout));
    stopper.join().expect("stopper");
}
