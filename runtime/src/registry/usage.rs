//! Storage usage against quotas: the admin API's report, and the warning event (with an
//! audit row) when an extension passes 80% of either limit.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use alga_store::{NewAuditEntry, StorageQuota, StorageUsage, Store, TenantId};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use super::events::{EventBus, LifecycleEvent, LifecycleKind};
use super::{Registry, RegistryError};

/// Usage at or above this share of a limit raises the warning.
pub const WARN_AT_PERCENT: f64 = 80.0;

/// Writes of one isolate check usage at most this often (the check is a query); writes in
/// between are covered by one check at the end of the window.
const CHECK_EVERY: Duration = Duration::from_secs(2);

/// One extension's storage usage in a tenant, as the admin API reports it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UsageReport {
    pub keys: i64,
    pub bytes: i64,
    pub max_keys: i64,
    pub max_bytes: i64,
    pub keys_percent: f64,
    pub bytes_percent: f64,
    /// At or above the warning threshold on either limit.
    pub warning: bool,
}

impl UsageReport {
    pub fn new(usage: StorageUsage, quota: StorageQuota) -> Self {
        let percent = |used: i64, max: i64| if max > 0 { (used as f64 * 1000.0 / max as f64).round() / 10.0 } else { 0.0 };
        let (keys_percent, bytes_percent) = (percent(usage.key_count, quota.max_keys), percent(usage.bytes, quota.max_bytes));
        Self {
            keys: usage.key_count,
            bytes: usage.bytes,
            max_keys: quota.max_keys,
            max_bytes: quota.max_bytes,
            keys_percent,
            bytes_percent,
            warning: keys_percent >= WARN_AT_PERCENT || bytes_percent >= WARN_AT_PERCENT,
        }
    }
}

/// Which (tenant, extension) pairs this process has warned about, so a warning is raised
/// once per crossing, not on every write above the line.
#[derive(Default)]
pub(super) struct Warned(Mutex<HashSet<(TenantId, Uuid)>>);

impl Registry {
    /// An extension's storage usage against its quota.
    pub async fn storage_usage(&self, tenant: &TenantId, id: Uuid) -> Result<UsageReport, RegistryError> {
        self.get(tenant, id).await?;
        Ok(UsageReport::new(self.store.storage_usage(tenant, id).await?, self.storage_quota))
    }

    /// The observer the storage ops of one isolate report writes to.
    pub(super) fn usage_observer(&self, tenant: &TenantId, id: Uuid, key: &str) -> Arc<dyn alga_ops::storage::UsageObserver> {
        Arc::new(UsageObserver {
            store: self.store.clone(),
            events: self.events.clone(),
            quota: self.storage_quota,
            warned: self.warned.clone(),
            tenant: tenant.clone(),
            id,
            key: key.to_owned(),
            spawner: tokio::runtime::Handle::current(),
            schedule: Arc::new(Mutex::new(Schedule::default())),
        })
    }
}

struct UsageObserver {
    store: Arc<dyn Store>,
    events: EventBus,
    quota: StorageQuota,
    warned: Arc<Warned>,
    tenant: TenantId,
    id: Uuid,
    key: String,
    spawner: tokio::runtime::Handle,
    schedule: Arc<Mutex<Schedule>>,
}

#[derive(Default)]
struct Schedule {
    last: Option<Instant>,
    /// A check at the end of the current window is already on its way.
    pending: bool,
}

impl alga_ops::storage::UsageObserver for UsageObserver {
    fn wrote(&self) {
        let delay = {
            let mut schedule = self.schedule.lock().unwrap_or_else(|e| e.into_inner());
            if schedule.pending {
                return;
            }
            match schedule.last.map(|at| at.elapsed()) {
                Some(elapsed) if elapsed < CHECK_EVERY => {
                    schedule.pending = true;
                    CHECK_EVERY - elapsed
                }
                _ => {
                    schedule.last = Some(Instant::now());
                    Duration::ZERO
                }
            }
        };
        let schedule = self.schedule.clone();
        let (store, events, quota, warned) = (self.store.clone(), self.events.clone(), self.quota, self.warned.clone());
        let (tenant, id, key) = (self.tenant.clone(), self.id, self.key.clone());
        self.spawner.spawn(async move {
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
                let mut schedule = schedule.lock().unwrap_or_else(|e| e.into_inner());
                schedule.pending = false;
                schedule.last = Some(Instant::now());
            }
            let usage = match store.storage_usage(&tenant, id).await {
                Ok(usage) => usage,
                Err(e) => return tracing::warn!(tenant = %tenant, extension = %key, error = %e, "cannot read storage usage"),
            };
            let report = UsageReport::new(usage, quota);
            let pair = (tenant.clone(), id);
            if !report.warning {
                warned.0.lock().unwrap_or_else(|e| e.into_inner()).remove(&pair);
                return;
            }
            if !warned.0.lock().unwrap_or_else(|e| e.into_inner()).insert(pair) {
                return;
            }
            tracing::warn!(tenant = %tenant, extension = %key, keys = report.keys, bytes = report.bytes, "storage usage passed the warning threshold");
            let entry = NewAuditEntry {
                actor: format!("extension:{key}"),
                action: "storage.quota_warning".into(),
                target: id.to_string(),
                details: json!({ "extension": key, "usage": report }),
            };
            if let Err(e) = store.append_audit(&tenant, &entry).await {
                tracing::warn!(error = %e, "cannot audit the storage warning");
            }
            let kind = LifecycleKind::StorageQuotaWarning {
                keys: report.keys,
                bytes: report.bytes,
                max_keys: report.max_keys,
                max_bytes: report.max_bytes,
            };
            events.publish(LifecycleEvent { tenant, extension_id: id, key, kind });
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_warning_starts_at_eighty_percent_of_either_limit() {
        let quota = StorageQuota { max_keys: 10, max_bytes: 1000 };
        assert!(!UsageReport::new(StorageUsage { key_count: 7, bytes: 799 }, quota).warning);
        assert!(UsageReport::new(StorageUsage { key_count: 8, bytes: 0 }, quota).warning);
        let report = UsageReport::new(StorageUsage { key_count: 0, bytes: 800 }, quota);
        assert_eq!((report.warning, report.bytes_percent), (true, 80.0));
    }
}
