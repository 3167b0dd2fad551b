//! What runs the guest's instructions: KVM, or picovmm's own interpreter; and, for `auto`,
//! which of the two runs a guest faster on this host, on evidence.
//!
//! KVM runs guest code natively where the processor can: with Intel's unrestricted guest
//! (VMX) or AMD's SVM, real mode included. Without them (a KVM that emulates real mode in
//! software, as nested hypervisors such as `kvm_pvm` do) every real-mode instruction is
//! emulated at a few million instructions a second, and the interpreter is far faster.

use std::path::Path;

use crate::cpu::CpuMode;

/// The CPU backend.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Accel {
    /// KVM's vCPU.
    Kvm,
    /// picovmm's interpreter (real and protected mode).
    Interp,
}

impl Accel {
    /// Its name on the command line and in statistics.
    pub fn name(self) -> &'static str {
        match self {
            Accel::Kvm => "kvm",
            Accel::Interp => "interp",
        }
    }
}

/// What this host's KVM can do for a guest, as far as it can be seen without running one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KvmSupport {
    /// `/dev/kvm` cannot be opened.
    Unusable,
    /// KVM runs real-mode code natively (unrestricted guest, or AMD SVM).
    Native,
    /// KVM emulates real-mode code in software.
    EmulatesRealMode,
}

/// Looks at `/dev/kvm` and the KVM modules' parameters under `sys_module` (`/sys/module`).
pub fn kvm_support(dev_kvm: &Path, sys_module: &Path) -> KvmSupport {
    // Usable means it opens and answers KVM's API version (not merely a file there).
    let usable = std::ffi::CString::new(dev_kvm.as_os_str().as_encoded_bytes())
        .ok()
        .and_then(|path| kvm_ioctls::Kvm::new_with_path(&path).ok())
        .is_some_and(|kvm| kvm.get_api_version() == kvm_bindings::KVM_API_VERSION as i32);
    if !usable {
        return KvmSupport::Unusable;
    }
    let unrestricted =
        std::fs::read_to_string(sys_module.join("kvm_intel/parameters/unrestricted_guest"));
    match unrestricted {
        Ok(v) if v.trim() == "Y" || v.trim() == "1" => KvmSupport::Native,
        Ok(_) => KvmSupport::EmulatesRealMode,
        Err(_) if sys_module.join("kvm_amd").exists() => KvmSupport::Native,
        // Neither module: another KVM (a nested one) that says nothing; it emulates.
        Err(_) => KvmSupport::EmulatesRealMode,
    }
}

/// The backend `auto` picks for a guest that starts in `mode`, and why, on a host whose KVM
/// is `support`. The interpreter runs real and protected mode (paging included); long mode
/// is KVM's.
pub fn choose_auto(support: KvmSupport, mode: CpuMode) -> (Accel, &'static str) {
    match (support, mode) {
        (_, CpuMode::Long) => (Accel::Kvm, "the guest starts in long mode"),
        (KvmSupport::Unusable, _) => (Accel::Interp, "/dev/kvm is not usable here"),
        (KvmSupport::Native, _) => (Accel::Kvm, "this host's KVM runs the guest natively"),
        (KvmSupport::EmulatesRealMode, CpuMode::Real) => (
            Accel::Interp,
            "this host's KVM emulates real mode in software; the interpreter is faster",
        ),
        (KvmSupport::EmulatesRealMode, CpuMode::Protected) => (
            Accel::Interp,
            "this host's KVM emulates ring-0 code in software; the interpreter is faster",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_auto_without_kvm_is_the_interpreter() {
        assert_eq!(
            choose_auto(KvmSupport::Unusable, CpuMode::Real).0,
            Accel::Interp
        );
    }

    #[test]
    fn test_auto_with_native_kvm_is_kvm() {
        assert_eq!(choose_auto(KvmSupport::Native, CpuMode::Real).0, Accel::Kvm);
    }

    #[test]
    fn test_auto_on_an_emulating_kvm_is_the_interpreter_for_real_mode() {
        assert_eq!(
            choose_auto(KvmSupport::EmulatesRealMode, CpuMode::Real).0,
            Accel::Interp
        );
    }

    #[test]
    fn test_auto_for_long_mode_is_kvm() {
        for support in [KvmSupport::Unusable, KvmSupport::EmulatesRealMode] {
            assert_eq!(choose_auto(support, CpuMode::Long).0, Accel::Kvm);
        }
    }

    #[test]
    fn test_auto_for_protected_mode_is_the_interpreter_unless_kvm_is_native() {
        let protected = |support| choose_auto(support, CpuMode::Protected).0;
        assert_eq!(protected(KvmSupport::EmulatesRealMode), Accel::Interp);
        assert_eq!(protected(KvmSupport::Unusable), Accel::Interp);
        assert_eq!(protected(KvmSupport::Native), Accel::Kvm);
    }

    #[test]
    fn test_missing_dev_kvm_is_unusable() {
        let dir = std::env::temp_dir();
        let support = kvm_support(&dir.join("no-such-kvm-device"), &dir);
        assert_eq!(support, KvmSupport::Unusable);
    }
}
