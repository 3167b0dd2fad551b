//! A backend's connection: what the guest sends is written to it without ever blocking the
//! vCPU (a reader that does not keep up, or nobody at all, costs the guest nothing but the
//! bytes), and what arrives from it is handed to the serial port as the guest makes room.

use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use vmm_machine::MachineHandle;

/// How long a pump waits for the guest to drain a full receive FIFO.
const FIFO_FULL_WAIT: Duration = Duration::from_millis(1);
/// How long a read waits before looking again whether the run goes on.
const POLL_MS: i32 = 200;

/// What a backend is connected to now (nothing, while a server has no client).
#[derive(Clone, Default)]
pub struct Link(Arc<Mutex<Option<Conn>>>);

/// An open descriptor and how to write to it.
pub struct Conn {
    fd: OwnedFd,
    socket: bool,
}

impl Conn {
    /// A file, a pty master or a pipe (written with `write`).
    pub fn file(fd: OwnedFd) -> Conn {
        Conn { fd, socket: false }
    }

    /// A connected socket (written with `send`, never raising SIGPIPE).
    pub fn socket(fd: OwnedFd) -> Conn {
        Conn { fd, socket: true }
    }

    /// Writes what it takes now; `false` when the other side is gone for good.
    fn send(&self, bytes: &[u8]) -> bool {
        let fd = self.fd.as_raw_fd();
        let mut rest = bytes;
        while !rest.is_empty() {
            let n = if self.socket {
                // SAFETY: `rest` is valid for its length; the descriptor is open while `self` is.
                unsafe {
                    libc::send(
                        fd,
                        rest.as_ptr().cast(),
                        rest.len(),
                        libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
                    )
                }
            } else {
                // SAFETY: as above, with write(2).
                unsafe { libc::write(fd, rest.as_ptr().cast(), rest.len()) }
            };
            if n < 0 {
                let e = std::io::Error::last_os_error();
                return match e.raw_os_error() {
                    // Nobody reading fast enough, or no terminal on a pty yet: drop the rest.
                    Some(libc::EAGAIN | libc::EIO) => true,
                    Some(libc::EINTR) => continue,
                    _ => false,
                };
            }
            rest = &rest[n as usize..];
        }
        true
    }
}

impl Link {
    /// Connects the backend to `conn` (replacing what it was connected to).
    pub fn connect(&self, conn: Conn) {
        *vmm_machine::sync::lock(&self.0) = Some(conn);
    }

    /// Disconnects it.
    pub fn disconnect(&self) {
        *vmm_machine::sync::lock(&self.0) = None;
    }

    /// The guest's output, as a console sink.
    pub fn writer(&self) -> Box<dyn Write + Send> {
        Box::new(LinkWriter(self.clone()))
    }
}

struct LinkWriter(Link);

impl Write for LinkWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut conn = vmm_machine::sync::lock(&(self.0).0);
        if conn.as_ref().is_some_and(|c| !c.send(buf)) {
            *conn = None;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Reads `fd` until it ends (a socket's peer hangs up) or `done` says the run is over, handing
/// every byte to the serial port at `port`. A pty without a terminal on it is waited on.
pub fn pump(fd: &OwnedFd, port: u16, handle: &MachineHandle, pty: bool) {
    let mut buf = [0u8; 256];
    loop {
        let mut poll = libc::pollfd {
            fd: fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one pollfd, valid for the call.
        let ready = unsafe { libc::poll(&mut poll, 1, POLL_MS) };
        if ready <= 0 || handle.control().reason().is_some() {
            continue;
        }
        // SAFETY: `buf` is valid for its length; the descriptor is open while `fd` is.
        let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        match n {
            0 if !pty => return,
            n if n > 0 => vmm_machine::handover::hand_over(
                &buf[..n as usize],
                FIFO_FULL_WAIT,
                |rest| handle.serial_in_at(port, rest),
                || {},
            ),
            _ => {
                let e = std::io::Error::last_os_error().raw_os_error();
                match e {
                    Some(libc::EAGAIN | libc::EINTR) => {}
                    // A pty whose terminal closed: wait for the next one.
                    _ if pty => std::thread::sleep(Duration::from_millis(100)),
                    _ => return,
                }
            }
        }
    }
}
