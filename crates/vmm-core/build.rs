//! Probes the host for what the end-to-end tests need (see build/probes.rs).

include!("../../build/probes.rs");

fn main() {
    emit_probes(&["kvm"]);
}
