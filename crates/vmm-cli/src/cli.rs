//! The command line (docs/command-line.md is its contract): `picovmm run`, `restore`, `check`
//! and `plugins`.

use std::path::PathBuf;
use std::time::Duration;

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::{Args, Parser, Subcommand, ValueEnum};
use vmm_core::CpuMode;
use vmm_machine::named::{self, Named};
use vmm_machine::spec::{AccelChoice, DriveSpec, EntryAddress, VgaMode};

use vmm_machine::units;

const EXIT_STATUSES: &str = "\
Exit status:
  0        the guest halted, reset the machine, or turned it off (APM), or a plugin
           ended the run as a halt
  (v<<1)|1 the guest wrote v to isa-debug-exit (QEMU's convention)
  2        bad usage, machine file, image, disk image, plugin or snapshot file
  4        guest fault: triple fault, KVM internal error, a plugin failing an access
           or ending the run as a failure, unclaimed access under `stop`
  6        the host cannot run the machine (no usable /dev/kvm)
  124      --timeout passed
  0        also: the control socket's quit ended the run
  130      interrupted (Ctrl-C, or Ctrl-a x in the live display)
  129 131 143  ended by SIGHUP, SIGQUIT, SIGTERM (128 + the signal)";

/// picovmm's version, with the plugin ABI it loads.
const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (plugin ABI ", "1.1", ")");

/// picovmm: a small virtual machine monitor on Linux KVM.
#[derive(Debug, Parser)]
#[command(name = "picovmm", version = VERSION, after_help = EXIT_STATUSES)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
    /// More messages: -v adds picovmm's debug messages, -vv everything (RUST_LOG, as
    /// env_logger reads it, decides per target instead)
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Errors only: no warnings or notes from the machine
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Also write every message shown, with a UTC timestamp, its level and where it came from,
    /// to FILE
    #[arg(long, value_name = "FILE", global = true)]
    pub log_file: Option<PathBuf>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Boot a machine and run it until the guest halts, exits, faults or is stopped
    #[command(after_help = EXIT_STATUSES)]
    Run(Box<RunArgs>),
    /// Continue a machine saved with `run --snapshot-on-exit`, as `run` would (same outputs,
    /// exit statuses and statistics)
    #[command(after_help = EXIT_STATUSES)]
    Restore(Box<RestoreArgs>),
    /// Validate a machine file and print its resolved memory map and devices
    Check {
        /// The machine description (TOML)
        machine: PathBuf,
        /// Print the effective machine instead, as a machine file with every default filled in
        /// and absolute paths (which `check` and `run` read back to the same machine)
        #[arg(long)]
        print: bool,
        /// Look for plugins in DIR first (repeatable)
        #[arg(long = "plugin-dir", value_name = "DIR")]
        plugin_dirs: Vec<PathBuf>,
    },
    /// Print a machine as a machine file: --default, the built-in one (what `run --image`
    /// builds), a start for your own
    Machine {
        /// The built-in default machine
        #[arg(long, required = true)]
        default: bool,
    },
    /// Talk to a running machine's control socket (run --control unix:PATH): run COMMAND
    /// and print its reply, or `watch` its events
    #[command(after_help = CTL_HELP)]
    Ctl(CtlArgs),
    /// Run test files (*.test.toml): boot each test's machine, drive it through its steps
    /// (wait for the screen or output, type, compare pictures) and check how it ends
    #[command(after_help = TEST_HELP)]
    Test(TestArgs),
    /// Print a shell's completion script for picovmm (bash: `source <(picovmm completions
    /// bash)`; zsh and fish as their docs say)
    Completions {
        /// The shell
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print picovmm's manual page (roff: `picovmm man > picovmm.1; man ./picovmm.1`)
    Man,
    /// List the plugins found on the plugin path: name, version, ABI, accesses, file
    Plugins {
        /// Look for plugins in DIR first (repeatable)
        #[arg(long = "plugin-dir", value_name = "DIR")]
        plugin_dirs: Vec<PathBuf>,
    },
}

const CTL_HELP: &str = "\
Commands (`picovmm ctl PATH help` lists them with their arguments):
  query-status, stop (pause), cont, step, quit, system_reset, send-key KEYS, type TEXT,
  serial-write TEXT, screendump FILE, query-screen, memory-read ADDR SIZE,
  memory-write ADDR HEX, registers, snapshot-save FILE, query-stats, watch [EVENT...]
Arguments go in order or as NAME=VALUE; KEYS is a chord of QEMU key names (ctrl-alt-delete).

Exit status:
  0  the command succeeded (watch: the run ended or the socket closed)
  1  the machine refused the command (its error is printed)
  2  bad usage
  3  cannot talk to the machine (no socket, a broken connection)";

const TEST_HELP: &str = "\
The test file format and examples: docs/testing.md.

Exit status:
  0  every test passed
  1  a test failed (its screen, output and a snapshot are in --artifacts)
  2  a test file is wrong (file:line:column), or bad usage";

/// `picovmm test`'s arguments.
#[derive(Debug, Args)]
pub struct TestArgs {
    /// Test files, or folders searched for *.test.toml [default: tests]
    pub paths: Vec<PathBuf>,
    /// Tests run at once [default: the number of CPUs]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,
    /// How results are printed
    #[arg(long, value_enum, default_value_t = TestFormat::Human)]
    pub format: TestFormat,
    /// Also write the results as JUnit XML to FILE
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Only the tests whose FILE::NAME contains TEXT
    #[arg(long, value_name = "TEXT")]
    pub filter: Option<String>,
    /// List the tests (FILE::NAME: test) without running them
    #[arg(long)]
    pub list: bool,
    /// Only the Kth of N equal shares of the tests (1-based), for a CI matrix
    #[arg(long, value_name = "K/N", value_parser = parse_shard)]
    pub shard: Option<(usize, usize)>,
    /// Where a failing test leaves its screen, output and snapshot
    #[arg(long, value_name = "DIR", default_value = "picovmm-test-artifacts")]
    pub artifacts: PathBuf,
    /// Write each picture step's golden PNG from the screen instead of comparing
    #[arg(long)]
    pub update_goldens: bool,
    /// Look for plugins in DIR first (repeatable)
    #[arg(long = "plugin-dir", value_name = "DIR")]
    pub plugin_dirs: Vec<PathBuf>,
}

/// `picovmm test --format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TestFormat {
    /// `test NAME ... ok`, failures in full at the end (as `cargo test`)
    Human,
    /// The Test Anything Protocol, version 13
    Tap,
}

/// `K/N` with 1 <= K <= N.
fn parse_shard(text: &str) -> Result<(usize, usize), String> {
    let parsed = text
        .split_once('/')
        .and_then(|(k, n)| Some((k.parse::<usize>().ok()?, n.parse::<usize>().ok()?)));
    match parsed {
        Some((k, n)) if k >= 1 && k <= n => Ok((k, n)),
        _ => Err(format!("{text:?} is not K/N with 1 <= K <= N (e.g. 2/4)")),
    }
}

/// `picovmm ctl`'s arguments.
#[derive(Debug, Args)]
pub struct CtlArgs {
    /// The control socket (as given to run --control unix:PATH; `unix:` may be left out)
    pub socket: String,
    /// The command, then its arguments
    #[arg(required = true, num_args = 1.., trailing_var_arg = true, allow_hyphen_values = true, value_name = "COMMAND [ARGS]")]
    pub command: Vec<String>,
    /// Print the raw JSON reply (or event lines) instead of text for people
    #[arg(long)]
    pub json: bool,
}

/// What the screen looks like when the run ends.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum ScreenFormat {
    /// Plain text: trailing spaces and blank rows trimmed
    #[default]
    Text,
    /// All 80x25 cells with their colours (ANSI escapes)
    Ansi,
    /// Print no screen
    None,
}

/// `picovmm run`'s arguments.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Machine description (TOML); without it, the built-in default machine (needs --image)
    pub machine: Option<PathBuf>,
    /// Boot image to load (overrides the machine file's)
    #[arg(long, value_name = "FILE")]
    pub image: Option<PathBuf>,
    /// Raw disk image for the BIOS (repeatable): floppies up to 2.88 MB are drives 00h, 01h,
    /// larger images hard disks 80h, 81h...; without --image the machine boots the first one.
    /// Options after commas: readonly, snapshot (writes kept in memory), floppy, hd; or QEMU's
    /// file=FILE,format=raw,if=floppy|ide,readonly=on,snapshot=on,media=disk
    #[arg(long = "drive", value_name = "FILE[,OPTION...]", value_parser = parse_drive)]
    pub drives: Vec<DriveSpec>,
    /// Guest-physical address to load the image at [default: 0x7c00]
    #[arg(long, value_name = "ADDR", value_parser = parse_address)]
    pub load: Option<u64>,
    /// First instruction, as SEG:OFF or an address [default: the load address]
    #[arg(long, value_name = "SEG:OFF|ADDR", value_parser = parse_entry)]
    pub entry: Option<EntryAddress>,
    /// CPU mode at entry [default: real]
    #[arg(long, value_name = "MODE", value_parser = value_parser::<CpuMode>())]
    pub mode: Option<CpuMode>,
    /// Guest RAM, laid out as on a PC: up to 640 KiB at 0, the rest from 1 MiB (e.g. "16 MiB";
    /// -m as QEMU's)
    #[arg(long, short = 'm', value_name = "SIZE", value_parser = units::parse_size)]
    pub memory: Option<u64>,
    /// What runs the guest: KVM, picovmm's own interpreter (real and protected mode), or whichever
    /// runs this guest faster on this host [default: auto]
    #[arg(long, value_name = "ACCEL", value_parser = value_parser::<AccelChoice>())]
    pub accel: Option<AccelChoice>,
    /// How the VGA text window reaches the guest (overrides the machine file) [default: memory]
    #[arg(long, value_name = "MODE", value_parser = value_parser::<VgaMode>())]
    pub vga_mode: Option<VgaMode>,
    /// What the run shows and writes.
    #[command(flatten)]
    pub output: OutputArgs,
    /// When the run ends, save SIZE bytes of guest memory (RAM, VGA windows, BIOS ROM) from
    /// guest-physical ADDR to FILE (QEMU's monitor command pmemsave)
    #[arg(long, num_args = 3, value_names = ["ADDR", "SIZE", "FILE"])]
    pub pmemsave: Option<Vec<String>>,
    /// Look for plugins in DIR first (repeatable); then PICOVMM_PLUGIN_PATH, then next to picovmm
    #[arg(long = "plugin-dir", value_name = "DIR")]
    pub plugin_dirs: Vec<PathBuf>,
    /// Serve gdb's remote protocol on [HOST:]PORT (QEMU's -gdb; PORT alone is 127.0.0.1:PORT)
    #[arg(long, value_name = "[HOST:]PORT", value_parser = units::listen_address)]
    pub gdb: Option<String>,
    /// Stop before the first instruction until gdb continues (QEMU's -S); needs --gdb or the
    /// machine file's [debug] gdb
    #[arg(long, short = 'S')]
    pub gdb_wait: bool,
    /// A guest's reset (the i8042's pulse, a triple fault) powers the machine on again, as a PC
    /// reboots; without it the reset ends the run (QEMU's -no-reboot)
    #[arg(long)]
    pub reboot: bool,
    /// Serve gdb on 127.0.0.1:1234 (QEMU's -s, short for --gdb 1234)
    #[arg(short = 's', conflicts_with = "gdb")]
    pub gdb_1234: bool,
}

/// What `run` and `restore` show and write: one set of arguments for both.
#[derive(Clone, Debug, Default, Args)]
pub struct OutputArgs {
    /// Stop the guest after this long (e.g. 2s, 500ms); the screen is still printed
    #[arg(long, value_name = "DURATION", value_parser = units::parse_duration)]
    pub timeout: Option<Duration>,
    /// Show the guest's screen live in this terminal, its keys going to the guest's keyboard
    /// (Ctrl-a h lists the Ctrl-a keys, Ctrl-a x leaves) [default: terminal when stdin and
    /// stdout are a terminal and the machine has a screen, else none]
    #[arg(long, value_enum, value_name = "none|terminal")]
    pub display: Option<DisplayKind>,
    /// Save the screen as a PNG when the run ends (text with the VGA's 8x16 font, mode 13h
    /// pixel for pixel)
    #[arg(long, value_name = "FILE.png")]
    pub screenshot: Option<PathBuf>,
    /// How to print the VGA text screen when the run ends
    #[arg(long, value_enum, default_value_t = ScreenFormat::Text)]
    pub screen: ScreenFormat,
    /// When the run is stopped (--timeout, Ctrl-C, a signal, the display's Ctrl-a x, the guest's
    /// isa-debug-exit), save the whole machine to FILE for `picovmm restore`
    #[arg(long, value_name = "FILE")]
    pub snapshot_on_exit: Option<PathBuf>,
    /// Print exit counts and run time to stderr
    #[arg(long)]
    pub stats: bool,
    /// Write exit counts, run time, outcome and final registers as JSON to FILE
    #[arg(long, value_name = "FILE")]
    pub stats_json: Option<PathBuf>,
    /// Serve a QMP-shaped JSON control socket at PATH while the guest runs (mode 0600; talk to
    /// it with `picovmm ctl PATH`, see docs/control.md)
    #[arg(long, value_name = "unix:PATH", value_parser = units::control_socket)]
    pub control: Option<PathBuf>,
    /// Connect the next serial port (COM1, then COM2...) to BACKEND: stdio (the default for
    /// COM1), null, none (no port), file:PATH, pty, unix:PATH[,server[,nowait]],
    /// tcp:HOST:PORT[,server[,nowait]] (QEMU's -serial); repeatable, up to 4
    #[arg(long = "serial", value_name = "BACKEND", value_parser = crate::chardev::backend::parse)]
    pub serials: Vec<crate::chardev::Backend>,
    /// Connect the debug console (port 0xE9) to BACKEND, as --serial takes them [default: stdio]
    #[arg(long, value_name = "BACKEND", value_parser = crate::chardev::backend::parse)]
    pub debugcon: Option<crate::chardev::Backend>,
    /// The folder the user named files from (restore runs in the snapshot's folder).
    #[arg(skip)]
    pub folder: Option<PathBuf>,
}

impl OutputArgs {
    /// The same arguments with relative paths made absolute against `folder` (restore runs in
    /// the snapshot's folder, but the user named these files from theirs).
    pub fn absolute(&self, folder: &std::path::Path) -> OutputArgs {
        let absolute = |p: &Option<PathBuf>| p.as_ref().map(|p| folder.join(p));
        OutputArgs {
            screenshot: absolute(&self.screenshot),
            stats_json: absolute(&self.stats_json),
            snapshot_on_exit: absolute(&self.snapshot_on_exit),
            control: absolute(&self.control),
            serials: self.serials.iter().map(|b| b.absolute(folder)).collect(),
            debugcon: self.debugcon.as_ref().map(|b| b.absolute(folder)),
            folder: Some(folder.to_path_buf()),
            ..self.clone()
        }
    }
}

/// Whether the screen is shown while the guest runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum DisplayKind {
    /// Only printed when the run ends (`--screen`).
    #[default]
    None,
    /// Live in this terminal, with its keys going to the guest.
    Terminal,
}

/// A clap value parser for `T`, with each value's help.
pub fn value_parser<T: Named>() -> impl TypedValueParser<Value = T> {
    PossibleValuesParser::new(
        T::ALL
            .iter()
            .map(|v| PossibleValue::new(v.name()).help(v.help())),
    )
    .try_map(|name: String| {
        named::from_name::<T>(&name).ok_or_else(|| format!("unknown value {name}"))
    })
}

/// `--drive`'s value (vmm_machine::units::drive).
fn parse_drive(text: &str) -> Result<DriveSpec, String> {
    units::drive(text)
}

/// `picovmm restore`: the snapshot and the run's output flags.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The snapshot file (from `run --snapshot-on-exit`)
    pub file: PathBuf,
    /// What runs the guest from here on (a snapshot moves between backends) [default: as saved]
    #[arg(long, value_name = "ACCEL", value_parser = value_parser::<AccelChoice>())]
    pub accel: Option<AccelChoice>,
    /// What the run shows and writes.
    #[command(flatten)]
    pub output: OutputArgs,
    /// Restore even if a disk image changed since the snapshot (its size or time): the guest
    /// then reads data that differs from what it saw, and may corrupt its file system
    #[arg(long)]
    pub force_drives: bool,
    /// The debugger and memory flags, as `run` takes them.
    #[command(flatten)]
    pub debug: DebugArgs,
}

/// What `restore` takes of `run`'s debugging: a machine saved in CI, debugged here.
#[derive(Clone, Debug, Default, Args)]
pub struct DebugArgs {
    /// Serve gdb's remote protocol on [HOST:]PORT (QEMU's -gdb; PORT alone is 127.0.0.1:PORT)
    #[arg(long, value_name = "[HOST:]PORT", value_parser = units::listen_address)]
    pub gdb: Option<String>,
    /// Stop before the first instruction until gdb continues (QEMU's -S); needs --gdb
    #[arg(long)]
    pub gdb_wait: bool,
    /// When the run ends, save SIZE bytes of guest memory from guest-physical ADDR to FILE
    #[arg(long, num_args = 3, value_names = ["ADDR", "SIZE", "FILE"])]
    pub pmemsave: Option<Vec<String>>,
    /// Look for plugins in DIR first (repeatable) [default: as the snapshot's run did]
    #[arg(long = "plugin-dir", value_name = "DIR")]
    pub plugin_dirs: Vec<PathBuf>,
}

fn parse_address(text: &str) -> Result<u64, String> {
    units::parse_u64(text)
        .ok_or_else(|| format!("invalid address \"{text}\": expected a number like 0x7c00"))
}

fn parse_entry(text: &str) -> Result<EntryAddress, String> {
    if text.contains(':') {
        return text
            .parse()
            .map(EntryAddress::SegOff)
            .map_err(|e: vmm_core::cpu::ParseRealAddressError| e.to_string());
    }
    parse_address(text).map(EntryAddress::Linear)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_version_names_the_plugin_abi_picovmm_loads() {
        use picovmm_plugin::abi::{ABI_MAJOR, ABI_MINOR};
        assert!(VERSION.ends_with(&format!("(plugin ABI {ABI_MAJOR}.{ABI_MINOR})")));
    }

    #[test]
    fn test_shard_must_be_between_1_and_n() {
        assert_eq!(
            (
                parse_shard("2/3"),
                parse_shard("0/3").is_err(),
                parse_shard("4/3").is_err()
            ),
            (Ok((2, 3)), true, true)
        );
    }
    use clap::CommandFactory;

    #[test]
    fn test_cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn test_parse_entry_linear_is_an_address() {
        assert_eq!(parse_entry("0x7c00"), Ok(EntryAddress::Linear(0x7C00)));
    }

    #[test]
    fn test_parse_entry_seg_off() {
        let expected = vmm_core::RealAddress {
            segment: 0x7C0,
            offset: 0,
        };
        assert_eq!(parse_entry("07c0:0000"), Ok(EntryAddress::SegOff(expected)));
    }

    #[test]
    fn test_parse_drive_unknown_option_is_named() {
        assert_eq!(
            parse_drive("disk.img,bogus").map(|d| d.path),
            Err("unknown drive option \"bogus\"; options: readonly, snapshot, floppy, hd".into())
        );
    }

    #[test]
    fn test_parse_drive_readonly_and_snapshot_together_is_refused() {
        assert!(parse_drive("disk.img,readonly,snapshot")
            .is_err_and(|e| e.starts_with("a drive is readonly or snapshot, not both")));
    }

    #[test]
    fn test_parse_drive_floppy_and_hd_together_is_refused() {
        assert!(parse_drive("disk.img,floppy,hd").is_err_and(|e| e.contains("not both")));
    }

    #[test]
    fn test_parse_drive_options_in_any_order() {
        let d = parse_drive("disk.img,hd,readonly").expect("drive");
        assert_eq!(
            (d.path, d.kind, d.mode),
            (
                PathBuf::from("disk.img"),
                Some(vmm_bios::DriveKind::Hard),
                vmm_bios::WriteMode::ReadOnly
            )
        );
    }

    #[test]
    fn test_parse_address_rejects_garbage() {
        assert_eq!(
            parse_address("zz"),
            Err("invalid address \"zz\": expected a number like 0x7c00".to_owned())
        );
    }
}
