//! What other writers changed in a shared database, as a stream a node applies to its caches.
//!
//! Only PostgreSQL has one: several runtime nodes share it, and its triggers announce every
//! committed change of registry rows, role grants and storage values (ids, never values) with
//! `NOTIFY`. SQLite serves one node, which sees its own writes.

use serde::Deserialize;
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::TenantId;

/// One committed change made elsewhere (another node, or another writer such as the host app
/// editing role grants).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// An extension's registry rows: its record, versions, grants or settings. `isolates`:
    /// its version, limits or state changed (or it is gone), so isolates built for it go.
    Extension { tenant: TenantId, extension: Uuid, isolates: bool },
    /// A tenant's roles or role grants.
    Roles { tenant: TenantId },
    /// A storage value; `key: None` when the change names the whole extension's storage.
    Storage { tenant: TenantId, extension: Uuid, namespace: String, key: Option<String> },
}

/// What the feed tells its reader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedEvent {
    Change(Change),
    /// The feed is listening (again). Changes made while it was not were missed: whatever the
    /// reader cached may be stale and is to be dropped once.
    Listening,
    /// The connection that listens was lost; the feed reconnects with backoff.
    Lost {
        reason: String,
    },
}

/// A running feed; dropping it stops the listener.
pub struct ChangeFeed {
    pub(crate) events: mpsc::Receiver<FeedEvent>,
    /// This node's id, as its connections announce it: its own changes are not fed back.
    pub node: Uuid,
    /// The channel listened on (one per database schema).
    pub channel: String,
}

impl ChangeFeed {
    /// The next event; `None` once the feed stopped for good.
    pub async fn next(&mut self) -> Option<FeedEvent> {
        self.events.recv().await
    }
}

/// A notification's payload as the triggers write it (see the migration
/// `change_notifications`): `n` node, `k` kind, `t` tenant, `e` install, `s`/`y` storage key,
/// `i` isolates to retire.
#[derive(Deserialize)]
struct Payload {
    #[serde(default)]
    n: String,
    k: String,
    t: String,
    #[serde(default)]
    e: Option<Uuid>,
    #[serde(default)]
    s: Option<String>,
    #[serde(default)]
    y: Option<String>,
    #[serde(default)]
    i: bool,
}

/// Why a payload was not understood.
#[derive(Debug, thiserror::Error)]
#[error("unreadable change notification: {0}")]
pub struct PayloadError(String);

/// Reads one payload: `Ok(None)` when it is this node's own change.
pub fn parse_payload(text: &str, own_node: &str) -> Result<Option<Change>, PayloadError> {
    let p: Payload = serde_json::from_str(text).map_err(|e| PayloadError(e.to_string()))?;
    if !p.n.is_empty() && p.n == own_node {
        return Ok(None);
    }
    let tenant = TenantId::parse(&p.t).map_err(|e| PayloadError(e.to_string()))?;
    let extension = || p.e.ok_or_else(|| PayloadError(format!("kind {:?} without an install id", p.k)));
    let change = match p.k.as_str() {
        "x" => Change::Extension { tenant, extension: extension()?, isolates: p.i },
        "r" => Change::Roles { tenant },
        "s" => Change::Storage {
            tenant,
            extension: extension()?,
            namespace: p.s.clone().unwrap_or_default(),
            // A key without its namespace cannot be named exactly: the whole extension then.
            key: p.s.as_ref().and(p.y.clone()),
        },
        other => return Err(PayloadError(format!("unknown kind {other:?}"))),
    };
    Ok(Some(change))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_become_changes_and_a_nodes_own_are_skipped() {
        let id = Uuid::new_v4();
        let acme = TenantId::parse("acme").unwrap();
        let x = format!(r#"{{"n":"a","k":"x","t":"acme","e":"{id}"}}"#);
        assert_eq!(parse_payload(&x, "b").unwrap(), Some(Change::Extension { tenant: acme.clone(), extension: id, isolates: false }));
        let updated = format!(r#"{{"n":"a","k":"x","t":"acme","e":"{id}","i":true}}"#);
        assert_eq!(parse_payload(&updated, "b").unwrap(), Some(Change::Extension { tenant: acme.clone(), extension: id, isolates: true }));
        assert_eq!(parse_payload(&x, "a").unwrap(), None, "its own change");
        let host = r#"{"n":"","k":"r","t":"acme"}"#;
        assert_eq!(parse_payload(host, "").unwrap(), Some(Change::Roles { tenant: acme.clone() }), "another writer's, whoever reads");
        let s = format!(r#"{{"n":"a","k":"s","t":"acme","e":"{id}","s":"","y":"k\u0000"}}"#);
        let key = Some("k\0".to_owned());
        assert_eq!(parse_payload(&s, "b").unwrap(), Some(Change::Storage { tenant: acme.clone(), extension: id, namespace: String::new(), key }));
        let whole = format!(r#"{{"n":"a","k":"s","t":"acme","e":"{id}"}}"#);
        assert_eq!(parse_payload(&whole, "b").unwrap(), Some(Change::Storage { tenant: acme, extension: id, namespace: String::new(), key: None }));
    }

    #[test]
    fn unreadable_payloads_are_errors_not_panics() {
        for bad in ["", "{}", r#"{"k":"x","t":"acme"}"#, r#"{"k":"q","t":"acme"}"#, r#"{"k":"r","t":""}"#, r#"{"k":"x","t":"acme","e":"no"}"#] {
            assert!(parse_payload(bad, "me").is_err(), "{bad}");
        }
    }
}
