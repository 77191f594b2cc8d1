//! `console.*` for extension code: formatted in JS, emitted in Rust as log lines tagged
//! with the isolate's tenant and extension, under a per-isolate budget.
//!
//! Extension text is untrusted: control characters are escaped (a newline must not forge a
//! line of the server's log), and each isolate may write only so many lines and bytes per
//! call and per minute; past either, one "log output truncated" line says so and the rest
//! is dropped (and counted).

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Duration, Instant};

use deno_core::{op2, OpState};

use crate::ExtensionIdentity;

/// Longest console message kept; the rest is cut so one call cannot flood the logs.
pub const MAX_MESSAGE_BYTES: usize = 16 * 1024;

// Takes no options, so the same extension serves the startup snapshot and live isolates;
// the runtime puts the isolate's `ExtensionIdentity` into OpState after building it.
deno_core::extension!(
    alga_console,
    ops = [op_console_write],
    esm_entry_point = "ext:alga_console/00_console.js",
    esm = [dir "src/console", "00_console.js"],
);

/// How much one isolate may log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogLimits {
    pub lines_per_call: u32,
    pub bytes_per_call: usize,
    pub lines_per_minute: u32,
    pub bytes_per_minute: usize,
}

impl Default for LogLimits {
    fn default() -> Self {
        Self { lines_per_call: 200, bytes_per_call: 64 * 1024, lines_per_minute: 2000, bytes_per_minute: 1024 * 1024 }
    }
}

/// Severity of an extension's log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    Debug,
    Info,
    Warn,
    Error,
}

/// One line an extension logged, already escaped and within budget.
#[derive(Debug, Clone, Copy)]
pub struct LogLine<'a> {
    pub tenant: &'a str,
    pub extension: &'a str,
    pub level: LogLevel,
    pub message: &'a str,
}

/// Where extension log lines go. The default is the server's `tracing` log (target
/// `extension`); never stdout.
pub trait LogSink: Send + Sync {
    fn write(&self, line: &LogLine<'_>);
}

/// The `tracing` sink: events with target `extension` and `tenant`/`extension` fields.
pub struct TracingSink;

impl LogSink for TracingSink {
    fn write(&self, line: &LogLine<'_>) {
        let (tenant, extension, message) = (line.tenant, line.extension, line.message);
        match line.level {
            LogLevel::Debug => tracing::debug!(target: "extension", tenant, extension, "{message}"),
            LogLevel::Info => tracing::info!(target: "extension", tenant, extension, "{message}"),
            LogLevel::Warn => tracing::warn!(target: "extension", tenant, extension, "{message}"),
            LogLevel::Error => tracing::error!(target: "extension", tenant, extension, "{message}"),
        }
    }
}

/// The isolate's sink, put into OpState by the runtime; absent means `TracingSink`.
#[derive(Clone)]
pub struct LogSinkRef(pub Arc<dyn LogSink>);

/// What the isolate has logged in this call and this minute.
#[derive(Debug)]
struct LogBudget {
    call_lines: u32,
    call_bytes: usize,
    call_cut: bool,
    window_start: Instant,
    window_lines: u32,
    window_bytes: usize,
    window_cut: bool,
}

impl LogBudget {
    fn new(now: Instant) -> Self {
        Self { call_lines: 0, call_bytes: 0, call_cut: false, window_start: now, window_lines: 0, window_bytes: 0, window_cut: false }
    }
}

/// What becomes of one line.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    Write,
    /// The budget just ran out: write the one truncation notice instead.
    Truncate(&'static str),
    Drop,
}

impl LogBudget {
    /// Whether every line would be dropped now (the truncation notice already written).
    fn exhausted(&self, now: Instant) -> bool {
        self.call_cut || (self.window_cut && now.duration_since(self.window_start) < Duration::from_secs(60))
    }

    fn admit(&mut self, bytes: usize, limits: &LogLimits, now: Instant) -> Verdict {
        if now.duration_since(self.window_start) >= Duration::from_secs(60) {
            (self.window_start, self.window_lines, self.window_bytes, self.window_cut) = (now, 0, 0, false);
        }
        if self.call_cut || self.window_cut {
            return Verdict::Drop;
        }
        let call_over = self.call_lines >= limits.lines_per_call || self.call_bytes.saturating_add(bytes) > limits.bytes_per_call;
        let window_over = self.window_lines >= limits.lines_per_minute || self.window_bytes.saturating_add(bytes) > limits.bytes_per_minute;
        if window_over {
            self.window_cut = true;
            return Verdict::Truncate("log output truncated: this extension reached its log budget for the minute");
        }
        if call_over {
            self.call_cut = true;
            return Verdict::Truncate("log output truncated: this call reached its log budget");
        }
        self.call_lines += 1;
        self.call_bytes += bytes;
        self.window_lines += 1;
        self.window_bytes += bytes;
        Verdict::Write
    }
}

/// Starts a call's share of the budget (the per-minute share runs on).
pub fn call_started(state: &mut OpState) {
    if let Some(budget) = state.try_borrow_mut::<LogBudget>() {
        (budget.call_lines, budget.call_bytes, budget.call_cut) = (0, 0, false);
    }
}

/// Writes one console line. `level`: 0 debug, 1 info (log), 2 warn, 3 error.
#[op2(fast)]
fn op_console_write(state: &mut OpState, level: u32, #[string] message: &str) {
    // Only snapshot creation runs JS without an identity, and it logs nothing.
    if !state.has::<ExtensionIdentity>() {
        return;
    }
    let limits = state.try_borrow::<LogLimits>().copied().unwrap_or_default();
    let now = Instant::now();
    if !state.has::<LogBudget>() {
        state.put(LogBudget::new(now));
    }
    // Past the budget a flood costs no copying or escaping, only this check.
    if state.borrow::<LogBudget>().exhausted(now) {
        metrics::counter!("alga_extension_log_lines_dropped_total").increment(1);
        return;
    }
    // Borrowed all the way unless the text had to be cut or escaped.
    let cut = truncate(message, MAX_MESSAGE_BYTES);
    let message = escape_controls(&cut);
    let verdict = state.borrow_mut::<LogBudget>().admit(message.len(), &limits, now);
    let (level, message) = match verdict {
        Verdict::Write => (
            match level {
                0 => LogLevel::Debug,
                2 => LogLevel::Warn,
                3 => LogLevel::Error,
                _ => LogLevel::Info,
            },
            message.as_ref(),
        ),
        Verdict::Truncate(notice) => {
            metrics::counter!("alga_extension_log_lines_dropped_total").increment(1);
            (LogLevel::Warn, notice)
        }
        Verdict::Drop => {
            metrics::counter!("alga_extension_log_lines_dropped_total").increment(1);
            return;
        }
    };
    let id = state.borrow::<ExtensionIdentity>();
    let line = LogLine { tenant: &id.tenant, extension: &id.extension, level, message };
    match state.try_borrow::<LogSinkRef>() {
        Some(sink) => sink.0.write(&line),
        None => TracingSink.write(&line),
    }
}

/// Whether `c` could change how a log line reads: control characters (newlines forge lines,
/// escape sequences repaint terminals), line and paragraph separators, bidirectional overrides.
fn needs_escape(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `text` with every such character written as an escape (`\n`, `\u{1b}`).
pub fn escape_controls(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return text.into();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if needs_escape(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out.into()
}

/// Cuts `text` to at most `max` bytes on a character boundary, marking the cut.
fn truncate(text: &str, max: usize) -> Cow<'_, str> {
    if text.len() <= max {
        return text.into();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… [{} bytes cut]", &text[..end], text.len() - end).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncate_keeps_short_text_and_cuts_on_char_boundaries() {
        assert_eq!(truncate("hello", 10), "hello");
        assert_eq!(truncate("héllo", 2), "h… [5 bytes cut]");
    }

    #[test]
    fn control_characters_are_escaped_so_no_line_can_be_forged() {
        assert_eq!(escape_controls("plain"), "plain");
        assert_eq!(escape_controls("a\n2026-01-01T00:00:00Z  INFO forged"), "a\\n2026-01-01T00:00:00Z  INFO forged");
        assert_eq!(escape_controls("\u{1b}[2J\r\u{202e}x"), "\\u{1b}[2J\\r\\u{202e}x");
    }

    #[test]
    fn the_budget_cuts_once_per_call_and_per_minute() {
        let limits = LogLimits { lines_per_call: 2, bytes_per_call: 100, lines_per_minute: 3, bytes_per_minute: 1000 };
        let t0 = Instant::now();
        let mut budget = LogBudget::new(t0);
        assert_eq!(budget.admit(10, &limits, t0), Verdict::Write);
        assert_eq!(budget.admit(10, &limits, t0), Verdict::Write);
        assert!(matches!(budget.admit(10, &limits, t0), Verdict::Truncate(_)));
        assert_eq!(budget.admit(10, &limits, t0), Verdict::Drop, "one notice per call");
        (budget.call_lines, budget.call_bytes, budget.call_cut) = (0, 0, false);
        assert_eq!(budget.admit(10, &limits, t0), Verdict::Write);
        assert!(matches!(budget.admit(10, &limits, t0), Verdict::Truncate(n) if n.contains("minute")));
        assert_eq!(budget.admit(1, &limits, t0 + Duration::from_secs(59)), Verdict::Drop);
        assert_eq!(budget.admit(1, &limits, t0 + Duration::from_secs(61)), Verdict::Write, "a new minute");
        let mut big = LogBudget::new(t0);
        assert!(matches!(big.admit(101, &limits, t0), Verdict::Truncate(_)), "bytes count too");
    }
}
