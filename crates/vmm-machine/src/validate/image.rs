//! The boot image: read from its file, and how it loads (flat, ELF or multiboot), with the CPU
//! mode that goes with it.

use std::path::{Path, PathBuf};

use vmm_core::{elf, multiboot, CpuMode};

use super::plan::LoadPlan;
use crate::diagnostic::Diagnostic;
use crate::spec::{ImageFormat, Located, MachineSpec, Origin};
use crate::units::format_size;

/// Where the image was given, for messages about it.
pub fn image_origin(spec: &MachineSpec) -> Origin {
    spec.image
        .as_ref()
        .map_or(Origin::Default, |i| i.origin.clone())
}

/// Reads the image file, refusing what cannot be one.
pub fn read_image(image: &Located<PathBuf>, spec: &MachineSpec) -> Result<Vec<u8>, Diagnostic> {
    let path: &Path = &image.value;
    let fail = |message: String| Diagnostic::new(image.origin.clone(), message);
    let meta = std::fs::metadata(path)
        .map_err(|e| fail(format!("cannot read image {}: {e}", path.display())))?;
    if !meta.is_file() {
        return Err(fail(format!(
            "image {} is not a regular file",
            path.display()
        )));
    }
    let largest = spec.memory.iter().map(|r| r.value.size).max().unwrap_or(0);
    if meta.len() > largest {
        return Err(fail(format!(
            "image {} is {} bytes, larger than the largest RAM region ({})",
            path.display(),
            meta.len(),
            format_size(largest)
        )));
    }
    let bytes = std::fs::read(path)
        .map_err(|e| fail(format!("cannot read image {}: {e}", path.display())))?;
    if bytes.is_empty() {
        return Err(fail(format!("image {} is empty", path.display())));
    }
    Ok(bytes)
}

/// Decides how the image loads, and the CPU mode that goes with it when the machine file left
/// the mode to picovmm.
pub fn load_plan(spec: &mut MachineSpec, image: &[u8]) -> Result<LoadPlan, Diagnostic> {
    let format = spec.format.value;
    let fail = |origin: Origin, message: String| Diagnostic::new(origin, message);
    let image_err = |m: String| fail(image_origin(spec), m);
    let header = match format {
        ImageFormat::Auto | ImageFormat::Multiboot => multiboot::find(image),
        _ => None,
    };
    let plan = match (format, header) {
        (ImageFormat::Multiboot, None) => {
            return Err(image_err("the image has no multiboot header (magic 0x1badb002, 4-byte aligned, in its first 8 KiB)".into()))
        }
        (_, Some(header)) => {
            let header = header.map_err(|e| image_err(e.to_string()))?;
            LoadPlan::Multiboot(multiboot::plan(image, &header).map_err(|e| image_err(e.to_string()))?)
        }
        (ImageFormat::Elf, None) => LoadPlan::Elf(elf::parse(image).map_err(|e| image_err(e.to_string()))?),
        (ImageFormat::Auto, None) if elf::is_elf(image) => LoadPlan::Elf(elf::parse(image).map_err(|e| image_err(e.to_string()))?),
        _ => LoadPlan::Flat,
    };
    let wanted = match &plan {
        LoadPlan::Flat => None,
        LoadPlan::Elf(e) if e.is_64 => Some(CpuMode::Long),
        LoadPlan::Elf(_) | LoadPlan::Multiboot(_) => Some(CpuMode::Protected),
    };
    if let Some(wanted) = wanted {
        if spec.mode.origin == Origin::Default {
            spec.mode.value = wanted;
        } else if spec.mode.value != wanted {
            return Err(fail(
                spec.mode.origin.clone(),
                format!(
                    "{} image runs in {} mode, not {}",
                    with_article(plan.name()),
                    wanted.name(),
                    spec.mode.value.name()
                ),
            ));
        }
        if let Some(entry) = &spec.entry {
            return Err(fail(
                entry.origin.clone(),
                format!(
                    "{} image gives its own entry point; remove this one",
                    with_article(plan.name())
                ),
            ));
        }
        if spec.load.origin != Origin::Default {
            return Err(fail(
                spec.load.origin.clone(),
                format!(
                    "{} image says where it loads; remove this load address",
                    with_article(plan.name())
                ),
            ));
        }
    }
    if !matches!(plan, LoadPlan::Multiboot(_)) && !spec.cmdline.value.is_empty() {
        return Err(fail(
            spec.cmdline.origin.clone(),
            "a command line is for multiboot kernels only".into(),
        ));
    }
    Ok(plan)
}

/// "an elf32", "a multiboot".
fn with_article(name: &str) -> String {
    let article = if name.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {name}")
}
