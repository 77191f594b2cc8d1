//! What the registry hands every isolate to keep one tenant from hurting another: each
//! tenant's share of the database pool, the longest a storage transaction may stay open, and
//! where extension log lines go.

use std::sync::Arc;
use std::time::Duration;

use alga_ops::console::LogSink;
use alga_ops::storage::TenantShares;

use super::Registry;

/// Fairness settings of the isolates' services.
#[derive(Clone)]
pub struct SandboxConfig {
    pub(super) shares: Arc<TenantShares>,
    pub(super) tx_max_duration: Duration,
    pub(super) log_sink: Option<Arc<dyn LogSink>>,
}

/// A tenant's share of the pool when none is configured.
pub const DEFAULT_TENANT_SHARE: usize = 4;

/// How long a storage call waits for one of its tenant's connections before it fails `BUSY`.
const SHARE_WAIT: Duration = Duration::from_secs(5);

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            shares: TenantShares::new(DEFAULT_TENANT_SHARE, SHARE_WAIT),
            tx_max_duration: alga_ops::storage::DEFAULT_TX_MAX_DURATION,
            log_sink: None,
        }
    }
}

impl Registry {
    /// Each tenant's isolates use at most `connections` database connections at once.
    pub fn with_tenant_db_share(mut self, connections: usize) -> Self {
        self.sandbox.shares = TenantShares::new(connections, SHARE_WAIT);
        self
    }

    /// Storage transactions still open after `max` are rolled back.
    pub fn with_transaction_max_duration(mut self, max: Duration) -> Self {
        self.sandbox.tx_max_duration = max;
        self
    }

    /// Sends extension log lines to `sink` instead of the server's `tracing` log.
    pub fn with_log_sink(mut self, sink: Arc<dyn LogSink>) -> Self {
        self.sandbox.log_sink = Some(sink);
        self
    }
}
