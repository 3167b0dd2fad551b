//! The machine file's TOML shape. Parsing only: every key is typed and unknown keys are errors;
//! values that validation may reject keep their span (`toml::Spanned`).

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;
use toml::Spanned;

use crate::units::{parse_size, SIZE_FORMS};

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MachineFile {
    /// A name for messages.
    pub name: Option<String>,
    /// `"log"` or `"stop"`.
    pub unclaimed: Option<Spanned<String>>,
    /// Which CPU backend runs the guest: "kvm", "interp" or "auto".
    pub accel: Option<Spanned<String>>,
    /// RAM regions.
    #[serde(default)]
    pub memory: Vec<Spanned<MemoryTable>>,
    /// Boot image and CPU state.
    pub boot: Option<BootTable>,
    /// Devices.
    #[serde(default, rename = "device")]
    pub devices: Vec<Spanned<DeviceTable>>,
    /// The gdb stub.
    pub debug: Option<DebugTable>,
    /// The control socket.
    pub control: Option<ControlTable>,
    /// Disk images for the BIOS.
    #[serde(default, rename = "drive")]
    pub drives: Vec<Spanned<DriveTable>>,
}

/// One `[[drive]]`: a raw disk image the BIOS serves.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DriveTable {
    /// The image, relative to the machine file.
    pub image: Spanned<String>,
    /// "floppy" or "hd"; by size when absent.
    pub kind: Option<Spanned<String>>,
    /// Refuse writes (the BIOS's write-protect error).
    pub readonly: Option<Spanned<bool>>,
    /// Keep writes in memory (QEMU's -snapshot).
    pub snapshot: Option<Spanned<bool>>,
}

/// The `[debug]` table: what `--gdb` and `--gdb-wait` say.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DebugTable {
    /// `[HOST:]PORT` to serve gdb on.
    pub gdb: Option<Spanned<String>>,
    /// Stop before the first instruction until gdb continues.
    pub wait: Option<Spanned<bool>>,
}

/// The `[control]` table: what `--control` says.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ControlTable {
    /// `unix:PATH` (relative to the machine file) to serve the control socket on.
    pub socket: Spanned<String>,
}

/// One `[[memory]]` region.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemoryTable {
    /// Guest-physical base.
    pub base: Spanned<Unsigned>,
    /// Size.
    pub size: Spanned<Size>,
}

/// The `[boot]` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BootTable {
    /// Image path, relative to the machine file.
    pub image: Option<Spanned<String>>,
    /// Load address.
    pub load: Option<Spanned<Unsigned>>,
    /// CPU mode.
    pub mode: Option<Spanned<String>>,
    /// Entry point: `"SEG:OFF"` or a linear address.
    pub entry: Option<Spanned<EntryValue>>,
    /// Initial stack pointer.
    pub stack: Option<Spanned<Unsigned>>,
    /// Image format: "auto", "flat", "elf" or "multiboot".
    pub format: Option<Spanned<String>>,
    /// Command line for a multiboot kernel.
    pub cmdline: Option<Spanned<String>>,
}

/// One `[[device]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceTable {
    /// The device type.
    #[serde(rename = "type")]
    pub kind: Spanned<String>,
    /// MMIO base, for MMIO devices.
    pub mmio: Option<Spanned<Unsigned>>,
    /// First port, for port devices.
    pub port: Option<Spanned<Unsigned>>,
    /// How a vga-text window reaches the guest: "memory" or "trap".
    pub mode: Option<Spanned<String>>,
    /// A plugin's library: a name looked up on the plugin path, or a path to a `.so`.
    pub library: Option<Spanned<String>>,
    /// How many ports a plugin spans.
    pub ports: Option<Spanned<Unsigned>>,
    /// How many bytes of MMIO a plugin spans.
    pub size: Option<Spanned<Size>>,
    /// Where a serial port's output goes: a file, relative to the machine file.
    pub output: Option<Spanned<String>>,
    /// A plugin's configuration, handed to it as TOML text.
    pub config: Option<Spanned<toml::Table>>,
    /// A serial port's interrupt line, or a plugin's lines (one number or a list).
    pub irq: Option<Spanned<Irqs>>,
    /// Keys an i8042's keyboard types as the machine starts.
    pub keys: Option<Spanned<String>>,
    /// An i8042 with a PS/2 mouse on its auxiliary port (IRQ 12).
    pub mouse: Option<Spanned<bool>>,
}

/// An address, port or other number that cannot be negative.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unsigned(pub u64);

impl<'de> Deserialize<'de> for Unsigned {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct UnsignedVisitor;
        impl Visitor<'_> for UnsignedVisitor {
            type Value = Unsigned;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "a number of 0 or more, like 0x7c00")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Unsigned, E> {
                u64::try_from(v).map(Unsigned).map_err(|_| {
                    E::custom(format!(
                        "{v} is negative; expected a number of 0 or more, like 0x7c00"
                    ))
                })
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Unsigned, E> {
                Ok(Unsigned(v))
            }
        }
        d.deserialize_any(UnsignedVisitor)
    }
}

/// Interrupt lines: `irq = 4` or `irq = [4, 3]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Irqs(pub Vec<u64>);

impl<'de> Deserialize<'de> for Irqs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct IrqsVisitor;
        impl<'de> Visitor<'de> for IrqsVisitor {
            type Value = Irqs;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "an interrupt line like 4, or a list of them like [4, 3]")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Irqs, E> {
                u64::try_from(v)
                    .map(|n| Irqs(vec![n]))
                    .map_err(|_| E::custom(format!("irq {v} is negative")))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Irqs, E> {
                Ok(Irqs(vec![v]))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Irqs, A::Error> {
                let mut lines = Vec::new();
                while let Some(Unsigned(n)) = seq.next_element()? {
                    lines.push(n);
                }
                Ok(Irqs(lines))
            }
        }
        d.deserialize_any(IrqsVisitor)
    }
}

/// A size in bytes, written as a number or a string with a unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Size(pub u64);

impl<'de> Deserialize<'de> for Size {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct SizeVisitor;
        impl Visitor<'_> for SizeVisitor {
            type Value = Size;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{SIZE_FORMS}")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Size, E> {
                u64::try_from(v)
                    .map(Size)
                    .map_err(|_| E::custom(format!("size {v} is negative")))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Size, E> {
                Ok(Size(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Size, E> {
                parse_size(v).map(Size).map_err(E::custom)
            }
        }
        d.deserialize_any(SizeVisitor)
    }
}

/// An entry point as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EntryValue {
    /// `"SEG:OFF"`.
    SegOff(String),
    /// A linear address.
    Linear(u64),
}

impl<'de> Deserialize<'de> for EntryValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct EntryVisitor;
        impl Visitor<'_> for EntryVisitor {
            type Value = EntryValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "\"SEG:OFF\" (like \"0000:7c00\") or an address")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<EntryValue, E> {
                u64::try_from(v)
                    .map(EntryValue::Linear)
                    .map_err(|_| E::custom(format!("entry address {v} is negative")))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<EntryValue, E> {
                Ok(EntryValue::Linear(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<EntryValue, E> {
                Ok(EntryValue::SegOff(v.to_owned()))
            }
        }
        d.deserialize_any(EntryVisitor)
    }
}
