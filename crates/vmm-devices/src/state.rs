//! Device state as data: what a snapshot saves and a restore puts back (vm-superio's
//! `state()` / `from_state()` shape). A device's state is a plain struct with serde derives;
//! the device keeps its host resources (output sinks, callbacks) across a restore.

use serde::de::DeserializeOwned;
use serde::Serialize;

/// Why a state cannot be restored.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    /// The state breaks one of the device's invariants.
    #[error("invalid device state: {0}")]
    Invalid(&'static str),
    /// The device cannot save or restore its state.
    #[error("{0} cannot save or restore its state")]
    Unsupported(String),
}

/// A device whose state can be saved and restored.
pub trait Stateful {
    /// The device's state as plain data.
    type State: Serialize + DeserializeOwned;

    /// The state now.
    fn save(&self) -> Self::State;

    /// Replaces the state; on error the device is unchanged.
    fn restore(&mut self, state: Self::State) -> Result<(), StateError>;
}

/// Bytes as a hex string in serialized state (`#[serde(with = "hex_bytes")]`).
pub mod hex_bytes {
    use serde::{de, Deserialize, Deserializer, Serializer};

    /// Writes `bytes` as lower-case hex.
    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut text = String::with_capacity(bytes.len() * 2);
        for &b in bytes {
            text.push(char::from(DIGITS[usize::from(b >> 4)]));
            text.push(char::from(DIGITS[usize::from(b & 15)]));
        }
        s.serialize_str(&text)
    }

    /// Reads hex written by [`serialize`].
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        let digit = |c: u8| match c {
            b'0'..=b'9' => Ok(c - b'0'),
            b'a'..=b'f' => Ok(c - b'a' + 10),
            _ => Err(de::Error::custom("not a hex digit")),
        };
        if text.len() % 2 != 0 {
            return Err(de::Error::custom("odd number of hex digits"));
        }
        text.as_bytes()
            .chunks_exact(2)
            .map(|p| Ok((digit(p[0])? << 4) | digit(p[1])?))
            .collect()
    }
}
