//! `picovmm ctl PATH COMMAND [ARGS]`: one command on a running machine's control socket, its
//! reply printed for people (or as JSON with `--json`); `picovmm ctl PATH watch [EVENT...]`
//! prints events as they come until the run ends.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use vmm_control::client::Client;
use vmm_control::human;

/// The command succeeded.
const OK: i32 = 0;
/// The machine refused the command.
const REFUSED: i32 = 1;
/// Bad usage.
const USAGE: i32 = 2;
/// No machine to talk to, or the connection broke.
const UNREACHABLE: i32 = 3;

/// Runs `picovmm ctl SOCKET COMMAND...`; returns the exit status.
pub fn ctl(socket: &str, command: &[String], json: bool) -> i32 {
    let path = PathBuf::from(socket.strip_prefix("unix:").unwrap_or(socket));
    // `--json` may come after the command's words, which clap takes as they are.
    let json = json || command.iter().any(|w| w == "--json");
    let words: Vec<String> = command.iter().filter(|w| *w != "--json").cloned().collect();
    if words.first().map(String::as_str) == Some("watch") {
        return watch(&path, &words[1..], json);
    }
    let request = match human::parse_words(&words) {
        Ok(request) => request,
        Err(e) => {
            crate::errln!("picovmm ctl: {e}");
            return USAGE;
        }
    };
    let mut client = match Client::connect(&path) {
        Ok(client) => client,
        Err(e) => {
            crate::errln!("picovmm ctl: {e}");
            return UNREACHABLE;
        }
    };
    match client.execute(&request.name, request.arguments.clone()) {
        Err(e) => {
            crate::errln!("picovmm ctl: {e}");
            UNREACHABLE
        }
        Ok(Err(e)) if json => {
            print_line(&json!({"error": {"class": e.class.name(), "desc": e.desc}}).to_string());
            REFUSED
        }
        Ok(Err(e)) => {
            crate::errln!("picovmm ctl: {}: {}", request.name, e.desc);
            REFUSED
        }
        Ok(Ok(value)) => {
            print_reply(&request, &value, json);
            OK
        }
    }
}

fn print_reply(request: &vmm_control::protocol::Request, value: &Value, json: bool) {
    if json {
        print_line(&value.to_string());
        return;
    }
    let text = human::describe(request, value);
    if !text.is_empty() {
        print_line(text.trim_end_matches('\n'));
    }
}

/// A line on stdout; a reader that went away (`| head`) is not an error of ours.
fn print_line(line: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// Prints events until `SHUTDOWN` or the socket closes; `names` are opt-in events to add.
fn watch(path: &Path, names: &[String], json: bool) -> i32 {
    let mut client = match Client::connect(path) {
        Ok(client) => client,
        Err(e) => {
            crate::errln!("picovmm ctl: {e}");
            return UNREACHABLE;
        }
    };
    if !names.is_empty() {
        let mut arguments = serde_json::Map::new();
        arguments.insert("events".into(), json!(names));
        match client.execute("subscribe", arguments) {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                crate::errln!("picovmm ctl: watch: {}", e.desc);
                return USAGE;
            }
            Err(e) => {
                crate::errln!("picovmm ctl: {e}");
                return UNREACHABLE;
            }
        }
    }
    loop {
        match client.next_event() {
            Ok(Some(event)) => {
                print_event(&event, json);
                if event["event"] == "SHUTDOWN" {
                    return OK;
                }
            }
            Ok(None) => return OK,
            Err(e) => {
                crate::errln!("picovmm ctl: {e}");
                return UNREACHABLE;
            }
        }
    }
}

fn print_event(event: &Value, json: bool) {
    let line = if json {
        event.to_string()
    } else {
        let name = event["event"].as_str().unwrap_or_default();
        match event["data"]["line"].as_str() {
            Some(line) => format!("{name} {line}"),
            None => format!("{name} {}", event["data"]),
        }
    };
    print_line(&line);
}
