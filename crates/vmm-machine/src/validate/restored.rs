//! Validation for a machine a snapshot continues: its RAM and CPU come from the snapshot, so
//! the boot image is not read again (its bytes are in the saved RAM: the file may be gone or
//! changed) and the CPU's mode is the one the snapshot's registers are in.

use vmm_core::{BootCpu, CpuMode, Entry, RealAddress};

use super::plan::LoadPlan;
use super::valid::ValidMachine;
use super::{drives, layout, plugins};
use crate::diagnostic::Diagnostic;
use crate::plugin_path::PluginPath;
use crate::spec::MachineSpec;

/// Validates `spec` as `validate` does, without its boot image, for a CPU the
/// snapshot has in `mode` (which picks the backend `accel = "auto"` runs).
pub fn validate_restored(
    mut spec: MachineSpec,
    plugin_path: &PluginPath,
    mode: CpuMode,
) -> Result<ValidMachine, Diagnostic> {
    layout::check_layout(&spec, layout::host_memory())?;
    let libraries = plugins::load_plugins(&spec, plugin_path)?;
    let drives = drives::open(&spec)?;
    let boot_drive = match spec.image {
        Some(_) => None,
        None => drives.first().map(|d| d.number),
    };
    spec.mode.value = mode;
    // The snapshot's registers replace this entry state before the first instruction; real
    // mode's needs no memory (no GDT or page tables written where the guest's RAM will go).
    let boot = BootCpu {
        mode: CpuMode::Real,
        entry: Entry::Real(RealAddress {
            segment: 0,
            offset: 0,
        }),
        stack: spec.stack.value,
        rax: 0,
        rbx: 0,
    };
    Ok(ValidMachine {
        spec,
        image: Vec::new(),
        boot,
        libraries,
        plan: LoadPlan::Flat,
        drives,
        boot_drive,
    })
}
