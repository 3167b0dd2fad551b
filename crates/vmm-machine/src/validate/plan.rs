//! How the boot image goes into guest memory: the plan validation makes and the board follows.

use vmm_core::{elf, multiboot};

use crate::spec::MachineSpec;

/// How the boot image goes into guest memory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LoadPlan {
    /// The whole file at the load address.
    Flat,
    /// An ELF executable by its program headers.
    Elf(elf::ElfImage),
    /// A multiboot kernel, with its information page.
    Multiboot(multiboot::Plan),
}

impl LoadPlan {
    /// The format's name, as `check` shows it.
    pub fn name(&self) -> &'static str {
        match self {
            LoadPlan::Flat => "flat",
            LoadPlan::Elf(e) if e.is_64 => "elf64",
            LoadPlan::Elf(_) => "elf32",
            LoadPlan::Multiboot(_) => "multiboot",
        }
    }

    /// Every `(address, bytes)` range of guest memory the image occupies.
    pub(crate) fn ranges(&self, spec: &MachineSpec, image_len: u64) -> Vec<(u64, u64)> {
        match self {
            LoadPlan::Flat => vec![(spec.load.value, image_len)],
            LoadPlan::Elf(e) => e.segments.iter().map(|s| (s.addr, s.mem_size)).collect(),
            LoadPlan::Multiboot(p) => p.segments.iter().map(|s| (s.addr, s.mem_size)).collect(),
        }
    }
}
