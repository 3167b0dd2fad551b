//! Soak: builds and runs the sample on the default machine many times in one process, through
//! the library's Machine, and prints the process's open files and resident memory as it goes.
//! Neither may grow with the number of runs.
//!
//!     cargo run --release -p vmm-machine --example soak -- [RUNS] [IMAGE]

use std::path::PathBuf;

use vmm_core::RunOutcome;
use vmm_machine::{Machine, MachineSpec, Outputs, PluginPath};

fn open_files() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

fn resident_kib() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4
}

fn threads() -> usize {
    std::fs::read_dir("/proc/self/task").map_or(0, |d| d.count())
}

fn main() {
    let mut args = std::env::args().skip(1);
    let runs: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(1000);
    let image = PathBuf::from(
        args.next()
            .unwrap_or_else(|| "guests/hello/hello.bin".into()),
    );
    let mut spec = MachineSpec::default_machine();
    spec.set_image(image);
    println!("run  open-files  rss-KiB  threads  outcome");
    for run in 1..=runs {
        // Building consumes a description: each run builds its own from the same spec.
        let mut machine =
            match Machine::build(spec.clone(), &PluginPath::new(&[]), Outputs::discard()) {
                Ok(machine) => machine,
                Err(e) => {
                    eprintln!("soak: run {run}: {e}");
                    std::process::exit(6);
                }
            };
        let report = machine.run();
        drop(machine);
        if report.outcome != RunOutcome::Halted && report.outcome != RunOutcome::GuestExit(0x10) {
            eprintln!("soak: run {run} ended {:?}", report.outcome);
            std::process::exit(4);
        }
        if run == 1 || run % (runs / 10).max(1) == 0 {
            println!(
                "{run:>4}  {:>10}  {:>7}  {:>7}  {}",
                open_files(),
                resident_kib(),
                threads(),
                report.outcome.name()
            );
        }
    }
}
