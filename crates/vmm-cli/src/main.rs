//! picovmm: a small virtual machine monitor on Linux KVM.
//!
//! `picovmm run` boots a machine described in a TOML file (or the built-in default machine
//! with `--image`), `picovmm check` validates a machine file. See `picovmm --help`.
//!
//! The C runtime calls [`main`] directly (see `vmm_cli::entry` for why Rust's start-up is
//! left out).

#![no_main]

use std::error::Error as _;
use std::io::Write;

use clap::Parser;

use vmm_cli::cli::{Cli, Command};
use vmm_cli::{check, ctl, machine, plugins, run, shell, testing};

/// `picovmm test`: the arguments as the runner's options.
fn test(args: &vmm_cli::cli::TestArgs) -> Result<i32, vmm_cli::error::CliError> {
    let paths = if args.paths.is_empty() {
        vec![std::path::PathBuf::from("tests")]
    } else {
        args.paths.clone()
    };
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    let options = testing::Options {
        paths,
        jobs: args.jobs.map_or(cpus, usize::from),
        format: match args.format {
            vmm_cli::cli::TestFormat::Human => testing::Format::Human,
            vmm_cli::cli::TestFormat::Tap => testing::Format::Tap,
        },
        junit: args.junit.clone(),
        filter: args.filter.clone(),
        list: args.list,
        shard: args.shard,
        artifacts: args.artifacts.clone(),
        update_goldens: args.update_goldens,
        plugins: plugins::search_path(&args.plugin_dirs)?,
    };
    Ok(testing::test(&options))
}

/// The message settings from the command line and `RUST_LOG`.
fn start_logging(cli: &Cli) -> Result<(), String> {
    let file = cli
        .log_file
        .as_ref()
        .map(|path| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| format!("--log-file {}: {e}", path.display()))
        })
        .transpose()?;
    vmm_cli::log::init(vmm_cli::log::Settings {
        verbose: cli.verbose,
        quiet: cli.quiet,
        file,
        filter: std::env::var("RUST_LOG").ok(),
    });
    Ok(())
}

/// The process's entry, called by the C runtime; never returns (picovmm exits with its
/// status; a panic, reported by Rust's panic hook, exits with 101 as Rust's start-up would).
#[no_mangle]
pub extern "C" fn main(_argc: std::ffi::c_int, _argv: *const *const std::ffi::c_char) -> ! {
    vmm_cli::entry::prepare();
    let _ = std::panic::catch_unwind(picovmm);
    std::process::exit(101)
}

/// picovmm: parses the command line, runs the command, reports, exits.
fn picovmm() {
    // `run` and `restore` build a KVM machine: its vCPU needs KVM's CPUID table, read meanwhile.
    if matches!(std::env::args().nth(1).as_deref(), Some("run" | "restore")) {
        vmm_core::cpuid::prefetch();
    }
    let cli = Cli::parse();
    if let Err(e) = start_logging(&cli) {
        vmm_cli::errln!("Error: {e}");
        std::process::exit(vmm_cli::status::USAGE);
    }
    let result = match &cli.command {
        Command::Run(args) => run::run(args),
        Command::Restore(args) => run::restore(args),
        Command::Check {
            machine,
            print,
            plugin_dirs,
        } => check::check(machine, *print, plugin_dirs),
        Command::Machine { .. } => machine::print_default(),
        Command::Ctl(args) => Ok(ctl::ctl(&args.socket, &args.command, args.json)),
        Command::Test(args) => test(args),
        Command::Completions { shell: which } => Ok(shell::completions(*which)),
        Command::Man => Ok(shell::man()),
        Command::Plugins { plugin_dirs } => plugins::list(plugin_dirs),
    };
    let code = match result {
        Ok(code) => code,
        Err(e) => {
            vmm_cli::errln!("Error: {e}");
            let mut cause = e.source();
            while let Some(c) = cause {
                vmm_cli::errln!("  caused by: {c}");
                cause = c.source();
            }
            e.status()
        }
    };
    // After a second Ctrl-C gave the guest's output up, stdout may be held by its blocked
    // writer: leave it.
    if !vmm_cli::output::abandoned() {
        let _ = std::io::stdout().flush();
    }
    std::process::exit(code);
}
