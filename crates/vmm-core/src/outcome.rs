//! How a run ended, with the vCPU's registers at that moment and the exits it took.

use std::fmt;
use std::time::Duration;

use kvm_bindings::{kvm_regs, kvm_segment, kvm_sregs};

use crate::exit::ExitCounters;
use crate::vcpu::Fault;

/// Why a run ended, under the run-to-completion policy (the CLI's): the terminal
/// [`VcpuEvent`]s, with stop reasons resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RunOutcome {
    /// The guest executed `hlt` with nothing to wake it.
    Halted,
    /// A device (isa-debug-exit) asked to end the run with this value.
    GuestExit(u32),
    /// The guest asked for a reset (the i8042's reset pulse): the run ends, as under QEMU's
    /// `-no-reboot`.
    Reset,
    /// The time limit passed.
    Timeout,
    /// The user interrupted the run (SIGINT).
    Interrupted,
    /// A front end asked to end the run (the control socket's `quit`).
    Quit,
    /// A signal other than SIGINT ended the run (SIGTERM, SIGHUP, SIGQUIT).
    Signal(i32),
    /// A device failed an access.
    DeviceFailed {
        /// The device's name.
        device: String,
        /// What went wrong, as the device said it.
        message: String,
    },
    /// A device (a plugin) ended the run as a halt.
    DeviceHalted {
        /// The device's name.
        device: String,
        /// Why, as the device said it.
        message: String,
    },
    /// The guest or KVM cannot go on.
    Fault(Fault),
}

impl RunOutcome {
    /// The outcome's stable name, as `--stats-json` writes it.
    pub fn name(&self) -> &'static str {
        match self {
            RunOutcome::Halted => "halted",
            RunOutcome::GuestExit(_) => "exit",
            RunOutcome::Reset => "reset",
            RunOutcome::Timeout => "timeout",
            RunOutcome::Interrupted => "interrupted",
            RunOutcome::Quit => "quit",
            RunOutcome::Signal(_) => "signal",
            RunOutcome::DeviceFailed { .. } => "device_failed",
            RunOutcome::DeviceHalted { .. } => "device_halted",
            RunOutcome::Fault(fault) => fault.name(),
        }
    }
}

impl fmt::Display for RunOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunOutcome::Halted => write!(f, "the guest halted"),
            RunOutcome::GuestExit(v) => write!(f, "the guest exited with value {v:#x}"),
            RunOutcome::Reset => write!(f, "the guest reset the machine"),
            RunOutcome::Timeout => write!(f, "the run timed out"),
            RunOutcome::Interrupted => write!(f, "the run was interrupted"),
            RunOutcome::Quit => write!(f, "the run was ended by a quit command"),
            RunOutcome::Signal(s) => write!(f, "the run was ended by signal {s}"),
            RunOutcome::DeviceFailed { message, .. } => write!(f, "{message}"),
            RunOutcome::DeviceHalted { device, message } => {
                write!(f, "device {device} ended the run: {message}")
            }
            RunOutcome::Fault(fault) => write!(f, "{fault}"),
        }
    }
}

/// A segment register's selector and base.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Segment {
    /// Selector.
    pub selector: u16,
    /// Base address.
    pub base: u64,
}

impl From<kvm_segment> for Segment {
    fn from(s: kvm_segment) -> Self {
        Segment {
            selector: s.selector,
            base: s.base,
        }
    }
}

/// The vCPU registers worth showing when a run ends.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct Registers {
    pub rax: u64,
    pub rbx: u64,
    pub rcx: u64,
    pub rdx: u64,
    pub rsi: u64,
    pub rdi: u64,
    pub rbp: u64,
    pub rsp: u64,
    pub rip: u64,
    pub rflags: u64,
    pub cs: Segment,
    pub ds: Segment,
    pub es: Segment,
    pub ss: Segment,
    pub cr0: u64,
}

impl Registers {
    /// Builds the snapshot from KVM's register structs.
    pub fn from_kvm(regs: &kvm_regs, sregs: &kvm_sregs) -> Self {
        Registers {
            rax: regs.rax,
            rbx: regs.rbx,
            rcx: regs.rcx,
            rdx: regs.rdx,
            rsi: regs.rsi,
            rdi: regs.rdi,
            rbp: regs.rbp,
            rsp: regs.rsp,
            rip: regs.rip,
            rflags: regs.rflags,
            cs: sregs.cs.into(),
            ds: sregs.ds.into(),
            es: sregs.es.into(),
            ss: sregs.ss.into(),
            cr0: sregs.cr0,
        }
    }

    /// The linear address of the next instruction: CS base + IP.
    pub fn code_address(&self) -> u64 {
        self.cs.base.wrapping_add(self.rip)
    }

    /// "CS:IP" as `0000:7c00`.
    pub fn cs_ip(&self) -> String {
        format!("{:04x}:{:04x}", self.cs.selector, self.rip)
    }
}

impl fmt::Display for Registers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "cs:ip={} ss:sp={:04x}:{:04x} ds={:04x} es={:04x} rflags={:#x} cr0={:#x}",
            self.cs_ip(),
            self.ss.selector,
            self.rsp,
            self.ds.selector,
            self.es.selector,
            self.rflags,
            self.cr0
        )?;
        write!(
            f,
            "rax={:#x} rbx={:#x} rcx={:#x} rdx={:#x} rsi={:#x} rdi={:#x} rbp={:#x}",
            self.rax, self.rbx, self.rcx, self.rdx, self.rsi, self.rdi, self.rbp
        )
    }
}

/// Everything a run produced.
#[derive(Clone, Debug)]
pub struct RunReport {
    /// Why it ended.
    pub outcome: RunOutcome,
    /// Registers when it ended (`None` if KVM would not give them).
    pub registers: Option<Registers>,
    /// Exits by reason.
    pub exits: ExitCounters,
    /// Wall time from creating the machine (opening /dev/kvm) to the first `KVM_RUN`.
    pub setup_time: Duration,
    /// Wall time from the first `KVM_RUN` to the end.
    pub run_time: Duration,
    /// What ran the guest, and why it was chosen.
    pub accel: (crate::Accel, &'static str),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_fault_outcome_name_is_the_faults() {
        assert_eq!(RunOutcome::Fault(Fault::TripleFault).name(), "triple_fault");
    }

    #[test]
    fn test_registers_cs_ip_is_real_mode_form() {
        let regs = Registers {
            cs: Segment {
                selector: 0x07C0,
                base: 0x7C00,
            },
            rip: 0x12,
            ..Default::default()
        };
        assert_eq!(
            (regs.cs_ip(), regs.code_address()),
            ("07c0:0012".to_owned(), 0x7C12)
        );
    }
}
