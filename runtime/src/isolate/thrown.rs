//! What an exception the extension did not catch tells its author: the message, and a stack
//! of the frames in the author's own files (`alga-bundle:///src/index.ts:12:5`, source-mapped
//! for TypeScript), without the runtime's frames around them.

use deno_core::error::{CoreError, CoreErrorKind, JsError, JsStackFrame};

use super::IsolateError;

/// Frames kept of one stack: enough to find the line, bounded for logs and answers.
const MAX_FRAMES: usize = 20;
/// Longest message kept; an exception can carry any text, a log line should not.
const MAX_MESSAGE_CHARS: usize = 1000;
/// Causes followed (`new Error("…", { cause })`), each with its own frames.
const MAX_CAUSES: usize = 3;

/// Whether a frame is the extension's own code: a module of its bundle.
fn is_author_frame(frame: &JsStackFrame) -> bool {
    frame.file_name.as_deref().is_some_and(|file| file.starts_with(super::loader::BUNDLE_SCHEME))
}

/// One frame as V8 prints it: `    at name (file:line:col)`, or `    at file:line:col` for
/// top-level code.
fn frame_line(frame: &JsStackFrame) -> Option<String> {
    let location = frame.maybe_format_location()?;
    let prefix = match (frame.is_async, frame.is_constructor) {
        (true, _) => "async ",
        (false, true) => "new ",
        _ => "",
    };
    Some(match &frame.function_name {
        Some(name) if !name.is_empty() => format!("    at {prefix}{name} ({location})"),
        _ => format!("    at {prefix}{location}"),
    })
}

/// The exception's own words: V8's "Uncaught Error: …" without the "Uncaught".
fn message_of(error: &JsError) -> String {
    let text = error.exception_message.as_str();
    let text = text.strip_prefix("Uncaught (in promise) ").or_else(|| text.strip_prefix("Uncaught ")).unwrap_or(text);
    match text.char_indices().nth(MAX_MESSAGE_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// `message` then the author's frames, then each cause the same way.
fn stack_of(error: &JsError) -> String {
    let mut stack = message_of(error);
    let mut current = Some(error);
    for depth in 0..=MAX_CAUSES {
        let Some(error) = current else { break };
        if depth > 0 {
            stack.push_str("\nCaused by: ");
            stack.push_str(&message_of(error));
        }
        for line in error.frames.iter().filter(|f| is_author_frame(f)).take(MAX_FRAMES).filter_map(frame_line) {
            stack.push('\n');
            stack.push_str(&line);
        }
        current = error.cause.as_deref();
    }
    stack
}

/// The error of a JavaScript exception the extension did not catch. A storage call's
/// `StorageError` whose code says the database was out of reach is the runtime's failure,
/// not the author's, and is told apart (deno_core lists the properties Rust set on an
/// error it built, `code` among them).
pub(super) fn from_js(error: &JsError) -> IsolateError {
    let store_unavailable = error.name.as_deref() == Some("StorageError")
        && error.additional_properties.iter().any(|(key, value)| key == "code" && value == "STORE_UNAVAILABLE");
    if store_unavailable {
        return IsolateError::StoreUnavailable;
    }
    IsolateError::Threw { message: message_of(error), stack: stack_of(error) }
}

/// A failure of deno_core: the extension's uncaught exception when it is one, else the
/// failure's own words (a module that does not resolve, a syntax error, ...).
pub(super) fn from_core(error: CoreError) -> IsolateError {
    match error.0.as_ref() {
        CoreErrorKind::Js(js) => from_js(js),
        _ => IsolateError::Script(error.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(file: &str, function: Option<&str>, line: i64) -> JsStackFrame {
        JsStackFrame {
            type_name: None,
            function_name: function.map(str::to_owned),
            method_name: None,
            file_name: Some(file.to_owned()),
            line_number: Some(line),
            column_number: Some(9),
            eval_origin: None,
            is_top_level: None,
            is_eval: false,
            is_native: false,
            is_constructor: false,
            is_async: false,
            is_promise_all: false,
            is_wasm: false,
            promise_index: None,
        }
    }

    fn error(message: &str, frames: Vec<JsStackFrame>, cause: Option<JsError>) -> JsError {
        JsError {
            name: None,
            message: None,
            stack: None,
            cause: cause.map(Box::new),
            exception_message: message.to_owned(),
            frames,
            source_line: None,
            source_line_frame_index: None,
            aggregated: None,
            additional_properties: Vec::new(),
            stack_is_custom: false,
        }
    }

    #[test]
    fn the_stack_keeps_only_the_authors_frames_and_follows_causes() {
        let inner = error("Error: disk says no", vec![frame("alga-bundle:///lib/db.js", Some("read"), 4)], None);
        let outer = error(
            "Uncaught (in promise) TypeError: no tags today",
            vec![
                frame("ext:alga_storage/00_storage.js", Some("get"), 80),
                frame("alga-bundle:///src/index.ts", Some("helper"), 12),
                frame("alga:dispatch.js", Some("dispatch"), 200),
                frame("alga-bundle:///src/index.ts", None, 3),
            ],
            Some(inner),
        );
        let IsolateError::Threw { message, stack } = from_js(&outer) else { panic!("not Threw") };
        assert_eq!(message, "TypeError: no tags today");
        assert_eq!(
            stack,
            "TypeError: no tags today\n    at helper (alga-bundle:///src/index.ts:12:9)\n    at alga-bundle:///src/index.ts:3:9\n\
             Caused by: Error: disk says no\n    at read (alga-bundle:///lib/db.js:4:9)"
        );
    }

    #[test]
    fn thrown_values_without_frames_and_long_messages_are_kept_short() {
        let IsolateError::Threw { message, stack } = from_js(&error("Uncaught oops", Vec::new(), None)) else { panic!("not Threw") };
        assert_eq!((message.as_str(), stack.as_str()), ("oops", "oops"));
        let long = format!("Uncaught Error: {}", "x".repeat(5000));
        let IsolateError::Threw { message, .. } = from_js(&error(&long, Vec::new(), None)) else { panic!("not Threw") };
        assert_eq!(message.chars().count(), MAX_MESSAGE_CHARS + 1, "cut, with an ellipsis");
    }

    #[test]
    fn only_a_storage_error_saying_the_database_is_away_is_told_apart() {
        let storage = |name: &str, code: &str| JsError {
            name: Some(name.to_owned()),
            additional_properties: vec![("code".to_owned(), code.to_owned())],
            ..error("Uncaught (in promise) StorageError: storage is unavailable", Vec::new(), None)
        };
        assert!(matches!(from_js(&storage("StorageError", "STORE_UNAVAILABLE")), IsolateError::StoreUnavailable));
        assert!(matches!(from_js(&storage("StorageError", "BUSY")), IsolateError::Threw { .. }), "the extension's own trouble");
        assert!(matches!(from_js(&storage("Error", "STORE_UNAVAILABLE")), IsolateError::Threw { .. }), "only a StorageError");
    }
}
