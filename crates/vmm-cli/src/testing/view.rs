//! What a test shows of its machine: the text screen (or a region of it), and short names for
//! files in messages.

use std::path::Path;

use super::machine::Running;
use super::model::Region;

/// The text screen (cut to `region`), or why there is none.
pub fn screen_text(vm: &Running, region: Option<Region>) -> Result<String, String> {
    let frame = vm.handle.capture().ok_or("this machine has no screen")?;
    let text = frame.text().ok_or("the screen is in a graphics mode")?;
    let Some(r) = region else {
        return Ok(text);
    };
    let rows: Vec<String> = text
        .lines()
        .chain(std::iter::repeat(""))
        .skip(r.top)
        .take(r.bottom - r.top + 1)
        .map(|line| {
            line.chars()
                .skip(r.left)
                .take(r.right - r.left + 1)
                .collect()
        })
        .collect();
    Ok(rows.join("\n"))
}

/// A test id as a file name.
pub fn sanitize(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// `path` as short as the current folder allows (for messages).
pub fn relative(path: &Path) -> String {
    let cwd = std::env::current_dir().unwrap_or_default();
    path.strip_prefix(&cwd)
        .unwrap_or(path)
        .display()
        .to_string()
}
