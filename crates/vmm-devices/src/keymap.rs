//! PC keyboard keys and their scancodes, and text typed as key strokes.
//!
//! Every key has a set 1 code (what software reads from an i8042 that translates, as every PC
//! BIOS leaves it) and a set 2 code (what the keyboard itself sends); keys of the extended
//! block are prefixed with 0xE0 in both. Text is typed on a US layout: `A` is Shift+A, `\n` is
//! Enter, Ctrl-letter control characters are Ctrl+letter, and `{Name}` names a key (`{Up}`,
//! `{F1}`, `{Esc}`; `{{` is a literal brace).

use serde::{Deserialize, Serialize};

/// One key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Key {
    /// Scancode set 1 make code.
    pub set1: u8,
    /// Scancode set 2 make code.
    pub set2: u8,
    /// An extended key (0xE0 prefix).
    pub extended: bool,
}

/// A key going down or up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyEvent {
    /// The key.
    pub key: Key,
    /// `true` for the release (break), `false` for the press (make).
    pub release: bool,
}

impl KeyEvent {
    /// The bytes the keyboard sends, in set 1 (`translated`) or set 2.
    pub fn scancodes(&self, translated: bool) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(3);
        if self.key.extended {
            bytes.push(0xE0);
        }
        if translated {
            bytes.push(self.key.set1 | if self.release { 0x80 } else { 0 });
        } else {
            if self.release {
                bytes.push(0xF0);
            }
            bytes.push(self.key.set2);
        }
        bytes
    }
}

const fn k(set1: u8, set2: u8) -> Key {
    Key {
        set1,
        set2,
        extended: false,
    }
}

const fn e(set1: u8, set2: u8) -> Key {
    Key {
        set1,
        set2,
        extended: true,
    }
}

/// Keys by name, as `{Name}` in typed text says them (matched without regard to case).
pub const NAMED_KEYS: &[(&str, Key)] = &[
    ("Esc", k(0x01, 0x76)),
    ("Backspace", k(0x0E, 0x66)),
    ("Tab", k(0x0F, 0x0D)),
    ("Enter", k(0x1C, 0x5A)),
    ("Ctrl", k(0x1D, 0x14)),
    ("Shift", k(0x2A, 0x12)),
    ("RightShift", k(0x36, 0x59)),
    ("Alt", k(0x38, 0x11)),
    ("Space", k(0x39, 0x29)),
    ("CapsLock", k(0x3A, 0x58)),
    ("F1", k(0x3B, 0x05)),
    ("F2", k(0x3C, 0x06)),
    ("F3", k(0x3D, 0x04)),
    ("F4", k(0x3E, 0x0C)),
    ("F5", k(0x3F, 0x03)),
    ("F6", k(0x40, 0x0B)),
    ("F7", k(0x41, 0x83)),
    ("F8", k(0x42, 0x0A)),
    ("F9", k(0x43, 0x01)),
    ("F10", k(0x44, 0x09)),
    ("NumLock", k(0x45, 0x77)),
    ("ScrollLock", k(0x46, 0x7E)),
    ("F11", k(0x57, 0x78)),
    ("F12", k(0x58, 0x07)),
    ("Home", e(0x47, 0x6C)),
    ("Up", e(0x48, 0x75)),
    ("PageUp", e(0x49, 0x7D)),
    ("Left", e(0x4B, 0x6B)),
    ("Right", e(0x4D, 0x74)),
    ("End", e(0x4F, 0x69)),
    ("Down", e(0x50, 0x72)),
    ("PageDown", e(0x51, 0x7A)),
    ("Insert", e(0x52, 0x70)),
    ("Delete", e(0x53, 0x71)),
    ("RightCtrl", e(0x1D, 0x14)),
    ("RightAlt", e(0x38, 0x11)),
];

/// The printable keys of a US layout: the character unshifted, shifted, and the key.
const PRINTABLE: &[(char, char, Key)] = &[
    ('`', '~', k(0x29, 0x0E)),
    ('1', '!', k(0x02, 0x16)),
    ('2', '@', k(0x03, 0x1E)),
    ('3', '#', k(0x04, 0x26)),
    ('4', '$', k(0x05, 0x25)),
    ('5', '%', k(0x06, 0x2E)),
    ('6', '^', k(0x07, 0x36)),
    ('7', '&', k(0x08, 0x3D)),
    ('8', '*', k(0x09, 0x3E)),
    ('9', '(', k(0x0A, 0x46)),
    ('0', ')', k(0x0B, 0x45)),
    ('-', '_', k(0x0C, 0x4E)),
    ('=', '+', k(0x0D, 0x55)),
    ('q', 'Q', k(0x10, 0x15)),
    ('w', 'W', k(0x11, 0x1D)),
    ('e', 'E', k(0x12, 0x24)),
    ('r', 'R', k(0x13, 0x2D)),
    ('t', 'T', k(0x14, 0x2C)),
    ('y', 'Y', k(0x15, 0x35)),
    ('u', 'U', k(0x16, 0x3C)),
    ('i', 'I', k(0x17, 0x43)),
    ('o', 'O', k(0x18, 0x44)),
    ('p', 'P', k(0x19, 0x4D)),
    ('[', '{', k(0x1A, 0x54)),
    (']', '}', k(0x1B, 0x5B)),
    ('\\', '|', k(0x2B, 0x5D)),
    ('a', 'A', k(0x1E, 0x1C)),
    ('s', 'S', k(0x1F, 0x1B)),
    ('d', 'D', k(0x20, 0x23)),
    ('f', 'F', k(0x21, 0x2B)),
    ('g', 'G', k(0x22, 0x34)),
    ('h', 'H', k(0x23, 0x33)),
    ('j', 'J', k(0x24, 0x3B)),
    ('k', 'K', k(0x25, 0x42)),
    ('l', 'L', k(0x26, 0x4B)),
    (';', ':', k(0x27, 0x4C)),
    ('\'', '"', k(0x28, 0x52)),
    ('z', 'Z', k(0x2C, 0x1A)),
    ('x', 'X', k(0x2D, 0x22)),
    ('c', 'C', k(0x2E, 0x21)),
    ('v', 'V', k(0x2F, 0x2A)),
    ('b', 'B', k(0x30, 0x32)),
    ('n', 'N', k(0x31, 0x31)),
    ('m', 'M', k(0x32, 0x3A)),
    (',', '<', k(0x33, 0x41)),
    ('.', '>', k(0x34, 0x49)),
    ('/', '?', k(0x35, 0x4A)),
    (' ', ' ', k(0x39, 0x29)),
];

/// The key called `name` (`Esc`, `F1`, `Up`...), if there is one.
pub fn named(name: &str) -> Option<Key> {
    NAMED_KEYS
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|&(_, key)| key)
}

fn shift() -> Key {
    k(0x2A, 0x12)
}

fn ctrl() -> Key {
    k(0x1D, 0x14)
}

/// The key a character is typed with, and the modifier it needs.
pub fn key_for_char(c: char) -> Option<(Option<Key>, Key)> {
    let plain = |name| named(name).map(|key| (None, key));
    match c {
        '\n' | '\r' => plain("Enter"),
        '\t' => plain("Tab"),
        '\x08' | '\x7f' => plain("Backspace"),
        '\x1b' => plain("Esc"),
        '\x01'..='\x1a' => {
            let letter = char::from(b'a' + (c as u8 - 1));
            key_for_char(letter).map(|(_, key)| (Some(ctrl()), key))
        }
        _ => PRINTABLE.iter().find_map(|&(lower, upper, key)| {
            if c == lower {
                Some((None, key))
            } else if c == upper {
                Some((Some(shift()), key))
            } else {
                None
            }
        }),
    }
}

/// Why typed text cannot be turned into key strokes.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum TypeError {
    /// A character no key of a US keyboard types.
    #[error("no key types {0:?}")]
    Character(char),
    /// `{Name}` names no key.
    #[error("unknown key {{{0}}}; known: {names}", names = key_names())]
    Name(String),
    /// A `{` without its `}`.
    #[error("a '{{' without its '}}' (write {{{{ for a brace)")]
    Unclosed,
}

fn key_names() -> String {
    NAMED_KEYS
        .iter()
        .map(|(n, _)| *n)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The press and release events that type `text`.
pub fn type_text(text: &str) -> Result<Vec<KeyEvent>, TypeError> {
    let mut events = Vec::new();
    let mut stroke = |modifier: Option<Key>, key: Key| {
        let ev = |key, release| KeyEvent { key, release };
        if let Some(m) = modifier {
            events.push(ev(m, false));
        }
        events.push(ev(key, false));
        events.push(ev(key, true));
        if let Some(m) = modifier {
            events.push(ev(m, true));
        }
    };
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '{' {
            if chars.peek() == Some(&'{') {
                chars.next();
                let (m, key) = key_for_char('{').ok_or(TypeError::Character('{'))?;
                stroke(m, key);
                continue;
            }
            let mut name = String::new();
            loop {
                match chars.next() {
                    Some('}') => break,
                    Some(c) => name.push(c),
                    None => return Err(TypeError::Unclosed),
                }
            }
            let key = named(&name).ok_or_else(|| TypeError::Name(name.clone()))?;
            stroke(None, key);
            continue;
        }
        let (m, key) = key_for_char(c).ok_or(TypeError::Character(c))?;
        stroke(m, key);
    }
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set1(text: &str) -> Vec<u8> {
        type_text(text)
            .unwrap()
            .iter()
            .flat_map(|e| e.scancodes(true))
            .collect()
    }

    #[test]
    fn test_lowercase_letter() {
        assert_eq!(set1("a"), [0x1E, 0x9E]);
    }

    #[test]
    fn test_uppercase_is_shifted() {
        assert_eq!(set1("A"), [0x2A, 0x1E, 0x9E, 0xAA]);
    }

    #[test]
    fn test_enter_and_named_extended_key() {
        assert_eq!(set1("\n{Up}"), [0x1C, 0x9C, 0xE0, 0x48, 0xE0, 0xC8]);
    }

    #[test]
    fn test_set2_break_code() {
        let ev = KeyEvent {
            key: named("Up").unwrap(),
            release: true,
        };
        assert_eq!(ev.scancodes(false), [0xE0, 0xF0, 0x75]);
    }

    #[test]
    fn test_ctrl_c() {
        assert_eq!(set1("\x03"), [0x1D, 0x2E, 0xAE, 0x9D]);
    }

    #[test]
    fn test_double_brace_is_literal() {
        assert_eq!(set1("{{"), [0x2A, 0x1A, 0x9A, 0xAA]);
    }

    #[test]
    fn test_errors() {
        assert_eq!(type_text("é"), Err(TypeError::Character('é')));
        assert!(matches!(type_text("{Nope}"), Err(TypeError::Name(_))));
        assert_eq!(type_text("{Up"), Err(TypeError::Unclosed));
    }
}
