//! `picovmm test`: test files (TOML) of boot sectors, kernels and plugins, each test a machine
//! run in this process through its handle, its steps waiting on what the machine shows (the
//! screen as text, serial and debug-console output, the run's end) rather than on time.
//!
//! ```text
//! parse.rs (files -> checked tests) -> runner.rs (jobs on N workers) -> exec.rs (one test:
//! machine.rs builds and runs it; steps; picture.rs; artifacts.rs on failure) -> report.rs
//! ```

pub mod artifacts;
pub mod exec;
pub mod machine;
pub mod model;
pub mod parse;
pub mod picture;
pub mod report;
pub mod runner;
pub mod schema;
pub mod view;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use vmm_machine::PluginPath;

pub use report::Format;

/// All tests passed.
pub const PASSED: i32 = 0;
/// A test failed.
pub const FAILED: i32 = 1;
/// A test file (or the command line) is wrong.
pub const BAD_FILE: i32 = 2;

/// What `picovmm test` was asked.
pub struct Options {
    /// Test files and folders (folders are searched for `*.test.toml`).
    pub paths: Vec<PathBuf>,
    /// Tests run at once.
    pub jobs: usize,
    /// How results are printed.
    pub format: Format,
    /// Where to write a JUnit report.
    pub junit: Option<PathBuf>,
    /// Only the tests whose `FILE::NAME` contains this.
    pub filter: Option<String>,
    /// List the tests instead of running them.
    pub list: bool,
    /// Only shard K of N (1-based).
    pub shard: Option<(usize, usize)>,
    /// Where failing tests leave what they saw.
    pub artifacts: PathBuf,
    /// Rewrite the golden pictures instead of comparing.
    pub update_goldens: bool,
    /// Plugin folders, first.
    pub plugins: PluginPath,
}

/// Runs `picovmm test`; returns the exit status.
pub fn test(options: &Options) -> i32 {
    // The machines' own messages (a guest turning the machine off) are the tests' business,
    // not the runner's output: only errors are printed.
    log::set_max_level(log::LevelFilter::Error);
    let files = match parse::discover(&options.paths) {
        Ok(files) if files.is_empty() => {
            crate::errln!(
                "picovmm test: no test files (*.test.toml) in {}",
                names(&options.paths)
            );
            return BAD_FILE;
        }
        Ok(files) => files,
        Err(e) => {
            crate::errln!("picovmm test: {e}");
            return BAD_FILE;
        }
    };
    let mut tests = Vec::new();
    for file in &files {
        match parse::load(file) {
            Ok(found) => tests.extend(found),
            Err(bad) => {
                crate::errln!("Error: {}", bad.0.trim_end());
                return BAD_FILE;
            }
        }
    }
    let total = tests.len();
    let tests = select(tests, options);
    let filtered = total - tests.len();
    if options.list {
        for t in &tests {
            println!("{}: test", t.id);
        }
        return PASSED;
    }
    run_all(tests, filtered, options)
}

/// The tests `--filter` and `--shard` keep, in order.
fn select(tests: Vec<model::TestCase>, options: &Options) -> Vec<model::TestCase> {
    tests
        .into_iter()
        .filter(|t| {
            options
                .filter
                .as_ref()
                .is_none_or(|f| t.id.contains(f.as_str()))
        })
        .enumerate()
        .filter(|(i, _)| options.shard.is_none_or(|(k, n)| i % n == k - 1))
        .map(|(_, t)| t)
        .collect()
}

fn run_all(tests: Vec<model::TestCase>, filtered: usize, options: &Options) -> i32 {
    let start = Instant::now();
    let scratch = match tempfile::Builder::new().prefix("picovmm-test-").tempdir() {
        Ok(dir) => dir,
        Err(e) => {
            crate::errln!("picovmm test: cannot make a scratch folder: {e}");
            return FAILED;
        }
    };
    let ctx = Arc::new(exec::Context {
        plugins: options.plugins.clone(),
        snapshots: Default::default(),
        snapshot_dir: scratch.path().to_path_buf(),
        update_goldens: options.update_goldens,
        artifacts: options.artifacts.clone(),
    });
    let mut reporter = report::Reporter::start(options.format, tests.len());
    runner::run(runner::jobs(tests), options.jobs, ctx, |v| {
        reporter.verdict(v)
    });
    let verdicts = reporter.finish(filtered, start.elapsed());
    if let Some(path) = &options.junit {
        if let Err(e) = std::fs::write(path, report::junit(&verdicts, start.elapsed())) {
            crate::errln!("picovmm test: cannot write {}: {e}", path.display());
            return FAILED;
        }
    }
    if verdicts.iter().any(|v| v.failure.is_some()) {
        FAILED
    } else {
        PASSED
    }
}

fn names(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}
