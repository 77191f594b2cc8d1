//! The recent failures of each installed extension (limit hits, crashes, breaker trips) that the admin console shows, a bounded ring per extension on this node.
//!
//! These are what an admin asks first when an extension misbehaves ("why did it stop?"), so
//! they are kept in memory beside the circuit breaker that counts them, not written to the
//! database on every failure: a failing extension must not turn into a write load. A node
//! remembers only what it served itself, and nothing survives a restart; the breaker's
//! suspension itself is durable (the extension's status and the audit log).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use alga_store::TenantId;
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

/// Failures kept per extension, newest first.
pub const FAILURES_KEPT: usize = 50;
/// Extensions whose failures are remembered at most (least recently failing ones go first).
const EXTENSIONS_TRACKED: u64 = 10_000;
/// Longest message kept; an extension's error text is its own and may be long.
const MAX_MESSAGE_CHARS: usize = 500;

/// One failure as the admin API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Failure {
    pub at: DateTime<Utc>,
    /// The error code the caller was answered with (`EXTENSION_CPU_LIMIT`, …), or
    /// `EXTENSION_SUSPENDED` when the circuit breaker switched the extension off.
    pub code: String,
    pub message: String,
}

type Ring = Arc<Mutex<VecDeque<Failure>>>;

/// Every tracked extension's ring.
pub struct RecentFailures {
    rings: moka::sync::Cache<(TenantId, Uuid), Ring>,
}

impl Default for RecentFailures {
    fn default() -> Self {
        Self { rings: moka::sync::Cache::builder().max_capacity(EXTENSIONS_TRACKED).build() }
    }
}

impl RecentFailures {
    pub fn record(&self, tenant: &TenantId, id: Uuid, code: &str, message: &str) {
        let ring = self.rings.get_with((tenant.clone(), id), Ring::default);
        let failure = Failure { at: Utc::now(), code: code.to_owned(), message: message.chars().take(MAX_MESSAGE_CHARS).collect() };
        let mut ring = ring.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        ring.push_front(failure);
        ring.truncate(FAILURES_KEPT);
    }

    /// Newest first.
    pub fn list(&self, tenant: &TenantId, id: Uuid) -> Vec<Failure> {
        match self.rings.get(&(tenant.clone(), id)) {
            Some(ring) => ring.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).iter().cloned().collect(),
            None => Vec::new(),
        }
    }

    /// Forgets an extension's failures (it was uninstalled).
    pub fn forget(&self, tenant: &TenantId, id: Uuid) {
        self.rings.invalidate(&(tenant.clone(), id));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ring_keeps_the_newest_and_only_its_own_extensions() {
        let failures = RecentFailures::default();
        let (acme, other) = (TenantId::parse("acme").unwrap(), TenantId::parse("other").unwrap());
        let id = Uuid::new_v4();
        for i in 0..FAILURES_KEPT + 5 {
            failures.record(&acme, id, "EXTENSION_CPU_LIMIT", &format!("hit {i}"));
        }
        let listed = failures.list(&acme, id);
        assert_eq!(listed.len(), FAILURES_KEPT);
        assert_eq!(listed[0].message, format!("hit {}", FAILURES_KEPT + 4));
        assert!(failures.list(&other, id).is_empty());
        failures.forget(&acme, id);
        assert!(failures.list(&acme, id).is_empty());
    }
}
