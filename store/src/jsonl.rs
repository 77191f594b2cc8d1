//! Storage import's JSON Lines, before any database sees them: the body framed into numbered
//! lines as it arrives, and each line read into a checked [`PortableValue`].
//!
//! The HTTP layer feeds the body's chunks to [`JsonLines`]; the registry's import hands every
//! line to [`parse_import_line`] and keeps what only it can judge (duplicates, expiry, the key
//! quota). Both live here, free of V8, so the fuzz target `jsonl_import` runs the same code.

use crate::checks::{name_problem, value_problem, ValueValidator, MAX_VALUE_BYTES};
use crate::PortableValue;

/// Splits a body that arrives in chunks into lines, numbered from 1. A line is everything
/// before a `\n`; what follows the last `\n` is a last line unless it is empty.
#[derive(Debug, Default)]
pub struct JsonLines {
    /// The start of a line whose end has not arrived yet.
    pending: Vec<u8>,
    /// Lines handed out so far.
    line_no: usize,
}

impl JsonLines {
    /// Hands `each` every line that `chunk` completes, with its number. Each byte is looked
    /// at once, so a long line arriving in many small chunks costs no more than a short one.
    pub fn push<E>(&mut self, chunk: &[u8], mut each: impl FnMut(&[u8], usize) -> Result<(), E>) -> Result<(), E> {
        let mut rest = chunk;
        while let Some(end) = rest.iter().position(|b| *b == b'\n') {
            self.line_no += 1;
            if self.pending.is_empty() {
                each(&rest[..end], self.line_no)?;
            } else {
                self.pending.extend_from_slice(&rest[..end]);
                each(&self.pending, self.line_no)?;
                self.pending.clear();
            }
            rest = &rest[end + 1..];
        }
        self.pending.extend_from_slice(rest);
        Ok(())
    }

    /// Hands `each` the last line when the body did not end with `\n`.
    pub fn finish<E>(self, mut each: impl FnMut(&[u8], usize) -> Result<(), E>) -> Result<(), E> {
        if self.pending.is_empty() {
            return Ok(());
        }
        each(&self.pending, self.line_no + 1)
    }
}

/// Reads one import line (a trailing `\r` allowed): `None` for a blank line, else the value
/// with its names, nesting, NUL, revision, size and the namespace's schema checked — the same
/// rules a storage write follows, so whatever an export wrote imports again.
pub fn parse_import_line(line: &[u8], schemas: Option<&dyn ValueValidator>) -> Result<Option<PortableValue>, String> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let value: PortableValue = serde_json::from_slice(line).map_err(|e| e.to_string())?;
    if let Some(problem) = name_problem(&value.namespace, Some(&value.key)) {
        return Err(problem);
    }
    if let Some(problem) = value_problem(&value.value) {
        return Err(problem);
    }
    if value.revision < 1 {
        return Err(format!("revision {} is not 1 or more", value.revision));
    }
    let size = crate::json_size(&value.value) as usize;
    if size > MAX_VALUE_BYTES {
        return Err(format!("value is {size} bytes; the limit is {MAX_VALUE_BYTES}"));
    }
    if let Some(problem) = schemas.and_then(|s| s.check(&value.namespace, &value.value).err()) {
        return Err(problem);
    }
    Ok(Some(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lines `chunks` frame into, as (number, text).
    fn frame(chunks: &[&[u8]]) -> Vec<(usize, String)> {
        let mut lines = JsonLines::default();
        let mut out = Vec::new();
        let mut keep = |line: &[u8], no: usize| {
            out.push((no, String::from_utf8_lossy(line).into_owned()));
            Ok::<_, ()>(())
        };
        for chunk in chunks {
            lines.push(chunk, &mut keep).unwrap();
        }
        lines.finish(&mut keep).unwrap();
        out
    }

    #[test]
    fn lines_are_numbered_the_same_however_the_body_is_cut() {
        let expected = vec![(1, "a".to_owned()), (2, String::new()), (3, "bc".to_owned())];
        assert_eq!(frame(&[b"a\n\nbc"]), expected);
        assert_eq!(frame(&[b"a", b"\n", b"\nb", b"c\n"]), expected, "a trailing newline ends the last line");
        assert_eq!(frame(&[b"", b"a\n\n", b"b", b"", b"c"]), expected);
        assert!(frame(&[b""]).is_empty());
    }

    #[test]
    fn a_refused_line_stops_the_framing() {
        let mut lines = JsonLines::default();
        let mut seen = Vec::new();
        let result = lines.push(b"1\n2\n3\n", |line: &[u8], no| {
            seen.push(no);
            if line == b"2" {
                Err(no)
            } else {
                Ok(())
            }
        });
        assert_eq!((result, seen), (Err(2), vec![1, 2]));
    }

    struct NoNumbersIn(&'static str);

    impl ValueValidator for NoNumbersIn {
        fn check(&self, namespace: &str, value: &serde_json::Value) -> Result<(), String> {
            if namespace == self.0 && value.is_number() {
                return Err(format!("no numbers in {namespace}"));
            }
            Ok(())
        }
    }

    #[test]
    fn import_lines_follow_the_write_rules() {
        let parse = |line: &str| parse_import_line(line.as_bytes(), Some(&NoNumbersIn("strict")));
        let ok = parse("{\"namespace\":\"ns\",\"key\":\"k\",\"value\":{\"a\":1},\"revision\":3}\r").unwrap().unwrap();
        assert_eq!((ok.namespace.as_str(), ok.key.as_str(), ok.revision), ("ns", "k", 3));
        assert_eq!(parse(" \t\r").unwrap(), None, "blank lines are skipped");
        let refused = [
            ("{\"key\":\"k\",\"value\":1,\"extra\":0}", "unknown field"),
            ("{\"namespace\":\"a b\",\"key\":\"k\",\"value\":1}", "namespace"),
            ("{\"key\":\"\",\"value\":1}", "keys have 1 to 256"),
            ("{\"key\":\"k\",\"value\":\"a\\u0000\"}", "NUL"),
            ("{\"key\":\"k\",\"value\":1,\"revision\":0}", "revision 0"),
            ("{\"namespace\":\"strict\",\"key\":\"k\",\"value\":1}", "no numbers in strict"),
        ];
        for (line, words) in refused {
            let err = parse(line).unwrap_err();
            assert!(err.contains(words), "{line}: {err}");
        }
        let big = format!("{{\"key\":\"k\",\"value\":\"{}\"}}", "x".repeat(MAX_VALUE_BYTES));
        assert!(parse(&big).unwrap_err().contains("the limit is"));
    }
}
