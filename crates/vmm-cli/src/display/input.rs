//! Keys typed in the live view: terminal bytes (characters, control characters, escape
//! sequences for arrows, Home, End, function keys and their Ctrl/Alt/Shift forms) turned into
//! PC key presses and releases, and the display's own commands after Ctrl-a (QEMU's escape
//! key): `x` leaves, `s` saves a screenshot, `c` opens the monitor's prompt, `h` lists these,
//! `1`, `2`, `3` hold or let go Shift, Ctrl, Alt, Ctrl-a sends Ctrl-a to the guest. A terminal
//! that speaks the kitty keyboard protocol sends each key's press and release (`kitty.rs`).

use vmm_devices::keymap::{self, Key, KeyEvent};

use super::kitty::{self, Event, KittyKey};

/// What typed bytes ask for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Key events for the guest's keyboard.
    Keys(Vec<KeyEvent>),
    /// Leave: end the run.
    Quit,
    /// Save a screenshot.
    Screenshot,
    /// Open the monitor's prompt; the bytes typed after Ctrl-a c in the same read go to it.
    Monitor(Vec<u8>),
    /// List the Ctrl-a keys.
    Help,
    /// Hold this modifier down, or let it go if held (for terminals that send no key for a
    /// modifier alone).
    Toggle(Key),
    /// The terminal's mouse (SGR 1006 reports): where it is, in cells from 1, and its buttons.
    Mouse(MouseReport),
}

/// One SGR mouse report: `CSI < b ; x ; y M` (pressed or moved) or `m` (released).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MouseReport {
    /// Column, from 1.
    pub x: u16,
    /// Row, from 1.
    pub y: u16,
    /// The button the report is about: 0 left, 1 middle, 2 right (3: none, a plain move).
    pub button: u8,
    /// A release (`m`) rather than a press or a move.
    pub release: bool,
    /// A move (with the button held, or none), not a press.
    pub motion: bool,
}

/// An SGR mouse report, when `seq` (a complete escape sequence) is one; wheel events are none.
fn mouse_report(seq: &[u8]) -> Option<MouseReport> {
    let body = seq.strip_prefix(b"\x1b[<")?;
    let (&last, params) = body.split_last()?;
    if last != b'M' && last != b'm' {
        return None;
    }
    let mut numbers = std::str::from_utf8(params)
        .ok()?
        .split(';')
        .map(|n| n.parse::<u16>().ok());
    let (b, x, y) = (numbers.next()??, numbers.next()??, numbers.next()??);
    if b & 64 != 0 {
        return None;
    }
    Some(MouseReport {
        x,
        y,
        button: (b & 3) as u8,
        release: last == b'm',
        motion: b & 32 != 0,
    })
}

/// The command prefix: Ctrl-a.
pub const PREFIX: u8 = 0x01;

/// Turns terminal input into actions, keeping what a read cut in half.
#[derive(Debug, Default)]
pub struct InputParser {
    /// Ctrl-a was typed; the next byte is a command.
    prefix: bool,
    /// An escape sequence in progress.
    pending: Vec<u8>,
    /// The terminal speaks the kitty keyboard protocol (it sent a key in its form).
    kitty: bool,
    /// Keys pressed (in kitty's form) and not yet released: a release of any other key (the
    /// command key after Ctrl-a) is not the guest's.
    down: Vec<Key>,
}

/// What a command key after Ctrl-a asks for; `None` for a key that is no command.
fn command(b: u8, keys: &mut Vec<KeyEvent>) -> Option<Action> {
    let modifier = |name| keymap::named(name).map(Action::Toggle);
    match b {
        b'h' | b'H' | b'?' => Some(Action::Help),
        b'x' | b'X' => Some(Action::Quit),
        b's' | b'S' => Some(Action::Screenshot),
        b'1' => modifier("Shift"),
        b'2' => modifier("Ctrl"),
        b'3' => modifier("Alt"),
        PREFIX => {
            type_char(0x01, keys);
            None
        }
        _ => None,
    }
}

impl InputParser {
    /// The actions `bytes` (one read from the terminal) ask for. An ESC that ends a read is
    /// the Esc key: terminals send a sequence in one write.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<Action> {
        let mut actions = Vec::new();
        let mut keys = Vec::new();
        let flush = |keys: &mut Vec<KeyEvent>, actions: &mut Vec<Action>| {
            if !keys.is_empty() {
                actions.push(Action::Keys(std::mem::take(keys)));
            }
        };
        for (i, &b) in bytes.iter().enumerate() {
            if !self.pending.is_empty() {
                self.pending.push(b);
                if let Some(done) = sequence(&self.pending) {
                    let seq = std::mem::take(&mut self.pending);
                    if let Some(report) = mouse_report(&seq) {
                        flush(&mut keys, &mut actions);
                        actions.push(Action::Mouse(report));
                    } else if let Some(k) = kitty::parse(&seq, self.kitty) {
                        self.kitty = true;
                        let cmd = self.kitty_key(k, &mut keys);
                        if let Some(b) = cmd {
                            if b == b'c' || b == b'C' {
                                flush(&mut keys, &mut actions);
                                actions.push(Action::Monitor(bytes[i + 1..].to_vec()));
                                return actions;
                            }
                            if let Some(action) = command(b, &mut keys) {
                                flush(&mut keys, &mut actions);
                                actions.push(action);
                            }
                        }
                    } else if let Some((modifiers, key)) = done {
                        stroke(&modifiers, key, &mut keys);
                    }
                }
                continue;
            }
            if self.prefix {
                self.prefix = false;
                if b == b'c' || b == b'C' {
                    flush(&mut keys, &mut actions);
                    actions.push(Action::Monitor(bytes[i + 1..].to_vec()));
                    return actions;
                }
                if b == 0x1B {
                    // A kitty key event as the command key: read the sequence first.
                    self.prefix = true;
                    self.pending.push(b);
                    continue;
                }
                if let Some(action) = command(b, &mut keys) {
                    flush(&mut keys, &mut actions);
                    actions.push(action);
                }
                continue;
            }
            match b {
                PREFIX => self.prefix = true,
                0x1B => self.pending.push(b),
                _ => type_char(b, &mut keys),
            }
        }
        if self.pending == [0x1B] {
            self.pending.clear();
            if let Some(esc) = keymap::named("Esc") {
                stroke(&[], esc, &mut keys);
            }
        }
        flush(&mut keys, &mut actions);
        actions
    }

    /// A key in kitty's form: into the guest's keys, or the command byte after Ctrl-a.
    fn kitty_key(&mut self, k: KittyKey, keys: &mut Vec<KeyEvent>) -> Option<u8> {
        // After Ctrl-a the next press is the command; a release is still the guest's when its
        // press was (Ctrl's own, let go after the `a`).
        if self.prefix && k.event != Event::Release {
            self.prefix = false;
            return kitty::text_byte(&k);
        }
        if k.ctrl && k.code == u32::from(b'a') && k.event == Event::Press {
            self.prefix = true;
            return None;
        }
        match k.event {
            Event::Press | Event::Repeat => {
                if !self.down.contains(&k.key) {
                    self.down.push(k.key);
                }
                keys.push(KeyEvent {
                    key: k.key,
                    release: false,
                });
            }
            Event::Release => {
                if let Some(at) = self.down.iter().position(|d| *d == k.key) {
                    self.down.remove(at);
                    keys.push(KeyEvent {
                        key: k.key,
                        release: true,
                    });
                }
            }
        }
        None
    }

    /// Whether the terminal speaks the kitty keyboard protocol.
    pub fn kitty(&self) -> bool {
        self.kitty
    }
}

/// A byte typed as itself: characters with Shift where needed, CR as Enter, control
/// characters as Ctrl+letter, DEL as Backspace. Bytes no key types (non-ASCII) are dropped.
fn type_char(b: u8, keys: &mut Vec<KeyEvent>) {
    if let Some((modifier, key)) = keymap::key_for_char(char::from(b)) {
        let modifiers: Vec<Key> = modifier.into_iter().collect();
        stroke(&modifiers, key, keys);
    }
}

/// Presses the modifiers, the key, and releases them in reverse.
fn stroke(modifiers: &[Key], key: Key, keys: &mut Vec<KeyEvent>) {
    let ev = |key, release| KeyEvent { key, release };
    keys.extend(modifiers.iter().map(|&m| ev(m, false)));
    keys.push(ev(key, false));
    keys.push(ev(key, true));
    keys.extend(modifiers.iter().rev().map(|&m| ev(m, true)));
}

/// An escape sequence so far: `None` while incomplete, `Some(None)` when complete and meaning
/// nothing picovmm knows, `Some(Some((modifiers, key)))` for a key.
#[allow(clippy::type_complexity)]
fn sequence(seq: &[u8]) -> Option<Option<(Vec<Key>, Key)>> {
    let named = |n: &str| keymap::named(n);
    match seq {
        [0x1B] => None,
        // Alt + a character.
        [0x1B, c] if *c != b'[' && *c != b'O' => {
            let alt = named("Alt")?;
            let (m, key) = keymap::key_for_char(char::from(*c))?;
            let mut mods = vec![alt];
            mods.extend(m);
            Some(Some((mods, key)))
        }
        [0x1B, b'O'] | [0x1B, b'['] => None,
        [0x1B, b'O', f] => Some(
            match f {
                b'P' => named("F1"),
                b'Q' => named("F2"),
                b'R' => named("F3"),
                b'S' => named("F4"),
                b'A' => named("Up"),
                b'B' => named("Down"),
                b'C' => named("Right"),
                b'D' => named("Left"),
                b'H' => named("Home"),
                b'F' => named("End"),
                _ => None,
            }
            .map(|k| (Vec::new(), k)),
        ),
        [0x1B, b'[', rest @ ..] => {
            let last = *rest.last()?;
            if rest.len() > 16 {
                return Some(None);
            }
            if !(0x40..=0x7E).contains(&last) {
                return None;
            }
            let params: Vec<u32> = std::str::from_utf8(&rest[..rest.len() - 1])
                .ok()?
                .split(';')
                .map(|p| p.parse().unwrap_or(0))
                .collect();
            let key = match (last, params.first().copied().unwrap_or(0)) {
                (b'A', _) => named("Up"),
                (b'B', _) => named("Down"),
                (b'C', _) => named("Right"),
                (b'D', _) => named("Left"),
                (b'H', _) | (b'~', 1) | (b'~', 7) => named("Home"),
                (b'F', _) | (b'~', 4) | (b'~', 8) => named("End"),
                (b'~', 2) => named("Insert"),
                (b'~', 3) => named("Delete"),
                (b'~', 5) => named("PageUp"),
                (b'~', 6) => named("PageDown"),
                (b'~', n @ 11..=15) => named(&format!("F{}", n - 10)),
                (b'~', n @ 17..=21) => named(&format!("F{}", n - 11)),
                (b'~', n @ 23..=24) => named(&format!("F{}", n - 12)),
                (b'P', _) => named("F1"),
                (b'Q', _) => named("F2"),
                (b'R', _) => named("F3"),
                (b'S', _) => named("F4"),
                (b'Z', _) => {
                    // Shift-Tab.
                    return Some(named("Tab").and_then(|t| Some((vec![named("Shift")?], t))));
                }
                _ => None,
            };
            // xterm's modifier parameter: 1 + (Shift 1 | Alt 2 | Ctrl 4).
            let bits = params.get(1).copied().unwrap_or(1).saturating_sub(1);
            let mods: Vec<Key> = [(1, "Shift"), (2, "Alt"), (4, "Ctrl")]
                .iter()
                .filter(|(bit, _)| bits & bit != 0)
                .filter_map(|(_, n)| named(n))
                .collect();
            Some(key.map(|k| (mods, k)))
        }
        _ => Some(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(actions: &[Action]) -> Vec<(u8, bool, bool)> {
        actions
            .iter()
            .flat_map(|a| match a {
                Action::Keys(k) => k.clone(),
                _ => Vec::new(),
            })
            .map(|e| (e.key.set1, e.key.extended, e.release))
            .collect()
    }

    #[test]
    fn test_characters_and_shift() {
        let mut p = InputParser::default();
        let a = p.feed(b"aB");
        assert_eq!(
            keys(&a),
            [
                (0x1E, false, false),
                (0x1E, false, true),
                (0x2A, false, false),
                (0x30, false, false),
                (0x30, false, true),
                (0x2A, false, true)
            ]
        );
    }

    #[test]
    fn test_arrows_function_keys_and_modified_keys() {
        let mut p = InputParser::default();
        assert_eq!(
            keys(&p.feed(b"\x1b[A")),
            [(0x48, true, false), (0x48, true, true)]
        );
        assert_eq!(
            keys(&p.feed(b"\x1bOP")),
            [(0x3B, false, false), (0x3B, false, true)]
        );
        assert_eq!(
            keys(&p.feed(b"\x1b[15~")),
            [(0x3F, false, false), (0x3F, false, true)]
        );
        // Ctrl+Right: Ctrl down, Right, Ctrl up.
        assert_eq!(
            keys(&p.feed(b"\x1b[1;5C")),
            [
                (0x1D, false, false),
                (0x4D, true, false),
                (0x4D, true, true),
                (0x1D, false, true)
            ]
        );
    }

    #[test]
    fn test_a_sequence_split_across_reads() {
        let mut p = InputParser::default();
        assert!(p.feed(b"\x1b[").is_empty());
        assert_eq!(
            keys(&p.feed(b"B")),
            [(0x50, true, false), (0x50, true, true)]
        );
    }

    #[test]
    fn test_lone_escape_is_the_esc_key_and_ctrl_c_goes_to_the_guest() {
        let mut p = InputParser::default();
        assert_eq!(
            keys(&p.feed(b"\x1b")),
            [(0x01, false, false), (0x01, false, true)]
        );
        assert_eq!(
            keys(&p.feed(b"\x03")),
            [
                (0x1D, false, false),
                (0x2E, false, false),
                (0x2E, false, true),
                (0x1D, false, true)
            ]
        );
    }

    #[test]
    fn test_ctrl_a_commands() {
        let mut p = InputParser::default();
        assert_eq!(p.feed(b"\x01x"), [Action::Quit]);
        assert_eq!(p.feed(b"\x01s"), [Action::Screenshot]);
        let twice = p.feed(b"\x01\x01");
        assert_eq!(keys(&twice).len(), 4, "Ctrl-a Ctrl-a types Ctrl-a");
        assert_eq!(
            p.feed(b"q\x01"),
            [Action::Keys(keymap::type_text("q").unwrap_or_default())]
        );
        assert_eq!(p.feed(b"x"), [Action::Quit]);
    }

    #[test]
    fn test_ctrl_a_c_opens_the_monitor_with_the_rest_of_the_read() {
        let mut p = InputParser::default();
        assert_eq!(
            p.feed(b"\x01cpause\r"),
            [Action::Monitor(b"pause\r".to_vec())]
        );
    }

    #[test]
    fn test_ctrl_a_h_lists_the_keys() {
        let mut p = InputParser::default();
        assert_eq!(p.feed(b"\x01h"), [Action::Help]);
    }

    #[test]
    fn test_kitty_shift_alone_is_held_until_its_release() {
        let mut p = InputParser::default();
        let held = p.feed(b"\x1b[57441;2u\x1b[97;2u\x1b[97;2:3u");
        let let_go = p.feed(b"\x1b[57441;1:3u");
        assert_eq!(
            (keys(&held), keys(&let_go)),
            (
                vec![
                    (0x2A, false, false),
                    (0x1E, false, false),
                    (0x1E, false, true)
                ],
                vec![(0x2A, false, true)]
            )
        );
    }

    #[test]
    fn test_kitty_ctrl_a_then_x_leaves_and_forwards_only_ctrl() {
        let mut p = InputParser::default();
        let a = p.feed(b"\x1b[57442;5u\x1b[97;5u\x1b[97;5:3u\x1b[57442;1:3u\x1b[120u");
        assert_eq!(a.last(), Some(&Action::Quit));
        assert_eq!(keys(&a), vec![(0x1D, false, false), (0x1D, false, true)]);
    }

    #[test]
    fn test_ctrl_a_digits_hold_modifiers() {
        let mut p = InputParser::default();
        assert_eq!(p.feed(b"\x01" as &[u8]), []);
        assert_eq!(
            p.feed(b"1"),
            [Action::Toggle(keymap::named("Shift").unwrap())]
        );
        assert_eq!(
            p.feed(b"\x013"),
            [Action::Toggle(keymap::named("Alt").unwrap())]
        );
    }

    #[test]
    fn test_sgr_mouse_press_move_and_release() {
        let mut p = InputParser::default();
        let a = p.feed(b"\x1b[<0;10;5M\x1b[<32;12;5M\x1b[<0;12;5m");
        let report = |x, button, release, motion| {
            Action::Mouse(MouseReport {
                x,
                y: 5,
                button,
                release,
                motion,
            })
        };
        assert_eq!(
            a,
            [
                report(10, 0, false, false),
                report(12, 0, false, true),
                report(12, 0, true, false)
            ]
        );
    }

    #[test]
    fn test_sgr_wheel_is_no_mouse_report() {
        let mut p = InputParser::default();
        assert_eq!(p.feed(b"\x1b[<64;1;1M"), []);
    }
}
