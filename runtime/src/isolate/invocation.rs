//! What a handler call carries into the isolate, and the per-isolate memory of the `ctx`
//! objects JavaScript has already built.
//!
//! Requests cross into V8 as one JSON string (`JSON.parse` makes compact objects faster
//! than building them property by property), and a `ctx` identical to a recent one is not
//! sent at all: JavaScript keeps the frozen object and gets only its id.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

/// One handler call: the export to call, the request as the handler sees it, and what its
/// `ctx` is built from.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub handler: String,
    /// The handler's first argument as JSON text.
    pub request: String,
    pub ctx: Arc<CtxData>,
    /// Pages may answer with a bare HTML string.
    pub is_page: bool,
}

/// The data behind a handler's `ctx`: who calls, which extension, its settings and the
/// permissions in force.
#[derive(Debug, Clone, Serialize)]
pub struct CtxData {
    pub tenant: String,
    pub user: CtxUser,
    pub extension: CtxExtension,
    #[serde(serialize_with = "arc_map")]
    pub settings: Arc<Map<String, Value>>,
    pub permissions: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CtxUser {
    pub id: String,
    pub roles: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CtxExtension {
    pub id: String,
    pub key: String,
    pub version: String,
    /// Where the serving version's static assets are (`/ext-ui/{id}/sha256:{hash}/`), for
    /// pages rendered by a handler to link their styles and scripts.
    #[serde(rename = "assetsUrl")]
    pub assets_url: String,
}

fn arc_map<S: Serializer>(map: &Arc<Map<String, Value>>, serializer: S) -> Result<S::Ok, S::Error> {
    map.as_ref().serialize(serializer)
}

/// How many distinct contexts one isolate keeps built (users × settings versions).
const KEPT_CONTEXTS: usize = 64;

/// What JavaScript must do with its context table for one call.
#[derive(Debug, PartialEq)]
pub struct CtxLookup {
    pub id: u32,
    /// Present when JavaScript does not have this context yet.
    pub json: Option<String>,
    /// A context id JavaScript may forget; `Some(u32::MAX)` means all of them.
    pub evict: Option<u32>,
}

/// The Rust side's copy of which contexts JavaScript holds, kept in step with it.
#[derive(Debug, Default)]
pub struct CtxTable {
    ids: HashMap<String, u32>,
    order: VecDeque<String>,
    next: u32,
    /// Set after a failed call: JavaScript's table may differ, so it starts over.
    reset: bool,
}

impl CtxTable {
    pub fn lookup(&mut self, ctx: &CtxData) -> Result<CtxLookup, serde_json::Error> {
        let json = serde_json::to_string(ctx)?;
        let mut evict = None;
        if std::mem::take(&mut self.reset) {
            self.ids.clear();
            self.order.clear();
            evict = Some(u32::MAX);
        }
        if let Some(&id) = self.ids.get(&json) {
            return Ok(CtxLookup { id, json: None, evict });
        }
        if self.order.len() >= KEPT_CONTEXTS && evict.is_none() {
            if let Some(oldest) = self.order.pop_front() {
                evict = self.ids.remove(&oldest);
            }
        }
        self.next = self.next.wrapping_add(1) % (u32::MAX - 1);
        let id = self.next;
        self.ids.insert(json.clone(), id);
        self.order.push_back(json.clone());
        Ok(CtxLookup { id, json: Some(json), evict })
    }

    /// Forgets everything after a call that may not have reached JavaScript's table.
    pub fn reset(&mut self) {
        self.reset = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(user: &str) -> CtxData {
        CtxData {
            tenant: "acme".into(),
            user: CtxUser { id: user.into(), roles: vec![] },
            extension: CtxExtension { id: "x".into(), key: "com.x".into(), version: "1.0.0".into(), assets_url: String::new() },
            settings: Arc::new(Map::new()),
            permissions: vec![],
        }
    }

    #[test]
    fn a_known_context_is_sent_once_and_the_oldest_is_evicted() {
        let mut table = CtxTable::default();
        let first = table.lookup(&ctx("u0")).unwrap();
        assert!(first.json.is_some());
        assert_eq!(table.lookup(&ctx("u0")).unwrap(), CtxLookup { id: first.id, json: None, evict: None });
        for i in 1..KEPT_CONTEXTS {
            assert_eq!(table.lookup(&ctx(&format!("u{i}"))).unwrap().evict, None);
        }
        let over = table.lookup(&ctx("new")).unwrap();
        assert_eq!(over.evict, Some(first.id));
        assert!(table.lookup(&ctx("u0")).unwrap().json.is_some(), "evicted contexts are sent again");
        table.reset();
        let after = table.lookup(&ctx("new")).unwrap();
        assert_eq!((after.json.is_some(), after.evict), (true, Some(u32::MAX)));
    }
}
