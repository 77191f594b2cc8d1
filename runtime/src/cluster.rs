//! Several nodes on one PostgreSQL: applies the store's change feed to this node's caches and
//! isolates, and says how the feed is doing (`/readyz`, metrics).
//!
//! Every node caches what it read (dispatch targets, role permissions, UI lists, storage
//! values) and keeps isolates per extension version. Another node's committed change reaches
//! this one as a notification (see the `change_notifications` migration); applying it drops
//! exactly the entries it names. While the feed's connection is down the node may miss
//! changes: it forgets everything when the connection drops and again when it is back, and
//! reports `degraded` meanwhile (caches refill with their short TTLs as the bound).

use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};

use alga_store::changes::{Change, ChangeFeed, FeedEvent};
use alga_store::{Store, StoreError};
use serde::Serialize;

use crate::pool::IsolatePool;
use crate::registry::Registry;

/// Where the node stands with the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FeedState {
    /// No feed: SQLite (one node), or a state built without one (tests, tools).
    Single,
    /// Listening: other nodes' changes arrive.
    Listening,
    /// The listening connection is down; changes may be missed until it is back.
    Reconnecting,
}

/// How the change feed is doing, shared with `/readyz`.
pub struct ClusterStatus {
    state: AtomicU8,
    node: Option<uuid::Uuid>,
    channel: Option<String>,
    applied: AtomicU64,
    resyncs: AtomicU64,
    last_error: Mutex<Option<String>>,
}

impl ClusterStatus {
    /// A node with no feed.
    pub fn single() -> Arc<Self> {
        Arc::new(Self::new(FeedState::Single, None, None))
    }

    fn new(state: FeedState, node: Option<uuid::Uuid>, channel: Option<String>) -> Self {
        Self {
            state: AtomicU8::new(state as u8),
            node,
            channel,
            applied: AtomicU64::new(0),
            resyncs: AtomicU64::new(0),
            last_error: Mutex::new(None),
        }
    }

    pub fn state(&self) -> FeedState {
        match self.state.load(Ordering::SeqCst) {
            x if x == FeedState::Listening as u8 => FeedState::Listening,
            x if x == FeedState::Reconnecting as u8 => FeedState::Reconnecting,
            _ => FeedState::Single,
        }
    }

    fn set(&self, state: FeedState) {
        self.state.store(state as u8, Ordering::SeqCst);
        metrics::gauge!("alga_cluster_feed_listening").set(if state == FeedState::Listening { 1.0 } else { 0.0 });
    }

    /// Changes applied since start (other nodes' and other writers').
    pub fn applied(&self) -> u64 {
        self.applied.load(Ordering::Relaxed)
    }

    /// What `/readyz` shows of it.
    pub fn report(&self) -> serde_json::Value {
        let last_error = self.last_error.lock().unwrap_or_else(|e| e.into_inner()).clone();
        serde_json::json!({
            "feed": self.state(),
            "node": self.node,
            "channel": self.channel,
            "changesApplied": self.applied(),
            "resyncs": self.resyncs.load(Ordering::Relaxed),
            "lastError": last_error,
        })
    }
}

/// Starts applying the store's change feed to `registry` and `pool`, when the store has one.
pub async fn start(store: &Arc<dyn Store>, registry: Arc<Registry>, pool: Arc<IsolatePool>) -> Result<Arc<ClusterStatus>, StoreError> {
    let Some(feed) = store.change_feed().await? else {
        return Ok(ClusterStatus::single());
    };
    tracing::info!(node = %feed.node, channel = %feed.channel, "listening for other nodes' changes");
    let status = Arc::new(ClusterStatus::new(FeedState::Reconnecting, Some(feed.node), Some(feed.channel.clone())));
    tokio::spawn(apply(feed, registry, pool, status.clone()));
    Ok(status)
}

async fn apply(mut feed: ChangeFeed, registry: Arc<Registry>, pool: Arc<IsolatePool>, status: Arc<ClusterStatus>) {
    let mut listened_before = false;
    while let Some(event) = feed.next().await {
        match event {
            FeedEvent::Change(change) => {
                // The registry first: a request between the two steps then finds no stale
                // target to start a new isolate of the old version from.
                registry.apply_change(&change);
                let kind = match &change {
                    Change::Extension { tenant, extension, isolates } => {
                        // Another version, limits or state: the next request starts on what
                        // the registry says now (a settings change keeps the isolate).
                        if *isolates {
                            pool.retire(tenant, *extension);
                        }
                        "extension"
                    }
                    Change::Roles { .. } => "roles",
                    Change::Storage { .. } => "storage",
                };
                status.applied.fetch_add(1, Ordering::Relaxed);
                metrics::counter!("alga_cluster_changes_applied_total", "kind" => kind).increment(1);
            }
            FeedEvent::Listening => {
                // Whatever happened while nobody listened is unknown: start from the database.
                registry.forget_everything();
                status.set(FeedState::Listening);
                if listened_before {
                    status.resyncs.fetch_add(1, Ordering::Relaxed);
                    metrics::counter!("alga_cluster_resyncs_total").increment(1);
                    tracing::info!("listening for other nodes' changes again; caches dropped once");
                }
                listened_before = true;
            }
            FeedEvent::Lost { reason } => {
                if status.state() != FeedState::Reconnecting {
                    tracing::warn!(error = %reason, "lost the connection that listens for other nodes' changes; reconnecting");
                }
                registry.forget_everything();
                status.set(FeedState::Reconnecting);
                *status.last_error.lock().unwrap_or_else(|e| e.into_inner()) = Some(reason);
            }
        }
    }
}
