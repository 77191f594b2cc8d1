//! SQLite side of the storage maintenance jobs and usage reads. Each job is one
//! `BEGIN IMMEDIATE` transaction: SQLite's single writer makes them atomic against writes.

use std::time::Duration;

use uuid::Uuid;

use super::{now, ts, SqliteStore};
use crate::{Result, StorageUsage, TenantId};

impl SqliteStore {
    pub(super) async fn storage_usage_impl(&self, tenant: &TenantId, extension_id: Uuid) -> Result<StorageUsage> {
        let found: Option<(i64, i64)> =
            sqlx::query_as("SELECT key_count, bytes FROM extension_storage_usage WHERE extension_id = ?1 AND tenant_id = ?2")
                .bind(extension_id.to_string())
                .bind(tenant.as_str())
                .fetch_optional(&self.pool)
                .await?;
        let (key_count, bytes) = found.unwrap_or((0, 0));
        Ok(StorageUsage { key_count, bytes })
    }

    pub(super) async fn sweep_expired_storage_impl(&self, limit: u32) -> Result<u64> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let at = now();
        let gone: Vec<(String, String, i64)> = sqlx::query_as(
            "DELETE FROM extension_storage WHERE rowid IN (SELECT rowid FROM extension_storage \
             WHERE expires_at IS NOT NULL AND expires_at <= ?1 ORDER BY expires_at LIMIT ?2) \
             RETURNING extension_id, tenant_id, size_bytes",
        )
        .bind(&at)
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await?;
        let mut totals: std::collections::HashMap<(String, String), (i64, i64)> = Default::default();
        for (extension_id, tenant_id, size) in &gone {
            let entry = totals.entry((extension_id.clone(), tenant_id.clone())).or_default();
            entry.0 += 1;
            entry.1 += size;
        }
        for ((extension_id, tenant_id), (n, b)) in totals {
            sqlx::query(
                "UPDATE extension_storage_usage SET key_count = max(key_count - ?3, 0), bytes = max(bytes - ?4, 0) \
                 WHERE extension_id = ?1 AND tenant_id = ?2",
            )
            .bind(extension_id)
            .bind(tenant_id)
            .bind(n)
            .bind(b)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(gone.len() as u64)
    }

    pub(super) async fn delete_orphaned_storage_impl(&self, retention: Duration) -> Result<u64> {
        let cutoff = chrono::Duration::from_std(retention).ok().and_then(|r| chrono::Utc::now().checked_sub_signed(r));
        let Some(cutoff) = cutoff else { return Ok(0) };
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let orphans = "SELECT u.extension_id, u.tenant_id FROM extension_storage_usage u WHERE u.updated_at < ?1 \
                       AND NOT EXISTS (SELECT 1 FROM extensions e WHERE e.id = u.extension_id AND e.tenant_id = u.tenant_id)";
        let removed = sqlx::query(&format!("DELETE FROM extension_storage WHERE (extension_id, tenant_id) IN ({orphans})"))
            .bind(ts(cutoff))
            .execute(&mut *tx)
            .await?
            .rows_affected();
        sqlx::query(&format!("DELETE FROM extension_storage_usage WHERE (extension_id, tenant_id) IN ({orphans})"))
            .bind(ts(cutoff))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(removed)
    }

    pub(super) async fn recount_all_storage_usage_impl(&self) -> Result<u64> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let fixed = sqlx::query(
            "UPDATE extension_storage_usage AS u SET \
               key_count = (SELECT count(*) FROM extension_storage s WHERE s.extension_id = u.extension_id AND s.tenant_id = u.tenant_id), \
               bytes = (SELECT coalesce(sum(size_bytes), 0) FROM extension_storage s WHERE s.extension_id = u.extension_id AND s.tenant_id = u.tenant_id) \
             WHERE key_count != (SELECT count(*) FROM extension_storage s WHERE s.extension_id = u.extension_id AND s.tenant_id = u.tenant_id) \
                OR bytes != (SELECT coalesce(sum(size_bytes), 0) FROM extension_storage s WHERE s.extension_id = u.extension_id AND s.tenant_id = u.tenant_id)",
        )
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(fixed)
    }
}
