//! What a gdb client hands the stub beyond the protocol framing (which the gdbstub crate parses):
//! register files in any CPU mode, PC values, and the `--gdb` address. Nothing may panic; in
//! real mode a PC gdb writes must read back as written (within the 1 MiB + 64 KiB real mode
//! reaches), and the registers gdb reads must give back the same KVM state when written.
#![no_main]

use gdbstub_arch::x86::reg::{X86CoreRegs, X86_64CoreRegs};
use kvm_bindings::{kvm_regs, kvm_sregs};
use libfuzzer_sys::fuzz_target;
use vmm_cli::gdb::{listen_address, pc, set_pc, GdbRegs, Mode};

fn word(data: &[u8], i: usize) -> u64 {
    let mut b = [0u8; 8];
    for (k, byte) in b.iter_mut().enumerate() {
        *byte = data.get(i * 8 + k).copied().unwrap_or(0);
    }
    u64::from_le_bytes(b)
}

fuzz_target!(|data: &[u8]| {
    let _ = listen_address(&String::from_utf8_lossy(data));
    let mut regs = kvm_regs {
        rax: word(data, 0),
        rbx: word(data, 1),
        rip: word(data, 2),
        rflags: word(data, 3),
        rsp: word(data, 4),
        ..Default::default()
    };
    let mut sregs = kvm_sregs::default();
    let mode = word(data, 5) % 3;
    match mode {
        0 => {
            sregs.cs.selector = word(data, 6) as u16;
            sregs.cs.base = u64::from(sregs.cs.selector) << 4;
            regs.rip &= 0xFFFF;
        }
        1 => sregs.cr0 = 1,
        _ => {
            sregs.cr0 = 1 | 1 << 31;
            sregs.efer = 1 << 10 | 1 << 8;
        }
    }
    let target = word(data, 7);
    if Mode::of(&sregs) == Mode::Real {
        let linear = target % 0x10_FFF0;
        let mut r = regs;
        let mut s = sregs;
        set_pc(&mut r, &mut s, linear);
        assert_eq!(pc(&r, &s), linear, "a real-mode PC reads back as written");
        assert!(r.rip <= 0xFFFF);
    } else {
        let mut r = regs;
        let mut s = sregs;
        set_pc(&mut r, &mut s, target);
        assert_eq!(pc(&r, &s), target);
    }
    // What gdb reads, written back, leaves the general registers as they were.
    let before = (regs.rax as u32, regs.rbx as u32, regs.rsp as u32);
    let g32 = X86CoreRegs::from_kvm(&regs, &sregs);
    let (mut r, mut s) = (regs, sregs);
    g32.to_kvm(&mut r, &mut s);
    assert_eq!((r.rax as u32, r.rbx as u32, r.rsp as u32), before);
    let g64 = X86_64CoreRegs::from_kvm(&regs, &sregs);
    let (mut r, mut s) = (regs, sregs);
    g64.to_kvm(&mut r, &mut s);
    assert_eq!((r.rax, r.rbx, r.rsp), (regs.rax, regs.rbx, regs.rsp));
});
