//! Soak: builds and runs the sample on the default machine many times in one process, through
//! the library's Board, and prints the process's open files and resident memory as it goes.
//! Neither may grow with the number of runs.
//!
//!     cargo run --release -p vmm-cli --example soak -- [RUNS] [IMAGE]

use std::path::PathBuf;

use vmm_cli::board::{Board, ConsoleOutput};
use vmm_cli::plugin_path::PluginPath;
use vmm_cli::spec::{Located, MachineSpec};
use vmm_cli::validate::validate;
use vmm_core::RunOutcome;

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
    spec.image = Some(Located::default(image));
    let mut valid = match validate(spec, &PluginPath::new(&[])) {
        Ok(valid) => valid,
        Err(e) => {
            eprintln!("soak: {}", e.message);
            std::process::exit(2);
        }
    };
    println!("run  open-files  rss-KiB  threads  outcome");
    for run in 1..=runs {
        let mut board =
            match Board::build(&mut valid, || Box::new(std::io::sink()) as ConsoleOutput) {
                Ok(board) => board,
                Err(e) => {
                    eprintln!("soak: run {run}: {e}");
                    std::process::exit(6);
                }
            };
        let report = board.run_to_completion();
        drop(board);
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
