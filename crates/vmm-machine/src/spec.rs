//! A machine as picovmm will build it: memory map, boot image, CPU state and devices, each
//! value remembering where it came from (a place in the machine file, a flag, or a default) so
//! that an error can point at it.

use std::ops::Range;
use std::path::PathBuf;

use vmm_core::layout::{
    BOOT_SECTOR_LOAD, HIGH_RAM_START, LOW_RAM_END, REAL_MODE_STACK, VGA_TEXT_BASE,
};
use vmm_core::{CpuMode, RamRegion, RealAddress, UnclaimedPolicy};
use vmm_devices::{debug_exit, debugcon, serial};

/// An entry point as given: real-mode `SEG:OFF`, or an address (whose meaning depends on the
/// CPU mode: in real mode, the segment:offset that reaches it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryAddress {
    /// `SEG:OFF`.
    SegOff(RealAddress),
    /// An address.
    Linear(u64),
}

/// How the boot image is loaded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ImageFormat {
    /// Multiboot if it has a multiboot header, ELF if it starts like ELF, otherwise flat.
    #[default]
    Auto,
    /// Copied as it is to the load address.
    Flat,
    /// Loaded by its program headers; entry from its header.
    Elf,
    /// A multiboot (v1) kernel.
    Multiboot,
}

impl ImageFormat {
    /// The name used in machine files.
    pub fn name(self) -> &'static str {
        match self {
            ImageFormat::Auto => "auto",
            ImageFormat::Flat => "flat",
            ImageFormat::Elf => "elf",
            ImageFormat::Multiboot => "multiboot",
        }
    }
}

/// Where a value came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// Bytes of the machine file.
    File(Range<usize>),
    /// A command-line flag, by name.
    Flag(&'static str),
    /// picovmm's default.
    Default,
}

/// A value and its origin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Located<T> {
    /// The value.
    pub value: T,
    /// Where it came from.
    pub origin: Origin,
}

impl<T> Located<T> {
    /// A value picovmm chose.
    pub fn default(value: T) -> Self {
        Located {
            value,
            origin: Origin::Default,
        }
    }

    /// A value given with a flag.
    pub fn flag(value: T, flag: &'static str) -> Self {
        Located {
            value,
            origin: Origin::Flag(flag),
        }
    }
}

/// How the VGA text window reaches the guest.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum VgaMode {
    /// Backed by memory mapped into the guest: writes cost no exits; the screen is read when
    /// it is printed.
    #[default]
    Memory,
    /// Trapped: every access is an MMIO exit to the device model (the seed's way).
    Trap,
}

impl VgaMode {
    /// The name used in machine files and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            VgaMode::Memory => "memory",
            VgaMode::Trap => "trap",
        }
    }
}

/// A plugin device as the machine file names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PluginSpec {
    /// The library as written: a name, or a path.
    pub library: Located<String>,
    /// Its interrupt lines on the PIC, in the order the plugin numbers them.
    pub irqs: Vec<u8>,
    /// The folder relative paths are resolved against (the machine file's).
    pub base_dir: PathBuf,
    /// The ports or MMIO range it occupies.
    pub range: DeviceRange,
    /// Its `config` table as TOML text ("" when none).
    pub config_toml: String,
    /// Where the config (or, without one, the library) was given.
    pub config_origin: Origin,
}

/// Which CPU backend runs the guest, as asked.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AccelChoice {
    /// KVM.
    Kvm,
    /// picovmm's interpreter (real and protected mode).
    Interp,
    /// Whichever runs this guest faster on this host (vmm_core::accel::choose_auto): the
    /// default, so that a host without KVM, or whose KVM emulates real mode, runs guests well.
    #[default]
    Auto,
}

impl AccelChoice {
    /// The name used in machine files and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            AccelChoice::Kvm => "kvm",
            AccelChoice::Interp => "interp",
            AccelChoice::Auto => "auto",
        }
    }

    /// The backend for a guest that starts in `mode`, and why; `debugging` when a debugger
    /// may step it (single steps are exact in the interpreter: docs/debugging.md).
    pub fn resolve(self, mode: CpuMode, debugging: bool) -> (vmm_core::Accel, &'static str) {
        use vmm_core::accel::{choose_auto, kvm_support};
        match self {
            AccelChoice::Kvm => (vmm_core::Accel::Kvm, "asked for (--accel kvm)"),
            AccelChoice::Interp => (vmm_core::Accel::Interp, "asked for (--accel interp)"),
            AccelChoice::Auto => {
                if debugging && mode == CpuMode::Real {
                    return (
                        vmm_core::Accel::Interp,
                        "gdb is served: the interpreter steps real-mode code exactly",
                    );
                }
                let support = kvm_support(
                    std::path::Path::new("/dev/kvm"),
                    std::path::Path::new("/sys/module"),
                );
                choose_auto(support, mode)
            }
        }
    }
}

/// The device types a machine file may name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceType {
    /// VGA text mode (`vga-text`).
    VgaText,
    /// The debug console (`debugcon`).
    Debugcon,
    /// QEMU's isa-debug-exit (`isa-debug-exit`).
    IsaDebugExit,
    /// A 16550 UART (`serial`).
    Serial,
    /// The 8259A pair (`pic`).
    Pic,
    /// The 8254 timer (`pit`).
    Pit,
    /// The real-time clock and CMOS (`rtc`).
    Rtc,
    /// The keyboard controller (`i8042`).
    I8042,
    /// picovmm's BIOS (`bios`).
    Bios,
    /// A device from a plugin library (`plugin`).
    Plugin,
}

/// The device models.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeviceKind {
    /// VGA text mode at an MMIO base.
    VgaText {
        /// Base of the 32 KiB window.
        mmio: u64,
        /// How the window reaches the guest.
        mode: VgaMode,
    },
    /// Debug console at a port.
    Debugcon {
        /// Its port.
        port: u16,
    },
    /// isa-debug-exit at a port.
    IsaDebugExit {
        /// Its first port.
        port: u16,
    },
    /// A 16550 UART.
    Serial {
        /// Its first port.
        port: u16,
        /// Its interrupt line on the PIC.
        irq: u8,
        /// Where transmitted bytes go: a file, or stdout when `None`.
        output: Option<Located<PathBuf>>,
    },
    /// The two 8259A interrupt controllers (and the ELCR).
    Pic,
    /// The 8254 timer and the speaker port 0x61.
    Pit,
    /// The MC146818 real-time clock and CMOS at 0x70/0x71 (IRQ 8).
    Rtc,
    /// The i8042 keyboard controller with its keyboard.
    I8042 {
        /// Key events typed as the machine starts (from the machine file's `keys`).
        keys: Vec<vmm_devices::keymap::KeyEvent>,
        /// A PS/2 mouse on its auxiliary port (IRQ 12).
        mouse: bool,
    },
    /// picovmm's BIOS: its ROM, the VGA's registers and graphics window, its call port.
    Bios,
    /// A device from a plugin library.
    Plugin(Box<PluginSpec>),
}

/// A disk image the BIOS serves as a drive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DriveSpec {
    /// The image file.
    pub path: PathBuf,
    /// Floppy or hard disk; by the image's size when `None`.
    pub kind: Option<vmm_bios::DriveKind>,
    /// How writes are treated.
    pub mode: vmm_bios::WriteMode,
}

/// An address range a device occupies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceRange {
    /// Ports `[base, base + len)`.
    Port {
        /// First port.
        base: u16,
        /// Number of ports.
        len: u16,
    },
    /// Guest-physical `[base, base + len)`.
    Mmio {
        /// First address.
        base: u64,
        /// Length in bytes.
        len: u64,
    },
}

impl std::fmt::Display for DeviceRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            DeviceRange::Port { base, len: 1 } => write!(f, "port {base:#x}"),
            DeviceRange::Port { base, len } => {
                write!(
                    f,
                    "ports [{base:#x}, {:#x})",
                    u32::from(base) + u32::from(len)
                )
            }
            DeviceRange::Mmio { base, len } => {
                write!(f, "MMIO [{base:#x}, {:#x})", base.saturating_add(len))
            }
        }
    }
}

/// The machine file a spec was read from, for diagnostics.
#[derive(Clone, Debug)]
pub struct SourceFile {
    /// The path as the user gave it.
    pub path: PathBuf,
    /// Its text.
    pub text: String,
}

/// A whole machine.
#[derive(Clone, Debug)]
pub struct MachineSpec {
    /// A name for messages.
    pub name: String,
    /// The file it came from, if any.
    pub source: Option<SourceFile>,
    /// RAM regions.
    pub memory: Vec<Located<RamRegion>>,
    /// Boot image path (resolved against the machine file's folder).
    pub image: Option<Located<PathBuf>>,
    /// Where the image is loaded.
    pub load: Located<u64>,
    /// CPU mode at entry.
    pub mode: Located<CpuMode>,
    /// First instruction; `None` means the load address.
    pub entry: Option<Located<EntryAddress>>,
    /// Initial stack pointer.
    pub stack: Located<u64>,
    /// How the image is loaded.
    pub format: Located<ImageFormat>,
    /// Command line for a multiboot kernel.
    pub cmdline: Located<String>,
    /// Devices.
    pub devices: Vec<Located<DeviceKind>>,
    /// Disk images for the BIOS, in drive order.
    pub drives: Vec<Located<DriveSpec>>,
    /// Whether the BIOS takes bytes arriving on the first serial port as key presses (as
    /// SeaBIOS's serial console does); off when a front end owns the keyboard.
    pub serial_keys: bool,
    /// What an unclaimed access does.
    pub unclaimed: UnclaimedPolicy,
    /// Which CPU backend runs the guest.
    pub accel: AccelChoice,
    /// Where to serve gdb (`[HOST:]PORT` resolved to `HOST:PORT`), if anywhere.
    pub gdb: Option<Located<String>>,
    /// Whether the guest waits for gdb before its first instruction.
    pub gdb_wait: bool,
    /// Where to serve the control socket, if anywhere.
    pub control: Option<Located<std::path::PathBuf>>,
}

impl MachineSpec {
    /// The built-in default machine: 640 KiB of RAM at 0, VGA text at 0xB8000, the debug
    /// console at 0xE9, isa-debug-exit at 0xF4, COM1 at 0x3F8 on IRQ 4, the PIC pair, the PIT
    /// the i8042 and the BIOS, the image at 0x7C00 in real mode.
    pub fn default_machine() -> Self {
        MachineSpec {
            name: "default".to_owned(),
            source: None,
            memory: vec![Located::default(RamRegion {
                base: 0,
                size: LOW_RAM_END,
            })],
            image: None,
            load: Located::default(BOOT_SECTOR_LOAD),
            mode: Located::default(CpuMode::Real),
            entry: None,
            stack: Located::default(REAL_MODE_STACK),
            format: Located::default(ImageFormat::Auto),
            cmdline: Located::default(String::new()),
            devices: vec![
                Located::default(DeviceKind::VgaText {
                    mmio: VGA_TEXT_BASE,
                    mode: VgaMode::Memory,
                }),
                Located::default(DeviceKind::Debugcon {
                    port: debugcon::DEFAULT_PORT,
                }),
                Located::default(DeviceKind::IsaDebugExit {
                    port: debug_exit::DEFAULT_PORT,
                }),
                Located::default(DeviceKind::Serial {
                    port: serial::COM1_PORT,
                    irq: serial::COM1_IRQ,
                    output: None,
                }),
                Located::default(DeviceKind::Pic),
                Located::default(DeviceKind::Pit),
                Located::default(DeviceKind::Rtc),
                Located::default(DeviceKind::I8042 {
                    keys: Vec::new(),
                    mouse: false,
                }),
                Located::default(DeviceKind::Bios),
            ],
            drives: Vec::new(),
            serial_keys: true,
            unclaimed: UnclaimedPolicy::default(),
            accel: AccelChoice::default(),
            gdb: None,
            gdb_wait: false,
            control: None,
        }
    }

    /// Replaces the memory map with `size` bytes laid out as on a PC: up to 640 KiB at 0, the
    /// rest from 1 MiB, leaving the legacy hole (VGA, ROMs) for devices.
    pub fn set_memory_size(&mut self, size: u64) {
        let low = size.min(LOW_RAM_END);
        let mut regions = vec![Located::flag(RamRegion { base: 0, size: low }, "--memory")];
        if size > LOW_RAM_END {
            let high = RamRegion {
                base: HIGH_RAM_START,
                size: size - LOW_RAM_END,
            };
            regions.push(Located::flag(high, "--memory"));
        }
        self.memory = regions;
    }

    /// Whether the machine has a device of type `ty`.
    pub fn has(&self, ty: DeviceType) -> bool {
        self.devices.iter().any(|d| d.value.device_type() == ty)
    }

    /// The boot image, as a flag would give it (what `--image` does).
    pub fn set_image(&mut self, path: impl Into<PathBuf>) {
        self.image = Some(Located::flag(path.into(), "--image"));
    }

    /// Sets how every VGA text device reaches the guest.
    pub fn set_vga_mode(&mut self, mode: VgaMode) {
        for device in &mut self.devices {
            if let DeviceKind::VgaText { mode: m, .. } = &mut device.value {
                *m = mode;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_set_memory_size_small_is_one_low_region() {
        let mut spec = MachineSpec::default_machine();
        spec.set_memory_size(0x1_0000);
        let regions: Vec<RamRegion> = spec.memory.iter().map(|r| r.value).collect();
        assert_eq!(
            regions,
            vec![RamRegion {
                base: 0,
                size: 0x1_0000
            }]
        );
    }

    #[test]
    fn test_set_memory_size_large_skips_legacy_hole() {
        let mut spec = MachineSpec::default_machine();
        spec.set_memory_size(16 << 20);
        let regions: Vec<RamRegion> = spec.memory.iter().map(|r| r.value).collect();
        assert_eq!(
            regions,
            vec![
                RamRegion {
                    base: 0,
                    size: 0xA_0000
                },
                RamRegion {
                    base: 0x10_0000,
                    size: (16 << 20) - 0xA_0000
                }
            ]
        );
    }
}
