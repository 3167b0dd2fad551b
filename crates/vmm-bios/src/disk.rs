//! Raw disk images: a file, its geometry, and the rules that keep the user's data safe. A
//! write the guest completed is in the file (written through at once); `readonly` refuses
//! writes; `snapshot` keeps them in memory (QEMU's -snapshot); an image a VM may write is
//! locked (flock) so that a second picovmm cannot write it at the same time.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

/// Bytes per sector.
pub const SECTOR: u64 = 512;

/// Floppy or hard disk: decides the drive number (0x00 or 0x80 upwards) and the geometry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DriveKind {
    /// A floppy drive (A:, B:).
    Floppy,
    /// A hard disk (C:, D:...).
    Hard,
}

impl DriveKind {
    /// The name used in machine files and messages.
    pub fn name(self) -> &'static str {
        match self {
            DriveKind::Floppy => "floppy",
            DriveKind::Hard => "hd",
        }
    }

    /// What an image of `len` bytes is, by size: up to 2.88 MB a floppy.
    pub fn for_size(len: u64) -> DriveKind {
        if len <= 2_949_120 {
            DriveKind::Floppy
        } else {
            DriveKind::Hard
        }
    }
}

/// Cylinders, heads, sectors per track.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Geometry {
    /// Cylinders.
    pub cylinders: u32,
    /// Heads.
    pub heads: u32,
    /// Sectors per track.
    pub sectors: u32,
}

impl Geometry {
    /// Sectors the geometry addresses.
    pub fn total(&self) -> u64 {
        u64::from(self.cylinders) * u64::from(self.heads) * u64::from(self.sectors)
    }

    /// The LBA of a CHS address (sector from 1), if it is on the disk.
    pub fn lba(&self, cylinder: u32, head: u32, sector: u32) -> Option<u64> {
        if sector == 0 || sector > self.sectors || head >= self.heads || cylinder >= self.cylinders
        {
            return None;
        }
        Some(
            (u64::from(cylinder) * u64::from(self.heads) + u64::from(head))
                * u64::from(self.sectors)
                + u64::from(sector - 1),
        )
    }
}

/// The standard floppy formats: (bytes, geometry, int 13h AH=08h drive type).
const FLOPPIES: [(u64, Geometry, u8); 8] = [
    (163_840, geometry(40, 1, 8), 1),
    (184_320, geometry(40, 1, 9), 1),
    (327_680, geometry(40, 2, 8), 1),
    (368_640, geometry(40, 2, 9), 1),
    (737_280, geometry(80, 2, 9), 3),
    (1_228_800, geometry(80, 2, 15), 2),
    (1_474_560, geometry(80, 2, 18), 4),
    (2_949_120, geometry(80, 2, 36), 5),
];

const fn geometry(cylinders: u32, heads: u32, sectors: u32) -> Geometry {
    Geometry {
        cylinders,
        heads,
        sectors,
    }
}

/// A floppy image's geometry and drive type: the standard format of exactly its size, else
/// 1.44 MB (2.88 MB above that), the rest of the disk reading as empty sectors.
pub fn floppy_geometry(len: u64) -> (Geometry, u8) {
    if let Some(&(_, g, t)) = FLOPPIES.iter().find(|(size, _, _)| *size == len) {
        return (g, t);
    }
    let (_, g, t) = if len <= 1_474_560 {
        FLOPPIES[6]
    } else {
        FLOPPIES[7]
    };
    (g, t)
}

/// A hard disk's geometry for `len` bytes: 16 heads and 63 sectors while that addresses it
/// (504 MiB), else 255 heads; cylinders capped at 1024 (the rest is reached by LBA).
pub fn hard_geometry(len: u64) -> Geometry {
    let sectors = len.div_ceil(SECTOR).max(1);
    let heads = if sectors <= 1024 * 16 * 63 { 16 } else { 255 };
    let cylinders = sectors.div_ceil(heads * 63).clamp(1, 1024) as u32;
    geometry(cylinders, heads as u32, 63)
}

/// Why an image cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum DiskError {
    /// It could not be opened.
    #[error("cannot open disk image {}", path.display())]
    Open {
        /// The image.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Another process holds its lock.
    #[error(
        "disk image {} is in use by another program (locked); two machines writing one image \
         would corrupt it (use readonly or snapshot to share it)",
        path.display()
    )]
    Locked {
        /// The image.
        path: PathBuf,
    },
    /// It is not a regular file.
    #[error("disk image {} is not a regular file", path.display())]
    NotAFile {
        /// The image.
        path: PathBuf,
    },
    /// Too large for a floppy.
    #[error("disk image {} is {len} bytes: too large for a floppy (2.88 MB at most)", path.display())]
    TooLargeForFloppy {
        /// The image.
        path: PathBuf,
        /// Its size.
        len: u64,
    },
    /// Empty.
    #[error("disk image {} is empty", path.display())]
    Empty {
        /// The image.
        path: PathBuf,
    },
}

/// How writes are treated.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum WriteMode {
    /// Written through to the file.
    #[default]
    Write,
    /// Refused with the BIOS's write-protect error.
    ReadOnly,
    /// Kept in memory, forgotten when the run ends.
    Snapshot,
}

/// An open disk image.
#[derive(Debug)]
pub struct Disk {
    file: File,
    path: PathBuf,
    len: u64,
    kind: DriveKind,
    geometry: Geometry,
    floppy_type: u8,
    mode: WriteMode,
    /// Sectors written under [`WriteMode::Snapshot`].
    overlay: HashMap<u64, [u8; SECTOR as usize]>,
}

/// What a sector access failed on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IoError {
    /// The sector is past the disk's end.
    OutOfRange,
    /// The disk is read-only.
    WriteProtected,
    /// The host could not read or write the file.
    Host,
}

impl Disk {
    /// Opens `path` as a drive of `kind` (by size when `None`), locking it.
    pub fn open(path: &Path, kind: Option<DriveKind>, mode: WriteMode) -> Result<Disk, DiskError> {
        let open_error = |source| DiskError::Open {
            path: path.to_path_buf(),
            source,
        };
        // O_NONBLOCK: opening a FIFO or a device for reading must not wait for a writer; a
        // file that is not regular is refused below, whatever the mode.
        let file = OpenOptions::new()
            .read(true)
            .write(mode == WriteMode::Write)
            .custom_flags(libc::O_NONBLOCK)
            .open(path)
            .map_err(open_error)?;
        let meta = file.metadata().map_err(open_error)?;
        if !meta.is_file() {
            return Err(DiskError::NotAFile {
                path: path.to_path_buf(),
            });
        }
        let len = meta.len();
        if len == 0 {
            return Err(DiskError::Empty {
                path: path.to_path_buf(),
            });
        }
        // A writer excludes everyone; readers exclude writers.
        let lock = if mode == WriteMode::Write {
            libc::LOCK_EX
        } else {
            libc::LOCK_SH
        };
        // SAFETY: flock on a descriptor this function owns; no memory is involved.
        if unsafe { libc::flock(file.as_raw_fd(), lock | libc::LOCK_NB) } != 0 {
            return Err(DiskError::Locked {
                path: path.to_path_buf(),
            });
        }
        let kind = kind.unwrap_or_else(|| DriveKind::for_size(len));
        let (geometry, floppy_type) = match kind {
            DriveKind::Floppy if len > 2_949_120 => {
                return Err(DiskError::TooLargeForFloppy {
                    path: path.to_path_buf(),
                    len,
                })
            }
            DriveKind::Floppy => floppy_geometry(len),
            DriveKind::Hard => (hard_geometry(len), 0),
        };
        Ok(Disk {
            file,
            path: path.to_path_buf(),
            len,
            kind,
            geometry,
            floppy_type,
            mode,
            overlay: HashMap::new(),
        })
    }

    /// The image's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Floppy or hard disk.
    pub fn kind(&self) -> DriveKind {
        self.kind
    }

    /// The geometry int 13h reports.
    pub fn geometry(&self) -> Geometry {
        self.geometry
    }

    /// The drive type int 13h AH=08h reports for a floppy.
    pub fn floppy_type(&self) -> u8 {
        self.floppy_type
    }

    /// How writes are treated.
    pub fn mode(&self) -> WriteMode {
        self.mode
    }

    /// Sectors the guest may address: the geometry's for a floppy (an image shorter than its
    /// format reads as empty sectors past its end), the image's own for a hard disk.
    pub fn sectors(&self) -> u64 {
        match self.kind {
            DriveKind::Floppy => self.geometry.total(),
            DriveKind::Hard => self.len.div_ceil(SECTOR),
        }
    }

    /// Reads sector `lba` into `buf` (zeros past the file's end).
    pub fn read_sector(&self, lba: u64, buf: &mut [u8; SECTOR as usize]) -> Result<(), IoError> {
        if lba >= self.sectors() {
            return Err(IoError::OutOfRange);
        }
        if let Some(data) = self.overlay.get(&lba) {
            buf.copy_from_slice(data);
            return Ok(());
        }
        buf.fill(0);
        let at = lba * SECTOR;
        let mut done = 0;
        while done < buf.len() && at + (done as u64) < self.len {
            match self.file.read_at(&mut buf[done..], at + done as u64) {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => return Err(IoError::Host),
            }
        }
        Ok(())
    }

    /// Writes sector `lba`: to the file at once, to memory under snapshot, or refused.
    pub fn write_sector(&mut self, lba: u64, buf: &[u8; SECTOR as usize]) -> Result<(), IoError> {
        if lba >= self.sectors() {
            return Err(IoError::OutOfRange);
        }
        match self.mode {
            WriteMode::ReadOnly => Err(IoError::WriteProtected),
            WriteMode::Snapshot => {
                self.overlay.insert(lba, *buf);
                Ok(())
            }
            WriteMode::Write => {
                self.file
                    .write_all_at(buf, lba * SECTOR)
                    .map_err(|_| IoError::Host)?;
                self.len = self.len.max((lba + 1) * SECTOR);
                Ok(())
            }
        }
    }

    /// Pushes written data to the disk (the file's own durability, at the end of a run).
    pub fn sync(&self) -> std::io::Result<()> {
        if self.mode == WriteMode::Write {
            self.file.sync_data()
        } else {
            Ok(())
        }
    }
}

/// The written data reaches the host's disk when the drive goes away (the end of the run).
impl Drop for Disk {
    fn drop(&mut self) {
        let _ = self.sync();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TempImage;

    fn image(bytes: &[u8]) -> (TempImage, PathBuf) {
        let t = TempImage::new(bytes);
        let p = t.0.clone();
        (t, p)
    }

    #[test]
    fn test_floppy_geometry_by_size() {
        assert_eq!(floppy_geometry(1_474_560).0, geometry(80, 2, 18));
        assert_eq!(floppy_geometry(368_640).0, geometry(40, 2, 9));
        assert_eq!(floppy_geometry(512).0, geometry(80, 2, 18));
        assert_eq!(floppy_geometry(2_000_000).0, geometry(80, 2, 36));
        assert_eq!(DriveKind::for_size(1_474_560), DriveKind::Floppy);
        assert_eq!(DriveKind::for_size(10 << 20), DriveKind::Hard);
    }

    #[test]
    fn test_chs_to_lba() {
        let g = geometry(80, 2, 18);
        assert_eq!(g.lba(0, 0, 1), Some(0));
        assert_eq!(g.lba(0, 1, 1), Some(18));
        assert_eq!(g.lba(1, 0, 1), Some(36));
        assert_eq!(g.lba(0, 0, 0), None);
        assert_eq!(g.lba(0, 0, 19), None);
        assert_eq!(g.lba(80, 0, 1), None);
    }

    #[test]
    fn test_a_512_byte_floppy_reads_empty_sectors_past_its_end() {
        let (_t, path) = image(&[0xAA; 512]);
        let disk = Disk::open(&path, None, WriteMode::ReadOnly).expect("opens");
        let mut buf = [0u8; 512];
        disk.read_sector(0, &mut buf).expect("sector 0");
        assert_eq!(buf, [0xAA; 512]);
        disk.read_sector(2879, &mut buf).expect("last sector");
        assert_eq!(buf, [0; 512]);
        assert_eq!(disk.read_sector(2880, &mut buf), Err(IoError::OutOfRange));
    }

    #[test]
    fn test_writes_reach_the_file_unless_readonly_or_snapshot() {
        let (_t, path) = image(&[0; 1024]);
        {
            let mut disk = Disk::open(&path, None, WriteMode::Write).expect("opens");
            disk.write_sector(1, &[0x55; 512]).expect("write");
        }
        assert_eq!(std::fs::read(&path).expect("read")[512..], [0x55; 512]);
        let mut ro = Disk::open(&path, None, WriteMode::ReadOnly).expect("opens");
        assert_eq!(ro.write_sector(0, &[1; 512]), Err(IoError::WriteProtected));
        drop(ro);
        let mut snap = Disk::open(&path, None, WriteMode::Snapshot).expect("opens");
        snap.write_sector(0, &[7; 512]).expect("write");
        let mut buf = [0u8; 512];
        snap.read_sector(0, &mut buf).expect("read");
        assert_eq!(buf, [7; 512]);
        drop(snap);
        assert_eq!(std::fs::read(&path).expect("read")[..512], [0; 512]);
    }

    #[test]
    fn test_a_written_image_is_locked_against_a_second_writer() {
        let (_t, path) = image(&[0; 512]);
        let _first = Disk::open(&path, None, WriteMode::Write).expect("opens");
        let second = Disk::open(&path, None, WriteMode::Write);
        assert!(
            matches!(second, Err(DiskError::Locked { .. })),
            "{second:?}"
        );
        let reader = Disk::open(&path, None, WriteMode::ReadOnly);
        assert!(matches!(reader, Err(DiskError::Locked { .. })));
    }
}
