//! PostgreSQL storage writes with conditions, and the many-key operations.

use serde_json::Value;
use sqlx::types::Json;
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use super::{PgStore, LIVE, VALUE_COLUMNS};
use crate::rows::{self, StoredValueRow};
use crate::{Result, SetOptions, StorageKey, StorageTx, StoreError, StoredValue, TenantId};

type Tx = Transaction<'static, Postgres>;

impl PgStore {
    /// One write inside `tx`, honouring `if_revision` as an atomic compare-and-set: the
    /// UPDATE re-checks the revision under the row lock, and the insert-if-absent only
    /// replaces an expired row.
    pub(super) async fn set_in(tx: &mut Tx, tenant: &TenantId, key: StorageKey<'_>, value: &Value, options: SetOptions) -> Result<StoredValue> {
        let expires_at = rows::expiry(options)?;
        let size = crate::json_size(value);
        let row: Option<StoredValueRow> = match options.if_revision {
            Some(expected) if expected > 0 => {
                let sql = format!(
                    "UPDATE extension_storage SET value = $5, revision = revision + 1, expires_at = $6, size_bytes = $7, \
                     updated_at = now() WHERE tenant_id = $1 AND extension_id = $2 AND namespace = $3 AND key = $4 \
                     AND revision = $8 AND {LIVE} RETURNING {VALUE_COLUMNS}"
                );
                sqlx::query_as(&sql)
                    .bind(tenant.as_str())
                    .bind(key.extension_id)
                    .bind(key.namespace)
                    .bind(key.key)
                    .bind(Json(value))
                    .bind(expires_at)
                    .bind(size)
                    .bind(expected)
                    .fetch_optional(&mut **tx)
                    .await?
            }
            _ => {
                // Unconditional, or only-if-absent (an expired row counts as absent).
                let only_if_absent = options.if_revision.is_some();
                let sql = format!(
                    "INSERT INTO extension_storage AS s (extension_id, tenant_id, namespace, key, value, revision, \
                     expires_at, size_bytes) VALUES ($1, $2, $3, $4, $5, 1, $6, $7) \
                     ON CONFLICT (extension_id, tenant_id, namespace, key) DO UPDATE SET \
                       value = EXCLUDED.value, revision = s.revision + 1, expires_at = EXCLUDED.expires_at, \
                       size_bytes = EXCLUDED.size_bytes, updated_at = now(), \
                       created_at = CASE WHEN s.expires_at IS NOT NULL AND s.expires_at <= now() THEN now() ELSE s.created_at END \
                     WHERE NOT $8 OR (s.expires_at IS NOT NULL AND s.expires_at <= now()) \
                     RETURNING {VALUE_COLUMNS}"
                );
                sqlx::query_as(&sql)
                    .bind(key.extension_id)
                    .bind(tenant.as_str())
                    .bind(key.namespace)
                    .bind(key.key)
                    .bind(Json(value))
                    .bind(expires_at)
                    .bind(size)
                    .bind(only_if_absent)
                    .fetch_optional(&mut **tx)
                    .await?
            }
        };
        match row {
            Some(row) => Ok(row.into()),
            None => {
                let sql = format!(
                    "SELECT revision FROM extension_storage WHERE tenant_id = $1 AND extension_id = $2 \
                     AND namespace = $3 AND key = $4 AND {LIVE}"
                );
                let current: Option<i64> = sqlx::query_scalar(&sql)
                    .bind(tenant.as_str())
                    .bind(key.extension_id)
                    .bind(key.namespace)
                    .bind(key.key)
                    .fetch_optional(&mut **tx)
                    .await?;
                Err(StoreError::RevisionMismatch { expected: options.if_revision.unwrap_or(0), current: current.unwrap_or(0) })
            }
        }
    }

    pub(super) async fn get_many_impl(&self, tenant: &TenantId, extension_id: Uuid, namespace: &str, keys: &[String]) -> Result<Vec<StoredValue>> {
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

    /// Deletes the given keys (or the whole namespace) and counts the live ones among them.
    pub(super) async fn delete_where(&self, tenant: &TenantId, extension_id: Uuid, namespace: &str, keys: Option<&[String]>) -> Result<u64> {
        let mut tx = self.begin_tenant(tenant).await?;
        let sql = format!(
            "DELETE FROM extension_storage WHERE tenant_id = $1 AND extension_id = $2 AND namespace = $3 \
             AND ($4::text[] IS NULL OR key = ANY($4)) RETURNING {LIVE}"
        );
        let live: Vec<bool> =
            sqlx::query_scalar(&sql).bind(tenant.as_str()).bind(extension_id).bind(namespace).bind(keys).fetch_all(&mut *tx).await?;
        tx.commit().await?;
        Ok(live.into_iter().filter(|l| *l).count() as u64)
    }

    pub(super) async fn count_impl(&self, tenant: &TenantId, extension_id: Uuid, namespace: &str) -> Result<u64> {
        let mut tx = self.begin_tenant(tenant).await?;
        let sql = format!("SELECT count(*) FROM extension_storage WHERE tenant_id = $1 AND extension_id = $2 AND namespace = $3 AND {LIVE}");
        let n: i64 = sqlx::query_scalar(&sql).bind(tenant.as_str()).bind(extension_id).bind(namespace).fetch_one(&mut *tx).await?;
        tx.commit().await?;
        Ok(n as u64)
    }
}

/// A PostgreSQL storage transaction: every key it touches is locked with a
/// transaction-scoped advisory lock first, which also serializes writers of absent keys.
pub(super) struct PgStorageTx {
    tx: Tx,
    tenant: TenantId,
    extension_id: Uuid,
}

impl PgStorageTx {
    pub(super) fn new(tx: Tx, tenant: TenantId, extension_id: Uuid) -> Self {
        Self { tx, tenant, extension_id }
    }

    async fn lock(&mut self, namespace: &str, key: &str) -> Result<()> {
        // Length-prefixed, so no namespace/key pair can collide with another.
        let identity = format!("{}/{}/{}:{namespace}/{key}", self.tenant, self.extension_id, namespace.len());
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))").bind(identity).execute(&mut *self.tx).await?;
        Ok(())
    }

    fn key<'a>(&self, namespace: &'a str, key: &'a str) -> StorageKey<'a> {
        StorageKey { extension_id: self.extension_id, namespace, key }
    }
}

#[async_trait::async_trait]
impl StorageTx for PgStorageTx {
    async fn get(&mut self, namespace: &str, key: &str) -> Result<Option<StoredValue>> {
        self.lock(namespace, key).await?;
        let sql = format!(
            "SELECT {VALUE_COLUMNS} FROM extension_storage WHERE tenant_id = $1 AND extension_id = $2 \
             AND namespace = $3 AND key = $4 AND {LIVE}"
        );
        let row: Option<StoredValueRow> = sqlx::query_as(&sql)
            .bind(self.tenant.as_str())
            .bind(self.extension_id)
            .bind(namespace)
            .bind(key)
            .fetch_optional(&mut *self.tx)
            .await?;
        Ok(row.map(Into::into))
    }

    async fn set(&mut self, namespace: &str, key: &str, value: &Value, options: SetOptions) -> Result<StoredValue> {
        self.lock(namespace, key).await?;
        let storage_key = self.key(namespace, key);
        PgStore::set_in(&mut self.tx, &self.tenant.clone(), storage_key, value, options).await
    }

    async fn delete(&mut self, namespace: &str, key: &str) -> Result<bool> {
        self.lock(namespace, key).await?;
        let sql = format!(
            "DELETE FROM extension_storage WHERE tenant_id = $1 AND extension_id = $2 AND namespace = $3 \
             AND key = $4 RETURNING {LIVE}"
        );
        let live: Option<bool> = sqlx::query_scalar(&sql)
            .bind(self.tenant.as_str())
            .bind(self.extension_id)
            .bind(namespace)
            .bind(key)
            .fetch_optional(&mut *self.tx)
            .await?;
        Ok(live.unwrap_or(false))
    }

    async fn commit(self: Box<Self>) -> Result<()> {
        Ok(self.tx.commit().await?)
    }

    async fn rollback(self: Box<Self>) -> Result<()> {
        Ok(self.tx.rollback().await?)
    }
}
