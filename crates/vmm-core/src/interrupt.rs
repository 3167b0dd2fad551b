//! The CPU's side of an external interrupt controller (the PC's 8259A pair, in userspace).
//!
//! picovmm keeps the interrupt controller out of the kernel (no `KVM_CREATE_IRQCHIP`): the
//! devices are state machines the VMM can test and save, and `hlt` comes back to userspace,
//! where the run loop decides whether anything can still wake the CPU (`cli; hlt` ends the run
//! at once). The vCPU asks the controller, before each entry, whether its INTR pin is asserted,
//! and injects the vector with `KVM_INTERRUPT` when the guest can take it (IF set, no
//! interrupt shadow), or asks KVM for an interrupt-window exit when it cannot yet. A device
//! raising a line on another thread calls [`crate::VcpuControl::interrupt`], which wakes a
//! halted vCPU or kicks a running one. docs/performance.md compares this with KVM's in-kernel
//! irqchip on this host.

use kvm_bindings::kvm_interrupt;
use kvm_ioctls::VcpuFd;
use vmm_sys_util::ioctl::ioctl_with_ref;

/// What the vCPU asks of the machine's interrupt controller.
pub trait InterruptController: Send + Sync {
    /// Whether the INTR pin is asserted.
    fn pending(&self) -> bool;

    /// The INTA cycle: the vector the CPU takes.
    fn acknowledge(&self) -> u8;

    /// Whether any interrupt can still reach the CPU; `false` means a halted CPU with
    /// interrupts enabled would never wake (every line a device drives is masked).
    fn can_interrupt(&self) -> bool;
}

/// A timer the vCPU's own thread can drive (the interpreter's): rather than a thread of the
/// timer's that wakes for each tick and then wakes the vCPU, the vCPU raises what is due
/// between its slices of instructions and, halted, sleeps until the next deadline: one
/// thread wake-up less per tick.
pub trait VcpuTimer: Send + Sync {
    /// Hands the timer to the calling vCPU thread (`true`), or back to a thread of its own
    /// (`false`: KVM runs the guest, and its vCPU cannot look between instructions).
    fn drive_from_vcpu(&self, on: bool);
    /// Raises what is due now; says when it next needs servicing (`None`: nothing scheduled).
    fn service(&self) -> Option<std::time::Instant>;
}

mod ioctls {
    #![allow(missing_docs)]
    use kvm_bindings::kvm_interrupt;
    use vmm_sys_util::ioctl_iow_nr;

    const KVMIO: u32 = 0xAE;
    ioctl_iow_nr!(KVM_INTERRUPT, KVMIO, 0x86, kvm_interrupt);
}
use ioctls::KVM_INTERRUPT;

/// Queues `vector` for delivery on the next entry (`KVM_INTERRUPT`; kvm-ioctls has no wrapper).
pub(crate) fn inject(fd: &VcpuFd, vector: u8) -> Result<(), kvm_ioctls::Error> {
    let irq = kvm_interrupt {
        irq: u32::from(vector),
    };
    // SAFETY: KVM_INTERRUPT reads one `kvm_interrupt` from the pointer, which is valid for the
    // call; `fd` is an open vCPU descriptor.
    let ret = unsafe { ioctl_with_ref(fd, KVM_INTERRUPT(), &irq) };
    if ret < 0 {
        return Err(kvm_ioctls::Error::last());
    }
    Ok(())
}
