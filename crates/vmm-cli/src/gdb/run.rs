//! The run policy under a debugger: as [`Machine::run`], but every pause and, while a gdb
//! client is attached, every debug event stops the vCPU and is reported to the stub's
//! [`Hub`]; the vCPU then waits, serving the debugger's requests, until it is resumed.

use std::time::Instant;

use vmm_core::{DebugEvent, RunOutcome, RunReport};
use vmm_machine::{Event, Machine};

use super::hub::{Hub, Stop};
use super::target::read_guest;

/// Runs `machine` under the stub behind `hub`. `wait` pauses before the first instruction
/// (`--gdb-wait`). The end of the run is reported too, with the exit status `status_of` gives
/// its outcome (the stub tells gdb the process's exit code). `on_break` hears of every stop
/// at a breakpoint, for the run's other front ends.
pub fn run_debugged(
    machine: &mut Machine,
    hub: &Hub,
    wait: bool,
    status_of: impl Fn(&RunOutcome) -> i32,
    on_break: impl Fn(&DebugEvent),
) -> RunReport {
    let start = Instant::now();
    let handle = machine.handle();
    let control = handle.control();
    if wait {
        control.pause();
    }
    let outcome = loop {
        let stop = match machine.run_until_event() {
            Event::Ended(outcome) => break outcome,
            Event::Paused => Stop::Paused,
            Event::Debug(_) if !hub.attached() => continue,
            Event::Debug(event) if event.breakpoint_slot().is_none() && hub.watching() => {
                // Stepping for the watchpoints: stop only where watched memory changed.
                let view = handle.memory();
                let vcpu = machine.board_mut().vcpu();
                match hub.changed_watch(|addr, len| read_guest(vcpu, view, addr, len)) {
                    Some(i) => {
                        control.pause();
                        Stop::Watch(i)
                    }
                    // The step gdb asked for, with no watch changed.
                    None if hub.user_step() => {
                        control.pause();
                        Stop::Debug(event)
                    }
                    None => continue,
                }
            }
            Event::Debug(event) => {
                control.pause();
                if event.breakpoint_slot().is_some() {
                    on_break(&event);
                }
                Stop::Debug(event)
            }
        };
        // Reported before `paused` is set: a debugger that sees the vCPU paused finds its
        // report already queued (and clears it), never one arriving later.
        hub.report(stop);
        hub.set_paused(true);
        machine.wait_while_paused();
        hub.set_paused(false);
    };
    hub.report(Stop::Ended(status_of(&outcome)));
    machine.report(outcome, start)
}
