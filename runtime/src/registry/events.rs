//! The in-process lifecycle bus: the registry publishes, other modules (the isolate pool)
//! subscribe. Slow subscribers miss events (they are told how many) rather than block installs.

use alga_store::TenantId;
use serde::Serialize;
use tokio::sync::broadcast;
use uuid::Uuid;

/// What happened to an extension.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LifecycleKind {
    Registered {
        version: String,
    },
    UpdateUploaded {
        version: String,
    },
    /// The update that waited for approval was dropped; the serving version stays.
    UpdateDiscarded,
    Approved {
        version: String,
    },
    Updated {
        from_version: String,
        to_version: String,
    },
    Enabled,
    Disabled,
    Uninstalled {
        purged: bool,
    },
    /// The circuit breaker switched it off in this tenant.
    Suspended {
        reason: String,
    },
    SettingsChanged,
    /// A tenant admin changed its isolate limits.
    LimitsChanged,
    /// Its storage passed the warning share of a quota limit.
    StorageQuotaWarning {
        keys: i64,
        bytes: i64,
        max_keys: i64,
        max_bytes: i64,
    },
}

/// One lifecycle event of one tenant's extension.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LifecycleEvent {
    pub tenant: TenantId,
    pub extension_id: Uuid,
    /// The manifest id.
    pub key: String,
    #[serde(flatten)]
    pub kind: LifecycleKind,
}

/// Publishes lifecycle events to every subscriber.
#[derive(Clone)]
pub struct EventBus {
    sender: broadcast::Sender<LifecycleEvent>,
}

impl EventBus {
    pub fn new(capacity: usize) -> Self {
        Self { sender: broadcast::channel(capacity).0 }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<LifecycleEvent> {
        self.sender.subscribe()
    }

    pub fn publish(&self, event: LifecycleEvent) {
        tracing::info!(tenant = %event.tenant, extension = %event.key, event = ?event.kind, "lifecycle");
        // No subscribers is fine: nothing is listening yet.
        let _ = self.sender.send(event);
    }
}

impl Default for EventBus {
    fn default() -> Self {
        Self::new(1024)
    }
}
