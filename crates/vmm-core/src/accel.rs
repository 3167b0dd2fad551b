//! What runs the guest's instructions: KVM, or picovmm's own interpreter; and, for `auto`,
//! which of the two runs a guest faster on this host, on evidence.
//!
//! KVM runs guest code natively where the processor can: with Intel's unrestricted guest
//! (VMX) or AMD's SVM, real mode included. Without them (a KVM that emulates real mode in
//! software, as nested hypervisors such as `kvm_pvm` do) every real-mode instruction is
//! emulated at a few million instructions a second, and the interpreter is far faster.

use std::path::Path;

/// The CPU backend.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Accel {
    /// KVM's vCPU.
    Kvm,
    /// picovmm's interpreter (real mode).
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

/// The backend `auto` picks for a guest that starts in real mode (`real_mode`) or not, and
/// why, on a host whose KVM is `support`.
pub fn choose_auto(support: KvmSupport, real_mode: bool) -> (Accel, &'static str) {
    match (support, real_mode) {
        (KvmSupport::Unusable, true) => (Accel::Interp, "/dev/kvm is not usable here"),
        (KvmSupport::Unusable, false) => (Accel::Kvm, "the interpreter runs real mode only"),
        (_, false) => (Accel::Kvm, "the guest starts in protected or long mode"),
        (KvmSupport::Native, true) => (Accel::Kvm, "this host's KVM runs real mode natively"),
        (KvmSupport::EmulatesRealMode, true) => (
            Accel::Interp,
            "this host's KVM emulates real mode in software; the interpreter is faster",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_auto_without_kvm_is_the_interpreter() {
        assert_eq!(choose_auto(KvmSupport::Unusable, true).0, Accel::Interp);
    }

    #[test]
    fn test_auto_with_native_kvm_is_kvm() {
        assert_eq!(choose_auto(KvmSupport::Native, true).0, Accel::Kvm);
    }

    #[test]
    fn test_auto_on_an_emulating_kvm_is_the_interpreter_for_real_mode() {
        assert_eq!(
            choose_auto(KvmSupport::EmulatesRealMode, true).0,
            Accel::Interp
        );
    }

    #[test]
    fn test_auto_for_protected_mode_is_kvm() {
        assert_eq!(
            choose_auto(KvmSupport::EmulatesRealMode, false).0,
            Accel::Kvm
        );
    }

    #[test]
    fn test_missing_dev_kvm_is_unusable() {
        let dir = std::env::temp_dir();
        let support = kvm_support(&dir.join("no-such-kvm-device"), &dir);
        assert_eq!(support, KvmSupport::Unusable);
    }
}
