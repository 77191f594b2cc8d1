//! Storage maintenance on a schedule: the TTL sweep, removal of uninstalled extensions'
//! storage after a retention period, and a periodic recount that repairs drifted usage
//! counters. Safe to run on several nodes at once: every job is idempotent and the sweep
//! skips rows a writer holds.

use std::sync::Arc;
use std::time::Duration;

use alga_store::Store;

/// How the jobs are scheduled.
#[derive(Debug, Clone, Copy)]
pub struct MaintenanceConfig {
    /// Time between runs.
    pub interval: Duration,
    /// How long an uninstalled extension's storage is kept for a reinstall.
    pub orphan_retention: Duration,
    /// Counters are recounted every this many runs (a full scan).
    pub recount_every: u32,
}

/// Expired values removed per statement; the sweep repeats until fewer come back.
const SWEEP_BATCH: u32 = 1000;

/// What one run did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct MaintenanceReport {
    pub expired: u64,
    pub orphaned: u64,
    pub recounted: Option<u64>,
}

/// Runs the jobs once; `recount` includes the full recount.
pub async fn run_once(store: &dyn Store, config: &MaintenanceConfig, recount: bool) -> alga_store::Result<MaintenanceReport> {
    let mut report = MaintenanceReport::default();
    loop {
        let swept = store.sweep_expired_storage(SWEEP_BATCH).await?;
        report.expired += swept;
        if swept < u64::from(SWEEP_BATCH) {
            break;
        }
    }
    report.orphaned = store.delete_orphaned_storage(config.orphan_retention).await?;
    if recount {
        report.recounted = Some(store.recount_all_storage_usage().await?);
    }
    Ok(report)
}

/// Runs the jobs every `config.interval` until the process ends. Failures are logged and
/// retried at the next tick.
pub fn spawn(store: Arc<dyn Store>, config: MaintenanceConfig) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(config.interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut run: u32 = 0;
        loop {
            ticks.tick().await;
            let recount = config.recount_every > 0 && run.is_multiple_of(config.recount_every);
            run = run.wrapping_add(1);
            let span = tracing::info_span!("maintenance", run);
            let _entered = span.enter();
            match run_once(store.as_ref(), &config, recount).await {
                Ok(report) if report.expired + report.orphaned > 0 || report.recounted.is_some_and(|n| n > 0) => {
                    tracing::info!(expired = report.expired, orphaned = report.orphaned, recounted = ?report.recounted, "storage maintenance")
                }
                Ok(_) => tracing::debug!("storage maintenance: nothing to do"),
                Err(e) => tracing::warn!(error = %e, "storage maintenance failed; retrying at the next run"),
            }
        }
    })
}
