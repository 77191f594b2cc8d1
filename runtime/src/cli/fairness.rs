//! Flags that keep tenants from hurting each other: isolate shares and the memory budget,
//! each tenant's share of the database pool, the longest storage transaction, log budgets.

use std::time::Duration;

use clap::Args;

/// Fairness between tenants and the bounds on what one extension may hold.
#[derive(Debug, Clone, Args)]
pub struct FairnessArgs {
    /// Most live isolates one tenant may hold (0: a quarter of --max-isolates); past it the
    /// tenant's own least recently used isolate makes room, never another tenant's.
    #[arg(long, env = "ALGA_EXT_MAX_ISOLATES_PER_TENANT", default_value_t = 0)]
    pub max_isolates_per_tenant: u64,

    /// Memory all isolates together may reserve, in MiB (0: half of this machine's memory).
    /// Each live isolate reserves its heap and ArrayBuffer limits; a start that does not fit
    /// evicts idle isolates, or is refused with 503 EXTENSION_OVERLOADED.
    #[arg(long, env = "ALGA_EXT_ISOLATE_MEMORY_BUDGET_MB", default_value_t = 0)]
    pub isolate_memory_budget_mb: u64,

    /// Longest a storage transaction may stay open before it is rolled back, e.g. `5s`.
    #[arg(long, env = "ALGA_EXT_STORAGE_TX_MAX", default_value = "5s", value_parser = humantime::parse_duration)]
    pub storage_tx_max: Duration,

    /// Database connections one tenant's isolates may use at once (0: a quarter of
    /// --db-max-connections, at least 1), so no tenant can starve the others or the admin API.
    #[arg(long, env = "ALGA_EXT_DB_TENANT_SHARE", default_value_t = 0)]
    pub db_tenant_share: u32,

    /// Log lines one call (request or hook) may write before the rest is dropped.
    #[arg(long, env = "ALGA_EXT_LOG_LINES_PER_CALL", default_value_t = 200)]
    pub log_lines_per_call: u32,

    /// Log bytes one call may write.
    #[arg(long, env = "ALGA_EXT_LOG_BYTES_PER_CALL", default_value_t = 64 * 1024)]
    pub log_bytes_per_call: usize,

    /// Log lines one isolate may write per minute.
    #[arg(long, env = "ALGA_EXT_LOG_LINES_PER_MINUTE", default_value_t = 2000)]
    pub log_lines_per_minute: u32,

    /// Log bytes one isolate may write per minute.
    #[arg(long, env = "ALGA_EXT_LOG_BYTES_PER_MINUTE", default_value_t = 1024 * 1024)]
    pub log_bytes_per_minute: usize,
}

impl FairnessArgs {
    /// Applies these settings to the pool's configuration.
    pub fn apply(&self, pool: &mut crate::pool::PoolConfig) {
        pool.limits.log = alga_ops::console::LogLimits {
            lines_per_call: self.log_lines_per_call,
            bytes_per_call: self.log_bytes_per_call,
            lines_per_minute: self.log_lines_per_minute,
            bytes_per_minute: self.log_bytes_per_minute,
        };
        pool.max_per_tenant = match self.max_isolates_per_tenant {
            0 => (pool.max_live / 4).max(1),
            n => n,
        };
        pool.memory_budget_bytes = match self.isolate_memory_budget_mb {
            0 => crate::pool::default_memory_budget(),
            n => (n as usize).saturating_mul(1024 * 1024),
        };
    }

    /// Each tenant's share of a pool of `max_connections`.
    pub fn tenant_db_share(&self, max_connections: u32) -> usize {
        match self.db_tenant_share {
            0 => (max_connections / 4).max(1) as usize,
            n => n as usize,
        }
    }
}
