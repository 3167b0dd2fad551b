//! A command's arguments, read by name with QMP's messages for what is missing or mistyped.

use serde_json::{Map, Value};

use crate::protocol::CommandError;

/// A request's arguments, checked against the names a command takes.
pub struct Args<'a> {
    map: &'a Map<String, Value>,
}

impl<'a> Args<'a> {
    /// The arguments in `map`; any name outside `known` is refused.
    pub fn new(map: &'a Map<String, Value>, known: &[&str]) -> Result<Args<'a>, CommandError> {
        if let Some(name) = map.keys().find(|k| !known.contains(&k.as_str())) {
            let allowed = if known.is_empty() {
                "none".to_owned()
            } else {
                known.join(", ")
            };
            return Err(CommandError::generic(format!(
                "Parameter '{name}' is unexpected (this command takes: {allowed})"
            )));
        }
        Ok(Args { map })
    }

    /// The value of `name`, if given.
    pub fn get(&self, name: &str) -> Option<&'a Value> {
        self.map.get(name)
    }

    /// A required string.
    pub fn string(&self, name: &str) -> Result<&'a str, CommandError> {
        self.opt_string(name)?.ok_or_else(|| missing(name))
    }

    /// An optional string.
    pub fn opt_string(&self, name: &str) -> Result<Option<&'a str>, CommandError> {
        match self.map.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(mistyped(name, "string")),
        }
    }

    /// A required unsigned integer (a JSON number, or a string in decimal or 0x hex).
    pub fn integer(&self, name: &str) -> Result<u64, CommandError> {
        self.opt_integer(name)?.ok_or_else(|| missing(name))
    }

    /// An optional unsigned integer.
    pub fn opt_integer(&self, name: &str) -> Result<Option<u64>, CommandError> {
        match self.map.get(name) {
            None => Ok(None),
            Some(Value::Number(n)) => n
                .as_u64()
                .map(Some)
                .ok_or_else(|| mistyped(name, "integer")),
            Some(Value::String(s)) => parse_integer(s)
                .map(Some)
                .ok_or_else(|| mistyped(name, "integer")),
            Some(_) => Err(mistyped(name, "integer")),
        }
    }

    /// An optional boolean.
    pub fn opt_bool(&self, name: &str) -> Result<Option<bool>, CommandError> {
        match self.map.get(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(mistyped(name, "bool")),
        }
    }

    /// A required array.
    pub fn array(&self, name: &str) -> Result<&'a Vec<Value>, CommandError> {
        match self.map.get(name) {
            None => Err(missing(name)),
            Some(Value::Array(a)) => Ok(a),
            Some(_) => Err(mistyped(name, "array")),
        }
    }
}

/// A number written in decimal or with a `0x` prefix in hex.
pub fn parse_integer(text: &str) -> Option<u64> {
    let text = text.trim();
    match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
}

fn missing(name: &str) -> CommandError {
    CommandError::generic(format!("Parameter '{name}' is missing"))
}

fn mistyped(name: &str, expected: &str) -> CommandError {
    CommandError::generic(format!(
        "Invalid parameter type for '{name}', expected: {expected}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn test_args_unknown_name_is_refused_with_the_allowed_ones() {
        let m = map(json!({"size": 1}));
        let e = Args::new(&m, &["address"]).err().unwrap();
        assert_eq!(
            e.desc,
            "Parameter 'size' is unexpected (this command takes: address)"
        );
    }

    #[test]
    fn test_integer_accepts_hex_strings() {
        let m = map(json!({"address": "0xb8000"}));
        assert_eq!(
            Args::new(&m, &["address"]).unwrap().integer("address"),
            Ok(0xb8000)
        );
    }

    #[test]
    fn test_missing_string_says_so() {
        let m = Map::new();
        let e = Args::new(&m, &["filename"])
            .unwrap()
            .string("filename")
            .unwrap_err();
        assert_eq!(e.desc, "Parameter 'filename' is missing");
    }

    #[test]
    fn test_negative_integer_is_mistyped() {
        let m = map(json!({"size": -1}));
        let e = Args::new(&m, &["size"])
            .unwrap()
            .integer("size")
            .unwrap_err();
        assert_eq!(
            e.desc,
            "Invalid parameter type for 'size', expected: integer"
        );
    }
}
