//! The vCPU's complete architectural state, as KVM gives it: what a debugger edits and a
//! snapshot saves. Read and written in the order Firecracker uses (vCPU events last on read,
//! so that pending exceptions are not lost; MSRs after the segment registers on write).

use kvm_bindings::{
    kvm_debugregs, kvm_fpu, kvm_mp_state, kvm_msr_entry, kvm_regs, kvm_sregs, kvm_vcpu_events,
    kvm_xcrs, kvm_xsave, Msrs,
};
use kvm_ioctls::VcpuFd;

/// The MSRs a snapshot keeps: the ones a guest of picovmm can change and KVM does not keep in
/// another state struct (EFER is in the segment registers).
pub const SAVED_MSRS: &[u32] = &[
    0x0000_0010, // IA32_TIME_STAMP_COUNTER
    0x0000_0174, // IA32_SYSENTER_CS
    0x0000_0175, // IA32_SYSENTER_ESP
    0x0000_0176, // IA32_SYSENTER_EIP
    0x0000_0277, // IA32_PAT
    0xC000_0081, // STAR
    0xC000_0082, // LSTAR
    0xC000_0083, // CSTAR
    0xC000_0084, // SYSCALL_MASK
    0xC000_0102, // KERNEL_GS_BASE
    0xC000_0103, // TSC_AUX
];

/// Errors reading or writing the state.
#[derive(Debug, thiserror::Error)]
#[error("cannot {what} of the vCPU")]
pub struct StateBytesError {
    /// What was being done.
    pub what: &'static str,
    /// The ioctl's error.
    #[source]
    pub source: kvm_ioctls::Error,
}

fn kvm<T>(what: &'static str, r: Result<T, kvm_ioctls::Error>) -> Result<T, StateBytesError> {
    r.map_err(|source| StateBytesError { what, source })
}

/// Everything KVM keeps for one vCPU (without an in-kernel interrupt controller).
#[derive(Clone, Debug)]
pub struct VcpuState {
    /// General registers, RIP and RFLAGS.
    pub regs: kvm_regs,
    /// Segment, control and descriptor-table registers, EFER.
    pub sregs: kvm_sregs,
    /// The legacy FPU/SSE state.
    pub fpu: kvm_fpu,
    /// The XSAVE area (4 KiB), when the host supports XSAVE.
    pub xsave: Option<Vec<u32>>,
    /// Extended control registers (XCR0).
    pub xcrs: Option<kvm_xcrs>,
    /// DR0-DR3, DR6, DR7.
    pub debugregs: kvm_debugregs,
    /// The MSRs in [`SAVED_MSRS`] that KVM could read.
    pub msrs: Vec<kvm_msr_entry>,
    /// Multiprocessing state (runnable, halted...).
    pub mp_state: kvm_mp_state,
    /// Pending exceptions, interrupts and NMIs, interrupt shadow.
    pub events: kvm_vcpu_events,
}

impl VcpuState {
    /// Reads the whole state.
    pub fn read(fd: &VcpuFd) -> Result<Self, StateBytesError> {
        let mp_state = kvm("read the MP state", fd.get_mp_state())?;
        let regs = kvm("read the registers", fd.get_regs())?;
        let sregs = kvm("read the segment registers", fd.get_sregs())?;
        let fpu = kvm("read the FPU state", fd.get_fpu())?;
        let xsave = fd.get_xsave().ok().map(|x| x.region.to_vec());
        let xcrs = fd.get_xcrs().ok();
        let debugregs = kvm("read the debug registers", fd.get_debug_regs())?;
        let msrs = read_msrs(fd)?;
        let events = kvm("read the pending events", fd.get_vcpu_events())?;
        Ok(VcpuState {
            regs,
            sregs,
            fpu,
            xsave,
            xcrs,
            debugregs,
            msrs,
            mp_state,
            events,
        })
    }

    /// Writes the whole state back.
    pub fn write(&self, fd: &VcpuFd) -> Result<(), StateBytesError> {
        kvm("set the MP state", fd.set_mp_state(self.mp_state))?;
        kvm("set the registers", fd.set_regs(&self.regs))?;
        kvm("set the segment registers", fd.set_sregs(&self.sregs))?;
        kvm("set the FPU state", fd.set_fpu(&self.fpu))?;
        if let Some(region) = &self.xsave {
            let mut xsave = kvm_xsave::default();
            let n = region.len().min(xsave.region.len());
            xsave.region[..n].copy_from_slice(&region[..n]);
            // SAFETY: `xsave` is a whole `kvm_xsave` (4 KiB region, no trailing entries), which
            // is what KVM_SET_XSAVE reads.
            kvm("set the XSAVE state", unsafe { fd.set_xsave(&xsave) })?;
        }
        if let Some(xcrs) = &self.xcrs {
            kvm("set the extended control registers", fd.set_xcrs(xcrs))?;
        }
        kvm(
            "set the debug registers",
            fd.set_debug_regs(&self.debugregs),
        )?;
        if !self.msrs.is_empty() {
            let msrs = Msrs::from_entries(&self.msrs).map_err(|_| StateBytesError {
                what: "set the MSRs",
                source: kvm_ioctls::Error::new(libc::E2BIG),
            })?;
            kvm("set the MSRs", fd.set_msrs(&msrs))?;
        }
        kvm("set the pending events", fd.set_vcpu_events(&self.events))
    }
}

/// Reads [`SAVED_MSRS`]; KVM stops at the first one it does not know, so the list is cut there.
fn read_msrs(fd: &VcpuFd) -> Result<Vec<kvm_msr_entry>, StateBytesError> {
    let entries: Vec<kvm_msr_entry> = SAVED_MSRS
        .iter()
        .map(|&index| kvm_msr_entry {
            index,
            ..Default::default()
        })
        .collect();
    let mut msrs = Msrs::from_entries(&entries).map_err(|_| StateBytesError {
        what: "read the MSRs",
        source: kvm_ioctls::Error::new(libc::E2BIG),
    })?;
    let read = kvm("read the MSRs", fd.get_msrs(&mut msrs))?;
    Ok(msrs.as_slice()[..read.min(entries.len())].to_vec())
}
