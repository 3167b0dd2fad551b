//! The control socket: a Unix socket, mode 0600, one JSON object per line (see
//! [`protocol`](crate::protocol)). Each client has a reader thread (requests, answered in
//! order) and a writer thread (replies and events through a bounded queue), so a client that
//! stops reading stalls only itself, never the guest nor another client.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::commands::{execute, Caller};
use crate::protocol::{self, CommandError, Request, MAX_LINE};
use crate::session::{Ended, Session};
use crate::watch::ScreenWatch;

/// The most clients connected at once.
pub const MAX_CLIENTS: usize = 16;
/// Lines queued for a client that is not reading before events for it are dropped.
const QUEUE: usize = 1024;
/// How long the end of a run waits for clients to read their last lines.
const DRAIN: Duration = Duration::from_secs(2);

/// Why the socket could not be made.
#[derive(Debug, thiserror::Error)]
pub enum BindError {
    /// Something other than a socket is at the path: it is the user's, and stays.
    #[error("{0}: exists and is not a socket; give another path")]
    NotASocket(PathBuf),
    /// Another process listens there.
    #[error("{0}: another process is listening on this socket")]
    InUse(PathBuf),
    /// Creating the socket failed.
    #[error("{path}: {source}")]
    Io {
        /// The socket's path.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
}

/// Creates the socket at `path`, readable and writable by its owner only. A stale socket (no
/// one listening) is replaced; anything else at the path is refused.
pub fn bind(path: &Path) -> Result<UnixListener, BindError> {
    let io = |source| BindError::Io {
        path: path.to_path_buf(),
        source,
    };
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => {
            if UnixStream::connect(path).is_ok() {
                return Err(BindError::InUse(path.to_path_buf()));
            }
            std::fs::remove_file(path).map_err(io)?;
        }
        Ok(_) => return Err(BindError::NotASocket(path.to_path_buf())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(e)),
    }
    // SAFETY: umask only swaps the process's file mode mask; it cannot fail. The socket is
    // created 0600 with it, and set 0600 again below in case another thread raced the mask.
    let old = unsafe { libc::umask(0o177) };
    let bound = UnixListener::bind(path);
    // SAFETY: as above, putting the mask back.
    unsafe { libc::umask(old) };
    let listener = bound.map_err(io)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(io)?;
    Ok(listener)
}

/// A connected client, as the server keeps it to close it at the end.
struct Connection {
    stream: UnixStream,
    writer: JoinHandle<()>,
}

/// The running server; [`Server::finish`] ends it when the run ends.
pub struct Server {
    path: PathBuf,
    session: Arc<Session>,
    closing: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
    connections: Arc<Mutex<Vec<Connection>>>,
    _watch: Option<ScreenWatch>,
}

impl Server {
    /// Serves `session` on `listener` (bound at `path`) until [`Server::finish`].
    pub fn start(
        listener: UnixListener,
        path: &Path,
        session: Arc<Session>,
    ) -> std::io::Result<Server> {
        let watch = match session.handle.capture() {
            Some(_) => Some(ScreenWatch::start(
                session.handle.clone(),
                session.events.clone(),
            )?),
            None => None,
        };
        let closing = Arc::new(AtomicBool::new(false));
        let connections = Arc::new(Mutex::new(Vec::new()));
        let accept = {
            let (session, closing, connections) =
                (session.clone(), closing.clone(), connections.clone());
            std::thread::Builder::new()
                .name("control".into())
                .spawn(move || accept_loop(&listener, &session, &closing, &connections))?
        };
        Ok(Server {
            path: path.to_path_buf(),
            session,
            closing,
            accept: Some(accept),
            connections,
            _watch: watch,
        })
    }

    /// The session the server serves.
    pub fn session(&self) -> &Arc<Session> {
        &self.session
    }

    /// The run ended: `SHUTDOWN` goes to every client, waiting commands (`quit`) get their
    /// replies, clients get up to [`DRAIN`] to read them, and the socket is removed.
    pub fn finish(mut self, ended: Ended) {
        // The event first: a client that asked to quit reads SHUTDOWN, then quit's reply.
        self.session.events.emit(
            "SHUTDOWN",
            json!({"guest": true, "reason": ended.outcome, "description": ended.description, "status": ended.status}),
        );
        self.session.end.finish(ended);
        self.close();
    }

    fn close(&mut self) {
        self.closing.store(true, Ordering::SeqCst);
        // Wakes the accept loop, which sees `closing` and ends.
        let _ = UnixStream::connect(&self.path);
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
        let connections = std::mem::take(&mut *vmm_machine::sync::lock(&self.connections));
        for c in &connections {
            let _ = c.stream.shutdown(std::net::Shutdown::Read);
        }
        let deadline = Instant::now() + DRAIN;
        while connections.iter().any(|c| !c.writer.is_finished()) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        for c in &connections {
            let _ = c.stream.shutdown(std::net::Shutdown::Both);
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.accept.is_some() {
            self.close();
        }
    }
}

fn accept_loop(
    listener: &UnixListener,
    session: &Arc<Session>,
    closing: &AtomicBool,
    connections: &Mutex<Vec<Connection>>,
) {
    for stream in listener.incoming() {
        if closing.load(Ordering::SeqCst) {
            return;
        }
        let Ok(mut stream) = stream else { continue };
        let mut list = vmm_machine::sync::lock(connections);
        list.retain(|c| !c.writer.is_finished());
        if list.len() >= MAX_CLIENTS {
            let busy =
                CommandError::generic(format!("too many clients ({MAX_CLIENTS}); try later"));
            let _ = writeln!(stream, "{}", protocol::error(None, &busy));
            continue;
        }
        if let Ok(connection) = connect(stream, session.clone()) {
            list.push(connection);
        }
    }
}

/// Starts a client's writer and reader threads.
fn connect(stream: UnixStream, session: Arc<Session>) -> std::io::Result<Connection> {
    let (queue, lines) = sync_channel::<String>(QUEUE);
    let _ = queue.try_send(protocol::greeting());
    let id = session.events.join(queue.clone());
    let out = stream.try_clone()?;
    let writer = std::thread::Builder::new()
        .name("control-writer".into())
        .spawn(move || write_lines(out, &lines))?;
    let input = stream.try_clone()?;
    let reader_session = session.clone();
    let spawned = std::thread::Builder::new()
        .name("control-reader".into())
        .spawn(move || {
            serve(input, &reader_session, id, &queue);
            reader_session.events.leave(id);
        });
    if let Err(e) = spawned {
        session.events.leave(id);
        return Err(e);
    }
    Ok(Connection { stream, writer })
}

fn write_lines(mut out: UnixStream, lines: &Receiver<String>) {
    for line in lines {
        if out
            .write_all(line.as_bytes())
            .and_then(|()| out.write_all(b"\n"))
            .is_err()
        {
            return;
        }
    }
}

/// One line of a client's input.
enum Line {
    Text(String),
    TooLong,
    NotUtf8,
}

/// Reads a line of at most [`MAX_LINE`] bytes; a longer one is read to its end and refused,
/// and a line cut off by the end of the connection is dropped.
fn read_line(input: &mut impl BufRead) -> std::io::Result<Option<Line>> {
    let mut bytes = Vec::new();
    let n = input
        .by_ref()
        .take(MAX_LINE as u64 + 1)
        .read_until(b'\n', &mut bytes)?;
    if n == 0 {
        return Ok(None);
    }
    if bytes.len() > MAX_LINE && bytes.last() != Some(&b'\n') {
        // Skips the rest of the long line.
        loop {
            let mut rest = Vec::new();
            let n = input
                .by_ref()
                .take(MAX_LINE as u64)
                .read_until(b'\n', &mut rest)?;
            if n == 0 || rest.last() == Some(&b'\n') {
                break;
            }
        }
        return Ok(Some(Line::TooLong));
    }
    if bytes.last() != Some(&b'\n') {
        // The client went away mid-line: what it did not finish is not a request.
        return Ok(None);
    }
    Ok(Some(match String::from_utf8(bytes) {
        Ok(text) => Line::Text(text),
        Err(_) => Line::NotUtf8,
    }))
}

/// Answers a client's requests in order until it goes away.
fn serve(input: UnixStream, session: &Session, id: u64, queue: &SyncSender<String>) {
    let mut input = BufReader::new(input);
    let caller = Caller { client: Some(id) };
    while let Ok(Some(line)) = read_line(&mut input) {
        let answer = match line {
            Line::TooLong => protocol::error(
                None,
                &CommandError::generic(format!("a request is at most {MAX_LINE} bytes")),
            ),
            Line::NotUtf8 => {
                protocol::error(None, &CommandError::generic("a request is UTF-8 JSON"))
            }
            Line::Text(text) if text.trim().is_empty() => continue,
            Line::Text(text) => answer(session, &text, caller),
        };
        if queue.send(answer).is_err() {
            return;
        }
    }
}

/// The reply line to one request line.
pub fn answer(session: &Session, line: &str, caller: Caller) -> String {
    match Request::parse(line) {
        Err((id, e)) => protocol::error(id.as_ref(), &e),
        Ok(request) => match execute(session, &request, caller) {
            Ok(value) => protocol::reply(request.id.as_ref(), value),
            Err(e) => protocol::error(request.id.as_ref(), &e),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_bind_refuses_a_regular_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("file");
        std::fs::write(&path, b"data").unwrap();
        assert!(matches!(bind(&path), Err(BindError::NotASocket(_))));
        assert_eq!(std::fs::read(&path).unwrap(), b"data");
    }

    #[test]
    fn test_bind_makes_an_owner_only_socket() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s");
        let _listener = bind(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[test]
    fn test_bind_replaces_a_stale_socket() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s");
        drop(bind(&path).unwrap());
        assert!(bind(&path).is_ok());
    }

    #[test]
    fn test_bind_refuses_a_socket_in_use() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s");
        let _first = bind(&path).unwrap();
        assert!(matches!(bind(&path), Err(BindError::InUse(_))));
    }

    #[test]
    fn test_read_line_cut_off_by_the_end_is_no_request() {
        let mut input = std::io::Cursor::new(b"{\"execute\":\"quit\"}".to_vec());
        assert!(matches!(read_line(&mut input), Ok(None)));
    }

    #[test]
    fn test_read_line_too_long_is_refused_and_the_next_line_read() {
        let mut text = vec![b'x'; MAX_LINE + 10];
        text.extend_from_slice(b"\n{}\n");
        let mut input = std::io::Cursor::new(text);
        assert!(matches!(read_line(&mut input), Ok(Some(Line::TooLong))));
        assert!(matches!(read_line(&mut input), Ok(Some(Line::Text(t))) if t == "{}\n"));
    }
}
