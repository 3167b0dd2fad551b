//! `--stats` (a summary on stderr) and `--stats-json FILE`.

use serde::Serialize;
use vmm_core::outcome::Segment;
use vmm_core::{ExitCounters, Registers, RunOutcome, RunReport};

/// The counters as a JSON object: the total first, then each reason by its name.
fn exits_json(c: &ExitCounters) -> serde_json::Map<String, serde_json::Value> {
    let mut map = serde_json::Map::new();
    map.insert("total".into(), c.total.into());
    for (name, n) in c.by_reason() {
        map.insert(name.into(), n.into());
    }
    map
}

#[derive(Serialize)]
struct Stats {
    exits: serde_json::Map<String, serde_json::Value>,
    interrupts: u64,
    iret_emulated: u64,
    setup_ns: u64,
    run_ns: u64,
    outcome: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    guest_exit_value: Option<u32>,
    /// The device that ended the run (a plugin's halt or failure) and what it said.
    #[serde(skip_serializing_if = "Option::is_none")]
    ended_by: Option<serde_json::Value>,
    exit_status: i32,
    /// What ran the guest and why: `{"backend": "kvm"|"interp", "reason": ...}`.
    accel: serde_json::Value,
    /// Instructions the interpreter executed (0 under KVM, which does not count them).
    instructions: u64,
    /// Times KVM took the machine over from the interpreter (0 or 1).
    handovers: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    registers: Option<serde_json::Value>,
    /// Threads of the picovmm process alive when the run ended (a guest that needs none of
    /// the devices' threads should not pay for them).
    threads: usize,
}

/// picovmm's threads now (from /proc; 0 where it cannot be read). KVM's own worker in the
/// process (`kvm-nx-lpage-recovery`, started by the kernel when it likes) is not picovmm's.
fn threads_now() -> usize {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .flatten()
        .filter(|t| {
            std::fs::read_to_string(t.path().join("comm"))
                .map_or(true, |name| !name.starts_with("kvm-"))
        })
        .count()
}

/// The final registers as JSON numbers (segments as selector and base).
fn registers_json(r: &Registers) -> serde_json::Value {
    let segment = |s: &Segment| serde_json::json!({"selector": s.selector, "base": s.base});
    serde_json::json!({
        "rax": r.rax, "rbx": r.rbx, "rcx": r.rcx, "rdx": r.rdx,
        "rsi": r.rsi, "rdi": r.rdi, "rbp": r.rbp, "rsp": r.rsp,
        "rip": r.rip, "rflags": r.rflags,
        "cs": segment(&r.cs), "ds": segment(&r.ds), "es": segment(&r.es), "ss": segment(&r.ss),
        "cr0": r.cr0,
    })
}

/// The JSON document `--stats-json` writes.
pub fn to_json(report: &RunReport, exit_status: i32) -> String {
    let stats = Stats {
        exits: exits_json(&report.exits),
        interrupts: report.exits.injected,
        iret_emulated: report.exits.iret_emulated,
        setup_ns: u64::try_from(report.setup_time.as_nanos()).unwrap_or(u64::MAX),
        run_ns: u64::try_from(report.run_time.as_nanos()).unwrap_or(u64::MAX),
        outcome: report.outcome.name(),
        guest_exit_value: match report.outcome {
            RunOutcome::GuestExit(v) => Some(v),
            _ => None,
        },
        ended_by: match &report.outcome {
            RunOutcome::DeviceHalted { device, message }
            | RunOutcome::DeviceFailed { device, message } => {
                Some(serde_json::json!({"device": device, "message": message}))
            }
            _ => None,
        },
        exit_status,
        accel: serde_json::json!({"backend": report.accel.0.name(), "reason": report.accel.1}),
        instructions: report.exits.instructions,
        handovers: report.exits.handovers,
        registers: report.registers.as_ref().map(registers_json),
        threads: threads_now(),
    };
    serde_json::to_string_pretty(&stats).unwrap_or_default() + "\n"
}

/// The human summary `--stats` prints.
pub fn summary(report: &RunReport) -> String {
    let c = report.exits;
    let by_reason: Vec<String> = c
        .by_reason()
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(name, n)| format!("{name} {n}"))
        .collect();
    let mut text = format!(
        "picovmm: outcome {}, {:.3} ms in the run loop ({:.3} ms of setup before it)\npicovmm: exits {} ({})\n",
        report.outcome.name(),
        report.run_time.as_secs_f64() * 1e3,
        report.setup_time.as_secs_f64() * 1e3,
        c.total,
        by_reason.join(", ")
    );
    if report.accel.0 == vmm_core::Accel::Interp {
        let then = match c.handovers {
            0 => String::new(),
            1 => ", then by KVM (it took over at an instruction the interpreter does not have: \
                  long mode, SSE...)"
                .to_string(),
            n => format!(
                ", and KVM: {n} hand-overs (KVM takes what the interpreter does not have, the \
                 interpreter takes back what this host's KVM cannot emulate)"
            ),
        };
        text.push_str(&format!(
            "picovmm: run by the interpreter ({}): {} instructions{then}\n",
            report.accel.1, c.instructions
        ));
    }
    if c.injected > 0 {
        text.push_str(&format!("picovmm: interrupts injected {}\n", c.injected));
    }
    if c.iret_emulated > 0 {
        text.push_str(&format!(
            "picovmm: IRETs KVM could not emulate, done by picovmm {}\n",
            c.iret_emulated
        ));
    }
    if let Some(registers) = &report.registers {
        for line in registers.to_string().lines() {
            text.push_str(&format!("picovmm: {line}\n"));
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn report() -> RunReport {
        let exits = ExitCounters {
            total: 3,
            mmio_write: 2,
            hlt: 1,
            ..Default::default()
        };
        RunReport {
            outcome: RunOutcome::Halted,
            registers: None,
            exits,
            setup_time: Duration::from_micros(250),
            run_time: Duration::from_micros(1500),
            accel: (vmm_core::Accel::Kvm, "asked for (--accel kvm)"),
        }
    }

    #[test]
    fn test_summary_lists_nonzero_reasons() {
        assert_eq!(
            summary(&report()),
            "picovmm: outcome halted, 1.500 ms in the run loop (0.250 ms of setup before it)\n\
             picovmm: exits 3 (mmio_write 2, hlt 1)\n"
        );
    }

    #[test]
    fn test_to_json_has_documented_fields() {
        let json: serde_json::Value = serde_json::from_str(&to_json(&report(), 0)).expect("json");
        assert_eq!(json["exits"]["total"], 3);
        assert_eq!(json["exits"]["mmio_write"], 2);
        assert_eq!(json["run_ns"], 1_500_000);
        assert_eq!(json["setup_ns"], 250_000);
        assert_eq!(json["outcome"], "halted");
        assert_eq!(json["exit_status"], 0);
        assert!(json.get("registers").is_none());
    }

    #[test]
    fn test_to_json_has_final_registers_when_known() {
        let mut report = report();
        report.registers = Some(Registers {
            rax: 42,
            rip: 0x7C05,
            ..Default::default()
        });
        let json: serde_json::Value = serde_json::from_str(&to_json(&report, 0)).expect("json");
        assert_eq!(
            (
                json["registers"]["rax"].as_u64(),
                json["registers"]["rip"].as_u64()
            ),
            (Some(42), Some(0x7C05))
        );
        assert_eq!(json["registers"]["cs"]["selector"], 0);
    }
}
