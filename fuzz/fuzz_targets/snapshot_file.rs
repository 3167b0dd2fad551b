//! Snapshot files as a user might hand picovmm any file: the container's decoder and the
//! vCPU state's byte decoder must refuse what they cannot read, never panic or allocate
//! without bound. Inputs that start with the magic and version get a valid length and
//! checksum half of the time, so the sections' parsing is reached too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vmm_machine::snapshot::format::{decode, fnv64, MAGIC, VERSION};

fuzz_target!(|data: &[u8]| {
    let _ = decode(data);
    // A file with a right header, length and checksum around the fuzzer's sections.
    let mut file = MAGIC.to_vec();
    file.extend_from_slice(&VERSION.to_le_bytes());
    let total = (12 + 4 + 8 + data.len() + 8) as u64;
    file.extend_from_slice(&total.to_le_bytes());
    file.extend_from_slice(data);
    let sum = fnv64(&file);
    file.extend_from_slice(&sum.to_le_bytes());
    if let Ok(sections) = decode(&file) {
        for (name, bytes) in sections {
            if name == "vcpu" {
                let _ = vmm_core::VcpuState::from_bytes(&bytes);
            }
        }
    }
    let _ = vmm_core::VcpuState::from_bytes(data);
});
