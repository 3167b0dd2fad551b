//! `registers`: the vCPU's registers, as JSON.

use serde_json::{json, Value};
use vmm_core::outcome::Segment;
use vmm_core::Registers;

use crate::args::Args;
use crate::caller::Caller;
use crate::protocol::CommandError;
use crate::session::Session;

fn segment(s: &Segment) -> Value {
    json!({"selector": s.selector, "base": s.base})
}

/// Registers as a JSON object, by the names gdb and `--stats` use.
pub fn registers_json(r: &Registers) -> Value {
    json!({
        "rax": r.rax, "rbx": r.rbx, "rcx": r.rcx, "rdx": r.rdx,
        "rsi": r.rsi, "rdi": r.rdi, "rbp": r.rbp, "rsp": r.rsp,
        "rip": r.rip, "rflags": r.rflags,
        "cs": segment(&r.cs), "ds": segment(&r.ds), "es": segment(&r.es), "ss": segment(&r.ss),
        "cr0": r.cr0,
    })
}

pub(super) fn registers(s: &Session, _: &Args<'_>, _: Caller) -> Result<Value, CommandError> {
    s.handle
        .registers()
        .map(|r| registers_json(&r))
        .ok_or_else(|| CommandError::generic("the machine is gone"))
}
