//! `--serial` and `--debugcon`: where each serial port and the debug console are connected
//! (QEMU's character-device backends). Opened before the guest starts (a bad path or a taken
//! port never costs a run); their threads (a pty's or a socket's input, a server accepting
//! clients) start once the machine is built.
//!
//! ```text
//! backend.rs  the spellings      pty.rs  a pseudo-terminal      link.rs  writes that never
//!                                                                        block; input pumps
//! ```

pub mod backend;
pub mod link;
pub mod pty;

use std::collections::HashMap;
use std::net::TcpListener;
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixListener;
use std::path::PathBuf;

use vmm_machine::board::{ConsoleKind, ConsoleOutput};
use vmm_machine::MachineHandle;

pub use backend::{Backend, Listen, COM_PORTS};
use link::{Conn, Link};

/// Which device a backend serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    /// The serial port at this first port.
    Serial(u16),
    /// The debug console.
    Debugcon,
}

impl Target {
    fn of(kind: ConsoleKind) -> Target {
        match kind {
            ConsoleKind::Serial(port) => Target::Serial(port),
            ConsoleKind::Debugcon => Target::Debugcon,
        }
    }

    fn label(self) -> String {
        match self {
            Target::Serial(port) => COM_PORTS
                .iter()
                .position(|(p, _)| *p == port)
                .map_or_else(|| format!("serial {port:#x}"), |i| format!("COM{}", i + 1)),
            Target::Debugcon => "debugcon".into(),
        }
    }
}

/// What is waiting to be started for one backend.
enum Pending {
    Nothing,
    Pty(OwnedFd),
    Client(OwnedFd),
    Server(Server, bool),
}

enum Server {
    Unix(UnixListener),
    Tcp(TcpListener),
}

/// Where each device's output goes, when not to the console: a link, or nowhere (`null`).
#[derive(Clone, Default)]
pub struct Routes(HashMap<Target, Option<Link>>);

impl Routes {
    /// The sink for a device's output, unless it is the console's (`stdio`).
    pub fn output(&self, kind: ConsoleKind) -> Option<ConsoleOutput> {
        match self.0.get(&Target::of(kind))? {
            Some(link) => Some(link.writer()),
            None => Some(Box::new(std::io::sink())),
        }
    }
}

/// The opened backends, by the device they serve; `stdio` ones are not here.
#[derive(Default)]
pub struct Chardevs {
    links: Routes,
    pending: Vec<(Target, Pending)>,
}

/// Why a backend could not be opened.
pub fn open_error(target: Target, what: &str, e: impl std::fmt::Display) -> String {
    format!("{} {what}: {e}", target.label())
}

impl Chardevs {
    /// Opens `backend` for `target`; prints where a pty or a server is.
    pub fn open(&mut self, target: Target, backend: &Backend) -> Result<(), String> {
        let link = Link::default();
        let pending = match backend {
            Backend::Stdio | Backend::None => return Ok(()),
            Backend::Null => {
                self.links.0.insert(target, None);
                return Ok(());
            }
            Backend::File(path) => {
                let file = std::fs::File::create(path)
                    .map_err(|e| open_error(target, &format!("file {}", path.display()), e))?;
                link.connect(Conn::file(file.into()));
                Pending::Nothing
            }
            Backend::Pty => {
                let (master, path) = pty::open().map_err(|e| open_error(target, "pty", e))?;
                let reader = master
                    .try_clone()
                    .map_err(|e| open_error(target, "pty", e))?;
                link.connect(Conn::file(master.into()));
                crate::errln!(
                    "picovmm: {} on {path} (a pty: `screen {path}` talks to the guest)",
                    target.label()
                );
                Pending::Pty(reader.into())
            }
            Backend::Unix(path, listen) => socket_unix(target, path, *listen, &link)?,
            Backend::Tcp(address, listen) => socket_tcp(target, address, *listen, &link)?,
        };
        self.links.0.insert(target, Some(link));
        self.pending.push((target, pending));
        Ok(())
    }

    /// Where the devices' output goes.
    pub fn routes(&self) -> Routes {
        self.links.clone()
    }

    /// Starts the input pumps and servers; waits for the first client of a server that says
    /// so (as QEMU's `server` without `nowait` does).
    pub fn start(&mut self, handle: &MachineHandle) -> std::io::Result<()> {
        for (target, pending) in self.pending.drain(..) {
            let Some(Some(link)) = self.links.0.get(&target).cloned() else {
                continue;
            };
            let port = match target {
                Target::Serial(port) => Some(port),
                Target::Debugcon => None,
            };
            start_one(target, pending, link, port, handle.clone())?;
        }
        Ok(())
    }
}

fn socket_unix(
    target: Target,
    path: &PathBuf,
    listen: Listen,
    link: &Link,
) -> Result<Pending, String> {
    let what = format!("unix:{}", path.display());
    if listen == Listen::Connect {
        let stream = std::os::unix::net::UnixStream::connect(path)
            .map_err(|e| open_error(target, &what, e))?;
        let reader = stream
            .try_clone()
            .map_err(|e| open_error(target, &what, e))?;
        link.connect(Conn::socket(stream.into()));
        return Ok(Pending::Client(reader.into()));
    }
    let listener =
        vmm_control::server::bind(path).map_err(|e| format!("{} {e}", target.label()))?;
    let wait = listen == Listen::ServerWait;
    crate::errln!(
        "picovmm: {} listening on {what}{}",
        target.label(),
        waiting(wait)
    );
    Ok(Pending::Server(Server::Unix(listener), wait))
}

fn socket_tcp(
    target: Target,
    address: &str,
    listen: Listen,
    link: &Link,
) -> Result<Pending, String> {
    let what = format!("tcp:{address}");
    if listen == Listen::Connect {
        let stream =
            std::net::TcpStream::connect(address).map_err(|e| open_error(target, &what, e))?;
        let reader = stream
            .try_clone()
            .map_err(|e| open_error(target, &what, e))?;
        link.connect(Conn::socket(stream.into()));
        return Ok(Pending::Client(reader.into()));
    }
    let listener = TcpListener::bind(address).map_err(|e| open_error(target, &what, e))?;
    let bound = listener
        .local_addr()
        .map_or_else(|_| address.to_owned(), |a| a.to_string());
    let wait = listen == Listen::ServerWait;
    crate::errln!(
        "picovmm: {} listening on tcp:{bound}{}",
        target.label(),
        waiting(wait)
    );
    Ok(Pending::Server(Server::Tcp(listener), wait))
}

fn waiting(wait: bool) -> &'static str {
    if wait {
        "; the guest starts when a client connects"
    } else {
        ""
    }
}

fn start_one(
    target: Target,
    pending: Pending,
    link: Link,
    port: Option<u16>,
    handle: MachineHandle,
) -> std::io::Result<()> {
    let name = format!("chardev-{}", target.label());
    match pending {
        Pending::Nothing => Ok(()),
        Pending::Pty(fd) | Pending::Client(fd) => {
            let pty = matches!(target, Target::Serial(_)) && is_tty(&fd);
            let Some(port) = port else { return Ok(()) };
            std::thread::Builder::new()
                .name(name)
                .spawn(move || link::pump(&fd, port, &handle, pty))
                .map(drop)
        }
        Pending::Server(server, wait) => {
            // A client the guest waited for is connected before the guest prints a byte.
            let first = if wait {
                let (writer, reader) = accept(&server)?;
                link.connect(Conn::socket(writer));
                Some(reader)
            } else {
                None
            };
            std::thread::Builder::new().name(name).spawn(move || {
                if let Some(reader) = first {
                    serve_connected(&reader, &link, port, &handle);
                }
                while let Ok((writer, reader)) = accept(&server) {
                    link.connect(Conn::socket(writer));
                    serve_connected(&reader, &link, port, &handle);
                }
            })?;
            Ok(())
        }
    }
}

/// The next client of `server`: its descriptor for writing, and one for reading.
fn accept(server: &Server) -> std::io::Result<(OwnedFd, OwnedFd)> {
    match server {
        Server::Unix(l) => {
            let (stream, _) = l.accept()?;
            let reader = stream.try_clone()?;
            Ok((stream.into(), reader.into()))
        }
        Server::Tcp(l) => {
            let (stream, _) = l.accept()?;
            let reader = stream.try_clone()?;
            Ok((stream.into(), reader.into()))
        }
    }
}

/// One connected client, until it hangs up.
fn serve_connected(reader: &OwnedFd, link: &Link, port: Option<u16>, handle: &MachineHandle) {
    match port {
        Some(port) => link::pump(reader, port, handle, false),
        // The debug console has no input: the client is served until its hang-up is seen.
        None => drain(reader),
    }
    link.disconnect();
}

/// Reads and drops what a debug console's client sends, until it hangs up.
fn drain(fd: &OwnedFd) {
    use std::os::fd::AsRawFd;
    let mut buf = [0u8; 256];
    loop {
        // SAFETY: `buf` is valid for its length; the descriptor is open while `fd` is.
        let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        let interrupted = std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR);
        if n == 0 || (n < 0 && !interrupted) {
            return;
        }
    }
}

fn is_tty(fd: &OwnedFd) -> bool {
    use std::os::fd::AsRawFd;
    // SAFETY: isatty has no preconditions.
    unsafe { libc::isatty(fd.as_raw_fd()) == 1 }
}
