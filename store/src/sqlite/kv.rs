//! SQLite side of extensions' key-value storage as their code uses it (the role the storage ops see).

use async_trait::async_trait;
use serde_json::Value;
use sqlx::types::Json;
use uuid::Uuid;

use super::storage::SqliteStorageTx;
use super::{now, search, ts, SqliteStore, VALUE_COLUMNS};
use crate::rows::{self, StoredValueRow};
use crate::{
    Filter, HistoryEntry, KvStore, ListQuery, Result, SetOptions, StorageAuditEntry, StorageKey, StorageTx, StoreError, StoredValue, TenantId,
    HISTORY_KEPT,
};

#[async_trait]
impl KvStore for SqliteStore {
    async fn storage_get(&self, tenant: &TenantId, key: StorageKey<'_>) -> Result<Option<StoredValue>> {
        Self::get_in(&self.pool, tenant, key).await
    }

    async fn storage_set(&self, tenant: &TenantId, key: StorageKey<'_>, value: &Value, options: SetOptions) -> Result<StoredValue> {
        let (_turn, mut tx) = self.begin_write().await?;
        let stored = Self::set_in(&mut tx, tenant, key, value, options).await?;
        tx.commit().await?;
        Ok(stored)
    }

    async fn begin_storage_tx(&self, tenant: &TenantId, extension_id: Uuid) -> Result<Box<dyn StorageTx>> {
        let (turn, tx) = self.begin_write().await?;
        Ok(Box::new(SqliteStorageTx::new(tx, turn, tenant.clone(), extension_id)))
    }

    async fn storage_get_many(&self, tenant: &TenantId, extension_id: Uuid, namespace: &str, keys: &[String]) -> Result<Vec<StoredValue>> {
        let sql = format!(
            "SELECT {VALUE_COLUMNS} FROM extension_storage WHERE tenant_id = ?1 AND extension_id = ?2 \
             AND namespace = ?3 AND key IN (SELECT value FROM json_each(?4)) \
             AND (expires_at IS NULL OR expires_at > ?5) ORDER BY key"
        );
        let found: Vec<StoredValueRow> = sqlx::query_as(&sql)
            .bind(tenant.as_str())
            .bind(extension_id.to_string())
            .bind(namespace)
            .bind(Json(keys))
            .bind(now())
            .fetch_all(&self.pool)
            .await?;
        Ok(found.into_iter().map(Into::into).collect())
    }

    async fn storage_set_many(
        &self,
        tenant: &TenantId,
        extension_id: Uuid,
        namespace: &str,
        entries: &[(String, Value)],
        options: SetOptions,
    ) -> Result<Vec<StoredValue>> {
        let (_turn, mut tx) = self.begin_write().await?;
        let mut stored = Vec::with_capacity(entries.len());
        for (key, value) in rows::last_wins(entries) {
            stored.push(Self::set_in(&mut tx, tenant, StorageKey { extension_id, namespace, key }, value, options).await?);
        }
        tx.commit().await?;
        Ok(stored)
    }

    async fn storage_delete_many(&self, tenant: &TenantId, extension_id: Uuid, namespace: &str, keys: &[String]) -> Result<u64> {
        self.delete_where(tenant, extension_id, namespace, Some(keys)).await
    }

    async fn storage_clear(&self, tenant: &TenantId, extension_id: Uuid, namespace: &str) -> Result<u64> {
        self.delete_where(tenant, extension_id, namespace, None).await
    }

    async fn storage_count(&self, tenant: &TenantId, extension_id: Uuid, namespace: &str) -> Result<u64> {
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM extension_storage WHERE tenant_id = ?1 AND extension_id = ?2 AND namespace = ?3 \
             AND (expires_at IS NULL OR expires_at > ?4)",
        )
        .bind(tenant.as_str())
        .bind(extension_id.to_string())
        .bind(namespace)
        .bind(now())
        .fetch_one(&self.pool)
        .await?;
        Ok(n as u64)
    }

    async fn storage_delete(&self, tenant: &TenantId, key: StorageKey<'_>) -> Result<bool> {
        let (_turn, mut tx) = self.begin_write().await?;
        let live = Self::delete_in(&mut tx, tenant, key).await?;
        tx.commit().await?;
        Ok(live)
    }

    async fn storage_list(&self, tenant: &TenantId, extension_id: Uuid, namespace: &str, query: ListQuery<'_>) -> Result<Vec<StoredValue>> {
        let limit = rows::check_list_limit(query.limit)?;
        // SQLite compares TEXT with memcmp (BINARY collation): byte order, as on PostgreSQL.
        let sql = format!(
            "SELECT {VALUE_COLUMNS} FROM extension_storage WHERE tenant_id = ?1 AND extension_id = ?2 \
             AND namespace = ?3 AND substr(key, 1, length(?4)) = ?4 AND (?5 IS NULL OR key > ?5) \
             AND (expires_at IS NULL OR expires_at > ?6) ORDER BY key LIMIT ?7"
        );
        let found: Vec<StoredValueRow> = sqlx::query_as(&sql)
            .bind(tenant.as_str())
            .bind(extension_id.to_string())
            .bind(namespace)
            .bind(query.prefix)
            .bind(query.after)
            .bind(now())
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        Ok(found.into_iter().map(Into::into).collect())
    }

    async fn storage_search(
        &self,
        tenant: &TenantId,
        extension_id: Uuid,
        namespace: &str,
        filters: &[Filter],
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<StoredValue>> {
        let mut q = search::query(tenant, extension_id, namespace, filters, after, limit)?;
        let found: Vec<StoredValueRow> = q.build_query_as().fetch_all(&self.pool).await?;
        Ok(found.into_iter().map(Into::into).collect())
    }

    async fn storage_history(&self, tenant: &TenantId, key: StorageKey<'_>, limit: u32) -> Result<Vec<HistoryEntry>> {
        let rows: Vec<(i64, String, String)> = sqlx::query_as(
            "SELECT revision, value, written_at FROM extension_storage_history WHERE tenant_id = ?1 AND extension_id = ?2 \
             AND namespace = ?3 AND key = ?4 ORDER BY revision DESC LIMIT ?5",
        )
        .bind(tenant.as_str())
        .bind(key.extension_id.to_string())
        .bind(key.namespace)
        .bind(key.key)
        .bind(i64::from(limit.min(HISTORY_KEPT)))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(revision, value, written_at)| {
                let corrupt = |message: String| StoreError::Corrupt { table: "extension_storage_history", message };
                Ok(HistoryEntry {
                    revision,
                    value: serde_json::from_str(&value).map_err(|e| corrupt(e.to_string()))?,
                    written_at: chrono::DateTime::parse_from_rfc3339(&written_at).map_err(|e| corrupt(e.to_string()))?.with_timezone(&chrono::Utc),
                })
            })
            .collect()
    }

    async fn append_storage_audit(&self, tenant: &TenantId, entries: &[StorageAuditEntry]) -> Result<()> {
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
}
