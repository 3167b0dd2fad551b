//! What installs around the binary: shell completions and the manual page, both generated
//! from the same clap description `--help` prints.

use clap::CommandFactory;

use crate::cli::Cli;

/// Prints the completion script for `shell`.
pub fn completions(shell: clap_complete::Shell) -> i32 {
    clap_complete::generate(
        shell,
        &mut Cli::command(),
        "picovmm",
        &mut std::io::stdout(),
    );
    0
}

/// Prints the manual page (roff).
pub fn man() -> i32 {
    let mut page = Vec::new();
    if let Err(e) = clap_mangen::Man::new(Cli::command()).render(&mut page) {
        crate::errln!("picovmm man: {e}");
        return 1;
    }
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(&page);
    let _ = out.flush();
    0
}
