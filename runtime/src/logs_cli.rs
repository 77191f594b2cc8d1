//! `alga-ext logs EXTENSION`: an installed extension's recent console output and failures from a server, optionally followed live.

use std::io::{IsTerminal, Write};

use anyhow::Context;
use serde_json::Value;

use crate::cli::LogsArgs;

/// The token to call with: the one given, or one minted for an admin of `--tenant`.
fn token(args: &LogsArgs) -> anyhow::Result<String> {
    if let Some(token) = &args.token {
        return Ok(token.clone());
    }
    let tenant = args.tenant.as_deref().context("--token (ALGA_EXT_TOKEN) or --tenant is needed")?;
    let tenant = alga_store::TenantId::parse(tenant).map_err(|e| anyhow::anyhow!("--tenant: {e}"))?;
    let keys = crate::config::checked_keys(args.jwt_secret.as_deref().unwrap_or_default())?;
    let roles = ["admin".to_owned()];
    keys.mint(&tenant, "alga-ext-logs", &roles, std::time::Duration::from_secs(3600))
        .map_err(|e| anyhow::anyhow!("--jwt-secret (ALGA_EXT_JWT_SECRET): {e}"))
}

pub async fn run(args: &LogsArgs) -> anyhow::Result<()> {
    let token = token(args)?;
    let base = args.url.trim_end_matches('/');
    let id = utf8_percent_encode(&args.extension);
    let mut url = format!("{base}/admin/v1/extensions/{id}/logs?level={}&limit={}", args.level.as_str(), args.limit);
    if args.follow {
        url.push_str("&follow=1");
    }
    let client = reqwest::Client::new();
    let res = client.get(&url).bearer_auth(&token).send().await.with_context(|| format!("--url (ALGA_EXT_URL): cannot reach {base}"))?;
    if !args.follow {
        let body = crate::bundle_cli::api_result(res).await?;
        let mut entries = body["entries"].as_array().cloned().unwrap_or_default();
        if entries.is_empty() {
            eprintln!("no log entries yet for {} on this server", args.extension);
        }
        // The server answers newest first; a terminal reads oldest first.
        entries.reverse();
        let mut out = std::io::stdout().lock();
        for entry in &entries {
            writeln!(out, "{}", format_entry(entry, color()))?;
        }
        return Ok(());
    }
    if !res.status().is_success() {
        crate::bundle_cli::api_result(res).await?;
        return Ok(());
    }
    eprintln!("following {} (Ctrl-C to stop)", args.extension);
    let mut res = res;
    each_event(&mut res, print_event).await.context("the log stream broke off")?;
    eprintln!("the server closed the stream (the extension was uninstalled, or the server stopped)");
    Ok(())
}

/// Reads a followed log (`text/event-stream`) to its end, handing each event's name and
/// data to `on`; `alga-ext logs --follow` and `alga-ext dev` both read it this way.
pub(crate) async fn each_event(res: &mut reqwest::Response, mut on: impl FnMut(&str, &str)) -> reqwest::Result<()> {
    let mut pending = String::new();
    while let Some(chunk) = res.chunk().await? {
        pending.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = pending.find("\n\n") {
            let block: String = pending.drain(..end + 2).collect();
            let mut event = "message";
            let mut data = String::new();
            for line in block.lines() {
                if let Some(name) = line.strip_prefix("event:") {
                    event = name.trim();
                } else if let Some(text) = line.strip_prefix("data:") {
                    data.push_str(text.trim_start());
                }
            }
            on(event, &data);
        }
    }
    Ok(())
}

/// One server-sent event: a `log` entry, or a note that entries were missed.
fn print_event(event: &str, data: &str) {
    match event {
        "log" => {
            let entry: Value = serde_json::from_str(data).unwrap_or(Value::Null);
            println!("{}", format_entry(&entry, color()));
        }
        "missed" => {
            let missed: Value = serde_json::from_str(data).unwrap_or(Value::Null);
            eprintln!("… {} entries missed (this terminal fell behind)", missed["missed"]);
        }
        _ => {}
    }
}

fn color() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// `2026-12-01T16:30:00Z WARN  console careful`; a failure shows its code.
pub(crate) fn format_entry(entry: &Value, color: bool) -> String {
    let at = entry["at"].as_str().unwrap_or("");
    let level = entry["level"].as_str().unwrap_or("info");
    let source = entry["source"].as_str().unwrap_or("");
    // The server escapes what extensions write; a terminal must not trust that alone. A
    // stack's line breaks are shown again, indented, so no line can pass for an entry.
    let message = alga_ops::console::escape_controls(entry["message"].as_str().unwrap_or("")).replace("\\n", "\n        ");
    let message = match entry["code"].as_str() {
        Some(code) => format!("{code}: {message}"),
        None => message,
    };
    let label = format!("{:<5}", level.to_uppercase());
    let label = match (color, level) {
        (false, _) => label,
        (true, "error") => format!("\x1b[31m{label}\x1b[0m"),
        (true, "warn") => format!("\x1b[33m{label}\x1b[0m"),
        (true, "debug") => format!("\x1b[2m{label}\x1b[0m"),
        (true, _) => format!("\x1b[32m{label}\x1b[0m"),
    };
    format!("{at} {label} {source:<7} {message}")
}

/// The extension id as one path segment (manifest ids are dotted; nothing else is expected).
fn utf8_percent_encode(raw: &str) -> String {
    raw.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_read_as_lines_with_the_failure_code() {
        let entry = serde_json::json!({ "at": "2026-12-01T16:30:00Z", "level": "error", "source": "runtime", "code": "EXTENSION_CPU_LIMIT", "message": "over" });
        assert_eq!(format_entry(&entry, false), "2026-12-01T16:30:00Z ERROR runtime EXTENSION_CPU_LIMIT: over");
        assert!(format_entry(&entry, true).contains("\x1b[31mERROR\x1b[0m"));
        let stack = serde_json::json!({ "at": "t", "level": "error", "source": "runtime", "message": "boom\n    at f (a.js:1:2)\u{1b}[2J" });
        assert_eq!(format_entry(&stack, false), "t ERROR runtime boom\n            at f (a.js:1:2)\\u{1b}[2J");
        assert_eq!(utf8_percent_encode("com.example/x y"), "com.example%2Fx%20y");
    }
}
