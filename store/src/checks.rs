//! What storage refuses before any database sees it, shared by the ops and storage import so
//! that whatever one accepts the other does too (every export re-imports).
//!
//! It lives in the store crate, free of V8, so that the parsers built on it (the search
//! filters here, import lines in `jsonl.rs`) can be fuzzed; `alga-ops` re-exports it.

use serde::Deserialize;
use serde_json::Value;

use crate::{Filter, FilterOp};

/// Longest key, in characters.
pub const MAX_KEY_CHARS: usize = 256;
/// Largest value, as stored JSON.
pub const MAX_VALUE_BYTES: usize = 64 * 1024;
/// Longest namespace name.
pub const MAX_NAMESPACE_CHARS: usize = 64;

/// Deepest nesting of arrays and objects a stored value may have. Import parses JSON with a
/// recursion limit of 128, so everything written below this re-imports.
pub const MAX_VALUE_DEPTH: usize = 64;

/// What is wrong with a namespace and key, if anything (shared with storage import).
pub fn name_problem(namespace: &str, key: Option<&str>) -> Option<String> {
    let ns_ok = namespace.chars().count() <= MAX_NAMESPACE_CHARS && namespace.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
    if !ns_ok {
        return Some(format!("namespace {namespace:?} must be at most {MAX_NAMESPACE_CHARS} characters of [A-Za-z0-9._-]"));
    }
    if let Some(key) = key {
        let n = key.chars().count();
        if n == 0 || n > MAX_KEY_CHARS {
            return Some(format!("keys have 1 to {MAX_KEY_CHARS} characters, not {n}"));
        }
        if let Some(problem) = text_problem("key", key) {
            return Some(problem);
        }
    }
    None
}

/// PostgreSQL text and JSONB cannot hold NUL; refused on every backend alike.
pub fn text_problem(field: &str, text: &str) -> Option<String> {
    text.contains('\0').then(|| format!("{field} cannot contain NUL characters"))
}

/// What is wrong with a value to store, if anything: nesting deeper than `MAX_VALUE_DEPTH`,
/// or NUL in any string or object key (named by its JSON pointer).
pub fn value_problem(value: &Value) -> Option<String> {
    // Iterative, so a hostile depth cannot exhaust the stack before it is measured.
    let mut stack: Vec<(&Value, usize, String)> = vec![(value, 0, String::new())];
    while let Some((value, depth, pointer)) = stack.pop() {
        match value {
            Value::String(s) if s.contains('\0') => return Some(format!("value{pointer}: strings cannot contain NUL characters")),
            Value::Array(_) | Value::Object(_) if depth >= MAX_VALUE_DEPTH => {
                return Some(format!("value{pointer}: nested deeper than {MAX_VALUE_DEPTH} levels"));
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    stack.push((item, depth + 1, format!("{pointer}/{i}")));
                }
            }
            Value::Object(fields) => {
                for (name, item) in fields {
                    if name.contains('\0') {
                        return Some(format!("value{pointer}: object keys cannot contain NUL characters"));
                    }
                    stack.push((item, depth + 1, format!("{pointer}/{}", name.replace('~', "~0").replace('/', "~1"))));
                }
            }
            _ => {}
        }
    }
    None
}

/// Checks values against the extension's declared per-namespace schemas.
pub trait ValueValidator: Send + Sync {
    /// `Err` names the namespace and the path at fault.
    fn check(&self, namespace: &str, value: &Value) -> Result<(), String>;
}

/// One search filter as an extension passes it: `{ path: "a.b", op, value }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilterArg {
    pub path: String,
    pub op: FilterOp,
    pub value: Value,
}

/// An extension's search filters as the store takes them: NUL refused in paths and values
/// (a value also nested at most `MAX_VALUE_DEPTH`), and each dotted path split into its
/// segments. The store's own `Filter::check` (segments, count, value types) runs after.
pub fn parse_filters(filters: Vec<FilterArg>) -> Result<Vec<Filter>, String> {
    for filter in &filters {
        if let Some(problem) = text_problem("path", &filter.path) {
            return Err(problem);
        }
        if let Some(problem) = value_problem(&filter.value) {
            return Err(format!("{}: {problem}", filter.path));
        }
    }
    Ok(filters.into_iter().map(|f| Filter { path: f.path.split('.').map(str::to_owned).collect(), op: f.op, value: f.value }).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn nested(levels: usize) -> Value {
        (0..levels).fold(json!(1), |inner, _| json!([inner]))
    }

    #[test]
    fn nul_anywhere_in_a_value_is_named_by_pointer() {
        assert_eq!(value_problem(&json!({ "a": ["ok", "x\u{0}y"] })).unwrap(), "value/a/1: strings cannot contain NUL characters");
        assert!(value_problem(&json!({ "k\u{0}": 1 })).unwrap().contains("object keys"));
        assert!(value_problem(&json!({ "a": "fine", "b": [1, { "c": null }] })).is_none());
        assert!(name_problem("ns", Some("a\u{0}b")).unwrap().contains("NUL"));
    }

    #[test]
    fn depth_is_capped_below_what_import_parses() {
        assert!(value_problem(&nested(MAX_VALUE_DEPTH)).is_none());
        assert!(value_problem(&nested(MAX_VALUE_DEPTH + 1)).unwrap().contains("nested deeper"));
        // What the cap lets through, serde_json (import) reads back.
        let text = nested(MAX_VALUE_DEPTH).to_string();
        assert!(serde_json::from_str::<Value>(&text).is_ok());
    }

    #[test]
    fn search_filters_are_split_and_checked_before_the_store_sees_them() {
        let parse = |filters: Value| parse_filters(serde_json::from_value(filters).unwrap());
        let ok = parse(json!([{ "path": "a.b", "op": "gte", "value": 3 }, { "path": "c", "op": "exists", "value": true }])).unwrap();
        assert_eq!(ok[0], Filter { path: vec!["a".into(), "b".into()], op: FilterOp::Gte, value: json!(3) });
        assert_eq!(ok[1].path, vec!["c".to_owned()]);
        assert!(parse(json!([{ "path": "a\u{0}", "op": "eq", "value": 1 }])).unwrap_err().contains("path cannot contain NUL"));
        assert_eq!(parse(json!([{ "path": "a", "op": "eq", "value": "x\u{0}" }])).unwrap_err(), "a: value: strings cannot contain NUL characters");
        assert!(serde_json::from_value::<Vec<FilterArg>>(json!([{ "path": "a", "op": "like", "value": 1 }])).is_err());
        assert!(serde_json::from_value::<Vec<FilterArg>>(json!([{ "path": "a", "op": "eq", "value": 1, "x": 0 }])).is_err());
    }
}
