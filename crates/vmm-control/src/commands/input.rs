//! Input: keys (`send-key`, `input-send-event`, `type`) and serial bytes (`serial-write`).

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use vmm_devices::keymap::{self, Key, KeyEvent};

use crate::args::Args;
use crate::caller::Caller;
use crate::protocol::CommandError;
use crate::qcode;
use crate::session::Session;

/// How long input waits for the guest to make room (a full FIFO or type-ahead queue).
const ROOM_WAIT: Duration = Duration::from_secs(5);
/// The longest `hold-time` taken, in milliseconds.
const MAX_HOLD_MS: u64 = 10_000;
/// The most serial bytes one request writes.
const MAX_SERIAL_BYTES: usize = 64 * 1024;

/// Hands `items` to `take` as it has room; fails when it has none for `wait`.
fn deliver<T>(
    items: &[T],
    what: &str,
    wait: Duration,
    mut take: impl FnMut(&[T]) -> usize,
) -> Result<(), CommandError> {
    let mut rest = items;
    let mut last_progress = Instant::now();
    while !rest.is_empty() {
        let taken = take(rest).min(rest.len());
        rest = &rest[taken..];
        if taken > 0 {
            last_progress = Instant::now();
        } else if last_progress.elapsed() > wait {
            return Err(CommandError::generic(format!(
                "{what}: {} of {} taken; the guest made no room for {:?} (is it paused, or not reading?)",
                items.len() - rest.len(),
                items.len(),
                wait
            )));
        } else {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    Ok(())
}

fn keys_in(s: &Session, events: &[KeyEvent]) -> Result<(), CommandError> {
    if !s.handle.has_keyboard() {
        return Err(CommandError::no_device(
            "this machine has no keyboard (an i8042 device, or the BIOS)",
        ));
    }
    deliver(events, "keys", ROOM_WAIT, |rest| s.handle.keys(rest))
}

/// A key as QMP's `KeyValue`: `{"type": "qcode", "data": NAME}` or `{"type": "number", "data":
/// SET1_CODE}` (0x80 and up are extended keys, as QEMU numbers them).
fn key_value(value: &Value) -> Result<Key, CommandError> {
    let bad = || {
        CommandError::generic(format!("a key is {{\"type\": \"qcode\", \"data\": NAME}} or {{\"type\": \"number\", \"data\": CODE}}, not {value}"))
    };
    match (value["type"].as_str(), &value["data"]) {
        (Some("qcode"), Value::String(name)) => {
            qcode::key(name).ok_or_else(|| CommandError::generic(qcode::unknown(name)))
        }
        (Some("number"), Value::Number(n)) => {
            let code = n.as_u64().filter(|c| *c < 0x100).ok_or_else(bad)?;
            let set1 = (code & 0x7f) as u8;
            let extended = code >= 0x80;
            keymap::NAMED_KEYS
                .iter()
                .map(|(_, k)| *k)
                .chain(('!'..='~').filter_map(|c| keymap::key_for_char(c).map(|(_, k)| k)))
                .find(|k| k.set1 == set1 && k.extended == extended)
                .ok_or_else(|| CommandError::generic(format!("no key has number {code:#x}")))
        }
        _ => Err(bad()),
    }
}

pub(super) fn send_key(s: &Session, a: &Args<'_>, _: Caller) -> Result<Value, CommandError> {
    let keys = a
        .array("keys")?
        .iter()
        .map(key_value)
        .collect::<Result<Vec<Key>, _>>()?;
    if keys.is_empty() {
        return Err(CommandError::generic("'keys' is empty"));
    }
    let hold = a.opt_integer("hold-time")?.unwrap_or(0).min(MAX_HOLD_MS);
    let events = qcode::press_then_release(&keys);
    let (press, release) = events.split_at(keys.len());
    keys_in(s, press)?;
    if hold > 0 {
        std::thread::sleep(Duration::from_millis(hold));
    }
    keys_in(s, release)?;
    Ok(json!({}))
}

pub(super) fn send_event(s: &Session, a: &Args<'_>, _: Caller) -> Result<Value, CommandError> {
    let mut keys = Vec::new();
    let mut mouse = super::mouse::Pending::new(s.handle.mouse_buttons());
    for event in a.array("events")? {
        match event["type"].as_str() {
            Some("key") => keys.push(key_event(&event["data"])?),
            Some("rel" | "btn") => mouse.add(s, event)?,
            _ => {
                return Err(CommandError::generic(format!(
                    "an event's type is key, rel or btn, not {} (the PS/2 mouse moves relatively: no abs)",
                    event["type"]
                )))
            }
        }
    }
    mouse.send(s)?;
    if !keys.is_empty() {
        keys_in(s, &keys)?;
    }
    Ok(json!({}))
}

/// A key event's data: `{"down": BOOL, "key": KeyValue}`.
fn key_event(data: &Value) -> Result<KeyEvent, CommandError> {
    let down = data["down"]
        .as_bool()
        .ok_or_else(|| CommandError::generic("a key event's data needs \"down\": true or false"))?;
    Ok(KeyEvent {
        key: key_value(&data["key"])?,
        release: !down,
    })
}

pub(super) fn type_text(s: &Session, a: &Args<'_>, _: Caller) -> Result<Value, CommandError> {
    let events =
        keymap::type_text(a.string("text")?).map_err(|e| CommandError::generic(e.to_string()))?;
    keys_in(s, &events)?;
    Ok(json!({"keys": events.len() / 2}))
}

/// The bytes `data` stands for in `format` (`utf8`, the default, or `hex`).
fn serial_bytes(data: &str, format: &str) -> Result<Vec<u8>, CommandError> {
    match format {
        "utf8" => Ok(data.as_bytes().to_vec()),
        "hex" => super::memory::from_hex(data),
        other => Err(CommandError::generic(format!(
            "format '{other}' is not one of: utf8, hex"
        ))),
    }
}

pub(super) fn serial_write(s: &Session, a: &Args<'_>, _: Caller) -> Result<Value, CommandError> {
    if !s.handle.has_serial() {
        return Err(CommandError::no_device("this machine has no serial port"));
    }
    let format = a.opt_string("format")?.unwrap_or("utf8");
    let bytes = serial_bytes(a.string("data")?, format)?;
    if bytes.len() > MAX_SERIAL_BYTES {
        return Err(CommandError::generic(format!(
            "{} bytes is more than one request writes ({MAX_SERIAL_BYTES})",
            bytes.len()
        )));
    }
    deliver(&bytes, "serial bytes", ROOM_WAIT, |rest| {
        s.handle.serial_in(rest)
    })?;
    Ok(json!({"bytes": bytes.len()}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_key_value_number_0x1c_is_enter() {
        assert_eq!(
            key_value(&json!({"type": "number", "data": 0x1c})).ok(),
            keymap::named("Enter")
        );
    }

    #[test]
    fn test_key_value_number_0xc8_is_the_extended_up_arrow() {
        assert_eq!(
            key_value(&json!({"type": "number", "data": 0xc8})).ok(),
            keymap::named("Up")
        );
    }

    #[test]
    fn test_key_value_without_type_is_refused() {
        assert!(key_value(&json!({"data": "a"})).is_err());
    }

    #[test]
    fn test_serial_bytes_hex_decodes() {
        assert_eq!(serial_bytes("0d0a", "hex"), Ok(vec![13, 10]));
    }

    #[test]
    fn test_deliver_gives_up_when_no_room_comes() {
        let e = deliver(&[1u8], "x", Duration::from_millis(5), |_| 0).unwrap_err();
        assert!(e.desc.starts_with("x: 0 of 1 taken"));
    }
}
