//! `console.*` for extension code: formatted in JS, emitted in Rust as `tracing` events
//! tagged with the isolate's tenant and extension.

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

/// Writes one console line. `level`: 0 debug, 1 info (log), 2 warn, 3 error.
#[op2(fast)]
fn op_console_write(state: &mut OpState, level: u32, #[string] message: &str) {
    // Only snapshot creation runs JS without an identity, and it logs nothing.
    let Some(id) = state.try_borrow::<ExtensionIdentity>() else { return };
    let message = truncate(message, MAX_MESSAGE_BYTES);
    let (tenant, extension) = (id.tenant.as_str(), id.extension.as_str());
    match level {
        0 => tracing::debug!(target: "extension", tenant, extension, "{message}"),
        2 => tracing::warn!(target: "extension", tenant, extension, "{message}"),
        3 => tracing::error!(target: "extension", tenant, extension, "{message}"),
        _ => tracing::info!(target: "extension", tenant, extension, "{message}"),
    }
}

/// Cuts `text` to at most `max` bytes on a character boundary, marking the cut.
fn truncate(text: &str, max: usize) -> std::borrow::Cow<'_, str> {
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
    use super::truncate;

    #[test]
    fn truncate_keeps_short_text_and_cuts_on_char_boundaries() {
        assert_eq!(truncate("hello", 10), "hello");
        assert_eq!(truncate("héllo", 2), "h… [5 bytes cut]");
    }
}
