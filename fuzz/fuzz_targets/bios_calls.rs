//! The BIOS's services called the way a hostile guest can call them: after POST, each 40-byte
//! record is one trap (any vector, any registers, CS:IP anywhere) preceded by a guest write of
//! up to 8 bytes anywhere in the first MiB (the vector table, the BIOS Data Area's cursor,
//! keyboard buffer and COM port fields, the stack frame). Nothing may panic or loop forever;
//! a disk image of one sector is behind drive 0.
#![no_main]

use std::collections::VecDeque;
use std::io::Write;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use vmm_bios::{Bios, BiosConfig, Cpu, Disk, Drive, Machine, RamRange, SerialKeys, WriteMode};

/// 1 MiB and 64 KiB of memory, ports that answer with fuzzer bytes, no waiting.
struct Guest {
    mem: Vec<u8>,
    port_bytes: VecDeque<u8>,
}

impl Machine for Guest {
    fn read(&mut self, addr: u32, buf: &mut [u8]) {
        for (i, b) in buf.iter_mut().enumerate() {
            *b = self.mem.get(addr as usize + i).copied().unwrap_or(0xFF);
        }
    }
    fn write(&mut self, addr: u32, buf: &[u8]) {
        for (i, &b) in buf.iter().enumerate() {
            if let Some(m) = self.mem.get_mut(addr as usize + i) {
                *m = b;
            }
        }
    }
    fn inb(&mut self, _port: u16) -> u8 {
        self.port_bytes.pop_front().unwrap_or(0xFF)
    }
    fn outb(&mut self, _port: u16, _value: u8) {}
    fn now(&self) -> (u64, u32) {
        (1_796_072_709, 0)
    }
    fn clear_wake(&mut self) {}
    fn wait(&mut self, _timeout: Duration) {}
    fn log(&mut self, _message: &str) {}
}

fuzz_target!(|data: &[u8]| {
    let dir = std::env::temp_dir().join(format!("picovmm-fuzz-bios-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let image = dir.join("disk.img");
    let _ = std::fs::File::create(&image).and_then(|mut f| f.write_all(&[0x55; 512]));
    let Ok(disk) = Disk::open(&image, None, WriteMode::Snapshot) else {
        return;
    };
    let mut bios = Bios::new(BiosConfig {
        ram: vec![RamRange { base: 0, size: 0xA_0000 }],
        drives: vec![Drive { number: 0, disk }],
        serial_ports: vec![0x3F8],
        serial_keys: SerialKeys::On(0x3F8),
    });
    let mut guest = Guest {
        mem: vec![0; 0x11_0000],
        port_bytes: VecDeque::new(),
    };
    bios.post(&mut guest);
    for r in data.chunks_exact(40) {
        let word = |i: usize| u16::from_le_bytes([r[i], r[i + 1]]);
        let dword = |i: usize| u32::from_le_bytes([r[i], r[i + 1], r[i + 2], r[i + 3]]);
        // A guest write of r[0] % 9 bytes at a 20-bit address.
        let len = usize::from(r[0] % 9);
        let at = dword(1) & 0xF_FFFF;
        guest.write(at, &r[5..5 + len]);
        guest.port_bytes.extend(&r[13..16]);
        // The trap: a vector stub's out, or anywhere in the ROM.
        let ip = if r[16] & 1 == 0 {
            vmm_bios::rom::stub(r[17]) + vmm_bios::rom::STUB_OUT + 2
        } else {
            word(17)
        };
        let mut cpu = Cpu {
            eax: dword(19),
            ebx: dword(23),
            ecx: dword(27),
            edx: dword(31),
            esi: u32::from(word(35)),
            edi: u32::from(word(37)),
            esp: u32::from(r[39]) << 8,
            ip,
            cs: vmm_bios::rom::SEGMENT,
            ds: word(35).rotate_left(4),
            es: word(37).rotate_left(4),
            ss: 0,
            ebp: dword(1),
        };
        let _ = bios.call(&mut cpu, &mut guest);
    }
    let _ = std::fs::remove_file(&image);
});
