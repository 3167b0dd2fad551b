//! Results for people (`cargo test`'s style), for TAP consumers, and as JUnit XML for CI
//! systems.

use std::fmt::Write as _;
use std::time::Duration;

use super::exec::Verdict;

/// How results are printed on stdout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `test NAME ... ok`, failures at the end, a summary line.
    Human,
    /// The Test Anything Protocol, version 13.
    Tap,
}

/// Prints results as they come, and the summary at the end.
pub struct Reporter {
    format: Format,
    count: usize,
    seen: usize,
    verdicts: Vec<Verdict>,
}

fn out(text: &str) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
}

impl Reporter {
    /// A reporter for `count` tests.
    pub fn start(format: Format, count: usize) -> Reporter {
        match format {
            Format::Human => out(&format!("\nrunning {count} test{}\n", plural(count))),
            Format::Tap => out(&format!("TAP version 13\n1..{count}\n")),
        }
        Reporter {
            format,
            count,
            seen: 0,
            verdicts: Vec::new(),
        }
    }

    /// One verdict.
    pub fn verdict(&mut self, verdict: Verdict) {
        self.seen += 1;
        let ok = verdict.failure.is_none();
        match self.format {
            Format::Human => out(&format!(
                "test {} ... {}\n",
                verdict.id,
                if ok { "ok" } else { "FAILED" }
            )),
            Format::Tap => {
                let mut line = format!(
                    "{} {} - {}\n",
                    if ok { "ok" } else { "not ok" },
                    self.seen,
                    verdict.id
                );
                if let Some(failure) = &verdict.failure {
                    line.push_str("  ---\n  message: |\n");
                    for l in failure.lines() {
                        let _ = writeln!(line, "    {l}");
                    }
                    line.push_str("  ...\n");
                }
                out(&line);
            }
        }
        self.verdicts.push(verdict);
    }

    /// The summary; the verdicts, for a JUnit file.
    pub fn finish(self, filtered: usize, elapsed: Duration) -> Vec<Verdict> {
        let failed: Vec<&Verdict> = self
            .verdicts
            .iter()
            .filter(|v| v.failure.is_some())
            .collect();
        let passed = self.verdicts.len() - failed.len();
        if self.format == Format::Human {
            let mut text = String::new();
            if !failed.is_empty() {
                text.push_str("\nfailures:\n");
                for v in &failed {
                    let _ = write!(
                        text,
                        "\n---- {} ----\n{}\n",
                        v.id,
                        v.failure.as_deref().unwrap_or_default()
                    );
                }
                text.push_str("\nfailures:\n");
                for v in &failed {
                    let _ = writeln!(text, "    {}", v.id);
                }
            }
            let result = if failed.is_empty() { "ok" } else { "FAILED" };
            let _ = writeln!(
                text,
                "\ntest result: {result}. {passed} passed; {} failed; {filtered} filtered out; finished in {:.2}s\n",
                failed.len(),
                elapsed.as_secs_f64()
            );
            out(&text);
        } else {
            out(&format!(
                "# {passed} passed, {} failed, {filtered} filtered out, of {}\n",
                failed.len(),
                self.count
            ));
        }
        self.verdicts
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// The verdicts as a JUnit XML report (as GitLab, Jenkins and GitHub's test reporters read it).
pub fn junit(verdicts: &[Verdict], elapsed: Duration) -> String {
    let failures = verdicts.iter().filter(|v| v.failure.is_some()).count();
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        xml,
        "<testsuites name=\"picovmm test\" tests=\"{}\" failures=\"{failures}\" time=\"{:.3}\">",
        verdicts.len(),
        elapsed.as_secs_f64()
    );
    let _ = writeln!(
        xml,
        "  <testsuite name=\"picovmm test\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" time=\"{:.3}\">",
        verdicts.len(),
        elapsed.as_secs_f64()
    );
    for v in verdicts {
        let (class, name) = v.id.split_once("::").unwrap_or(("", &v.id));
        let _ = write!(
            xml,
            "    <testcase classname=\"{}\" name=\"{}\" time=\"{:.3}\"",
            escape(class),
            escape(name),
            v.duration.as_secs_f64()
        );
        match &v.failure {
            None => xml.push_str("/>\n"),
            Some(failure) => {
                let first = failure.lines().next().unwrap_or_default();
                let _ = write!(
                    xml,
                    ">\n      <failure message=\"{}\">{}</failure>\n    </testcase>\n",
                    escape(first),
                    escape(failure)
                );
            }
        }
    }
    xml.push_str("  </testsuite>\n</testsuites>\n");
    xml
}

/// `text` safe inside XML attributes and elements.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\t' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_junit_escapes_markup_and_drops_control_characters() {
        assert_eq!(escape("a<b & \"c\"\x07"), "a&lt;b &amp; &quot;c&quot;");
    }

    #[test]
    fn test_junit_counts_failures() {
        let v = vec![
            Verdict {
                id: "f::a".into(),
                failure: None,
                duration: Duration::ZERO,
            },
            Verdict {
                id: "f::b".into(),
                failure: Some("no".into()),
                duration: Duration::ZERO,
            },
        ];
        let xml = junit(&v, Duration::ZERO);
        assert!(xml.contains("tests=\"2\" failures=\"1\""), "{xml}");
    }
}
