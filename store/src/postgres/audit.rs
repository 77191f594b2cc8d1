//! PostgreSQL side of the storage write audit: batched appends, newest-first reads.

use uuid::Uuid;

use super::PgStore;
use crate::{Result, StorageAuditEntry, TenantId};

type AuditRow = (Uuid, chrono::DateTime<chrono::Utc>, String, String, String, String, i64);

impl PgStore {
    pub(super) async fn append_storage_audit_impl(&self, tenant: &TenantId, entries: &[StorageAuditEntry]) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let mut q =
            sqlx::QueryBuilder::new("INSERT INTO extension_storage_audit (tenant_id, extension_id, at, actor, op, namespace, key, size_bytes) ");
        q.push_values(entries, |mut row, e| {
            row.push_bind(tenant.as_str())
                .push_bind(e.extension_id)
                .push_bind(e.at)
                .push_bind(&e.actor)
                .push_bind(&e.op)
                .push_bind(&e.namespace)
                .push_bind(&e.key)
                .push_bind(e.size_bytes);
        });
        let mut tx = self.begin_tenant(tenant).await?;
        q.build().execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn list_storage_audit_impl(&self, tenant: &TenantId, extension_id: Uuid, limit: u32) -> Result<Vec<StorageAuditEntry>> {
        let mut tx = self.begin_tenant(tenant).await?;
        let rows: Vec<AuditRow> = sqlx::query_as(
            "SELECT extension_id, at, actor, op, namespace, key, size_bytes FROM extension_storage_audit \
             WHERE tenant_id = $1 AND extension_id = $2 ORDER BY id DESC LIMIT $3",
        )
        .bind(tenant.as_str())
        .bind(extension_id)
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(rows
            .into_iter()
            .map(|(extension_id, at, actor, op, namespace, key, size_bytes)| StorageAuditEntry {
                extension_id,
                at,
                actor,
                op,
                namespace,
                key,
                size_bytes,
            })
            .collect())
    }
}
