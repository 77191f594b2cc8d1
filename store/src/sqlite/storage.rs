//! SQLite storage writes with conditions, and the many-key operations.
//!
//! Conditional writes start with their write, so SQLite's write lock makes the
//! compare-and-set atomic.

use serde_json::Value;
use sqlx::types::Json;
use sqlx::{Acquire, Sqlite, SqliteConnection, Transaction};
use uuid::Uuid;

use super::{now, ts, SqliteStore, VALUE_COLUMNS};
use crate::rows::{self, StoredValueRow};
use crate::{Result, SetOptions, StorageKey, StorageQuota, StorageTx, StoreError, StoredValue, TenantId};

type Tx = Transaction<'static, Sqlite>;

const LIVE: &str = "(expires_at IS NULL OR expires_at > ?9)";

impl SqliteStore {
    /// Waits for this store's turn among storage writers, then takes the write lock
    /// (`BEGIN IMMEDIATE`). The turn is held until the transaction ends.
    pub(super) async fn begin_write(&self) -> Result<(super::WriterTurn, Tx)> {
        let turn = self.writers.clone().lock_owned().await;
        let tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        Ok((turn, tx))
    }

    /// One write inside `tx`, honouring `if_revision` (0: only if absent or expired).
    pub(super) async fn set_in(
        tx: &mut SqliteConnection,
        tenant: &TenantId,
        key: StorageKey<'_>,
        value: &Value,
        options: SetOptions,
    ) -> Result<StoredValue> {
        let expires_at = rows::expiry(options)?.map(ts);
        let at = now();
        let size = crate::json_size(value);
        // The row being replaced: the write changes usage by the difference. Writers hold
        // SQLite's write lock (BEGIN IMMEDIATE), so nothing changes it meanwhile.
        let old_size: Option<i64> = sqlx::query_scalar(
            "SELECT size_bytes FROM extension_storage WHERE tenant_id = ?1 AND extension_id = ?2 \
             AND namespace = ?3 AND key = ?4",
        )
        .bind(tenant.as_str())
        .bind(key.extension_id.to_string())
        .bind(key.namespace)
        .bind(key.key)
        .fetch_optional(&mut *tx)
        .await?;
        // Both statements take ?1..?7 alike (tenant, extension, namespace, key, value, expiry,
        // size) and ?9 (now); ?8 is the expected revision or the only-if-absent flag.
        let compare_and_set = options.if_revision.filter(|expected| *expected > 0);
        let sql = if compare_and_set.is_some() {
            format!(
                "UPDATE extension_storage SET value = ?5, revision = revision + 1, expires_at = ?6, size_bytes = ?7, \
                 updated_at = ?9 WHERE tenant_id = ?1 AND extension_id = ?2 AND namespace = ?3 AND key = ?4 \
                 AND revision = ?8 AND {LIVE} RETURNING {VALUE_COLUMNS}"
            )
        } else {
            // Unconditional, or only-if-absent (an expired row counts as absent).
            format!(
                "INSERT INTO extension_storage AS s (extension_id, tenant_id, namespace, key, value, revision, \
                 expires_at, size_bytes, created_at, updated_at) VALUES (?2, ?1, ?3, ?4, ?5, 1, ?6, ?7, ?9, ?9) \
                 ON CONFLICT (extension_id, tenant_id, namespace, key) DO UPDATE SET \
                   value = excluded.value, revision = s.revision + 1, expires_at = excluded.expires_at, \
                   size_bytes = excluded.size_bytes, updated_at = excluded.updated_at, \
                   created_at = CASE WHEN s.expires_at IS NOT NULL AND s.expires_at <= ?9 \
                                THEN excluded.created_at ELSE s.created_at END \
                 WHERE NOT ?8 OR (s.expires_at IS NOT NULL AND s.expires_at <= ?9) \
                 RETURNING {VALUE_COLUMNS}"
            )
        };
        let query = sqlx::query_as::<_, StoredValueRow>(&sql)
            .bind(tenant.as_str())
            .bind(key.extension_id.to_string())
            .bind(key.namespace)
            .bind(key.key)
            .bind(Json(value))
            .bind(&expires_at)
            .bind(size);
        let query = match compare_and_set {
            Some(expected) => query.bind(expected),
            None => query.bind(options.if_revision.is_some()),
        };
        let row = query.bind(&at).fetch_optional(&mut *tx).await?;
        match row {
            Some(row) => {
                let added_key = i64::from(old_size.is_none());
                charge(tx, tenant, key.extension_id, added_key, size - old_size.unwrap_or(0), options.quota).await?;
                Ok(row.into())
            }
            None => {
                let current = Self::get_in(&mut *tx, tenant, key).await?.map_or(0, |v| v.revision);
                Err(StoreError::RevisionMismatch { expected: options.if_revision.unwrap_or(0), current })
            }
        }
    }

    /// Deletes the given keys (or the whole namespace), credits usage, and counts the live ones.
    pub(super) async fn delete_where(&self, tenant: &TenantId, extension_id: Uuid, namespace: &str, keys: Option<&[String]>) -> Result<u64> {
        let (_turn, mut tx) = self.begin_write().await?;
        let gone: Vec<(bool, i64)> = sqlx::query_as(
            "DELETE FROM extension_storage WHERE tenant_id = ?1 AND extension_id = ?2 AND namespace = ?3 \
             AND (?4 IS NULL OR key IN (SELECT value FROM json_each(?4))) \
             RETURNING (expires_at IS NULL OR expires_at > ?5), size_bytes",
        )
        .bind(tenant.as_str())
        .bind(extension_id.to_string())
        .bind(namespace)
        .bind(keys.map(Json))
        .bind(now())
        .fetch_all(&mut *tx)
        .await?;
        let bytes: i64 = gone.iter().map(|(_, size)| size).sum();
        charge(&mut tx, tenant, extension_id, -(gone.len() as i64), -bytes, None).await?;
        tx.commit().await?;
        Ok(gone.into_iter().filter(|(live, _)| *live).count() as u64)
    }

    /// Reads one live value through `executor` (the pool, or a connection inside a transaction).
    pub(super) async fn get_in<'e>(executor: impl sqlx::SqliteExecutor<'e>, tenant: &TenantId, key: StorageKey<'_>) -> Result<Option<StoredValue>> {
        let sql = format!(
            "SELECT {VALUE_COLUMNS} FROM extension_storage WHERE tenant_id = ?1 AND extension_id = ?2 \
             AND namespace = ?3 AND key = ?4 AND (expires_at IS NULL OR expires_at > ?5)"
        );
        let row: Option<StoredValueRow> = sqlx::query_as(&sql)
            .bind(tenant.as_str())
            .bind(key.extension_id.to_string())
            .bind(key.namespace)
            .bind(key.key)
            .bind(now())
            .fetch_optional(executor)
            .await?;
        Ok(row.map(Into::into))
    }

    /// Deletes one key inside a transaction and credits its size back to usage.
    pub(super) async fn delete_in(tx: &mut SqliteConnection, tenant: &TenantId, key: StorageKey<'_>) -> Result<bool> {
        let gone: Option<(bool, i64)> = sqlx::query_as(
            "DELETE FROM extension_storage WHERE tenant_id = ?1 AND extension_id = ?2 AND namespace = ?3 \
             AND key = ?4 RETURNING (expires_at IS NULL OR expires_at > ?5), size_bytes",
        )
        .bind(tenant.as_str())
        .bind(key.extension_id.to_string())
        .bind(key.namespace)
        .bind(key.key)
        .bind(now())
        .fetch_optional(&mut *tx)
        .await?;
        let Some((live, size)) = gone else { return Ok(false) };
        charge(tx, tenant, key.extension_id, -1, -size, None).await?;
        Ok(live)
    }
}

/// A SQLite storage transaction: `BEGIN IMMEDIATE` takes the write lock at once, so
/// transactions run one after the other, in the order they asked (`begin_write`).
pub(super) struct SqliteStorageTx {
    tx: Tx,
    _turn: super::WriterTurn,
    tenant: TenantId,
    extension_id: Uuid,
}

impl SqliteStorageTx {
    pub(super) fn new(tx: Tx, turn: super::WriterTurn, tenant: TenantId, extension_id: Uuid) -> Self {
        Self { tx, _turn: turn, tenant, extension_id }
    }
}

#[async_trait::async_trait]
impl StorageTx for SqliteStorageTx {
    async fn get(&mut self, namespace: &str, key: &str) -> Result<Option<StoredValue>> {
        let (tenant, key) = (self.tenant.clone(), StorageKey { extension_id: self.extension_id, namespace, key });
        SqliteStore::get_in(&mut *self.tx, &tenant, key).await
    }

    async fn set(&mut self, namespace: &str, key: &str, value: &Value, options: SetOptions) -> Result<StoredValue> {
        let storage_key = StorageKey { extension_id: self.extension_id, namespace, key };
        let tenant = self.tenant.clone();
        // A savepoint, so a refused write leaves no trace even if the extension commits the rest.
        let mut savepoint = (&mut self.tx).begin().await?;
        let stored = SqliteStore::set_in(&mut savepoint, &tenant, storage_key, value, options).await?;
        savepoint.commit().await?;
        Ok(stored)
    }

    async fn delete(&mut self, namespace: &str, key: &str) -> Result<bool> {
        let (tenant, key) = (self.tenant.clone(), StorageKey { extension_id: self.extension_id, namespace, key });
        SqliteStore::delete_in(&mut self.tx, &tenant, key).await
    }

    async fn commit(self: Box<Self>) -> Result<()> {
        Ok(self.tx.commit().await?)
    }

    async fn rollback(self: Box<Self>) -> Result<()> {
        Ok(self.tx.rollback().await?)
    }
}

/// Adds to an extension's usage counters and enforces its quota (writers are serialized by
/// SQLite's write lock). Only growth is refused.
pub(super) async fn charge(
    tx: &mut SqliteConnection,
    tenant: &TenantId,
    extension_id: Uuid,
    keys: i64,
    bytes: i64,
    quota: Option<StorageQuota>,
) -> Result<()> {
    if keys == 0 && bytes == 0 {
        return Ok(());
    }
    let (total_keys, total_bytes): (i64, i64) = sqlx::query_as(
        "INSERT INTO extension_storage_usage AS u (extension_id, tenant_id, key_count, bytes, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (extension_id, tenant_id) DO UPDATE SET \
         key_count = u.key_count + excluded.key_count, bytes = u.bytes + excluded.bytes, updated_at = excluded.updated_at \
         RETURNING key_count, bytes",
    )
    .bind(extension_id.to_string())
    .bind(tenant.as_str())
    .bind(keys)
    .bind(bytes)
    .bind(now())
    .fetch_one(&mut *tx)
    .await?;
    if let Some(q) = quota {
        if (keys > 0 && total_keys > q.max_keys) || (bytes > 0 && total_bytes > q.max_bytes) {
            return Err(StoreError::QuotaExceeded { keys: total_keys, bytes: total_bytes, max_keys: q.max_keys, max_bytes: q.max_bytes });
        }
    }
    Ok(())
}
