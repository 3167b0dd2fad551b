//! The BIOS on the board: the vCPU's firmware ([`vmm_core::Firmware`]) wrapping
//! [`vmm_bios::Bios`], and the [`Machine`] its services see: guest RAM, the VGA text and
//! graphics windows and the ROM (device memory outside RAM), the port bus, the host clock, and
//! the vCPU's idle wait.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use kvm_bindings::{kvm_regs, kvm_segment, kvm_sregs};
use vm_device::bus::{MmioAddress, PioAddress};
use vm_device::device_manager::{IoManager, MmioManager, PioManager};
use vm_memory::{Bytes, GuestAddress, GuestMemoryBackend, GuestMemoryMmap, GuestMemoryRegion};
use vmm_bios::rom::{self, Trap};
use vmm_bios::{Bios, Cpu, Machine, Outcome};
use vmm_core::interrupt::VcpuTimer;
use vmm_core::{DeviceMemory, Firmware, FirmwareAction, FirmwareCall, StopReason, VcpuControl};

use crate::devices::screen::Screen;
use crate::devices::vga_window::{GraphicsWindow, Shown};

/// Guest memory that is not RAM: the windows the BIOS writes through.
#[derive(Clone)]
pub struct Windows {
    /// The VGA text window (0xB8000), if the machine has one.
    pub text: Option<(u64, Screen)>,
    /// The graphics window at 0xA0000.
    pub graphics: DeviceMemory,
    /// Whether it is memory, the planes behind it (then reached on the bus) or a bank.
    pub graphics_window: GraphicsWindow,
    /// The VESA linear frame buffer, when the machine has one.
    pub lfb: Option<DeviceMemory>,
    /// The ROM at 0xF0000.
    pub rom: DeviceMemory,
}

/// The machine as the BIOS's services see it during one call (or POST).
pub struct GuestMachine<'a> {
    /// Guest RAM.
    pub memory: &'a GuestMemoryMmap,
    /// The port bus.
    pub io: &'a IoManager,
    /// The windows outside RAM.
    pub windows: &'a Windows,
    /// The vCPU's control, to idle on; `None` during POST.
    pub control: Option<&'a VcpuControl>,
    /// The machine's timer when the vCPU's thread drives it: a wait on the guest's behalf
    /// raises its ticks as they fall due.
    pub timer: Option<&'a dyn VcpuTimer>,
}

impl GuestMachine<'_> {
    /// The piece of `[addr, addr + len)` one backing holds from `addr`: its length, and a
    /// closure-free description of where it is.
    fn window_at(&self, addr: u64) -> Option<(Backing<'_>, u64, u64)> {
        let w = self.windows;
        let inside = |base: u64, len: u64| (base..base + len).contains(&addr);
        let g = &w.graphics;
        if inside(g.base(), g.len()) {
            match (w.graphics_window.shown(), &w.lfb) {
                (Shown::Planes, _) => return Some((Backing::Bus, g.base(), g.len())),
                (Shown::Bank(offset), Some(lfb)) => {
                    return Some((Backing::Bank(lfb, offset), g.base(), g.len()))
                }
                _ => {}
            }
        }
        for device in [&w.graphics, &w.rom] {
            if inside(device.base(), device.len()) {
                return Some((Backing::Device(device), device.base(), device.len()));
            }
        }
        match &w.text {
            Some((base, screen)) if inside(*base, vmm_devices::vga_text::WINDOW_SIZE) => Some((
                Backing::Screen(screen),
                *base,
                vmm_devices::vga_text::WINDOW_SIZE,
            )),
            _ => None,
        }
    }
}

impl GuestMachine<'_> {
    /// Writes `buf` at `addr`; `as_guest`, the ROM's write protection holds.
    fn store(&mut self, addr: u32, buf: &[u8], as_guest: bool) {
        let mut done = 0;
        while done < buf.len() {
            let at = u64::from(addr) + done as u64;
            let rest = &buf[done..];
            let n = match self.window_at(at) {
                Some((backing, base, len)) => {
                    let n = rest.len().min((base + len - at) as usize);
                    match backing {
                        Backing::Device(d) if as_guest => d.guest_write(at - base, &rest[..n]),
                        Backing::Device(d) => d.write(at - base, &rest[..n]),
                        Backing::Screen(s) => s.write(at - base, &rest[..n]),
                        Backing::Bus => self.io.mmio_write(MmioAddress(at), &rest[..n]).is_ok(),
                        Backing::Bank(d, offset) => d.write(offset + at - base, &rest[..n]),
                    };
                    n
                }
                None => {
                    if self.memory.write_slice(rest, GuestAddress(at)).is_ok() {
                        rest.len()
                    } else {
                        let _ = self.memory.write_slice(&rest[..1], GuestAddress(at));
                        1
                    }
                }
            };
            done += n;
        }
    }
}

enum Backing<'a> {
    Device(&'a DeviceMemory),
    Screen(&'a Screen),
    /// A device on the MMIO bus (the VGA's planes).
    Bus,
    /// The frame buffer from an offset (a VESA bank in the window).
    Bank(&'a DeviceMemory, u64),
}

impl Machine for GuestMachine<'_> {
    fn read(&mut self, addr: u32, buf: &mut [u8]) {
        let mut done = 0;
        while done < buf.len() {
            let at = u64::from(addr) + done as u64;
            let rest = &mut buf[done..];
            let n = match self.window_at(at) {
                Some((backing, base, len)) => {
                    let n = rest.len().min((base + len - at) as usize);
                    match backing {
                        Backing::Device(d) => d.read(at - base, &mut rest[..n]),
                        Backing::Screen(s) => s.read(at - base, &mut rest[..n]),
                        Backing::Bus => {
                            if self.io.mmio_read(MmioAddress(at), &mut rest[..n]).is_err() {
                                rest[..n].fill(0xFF);
                            }
                        }
                        Backing::Bank(d, offset) => d.read(offset + at - base, &mut rest[..n]),
                    }
                    n
                }
                None => {
                    // RAM, one byte at a time only where a region ends inside the access.
                    if self.memory.read_slice(rest, GuestAddress(at)).is_ok() {
                        rest.len()
                    } else {
                        let mut b = [0xFF];
                        let _ = self.memory.read_slice(&mut b, GuestAddress(at));
                        rest[0] = b[0];
                        1
                    }
                }
            };
            done += n;
        }
    }

    fn write(&mut self, addr: u32, buf: &[u8]) {
        self.store(addr, buf, true);
    }

    fn load_rom(&mut self, addr: u32, buf: &[u8]) {
        self.store(addr, buf, false);
    }

    fn inb(&mut self, port: u16) -> u8 {
        let mut b = [0u8];
        if self.io.pio_read(PioAddress(port), &mut b).is_err() {
            return 0xFF;
        }
        b[0]
    }

    fn outb(&mut self, port: u16, value: u8) {
        let _ = self.io.pio_write(PioAddress(port), &[value]);
    }

    fn inw(&mut self, port: u16) -> u16 {
        let mut b = [0u8; 2];
        if self.io.pio_read(PioAddress(port), &mut b).is_err() {
            return 0xFFFF;
        }
        u16::from_le_bytes(b)
    }

    fn outw(&mut self, port: u16, value: u16) {
        let _ = self.io.pio_write(PioAddress(port), &value.to_le_bytes());
    }

    fn now(&self) -> (u64, u32) {
        let t = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        (t.as_secs(), t.subsec_nanos())
    }

    fn clear_wake(&mut self) {
        if let Some(c) = self.control {
            c.clear_notice();
        }
    }

    fn wait(&mut self, timeout: Duration) {
        let due = self.timer.and_then(|t| t.service());
        let timeout = match due {
            Some(due) => timeout.min(due.saturating_duration_since(std::time::Instant::now())),
            None => timeout,
        };
        match self.control {
            Some(c) => c.idle(timeout),
            None => std::thread::sleep(timeout),
        }
        if let Some(timer) = self.timer {
            timer.service();
        }
    }

    fn is_memory(&mut self, addr: u32, len: u64) -> bool {
        let mut at = u64::from(addr);
        let end = at + len;
        while at < end {
            let next = match self.window_at(at) {
                Some((_, base, size)) => base + size,
                None => match self
                    .memory
                    .iter()
                    .find(|r| at >= r.start_addr().0 && at - r.start_addr().0 < r.len())
                {
                    Some(r) => r.start_addr().0 + r.len(),
                    None => return false,
                },
            };
            at = next;
        }
        true
    }

    fn log(&mut self, message: &str) {
        log::warn!("{message}");
    }
}

/// The BIOS as the vCPU's firmware.
pub struct BiosFirmware {
    bios: Bios,
    windows: Windows,
    timer: Option<Arc<dyn VcpuTimer>>,
}

impl BiosFirmware {
    /// Firmware serving `bios` over `windows`, raising `timer`'s ticks while it waits.
    pub fn new(bios: Bios, windows: Windows, timer: Option<Arc<dyn VcpuTimer>>) -> Self {
        BiosFirmware {
            bios,
            windows,
            timer,
        }
    }
}

impl Firmware for BiosFirmware {
    fn port(&self) -> u16 {
        rom::PORT
    }

    fn owns(&self, code: u64) -> bool {
        u32::try_from(code).ok().and_then(Trap::at).is_some()
    }

    fn call(&mut self, call: &mut FirmwareCall<'_>) -> FirmwareAction {
        // The stubs are real-mode code: a protected-mode guest that jumps into them gets
        // nothing done. Virtual-8086 mode runs them as real mode does (a memory manager such
        // as EMM386 reflects DOS's BIOS calls there), its segments being selector * 16.
        let v86 = call.regs.rflags & (1 << 17) != 0;
        if call.sregs.cr0 & 1 != 0 && !v86 {
            return FirmwareAction::Resume;
        }
        // KVM's real-mode emulator on some hosts ignores the IDT's limit; a PC does not: an
        // interrupt whose vector lies past it faults, twice, and the machine shuts down.
        let out_at = call
            .sregs
            .cs
            .base
            .wrapping_add(call.regs.rip)
            .wrapping_sub(2);
        let vector = match u32::try_from(out_at).ok().and_then(Trap::at) {
            Some(Trap::Vector(v)) => Some(v),
            Some(Trap::TimerTick) => Some(rom::irq_vector(0)),
            _ => None,
        };
        if vector.is_some_and(|v| u32::from(v) * 4 + 3 > u32::from(call.sregs.idt.limit)) {
            return FirmwareAction::TripleFault;
        }
        let mut cpu = cpu_of(&call.regs, &call.sregs);
        let before = cpu;
        let mut machine = GuestMachine {
            memory: call.memory,
            io: call.io,
            windows: &self.windows,
            control: Some(call.control),
            timer: self.timer.as_deref(),
        };
        let outcome = self.bios.call(&mut cpu, &mut machine);
        if cpu != before {
            write_back(&cpu, &mut call.regs, &mut call.sregs);
        }
        match outcome {
            Outcome::Resume => FirmwareAction::Resume,
            Outcome::PowerOff => {
                log::warn!("the guest turned the machine off (APM)");
                FirmwareAction::Halt
            }
            Outcome::Reset => {
                call.control.stop(StopReason::Reset);
                FirmwareAction::Resume
            }
            Outcome::NoBootDisk => {
                log::warn!(
                    "no bootable disk: the guest gave up booting (int 18h, or int 19h with no drive)"
                );
                FirmwareAction::Halt
            }
        }
    }
}

/// The BIOS's view of the registers.
pub fn cpu_of(regs: &kvm_regs, sregs: &kvm_sregs) -> Cpu {
    Cpu {
        eax: regs.rax as u32,
        ebx: regs.rbx as u32,
        ecx: regs.rcx as u32,
        edx: regs.rdx as u32,
        esi: regs.rsi as u32,
        edi: regs.rdi as u32,
        ebp: regs.rbp as u32,
        esp: regs.rsp as u32,
        ip: regs.rip as u16,
        cs: sregs.cs.selector,
        ds: sregs.ds.selector,
        es: sregs.es.selector,
        ss: sregs.ss.selector,
    }
}

/// Puts the BIOS's registers back into KVM's structures (real-mode segments: base =
/// selector * 16).
pub fn write_back(cpu: &Cpu, regs: &mut kvm_regs, sregs: &mut kvm_sregs) {
    regs.rax = u64::from(cpu.eax);
    regs.rbx = u64::from(cpu.ebx);
    regs.rcx = u64::from(cpu.ecx);
    regs.rdx = u64::from(cpu.edx);
    regs.rsi = u64::from(cpu.esi);
    regs.rdi = u64::from(cpu.edi);
    regs.rbp = u64::from(cpu.ebp);
    regs.rsp = u64::from(cpu.esp);
    regs.rip = u64::from(cpu.ip);
    let set = |seg: &mut kvm_segment, selector: u16| {
        if seg.selector != selector {
            seg.selector = selector;
            seg.base = u64::from(selector) << 4;
        }
    };
    set(&mut sregs.cs, cpu.cs);
    set(&mut sregs.ds, cpu.ds);
    set(&mut sregs.es, cpu.es);
    set(&mut sregs.ss, cpu.ss);
}
