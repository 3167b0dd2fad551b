//! Guest-physical memory, bounded: `memory-read` and `memory-write` (hex on the wire).

use serde_json::{json, Value};

use crate::args::Args;
use crate::caller::Caller;
use crate::protocol::CommandError;
use crate::session::Session;

/// The most bytes one request reads or writes.
pub const MAX_BYTES: u64 = 64 * 1024;

/// `bytes` as lowercase hex.
pub fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The bytes a hex string stands for (whitespace between digits is allowed).
pub fn from_hex(text: &str) -> Result<Vec<u8>, CommandError> {
    let digits: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if !digits.len().is_multiple_of(2) {
        return Err(CommandError::generic(
            "hex data has an odd number of digits",
        ));
    }
    digits
        .chunks(2)
        .map(|pair| {
            std::str::from_utf8(pair)
                .ok()
                .and_then(|p| u8::from_str_radix(p, 16).ok())
                .ok_or_else(|| {
                    CommandError::generic(format!(
                        "'{}' is not a hex byte",
                        String::from_utf8_lossy(pair)
                    ))
                })
        })
        .collect()
}

/// Refuses a range longer than [`MAX_BYTES`] or reaching past what the guest addresses.
fn check_range(s: &Session, address: u64, size: u64) -> Result<(), CommandError> {
    if size > MAX_BYTES {
        return Err(CommandError::generic(format!(
            "{size} bytes is more than one request moves ({MAX_BYTES}); split it"
        )));
    }
    let there = s.handle.memory().addressable(address, size);
    if there < size {
        return Err(CommandError::generic(format!(
            "only {there} of the {size} bytes from {address:#x} are guest memory"
        )));
    }
    Ok(())
}

pub(super) fn read(s: &Session, a: &Args<'_>, _: Caller) -> Result<Value, CommandError> {
    let address = a.integer("address")?;
    let size = a.integer("size")?;
    check_range(s, address, size)?;
    let mut bytes = vec![0; size as usize];
    let got = s.handle.memory().read(address, &mut bytes);
    bytes.truncate(got);
    Ok(json!({"address": address, "size": got, "data": to_hex(&bytes)}))
}

pub(super) fn write(s: &Session, a: &Args<'_>, _: Caller) -> Result<Value, CommandError> {
    let address = a.integer("address")?;
    let bytes = from_hex(a.string("data")?)?;
    check_range(s, address, bytes.len() as u64)?;
    let written = s.handle.memory().write(address, &bytes);
    Ok(json!({"address": address, "size": written}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_hex_round_trips() {
        assert_eq!(from_hex(&to_hex(&[0, 0xab, 0xff])), Ok(vec![0, 0xab, 0xff]));
    }

    #[test]
    fn test_from_hex_odd_digits_is_refused() {
        assert!(from_hex("abc").is_err());
    }

    #[test]
    fn test_from_hex_non_digit_is_refused() {
        assert_eq!(from_hex("zz").unwrap_err().desc, "'zz' is not a hex byte");
    }
}
