//! What to do with one vCPU exit: a free function over the exit and the I/O bus, so tests can
//! feed it hand-made exits without `/dev/kvm` (Firecracker's `handle_kvm_exit` shape).
//!
//! Port and MMIO accesses go to vm-device's `IoManager`. Reads are zero-filled before the
//! device sees them; an access no device claims reads as 0xFF (an open bus) and is returned to
//! the caller as [`ExitAction::Unclaimed`], which applies the machine's policy.

use std::fmt;

use kvm_ioctls::VcpuExit;

use crate::vcpu::DebugEvent;
use vm_device::bus::{MmioAddress, PioAddress};
use vm_device::device_manager::{IoManager, MmioManager, PioManager};

/// What a read of an unclaimed address returns in every byte.
const OPEN_BUS: u8 = 0xFF;

/// Which address space an access is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Space {
    /// x86 port I/O (`in`/`out`).
    Port,
    /// Memory-mapped I/O.
    Mmio,
}

/// One port or MMIO access, for messages about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Access {
    /// The address space.
    pub space: Space,
    /// Port number or guest-physical address.
    pub addr: u64,
    /// Width in bytes.
    pub len: usize,
    /// Whether the guest wrote.
    pub write: bool,
    /// The value written (little-endian, first 8 bytes); 0 for reads.
    pub value: u64,
}

impl Access {
    pub(crate) fn new(space: Space, addr: u64, data: &[u8], write: bool) -> Self {
        let mut bytes = [0u8; 8];
        let n = data.len().min(8);
        if write {
            bytes[..n].copy_from_slice(&data[..n]);
        }
        Access {
            space,
            addr,
            len: data.len(),
            write,
            value: u64::from_le_bytes(bytes),
        }
    }
}

impl fmt::Display for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let space = match self.space {
            Space::Port => "port",
            Space::Mmio => "MMIO",
        };
        let dir = if self.write { "write to" } else { "read from" };
        let unit = if self.len == 1 { "byte" } else { "bytes" };
        write!(f, "{space} {dir} {:#x} ({} {unit}", self.addr, self.len)?;
        if self.write {
            write!(f, ", value {:#x}", self.value)?;
        }
        write!(f, ")")
    }
}

/// An exit that ends the run, as the guest caused it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GuestStop {
    /// `hlt` with no interrupt source to wake the vCPU.
    Halted,
    /// `KVM_EXIT_SHUTDOWN`: a triple fault.
    TripleFault,
    /// `KVM_EXIT_FAIL_ENTRY` with the hardware's reason.
    FailEntry(u64),
    /// `KVM_EXIT_INTERNAL_ERROR`: the caller reads the details from `kvm_run`.
    InternalError,
    /// An exit picovmm has no handler for, by name.
    Unexpected(String),
}

/// What the run loop does next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExitAction {
    /// Re-enter the guest; KVM completes the port or MMIO access on the way in.
    Continue,
    /// Re-enter the guest; nothing is pending.
    Resume,
    /// No device claims this access: apply the unclaimed-access policy.
    Unclaimed(Access),
    /// A debug event (`KVM_EXIT_DEBUG`): a step or a breakpoint.
    Debug(DebugEvent),
    /// End the run.
    Stop(GuestStop),
}

/// Exits counted by reason.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExitCounters {
    /// Every return from `KVM_RUN`.
    pub total: u64,
    /// Port reads.
    pub io_in: u64,
    /// Port writes.
    pub io_out: u64,
    /// MMIO reads.
    pub mmio_read: u64,
    /// MMIO writes.
    pub mmio_write: u64,
    /// `hlt`.
    pub hlt: u64,
    /// Debug events (single steps, breakpoints).
    pub debug: u64,
    /// Triple faults.
    pub shutdown: u64,
    /// Returns with `EINTR` (a stop request, a kick for an interrupt, or a stray signal).
    pub interrupted: u64,
    /// Interrupt-window exits: the guest became able to take a pending interrupt.
    pub irq_window: u64,
    /// Everything else.
    pub other: u64,
    /// Interrupts injected into the guest (not exits: each rides on an entry).
    pub injected: u64,
    /// IRETs outside real mode that KVM could not emulate and picovmm did (counted in `other`).
    pub iret_emulated: u64,
    /// Calls to the firmware (the BIOS): port writes, counted in `io_out` too.
    pub firmware_calls: u64,
    /// Instructions the interpreter executed (0 under KVM, which does not count them).
    pub instructions: u64,
    /// Times KVM took the machine over from the interpreter, or gave it back.
    pub handovers: u64,
}

impl ExitCounters {
    /// These counts and `other`'s, field by field (a run that moved between backends).
    pub fn plus(self, other: ExitCounters) -> ExitCounters {
        ExitCounters {
            total: self.total + other.total,
            io_in: self.io_in + other.io_in,
            io_out: self.io_out + other.io_out,
            mmio_read: self.mmio_read + other.mmio_read,
            mmio_write: self.mmio_write + other.mmio_write,
            hlt: self.hlt + other.hlt,
            debug: self.debug + other.debug,
            shutdown: self.shutdown + other.shutdown,
            interrupted: self.interrupted + other.interrupted,
            irq_window: self.irq_window + other.irq_window,
            other: self.other + other.other,
            injected: self.injected + other.injected,
            iret_emulated: self.iret_emulated + other.iret_emulated,
            firmware_calls: self.firmware_calls + other.firmware_calls,
            instructions: self.instructions + other.instructions,
            handovers: self.handovers + other.handovers,
        }
    }

    /// Every counter but the total, by its stable name (as `--stats` and `--stats-json` say it).
    pub fn by_reason(&self) -> [(&'static str, u64); 10] {
        [
            ("io_in", self.io_in),
            ("io_out", self.io_out),
            ("mmio_read", self.mmio_read),
            ("mmio_write", self.mmio_write),
            ("hlt", self.hlt),
            ("debug", self.debug),
            ("shutdown", self.shutdown),
            ("interrupted", self.interrupted),
            ("irq_window", self.irq_window),
            ("other", self.other),
        ]
    }

    /// Counts a `KVM_RUN` that returned `EINTR`.
    pub fn count_interrupt(&mut self) {
        self.total += 1;
        self.interrupted += 1;
    }
}

/// One port write of `data.len()` bytes: to the device that claims all of it, or else split
/// into byte writes at consecutive ports, as QEMU's memory core splits an access wider than a
/// region (an `outw` to the 1-port debug console prints its low byte). Returns whether any
/// device took part.
pub(crate) fn port_write(io: &IoManager, port: u16, data: &[u8]) -> bool {
    if io.pio_write(PioAddress(port), data).is_ok() {
        return true;
    }
    let mut claimed = false;
    for (at, byte) in byte_ports(port, data.len()).zip(data) {
        claimed |= io
            .pio_write(PioAddress(at), std::slice::from_ref(byte))
            .is_ok();
    }
    claimed
}

/// One port read, split as [`port_write`] splits writes; bytes nobody claims read as 0xFF.
pub(crate) fn port_read(io: &IoManager, port: u16, data: &mut [u8]) -> bool {
    data.fill(0);
    if io.pio_read(PioAddress(port), data).is_ok() {
        return true;
    }
    data.fill(OPEN_BUS);
    let mut claimed = false;
    for (at, byte) in byte_ports(port, data.len()).zip(data.iter_mut()) {
        let mut one = [0u8];
        if io.pio_read(PioAddress(at), &mut one).is_ok() {
            *byte = one[0];
            claimed = true;
        }
    }
    claimed
}

/// The ports of an access's bytes, stopping at the last port.
fn byte_ports(port: u16, len: usize) -> impl Iterator<Item = u16> {
    (0..len).map_while(move |i| u16::try_from(i).ok().and_then(|i| port.checked_add(i)))
}

/// The width of one access of a port exit: KVM's `size`, or the whole data when unknown.
fn access_size(size: usize, len: usize) -> usize {
    if size == 0 || size > len {
        len.max(1)
    } else {
        size
    }
}

/// What the loop does after a port exit: go on if any device took part, else apply the
/// unclaimed-access policy to the first access.
fn port_outcome(claimed: bool, port: u16, first: &[u8], write: bool) -> ExitAction {
    if claimed {
        ExitAction::Continue
    } else {
        ExitAction::Unclaimed(Access::new(Space::Port, port.into(), first, write))
    }
}

/// Handles one exit: dispatches I/O to `io`, counts it, and says what the loop does next.
/// `port_size` is the width of one port access (KVM's `io.size`): a string instruction's exit
/// carries several.
pub fn handle_exit(
    exit: VcpuExit<'_>,
    io: &IoManager,
    counters: &mut ExitCounters,
    port_size: usize,
) -> ExitAction {
    counters.total += 1;
    match exit {
        // A string instruction (`rep outsb`) exits once with all its accesses: each is
        // dispatched on its own, `port_size` bytes wide.
        VcpuExit::IoOut(port, data) => {
            counters.io_out += 1;
            let size = access_size(port_size, data.len());
            let claimed = data.chunks(size).fold(data.is_empty(), |claimed, access| {
                port_write(io, port, access) | claimed
            });
            port_outcome(claimed, port, &data[..size.min(data.len())], true)
        }
        VcpuExit::IoIn(port, data) => {
            counters.io_in += 1;
            let size = access_size(port_size, data.len());
            let empty = data.is_empty();
            let claimed = data.chunks_mut(size).fold(empty, |claimed, access| {
                port_read(io, port, access) | claimed
            });
            port_outcome(claimed, port, &data[..size.min(data.len())], false)
        }
        VcpuExit::MmioWrite(addr, data) => {
            counters.mmio_write += 1;
            match io.mmio_write(MmioAddress(addr), data) {
                Ok(()) => ExitAction::Continue,
                Err(_) => ExitAction::Unclaimed(Access::new(Space::Mmio, addr, data, true)),
            }
        }
        VcpuExit::MmioRead(addr, data) => {
            counters.mmio_read += 1;
            data.fill(0);
            match io.mmio_read(MmioAddress(addr), data) {
                Ok(()) => ExitAction::Continue,
                Err(_) => {
                    data.fill(OPEN_BUS);
                    ExitAction::Unclaimed(Access::new(Space::Mmio, addr, data, false))
                }
            }
        }
        VcpuExit::Hlt => {
            counters.hlt += 1;
            ExitAction::Stop(GuestStop::Halted)
        }
        VcpuExit::IrqWindowOpen => {
            counters.irq_window += 1;
            ExitAction::Resume
        }
        VcpuExit::Debug(arch) => {
            counters.debug += 1;
            ExitAction::Debug(arch.into())
        }
        VcpuExit::Shutdown => {
            counters.shutdown += 1;
            ExitAction::Stop(GuestStop::TripleFault)
        }
        VcpuExit::FailEntry(reason, _cpu) => {
            counters.other += 1;
            ExitAction::Stop(GuestStop::FailEntry(reason))
        }
        VcpuExit::InternalError => {
            counters.other += 1;
            ExitAction::Stop(GuestStop::InternalError)
        }
        other => {
            counters.other += 1;
            let name = format!("{other:?}");
            ExitAction::Stop(GuestStop::Unexpected(name))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};
    use vm_device::bus::{MmioAddressOffset, MmioRange, PioAddressOffset, PioRange};
    use vm_device::{MutDeviceMmio, MutDevicePio};

    /// A device that records writes and answers reads with a fixed byte.
    #[derive(Default)]
    struct Recorder {
        writes: Vec<(u64, Vec<u8>)>,
    }

    impl MutDevicePio for Recorder {
        fn pio_read(&mut self, _: PioAddress, _: PioAddressOffset, data: &mut [u8]) {
            data[0] = 0x42;
        }
        fn pio_write(&mut self, _: PioAddress, offset: PioAddressOffset, data: &[u8]) {
            self.writes.push((offset.into(), data.to_vec()));
        }
    }

    impl MutDeviceMmio for Recorder {
        fn mmio_read(&mut self, _: MmioAddress, _: MmioAddressOffset, data: &mut [u8]) {
            data[0] = 0x24;
        }
        fn mmio_write(&mut self, _: MmioAddress, offset: MmioAddressOffset, data: &[u8]) {
            self.writes.push((offset, data.to_vec()));
        }
    }

    fn bus_with_recorder() -> (IoManager, Arc<Mutex<Recorder>>) {
        let dev = Arc::new(Mutex::new(Recorder::default()));
        let mut io = IoManager::new();
        let range = PioRange::new(PioAddress(0x60), 2).expect("range");
        io.register_pio(range, dev.clone()).expect("register pio");
        let range = MmioRange::new(MmioAddress(0xD0000), 0x100).expect("range");
        io.register_mmio(range, dev.clone()).expect("register mmio");
        (io, dev)
    }

    fn writes(dev: &Arc<Mutex<Recorder>>) -> Vec<(u64, Vec<u8>)> {
        dev.lock().map(|d| d.writes.clone()).unwrap_or_default()
    }

    #[test]
    fn test_io_out_to_device_is_dispatched_with_offset() {
        let (io, dev) = bus_with_recorder();
        let mut counters = ExitCounters::default();
        let action = handle_exit(VcpuExit::IoOut(0x61, &[7]), &io, &mut counters, 1);
        assert_eq!(action, ExitAction::Continue);
        assert_eq!(writes(&dev), vec![(1, vec![7])]);
        assert_eq!((counters.total, counters.io_out), (1, 1));
    }

    #[test]
    fn test_io_in_from_device_fills_data() {
        let (io, _dev) = bus_with_recorder();
        let mut data = [0xAAu8, 0xAA];
        handle_exit(
            VcpuExit::IoIn(0x60, &mut data),
            &io,
            &mut ExitCounters::default(),
            0,
        );
        assert_eq!(data, [0x42, 0x00]);
    }

    #[test]
    fn test_io_in_unclaimed_reads_open_bus() {
        let (io, _dev) = bus_with_recorder();
        let mut data = [0u8; 2];
        let action = handle_exit(
            VcpuExit::IoIn(0x80, &mut data),
            &io,
            &mut ExitCounters::default(),
            0,
        );
        assert_eq!(data, [0xFF, 0xFF]);
        let expected = Access {
            space: Space::Port,
            addr: 0x80,
            len: 2,
            write: false,
            value: 0,
        };
        assert_eq!(action, ExitAction::Unclaimed(expected));
    }

    #[test]
    fn test_io_out_straddling_range_end_is_split_into_bytes() {
        let (io, dev) = bus_with_recorder();
        let action = handle_exit(
            VcpuExit::IoOut(0x61, &[1, 2]),
            &io,
            &mut ExitCounters::default(),
            2,
        );
        assert_eq!(action, ExitAction::Continue);
        assert_eq!(writes(&dev), vec![(1, vec![1])]);
    }

    #[test]
    fn test_rep_outsb_is_one_write_per_byte() {
        let (io, dev) = bus_with_recorder();
        let mut counters = ExitCounters::default();
        handle_exit(VcpuExit::IoOut(0x60, b"abc"), &io, &mut counters, 1);
        assert_eq!(
            writes(&dev),
            vec![(0, b"a".to_vec()), (0, b"b".to_vec()), (0, b"c".to_vec())]
        );
        assert_eq!((counters.total, counters.io_out), (1, 1));
    }

    #[test]
    fn test_rep_insw_reads_each_word_from_the_device() {
        let (io, _dev) = bus_with_recorder();
        let mut data = [0xAAu8; 6];
        let action = handle_exit(
            VcpuExit::IoIn(0x60, &mut data),
            &io,
            &mut ExitCounters::default(),
            2,
        );
        assert_eq!(action, ExitAction::Continue);
        assert_eq!(data, [0x42, 0, 0x42, 0, 0x42, 0]);
    }

    #[test]
    fn test_wide_read_past_a_one_port_device_is_its_byte_then_open_bus() {
        let dev = Arc::new(Mutex::new(Recorder::default()));
        let mut io = IoManager::new();
        let range = PioRange::new(PioAddress(0xE9), 1).expect("range");
        io.register_pio(range, dev).expect("register pio");
        let mut data = [0u8; 2];
        handle_exit(
            VcpuExit::IoIn(0xE9, &mut data),
            &io,
            &mut ExitCounters::default(),
            2,
        );
        assert_eq!(data, [0x42, 0xFF]);
    }

    #[test]
    fn test_mmio_write_unclaimed_reports_value() {
        let (io, _dev) = bus_with_recorder();
        let action = handle_exit(
            VcpuExit::MmioWrite(0xE0000, &[0x34, 0x12]),
            &io,
            &mut ExitCounters::default(),
            0,
        );
        let ExitAction::Unclaimed(access) = action else {
            panic!("expected unclaimed")
        };
        assert_eq!(
            access.to_string(),
            "MMIO write to 0xe0000 (2 bytes, value 0x1234)"
        );
    }

    #[test]
    fn test_mmio_read_from_device_is_counted() {
        let (io, _dev) = bus_with_recorder();
        let mut counters = ExitCounters::default();
        let mut data = [0u8; 1];
        handle_exit(
            VcpuExit::MmioRead(0xD0010, &mut data),
            &io,
            &mut counters,
            0,
        );
        assert_eq!((data[0], counters.mmio_read), (0x24, 1));
    }

    #[test]
    fn test_hlt_stops_halted() {
        let mut counters = ExitCounters::default();
        let action = handle_exit(VcpuExit::Hlt, &IoManager::new(), &mut counters, 0);
        assert_eq!(action, ExitAction::Stop(GuestStop::Halted));
        assert_eq!(counters.hlt, 1);
    }

    #[test]
    fn test_shutdown_stops_with_triple_fault() {
        let action = handle_exit(
            VcpuExit::Shutdown,
            &IoManager::new(),
            &mut ExitCounters::default(),
            0,
        );
        assert_eq!(action, ExitAction::Stop(GuestStop::TripleFault));
    }

    #[test]
    fn test_fail_entry_keeps_hardware_reason() {
        let action = handle_exit(
            VcpuExit::FailEntry(0x21, 0),
            &IoManager::new(),
            &mut ExitCounters::default(),
            0,
        );
        assert_eq!(action, ExitAction::Stop(GuestStop::FailEntry(0x21)));
    }

    #[test]
    fn test_unknown_exit_stops_with_its_name() {
        let action = handle_exit(
            VcpuExit::Unknown,
            &IoManager::new(),
            &mut ExitCounters::default(),
            0,
        );
        assert_eq!(
            action,
            ExitAction::Stop(GuestStop::Unexpected("Unknown".to_owned()))
        );
    }
}
