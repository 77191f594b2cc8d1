//! PostgreSQL side of the operators' storage tools: export, import, usage accounting and the write audit.

use async_trait::async_trait;
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use super::storage::charge;
use super::{PgStore, LIVE};
use crate::flows::{self, ImportTx, RegistryTx};
use crate::{KvAdminStore, NewAuditEntry, PortableValue, Result, SetOptions, StorageAuditEntry, StorageKey, StorageQuota, StorageUsage, TenantId};

type Row = (String, String, sqlx::types::Json<serde_json::Value>, i64, Option<chrono::DateTime<chrono::Utc>>);
type AuditRow = (Uuid, chrono::DateTime<chrono::Utc>, String, String, String, String, i64);

#[async_trait]
impl KvAdminStore for PgStore {
    async fn storage_export(&self, tenant: &TenantId, extension_id: Uuid, after: Option<(&str, &str)>, limit: u32) -> Result<Vec<PortableValue>> {
        let mut tx = self.begin_tenant(tenant).await?;
        // Byte order over (namespace, key), as listing uses, so the cursor is stable.
        let sql = format!(
            "SELECT namespace, key, value, revision, expires_at FROM extension_storage \
             WHERE tenant_id = $1 AND extension_id = $2 AND {LIVE} AND ($3::text IS NULL \
               OR namespace COLLATE \"C\" > $3 OR (namespace = $3 AND key COLLATE \"C\" > $4)) \
             ORDER BY namespace COLLATE \"C\", key COLLATE \"C\" LIMIT $5"
        );
        let rows: Vec<Row> = sqlx::query_as(&sql)
            .bind(tenant.as_str())
            .bind(extension_id)
            .bind(after.map(|(ns, _)| ns))
            .bind(after.map(|(_, k)| k).unwrap_or(""))
            .bind(i64::from(limit))
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(rows
            .into_iter()
            .map(|(namespace, key, value, revision, expires_at)| PortableValue { namespace, key, value: value.0, revision, expires_at })
            .collect())
    }

    async fn storage_import(
        &self,
        tenant: &TenantId,
        extension_id: Uuid,
        values: &[PortableValue],
        replace: bool,
        quota: Option<StorageQuota>,
        audit: &NewAuditEntry,
    ) -> Result<u64> {
        flows::import(self.begin_tenant(tenant), tenant, extension_id, values, replace, quota, audit).await
    }

    async fn storage_usage(&self, tenant: &TenantId, extension_id: Uuid) -> Result<StorageUsage> {
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

    async fn recount_storage_usage(&self, tenant: &TenantId, extension_id: Uuid) -> Result<StorageUsage> {
        let mut tx = self.begin_tenant(tenant).await?;
        let (key_count, bytes): (i64, i64) =
            sqlx::query_as("SELECT key_count, bytes FROM alga_recount_storage_usage($1)").bind(extension_id).fetch_one(&mut *tx).await?;
        tx.commit().await?;
        Ok(StorageUsage { key_count, bytes })
    }

    async fn list_storage_audit(&self, tenant: &TenantId, extension_id: Uuid, limit: u32) -> Result<Vec<StorageAuditEntry>> {
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

#[async_trait]
impl ImportTx for Transaction<'static, Postgres> {
    async fn audit(&mut self, tenant: &TenantId, entry: &NewAuditEntry) -> Result<()> {
        RegistryTx::audit(self, tenant, entry).await
    }

    async fn clear_extension(&mut self, tenant: &TenantId, extension_id: Uuid) -> Result<()> {
        let (n, b): (i64, Option<i64>) = sqlx::query_as(
            "WITH gone AS (DELETE FROM extension_storage WHERE tenant_id = $1 AND extension_id = $2 RETURNING size_bytes) \
             SELECT count(*), sum(size_bytes)::bigint FROM gone",
        )
        .bind(tenant.as_str())
        .bind(extension_id)
        .fetch_one(&mut **self)
        .await?;
        charge(&mut **self, tenant, extension_id, -n, -b.unwrap_or(0), None).await
    }

    async fn restore(&mut self, tenant: &TenantId, extension_id: Uuid, v: &PortableValue, quota: Option<StorageQuota>) -> Result<()> {
        let key = StorageKey { extension_id, namespace: &v.namespace, key: &v.key };
        PgStore::set_in(&mut **self, tenant, key, &v.value, SetOptions { quota, ..Default::default() }).await?;
        sqlx::query(
            "UPDATE extension_storage SET revision = $5, expires_at = $6 \
             WHERE tenant_id = $1 AND extension_id = $2 AND namespace = $3 AND key = $4",
        )
        .bind(tenant.as_str())
        .bind(extension_id)
        .bind(&v.namespace)
        .bind(&v.key)
        .bind(v.revision)
        .bind(v.expires_at)
        .execute(&mut **self)
        .await?;
        Ok(())
    }

    async fn commit(self) -> Result<()> {
        Ok(Transaction::commit(self).await?)
    }
}
