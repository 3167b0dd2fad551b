//! The CPU the guest sees through `cpuid`, as the established VMMs set it (Firecracker, Cloud
//! Hypervisor): start from what KVM supports on this host (`KVM_GET_SUPPORTED_CPUID`), then
//! normalise it for picovmm's machine: one vCPU with APIC ID 0, the hypervisor bit set, and what
//! picovmm does not emulate masked off. Without this table every leaf reads as zero, and KVM
//! refuses a guest's `wrmsr` to EFER.LME because CPUID says the CPU has no long mode.
//!
//! docs/cpu.md lists what a guest sees and why.

use kvm_bindings::{kvm_cpuid_entry2, CpuId, KVM_MAX_CPUID_ENTRIES};
use kvm_ioctls::{Kvm, VcpuFd};

use crate::vm::{kvm_error, Result};

/// Leaf 1 ECX bit 31: running under a hypervisor.
const LEAF1_ECX_HYPERVISOR: u32 = 1 << 31;
/// Leaf 1 ECX bit 21: x2APIC; bit 24: TSC deadline timer (both need a local APIC).
const LEAF1_ECX_X2APIC: u32 = 1 << 21;
const LEAF1_ECX_TSC_DEADLINE: u32 = 1 << 24;
/// Leaf 1 EDX bit 9: on-chip local APIC (picovmm's PC has the 8259 PIC, not an APIC).
const LEAF1_EDX_APIC: u32 = 1 << 9;
/// Leaf 1 EDX bit 28: more than one logical processor per package.
const LEAF1_EDX_HTT: u32 = 1 << 28;
/// Leaf 1 EBX bits 16-23 (logical processors per package) and 24-31 (initial APIC ID).
const LEAF1_EBX_TOPOLOGY: u32 = 0xFFFF_0000;
/// Leaf 1 EBX: one logical processor.
const LEAF1_EBX_ONE_CPU: u32 = 1 << 16;
/// Leaf 4 EAX bits 14-25 (threads sharing the cache - 1) and 26-31 (cores per package - 1).
const LEAF4_EAX_SHARING: u32 = 0xFFFF_C000;
/// Leaf 0xB / 0x1F ECX bits 8-15: level type (1 SMT, 2 core).
const TOPOLOGY_LEVEL_SMT: u32 = 1 << 8;
const TOPOLOGY_LEVEL_CORE: u32 = 2 << 8;
/// Leaf 0x8000_0008 ECX bits 0-7: cores per package - 1 (AMD), and 12-15 (APIC ID size).
const EXT8_ECX_CORES: u32 = 0xF0FF;

/// KVM's supported table being read on a thread of its own (the ioctl takes about 0.4 ms on
/// this project's host), started by [`prefetch`].
static PREFETCH: std::sync::Mutex<Option<std::thread::JoinHandle<Option<CpuId>>>> =
    std::sync::Mutex::new(None);

/// Starts reading KVM's supported CPUID on a thread, so that a front end that is about to build
/// a machine (`picovmm run`) has it by the time its vCPU is created: call it first thing. Without
/// it (or when the thread cannot start) the vCPU reads the table itself.
pub fn prefetch() {
    let started = std::thread::Builder::new()
        .name("cpuid".into())
        .stack_size(64 * 1024)
        .spawn(|| {
            Kvm::new()
                .ok()?
                .get_supported_cpuid(KVM_MAX_CPUID_ENTRIES)
                .ok()
        });
    if let (Ok(thread), Ok(mut slot)) = (started, PREFETCH.lock()) {
        *slot = Some(thread);
    }
}

/// The table [`prefetch`] read, once (`None` without a prefetch, or when it failed).
pub fn prefetched() -> Option<CpuId> {
    let thread = PREFETCH.lock().ok()?.take()?;
    thread.join().ok().flatten()
}

/// Normalises KVM's supported table (`supported`, or read now) and gives it to the vCPU.
pub fn set_cpuid(kvm: &Kvm, supported: Option<CpuId>, vcpu: &VcpuFd) -> Result<()> {
    let mut cpuid = match supported {
        Some(table) => table,
        None => kvm
            .get_supported_cpuid(KVM_MAX_CPUID_ENTRIES)
            .map_err(kvm_error("read the host's CPUID (KVM_GET_SUPPORTED_CPUID)"))?,
    };
    normalise(cpuid.as_mut_slice());
    vcpu.set_cpuid2(&CpuId::from_entries(cpuid.as_slice()).map_err(|_| {
        crate::vm::VmError::Kvm {
            what: "build the CPUID table",
            source: kvm_ioctls::Error::new(libc::E2BIG),
        }
    })?)
    .map_err(kvm_error("set the vCPU's CPUID (KVM_SET_CPUID2)"))
}

/// Makes KVM's supported table describe picovmm's one-vCPU PC.
pub fn normalise(entries: &mut [kvm_cpuid_entry2]) {
    for entry in entries.iter_mut() {
        match entry.function {
            0x1 => {
                entry.ecx |= LEAF1_ECX_HYPERVISOR;
                entry.ecx &= !(LEAF1_ECX_X2APIC | LEAF1_ECX_TSC_DEADLINE);
                entry.edx &= !(LEAF1_EDX_APIC | LEAF1_EDX_HTT);
                entry.ebx = (entry.ebx & !LEAF1_EBX_TOPOLOGY) | LEAF1_EBX_ONE_CPU;
            }
            0x4 => entry.eax &= !LEAF4_EAX_SHARING,
            // Architectural performance monitoring: picovmm exposes no PMU.
            0xA => (entry.eax, entry.ebx, entry.ecx, entry.edx) = (0, 0, 0, 0),
            0xB | 0x1F => {
                let (eax, ebx, ecx) = match entry.index {
                    0 => (0, 1, TOPOLOGY_LEVEL_SMT),
                    1 => (0, 1, TOPOLOGY_LEVEL_CORE | 1),
                    n => (0, 0, n & 0xFF),
                };
                (entry.eax, entry.ebx, entry.ecx, entry.edx) = (eax, ebx, ecx, 0);
            }
            0x8000_0008 => entry.ecx &= !EXT8_ECX_CORES,
            _ => {}
        }
    }
}

/// KVM's table for this host, normalised as the KVM vCPU's is (the interpreter's CPU and
/// KVM's must look the same to a guest that moves between them); `None` without a usable
/// `/dev/kvm`.
pub fn kvm_table_for_interp() -> Option<Vec<kvm_cpuid_entry2>> {
    let kvm = Kvm::new().ok()?;
    let mut cpuid = kvm.get_supported_cpuid(KVM_MAX_CPUID_ENTRIES).ok()?;
    normalise(cpuid.as_mut_slice());
    without_what_the_interpreter_lacks(cpuid.as_mut_slice());
    let support = crate::accel::kvm_support(
        std::path::Path::new("/dev/kvm"),
        std::path::Path::new("/sys/module"),
    );
    if support == crate::accel::KvmSupport::EmulatesRealMode {
        without_simd(cpuid.as_mut_slice());
    }
    Some(cpuid.as_slice().to_vec())
}

/// Leaf 1 EDX: MMX (bit 23), SSE (25), SSE2 (26).
const LEAF1_EDX_SIMD: u32 = 1 << 23 | 1 << 25 | 1 << 26;
/// Leaf 1 ECX: SSE3 (0), PCLMULQDQ (1), SSSE3 (9), FMA (12), SSE4.1 (19), SSE4.2 (20), MOVBE
/// (22), POPCNT (23), AES (25), AVX (28), F16C (29), RDRAND (30).
const LEAF1_ECX_SIMD: u32 = 1
    | 1 << 1
    | 1 << 9
    | 1 << 12
    | 1 << 19
    | 1 << 20
    | 1 << 22
    | 1 << 23
    | 1 << 25
    | 1 << 28
    | 1 << 29
    | 1 << 30;
/// Leaf 8000_0001h ECX: LZCNT (5), SSE4a (6), XOP (11), FMA4 (16), TBM (21).
const EXT1_ECX_SIMD: u32 = 1 << 5 | 1 << 6 | 1 << 11 | 1 << 16 | 1 << 21;

/// On a host whose KVM emulates real mode and ring 0 (and cannot page without PAE), also the
/// vector extensions and the later integer ones (leaf 7's features: BMI, AVX2, SHA...): a
/// 32-bit guest (glibc's string functions, for one) would use them in code this KVM cannot
/// take over. Long mode stays; a 64-bit kernel that wants SSE2 before it gets there is KVM's
/// to run from the start (`--mode long`).
fn without_simd(entries: &mut [kvm_cpuid_entry2]) {
    for entry in entries.iter_mut() {
        match (entry.function, entry.index) {
            (0x1, _) => {
                entry.ecx &= !LEAF1_ECX_SIMD;
                entry.edx &= !LEAF1_EDX_SIMD;
            }
            (0x7, _) => (entry.ebx, entry.ecx, entry.edx) = (0, 0, 0),
            (0x8000_0001, _) => entry.ecx &= !EXT1_ECX_SIMD,
            _ => {}
        }
    }
}

/// Leaf 7 EBX: TSC_ADJUST (bit 1, an MSR), SMEP (7), INVPCID (10), SMAP (20).
const LEAF7_EBX_LACKED: u32 = 1 << 1 | 1 << 7 | 1 << 10 | 1 << 20;
/// Leaf 7 ECX: UMIP (bit 2), PKU (3).
const LEAF7_ECX_LACKED: u32 = 1 << 2 | 1 << 3;
/// Leaf 7 EDX bits 26-31: the speculation controls (IBRS/IBPB, STIBP, L1D_FLUSH,
/// ARCH_CAPABILITIES, CORE_CAPABILITIES, SSBD), each an MSR.
const LEAF7_EDX_LACKED: u32 = 0xFC00_0000;
/// Leaf 1 ECX: DTES64 (bit 2), VMX (5), SMX (6), PDCM (15, an MSR), PCID (17), XSAVE (26).
const LEAF1_ECX_LACKED: u32 = 1 << 2 | 1 << 5 | 1 << 6 | 1 << 15 | 1 << 17 | 1 << 26;
/// Leaf 1 EDX: DS, the debug store (bit 21, MSRs).
const LEAF1_EDX_LACKED: u32 = 1 << 21;
/// Leaf 8000_0008h EBX: AMD's speculation controls (IBPB 12, IBRS 14, STIBP 15, SSBD 24,
/// VIRT_SSBD 25).
const EXT8_EBX_LACKED: u32 = 1 << 12 | 1 << 14 | 1 << 15 | 1 << 24 | 1 << 25;

/// Takes out of KVM's table what the interpreter does not have and a guest does not need to
/// reach long mode under KVM: the CR4 protections (SMEP, SMAP, UMIP, PKU, PCID) and INVPCID,
/// XSAVE (FXSAVE stays), VMX and SMX, the debug store, the MSRs of TSC_ADJUST, PDCM and the
/// speculation controls, and KVM's paravirtual features. A 32-bit kernel reads them in ring
/// 0, where this host's KVM cannot take the machine over; a 64-bit one still finds long mode,
/// SSE2 and FXSR.
fn without_what_the_interpreter_lacks(entries: &mut [kvm_cpuid_entry2]) {
    for entry in entries.iter_mut() {
        match (entry.function, entry.index) {
            (0x1, _) => {
                entry.ecx &= !LEAF1_ECX_LACKED;
                entry.edx &= !LEAF1_EDX_LACKED;
            }
            (0x7, 0) => {
                entry.ebx &= !LEAF7_EBX_LACKED;
                entry.ecx &= !LEAF7_ECX_LACKED;
                entry.edx &= !LEAF7_EDX_LACKED;
            }
            (0x8000_0008, _) => entry.ebx &= !EXT8_EBX_LACKED,
            // KVM's paravirtual features (kvmclock, async page faults, PV EOI...): MSRs and
            // shared pages the interpreter has none of. The signature leaf stays.
            (0x4000_0001, _) => (entry.eax, entry.edx) = (0, 0),
            _ => {}
        }
    }
}

/// The answer for `leaf` and `subleaf` in `table` (zero for a leaf it lacks).
pub fn lookup(table: &[kvm_cpuid_entry2], leaf: u32, subleaf: u32) -> [u32; 4] {
    let indexed = |e: &&kvm_cpuid_entry2| {
        e.flags & kvm_bindings::KVM_CPUID_FLAG_SIGNIFCANT_INDEX == 0 || e.index == subleaf
    };
    table
        .iter()
        .filter(|e| e.function == leaf)
        .find(indexed)
        .map_or([0; 4], |e| [e.eax, e.ebx, e.ecx, e.edx])
}

/// Leaf 1 EDX bit 0: an x87 on the chip.
const LEAF1_EDX_FPU: u32 = 1;
/// Leaf 1 EDX bit 3: 4 MiB pages (CR4.PSE).
const LEAF1_EDX_PSE: u32 = 1 << 3;
/// Leaf 1 EDX bit 4: RDTSC.
const LEAF1_EDX_TSC: u32 = 1 << 4;
/// Leaf 1 EDX bit 5: RDMSR and WRMSR.
const LEAF1_EDX_MSR: u32 = 1 << 5;
/// Leaf 1 EDX bit 6: PAE paging.
const LEAF1_EDX_PAE: u32 = 1 << 6;
/// Leaf 1 EDX bit 8: CMPXCHG8B.
const LEAF1_EDX_CX8: u32 = 1 << 8;
/// Leaf 1 EDX bit 11: SYSENTER and SYSEXIT.
const LEAF1_EDX_SEP: u32 = 1 << 11;
/// Leaf 1 EDX bit 15: CMOVcc (and, with the x87, FCMOVcc and FCOMI).
const LEAF1_EDX_CMOV: u32 = 1 << 15;
/// Leaf 1 EDX bit 24: FXSAVE and FXRSTOR.
const LEAF1_EDX_FXSR: u32 = 1 << 24;
/// Leaf 1 EAX: family 6, model 1, stepping 9 (a Pentium Pro: what a kernel built for i686
/// requires).
const INTERP_SIGNATURE: u32 = 0x619;

/// What the interpreter's CPUID answers: the host's vendor, a P6 with what the interpreter
/// implements (the x87, 4 MiB pages, RDTSC, MSRs, PAE, CMPXCHG8B, SYSENTER, CMOV and FCMOV,
/// FXSAVE; no SSE, no local APIC), one CPU, the hypervisor bit; every other leaf zero.
pub fn interp_leaf(leaf: u32, _subleaf: u32) -> [u32; 4] {
    match leaf {
        0 => {
            let [b, d, c] = host_vendor();
            [1, b, c, d]
        }
        1 => [
            INTERP_SIGNATURE,
            LEAF1_EBX_ONE_CPU,
            LEAF1_ECX_HYPERVISOR,
            LEAF1_EDX_FPU
                | LEAF1_EDX_PSE
                | LEAF1_EDX_TSC
                | LEAF1_EDX_MSR
                | LEAF1_EDX_PAE
                | LEAF1_EDX_CX8
                | LEAF1_EDX_SEP
                | LEAF1_EDX_CMOV
                | LEAF1_EDX_FXSR,
        ],
        _ => [0; 4],
    }
}

/// The host's vendor string as EBX, EDX, ECX.
fn host_vendor() -> [u32; 3] {
    #[cfg(target_arch = "x86_64")]
    {
        let r = std::arch::x86_64::__cpuid(0);
        [r.ebx, r.edx, r.ecx]
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let v = |s: &[u8; 4]| u32::from_le_bytes(*s);
        [v(b"pico"), v(b"vmm "), v(b"CPU ")]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(function: u32, index: u32) -> kvm_cpuid_entry2 {
        kvm_cpuid_entry2 {
            function,
            index,
            eax: 0xFFFF_FFFF,
            ebx: 0xFFFF_FFFF,
            ecx: 0xFFFF_FFFF,
            edx: 0xFFFF_FFFF,
            ..Default::default()
        }
    }

    #[test]
    fn test_leaf1_has_hypervisor_bit_one_cpu_and_no_apic() {
        let mut entries = [entry(1, 0)];
        normalise(&mut entries);
        let e = entries[0];
        assert_ne!(e.ecx & LEAF1_ECX_HYPERVISOR, 0);
        assert_eq!(e.ebx >> 16, 1);
        assert_eq!(e.edx & (LEAF1_EDX_APIC | LEAF1_EDX_HTT), 0);
    }

    #[test]
    fn test_topology_leaf_describes_one_thread_and_one_core() {
        let mut entries = [entry(0xB, 0), entry(0xB, 1), entry(0xB, 2)];
        normalise(&mut entries);
        let got: Vec<(u32, u32, u32)> = entries.iter().map(|e| (e.ebx, e.ecx, e.edx)).collect();
        assert_eq!(got, vec![(1, 0x100, 0), (1, 0x201, 0), (0, 2, 0)]);
    }

    #[test]
    fn test_pmu_leaf_is_zeroed() {
        let mut entries = [entry(0xA, 0)];
        normalise(&mut entries);
        assert_eq!((entries[0].eax, entries[0].edx), (0, 0));
    }

    #[test]
    fn test_the_interpreters_view_lacks_speculation_msrs_kvmclock_and_xsave() {
        let mut entries = [entry(1, 0), entry(7, 0), entry(0x4000_0001, 0)];

        without_what_the_interpreter_lacks(&mut entries);

        assert_eq!(entries[0].ecx & (1 << 26), 0, "XSAVE");
        assert_eq!(entries[0].edx & (1 << 24), 1 << 24, "FXSR stays");
        assert_eq!(entries[1].edx & LEAF7_EDX_LACKED, 0);
        assert_eq!(entries[1].ebx & (1 << 20), 0, "SMAP");
        assert_eq!((entries[2].eax, entries[2].edx), (0, 0));
    }

    #[test]
    fn test_without_simd_keeps_fxsr_and_long_mode() {
        let mut entries = [entry(1, 0), entry(7, 0), entry(0x8000_0001, 0)];

        without_simd(&mut entries);

        assert_eq!(entries[0].edx & LEAF1_EDX_SIMD, 0);
        assert_eq!(entries[0].edx & (1 << 24), 1 << 24, "FXSR");
        assert_eq!(entries[0].ecx & (1 << 31), 1 << 31, "hypervisor");
        assert_eq!((entries[1].ebx, entries[1].ecx, entries[1].edx), (0, 0, 0));
        assert_eq!(entries[2].edx, 0xFFFF_FFFF, "long mode, NX, SYSCALL");
    }

    #[test]
    fn test_the_interpreters_view_keeps_long_mode() {
        let mut entries = [entry(0x8000_0001, 0)];

        without_what_the_interpreter_lacks(&mut entries);

        assert_eq!(entries[0].edx, 0xFFFF_FFFF);
    }

    #[test]
    fn test_other_leaves_are_kept() {
        let mut entries = [entry(0x8000_0001, 0)];
        normalise(&mut entries);
        assert_eq!(entries[0].edx, 0xFFFF_FFFF);
    }
}
