//! The layering docs/architecture.md draws is the one in the code: crates depend downwards only,
//! the machine crate knows no front end, the front ends (the display, the gdb stub) know neither
//! each other nor the command line, no two files of the machine or the command line import
//! each other in a circle, and no function outside tests is longer than 100 lines.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The `[dependencies]` a crate's manifest names.
fn dependencies(krate: &str) -> BTreeSet<String> {
    let text = std::fs::read_to_string(repo().join("crates").join(krate).join("Cargo.toml"))
        .expect("manifest");
    let manifest: toml::Table = text.parse().expect("manifest parses");
    manifest
        .get("dependencies")
        .and_then(|d| d.as_table())
        .map(|d| d.keys().cloned().collect())
        .unwrap_or_default()
}

/// Every `.rs` file below `root`, relative to it.
fn sources(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("source folder").flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path.strip_prefix(root).expect("below root").to_path_buf());
            }
        }
    }
    out.sort();
    out
}

/// A file's text without its test module.
fn code(root: &Path, file: &Path) -> String {
    let text = std::fs::read_to_string(root.join(file)).expect("source");
    match text.find("#[cfg(test)]") {
        Some(i) => text[..i].to_owned(),
        None => text,
    }
}

/// The module path of a file: `board/mod.rs` is `board`, `lib.rs` is the root.
fn module_of(file: &Path) -> Vec<String> {
    let mut parts: Vec<String> = file
        .with_extension("")
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

/// The file that holds the longest prefix of `path` that is a module.
fn file_of(root: &Path, path: &[String]) -> Option<PathBuf> {
    (1..=path.len()).rev().find_map(|n| {
        let base: PathBuf = path[..n].iter().collect();
        [base.with_extension("rs"), base.join("mod.rs")]
            .into_iter()
            .find(|f| root.join(f).is_file())
    })
}

/// Every `crate::`/`super::` path in `text`, with `use` groups expanded one level.
fn paths(text: &str, module: &[String], is_mod_file: bool) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for (start, prefix) in text
        .match_indices("crate::")
        .chain(text.match_indices("super::"))
    {
        let before = text[..start].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
            continue;
        }
        let mut base = Vec::new();
        if prefix == "super::" {
            base = module.to_vec();
            if !is_mod_file || !base.is_empty() {
                base.pop();
            }
        }
        let rest = &text[start + prefix.len()..];
        let head_len = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
            .unwrap_or(rest.len());
        let head = rest[..head_len].trim_end_matches("::");
        let mut path = base;
        path.extend(
            head.split("::")
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
        );
        let group = rest[head_len..]
            .strip_prefix('{')
            .and_then(|g| g.split_once('}'))
            .map(|(g, _)| g);
        match group {
            Some(group) => {
                for item in group.split(',') {
                    let first = item.split("::").next().unwrap_or("").trim();
                    if first.is_empty() {
                        continue;
                    }
                    let mut p = path.clone();
                    if first != "self" {
                        p.push(first.to_owned());
                    }
                    out.push(p);
                }
            }
            None => out.push(path),
        }
    }
    out
}

/// The import graph between the files of a crate's `src`.
fn graph(root: &Path) -> BTreeMap<PathBuf, BTreeSet<PathBuf>> {
    let mut graph = BTreeMap::new();
    for file in sources(root) {
        let text = code(root, &file);
        let module = module_of(&file);
        let is_mod_file = file.ends_with("mod.rs") || file.ends_with("lib.rs");
        let mut edges = BTreeSet::new();
        for path in paths(&text, &module, is_mod_file) {
            if let Some(target) = file_of(root, &path).filter(|t| *t != file) {
                edges.insert(target);
            }
        }
        // A parent's uses of its own children by bare name (`attach::Attach`).
        for line in text.lines() {
            let line = line
                .trim_start()
                .trim_start_matches("pub ")
                .trim_start_matches("pub(crate) ");
            let Some(child) = line.strip_prefix("mod ").and_then(|c| c.strip_suffix(';')) else {
                continue;
            };
            let used = text.match_indices(&format!("{child}::")).any(|(i, _)| {
                !text[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == ':')
            });
            let mut path = module.clone();
            path.push(child.to_owned());
            if let Some(target) = file_of(root, &path).filter(|_| used) {
                edges.insert(target);
            }
        }
        graph.insert(file, edges);
    }
    graph
}

/// The files that lie on an import circle.
fn circles(graph: &BTreeMap<PathBuf, BTreeSet<PathBuf>>) -> BTreeSet<PathBuf> {
    let reaches = |from: &PathBuf, to: &PathBuf| {
        let mut seen = BTreeSet::new();
        let mut stack: Vec<&PathBuf> = graph[from].iter().collect();
        while let Some(f) = stack.pop() {
            if f == to {
                return true;
            }
            if seen.insert(f.clone()) {
                stack.extend(graph.get(f).into_iter().flatten());
            }
        }
        false
    };
    graph.keys().filter(|f| reaches(f, f)).cloned().collect()
}

#[test]
fn test_machine_crate_depends_on_no_front_end() {
    let deps = dependencies("vmm-machine");
    for front in ["vmm-cli", "vmm-control", "clap", "gdbstub", "gdbstub_arch"] {
        assert!(!deps.contains(front), "vmm-machine depends on {front}");
    }
}

#[test]
fn test_control_crate_stands_on_the_machine_and_knows_no_front_end() {
    let deps = dependencies("vmm-control");
    assert!(deps.contains("vmm-machine"));
    for front in ["vmm-cli", "clap", "gdbstub", "gdbstub_arch"] {
        assert!(!deps.contains(front), "vmm-control depends on {front}");
    }
}

#[test]
fn test_control_files_import_each_other_in_no_circle() {
    let root = repo().join("crates/vmm-control/src");
    assert_eq!(circles(&graph(&root)), BTreeSet::new());
}

#[test]
fn test_lower_crates_depend_only_downwards() {
    let core = dependencies("vmm-core");
    let devices = dependencies("vmm-devices");
    let bios = dependencies("vmm-bios");
    for upper in ["vmm-devices", "vmm-bios", "vmm-machine", "vmm-cli"] {
        assert!(!core.contains(upper), "vmm-core depends on {upper}");
    }
    for upper in ["vmm-machine", "vmm-cli", "kvm-ioctls"] {
        assert!(!devices.contains(upper), "vmm-devices depends on {upper}");
        assert!(!bios.contains(upper), "vmm-bios depends on {upper}");
    }
}

#[test]
fn test_machine_files_import_each_other_in_no_circle() {
    let root = repo().join("crates/vmm-machine/src");
    assert_eq!(circles(&graph(&root)), BTreeSet::new());
}

#[test]
fn test_command_line_files_import_each_other_in_no_circle() {
    let root = repo().join("crates/vmm-cli/src");
    assert_eq!(circles(&graph(&root)), BTreeSet::new());
}

#[test]
fn test_front_ends_import_neither_each_other_nor_the_command_line() {
    let root = repo().join("crates/vmm-cli/src");
    let graph = graph(&root);
    let room = |f: &Path| f.iter().next().map(|c| c.to_string_lossy().into_owned());
    let fronts = ["display", "gdb", "ctl.rs", "testing"];
    let mut crossings = Vec::new();
    for (file, edges) in &graph {
        let Some(from) = room(file).filter(|r| fronts.contains(&r.as_str())) else {
            continue;
        };
        for target in edges {
            let to = room(target).unwrap_or_default();
            let other_front = fronts.contains(&to.as_str()) && to != from;
            let command_line =
                ["run", "cli.rs", "check.rs", "main.rs", "status.rs"].contains(&to.as_str());
            if other_front || command_line {
                crossings.push(format!("{} -> {}", file.display(), target.display()));
            }
        }
    }
    assert_eq!(crossings, Vec::<String>::new());
}

#[test]
fn test_no_function_outside_tests_is_over_100_lines() {
    let mut long = Vec::new();
    for krate in [
        "crates/vmm-core/src",
        "crates/vmm-devices/src",
        "crates/vmm-bios/src",
    ]
    .into_iter()
    .chain([
        "crates/vmm-machine/src",
        "crates/vmm-control/src",
        "crates/vmm-cli/src",
        "plugins/api/src",
    ]) {
        let root = repo().join(krate);
        for file in sources(&root) {
            let text = code(&root, &file);
            let lines: Vec<&str> = text.lines().collect();
            let mut i = 0;
            while i < lines.len() {
                let Some(len) = function_at(&lines[i..]) else {
                    i += 1;
                    continue;
                };
                if len > 100 {
                    long.push(format!(
                        "{krate}/{}:{} ({len} lines)",
                        file.display(),
                        i + 1
                    ));
                }
                i += len.max(1);
            }
        }
    }
    assert_eq!(long, Vec::<String>::new());
}

/// When `lines[0]` starts a function with a body, its length in lines.
fn function_at(lines: &[&str]) -> Option<usize> {
    let first = lines[0].trim_start();
    let head = first
        .trim_start_matches("pub ")
        .trim_start_matches("pub(crate) ")
        .trim_start_matches("pub(super) ")
        .trim_start_matches("const ")
        .trim_start_matches("unsafe ")
        .trim_start_matches("extern \"C\" ");
    if !head.starts_with("fn ") {
        return None;
    }
    let mut depth = 0i32;
    let mut opened = false;
    for (n, line) in lines.iter().enumerate() {
        let code = strip_literals(line);
        for c in code.chars() {
            match c {
                '{' => {
                    depth += 1;
                    opened = true;
                }
                '}' => depth -= 1,
                _ => {}
            }
        }
        if opened && depth <= 0 {
            return Some(n + 1);
        }
        if !opened && code.trim_end().ends_with(';') {
            return None;
        }
    }
    None
}

/// A line without its string and character literals and its comment.
fn strip_literals(line: &str) -> String {
    let mut out = String::new();
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                while let Some(d) = chars.next() {
                    match d {
                        '\\' => {
                            chars.next();
                        }
                        '"' => break,
                        _ => {}
                    }
                }
            }
            '\'' if chars.peek().is_some_and(|&d| d == '{' || d == '}') => {
                chars.next();
            }
            '/' if chars.peek() == Some(&'/') => break,
            c => out.push(c),
        }
    }
    out
}

#[test]
fn test_nothing_in_the_repository_points_outside_it() {
    let outside = ["DESIGN.md", "../shared", "shared/seed", "STYLE.md"];
    let mut pointing = Vec::new();
    let mut stack: Vec<PathBuf> = ["README.md", "docs", "crates", "machines", "guests", "bench"]
        .into_iter()
        .chain(["plugins", ".ci", "fuzz/fuzz_targets", "Cargo.toml"])
        .map(|p| repo().join(p))
        .collect();
    while let Some(path) = stack.pop() {
        if path.is_dir() {
            let entries = std::fs::read_dir(&path).expect("folder").flatten();
            stack.extend(entries.map(|e| e.path()).filter(|p| !p.ends_with("target")));
            continue;
        }
        // Binaries (guests, fonts, ROMs, pictures) are not text.
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        // This test names what it looks for.
        if path.ends_with("tests/architecture.rs") {
            continue;
        }
        for name in outside.iter().filter(|n| text.contains(*n)) {
            pointing.push(format!("{} names {name}", path.display()));
        }
    }
    assert_eq!(pointing, Vec::<String>::new());
}

/// A test that returns early when the host lacks a tool must say so in the summary: it carries
/// `cfg_attr(picovmm_missing = ..., ignore = ...)` (build/probes.rs), or it would read as passed.
#[test]
fn test_every_test_that_needs_a_tool_is_marked_to_show_as_ignored() {
    let mut unmarked = Vec::new();
    for krate in ["vmm-core", "vmm-machine", "vmm-cli"] {
        let dir = repo().join("crates").join(krate).join("tests");
        for entry in std::fs::read_dir(&dir).expect("tests folder").flatten() {
            let path = entry.path();
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("test file");
            for test in text.split("#[test]\n").skip(1) {
                let (head, body) = test.split_once("fn ").unwrap_or(("", test));
                let body = body.split("\n}\n").next().unwrap_or("");
                let needs = body.match_indices("if !").any(|(i, _)| {
                    let rest = &body[i + 4..];
                    let call = rest.split(|c: char| c.is_whitespace() || c == '{').next();
                    call.is_some_and(|c| c.ends_with("_available()"))
                });
                if needs && !head.contains("picovmm_missing") {
                    let name = body.split('(').next().unwrap_or("?");
                    unmarked.push(format!("{}: {name}", path.display()));
                }
            }
        }
    }
    assert!(unmarked.is_empty(), "not marked: {unmarked:#?}");
}
