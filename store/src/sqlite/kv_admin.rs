//! SQLite side of the operators' storage tools: export, import, usage accounting and the write audit.

use async_trait::async_trait;
use sqlx::{Sqlite, Transaction};
use uuid::Uuid;

use super::storage::charge;
use super::{now, ts, SqliteStore};
use crate::flows::{self, ImportTx, RegistryTx};
use crate::{
    KvAdminStore, NewAuditEntry, PortableValue, Result, SetOptions, StorageAuditEntry, StorageKey, StorageQuota, StorageUsage, StoreError, TenantId,
};

type Row = (String, String, String, i64, Option<String>);

#[async_trait]
impl KvAdminStore for SqliteStore {
    async fn storage_export(&self, tenant: &TenantId, extension_id: Uuid, after: Option<(&str, &str)>, limit: u32) -> Result<Vec<PortableValue>> {
        // SQLite compares text bytewise (BINARY collation): the same order as PostgreSQL's "C".
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT namespace, key, value, revision, expires_at FROM extension_storage \
             WHERE tenant_id = ?1 AND extension_id = ?2 AND (expires_at IS NULL OR expires_at > ?3) \
               AND (?4 IS NULL OR namespace > ?4 OR (namespace = ?4 AND key > ?5)) \
             ORDER BY namespace, key LIMIT ?6",
        )
        .bind(tenant.as_str())
        .bind(extension_id.to_string())
        .bind(now())
        .bind(after.map(|(ns, _)| ns))
        .bind(after.map(|(_, k)| k).unwrap_or(""))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(namespace, key, value, revision, expires_at)| {
                let corrupt = |message: String| StoreError::Corrupt { table: "extension_storage", message };
                Ok(PortableValue {
                    namespace,
                    key,
                    value: serde_json::from_str(&value).map_err(|e| corrupt(e.to_string()))?,
                    revision,
                    expires_at: expires_at
                        .map(|t| chrono::DateTime::parse_from_rfc3339(&t).map(|t| t.with_timezone(&chrono::Utc)))
                        .transpose()
                        .map_err(|e| corrupt(e.to_string()))?,
                })
            })
            .collect()
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
        // Imports write like storage transactions do: in the writers' queue, then under the lock.
        flows::import(self.begin_import(), tenant, extension_id, values, replace, quota, audit).await
    }

    async fn storage_usage(&self, tenant: &TenantId, extension_id: Uuid) -> Result<StorageUsage> {
        let found: Option<(i64, i64)> =
            sqlx::query_as("SELECT key_count, bytes FROM extension_storage_usage WHERE extension_id = ?1 AND tenant_id = ?2")
                .bind(extension_id.to_string())
                .bind(tenant.as_str())
                .fetch_optional(&self.pool)
                .await?;
        let (key_count, bytes) = found.unwrap_or((0, 0));
        Ok(StorageUsage { key_count, bytes })
    }

    async fn recount_storage_usage(&self, tenant: &TenantId, extension_id: Uuid) -> Result<StorageUsage> {
        let at = now();
        let (key_count, bytes): (i64, i64) = sqlx::query_as(
            "INSERT INTO extension_storage_usage (extension_id, tenant_id, key_count, bytes, updated_at) \
             SELECT ?1, ?2, count(*), coalesce(sum(size_bytes), 0), ?3 FROM extension_storage \
             WHERE extension_id = ?1 AND tenant_id = ?2 \
             ON CONFLICT (extension_id, tenant_id) DO UPDATE SET key_count = excluded.key_count, \
             bytes = excluded.bytes, updated_at = excluded.updated_at RETURNING key_count, bytes",
        )
        .bind(extension_id.to_string())
        .bind(tenant.as_str())
        .bind(at)
        .fetch_one(&self.pool)
        .await?;
        Ok(StorageUsage { key_count, bytes })
    }

    async fn list_storage_audit(&self, tenant: &TenantId, extension_id: Uuid, limit: u32) -> Result<Vec<StorageAuditEntry>> {
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

impl SqliteStore {
    async fn begin_import(&self) -> Result<ImportWrite> {
        let (turn, tx) = self.begin_write().await?;
        Ok(ImportWrite { tx, _turn: turn })
    }
}

/// An import's transaction, holding its turn among storage writers until it ends.
struct ImportWrite {
    tx: Transaction<'static, Sqlite>,
    _turn: super::WriterTurn,
}

#[async_trait]
impl ImportTx for ImportWrite {
    async fn audit(&mut self, tenant: &TenantId, entry: &NewAuditEntry) -> Result<()> {
        RegistryTx::audit(&mut self.tx, tenant, entry).await
    }

    async fn clear_extension(&mut self, tenant: &TenantId, extension_id: Uuid) -> Result<()> {
        let (n, b): (i64, Option<i64>) =
            sqlx::query_as("SELECT count(*), sum(size_bytes) FROM extension_storage WHERE tenant_id = ?1 AND extension_id = ?2")
                .bind(tenant.as_str())
                .bind(extension_id.to_string())
                .fetch_one(&mut *self.tx)
                .await?;
        sqlx::query("DELETE FROM extension_storage WHERE tenant_id = ?1 AND extension_id = ?2")
            .bind(tenant.as_str())
            .bind(extension_id.to_string())
            .execute(&mut *self.tx)
            .await?;
        charge(&mut self.tx, tenant, extension_id, -n, -b.unwrap_or(0), None).await
    }

    async fn restore(&mut self, tenant: &TenantId, extension_id: Uuid, v: &PortableValue, quota: Option<StorageQuota>) -> Result<()> {
        let key = StorageKey { extension_id, namespace: &v.namespace, key: &v.key };
        SqliteStore::set_in(&mut self.tx, tenant, key, &v.value, SetOptions { quota, ..Default::default() }).await?;
        sqlx::query(
            "UPDATE extension_storage SET revision = ?5, expires_at = ?6 \
             WHERE tenant_id = ?1 AND extension_id = ?2 AND namespace = ?3 AND key = ?4",
        )
        .bind(tenant.as_str())
        .bind(extension_id.to_string())
        .bind(&v.namespace)
        .bind(&v.key)
        .bind(v.revision)
        .bind(v.expires_at.map(ts))
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn commit(self) -> Result<()> {
        Ok(self.tx.commit().await?)
    }
}
