//! What validation gives: a machine description checked as a whole, its image read.

use vmm_core::BootCpu;
use vmm_devices::plugin::PluginLibrary;

use super::plan::LoadPlan;
use crate::spec::MachineSpec;

/// A machine that passed validation, with its image read.
#[derive(Debug)]
pub struct ValidMachine {
    /// The description.
    pub spec: MachineSpec,
    /// The boot image's bytes.
    pub image: Vec<u8>,
    /// The vCPU's entry state.
    pub boot: BootCpu,
    /// Each device's plugin library, by device index (`None` for built-in devices).
    pub libraries: Vec<Option<PluginLibrary>>,
    /// How the image is loaded.
    pub plan: LoadPlan,
    /// The BIOS's drives, opened and locked, numbered.
    pub drives: Vec<vmm_bios::Drive>,
    /// The drive the machine boots from through the BIOS (its sector 0 is the image).
    pub boot_drive: Option<u8>,
}

impl ValidMachine {
    /// The plugin library of device `index`, if it is a plugin device.
    pub fn library(&self, index: usize) -> Option<&PluginLibrary> {
        self.libraries.get(index).and_then(Option::as_ref)
    }
}
