//! Checking a [`MachineSpec`] as a whole, after the machine file and the flags are merged.
//! Every error names the values and the limits, and points at the value to change.
//!
//! Pure checks and resolution live apart: `layout.rs` (memory map, device ranges) and
//! `boot.rs` (where the image and picovmm's boot structures go, the entry state) look only at
//! the description; `image.rs` reads the image file and decides how it loads, `plugins.rs`
//! loads plugin libraries, and [`validate`] gathers those and the host's RAM, then runs the
//! pure checks, each once.

mod boot;
mod drives;
mod image;
mod layout;
mod plan;
mod plugins;
mod restored;
mod valid;

pub use plan::LoadPlan;
pub use restored::validate_restored;
pub use valid::ValidMachine;

use vmm_core::layout::MULTIBOOT_INFO;
use vmm_core::{multiboot, BootCpu, Entry};

use crate::diagnostic::Diagnostic;
use crate::plugin_path::PluginPath;
use crate::spec::{MachineSpec, Origin};

/// The checks that need nothing outside `spec` but the host's RAM: the memory map and the
/// device ranges.
pub fn check_layout(spec: &MachineSpec) -> Result<(), Diagnostic> {
    layout::check_layout(spec, layout::host_memory())
}

/// Validates `spec`, reads its image and loads its plugins from `plugin_path`.
pub fn validate(spec: MachineSpec, plugin_path: &PluginPath) -> Result<ValidMachine, Diagnostic> {
    check_layout(&spec)?;
    let libraries = plugins::load_plugins(&spec, plugin_path)?;
    let (image, boot_drive, drives) = match &spec.image {
        Some(path) => (image::read_image(path, &spec)?, None, None),
        None if spec.drives.is_empty() => return Err(Diagnostic::new(
            Origin::Default,
            "no boot image: set `image` in the machine file's [boot] table, or pass --image FILE",
        )),
        None => {
            let drives = drives::open(&spec)?;
            let sector = drives::boot_sector(&drives, &Origin::Default)?;
            let number = drives.first().map(|d| d.number);
            (sector, number, Some(drives))
        }
    };
    let mut spec = spec;
    let plan = image::load_plan(&mut spec, &image)?;
    let image_len = image.len() as u64;
    boot::check_fits(&spec, &plan, image_len)?;
    let (entry, rax, rbx) = match &plan {
        LoadPlan::Flat => (boot::entry(&spec)?, 0, 0),
        LoadPlan::Elf(e) => (Entry::Flat(e.entry), 0, 0),
        LoadPlan::Multiboot(p) => {
            multiboot::check_cmdline(&spec.cmdline.value)
                .map_err(|e| Diagnostic::new(spec.cmdline.origin.clone(), e.to_string()))?;
            (
                Entry::Flat(p.entry),
                u64::from(multiboot::BOOTLOADER_MAGIC),
                MULTIBOOT_INFO,
            )
        }
    };
    boot::check_entry_in_ram(&spec, &plan, entry)?;
    boot::check_boot_structures(&spec, &plan, image_len)?;
    boot::check_stack(&spec)?;
    // After the image's own checks, whose messages say more about an image that does not fit.
    let drives = match drives {
        Some(d) => d,
        None => drives::open(&spec)?,
    };
    let boot = BootCpu {
        mode: spec.mode.value,
        entry,
        stack: spec.stack.value,
        rax,
        rbx,
    };
    Ok(ValidMachine {
        spec,
        image,
        boot,
        libraries,
        plan,
        drives,
        boot_drive,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{DeviceKind, EntryAddress, Located};
    use vmm_core::{RamRegion, RealAddress};

    fn image_file(len: usize) -> tempfile::NamedTempFile {
        let mut file = tempfile::NamedTempFile::new().expect("temp file");
        std::io::Write::write_all(&mut file, &vec![0xF4; len]).expect("write image");
        file
    }

    fn spec_with_image(image: &tempfile::NamedTempFile) -> MachineSpec {
        let mut spec = MachineSpec::default_machine();
        spec.image = Some(Located::flag(image.path().to_path_buf(), "--image"));
        spec
    }

    fn error_of(spec: MachineSpec) -> String {
        match validate(spec, &PluginPath::default()) {
            Ok(_) => "valid".to_owned(),
            Err(d) => d.render(None),
        }
    }

    #[test]
    fn test_validate_default_machine_with_image_is_valid() {
        let img = image_file(512);
        let valid = validate(spec_with_image(&img), &PluginPath::default()).expect("valid");
        assert_eq!(
            valid.boot.entry,
            Entry::Real(RealAddress {
                segment: 0,
                offset: 0x7C00
            })
        );
        assert_eq!(valid.image.len(), 512);
    }

    #[test]
    fn test_validate_without_image_says_how_to_give_one() {
        assert_eq!(
            error_of(MachineSpec::default_machine()),
            "no boot image: set `image` in the machine file's [boot] table, or pass --image FILE"
        );
    }

    #[test]
    fn test_validate_image_past_ram_end_is_rejected() {
        let img = image_file(512);
        let mut spec = spec_with_image(&img);
        spec.load = Located::flag(0x9_FF00, "--load");
        assert_eq!(
            error_of(spec),
            "--load: the image (512 bytes) loaded at 0x9ff00 ends at 0xa0100, outside guest RAM; \
             it must fit in one region: [0x0, 0xa0000)"
        );
    }

    #[test]
    fn test_validate_vga_over_ram_is_rejected() {
        let img = image_file(16);
        let mut spec = spec_with_image(&img);
        spec.memory = vec![Located::flag(
            RamRegion {
                base: 0,
                size: 0x10_0000,
            },
            "--memory",
        )];
        assert_eq!(
            error_of(spec),
            "vga-text MMIO [0xb8000, 0xc0000) overlaps memory region [0x0, 0x100000); devices must sit outside RAM"
        );
    }

    #[test]
    fn test_validate_colliding_ports_are_rejected() {
        let img = image_file(16);
        let mut spec = spec_with_image(&img);
        spec.devices
            .push(Located::default(DeviceKind::Debugcon { port: 0xF5 }));
        assert_eq!(
            error_of(spec),
            "debugcon port 0xf5 collides with isa-debug-exit ports [0xf4, 0xf8)"
        );
    }

    #[test]
    fn test_validate_debug_exit_past_last_port_is_rejected() {
        let img = image_file(16);
        let mut spec = spec_with_image(&img);
        spec.devices = vec![Located::default(DeviceKind::IsaDebugExit { port: 0xFFFE })];
        assert_eq!(
            error_of(spec),
            "isa-debug-exit needs 4 ports from 0xfffe, past the last port, 0xffff"
        );
    }

    #[test]
    fn test_validate_overlapping_memory_points_at_later_region() {
        let img = image_file(16);
        let mut spec = spec_with_image(&img);
        spec.memory.push(Located::flag(
            RamRegion {
                base: 0x9_0000,
                size: 0x1000,
            },
            "--memory",
        ));
        assert_eq!(
            error_of(spec),
            "--memory: memory region [0x90000, 0x91000) overlaps [0x0, 0xa0000)"
        );
    }

    #[test]
    fn test_validate_missing_image_names_path() {
        let mut spec = MachineSpec::default_machine();
        spec.image = Some(Located::flag("/nonexistent/boot.bin".into(), "--image"));
        assert_eq!(
            error_of(spec),
            "--image: cannot read image /nonexistent/boot.bin: No such file or directory (os error 2)"
        );
    }

    #[test]
    fn test_validate_directory_as_image_is_rejected() {
        let mut spec = MachineSpec::default_machine();
        spec.image = Some(Located::flag(std::env::temp_dir(), "--image"));
        assert!(error_of(spec).ends_with("is not a regular file"));
    }

    #[test]
    fn test_validate_entry_outside_ram_is_rejected() {
        let img = image_file(16);
        let mut spec = spec_with_image(&img);
        spec.entry = Some(Located::flag(
            EntryAddress::SegOff(RealAddress {
                segment: 0xB800,
                offset: 0,
            }),
            "--entry",
        ));
        assert_eq!(
            error_of(spec),
            "--entry: entry point b800:0000 (address 0xb8000) is not in guest RAM"
        );
    }

    #[test]
    fn test_validate_stack_over_16_bits_is_rejected() {
        let img = image_file(16);
        let mut spec = spec_with_image(&img);
        spec.stack = Located::default(0x1_0000);
        assert_eq!(
            error_of(spec),
            "stack pointer 0x10000 does not fit real mode's stack pointer (at most 0xffff, SS = 0)"
        );
    }
}
