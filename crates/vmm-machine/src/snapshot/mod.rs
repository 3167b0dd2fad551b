//! Snapshots: a stopped machine written to a file (`run --snapshot-on-exit FILE`) and continued
//! later (`picovmm restore FILE`). The file holds the command that described the machine (and
//! its machine file's text), the vCPU's whole state, every device's state through the board's
//! registry, guest RAM and the BIOS's windows, and a record of each disk image; `format.rs` is
//! the container. Restoring builds the same machine again, then puts the state back before
//! the first instruction.

pub mod format;

use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use serde::{Deserialize, Serialize};
use vm_memory::{Bytes, GuestMemoryBackend, GuestMemoryRegion, MemoryRegionAddress};
use vmm_core::{CpuMode, VcpuState};
use vmm_devices::bochs_vbe::BochsVbe;
use vmm_devices::vga_planar::VgaPlanes;

/// EFER's long-mode-active bit.
const EFER_LMA: u64 = 1 << 10;

use crate::board::{Board, DeviceHandle, DeviceRegistry};
use crate::devices::vbe::Vbe;

/// What described the machine: the `run` command's arguments as given, its folder, and the
/// machine file's text when there was one (restore uses the text, not today's file).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MachineDef {
    /// The current folder of the run.
    pub cwd: PathBuf,
    /// The arguments after `picovmm`.
    pub args: Vec<String>,
    /// The machine file's text.
    pub machine_text: Option<String>,
}

/// A disk image as it was when the snapshot was taken.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriveRecord {
    /// The image.
    pub path: PathBuf,
    /// Its size.
    pub len: u64,
    /// Its modification time, nanoseconds since the epoch.
    pub mtime_ns: u128,
}

impl DriveRecord {
    /// The image at `path` now.
    pub fn of(path: &Path) -> std::io::Result<DriveRecord> {
        let meta = std::fs::metadata(path)?;
        let mtime_ns = meta
            .modified()?
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        Ok(DriveRecord {
            path: path.to_path_buf(),
            len: meta.len(),
            mtime_ns,
        })
    }
}

pub use crate::error::SnapshotError;

/// A snapshot read from a file.
pub struct Snapshot {
    /// What described the machine.
    pub machine: MachineDef,
    /// The disk images then.
    pub drives: Vec<DriveRecord>,
    sections: Vec<(String, Vec<u8>)>,
}

fn state<E: std::fmt::Display>(what: &str) -> impl Fn(E) -> SnapshotError + '_ {
    move |e| SnapshotError::State(format!("{what}: {e}"))
}

/// What a snapshot is taken of: the vCPU's state, guest RAM and the devices.
pub struct MachineState<'a> {
    /// The vCPU's whole state.
    pub vcpu: VcpuState,
    /// Guest RAM.
    pub memory: &'a vm_memory::GuestMemoryMmap,
    /// The devices.
    pub devices: &'a DeviceRegistry,
}

/// The section holding the VGA's four planes.
const PLANES: &str = "vga-planes";
/// The sections holding the VESA display's registers and, while a mode is on, its frame buffer.
const VBE: &str = "vbe";
const VBE_FRAME: &str = "vbe-frame";

/// The VESA display's sections: its registers, and the frame buffer while a mode is on.
fn vbe_sections(vbe: &Vbe) -> Result<Vec<(String, Vec<u8>)>, SnapshotError> {
    let regs = crate::sync::lock(&vbe.regs).clone();
    let mut sections = vec![(
        VBE.to_owned(),
        serde_json::to_vec(&regs).map_err(state("the VESA display"))?,
    )];
    if regs.mode().is_some() {
        let mut frame = vec![0u8; vbe.lfb.len() as usize];
        vbe.lfb.read(0, &mut frame);
        sections.push((VBE_FRAME.to_owned(), frame));
    }
    Ok(sections)
}

/// Writes the machine's state (the vCPU idle: paused, or after a run) to `path`; returns the
/// file's size. The file is written beside `path` and renamed over it only once it is whole
/// and on the disk, so a failed save never destroys an earlier snapshot at that path.
pub fn save(
    taken: MachineState<'_>,
    machine: &MachineDef,
    drives: &[DriveRecord],
    path: &Path,
) -> Result<u64, SnapshotError> {
    let mut sections = vec![
        (
            "machine".to_owned(),
            serde_json::to_vec(machine).map_err(state("the machine"))?,
        ),
        (
            "drives".to_owned(),
            serde_json::to_vec(drives).map_err(state("the drives"))?,
        ),
    ];
    sections.push(("vcpu".to_owned(), taken.vcpu.to_bytes()));
    for region in taken.memory.iter() {
        sections.push((
            format!("ram@{:#x}", region.start_addr().0),
            sparse_pages(region)?,
        ));
    }
    for entry in taken.devices.iter() {
        if let DeviceHandle::Bios {
            graphics,
            rom,
            planes,
            vbe,
            ..
        } = &entry.handle
        {
            for window in [graphics, rom] {
                let mut bytes = vec![0u8; window.len() as usize];
                window.read(0, &mut bytes);
                sections.push((format!("window@{:#x}", window.base()), bytes));
            }
            let planes = crate::sync::lock(planes).to_bytes().to_vec();
            sections.push((PLANES.to_owned(), planes));
            if let Some(vbe) = vbe {
                sections.extend(vbe_sections(vbe)?);
            }
        }
        let json = taken
            .devices
            .save_state(&entry.name)
            .map_err(|e| SnapshotError::State(e.to_string()))?;
        sections.push((
            format!("device:{}", entry.name),
            serde_json::to_vec(&json).map_err(state("a device"))?,
        ));
    }
    let bytes = format::encode(&sections);
    write_whole(path, &bytes).map_err(|source| SnapshotError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(bytes.len() as u64)
}

/// Reads and checks the snapshot at `path`.
pub fn load(path: &Path) -> Result<Snapshot, SnapshotError> {
    let io = |source| SnapshotError::Io {
        path: path.to_path_buf(),
        source,
    };
    // Only a regular file: a device (/dev/zero) or a FIFO could be read without end.
    if !std::fs::metadata(path).map_err(io)?.is_file() {
        return Err(io(std::io::Error::other(
            "not a regular file (a snapshot is a file that `run --snapshot-on-exit` wrote)",
        )));
    }
    let bytes = std::fs::read(path).map_err(io)?;
    let sections = format::decode(&bytes).map_err(|problem| SnapshotError::Format {
        path: path.to_path_buf(),
        problem,
    })?;
    let find = |name: &str| sections.iter().find(|(n, _)| n == name).map(|(_, b)| b);
    let machine: MachineDef = find("machine")
        .and_then(|b| serde_json::from_slice(b).ok())
        .ok_or_else(|| SnapshotError::State("the file describes no machine".into()))?;
    let drives: Vec<DriveRecord> = find("drives")
        .and_then(|b| serde_json::from_slice(b).ok())
        .unwrap_or_default();
    Ok(Snapshot {
        machine,
        drives,
        sections,
    })
}

impl Snapshot {
    /// The drives whose image changed since the snapshot (size or modification time).
    pub fn changed_drives(&self) -> Vec<PathBuf> {
        self.drives
            .iter()
            .filter(|d| DriveRecord::of(&d.path).map_or(true, |now| now != **d))
            .map(|d| d.path.clone())
            .collect()
    }

    /// Puts the saved state into `board`, built from the same description, before its first
    /// instruction.
    pub fn apply(&self, board: &mut Board) -> Result<(), SnapshotError> {
        self.apply_ram(board)?;
        self.apply_devices(board)?;
        let vcpu = self.vcpu()?;
        board.vcpu().set_state(&vcpu).map_err(state("the vCPU"))
    }

    /// The mode the saved CPU is in (CR0.PE, EFER.LMA).
    pub fn cpu_mode(&self) -> Result<CpuMode, SnapshotError> {
        let sregs = self.vcpu()?.sregs;
        Ok(if sregs.cr0 & 1 == 0 {
            CpuMode::Real
        } else if sregs.efer & EFER_LMA != 0 {
            CpuMode::Long
        } else {
            CpuMode::Protected
        })
    }

    fn vcpu(&self) -> Result<VcpuState, SnapshotError> {
        self.sections
            .iter()
            .find(|(n, _)| n == "vcpu")
            .and_then(|(_, b)| VcpuState::from_bytes(b))
            .ok_or_else(|| {
                SnapshotError::State("the vCPU's state is missing or of another layout".into())
            })
    }

    fn apply_ram(&self, board: &Board) -> Result<(), SnapshotError> {
        for (name, bytes) in &self.sections {
            if let Some(base) = name.strip_prefix("ram@") {
                let base = parse_hex(base)?;
                let memory = board.vm().memory();
                let saved_len = bytes
                    .get(..8)
                    .and_then(|b| b.try_into().ok())
                    .map(u64::from_le_bytes)
                    .unwrap_or(0);
                let fits = memory
                    .iter()
                    .any(|r| r.start_addr().0 == base && r.len() == saved_len);
                if !fits {
                    return Err(SnapshotError::State(format!(
                        "guest RAM at {base:#x} ({saved_len} bytes) does not match this machine's"
                    )));
                }
                restore_pages(memory, base, bytes)?;
            }
        }
        Ok(())
    }

    /// The VESA display's registers and frame buffer (snapshots from before it have neither:
    /// the display stays off).
    fn apply_vbe(&self, vbe: &Vbe) -> Result<(), SnapshotError> {
        let find = |name: &str| {
            self.sections
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, b)| b)
        };
        if let Some(bytes) = find(VBE) {
            let regs: BochsVbe =
                serde_json::from_slice(bytes).map_err(state("the VESA display"))?;
            if !regs.agrees_with(vbe.lfb.len() as u32) {
                return Err(SnapshotError::State(
                    "the VESA display's registers do not fit its frame buffer".into(),
                ));
            }
            *crate::sync::lock(&vbe.regs) = regs;
        }
        if let Some(frame) = find(VBE_FRAME) {
            if !vbe.lfb.write(0, frame) {
                return Err(SnapshotError::State(
                    "the VESA frame buffer does not fit".into(),
                ));
            }
        }
        Ok(())
    }

    fn apply_devices(&self, board: &Board) -> Result<(), SnapshotError> {
        for entry in board.devices().iter() {
            let name = format!("device:{}", entry.name);
            let bytes = self
                .sections
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, b)| b)
                .ok_or_else(|| {
                    SnapshotError::State(format!("device {} is not in the snapshot", entry.name))
                })?;
            let json = serde_json::from_slice(bytes).map_err(state(&entry.name))?;
            board
                .devices()
                .restore_state(&entry.name, json)
                .map_err(|e| SnapshotError::State(e.to_string()))?;
            if let DeviceHandle::Bios {
                vga,
                graphics,
                rom,
                planes,
                window: slot,
                vbe,
            } = &entry.handle
            {
                for window in [graphics, rom] {
                    let name = format!("window@{:#x}", window.base());
                    if let Some((_, b)) = self.sections.iter().find(|(n, _)| *n == name) {
                        if !window.write(0, b) {
                            return Err(SnapshotError::State(format!("{name} does not fit")));
                        }
                    }
                }
                // Snapshots from before the planes keep blank ones.
                if let Some((_, b)) = self.sections.iter().find(|(n, _)| n == PLANES) {
                    let saved = VgaPlanes::from_bytes(b).ok_or_else(|| {
                        SnapshotError::State("the VGA's planes are not 256 KiB".into())
                    })?;
                    *crate::sync::lock(planes) = saved;
                }
                let regs = crate::sync::lock(vga).clone();
                slot.follow(&regs);
                if let Some(vbe) = vbe {
                    self.apply_vbe(vbe)?;
                    vbe.show(slot, &regs);
                }
            }
        }
        Ok(())
    }
}

/// Checks, before a run, that a snapshot can be written at `path` later: its folder takes a
/// new file, and `path` is not a folder.
pub fn check_destination(path: &Path) -> Result<(), SnapshotError> {
    let io = |source| SnapshotError::Io {
        path: path.to_path_buf(),
        source,
    };
    if path.is_dir() {
        return Err(io(std::io::Error::other("it is a folder")));
    }
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    tempfile::Builder::new()
        .prefix(".picovmm-snapshot-")
        .tempfile_in(folder)
        .map(drop)
        .map_err(io)
}

/// Writes `bytes` to a new file beside `path`, syncs it, and renames it over `path`.
fn write_whole(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut file = tempfile::Builder::new()
        .prefix(".picovmm-snapshot-")
        .tempfile_in(folder)?;
    file.write_all(bytes)?;
    file.as_file().sync_all()?;
    file.persist(path).map_err(|e| e.error)?;
    // The rename is durable once the folder is synced.
    if let Ok(dir) = std::fs::File::open(folder) {
        let _ = dir.sync_all();
    }
    Ok(())
}

/// A RAM page.
const PAGE: usize = 4096;

/// Which pages of `region` are in memory (`mincore`): a page never touched is not, and reads
/// as zeros, so it needs neither saving nor clearing. `None` when the kernel will not say.
fn resident_pages(region: &vm_memory::GuestRegionMmap) -> Option<Vec<bool>> {
    let len = region.len() as usize;
    let mut vec = vec![0u8; len.div_ceil(PAGE)];
    // SAFETY: the region is one mapping of `len` bytes owned by the VM for its lifetime, and
    // `vec` has one byte per page of it, which is what mincore writes.
    let ok = unsafe { libc::mincore(region.as_ptr().cast(), len, vec.as_mut_ptr()) } == 0;
    ok.then(|| vec.iter().map(|&v| v & 1 != 0).collect())
}

/// A region as its length and its pages that are not all zeros, each with its index: a
/// fresh 64 MiB guest saves in kilobytes. Pages never touched are not even read.
fn sparse_pages(region: &vm_memory::GuestRegionMmap) -> Result<Vec<u8>, SnapshotError> {
    let len = region.len() as usize;
    let resident = resident_pages(region);
    let mut out = (len as u64).to_le_bytes().to_vec();
    let mut page = [0u8; PAGE];
    for i in 0..len.div_ceil(PAGE) {
        if resident.as_ref().is_some_and(|r| !r[i]) {
            continue;
        }
        let n = PAGE.min(len - i * PAGE);
        region
            .read_slice(&mut page[..n], MemoryRegionAddress((i * PAGE) as u64))
            .map_err(state("guest RAM"))?;
        if page[..n].iter().any(|&b| b != 0) {
            out.extend_from_slice(&(i as u32).to_le_bytes());
            out.extend_from_slice(&page[..n]);
            out.resize(out.len() + PAGE - n, 0);
        }
    }
    Ok(out)
}

/// Puts the pages [`sparse_pages`] kept into the region at `base`, and zeros in every other
/// page the new machine touched (its POST and image).
fn restore_pages(
    memory: &vm_memory::GuestMemoryMmap,
    base: u64,
    saved: &[u8],
) -> Result<(), SnapshotError> {
    let (len, records) = saved
        .split_first_chunk::<8>()
        .ok_or_else(|| SnapshotError::State("a RAM section is cut short".into()))?;
    let len = u64::from_le_bytes(*len) as usize;
    let pages = len.div_ceil(PAGE);
    let region = memory
        .iter()
        .find(|r| r.start_addr().0 == base)
        .ok_or_else(|| SnapshotError::State(format!("no RAM at {base:#x}")))?;
    let resident = resident_pages(region);
    let mut kept = vec![false; pages];
    for record in records.chunks(4 + PAGE) {
        if record.len() != 4 + PAGE {
            return Err(SnapshotError::State("a RAM page is cut short".into()));
        }
        let i = u32::from_le_bytes([record[0], record[1], record[2], record[3]]) as usize;
        if i >= pages {
            return Err(SnapshotError::State(format!(
                "RAM page {i} is past the region"
            )));
        }
        let n = PAGE.min(len - i * PAGE);
        region
            .write_slice(&record[4..4 + n], MemoryRegionAddress((i * PAGE) as u64))
            .map_err(state("guest RAM"))?;
        kept[i] = true;
    }
    let zero = [0u8; PAGE];
    let mut now = [0u8; PAGE];
    for i in (0..pages).filter(|&i| !kept[i]) {
        if resident.as_ref().is_some_and(|r| !r[i]) {
            continue;
        }
        let n = PAGE.min(len - i * PAGE);
        let at = MemoryRegionAddress((i * PAGE) as u64);
        region
            .read_slice(&mut now[..n], at)
            .map_err(state("guest RAM"))?;
        if now[..n].iter().any(|&b| b != 0) {
            region
                .write_slice(&zero[..n], at)
                .map_err(state("guest RAM"))?;
        }
    }
    Ok(())
}

fn parse_hex(text: &str) -> Result<u64, SnapshotError> {
    u64::from_str_radix(text.trim_start_matches("0x"), 16)
        .map_err(|_| SnapshotError::State(format!("bad section address {text}")))
}
