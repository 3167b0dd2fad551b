//! The wire format: one JSON object per line, as QEMU's QMP frames it.
//!
//! The server greets with `{"QMP": {"version": ..., "capabilities": []}}`; a request is
//! `{"execute": NAME, "arguments": {...}, "id": ANY}` (arguments and id optional); the reply is
//! `{"return": VALUE, "id": ID}` or `{"error": {"class": CLASS, "desc": TEXT}, "id": ID}`;
//! events come between replies as `{"event": NAME, "data": {...}, "timestamp": {"seconds",
//! "microseconds"}}`.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Map, Value};

/// The longest request line the server reads (a 64 KiB memory write in hex fits).
pub const MAX_LINE: usize = 256 * 1024;

/// QMP's error classes: what went wrong, for a script to branch on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorClass {
    /// Anything else: a bad argument, a refused command, a failed file.
    GenericError,
    /// No command has that name.
    CommandNotFound,
    /// The command needs a device this machine does not have (a keyboard, a serial port).
    DeviceNotFound,
}

impl ErrorClass {
    /// The class as QMP spells it.
    pub fn name(self) -> &'static str {
        match self {
            ErrorClass::GenericError => "GenericError",
            ErrorClass::CommandNotFound => "CommandNotFound",
            ErrorClass::DeviceNotFound => "DeviceNotFound",
        }
    }
}

/// Why a command failed: its class and a message for people.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{desc}")]
pub struct CommandError {
    /// What kind of failure.
    pub class: ErrorClass,
    /// What went wrong, and what is allowed.
    pub desc: String,
}

impl CommandError {
    /// A [`ErrorClass::GenericError`] saying `desc`.
    pub fn generic(desc: impl Into<String>) -> CommandError {
        CommandError {
            class: ErrorClass::GenericError,
            desc: desc.into(),
        }
    }

    /// A [`ErrorClass::DeviceNotFound`] saying `desc`.
    pub fn no_device(desc: impl Into<String>) -> CommandError {
        CommandError {
            class: ErrorClass::DeviceNotFound,
            desc: desc.into(),
        }
    }
}

/// One request: the command's name, its arguments and the client's id for the reply.
#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    /// The command (`query-status`, `screendump`...).
    pub name: String,
    /// Its arguments by name.
    pub arguments: Map<String, Value>,
    /// Echoed in the reply; any JSON value.
    pub id: Option<Value>,
}

impl Request {
    /// A request for `name` with `arguments`.
    pub fn new(name: impl Into<String>, arguments: Map<String, Value>) -> Request {
        Request {
            name: name.into(),
            arguments,
            id: None,
        }
    }

    /// Parses one request line; an error carries the id when the line had one.
    pub fn parse(line: &str) -> Result<Request, (Option<Value>, CommandError)> {
        let value: Value = serde_json::from_str(line).map_err(|e| {
            (
                None,
                CommandError::generic(format!("JSON parse error, {e}")),
            )
        })?;
        let Value::Object(mut object) = value else {
            return Err((
                None,
                CommandError::generic("QMP input must be a JSON object"),
            ));
        };
        let id = object.remove("id");
        let fail = |desc: String| (id.clone(), CommandError::generic(desc));
        let name = match object.remove("execute") {
            Some(Value::String(name)) => name,
            Some(_) => return Err(fail("QMP input member 'execute' must be a string".into())),
            None => return Err(fail("QMP input lacks member 'execute'".into())),
        };
        let arguments = match object.remove("arguments") {
            None => Map::new(),
            Some(Value::Object(arguments)) => arguments,
            Some(_) => {
                return Err(fail(
                    "QMP input member 'arguments' must be an object".into(),
                ))
            }
        };
        if let Some(other) = object.keys().next() {
            return Err(fail(format!("QMP input member '{other}' is unexpected")));
        }
        Ok(Request {
            name,
            arguments,
            id,
        })
    }

    /// The request as a line, without its newline.
    pub fn to_line(&self) -> String {
        let mut object = Map::new();
        object.insert("execute".into(), Value::String(self.name.clone()));
        if !self.arguments.is_empty() {
            object.insert("arguments".into(), Value::Object(self.arguments.clone()));
        }
        if let Some(id) = &self.id {
            object.insert("id".into(), id.clone());
        }
        Value::Object(object).to_string()
    }
}

/// The greeting a client reads first.
pub fn greeting() -> String {
    let version = env!("CARGO_PKG_VERSION");
    let mut parts = version.split('.').map(|p| p.parse::<u64>().unwrap_or(0));
    let (major, minor, micro) = (
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
    );
    json!({"QMP": {
        "version": {"qemu": {"major": major, "minor": minor, "micro": micro},
                    "package": format!("picovmm {version}")},
        "capabilities": []
    }})
    .to_string()
}

/// A successful reply line.
pub fn reply(id: Option<&Value>, value: Value) -> String {
    let mut object = Map::new();
    object.insert("return".into(), value);
    if let Some(id) = id {
        object.insert("id".into(), id.clone());
    }
    Value::Object(object).to_string()
}

/// A failed reply line.
pub fn error(id: Option<&Value>, error: &CommandError) -> String {
    let mut object = Map::new();
    object.insert(
        "error".into(),
        json!({"class": error.class.name(), "desc": error.desc}),
    );
    if let Some(id) = id {
        object.insert("id".into(), id.clone());
    }
    Value::Object(object).to_string()
}

/// An event line, stamped with the time now.
pub fn event(name: &str, data: Value) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    json!({
        "event": name,
        "data": data,
        "timestamp": {"seconds": now.as_secs(), "microseconds": now.subsec_micros()}
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_parse_request_with_arguments_and_id_keeps_both() {
        let r =
            Request::parse(r#"{"execute":"screendump","arguments":{"filename":"a.png"},"id":7}"#)
                .unwrap();
        assert_eq!(
            (r.name.as_str(), r.arguments["filename"].as_str(), r.id),
            ("screendump", Some("a.png"), Some(json!(7)))
        );
    }

    #[test]
    fn test_parse_request_not_json_is_a_generic_error() {
        let (_, e) = Request::parse("{execute").unwrap_err();
        assert_eq!(e.class, ErrorClass::GenericError);
    }

    #[test]
    fn test_parse_request_without_execute_keeps_the_id_for_the_reply() {
        let (id, e) = Request::parse(r#"{"id":"x"}"#).unwrap_err();
        assert_eq!(
            (id, e.desc.as_str()),
            (Some(json!("x")), "QMP input lacks member 'execute'")
        );
    }

    #[test]
    fn test_parse_request_unknown_member_is_refused() {
        let (_, e) = Request::parse(r#"{"execute":"cont","extra":1}"#).unwrap_err();
        assert_eq!(e.desc, "QMP input member 'extra' is unexpected");
    }

    #[test]
    fn test_greeting_says_the_package_version() {
        let g: Value = serde_json::from_str(&greeting()).unwrap();
        assert_eq!(
            g["QMP"]["version"]["package"],
            format!("picovmm {}", env!("CARGO_PKG_VERSION"))
        );
    }

    #[test]
    fn test_error_reply_has_class_desc_and_id() {
        let line = error(Some(&json!(3)), &CommandError::generic("no"));
        assert_eq!(
            line,
            r#"{"error":{"class":"GenericError","desc":"no"},"id":3}"#
        );
    }
}
