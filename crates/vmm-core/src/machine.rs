//! A machine: the KVM VM, one vCPU, its guest memory and I/O bus, and the run loop.

use std::collections::HashSet;
use std::io::Write;
use std::sync::Arc;
use std::time::Instant;

use kvm_bindings::{kvm_run, kvm_userspace_memory_region};
use kvm_ioctls::{Cap, Kvm, VcpuFd, VmFd};
use vm_device::bus::{MmioAddress, MmioRange, PioAddress, PioRange};
use vm_device::device_manager::{IoManager, MmioManager, PioManager};
use vm_device::{DeviceMmio, DevicePio};
use vm_memory::{Address, GuestMemoryBackend, GuestMemoryMmap, GuestMemoryRegion};

use crate::cpu::{self, BootCpu, CpuMode};
use crate::device_memory::DeviceMemory;
use crate::exit::{handle_exit, Access, ExitAction, ExitCounters, GuestStop, Space};
use crate::layout::{BOOT_GDT, BOOT_PAGE_TABLES, GUEST_PHYS_LIMIT, KVM_TSS_ADDRESS, PAGE_SIZE};
use crate::memory::{self, RamRegion};
use crate::outcome::{Registers, RunOutcome, RunReport};
use crate::stop::{clear_immediate_exit, StopHandle};
use crate::{gdt, paging};

/// How many distinct unclaimed addresses are reported before picovmm stops reporting them, so a
/// guest sweeping the address space cannot flood the log or grow memory without bound.
pub const MAX_REPORTED_UNCLAIMED: usize = 16;
/// How many instruction bytes an internal-error report shows.
const CODE_BYTES: usize = 15;
/// KVM's sub-error for an instruction it could not emulate.
const KVM_INTERNAL_ERROR_EMULATION: u32 = 1;

/// Errors creating or setting up a machine.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `/dev/kvm` does not exist.
    #[error(
        "/dev/kvm does not exist: this host has no KVM (load the kvm_intel or kvm_amd module, \
         or enable nested virtualization for this VM)"
    )]
    NoKvm,
    /// `/dev/kvm` exists but we may not open it.
    #[error(
        "no permission to open /dev/kvm: add your user to the kvm group \
         (sudo usermod -aG kvm $USER, then log in again) or run as root"
    )]
    KvmPermission,
    /// Any other failure opening `/dev/kvm`.
    #[error("cannot open /dev/kvm")]
    KvmOpen(#[source] kvm_ioctls::Error),
    /// A KVM ioctl failed while building the machine.
    #[error("cannot {what}")]
    Kvm {
        /// What we were doing.
        what: &'static str,
        /// The ioctl's error.
        #[source]
        source: kvm_ioctls::Error,
    },
    /// Guest memory could not be built or loaded.
    #[error(transparent)]
    Memory(#[from] memory::Error),
    /// The vCPU could not be put in its boot state.
    #[error(transparent)]
    Cpu(#[from] cpu::Error),
    /// A device range that is empty, overflows, or collides with another device.
    #[error("cannot place {space} range [{base:#x}, +{len:#x}): {reason}")]
    DeviceRange {
        /// "port" or "MMIO".
        space: &'static str,
        /// Start of the range.
        base: u64,
        /// Length.
        len: u64,
        /// What is wrong.
        reason: &'static str,
    },
}

/// Result alias for this module.
pub type Result<T> = std::result::Result<T, Error>;

/// What the run loop does with an access no device claims.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum UnclaimedPolicy {
    /// Reads give 0xFF, writes are dropped, and each distinct address is reported once.
    #[default]
    Log,
    /// End the run with an error naming the access and CS:IP.
    Stop,
}

/// A KVM virtual machine with one vCPU.
pub struct Machine {
    // Field order is drop order: the vCPU and VM close before /dev/kvm.
    vcpu: VcpuFd,
    vm: VmFd,
    _kvm: Kvm,
    memory: GuestMemoryMmap,
    io: IoManager,
    /// Memory windows mapped for devices, kept alive as long as the VM.
    device_memory: Vec<DeviceMemory>,
    /// Every MMIO range handed out (to the bus or as device memory), to refuse overlaps.
    mmio_ranges: Vec<(u64, u64)>,
    stop: StopHandle,
    unclaimed: UnclaimedPolicy,
    reported: HashSet<(Space, u64)>,
    warnings: Box<dyn Write + Send>,
    /// When `Machine::new` started, to measure setup up to the first `KVM_RUN`.
    created: Instant,
}

fn kvm_error(what: &'static str) -> impl FnOnce(kvm_ioctls::Error) -> Error {
    move |source| Error::Kvm { what, source }
}

/// What a failure to open `/dev/kvm` means to the user.
fn kvm_open_error(e: kvm_ioctls::Error) -> Error {
    match e.errno() {
        libc::ENOENT | libc::ENODEV | libc::ENXIO => Error::NoKvm,
        libc::EACCES | libc::EPERM => Error::KvmPermission,
        _ => Error::KvmOpen(e),
    }
}

fn open_kvm() -> Result<Kvm> {
    Kvm::new().map_err(kvm_open_error)
}

impl Machine {
    /// Opens `/dev/kvm` and creates a VM with `ram` as its memory and one vCPU.
    pub fn new(ram: &[RamRegion]) -> Result<Self> {
        let created = Instant::now();
        let memory = memory::create(ram)?;
        let kvm = open_kvm()?;
        let vm = kvm.create_vm().map_err(kvm_error("create a KVM VM"))?;
        if kvm.check_extension(Cap::SetTssAddr) {
            vm.set_tss_address(KVM_TSS_ADDRESS as usize)
                .map_err(kvm_error("set the TSS address (KVM_SET_TSS_ADDR)"))?;
        }
        for (slot, region) in memory.iter().enumerate() {
            let host = region
                .get_host_address(vm_memory::MemoryRegionAddress(0))
                .map_err(|_| Error::Memory(memory::Error::NoRegions))?;
            let mem_region = kvm_userspace_memory_region {
                slot: slot as u32,
                flags: 0,
                guest_phys_addr: region.start_addr().raw_value(),
                memory_size: region.len(),
                userspace_addr: host as u64,
            };
            // SAFETY: the mapping behind `host` is `region.len()` bytes, owned by `memory`, which
            // lives in the same `Machine` as `vm` and is dropped after it (field order), so the
            // guest never sees unmapped host memory. Slots are distinct and regions disjoint.
            unsafe { vm.set_user_memory_region(mem_region) }
                .map_err(kvm_error("map guest memory (KVM_SET_USER_MEMORY_REGION)"))?;
        }
        let vcpu = vm.create_vcpu(0).map_err(kvm_error("create the vCPU"))?;
        Ok(Machine {
            vcpu,
            vm,
            _kvm: kvm,
            memory,
            io: IoManager::new(),
            device_memory: Vec::new(),
            mmio_ranges: Vec::new(),
            stop: StopHandle::default(),
            unclaimed: UnclaimedPolicy::default(),
            reported: HashSet::new(),
            warnings: Box::new(std::io::stderr()),
            created,
        })
    }

    /// The guest's RAM.
    pub fn memory(&self) -> &GuestMemoryMmap {
        &self.memory
    }

    /// The KVM VM, for features beyond this crate (coalesced MMIO zones, for example).
    pub fn vm(&self) -> &VmFd {
        &self.vm
    }

    /// Copies `image` into RAM at `addr`.
    pub fn load_image(&self, addr: u64, image: &[u8]) -> Result<()> {
        Ok(memory::load_image(&self.memory, addr, image)?)
    }

    /// Writes what the CPU mode needs into guest RAM (the GDT for protected and long mode, the
    /// identity page tables for long mode) and puts the vCPU in its entry state.
    pub fn set_boot_cpu(&self, boot: &BootCpu) -> Result<()> {
        if boot.mode != CpuMode::Real {
            memory::load_image(&self.memory, BOOT_GDT, &gdt::bytes())?;
        }
        if boot.mode == CpuMode::Long {
            memory::load_image(
                &self.memory,
                BOOT_PAGE_TABLES,
                &paging::identity_tables(BOOT_PAGE_TABLES),
            )?;
        }
        Ok(cpu::set_boot_state(&self.vcpu, boot)?)
    }

    /// Puts a device on ports `[base, base + len)`.
    pub fn register_pio(
        &mut self,
        base: u16,
        len: u16,
        device: Arc<dyn DevicePio + Send + Sync>,
    ) -> Result<()> {
        let range_error = |reason| Error::DeviceRange {
            space: "port",
            base: base.into(),
            len: len.into(),
            reason,
        };
        let range = PioRange::new(PioAddress(base), len)
            .map_err(|_| range_error("empty, or past port 0xffff"))?;
        self.io
            .register_pio(range, device)
            .map_err(|_| range_error("overlaps another device"))
    }

    /// Checks that `[base, base + len)` is a valid range clear of RAM and of other MMIO.
    fn claim_mmio(&mut self, base: u64, len: u64) -> Result<()> {
        let range_error = |reason| Error::DeviceRange {
            space: "MMIO",
            base,
            len,
            reason,
        };
        let end = match base.checked_add(len) {
            Some(end) if len > 0 && end <= GUEST_PHYS_LIMIT => end,
            _ => {
                return Err(range_error(
                    "empty, or past the guest-physical space (64 GiB)",
                ))
            }
        };
        let overlaps = |start: u64, size: u64| base < start.saturating_add(size) && start < end;
        if self
            .memory
            .iter()
            .any(|r| overlaps(r.start_addr().raw_value(), r.len()))
        {
            return Err(range_error("overlaps guest RAM"));
        }
        if self
            .mmio_ranges
            .iter()
            .any(|&(start, size)| overlaps(start, size))
        {
            return Err(range_error("overlaps another device"));
        }
        self.mmio_ranges.push((base, len));
        Ok(())
    }

    /// Puts a device on guest-physical `[base, base + len)`; the range must not be RAM.
    pub fn register_mmio(
        &mut self,
        base: u64,
        len: u64,
        device: Arc<dyn DeviceMmio + Send + Sync>,
    ) -> Result<()> {
        self.claim_mmio(base, len)?;
        let range_error = |reason| Error::DeviceRange {
            space: "MMIO",
            base,
            len,
            reason,
        };
        let range = MmioRange::new(MmioAddress(base), len)
            .map_err(|_| range_error("empty, or past the address space"))?;
        self.io
            .register_mmio(range, device)
            .map_err(|_| range_error("overlaps another device"))
    }

    /// Maps `len` bytes of memory at guest-physical `base` for a device (a framebuffer): the
    /// guest reads and writes it like RAM, without exits, and the VMM reads it through the
    /// returned handle. `base` and `len` must be page aligned.
    pub fn map_device_memory(&mut self, base: u64, len: u64) -> Result<DeviceMemory> {
        let range_error = |reason| Error::DeviceRange {
            space: "MMIO",
            base,
            len,
            reason,
        };
        if base % PAGE_SIZE != 0 || len % PAGE_SIZE != 0 {
            return Err(range_error("device memory must be page aligned"));
        }
        self.claim_mmio(base, len)?;
        let size = usize::try_from(len).map_err(|_| range_error("too large"))?;
        let memory = DeviceMemory::new(base, size).ok_or(range_error("cannot allocate it"))?;
        let host = memory
            .region()
            .get_host_address(vm_memory::MemoryRegionAddress(0))
            .map_err(|_| range_error("cannot allocate it"))?;
        let slot = (self.memory.num_regions() + self.device_memory.len()) as u32;
        let mem_region = kvm_userspace_memory_region {
            slot,
            flags: 0,
            guest_phys_addr: base,
            memory_size: len,
            userspace_addr: host as u64,
        };
        // SAFETY: `host` maps `len` bytes owned by `memory`; a clone is kept in
        // `self.device_memory` until the Machine (and so the VM) is dropped, after `vm` (field
        // order). The slot number is unused and the range overlaps no other slot (checked above).
        unsafe { self.vm.set_user_memory_region(mem_region) }
            .map_err(kvm_error("map device memory (KVM_SET_USER_MEMORY_REGION)"))?;
        self.device_memory.push(memory.clone());
        Ok(memory)
    }

    /// Chooses what happens on an access no device claims.
    pub fn set_unclaimed_policy(&mut self, policy: UnclaimedPolicy) {
        self.unclaimed = policy;
    }

    /// Where warnings (unclaimed accesses under [`UnclaimedPolicy::Log`]) go; stderr by default.
    pub fn set_warning_output(&mut self, out: Box<dyn Write + Send>) {
        self.warnings = out;
    }

    /// A handle that stops [`Machine::run`] from any thread, or from a signal handler.
    pub fn stop_handle(&self) -> StopHandle {
        self.stop.clone()
    }

    /// Runs the vCPU on the calling thread until the guest stops or a stop is requested.
    pub fn run(&mut self) -> RunReport {
        let mut exits = ExitCounters::default();
        let stop = self.stop.clone();
        let _attached = stop.attach(self.vcpu.get_kvm_run() as *mut kvm_run);
        let start = Instant::now();
        let setup_time = start.duration_since(self.created);
        let outcome = loop {
            if let Some(reason) = stop.reason() {
                break reason.into();
            }
            let action = match self.vcpu.run() {
                Ok(exit) => handle_exit(exit, &self.io, &mut exits),
                Err(e) if e.errno() == libc::EINTR => {
                    exits.count_interrupt();
                    clear_immediate_exit(self.vcpu.get_kvm_run());
                    continue;
                }
                Err(e) if e.errno() == libc::EAGAIN => continue,
                Err(e) => break RunOutcome::KvmError(e.to_string()),
            };
            match action {
                ExitAction::Continue => {}
                ExitAction::Unclaimed(access) => {
                    if let Some(outcome) = self.on_unclaimed(access) {
                        break outcome;
                    }
                }
                ExitAction::Stop(guest_stop) => break self.guest_stop_outcome(guest_stop),
            }
        };
        let run_time = start.elapsed();
        let _ = self.warnings.flush();
        RunReport {
            outcome,
            registers: self.registers(),
            exits,
            setup_time,
            run_time,
        }
    }

    /// The vCPU's registers now, or `None` if KVM will not give them.
    pub fn registers(&self) -> Option<Registers> {
        let regs = self.vcpu.get_regs().ok()?;
        let sregs = self.vcpu.get_sregs().ok()?;
        Some(Registers::from_kvm(&regs, &sregs))
    }

    fn on_unclaimed(&mut self, access: Access) -> Option<RunOutcome> {
        if self.unclaimed == UnclaimedPolicy::Stop {
            return Some(RunOutcome::UnclaimedAccess(access));
        }
        let key = (access.space, access.addr);
        if self.reported.len() > MAX_REPORTED_UNCLAIMED || self.reported.contains(&key) {
            return None;
        }
        self.reported.insert(key);
        let at = self
            .registers()
            .map(|r| r.cs_ip())
            .unwrap_or_else(|| "?".to_owned());
        let _ = if self.reported.len() > MAX_REPORTED_UNCLAIMED {
            writeln!(
                self.warnings,
                "picovmm: warning: more than {MAX_REPORTED_UNCLAIMED} unclaimed addresses; \
                 not reporting further ones"
            )
        } else {
            writeln!(
                self.warnings,
                "picovmm: warning: unclaimed {access} at {at} ignored (reported once per address)"
            )
        };
        None
    }

    fn guest_stop_outcome(&mut self, stop: GuestStop) -> RunOutcome {
        match stop {
            GuestStop::Halted => RunOutcome::Halted,
            GuestStop::TripleFault => RunOutcome::TripleFault,
            GuestStop::FailEntry(reason) => RunOutcome::FailEntry { reason },
            GuestStop::Unexpected(name) => RunOutcome::UnexpectedExit(name),
            GuestStop::InternalError => {
                // SAFETY: the last exit was KVM_EXIT_INTERNAL_ERROR, so `internal` is the union
                // member the kernel filled in.
                let suberror =
                    unsafe { self.vcpu.get_kvm_run().__bindgen_anon_1.internal.suberror };
                RunOutcome::InternalError {
                    suberror,
                    code: self.code_at_ip(),
                }
            }
        }
    }

    /// Up to 15 bytes of guest code at CS:IP (the instruction KVM stopped on).
    fn code_at_ip(&self) -> Vec<u8> {
        let Some(regs) = self.registers() else {
            return Vec::new();
        };
        let linear = regs.code_address();
        let physical = match self.vcpu.translate_gva(linear) {
            Ok(t) if t.valid != 0 => t.physical_address,
            _ => linear,
        };
        let mut code = vec![0u8; CODE_BYTES];
        let n = memory::read_prefix(&self.memory, physical, &mut code);
        code.truncate(n);
        code
    }
}

/// Whether an outcome's suberror is an emulation failure (for callers that explain it).
pub fn is_emulation_failure(outcome: &RunOutcome) -> bool {
    matches!(outcome, RunOutcome::InternalError { suberror, .. } if *suberror == KVM_INTERNAL_ERROR_EMULATION)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_kvm_open_error_missing_device_says_no_kvm() {
        let err = kvm_open_error(kvm_ioctls::Error::new(libc::ENOENT));
        assert!(err
            .to_string()
            .starts_with("/dev/kvm does not exist: this host has no KVM"));
    }

    #[test]
    fn test_kvm_open_error_permission_names_kvm_group() {
        let err = kvm_open_error(kvm_ioctls::Error::new(libc::EACCES));
        assert_eq!(
            err.to_string(),
            "no permission to open /dev/kvm: add your user to the kvm group \
             (sudo usermod -aG kvm $USER, then log in again) or run as root"
        );
    }

    #[test]
    fn test_kvm_open_error_other_keeps_cause() {
        let err = kvm_open_error(kvm_ioctls::Error::new(libc::EMFILE));
        assert!(matches!(err, Error::KvmOpen(_)));
    }
}
