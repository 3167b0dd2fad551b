//! The kitty keyboard protocol (kitty, foot, WezTerm, Ghostty): asked for when the live view
//! starts (`CSI > 11 u`: disambiguate, report event types, report all keys as escape codes), it
//! gives every key as its own press, repeat and release, Shift, Ctrl and Alt alone included, so
//! a game that steers with a held modifier gets it held. A terminal without it ignores the
//! request and sends what it always sends.
//!
//! A key is `CSI code[:alternates] ; modifiers[:event] [; text] u`, or, for arrows, Home, End
//! and F1-F4, `CSI 1 ; modifiers[:event] A..S`, and for the `~` keys `CSI number ; modifiers
//! [:event] ~`; event 1 is a press (the default), 2 a repeat, 3 a release.

use vmm_devices::keymap::{self, Key};

/// The request the live view sends when it starts, and the one that undoes it.
pub const PUSH: &[u8] = b"\x1b[>11u";
/// Pops the flags pushed by [`PUSH`].
pub const POP: &[u8] = b"\x1b[<u";

/// What happened to a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// It went down.
    Press,
    /// It is held and repeats.
    Repeat,
    /// It came up.
    Release,
}

/// One key event in kitty's form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KittyKey {
    /// The PC key.
    pub key: Key,
    /// Press, repeat or release.
    pub event: Event,
    /// The modifiers held with it: Shift, Alt, Ctrl.
    pub shift: bool,
    /// Alt.
    pub alt: bool,
    /// Ctrl.
    pub ctrl: bool,
    /// The key's Unicode code point (or kitty's number for a functional key).
    pub code: u32,
}

/// kitty's numbers for keys that are not characters, and the PC key each is.
const FUNCTIONAL: &[(u32, &str)] = &[
    (27, "Esc"),
    (13, "Enter"),
    (9, "Tab"),
    (127, "Backspace"),
    (57358, "CapsLock"),
    (57359, "ScrollLock"),
    (57360, "NumLock"),
    (57441, "Shift"),
    (57442, "Ctrl"),
    (57443, "Alt"),
    (57447, "RightShift"),
    (57448, "RightCtrl"),
    (57449, "RightAlt"),
];

/// The PC key for kitty key `code`.
fn key_of(code: u32) -> Option<Key> {
    if let Some((_, name)) = FUNCTIONAL.iter().find(|(c, _)| *c == code) {
        return keymap::named(name);
    }
    let c = char::from_u32(code)?;
    keymap::key_for_char(c).map(|(_, key)| key)
}

/// The key a legacy-form final byte (with its number, for `~`) stands for.
fn legacy_key(last: u8, number: u32) -> Option<Key> {
    let name = match (last, number) {
        (b'A', _) => "Up",
        (b'B', _) => "Down",
        (b'C', _) => "Right",
        (b'D', _) => "Left",
        (b'H', _) | (b'~', 1 | 7) => "Home",
        (b'F', _) | (b'~', 4 | 8) => "End",
        (b'P', _) => "F1",
        (b'Q', _) => "F2",
        (b'R', _) => "F3",
        (b'S', _) => "F4",
        (b'~', 2) => "Insert",
        (b'~', 3) => "Delete",
        (b'~', 5) => "PageUp",
        (b'~', 6) => "PageDown",
        (b'~', n @ 11..=15) => return keymap::named(&format!("F{}", n - 10)),
        (b'~', n @ 17..=21) => return keymap::named(&format!("F{}", n - 11)),
        (b'~', n @ 23..=24) => return keymap::named(&format!("F{}", n - 12)),
        _ => return None,
    };
    keymap::named(name)
}

/// A complete escape sequence (`ESC [ ... final`) as a kitty key event. Sequences that are
/// also legacy xterm ones (`CSI 1;5A`) count as kitty's only once the terminal has shown it
/// speaks the protocol (`active`), or when they carry an event type.
pub fn parse(seq: &[u8], active: bool) -> Option<KittyKey> {
    let body = seq.strip_prefix(b"\x1b[")?;
    let (&last, params) = body.split_last()?;
    let text = std::str::from_utf8(params).ok()?;
    let mut fields = text.split(';');
    let first = fields.next().unwrap_or("");
    let code: u32 = first.split(':').next()?.parse().ok()?;
    let (mods, event) = match fields.next() {
        Some(m) => {
            let mut parts = m.split(':');
            let mods: u32 = parts.next().unwrap_or("1").parse().unwrap_or(1);
            let event: Option<u32> = parts.next().and_then(|e| e.parse().ok());
            (mods, event)
        }
        None => (1, None),
    };
    let key = match last {
        b'u' => key_of(code)?,
        _ if active || event.is_some() => legacy_key(last, code)?,
        _ => return None,
    };
    let bits = mods.saturating_sub(1);
    Some(KittyKey {
        key,
        event: match event {
            Some(2) => Event::Repeat,
            Some(3) => Event::Release,
            _ => Event::Press,
        },
        shift: bits & 1 != 0,
        alt: bits & 2 != 0,
        ctrl: bits & 4 != 0,
        code,
    })
}

/// The byte a key press types for the monitor's prompt (which reads text), if it types one.
pub fn text_byte(k: &KittyKey) -> Option<u8> {
    if k.event == Event::Release {
        return None;
    }
    match k.code {
        13 => Some(b'\r'),
        27 => Some(0x1B),
        127 => Some(0x7F),
        9 => Some(b'\t'),
        c if k.ctrl && (u32::from(b'a')..=u32::from(b'z')).contains(&c) => Some((c - 0x60) as u8),
        c @ 0x20..=0x7E => {
            let ch = char::from_u32(c)?;
            if !k.shift {
                return Some(c as u8);
            }
            // The shifted character of the same key on a US layout.
            (' '..='~')
                .find(|&s| keymap::key_for_char(s) == Some((keymap::named("Shift"), k.key)))
                .map(|s| s as u8)
                .or(Some(ch.to_ascii_uppercase() as u8))
        }
        _ => None,
    }
}

/// `bytes` with kitty's key events turned into the text they type (releases dropped), for a
/// reader of text (the monitor's prompt); other bytes pass as they are.
pub fn to_text(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i..].starts_with(b"\x1b[") {
            let end = bytes[i + 2..]
                .iter()
                .position(|b| (0x40..=0x7E).contains(b))
                .map(|p| i + 2 + p);
            if let Some(end) = end {
                if let Some(k) = parse(&bytes[i..=end], true) {
                    out.extend(text_byte(&k));
                    i = end + 1;
                    continue;
                }
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str) -> Key {
        keymap::named(name).unwrap()
    }

    #[test]
    fn test_shift_alone_pressed_and_released() {
        let press = parse(b"\x1b[57441;2u", false).unwrap();
        let release = parse(b"\x1b[57441;1:3u", false).unwrap();
        assert_eq!(
            (press.key, press.event, release.event),
            (key("Shift"), Event::Press, Event::Release)
        );
    }

    #[test]
    fn test_a_letter_with_ctrl_and_its_repeat() {
        let k = parse(b"\x1b[97;5:2u", true).unwrap();
        assert_eq!((k.code, k.ctrl, k.event), (97, true, Event::Repeat));
    }

    #[test]
    fn test_arrow_release_in_kitty_form() {
        let k = parse(b"\x1b[1;1:3A", false).unwrap();
        assert_eq!((k.key, k.event), (key("Up"), Event::Release));
    }

    #[test]
    fn test_legacy_ctrl_up_is_not_kitty_until_the_terminal_speaks_it() {
        assert_eq!(parse(b"\x1b[1;5A", false), None);
        assert_eq!(
            parse(b"\x1b[1;5A", true).map(|k| (k.key, k.ctrl)),
            Some((key("Up"), true))
        );
    }

    #[test]
    fn test_f5_and_delete_by_number() {
        assert_eq!(
            parse(b"\x1b[15;1:1~", false).map(|k| k.key),
            keymap::named("F5")
        );
        assert_eq!(
            parse(b"\x1b[3~", true).map(|k| k.key),
            keymap::named("Delete")
        );
    }

    #[test]
    fn test_text_bytes_for_the_prompt() {
        let shifted_one = parse(b"\x1b[49;2u", true).unwrap();
        let enter = parse(b"\x1b[13u", true).unwrap();
        let release = parse(b"\x1b[97;1:3u", true).unwrap();
        assert_eq!(
            (
                text_byte(&shifted_one),
                text_byte(&enter),
                text_byte(&release)
            ),
            (Some(b'!'), Some(b'\r'), None)
        );
    }

    #[test]
    fn test_to_text_keeps_plain_bytes_and_types_key_events() {
        assert_eq!(to_text(b"ab\x1b[99u\x1b[99;1:3u\x1b[13u"), b"abc\r");
    }
}
