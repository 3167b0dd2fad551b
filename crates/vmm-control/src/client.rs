//! A client of the control socket, as `picovmm ctl` and tests use it: connect, read the
//! greeting, send requests with ids, and keep the events that come between replies.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::protocol::{CommandError, ErrorClass, Request};

/// Why talking to the machine failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Nothing listens at the path.
    #[error(
        "cannot connect to {path}: {source} (is a picovmm running with --control unix:{path}?)"
    )]
    Connect {
        /// The socket's path.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// The connection failed or closed.
    #[error("the control connection: {0}")]
    Io(#[from] std::io::Error),
    /// The other side did not speak the protocol.
    #[error("the machine's reply is not the protocol: {0}")]
    Protocol(String),
}

/// A connection to a machine's control socket.
pub struct Client {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
    /// The greeting's `QMP` object.
    pub greeting: Value,
    next_id: u64,
    events: VecDeque<Value>,
}

impl Client {
    /// Connects to the socket at `path` and reads its greeting.
    pub fn connect(path: &Path) -> Result<Client, ClientError> {
        let stream = UnixStream::connect(path).map_err(|source| ClientError::Connect {
            path: path.to_path_buf(),
            source,
        })?;
        let writer = stream.try_clone()?;
        let mut client = Client {
            reader: BufReader::new(stream),
            writer,
            greeting: Value::Null,
            next_id: 1,
            events: VecDeque::new(),
        };
        let first = client
            .read()?
            .ok_or_else(|| ClientError::Protocol("closed before its greeting".into()))?;
        if let Some(error) = first.get("error") {
            return Err(ClientError::Protocol(format!("refused: {}", error["desc"])));
        }
        client.greeting = first
            .get("QMP")
            .cloned()
            .ok_or_else(|| ClientError::Protocol(format!("a greeting without QMP: {first}")))?;
        Ok(client)
    }

    fn read(&mut self) -> Result<Option<Value>, ClientError> {
        let mut line = String::new();
        if self.reader.read_line(&mut line)? == 0 {
            return Ok(None);
        }
        serde_json::from_str(&line)
            .map(Some)
            .map_err(|e| ClientError::Protocol(format!("{e}: {}", line.trim_end())))
    }

    /// Runs `name` with `arguments`; the outer error is the connection's, the inner the
    /// command's.
    pub fn execute(
        &mut self,
        name: &str,
        arguments: Map<String, Value>,
    ) -> Result<Result<Value, CommandError>, ClientError> {
        let mut request = Request::new(name, arguments);
        let id = self.next_id;
        self.next_id += 1;
        request.id = Some(Value::from(id));
        writeln!(self.writer, "{}", request.to_line())?;
        loop {
            let message = self.read()?.ok_or_else(|| {
                ClientError::Protocol(format!("the connection closed before {name}'s reply"))
            })?;
            if message.get("event").is_some() {
                self.events.push_back(message);
                continue;
            }
            if message.get("id") != Some(&Value::from(id)) {
                continue;
            }
            return Ok(match (message.get("return"), message.get("error")) {
                (Some(value), _) => Ok(value.clone()),
                (None, Some(error)) => Err(command_error(error)),
                (None, None) => {
                    return Err(ClientError::Protocol(format!(
                        "neither return nor error: {message}"
                    )))
                }
            });
        }
    }

    /// The next event, waiting for it; `None` when the connection closes.
    pub fn next_event(&mut self) -> Result<Option<Value>, ClientError> {
        if let Some(event) = self.events.pop_front() {
            return Ok(Some(event));
        }
        loop {
            match self.read()? {
                None => return Ok(None),
                Some(message) if message.get("event").is_some() => return Ok(Some(message)),
                Some(_) => continue,
            }
        }
    }
}

fn command_error(error: &Value) -> CommandError {
    let class = match error["class"].as_str() {
        Some("CommandNotFound") => ErrorClass::CommandNotFound,
        Some("DeviceNotFound") => ErrorClass::DeviceNotFound,
        _ => ErrorClass::GenericError,
    };
    CommandError {
        class,
        desc: error["desc"].as_str().unwrap_or_default().to_owned(),
    }
}
