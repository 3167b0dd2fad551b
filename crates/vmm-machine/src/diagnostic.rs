//! Errors that point at what caused them: `file:line:column` with the line and a caret under
//! the value, the way Cargo reports a bad manifest; or the flag that gave the value.

use std::fmt;

use crate::spec::{Origin, SourceFile};

/// An error about one value of a machine description.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// Where the offending value came from.
    pub origin: Origin,
    /// What is wrong and what is allowed.
    pub message: String,
}

impl Diagnostic {
    /// A diagnostic for a value from `origin`.
    pub fn new(origin: Origin, message: impl Into<String>) -> Self {
        Diagnostic {
            origin,
            message: message.into(),
        }
    }

    /// Renders the diagnostic against the machine file it refers to.
    pub fn render(&self, source: Option<&SourceFile>) -> String {
        match (&self.origin, source) {
            (Origin::File(span), Some(file)) => {
                render_at(file, span.start, span.end, &self.message)
            }
            (Origin::Flag(flag), _) => format!("{flag}: {}", self.message),
            _ => self.message.clone(),
        }
    }
}

/// A diagnostic with the machine file it points into: an error that keeps its structure
/// (origin, message, file) until it is printed.
#[derive(Clone, Debug)]
pub struct Report {
    /// What is wrong, and where.
    pub diagnostic: Diagnostic,
    /// The machine file the origin refers to, if any.
    pub source: Option<SourceFile>,
}

impl Report {
    /// `diagnostic` about a value of the machine read from `source`.
    pub fn new(diagnostic: Diagnostic, source: Option<&SourceFile>) -> Self {
        Report {
            diagnostic,
            source: source.cloned(),
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.diagnostic.render(self.source.as_ref()))
    }
}

impl std::error::Error for Report {}

/// One-based line and column (in characters) of byte `offset` in `text`.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = before[line_start..].chars().count() + 1;
    (line, col)
}

fn render_at(file: &SourceFile, start: usize, end: usize, message: &str) -> String {
    let text = &file.text;
    let (line, col) = line_col(text, start);
    let line_text = text.lines().nth(line - 1).unwrap_or("");
    let line_len = line_text.chars().count();
    // Underline the span's part on its first line, at least one caret.
    let span_chars = text
        .get(start..end.max(start))
        .map_or(1, |s| s.chars().take_while(|&c| c != '\n').count());
    let carets = span_chars.clamp(1, (line_len + 1).saturating_sub(col).max(1));
    let gutter = " ".repeat(line.to_string().len());
    format!(
        "{path}:{line}:{col}: {message}\n{gutter} |\n{line} | {line_text}\n{gutter} | {pad}{marks}",
        path = file.path.display(),
        pad = " ".repeat(col - 1),
        marks = "^".repeat(carets),
    )
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn file(text: &str) -> SourceFile {
        SourceFile {
            path: PathBuf::from("m.toml"),
            text: text.to_owned(),
        }
    }

    #[test]
    fn test_line_col_counts_from_one() {
        assert_eq!(line_col("a = 1\nbb = 2\n", 11), (2, 6));
    }

    #[test]
    fn test_render_file_origin_shows_caret_under_value() {
        let src = file("name = \"x\"\nbase = 0x9f000\n");
        let d = Diagnostic::new(Origin::File(18..25), "overlaps");
        assert_eq!(
            d.render(Some(&src)),
            "m.toml:2:8: overlaps\n  |\n2 | base = 0x9f000\n  |        ^^^^^^^"
        );
    }

    #[test]
    fn test_render_flag_origin_names_flag() {
        let d = Diagnostic::new(Origin::Flag("--load"), "does not fit");
        assert_eq!(d.render(None), "--load: does not fit");
    }

    #[test]
    fn test_render_multiline_span_underlines_first_line_only() {
        let src = file("[[memory]]\nbase = 0\n");
        let d = Diagnostic::new(Origin::File(0..20), "bad table");
        assert!(d
            .render(Some(&src))
            .ends_with("1 | [[memory]]\n  | ^^^^^^^^^^"));
    }
}
