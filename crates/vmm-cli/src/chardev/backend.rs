//! Where a serial port or the debug console is connected, in QEMU's `-serial` spellings:
//! `stdio`, `null`, `none`, `file:PATH`, `pty`, `unix:PATH[,server[,nowait]]`,
//! `tcp:HOST:PORT[,server[,nowait]]`.

use std::path::PathBuf;

/// One backend, as the command line names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Backend {
    /// picovmm's stdout (and stdin, for the first such serial port): the default.
    Stdio,
    /// The device is there; what it sends is dropped, nothing comes in.
    Null,
    /// No device at all (QEMU's `none`).
    None,
    /// What it sends is written to a file (created, or truncated).
    File(PathBuf),
    /// A pseudo-terminal, its path printed: `screen /dev/pts/N` talks to the guest.
    Pty,
    /// A Unix socket: connect to it, or (`server`) listen on it.
    Unix(PathBuf, Listen),
    /// A TCP socket: connect to HOST:PORT, or (`server`) listen there.
    Tcp(String, Listen),
}

/// For a socket: connect, or listen (and whether the guest waits for the first client).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Listen {
    /// Connect to a listener that is there now.
    Connect,
    /// Listen; the guest starts once the first client connects (QEMU's default `wait=on`).
    ServerWait,
    /// Listen; the guest starts at once, and its output is dropped while nobody is connected.
    ServerNoWait,
}

impl Backend {
    /// The same backend with a relative file or socket path made absolute against `folder`.
    pub fn absolute(&self, folder: &std::path::Path) -> Backend {
        match self {
            Backend::File(p) => Backend::File(folder.join(p)),
            Backend::Unix(p, l) => Backend::Unix(folder.join(p), *l),
            other => other.clone(),
        }
    }
}

const ALLOWED: &str = "stdio, null, none, file:PATH, pty, unix:PATH[,server[,nowait]], tcp:HOST:PORT[,server[,nowait]]";

/// Parses a backend.
pub fn parse(text: &str) -> Result<Backend, String> {
    match text {
        "stdio" => return Ok(Backend::Stdio),
        "null" => return Ok(Backend::Null),
        "none" => return Ok(Backend::None),
        "pty" => return Ok(Backend::Pty),
        _ => {}
    }
    if let Some(path) = text.strip_prefix("file:") {
        if path.is_empty() {
            return Err("file: needs a path: file:PATH".into());
        }
        return Ok(Backend::File(PathBuf::from(path)));
    }
    let (kind, rest) = text
        .split_once(':')
        .ok_or_else(|| format!("unknown backend {text:?}; backends: {ALLOWED}"))?;
    let mut parts = rest.split(',');
    let address = parts.next().unwrap_or_default();
    let mut listen = Listen::Connect;
    for option in parts {
        listen = match (option, listen) {
            ("server" | "server=on", Listen::Connect) => Listen::ServerWait,
            ("nowait" | "wait=off", Listen::ServerWait) => Listen::ServerNoWait,
            ("wait" | "wait=on", Listen::ServerWait) => Listen::ServerWait,
            _ => {
                return Err(format!(
                    "{text:?}: {option:?} is not an option here (server, then nowait)"
                ))
            }
        };
    }
    match kind {
        "unix" if !address.is_empty() => Ok(Backend::Unix(PathBuf::from(address), listen)),
        "tcp"
            if address
                .rsplit_once(':')
                .is_some_and(|(_, p)| p.parse::<u16>().is_ok()) =>
        {
            let address = match address.strip_prefix(':') {
                Some(port) => format!("127.0.0.1:{port}"),
                None => address.to_owned(),
            };
            Ok(Backend::Tcp(address, listen))
        }
        "unix" => Err("unix: needs a path: unix:PATH".into()),
        "tcp" => Err(format!("{text:?}: tcp: needs HOST:PORT")),
        _ => Err(format!("unknown backend {text:?}; backends: {ALLOWED}")),
    }
}

/// The standard ISA serial ports, COM1 to COM4: first port and interrupt line.
pub const COM_PORTS: [(u16, u8); 4] = [(0x3F8, 4), (0x2F8, 3), (0x3E8, 4), (0x2E8, 3)];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_parse_unix_server_nowait() {
        assert_eq!(
            parse("unix:/tmp/s,server,nowait"),
            Ok(Backend::Unix(PathBuf::from("/tmp/s"), Listen::ServerNoWait))
        );
    }

    #[test]
    fn test_parse_tcp_without_host_is_localhost() {
        assert_eq!(
            parse("tcp::4555,server"),
            Ok(Backend::Tcp("127.0.0.1:4555".into(), Listen::ServerWait))
        );
    }

    #[test]
    fn test_parse_unknown_backend_lists_the_others() {
        assert!(parse("serial0")
            .unwrap_err()
            .contains("backends: stdio, null"));
    }

    #[test]
    fn test_parse_nowait_without_server_is_refused() {
        assert!(parse("unix:/tmp/s,nowait").is_err());
    }
}
