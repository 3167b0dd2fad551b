//! Keys by QEMU's `QKeyCode` names (`shift`, `ctrl`, `a`, `ret`, `f1`...), as `send-key` and
//! `input-send-event` take them, and HMP's `sendkey ctrl-alt-delete` spelling.

use vmm_devices::keymap::{self, Key, KeyEvent};

/// QEMU's names for the keys that are not a character typed without Shift.
const NAMED: &[(&str, &str)] = &[
    ("shift", "Shift"),
    ("shift_r", "RightShift"),
    ("alt", "Alt"),
    ("alt_r", "RightAlt"),
    ("altgr", "RightAlt"),
    ("ctrl", "Ctrl"),
    ("ctrl_r", "RightCtrl"),
    ("esc", "Esc"),
    ("backspace", "Backspace"),
    ("tab", "Tab"),
    ("ret", "Enter"),
    ("spc", "Space"),
    ("caps_lock", "CapsLock"),
    ("num_lock", "NumLock"),
    ("scroll_lock", "ScrollLock"),
    ("home", "Home"),
    ("up", "Up"),
    ("pgup", "PageUp"),
    ("left", "Left"),
    ("right", "Right"),
    ("end", "End"),
    ("down", "Down"),
    ("pgdn", "PageDown"),
    ("insert", "Insert"),
    ("delete", "Delete"),
];

/// QEMU's names for the punctuation keys, by the character they type unshifted.
const PUNCTUATION: &[(&str, char)] = &[
    ("minus", '-'),
    ("equal", '='),
    ("bracket_left", '['),
    ("bracket_right", ']'),
    ("semicolon", ';'),
    ("apostrophe", '\''),
    ("grave_accent", '`'),
    ("backslash", '\\'),
    ("comma", ','),
    ("dot", '.'),
    ("slash", '/'),
];

/// The key QEMU calls `name` (case does not matter).
pub fn key(name: &str) -> Option<Key> {
    let name = name.to_ascii_lowercase();
    if let Some((_, ours)) = NAMED.iter().find(|(q, _)| *q == name) {
        return keymap::named(ours);
    }
    if let Some(f) = name.strip_prefix('f').and_then(|n| n.parse::<u8>().ok()) {
        return (1..=12)
            .contains(&f)
            .then(|| keymap::named(&format!("F{f}")))
            .flatten();
    }
    let typed = match PUNCTUATION.iter().find(|(q, _)| *q == name) {
        Some((_, c)) => *c,
        None => {
            let mut chars = name.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) if c.is_ascii_alphanumeric() => c,
                _ => return None,
            }
        }
    };
    match keymap::key_for_char(typed) {
        Some((None, key)) => Some(key),
        _ => None,
    }
}

/// Why a key name is refused, listing the names there are.
pub fn unknown(name: &str) -> String {
    let names: Vec<&str> = NAMED
        .iter()
        .map(|(q, _)| *q)
        .chain(PUNCTUATION.iter().map(|(q, _)| *q))
        .collect();
    format!(
        "'{name}' is not a key's QKeyCode name (a-z, 0-9, f1-f12, {})",
        names.join(", ")
    )
}

/// HMP's `sendkey` chord (`ctrl-alt-delete`, `shift-a`): the keys pressed in order, then
/// released in reverse.
pub fn chord(spec: &str) -> Result<Vec<KeyEvent>, String> {
    let keys = spec
        .split('-')
        .map(|name| key(name).ok_or_else(|| unknown(name)))
        .collect::<Result<Vec<Key>, String>>()?;
    Ok(press_then_release(&keys))
}

/// Presses `keys` in order and releases them in reverse, as QEMU's `send-key` does.
pub fn press_then_release(keys: &[Key]) -> Vec<KeyEvent> {
    let press = keys.iter().map(|&key| KeyEvent {
        key,
        release: false,
    });
    let release = keys
        .iter()
        .rev()
        .map(|&key| KeyEvent { key, release: true });
    press.chain(release).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_key_letter_is_the_letter_key() {
        assert_eq!(key("a"), keymap::key_for_char('a').map(|(_, k)| k));
    }

    #[test]
    fn test_key_ret_is_enter() {
        assert_eq!(key("ret"), keymap::named("Enter"));
    }

    #[test]
    fn test_key_f13_is_unknown() {
        assert_eq!(key("f13"), None);
    }

    #[test]
    fn test_chord_releases_in_reverse() {
        let events = chord("ctrl-alt-delete").unwrap();
        let order: Vec<(Option<Key>, bool)> =
            events.iter().map(|e| (Some(e.key), e.release)).collect();
        assert_eq!(
            order,
            vec![
                (key("ctrl"), false),
                (key("alt"), false),
                (key("delete"), false),
                (key("delete"), true),
                (key("alt"), true),
                (key("ctrl"), true),
            ]
        );
    }

    #[test]
    fn test_chord_unknown_key_is_refused() {
        assert!(chord("ctrl-nope").unwrap_err().contains("'nope'"));
    }
}
