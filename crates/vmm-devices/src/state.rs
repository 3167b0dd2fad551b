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
