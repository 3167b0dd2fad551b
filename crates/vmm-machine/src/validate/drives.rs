//! The BIOS and its drives: the BIOS needs low RAM, drives need the BIOS, and each image is
//! opened (and locked) now, so that a missing or busy image never costs a run.

use vmm_bios::{Disk, Drive, DriveKind};

use crate::diagnostic::Diagnostic;
use crate::spec::{DeviceKind, MachineSpec, Origin};

/// RAM from 0 the BIOS needs: vectors, data area, the boot sector at 0x7C00.
const BIOS_LOW_RAM: u64 = 0x8000;
/// Floppy drives a PC BIOS has (A:, B:).
const MAX_FLOPPIES: usize = 2;
/// Hard disks picovmm numbers (0x80-0x83).
const MAX_HARD_DISKS: usize = 4;

/// Checks the BIOS's needs and opens the drives, numbered as the BIOS reports them.
pub fn open(spec: &MachineSpec) -> Result<Vec<Drive>, Diagnostic> {
    let bios = spec.devices.iter().find(|d| d.value == DeviceKind::Bios);
    if let Some(bios) = bios {
        let low = spec
            .memory
            .iter()
            .find(|r| r.value.base == 0)
            .map_or(0, |r| r.value.size);
        if low < BIOS_LOW_RAM {
            return Err(Diagnostic::new(
                bios.origin.clone(),
                format!(
                    "the BIOS needs RAM from 0 to at least {BIOS_LOW_RAM:#x} (its vector table, data area and the boot sector at 0x7c00); this machine has {low:#x}"
                ),
            ));
        }
    }
    let Some(first) = spec.drives.first() else {
        return Ok(Vec::new());
    };
    if bios.is_none() {
        return Err(Diagnostic::new(
            first.origin.clone(),
            "drives are served by the BIOS: add [[device]] type = \"bios\" (the default machine has it)",
        ));
    }
    let mut drives = Vec::new();
    let (mut floppies, mut hards) = (0u8, 0u8);
    for d in &spec.drives {
        let disk = Disk::open(&d.value.path, d.value.kind, d.value.mode)
            .map_err(|e| Diagnostic::new(d.origin.clone(), error_text(&e)))?;
        let number = match disk.kind() {
            DriveKind::Floppy => {
                floppies += 1;
                floppies - 1
            }
            DriveKind::Hard => {
                hards += 1;
                0x80 + hards - 1
            }
        };
        if usize::from(floppies) > MAX_FLOPPIES || usize::from(hards) > MAX_HARD_DISKS {
            return Err(Diagnostic::new(
                d.origin.clone(),
                format!(
                    "too many drives: a PC BIOS has {MAX_FLOPPIES} floppy drives and picovmm {MAX_HARD_DISKS} hard disks"
                ),
            ));
        }
        drives.push(Drive { number, disk });
    }
    Ok(drives)
}

/// The boot sector of the first drive, for a machine that boots from it; warns when it lacks
/// the 0x55AA signature (picovmm boots it anyway, as a PC BIOS of the floppy era would).
pub fn boot_sector(drives: &[Drive], origin: &Origin) -> Result<Vec<u8>, Diagnostic> {
    let Some(first) = drives.first() else {
        return Err(Diagnostic::new(
            origin.clone(),
            "no boot image: set `image` in the machine file's [boot] table, pass --image FILE, or give a drive to boot (--drive FILE)",
        ));
    };
    let mut sector = [0u8; 512];
    first.disk.read_sector(0, &mut sector).map_err(|_| {
        Diagnostic::new(
            origin.clone(),
            format!(
                "cannot read the boot sector of {}",
                first.disk.path().display()
            ),
        )
    })?;
    if sector[510..] != [0x55, 0xAA] {
        log::warn!(
            "warning: {} has no boot signature (0x55AA at byte 510); booting it anyway",
            first.disk.path().display()
        );
    }
    Ok(sector.to_vec())
}

/// An error with its causes, on one line.
fn error_text(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(&format!(": {s}"));
        source = s.source();
    }
    text
}
