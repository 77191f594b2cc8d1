//! Each installed extension's recent log on this node — its `console` output and its failures (limit hits, crashes, widget timeouts, breaker trips) — as a bounded ring an admin can read or follow.
//!
//! This is what an admin or author asks first when an extension misbehaves ("what did it
//! print, why did it stop?"), so it is kept in memory beside the server's own log, not written
//! to the database: a noisy or failing extension must not turn into a write load. A node keeps
//! only what it served itself, and a restart forgets it; what must last (a suspension) is in
//! the extension's status and the audit log.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use alga_ops::console::{LogLevel, LogLine, LogSink, TracingSink};
use alga_store::TenantId;
use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::sync::broadcast;
use uuid::Uuid;

/// Entries kept per extension at most, and their bytes at most, newest kept.
pub const ENTRIES_KEPT: usize = 500;
const BYTES_KEPT: usize = 128 * 1024;
/// Longest message kept; console lines may be 16 KiB, a ring is for reading, not archiving.
const MAX_MESSAGE_CHARS: usize = 2000;
/// Extensions whose logs are kept at most (the least recently written go first): with
/// `BYTES_KEPT` this bounds the whole to 128 MiB on a node serving that many extensions.
const EXTENSIONS_TRACKED: u64 = 1000;
/// Entries a follower may fall behind before it is told it missed some.
const FOLLOW_BUFFER: usize = 256;

/// What an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Debug,
    Info,
    Warn,
    Error,
}

impl Level {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "debug" => Some(Self::Debug),
            "info" => Some(Self::Info),
            "warn" => Some(Self::Warn),
            "error" => Some(Self::Error),
            _ => None,
        }
    }
}

/// One entry as the admin API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct LogEntry {
    pub at: DateTime<Utc>,
    pub level: Level,
    /// `console` for what the extension logged, `runtime` for what happened to it.
    pub source: &'static str,
    /// For a failure: the error code its caller was answered with (`EXTENSION_CPU_LIMIT`, …),
    /// or `EXTENSION_SUSPENDED` when the circuit breaker switched it off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    pub message: String,
}

struct Ring {
    entries: Mutex<(VecDeque<LogEntry>, usize)>,
    live: broadcast::Sender<LogEntry>,
}

impl Default for Ring {
    fn default() -> Self {
        Self { entries: Mutex::new((VecDeque::new(), 0)), live: broadcast::channel(FOLLOW_BUFFER).0 }
    }
}

/// Live followers one tenant may have at once (`?follow=1` streams), across its extensions.
pub const FOLLOWERS_PER_TENANT: usize = 16;

/// Every tracked extension's ring.
pub struct ExtensionLogs {
    rings: moka::sync::Cache<(TenantId, Uuid), Arc<Ring>>,
    followers: Arc<Mutex<std::collections::HashMap<TenantId, usize>>>,
}

/// A tenant's place among its followers; the place is given back when this is dropped.
pub struct FollowerSlot {
    followers: Arc<Mutex<std::collections::HashMap<TenantId, usize>>>,
    tenant: TenantId,
}

impl Drop for FollowerSlot {
    fn drop(&mut self) {
        let mut followers = self.followers.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(count) = followers.get_mut(&self.tenant) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                followers.remove(&self.tenant);
            }
        }
    }
}

impl Default for ExtensionLogs {
    fn default() -> Self {
        // Least recently written goes first (moka's default, TinyLFU, could keep a quiet
        // extension's breaker trip out of the cache altogether).
        Self {
            rings: moka::sync::Cache::builder().max_capacity(EXTENSIONS_TRACKED).eviction_policy(moka::policy::EvictionPolicy::lru()).build(),
            followers: Default::default(),
        }
    }
}

impl ExtensionLogs {
    /// A failure seen by the runtime, logged at `error` with its code.
    pub fn record_failure(&self, tenant: &TenantId, id: Uuid, code: &str, message: &str) {
        self.push(tenant, id, Level::Error, "runtime", Some(code.to_owned()), message);
    }

    fn push(&self, tenant: &TenantId, id: Uuid, level: Level, source: &'static str, code: Option<String>, message: &str) {
        let ring = self.rings.get_with((tenant.clone(), id), Default::default);
        // Failures carry the extension's own text (an exception's message and stack): escaped
        // like its console lines, so nothing it writes can forge an entry or repaint a terminal.
        let escaped = alga_ops::console::escape_controls(message);
        let entry = LogEntry { at: Utc::now(), level, source, code, message: escaped.chars().take(MAX_MESSAGE_CHARS).collect() };
        {
            let mut guard = ring.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            let (entries, bytes) = &mut *guard;
            *bytes += entry.message.len();
            entries.push_front(entry.clone());
            while entries.len() > ENTRIES_KEPT || (*bytes > BYTES_KEPT && entries.len() > 1) {
                if let Some(old) = entries.pop_back() {
                    *bytes -= old.message.len();
                }
            }
        }
        // Nobody following is the usual case, not an error.
        let _ = ring.live.send(entry);
    }

    /// Newest first, at `min` level or above, failures only when `failures_only`.
    pub fn list(&self, tenant: &TenantId, id: Uuid, min: Level, failures_only: bool, limit: usize) -> Vec<LogEntry> {
        let Some(ring) = self.rings.get(&(tenant.clone(), id)) else { return Vec::new() };
        let guard = ring.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        guard.0.iter().filter(|e| e.level >= min && (!failures_only || e.code.is_some())).take(limit).cloned().collect()
    }

    /// A place among the tenant's followers, or `None` when it has [`FOLLOWERS_PER_TENANT`]
    /// already: a stream holds a connection for as long as it lasts.
    pub fn follower_slot(&self, tenant: &TenantId) -> Option<FollowerSlot> {
        let mut followers = self.followers.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let count = followers.entry(tenant.clone()).or_insert(0);
        if *count >= FOLLOWERS_PER_TENANT {
            return None;
        }
        *count += 1;
        Some(FollowerSlot { followers: self.followers.clone(), tenant: tenant.clone() })
    }

    /// New entries from now on, as they are written.
    pub fn follow(&self, tenant: &TenantId, id: Uuid) -> broadcast::Receiver<LogEntry> {
        self.rings.get_with((tenant.clone(), id), Default::default).live.subscribe()
    }

    /// Forgets an extension's log (it was uninstalled); followers see their stream end.
    pub fn forget(&self, tenant: &TenantId, id: Uuid) {
        self.rings.invalidate(&(tenant.clone(), id));
    }
}

/// The isolates' log sink: every line goes to the server's log as before, and into the
/// extension's ring.
pub struct RingSink {
    pub logs: Arc<ExtensionLogs>,
}

impl LogSink for RingSink {
    fn write(&self, line: &LogLine<'_>) {
        TracingSink.write(line);
        let Ok(tenant) = TenantId::parse(line.tenant) else { return };
        let id = super::install_id(&tenant, line.extension);
        let level = match line.level {
            LogLevel::Debug => Level::Debug,
            LogLevel::Info => Level::Info,
            LogLevel::Warn => Level::Warn,
            LogLevel::Error => Level::Error,
        };
        self.logs.push(&tenant, id, level, "console", None, line.message);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ring_keeps_the_newest_within_its_bounds_and_only_its_own_extensions() {
        let logs = ExtensionLogs::default();
        let (acme, other) = (TenantId::parse("acme").unwrap(), TenantId::parse("other").unwrap());
        let id = Uuid::new_v4();
        for i in 0..ENTRIES_KEPT + 5 {
            logs.push(&acme, id, Level::Info, "console", None, &format!("line {i}"));
        }
        logs.record_failure(&acme, id, "EXTENSION_CPU_LIMIT", "over budget\n2026-01-01 INFO forged \u{1b}]52;c;x\u{7}");
        let all = logs.list(&acme, id, Level::Debug, false, usize::MAX);
        assert_eq!(all.len(), ENTRIES_KEPT);
        assert_eq!(all[0].code.as_deref(), Some("EXTENSION_CPU_LIMIT"));
        assert!(!all[0].message.chars().any(char::is_control), "escaped: {:?}", all[0].message);
        assert_eq!(all[1].message, format!("line {}", ENTRIES_KEPT + 4));
        assert_eq!(logs.list(&acme, id, Level::Error, false, 10).len(), 1);
        assert_eq!(logs.list(&acme, id, Level::Debug, true, 10).len(), 1);
        assert!(logs.list(&other, id, Level::Debug, false, 10).is_empty());
        // Bytes are bounded too: long lines push out old ones sooner.
        let long = "x".repeat(MAX_MESSAGE_CHARS * 2);
        for _ in 0..200 {
            logs.push(&acme, id, Level::Info, "console", None, &long);
        }
        let kept: usize = logs.list(&acme, id, Level::Debug, false, usize::MAX).iter().map(|e| e.message.len()).sum();
        assert!(kept <= BYTES_KEPT, "{kept} bytes kept");
        logs.forget(&acme, id);
        assert!(logs.list(&acme, id, Level::Debug, false, 10).is_empty());
    }

    #[test]
    fn a_tenant_has_a_bounded_number_of_followers() {
        let logs = ExtensionLogs::default();
        let (acme, other) = (TenantId::parse("acme").unwrap(), TenantId::parse("other").unwrap());
        let slots: Vec<FollowerSlot> = (0..FOLLOWERS_PER_TENANT).map(|_| logs.follower_slot(&acme).unwrap()).collect();
        assert!(logs.follower_slot(&acme).is_none());
        assert!(logs.follower_slot(&other).is_some(), "another tenant is not affected");
        drop(slots);
        assert!(logs.follower_slot(&acme).is_some());
    }

    #[tokio::test]
    async fn a_follower_gets_new_entries() {
        let logs = ExtensionLogs::default();
        let acme = TenantId::parse("acme").unwrap();
        let id = Uuid::new_v4();
        let mut rx = logs.follow(&acme, id);
        RingSink { logs: Arc::new(ExtensionLogs::default()) }.write(&LogLine {
            tenant: "acme",
            extension: "x",
            level: LogLevel::Info,
            message: "elsewhere",
        });
        logs.push(&acme, id, Level::Warn, "console", None, "careful");
        assert_eq!(rx.recv().await.unwrap().message, "careful");
    }
}
