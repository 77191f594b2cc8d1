//! SQLite side of the storage write audit: batched appends, newest-first reads.

use uuid::Uuid;

use super::{ts, SqliteStore};
use crate::{Result, StorageAuditEntry, StoreError, TenantId};

impl SqliteStore {
    pub(super) async fn append_storage_audit_impl(&self, tenant: &TenantId, entries: &[StorageAuditEntry]) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let mut q =
            sqlx::QueryBuilder::new("INSERT INTO extension_storage_audit (tenant_id, extension_id, at, actor, op, namespace, key, size_bytes) ");
        q.push_values(entries, |mut row, e| {
            row.push_bind(tenant.as_str())
                .push_bind(e.extension_id.to_string())
                .push_bind(ts(e.at))
                .push_bind(e.actor.clone())
                .push_bind(e.op.clone())
                .push_bind(e.namespace.clone())
                .push_bind(e.key.clone())
                .push_bind(e.size_bytes);
        });
        q.build().execute(&self.pool).await?;
        Ok(())
    }

    pub(super) async fn list_storage_audit_impl(&self, tenant: &TenantId, extension_id: Uuid, limit: u32) -> Result<Vec<StorageAuditEntry>> {
        let rows: Vec<(String, String, String, String, String, i64)> = sqlx::query_as(
            "SELECT at, actor, op, namespace, key, size_bytes FROM extension_storage_audit \
             WHERE tenant_id = ?1 AND extension_id = ?2 ORDER BY id DESC LIMIT ?3",
        )
        .bind(tenant.as_str())
        .bind(extension_id.to_string())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(at, actor, op, namespace, key, size_bytes)| {
                let at = chrono::DateTime::parse_from_rfc3339(&at)
                    .map_err(|e| StoreError::Corrupt { table: "extension_storage_audit", message: e.to_string() })?
                    .with_timezone(&chrono::Utc);
                Ok(StorageAuditEntry { extension_id, at, actor, op, namespace, key, size_bytes })
            })
            .collect()
    }
}
