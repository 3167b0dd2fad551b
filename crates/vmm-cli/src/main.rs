//! picovmm: a small virtual machine monitor on Linux KVM.
//!
//! `picovmm run` boots a machine described in a TOML file (or the built-in default machine
//! with `--image`), `picovmm check` validates a machine file. See `picovmm --help`.

mod assemble;
mod check;
mod cli;
mod config;
mod diagnostic;
mod error;
mod host;
mod interrupt;
mod plugin_path;
mod plugins;
mod run;
mod spec;
mod stats;
mod status;
mod units;
mod validate;

use std::error::Error as _;
use std::io::Write;

use clap::Parser;

use cli::{Cli, Command};

fn main() {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Run(args) => run::run(args),
        Command::Check {
            machine,
            plugin_dirs,
        } => check::check(machine, plugin_dirs),
        Command::Plugins { plugin_dirs } => plugins::list(plugin_dirs),
    };
    let code = match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("Error: {e}");
            let mut cause = e.source();
            while let Some(c) = cause {
                eprintln!("  caused by: {c}");
                cause = c.source();
            }
            e.status()
        }
    };
    let _ = std::io::stdout().flush();
    std::process::exit(code);
}
