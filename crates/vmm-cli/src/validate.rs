//! Checking a [`MachineSpec`] as a whole, after the machine file and the flags are merged:
//! the memory map, device ranges against RAM and each other, the boot image and entry point.
//! Every error names the values and the limits, and points at the value to change.

use std::path::Path;

use vmm_core::layout::{BOOT_GDT, BOOT_PAGE_TABLES, MULTIBOOT_INFO};
use vmm_core::layout::{GUEST_PHYS_LIMIT, HIGH_RAM_START, LOW_RAM_END};
use vmm_core::memory::{self as core_memory, RamRegion};
use vmm_core::{elf, gdt, multiboot, paging, BootCpu, CpuMode, Entry, RealAddress};

use vmm_devices::plugin::PluginLibrary;

use crate::diagnostic::Diagnostic;
use crate::plugin_path::PluginPath;
use crate::spec::{
    DeviceKind, DeviceRange, EntryAddress, ImageFormat, Located, MachineSpec, Origin,
};
use crate::units::{format_size, format_size_approx};

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
}

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

impl ValidMachine {
    /// The plugin library of device `index`, if it is a plugin device.
    pub fn library(&self, index: usize) -> Option<&PluginLibrary> {
        self.libraries.get(index).and_then(Option::as_ref)
    }
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
    fn ranges(&self, spec: &MachineSpec, image_len: u64) -> Vec<(u64, u64)> {
        match self {
            LoadPlan::Flat => vec![(spec.load.value, image_len)],
            LoadPlan::Elf(e) => e.segments.iter().map(|s| (s.addr, s.mem_size)).collect(),
            LoadPlan::Multiboot(p) => p.segments.iter().map(|s| (s.addr, s.mem_size)).collect(),
        }
    }
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

fn check_memory(regions: &[Located<RamRegion>]) -> Result<(), Diagnostic> {
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
    if let Some(host) = host_memory().filter(|&host| total > host) {
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

/// The host's physical memory in bytes, when the system says.
fn host_memory() -> Option<u64> {
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
            if let Some(ram) = spec
                .memory
                .iter()
                .find(|r| base < r.value.end() && r.value.base < base + len)
            {
                return Err(Diagnostic::new(
                    dev.origin.clone(),
                    format!(
                        "{name} {} overlaps memory region [{:#x}, {:#x}); devices must sit outside RAM",
                        range,
                        ram.value.base,
                        ram.value.end()
                    ),
                ));
            }
        }
        if let Some(other) = spec.devices[..i]
            .iter()
            .find(|o| ranges_overlap(o.value.range(), range))
        {
            return Err(Diagnostic::new(
                dev.origin.clone(),
                format!(
                    "{name} {} collides with {} {}",
                    range,
                    other.value.type_name(),
                    other.value.range()
                ),
            ));
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

fn read_image(
    image: &Located<std::path::PathBuf>,
    spec: &MachineSpec,
) -> Result<Vec<u8>, Diagnostic> {
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

fn check_image_fits(spec: &MachineSpec, len: usize) -> Result<(), Diagnostic> {
    let load = spec.load.value;
    if spec
        .memory
        .iter()
        .any(|r| r.value.contains(load, len as u64))
    {
        return Ok(());
    }
    let regions: Vec<String> = spec
        .memory
        .iter()
        .map(|r| format!("[{:#x}, {:#x})", r.value.base, r.value.end()))
        .collect();
    Err(Diagnostic::new(
        spec.load.origin.clone(),
        format!(
            "the image ({len} bytes) loaded at {load:#x} {}, outside guest RAM; it must fit in one region: {}",
            match load.checked_add(len as u64) {
                Some(end) => format!("ends at {end:#x}"),
                None => "would end past the 64-bit address space".to_owned(),
            },
            regions.join(", ")
        ),
    ))
}

/// The entry point for the machine's CPU mode: as given, or the load address.
fn entry(spec: &MachineSpec) -> Result<Entry, Diagnostic> {
    let mode = spec.mode.value;
    let origin = spec
        .entry
        .as_ref()
        .map_or(spec.load.origin.clone(), |e| e.origin.clone());
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
    if !spec
        .memory
        .iter()
        .any(|r| r.value.contains(entry.linear(), 1))
    {
        return Err(Diagnostic::new(
            origin,
            format!(
                "entry point {entry} (address {:#x}) is not in guest RAM",
                entry.linear()
            ),
        ));
    }
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
fn check_boot_structures(
    spec: &MachineSpec,
    plan: &LoadPlan,
    ranges: &[(u64, u64)],
) -> Result<(), Diagnostic> {
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

fn image_origin(spec: &MachineSpec) -> Origin {
    spec.image
        .as_ref()
        .map_or(Origin::Default, |i| i.origin.clone())
}

/// Decides how the image loads, and the CPU mode that goes with it when the machine file left
/// the mode to picovmm.
fn load_plan(spec: &mut MachineSpec, image: &[u8]) -> Result<LoadPlan, Diagnostic> {
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

/// Every range the image occupies must fit inside one RAM region.
fn check_ranges_fit(spec: &MachineSpec, ranges: &[(u64, u64)]) -> Result<(), Diagnostic> {
    for &(addr, len) in ranges {
        if !spec.memory.iter().any(|r| r.value.contains(addr, len)) {
            let regions: Vec<String> = spec
                .memory
                .iter()
                .map(|r| format!("[{:#x}, {:#x})", r.value.base, r.value.end()))
                .collect();
            let end = addr.saturating_add(len);
            let hole = if addr < HIGH_RAM_START && end > LOW_RAM_END {
                "; [0xa0000, 0x100000) is the PC's legacy hole (VGA memory and ROMs), which has no RAM"
            } else {
                ""
            };
            return Err(Diagnostic::new(
                image_origin(spec),
                format!(
                    "the image needs [{addr:#x}, {end:#x}), which is not inside one RAM region: {}{hole}",
                    regions.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

/// Finds and loads each plugin device's library, and checks it serves the accesses its
/// range needs.
fn load_plugins(
    spec: &MachineSpec,
    path: &PluginPath,
) -> Result<Vec<Option<PluginLibrary>>, Diagnostic> {
    let mut loaded = Vec::new();
    for device in &spec.devices {
        let DeviceKind::Plugin(plugin) = &device.value else {
            loaded.push(None);
            continue;
        };
        let fail = |message: String| Diagnostic::new(plugin.library.origin.clone(), message);
        let file = path
            .resolve(&plugin.library.value, &plugin.base_dir)
            .map_err(fail)?;
        let library = PluginLibrary::load(&file).map_err(|e| fail(e.to_string()))?;
        let info = library.info();
        let serves = match plugin.range {
            DeviceRange::Port { .. } => info.port,
            DeviceRange::Mmio { .. } => info.mmio,
        };
        if !serves {
            let wanted = match plugin.range {
                DeviceRange::Port { .. } => "port",
                DeviceRange::Mmio { .. } => "MMIO",
            };
            return Err(fail(format!(
                "plugin {} serves {} accesses, not {wanted}: give it {}",
                info.name,
                info.accesses(),
                if info.port { "`port`" } else { "`mmio`" }
            )));
        }
        loaded.push(Some(library));
    }
    Ok(loaded)
}

/// The checks that need nothing outside `spec`: the memory map and the device ranges.
pub fn check_layout(spec: &MachineSpec) -> Result<(), Diagnostic> {
    check_memory(&spec.memory)?;
    check_devices(spec)
}

/// Validates `spec`, reads its image and loads its plugins from `plugin_path`.
pub fn validate(spec: MachineSpec, plugin_path: &PluginPath) -> Result<ValidMachine, Diagnostic> {
    check_layout(&spec)?;
    let libraries = load_plugins(&spec, plugin_path)?;
    let image_path = spec.image.as_ref().ok_or_else(|| {
        Diagnostic::new(
            Origin::Default,
            "no boot image: set `image` in the machine file's [boot] table, or pass --image FILE",
        )
    })?;
    let image = read_image(image_path, &spec)?;
    let mut spec = spec;
    let plan = load_plan(&mut spec, &image)?;
    let ranges = plan.ranges(&spec, image.len() as u64);
    let (entry, rax, rbx) = match &plan {
        LoadPlan::Flat => {
            check_image_fits(&spec, image.len())?;
            (entry(&spec)?, 0, 0)
        }
        LoadPlan::Elf(e) => (Entry::Flat(e.entry), 0, 0),
        LoadPlan::Multiboot(p) => {
            multiboot::info(&[], &spec.cmdline.value)
                .map_err(|e| Diagnostic::new(spec.cmdline.origin.clone(), e.to_string()))?;
            (
                Entry::Flat(p.entry),
                u64::from(multiboot::BOOTLOADER_MAGIC),
                MULTIBOOT_INFO,
            )
        }
    };
    check_ranges_fit(&spec, &ranges)?;
    if !spec
        .memory
        .iter()
        .any(|r| r.value.contains(entry.linear(), 1))
    {
        return Err(Diagnostic::new(
            image_origin(&spec),
            format!("the image's entry point {entry} is not in guest RAM"),
        ));
    }
    check_boot_structures(&spec, &plan, &ranges)?;
    let mode = spec.mode.value;
    if spec.stack.value > mode.max_stack() {
        return Err(Diagnostic::new(
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
        ));
    }
    let stack = spec.stack.value;
    let boot = BootCpu {
        mode: spec.mode.value,
        entry,
        stack,
        rax,
        rbx,
    };
    Ok(ValidMachine {
        spec,
        image,
        boot,
        libraries,
        plan,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn image_file(len: usize) -> tempfile_lite::TempFile {
        tempfile_lite::TempFile::with_bytes(&vec![0xF4; len])
    }

    /// A minimal temporary file that removes itself.
    mod tempfile_lite {
        use super::*;
        use std::path::PathBuf;
        use std::sync::atomic::{AtomicUsize, Ordering};

        pub struct TempFile(pub PathBuf);

        impl TempFile {
            pub fn with_bytes(bytes: &[u8]) -> Self {
                static N: AtomicUsize = AtomicUsize::new(0);
                let n = N.fetch_add(1, Ordering::SeqCst);
                let path = std::env::temp_dir()
                    .join(format!("picovmm-validate-{}-{n}.bin", std::process::id()));
                let mut f = std::fs::File::create(&path).expect("create temp image");
                f.write_all(bytes).expect("write temp image");
                TempFile(path)
            }
        }

        impl Drop for TempFile {
            fn drop(&mut self) {
                let _ = std::fs::remove_file(&self.0);
            }
        }
    }

    fn spec_with_image(image: &tempfile_lite::TempFile) -> MachineSpec {
        let mut spec = MachineSpec::default_machine();
        spec.image = Some(Located::flag(image.0.clone(), "--image"));
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
