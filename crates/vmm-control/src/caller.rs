//! Who sent a request, for the commands that answer a connection rather than the machine.

/// Who sent a request: the client's id on the event bus (for `subscribe`), if it has one.
#[derive(Clone, Copy, Debug, Default)]
pub struct Caller {
    /// The client's id on the session's event bus.
    pub client: Option<u64>,
}
