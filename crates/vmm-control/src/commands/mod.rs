//! Every command, by name: what it takes, and what it does on the machine's handle.
//!
//! A command is a function from the session and its arguments to a JSON value; the table
//! below is the one list of names (`query-commands` reads it, as do the docs' tests).

mod input;
mod memory;
mod mouse;
mod registers;
mod run;
mod screen;
mod state;

use serde_json::{json, Value};

pub use memory::{from_hex, to_hex, MAX_BYTES};

pub use crate::caller::Caller;
pub use registers::registers_json;

use crate::args::Args;
use crate::protocol::{CommandError, ErrorClass, Request};
use crate::session::Session;

type Handler = fn(&Session, &Args<'_>, Caller) -> Result<Value, CommandError>;

/// A command: its name, the arguments it takes, what it does, and a line of help.
pub struct Command {
    /// Its name on the wire.
    pub name: &'static str,
    /// The arguments it takes.
    pub params: &'static [&'static str],
    handler: Handler,
    /// What it does, in a line.
    pub help: &'static str,
}

const fn command(
    name: &'static str,
    params: &'static [&'static str],
    handler: Handler,
    help: &'static str,
) -> Command {
    Command {
        name,
        params,
        handler,
        help,
    }
}

/// Every command the machine answers.
pub const COMMANDS: &[Command] = &[
    command(
        "qmp_capabilities",
        &["enable"],
        capabilities,
        "leave capabilities negotiation (accepted, not needed)",
    ),
    command(
        "query-commands",
        &[],
        query_commands,
        "the commands there are",
    ),
    command("query-version", &[], query_version, "picovmm's version"),
    command(
        "query-status",
        &[],
        run::query_status,
        "running, paused or shutdown",
    ),
    command(
        "stop",
        &[],
        run::stop,
        "pause the guest (returns once it is paused)",
    ),
    command("pause", &[], run::stop, "the same as stop"),
    command("cont", &[], run::cont, "let a paused guest go on"),
    command(
        "step",
        &[],
        run::step,
        "run one instruction of a paused guest; its registers after",
    ),
    command(
        "quit",
        &[],
        run::quit,
        "end the run; its outcome and exit status",
    ),
    command(
        "system_reset",
        &[],
        run::system_reset,
        "reset the machine (the run ends, as under QEMU's -no-reboot)",
    ),
    command(
        "send-key",
        &["keys", "hold-time"],
        input::send_key,
        "press keys (QKeyCode names) in order, release them in reverse",
    ),
    command(
        "input-send-event",
        &["events", "device", "head"],
        input::send_event,
        "key presses and releases one by one (hold a modifier); mouse movement (rel) and buttons (btn)",
    ),
    command(
        "type",
        &["text"],
        input::type_text,
        "type text as key strokes ({Enter}, {F1} name keys)",
    ),
    command(
        "serial-write",
        &["data", "format"],
        input::serial_write,
        "bytes into COM1's receive FIFO",
    ),
    command(
        "screendump",
        &["filename", "format", "device", "head"],
        screen::screendump,
        "the screen as a PNG file; the text screen as the reply",
    ),
    command(
        "query-screen",
        &[],
        screen::query_screen,
        "the screen as text",
    ),
    command(
        "screen-wait",
        &["text", "timeout"],
        screen::screen_wait,
        "wait until the text screen shows TEXT (timeout in ms, default 10000)",
    ),
    command(
        "memory-read",
        &["address", "size"],
        memory::read,
        "guest-physical memory as hex (up to 64 KiB)",
    ),
    command(
        "memory-write",
        &["address", "data"],
        memory::write,
        "hex bytes into guest-physical memory (up to 64 KiB)",
    ),
    command(
        "registers",
        &[],
        registers::registers,
        "the vCPU's registers",
    ),
    command(
        "snapshot-save",
        &["filename"],
        state::snapshot_save,
        "save the machine to a file `picovmm restore` continues; the guest goes on",
    ),
    command(
        "query-stats",
        &[],
        state::query_stats,
        "exit counters and the CPU backend",
    ),
    command(
        "subscribe",
        &["events"],
        state::subscribe,
        "ask for the opt-in events (SERIAL_OUTPUT, DEBUGCON_OUTPUT, SCREEN_CHANGED)",
    ),
];

/// Runs `request` on the session; the value is the reply's `return`.
pub fn execute(
    session: &Session,
    request: &Request,
    caller: Caller,
) -> Result<Value, CommandError> {
    let Some(command) = COMMANDS.iter().find(|c| c.name == request.name) else {
        return Err(CommandError {
            class: ErrorClass::CommandNotFound,
            desc: format!(
                "The command {} has not been found (query-commands lists them)",
                request.name
            ),
        });
    };
    let args = Args::new(&request.arguments, command.params)?;
    (command.handler)(session, &args, caller)
}

fn capabilities(_: &Session, _: &Args<'_>, _: Caller) -> Result<Value, CommandError> {
    Ok(json!({}))
}

fn query_commands(_: &Session, _: &Args<'_>, _: Caller) -> Result<Value, CommandError> {
    Ok(Value::Array(
        COMMANDS
            .iter()
            .map(|c| json!({"name": c.name, "arguments": c.params, "help": c.help}))
            .collect(),
    ))
}

fn query_version(_: &Session, _: &Args<'_>, _: Caller) -> Result<Value, CommandError> {
    let greeting: Value = serde_json::from_str(&crate::protocol::greeting()).unwrap_or(Value::Null);
    Ok(greeting["QMP"]["version"].clone())
}
