//! Where the image and picovmm's own boot structures go, and the vCPU's entry state: checked
//! from the description and the load plan alone.

use vmm_core::layout::{BOOT_GDT, BOOT_PAGE_TABLES, HIGH_RAM_START, LOW_RAM_END, MULTIBOOT_INFO};
use vmm_core::{gdt, paging, CpuMode, Entry, RealAddress};

use super::image::image_origin;
use super::layout::regions_list;
use super::plan::LoadPlan;
use crate::diagnostic::Diagnostic;
use crate::spec::{EntryAddress, MachineSpec, Origin};

/// Every range the image occupies must fit inside one RAM region. A flat image is named by
/// its load address, the others by the ranges their headers ask for.
pub fn check_fits(spec: &MachineSpec, plan: &LoadPlan, image_len: u64) -> Result<(), Diagnostic> {
    for (addr, len) in plan.ranges(spec, image_len) {
        if spec.memory.iter().any(|r| r.value.contains(addr, len)) {
            continue;
        }
        let end = addr.checked_add(len);
        let message = match plan {
            LoadPlan::Flat => format!(
                "the image ({len} bytes) loaded at {addr:#x} {}, outside guest RAM; it must fit in one region: {}",
                match end {
                    Some(end) => format!("ends at {end:#x}"),
                    None => "would end past the 64-bit address space".to_owned(),
                },
                regions_list(spec)
            ),
            _ => {
                let end = end.unwrap_or(u64::MAX);
                let hole = if addr < HIGH_RAM_START && end > LOW_RAM_END {
                    "; [0xa0000, 0x100000) is the PC's legacy hole (VGA memory and ROMs), which has no RAM"
                } else {
                    ""
                };
                format!(
                    "the image needs [{addr:#x}, {end:#x}), which is not inside one RAM region: {}{hole}",
                    regions_list(spec)
                )
            }
        };
        let origin = match plan {
            LoadPlan::Flat => spec.load.origin.clone(),
            _ => image_origin(spec),
        };
        return Err(Diagnostic::new(origin, message));
    }
    Ok(())
}

/// The entry point must be in RAM; said with the value the user gave, or the image's own.
pub fn check_entry_in_ram(
    spec: &MachineSpec,
    plan: &LoadPlan,
    entry: Entry,
) -> Result<(), Diagnostic> {
    if spec
        .memory
        .iter()
        .any(|r| r.value.contains(entry.linear(), 1))
    {
        return Ok(());
    }
    Err(match plan {
        LoadPlan::Flat => Diagnostic::new(
            entry_origin(spec),
            format!(
                "entry point {entry} (address {:#x}) is not in guest RAM",
                entry.linear()
            ),
        ),
        _ => Diagnostic::new(
            image_origin(spec),
            format!("the image's entry point {entry} is not in guest RAM"),
        ),
    })
}

/// Where the entry of a flat image was given: the entry itself, or the load address.
fn entry_origin(spec: &MachineSpec) -> Origin {
    spec.entry
        .as_ref()
        .map_or(spec.load.origin.clone(), |e| e.origin.clone())
}

/// The stack pointer must fit the mode.
pub fn check_stack(spec: &MachineSpec) -> Result<(), Diagnostic> {
    let mode = spec.mode.value;
    if spec.stack.value <= mode.max_stack() {
        return Ok(());
    }
    Err(Diagnostic::new(
        spec.stack.origin.clone(),
        format!(
            "stack pointer {:#x} does not fit {} mode's stack pointer (at most {:#x}{})",
            spec.stack.value,
            mode.name(),
            mode.max_stack(),
            if mode == CpuMode::Real {
                ", SS = 0"
            } else {
                ""
            }
        ),
    ))
}

/// A flat image's entry point for the machine's CPU mode: as given, or the load address.
pub fn entry(spec: &MachineSpec) -> Result<Entry, Diagnostic> {
    let mode = spec.mode.value;
    let origin = entry_origin(spec);
    let given = spec
        .entry
        .as_ref()
        .map_or(EntryAddress::Linear(spec.load.value), |e| e.value);
    let entry = match (mode, given) {
        (CpuMode::Real, EntryAddress::SegOff(a)) => Entry::Real(a),
        (CpuMode::Real, EntryAddress::Linear(addr)) => Entry::Real(RealAddress::from_linear(addr).ok_or_else(|| {
            let what = if spec.entry.is_some() { "entry" } else { "load address" };
            Diagnostic::new(
                origin.clone(),
                format!("{what} {addr:#x} is above 1 MiB, beyond where a real-mode entry address can point (at most 0xfffff); give the entry as SEG:OFF, or use protected or long mode"),
            )
        })?),
        (_, EntryAddress::SegOff(a)) => {
            return Err(Diagnostic::new(
                origin,
                format!("entry {a} is a real-mode SEG:OFF; in {} mode give the entry as an address", mode.name()),
            ))
        }
        (CpuMode::Protected, EntryAddress::Linear(addr)) if addr > 0xFFFF_FFFF => {
            return Err(Diagnostic::new(origin, format!("entry {addr:#x} is beyond protected mode's 4 GiB")))
        }
        (_, EntryAddress::Linear(addr)) => Entry::Flat(addr),
    };
    Ok(entry)
}

/// The guest memory picovmm itself writes for the CPU mode: the GDT, and the page tables.
fn boot_structures(mode: CpuMode, plan: &LoadPlan) -> Vec<(&'static str, u64, u64)> {
    let mut structures = Vec::new();
    if matches!(plan, LoadPlan::Multiboot(_)) {
        structures.push(("multiboot information", MULTIBOOT_INFO, 0x1000));
    }
    if mode != CpuMode::Real {
        structures.push(("GDT", BOOT_GDT, (gdt::GDT.len() * 8) as u64));
    }
    if mode == CpuMode::Long {
        structures.push(("page tables", BOOT_PAGE_TABLES, paging::TABLES_BYTES));
    }
    structures
}

/// The mode's boot structures must have RAM and must not share it with the image.
pub fn check_boot_structures(
    spec: &MachineSpec,
    plan: &LoadPlan,
    image_len: u64,
) -> Result<(), Diagnostic> {
    let ranges = plan.ranges(spec, image_len);
    let mode = spec.mode.value;
    for (name, base, len) in boot_structures(mode, plan) {
        let end = base + len;
        if !spec.memory.iter().any(|r| r.value.contains(base, len)) {
            return Err(Diagnostic::new(
                spec.mode.origin.clone(),
                format!(
                    "{} mode needs RAM at [{base:#x}, {end:#x}) for picovmm's {name}",
                    mode.name()
                ),
            ));
        }
        if let Some(&(load, load_len)) = ranges
            .iter()
            .find(|&&(a, l)| a < end && base < a.saturating_add(l))
        {
            let origin = if matches!(plan, LoadPlan::Flat) {
                spec.load.origin.clone()
            } else {
                image_origin(spec)
            };
            return Err(Diagnostic::new(
                origin,
                format!(
                    "the image at [{load:#x}, {:#x}) overlaps picovmm's {name} at [{base:#x}, {end:#x}), which {} mode needs; load it elsewhere",
                    load.saturating_add(load_len),
                    mode.name()
                ),
            ));
        }
    }
    Ok(())
}
