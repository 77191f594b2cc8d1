//! Fuzz target: a storage import body through `JsonLines` (framed in chunks whose size the
//! first byte picks) and `parse_import_line`. The framing must match a plain split at `\n`
//! however the body is cut, and every accepted line must import again, unchanged, from what
//! an export writes for it.
#![no_main]

use alga_store::jsonl::{parse_import_line, JsonLines};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&cut, body)) = data.split_first() else { return };
    let mut expected: Vec<&[u8]> = body.split(|b| *b == b'\n').collect();
    if expected.last().is_some_and(|last| last.is_empty()) {
        expected.pop();
    }

    let mut framed: Vec<(usize, Vec<u8>)> = Vec::new();
    let mut lines = JsonLines::default();
    let mut keep = |line: &[u8], no: usize| {
        framed.push((no, line.to_vec()));
        Ok::<_, ()>(())
    };
    for chunk in body.chunks(usize::from(cut) + 1) {
        lines.push(chunk, &mut keep).expect("keep never fails");
    }
    lines.finish(&mut keep).expect("keep never fails");
    assert_eq!(framed.len(), expected.len(), "line count");
    for (i, ((no, line), want)) in framed.iter().zip(&expected).enumerate() {
        assert_eq!((*no, line.as_slice()), (i + 1, *want), "line {}", i + 1);
    }

    for (_, line) in &framed {
        let Ok(Some(value)) = parse_import_line(line, None) else { continue };
        let exported = serde_json::to_vec(&value).expect("a checked value serializes");
        assert!(!exported.contains(&b'\n'), "an export line holds a newline");
        let again = parse_import_line(&exported, None).map_err(|e| format!("{e}: {}", String::from_utf8_lossy(&exported)));
        assert_eq!(again, Ok(Some(value)), "an exported line does not import to the same value");
    }
});
