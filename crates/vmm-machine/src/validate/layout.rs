//! The machine's layout, checked from the description alone (and the host's RAM, handed in):
//! the memory map, and device ranges against the port space, RAM and each other.

use vmm_core::layout::GUEST_PHYS_LIMIT;
use vmm_core::memory::{self as core_memory, RamRegion};

use crate::diagnostic::Diagnostic;
use crate::spec::{DeviceKind, DeviceRange, Located, MachineSpec, Origin};
use crate::units::{format_size, format_size_approx};

/// The memory map and the device ranges; `host_ram` is the host's RAM when known.
pub fn check_layout(spec: &MachineSpec, host_ram: Option<u64>) -> Result<(), Diagnostic> {
    check_memory(&spec.memory, host_ram)?;
    check_devices(spec)
}

/// The RAM regions as messages list them: "[0x0, 0xa0000), [0x100000, 0x1000000)".
pub fn regions_list(spec: &MachineSpec) -> String {
    spec.memory
        .iter()
        .map(|r| format!("[{:#x}, {:#x})", r.value.base, r.value.end()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn ranges_overlap(a: DeviceRange, b: DeviceRange) -> bool {
    match (a, b) {
        (DeviceRange::Port { base: a, len: al }, DeviceRange::Port { base: b, len: bl }) => {
            u32::from(a) < u32::from(b) + u32::from(bl)
                && u32::from(b) < u32::from(a) + u32::from(al)
        }
        (DeviceRange::Mmio { base: a, len: al }, DeviceRange::Mmio { base: b, len: bl }) => {
            a < b.saturating_add(bl) && b < a.saturating_add(al)
        }
        _ => false,
    }
}

fn check_memory(regions: &[Located<RamRegion>], host_ram: Option<u64>) -> Result<(), Diagnostic> {
    if regions.is_empty() {
        return Err(Diagnostic::new(
            Origin::File(0..0),
            "the machine has no memory: add a [[memory]] table with base and size, or pass --memory",
        ));
    }
    let values: Vec<RamRegion> = regions.iter().map(|r| r.value).collect();
    let total = values
        .iter()
        .fold(0u64, |sum, r| sum.saturating_add(r.size));
    if let Some(host) = host_ram.filter(|&host| total > host) {
        return Err(Diagnostic::new(
            regions[0].origin.clone(),
            format!(
                "the machine asks for {} of RAM, more than this host has ({})",
                format_size(total),
                format_size_approx(host)
            ),
        ));
    }
    // The first prefix that fails names the region at fault.
    for i in 0..values.len() {
        if let Err(e) = core_memory::validate(&values[..=i]) {
            return Err(Diagnostic::new(regions[i].origin.clone(), e.to_string()));
        }
    }
    Ok(())
}

fn check_devices(spec: &MachineSpec) -> Result<(), Diagnostic> {
    for (i, dev) in spec.devices.iter().enumerate() {
        let range = dev.value.range();
        let name = dev.value.type_name();
        if let DeviceRange::Port { base, len } = range {
            if u32::from(base) + u32::from(len) > 0x1_0000 {
                return Err(Diagnostic::new(
                    dev.origin.clone(),
                    format!("{name} needs {len} ports from {base:#x}, past the last port, 0xffff"),
                ));
            }
        }
        if let DeviceRange::Mmio { base, len } = range {
            if base
                .checked_add(len)
                .is_none_or(|end| end > GUEST_PHYS_LIMIT)
            {
                return Err(Diagnostic::new(
                    dev.origin.clone(),
                    format!(
                        "{name} at {base:#x} needs {len:#x} bytes, past {GUEST_PHYS_LIMIT:#x} (64 GiB), the end of the guest-physical space"
                    ),
                ));
            }
            let ram: Vec<RamRegion> = spec.memory.iter().map(|r| r.value).collect();
            if let Some(ram) = core_memory::overlapping(&ram, base, len) {
                return Err(Diagnostic::new(
                    dev.origin.clone(),
                    format!(
                        "{name} {} overlaps memory region [{:#x}, {:#x}); devices must sit outside RAM",
                        range,
                        ram.base,
                        ram.end()
                    ),
                ));
            }
        }
        for range in dev.value.ranges() {
            let collision = spec.devices[..i].iter().find_map(|o| {
                o.value
                    .ranges()
                    .into_iter()
                    .find(|&r| ranges_overlap(r, range))
                    .map(|r| (o, r))
            });
            if let Some((other, other_range)) = collision {
                return Err(Diagnostic::new(
                    dev.origin.clone(),
                    format!(
                        "{name} {range} collides with {} {other_range}",
                        other.value.type_name(),
                    ),
                ));
            }
        }
        if matches!(dev.value, DeviceKind::VgaText { .. })
            && spec.devices[..i]
                .iter()
                .any(|o| matches!(o.value, DeviceKind::VgaText { .. }))
        {
            return Err(Diagnostic::new(
                dev.origin.clone(),
                "a machine has at most one vga-text device",
            ));
        }
    }
    Ok(())
}

/// The host's physical memory in bytes, when the system says.
pub fn host_memory() -> Option<u64> {
    // SAFETY: sysconf has no preconditions; it returns -1 when it does not know.
    let (pages, page_size) = unsafe {
        (
            libc::sysconf(libc::_SC_PHYS_PAGES),
            libc::sysconf(libc::_SC_PAGESIZE),
        )
    };
    let pages = u64::try_from(pages).ok()?;
    let page_size = u64::try_from(page_size).ok()?;
    pages.checked_mul(page_size)
}
