//! Enums with names: each enum's names are written once (its `name()`), and the machine-file
//! parser, the command line and `check` all read them from there.

use vmm_core::{CpuMode, UnclaimedPolicy};

use crate::spec::{AccelChoice, DeviceType, ImageFormat, VgaMode};

/// An enum whose values have stable names (machine files, flags, messages).
pub trait Named: Copy + Send + Sync + 'static {
    /// Every value, in the order messages list them.
    const ALL: &'static [Self];
    /// The value's name.
    fn name(self) -> &'static str;
    /// A line for `--help`.
    fn help(self) -> &'static str;
}

/// The value called `name`.
pub fn from_name<T: Named>(name: &str) -> Option<T> {
    T::ALL.iter().copied().find(|v| v.name() == name)
}

/// The names, as messages list them: "real, protected, long".
pub fn allowed<T: Named>() -> String {
    T::ALL
        .iter()
        .map(|v| v.name())
        .collect::<Vec<_>>()
        .join(", ")
}

impl Named for CpuMode {
    const ALL: &'static [Self] = &[CpuMode::Real, CpuMode::Protected, CpuMode::Long];

    fn name(self) -> &'static str {
        CpuMode::name(self)
    }

    fn help(self) -> &'static str {
        match self {
            CpuMode::Real => "16-bit real mode, as a BIOS leaves a boot sector",
            CpuMode::Protected => "32-bit protected mode, flat segments, paging off",
            CpuMode::Long => "64-bit long mode, the first 4 GiB identity-mapped",
        }
    }
}

impl Named for UnclaimedPolicy {
    const ALL: &'static [Self] = &[UnclaimedPolicy::Log, UnclaimedPolicy::Stop];

    fn name(self) -> &'static str {
        UnclaimedPolicy::name(self)
    }

    fn help(self) -> &'static str {
        match self {
            UnclaimedPolicy::Log => {
                "reads give 0xFF, writes are dropped, each address reported once"
            }
            UnclaimedPolicy::Stop => "end the run as a guest fault",
        }
    }
}

impl Named for VgaMode {
    const ALL: &'static [Self] = &[VgaMode::Memory, VgaMode::Trap];

    fn name(self) -> &'static str {
        VgaMode::name(self)
    }

    fn help(self) -> &'static str {
        match self {
            VgaMode::Memory => "Memory mapped into the guest: writes cost no exits",
            VgaMode::Trap => "Every access traps to the device model, as in the seed",
        }
    }
}

impl Named for ImageFormat {
    const ALL: &'static [Self] = &[
        ImageFormat::Auto,
        ImageFormat::Flat,
        ImageFormat::Elf,
        ImageFormat::Multiboot,
    ];

    fn name(self) -> &'static str {
        ImageFormat::name(self)
    }

    fn help(self) -> &'static str {
        match self {
            ImageFormat::Auto => "multiboot or ELF where the image says so, otherwise flat",
            ImageFormat::Flat => "copied as it is to the load address",
            ImageFormat::Elf => "loaded by its program headers",
            ImageFormat::Multiboot => "a multiboot (v1) kernel",
        }
    }
}

impl Named for AccelChoice {
    const ALL: &'static [Self] = &[AccelChoice::Kvm, AccelChoice::Interp, AccelChoice::Auto];

    fn name(self) -> &'static str {
        AccelChoice::name(self)
    }

    fn help(self) -> &'static str {
        match self {
            AccelChoice::Kvm => "KVM runs the guest",
            AccelChoice::Interp => {
                "picovmm's own interpreter runs it (real and protected mode, paging, the x87)"
            }
            AccelChoice::Auto => "whichever runs this guest faster on this host",
        }
    }
}

impl Named for DeviceType {
    const ALL: &'static [Self] = &[
        DeviceType::VgaText,
        DeviceType::Debugcon,
        DeviceType::IsaDebugExit,
        DeviceType::Serial,
        DeviceType::Pic,
        DeviceType::Pit,
        DeviceType::Rtc,
        DeviceType::I8042,
        DeviceType::Bios,
        DeviceType::Plugin,
    ];

    fn name(self) -> &'static str {
        match self {
            DeviceType::VgaText => "vga-text",
            DeviceType::Debugcon => "debugcon",
            DeviceType::IsaDebugExit => "isa-debug-exit",
            DeviceType::Serial => "serial",
            DeviceType::Pic => "pic",
            DeviceType::Pit => "pit",
            DeviceType::Rtc => "rtc",
            DeviceType::I8042 => "i8042",
            DeviceType::Bios => "bios",
            DeviceType::Plugin => "plugin",
        }
    }

    fn help(self) -> &'static str {
        match self {
            DeviceType::VgaText => "VGA text mode: the 32 KiB window at 0xB8000",
            DeviceType::Debugcon => "a byte written to its port is output (QEMU's debugcon)",
            DeviceType::IsaDebugExit => "a value written ends the run (QEMU's isa-debug-exit)",
            DeviceType::Serial => "a 16550 UART",
            DeviceType::Pic => "the two 8259A interrupt controllers",
            DeviceType::Pit => "the 8254 timer and the speaker port",
            DeviceType::Rtc => "the MC146818 real-time clock and CMOS (ports 0x70/0x71, IRQ 8)",
            DeviceType::I8042 => "the keyboard controller and its keyboard",
            DeviceType::Bios => {
                "picovmm's BIOS, the VGA's registers and graphics window, the VESA display"
            }
            DeviceType::Plugin => "a device from a plugin library",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_names_round_trip_for_every_value() {
        let modes: Vec<Option<CpuMode>> = CpuMode::ALL
            .iter()
            .map(|m| from_name(Named::name(*m)))
            .collect();
        assert_eq!(
            modes,
            CpuMode::ALL.iter().copied().map(Some).collect::<Vec<_>>()
        );
    }

    #[test]
    fn test_allowed_lists_names_in_order() {
        assert_eq!(allowed::<CpuMode>(), "real, protected, long");
        assert_eq!(allowed::<ImageFormat>(), "auto, flat, elf, multiboot");
    }

    #[test]
    fn test_unknown_name_is_none() {
        assert_eq!(from_name::<VgaMode>("bitmap"), None);
    }
}
