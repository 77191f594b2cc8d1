//! PostgreSQL side of the storage maintenance jobs and usage reads. The cross-tenant jobs
//! call narrow SECURITY DEFINER functions (migration 2): RLS hides other tenants' rows.

use std::time::Duration;

use uuid::Uuid;

use super::PgStore;
use crate::{Result, StorageUsage, TenantId};

impl PgStore {
    pub(super) async fn storage_usage_impl(&self, tenant: &TenantId, extension_id: Uuid) -> Result<StorageUsage> {
        let mut tx = self.begin_tenant(tenant).await?;
        let found: Option<(i64, i64)> =
            sqlx::query_as("SELECT key_count, bytes FROM extension_storage_usage WHERE extension_id = $1 AND tenant_id = $2")
                .bind(extension_id)
                .bind(tenant.as_str())
                .fetch_optional(&mut *tx)
                .await?;
        tx.commit().await?;
        let (key_count, bytes) = found.unwrap_or((0, 0));
        Ok(StorageUsage { key_count, bytes })
    }

    pub(super) async fn sweep_expired_storage_impl(&self, limit: u32) -> Result<u64> {
        let swept: i64 = sqlx::query_scalar("SELECT alga_sweep_expired_storage($1)").bind(limit as i32).fetch_one(&self.pool).await?;
        Ok(swept.max(0) as u64)
    }

    pub(super) async fn delete_orphaned_storage_impl(&self, retention: Duration) -> Result<u64> {
        let seconds = retention.as_secs_f64();
        let removed: i64 =
            sqlx::query_scalar("SELECT alga_delete_orphaned_storage(make_interval(secs => $1))").bind(seconds).fetch_one(&self.pool).await?;
        Ok(removed.max(0) as u64)
    }

    pub(super) async fn recount_all_storage_usage_impl(&self) -> Result<u64> {
        let fixed: i64 = sqlx::query_scalar("SELECT alga_recount_all_storage_usage()").fetch_one(&self.pool).await?;
        Ok(fixed.max(0) as u64)
    }
}
