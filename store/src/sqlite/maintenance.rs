//! SQLite side of schema upkeep and the cross-tenant jobs. Each job is one `BEGIN IMMEDIATE`
//! transaction: SQLite's single writer makes them atomic against writes.

use std::time::Duration;

use async_trait::async_trait;
use uuid::Uuid;

use super::{now, ts, SqliteStore, MIGRATOR};
use crate::{Backend, MaintenanceStore, Result, SchemaStatus, StoreError, TenantId};

#[async_trait]
impl MaintenanceStore for SqliteStore {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    async fn migrate(&self) -> Result<()> {
        MIGRATOR.run(&self.pool).await?;
        Ok(())
    }

    async fn schema_status(&self) -> Result<SchemaStatus> {
        let expected = MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0);
        let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations')")
            .fetch_one(&self.pool)
            .await?;
        let applied = if exists {
            sqlx::query_scalar("SELECT coalesce(max(version), 0) FROM _sqlx_migrations WHERE success").fetch_one(&self.pool).await?
        } else {
            0
        };
        Ok(SchemaStatus { expected, applied, rls_bound_functions: Vec::new() })
    }

    async fn recently_used_extensions(&self, limit: u32) -> Result<Vec<(TenantId, Uuid)>> {
        let found: Vec<(String, String)> = sqlx::query_as(
            "SELECT tenant_id, id FROM extensions WHERE is_enabled AND status = 'installed' \
             AND last_used_at IS NOT NULL ORDER BY last_used_at DESC LIMIT ?1",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        let corrupt = |message: String| StoreError::Corrupt { table: "extensions", message };
        found
            .into_iter()
            .map(|(t, id)| {
                let tenant = TenantId::parse(&t).map_err(|e| corrupt(e.to_string()))?;
                Ok((tenant, Uuid::parse_str(&id).map_err(|e| corrupt(e.to_string()))?))
            })
            .collect()
    }

    async fn gc_file_blobs(&self) -> Result<u64> {
        let done =
            sqlx::query("DELETE FROM file_blobs WHERE NOT EXISTS (SELECT 1 FROM extension_files f WHERE f.content_hash = file_blobs.content_hash)")
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected())
    }

    async fn sweep_expired_storage(&self, limit: u32) -> Result<u64> {
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

    async fn delete_orphaned_storage(&self, retention: Duration) -> Result<u64> {
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

    async fn recount_all_storage_usage(&self) -> Result<u64> {
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
