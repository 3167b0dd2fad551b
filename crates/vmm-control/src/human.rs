//! The commands in a human syntax, for `picovmm ctl` and the live display's monitor: HMP's
//! words where QEMU's monitor has them (`cont`, `stop`, `info registers`, `sendkey
//! ctrl-alt-delete`, `savevm FILE`, `screendump FILE`), any command by its wire name with
//! its arguments in order or as `name=value`, and replies written for people.

use serde_json::{json, Map, Value};

use crate::args::parse_integer;
use crate::commands::COMMANDS;
use crate::protocol::Request;
use crate::qcode;

/// HMP's names, and the wire command each stands for.
const ALIASES: &[(&str, &str)] = &[
    ("c", "cont"),
    ("s", "step"),
    ("q", "quit"),
    ("sendkey", "send-key"),
    ("savevm", "snapshot-save"),
    ("x", "memory-read"),
    ("xp", "memory-read"),
    ("info status", "query-status"),
    ("info registers", "registers"),
    ("info stats", "query-stats"),
    ("info screen", "query-screen"),
    ("info commands", "query-commands"),
    ("info version", "query-version"),
    ("help", "query-commands"),
];

/// Commands whose one argument is the rest of the line, spaces and all.
const TAKES_THE_REST: &[(&str, &str)] = &[
    ("type", "text"),
    ("serial-write", "data"),
    ("screen-wait", "text"),
];

/// A monitor line as a request.
pub fn parse(line: &str) -> Result<Request, String> {
    let line = line.trim();
    let (first, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
    if first == "info" {
        return parse_words(&["info".to_owned(), rest.trim().to_owned()]);
    }
    let name = wire_name(first);
    if TAKES_THE_REST.iter().any(|(n, _)| *n == name) {
        return parse_words(&[first.to_owned(), rest.trim_start().to_owned()]);
    }
    let words: Vec<String> = std::iter::once(first.to_owned())
        .chain(rest.split_whitespace().map(str::to_owned))
        .collect();
    parse_words(&words)
}

fn wire_name(word: &str) -> &str {
    ALIASES
        .iter()
        .find(|(alias, _)| *alias == word)
        .map_or(word, |(_, name)| name)
}

/// Words (a command line's arguments) as a request: the command, then its arguments in order
/// or as `name=value` (a value that reads as JSON is taken as JSON, anything else as text).
pub fn parse_words(words: &[String]) -> Result<Request, String> {
    let Some((first, rest)) = words.split_first() else {
        return Err("no command given (`help` lists them)".into());
    };
    let name = if first == "info" && rest.len() == 1 {
        wire_name(&format!("info {}", rest[0])).to_owned()
    } else {
        wire_name(first).to_owned()
    };
    let rest = if first == "info" { &[][..] } else { rest };
    let command = COMMANDS
        .iter()
        .find(|c| c.name == name)
        .ok_or_else(|| format!("unknown command '{first}' (`help` lists them)"))?;
    if let Some((_, param)) = TAKES_THE_REST.iter().find(|(n, _)| *n == name) {
        let mut arguments = Map::new();
        arguments.insert((*param).into(), Value::String(rest.join(" ")));
        return Ok(Request::new(name, arguments));
    }
    let mut arguments = Map::new();
    let mut positional = command.params.iter();
    for word in rest {
        let (key, value) = match word.split_once('=') {
            Some((k, v)) if command.params.contains(&k) => (k.to_owned(), v),
            _ => {
                let key = positional.next().ok_or_else(|| {
                    format!(
                        "{name} takes {} argument(s): {}",
                        command.params.len(),
                        command.params.join(" ")
                    )
                })?;
                ((*key).to_owned(), word.as_str())
            }
        };
        arguments.insert(key.clone(), argument(&name, &key, value)?);
    }
    Ok(Request::new(name, arguments))
}

/// One argument's value: keys as chords for `send-key`, numbers as numbers, JSON as JSON.
fn argument(command: &str, key: &str, value: &str) -> Result<Value, String> {
    if command == "send-key" && key == "keys" && !value.starts_with('[') {
        let keys = value
            .split('-')
            .map(|k| {
                qcode::key(k)
                    .map(|_| json!({"type": "qcode", "data": k}))
                    .ok_or_else(|| qcode::unknown(k))
            })
            .collect::<Result<Vec<_>, _>>()?;
        return Ok(Value::Array(keys));
    }
    if let Some(n) = parse_integer(value) {
        return Ok(json!(n));
    }
    Ok(serde_json::from_str::<Value>(value)
        .ok()
        .filter(|v| v.is_array() || v.is_object() || v.is_boolean())
        .unwrap_or_else(|| Value::String(value.to_owned())))
}

/// The reply to `request` for people.
pub fn describe(request: &Request, value: &Value) -> String {
    let wanted = request.arguments.get("text").and_then(Value::as_str);
    match request.name.as_str() {
        "query-status" => match value["outcome"].as_str() {
            Some(outcome) => format!("shutdown ({outcome})"),
            None => value["status"].as_str().unwrap_or_default().to_owned(),
        },
        "registers" | "step" => registers(value),
        "memory-read" => hexdump(value),
        "query-screen" => value["text"]
            .as_str()
            .unwrap_or("(a graphics screen)")
            .to_owned(),
        "screen-wait" => {
            let text = value["text"].as_str().unwrap_or_default();
            let wanted = wanted.unwrap_or_default();
            text.lines()
                .find(|l| l.contains(wanted))
                .unwrap_or_default()
                .to_owned()
        }
        "type" => format!("typed {} key(s)", value["keys"]),
        "serial-write" => format!("wrote {} byte(s)", value["bytes"]),
        "screendump" => format!("wrote {}", value["filename"].as_str().unwrap_or_default()),
        "snapshot-save" => {
            let file = value["filename"].as_str().unwrap_or_default();
            format!(
                "saved {file} ({} KiB); continue it with `picovmm restore {file}`",
                value["bytes"].as_u64().unwrap_or(0) / 1024
            )
        }
        "quit" => format!(
            "the run ended: {} (exit status {})",
            value["description"].as_str().unwrap_or_default(),
            value["status"]
        ),
        "query-commands" => value
            .as_array()
            .map(|list| {
                list.iter()
                    .map(|c| {
                        format!(
                            "{:<18} {}",
                            c["name"].as_str().unwrap_or_default(),
                            c["help"].as_str().unwrap_or_default()
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .unwrap_or_default(),
        _ if value.as_object().is_some_and(Map::is_empty) => String::new(),
        _ => serde_json::to_string_pretty(value).unwrap_or_default(),
    }
}

fn registers(r: &Value) -> String {
    let n = |name: &str| r[name].as_u64().unwrap_or(0);
    let seg = |name: &str| {
        format!(
            "{name}={:04x} (base {:#x})",
            r[name]["selector"].as_u64().unwrap_or(0),
            r[name]["base"].as_u64().unwrap_or(0)
        )
    };
    format!(
        "rax={:016x} rbx={:016x} rcx={:016x} rdx={:016x}\nrsi={:016x} rdi={:016x} rbp={:016x} rsp={:016x}\nrip={:016x} rflags={:08x} cr0={:08x}\n{} {} {} {}",
        n("rax"), n("rbx"), n("rcx"), n("rdx"), n("rsi"), n("rdi"), n("rbp"), n("rsp"),
        n("rip"), n("rflags"), n("cr0"), seg("cs"), seg("ds"), seg("es"), seg("ss")
    )
}

fn hexdump(value: &Value) -> String {
    let base = value["address"].as_u64().unwrap_or(0);
    let bytes =
        crate::commands::from_hex(value["data"].as_str().unwrap_or_default()).unwrap_or_default();
    bytes
        .chunks(16)
        .enumerate()
        .map(|(i, row)| {
            let hex: Vec<String> = row.iter().map(|b| format!("{b:02x}")).collect();
            let text: String = row
                .iter()
                .map(|&b| {
                    if b.is_ascii_graphic() || b == b' ' {
                        b as char
                    } else {
                        '.'
                    }
                })
                .collect();
            format!(
                "{:08x}: {:<47}  {text}",
                base + 16 * i as u64,
                hex.join(" ")
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_parse_hmp_sendkey_chord_becomes_qcodes() {
        let r = parse("sendkey ctrl-alt-delete").unwrap();
        assert_eq!(r.name, "send-key");
        assert_eq!(
            r.arguments["keys"][2],
            json!({"type": "qcode", "data": "delete"})
        );
    }

    #[test]
    fn test_parse_info_registers_is_registers() {
        assert_eq!(parse("info registers").unwrap().name, "registers");
    }

    #[test]
    fn test_parse_type_keeps_the_spaces() {
        assert_eq!(
            parse("type hello  world").unwrap().arguments["text"],
            "hello  world"
        );
    }

    #[test]
    fn test_parse_positional_numbers_in_hex() {
        let r = parse("memory-read 0xb8000 16").unwrap();
        assert_eq!(
            (r.arguments["address"].clone(), r.arguments["size"].clone()),
            (json!(0xb8000), json!(16))
        );
    }

    #[test]
    fn test_parse_named_argument() {
        assert_eq!(
            parse("screendump filename=a.png").unwrap().arguments["filename"],
            "a.png"
        );
    }

    #[test]
    fn test_parse_too_many_arguments_says_what_it_takes() {
        assert_eq!(parse("cont now").unwrap_err(), "cont takes 0 argument(s): ");
    }

    #[test]
    fn test_parse_unknown_command_is_refused() {
        assert!(parse("frobnicate")
            .unwrap_err()
            .starts_with("unknown command 'frobnicate'"));
    }

    #[test]
    fn test_describe_screen_wait_is_the_line_that_matched() {
        let r = parse("screen-wait score 1").unwrap();
        let v = json!({"text": "top\nscore 1  moves 3\nbottom"});
        assert_eq!(describe(&r, &v), "score 1  moves 3");
    }

    #[test]
    fn test_describe_hexdump_shows_text() {
        let v = json!({"address": 0x10, "data": "4869"});
        let r = Request::new("memory-read", Map::new());
        assert_eq!(describe(&r, &v), format!("00000010: {:<47}  Hi", "48 69"));
    }
}
