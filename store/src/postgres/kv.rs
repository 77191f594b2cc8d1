//! PostgreSQL side of extensions' key-value storage as their code uses it (the role the storage ops see).

use async_trait::async_trait;
use serde_json::Value;
use sqlx::types::Json;
use uuid::Uuid;

use super::storage::PgStorageTx;
use super::{search, PgStore, LIVE, VALUE_COLUMNS};
use crate::rows::{self, StoredValueRow};
use crate::{
    Filter, HistoryEntry, KvStore, ListQuery, Result, SetOptions, StorageAuditEntry, StorageKey, StorageTx, StoredValue, TenantId, HISTORY_KEPT,
};

#[async_trait]
impl KvStore for PgStore {
    async fn storage_get(&self, tenant: &TenantId, key: StorageKey<'_>) -> Result<Option<StoredValue>> {
        let mut tx = self.begin_tenant(tenant).await?;
        let found = Self::get_in(&mut tx, tenant, key).await?;
        tx.commit().await?;
        Ok(found)
    }

    async fn storage_set(&self, tenant: &TenantId, key: StorageKey<'_>, value: &Value, options: SetOptions) -> Result<StoredValue> {
        let mut tx = self.begin_tenant(tenant).await?;
        let stored = Self::set_in(&mut tx, tenant, key, value, options).await?;
        tx.commit().await?;
        Ok(stored)
    }

    async fn begin_storage_tx(&self, tenant: &TenantId, extension_id: Uuid) -> Result<Box<dyn StorageTx>> {
        let tx = self.begin_tenant(tenant).await?;
        Ok(Box::new(PgStorageTx::new(tx, tenant.clone(), extension_id)))
    }

    async fn storage_get_many(&self, tenant: &TenantId, extension_id: Uuid, namespace: &str, keys: &[String]) -> Result<Vec<StoredValue>> {
        let mut tx = self.begin_tenant(tenant).await?;
        let sql = format!(
            "SELECT {VALUE_COLUMNS} FROM extension_storage WHERE tenant_id = $1 AND extension_id = $2 \
             AND namespace = $3 AND key = ANY($4) AND {LIVE} ORDER BY key COLLATE \"C\""
        );
        let found: Vec<StoredValueRow> =
            sqlx::query_as(&sql).bind(tenant.as_str()).bind(extension_id).bind(namespace).bind(keys).fetch_all(&mut *tx).await?;
        tx.commit().await?;
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
        let mut tx = self.begin_tenant(tenant).await?;
        let stored = if options.if_revision.is_none() {
            Self::set_batch_in(&mut tx, tenant, extension_id, namespace, entries, options).await?
        } else {
            // Conditional batches check each key's revision on its own.
            let mut stored = Vec::with_capacity(entries.len());
            for (key, value) in rows::last_wins(entries) {
                stored.push(Self::set_in(&mut tx, tenant, StorageKey { extension_id, namespace, key }, value, options).await?);
            }
            stored
        };
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
        let mut tx = self.begin_tenant(tenant).await?;
        let sql = format!("SELECT count(*) FROM extension_storage WHERE tenant_id = $1 AND extension_id = $2 AND namespace = $3 AND {LIVE}");
        let n: i64 = sqlx::query_scalar(&sql).bind(tenant.as_str()).bind(extension_id).bind(namespace).fetch_one(&mut *tx).await?;
        tx.commit().await?;
        Ok(n as u64)
    }

    async fn storage_delete(&self, tenant: &TenantId, key: StorageKey<'_>) -> Result<bool> {
        let mut tx = self.begin_tenant(tenant).await?;
        let live = Self::delete_in(&mut tx, tenant, key).await?;
        tx.commit().await?;
        Ok(live)
    }

    async fn storage_list(&self, tenant: &TenantId, extension_id: Uuid, namespace: &str, query: ListQuery<'_>) -> Result<Vec<StoredValue>> {
        let limit = rows::check_list_limit(query.limit)?;
        let mut tx = self.begin_tenant(tenant).await?;
        // COLLATE "C" makes the order byte order on every database, so cursors are stable.
        let sql = format!(
            "SELECT {VALUE_COLUMNS} FROM extension_storage WHERE tenant_id = $1 AND extension_id = $2 \
             AND namespace = $3 AND starts_with(key, $4) AND ($5::text IS NULL OR key COLLATE \"C\" > $5) \
             AND {LIVE} ORDER BY key COLLATE \"C\" LIMIT $6"
        );
        let found: Vec<StoredValueRow> = sqlx::query_as(&sql)
            .bind(tenant.as_str())
            .bind(extension_id)
            .bind(namespace)
            .bind(query.prefix)
            .bind(query.after)
            .bind(limit)
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
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
        let mut tx = self.begin_tenant(tenant).await?;
        let found: Vec<StoredValueRow> = q.build_query_as().fetch_all(&mut *tx).await?;
        tx.commit().await?;
        Ok(found.into_iter().map(Into::into).collect())
    }

    async fn storage_history(&self, tenant: &TenantId, key: StorageKey<'_>, limit: u32) -> Result<Vec<HistoryEntry>> {
        let mut tx = self.begin_tenant(tenant).await?;
        let rows: Vec<(i64, Json<Value>, chrono::DateTime<chrono::Utc>)> = sqlx::query_as(
            "SELECT revision, value, written_at FROM extension_storage_history WHERE tenant_id = $1 AND extension_id = $2 \
             AND namespace = $3 AND key = $4 ORDER BY revision DESC LIMIT $5",
        )
        .bind(tenant.as_str())
        .bind(key.extension_id)
        .bind(key.namespace)
        .bind(key.key)
        .bind(i64::from(limit.min(HISTORY_KEPT)))
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(rows.into_iter().map(|(revision, value, written_at)| HistoryEntry { revision, value: value.0, written_at }).collect())
    }

    async fn append_storage_audit(&self, tenant: &TenantId, entries: &[StorageAuditEntry]) -> Result<()> {
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
}
