//! The opaque cursor of the admin list: the last install of a page (sort value and manifest id) as base64url JSON.
//!
//! Opaque to clients so its shape may change; checked on the way back in, since it is
//! client input like any other.

use alga_store::{Extension, ExtensionOrder, ExtensionSortValue};
use base64::Engine;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct Cursor {
    /// Sort field and direction the cursor was made for.
    o: String,
    /// Name, or a time in microseconds since the epoch.
    v: serde_json::Value,
    /// Manifest id.
    k: String,
}

/// Longest cursor accepted: a name and a manifest id are bounded, a cursor is too.
const MAX_CURSOR_CHARS: usize = 2048;

fn tag(order: ExtensionOrder, descending: bool) -> String {
    let field = match order {
        ExtensionOrder::Name => "name",
        ExtensionOrder::CreatedAt => "createdAt",
        ExtensionOrder::UpdatedAt => "updatedAt",
    };
    if descending {
        format!("-{field}")
    } else {
        field.to_owned()
    }
}

/// The cursor of the page that starts after `last`.
pub fn encode(order: ExtensionOrder, descending: bool, last: &Extension) -> String {
    let v = match last.sort_value(order) {
        ExtensionSortValue::Name(name) => serde_json::Value::String(name),
        ExtensionSortValue::Time(at) => serde_json::Value::from(at.timestamp_micros()),
    };
    let json = serde_json::to_vec(&Cursor { o: tag(order, descending), v, k: last.key.clone() }).unwrap_or_default();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
}

/// Reads a cursor back; `None` when it is malformed or was made for another sort.
pub fn decode(raw: &str, order: ExtensionOrder, descending: bool) -> Option<(ExtensionSortValue, String)> {
    if raw.len() > MAX_CURSOR_CHARS {
        return None;
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(raw).ok()?;
    let cursor: Cursor = serde_json::from_slice(&bytes).ok()?;
    if cursor.o != tag(order, descending) || cursor.k.contains('\0') {
        return None;
    }
    let value = match (order, cursor.v) {
        (ExtensionOrder::Name, serde_json::Value::String(name)) if !name.contains('\0') => ExtensionSortValue::Name(name),
        (ExtensionOrder::CreatedAt | ExtensionOrder::UpdatedAt, serde_json::Value::Number(n)) => {
            ExtensionSortValue::Time(chrono::DateTime::from_timestamp_micros(n.as_i64()?)?)
        }
        _ => return None,
    };
    Some((value, cursor.k))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_or_foreign_cursors_are_refused() {
        let name = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"o":"name","v":"Tags","k":"com.x"}"#);
        assert_eq!(decode(&name, ExtensionOrder::Name, false), Some((ExtensionSortValue::Name("Tags".into()), "com.x".into())));
        assert_eq!(decode(&name, ExtensionOrder::Name, true), None, "made for another direction");
        assert_eq!(decode(&name, ExtensionOrder::CreatedAt, false), None, "made for another field");
        let nul = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"o":"name","v":"a\u0000","k":"k"}"#);
        for bad in ["", "!!!", "e30", nul.as_str(), &"A".repeat(MAX_CURSOR_CHARS + 1)] {
            assert_eq!(decode(bad, ExtensionOrder::Name, false), None, "{bad}");
        }
    }
}
