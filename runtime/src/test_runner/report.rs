//! What `alga-ext test` prints: a line per test (`ok`, `FAIL`, `skip`), the failure's
//! message and console output under it, and `N passed, N failed` last. Colours only when
//! stdout is a terminal and `NO_COLOR` is unset.

use std::io::{IsTerminal, Write};

/// Counts over every extension and file of the run.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Totals {
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
    /// Tests left out by `--filter`.
    pub filtered: usize,
}

/// Indent of lines under a test's line (past `FAIL `).
const INDENT: &str = "     ";

pub struct Printer {
    color: bool,
    all_logs: bool,
}

impl Printer {
    pub fn new(all_logs: bool) -> Self {
        let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        Self { color, all_logs }
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    fn emit(&self, text: &str) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{text}");
        let _ = out.flush();
    }

    /// The heading of one extension's tests.
    pub fn extension(&self, heading: &str) {
        self.emit(&self.paint("1", heading));
    }

    pub fn ok(&self, file: &str, name: &str, ms: u64, logs: &[String]) {
        self.emit(&format!("{} {file}  {name} ({ms} ms)", self.paint("32", "ok  ")));
        if self.all_logs {
            self.logs(logs);
        }
    }

    pub fn skip(&self, file: &str, name: &str) {
        self.emit(&format!("{} {file}  {name}", self.paint("33", "skip")));
    }

    /// A failure at `place` (`file:line:col`, or the file or folder when no line is known);
    /// `name` is the test's, absent when the whole file or extension failed.
    pub fn fail(&self, place: &str, name: Option<&str>, message: &str, logs: &[String]) {
        let mut lines = message.lines();
        let first = lines.next().unwrap_or("");
        let head = match name {
            Some(name) => format!("{} {place}  {name}: {first}", self.paint("31", "FAIL")),
            None => format!("{} {place}: {first}", self.paint("31", "FAIL")),
        };
        self.emit(&head);
        for line in lines {
            self.emit(&format!("{INDENT}{line}"));
        }
        self.logs(logs);
    }

    fn logs(&self, logs: &[String]) {
        for line in logs.iter().flat_map(|entry| entry.lines()) {
            self.emit(&format!("{INDENT}{} {line}", self.paint("2", "|")));
        }
    }

    pub fn summary(&self, totals: &Totals) {
        let mut line = format!("{} passed, {} failed", totals.passed, totals.failed);
        if totals.skipped > 0 {
            line.push_str(&format!(", {} skipped", totals.skipped));
        }
        if totals.filtered > 0 {
            line.push_str(&format!(", {} filtered out", totals.filtered));
        }
        let code = if totals.failed > 0 { "31" } else { "32" };
        self.emit(&self.paint(code, &line));
    }
}
