//! PostgreSQL storage writes with conditions, and the many-key operations.

use serde_json::Value;
use sqlx::types::Json;
use sqlx::{Acquire, PgConnection, Postgres, Transaction};
use uuid::Uuid;

use super::{PgStore, LIVE, VALUE_COLUMNS};
use crate::rows::{self, StoredValueRow};
use crate::{Result, SetOptions, StorageKey, StorageQuota, StorageTx, StoreError, StoredValue, TenantId};

type Tx = Transaction<'static, Postgres>;

/// How a write replaces an existing row (`s`): a new revision, and a fresh creation time
/// when the row it replaces had expired.
const UPSERT: &str = "ON CONFLICT (extension_id, tenant_id, namespace, key) DO UPDATE SET \
    value = EXCLUDED.value, revision = s.revision + 1, expires_at = EXCLUDED.expires_at, \
    size_bytes = EXCLUDED.size_bytes, updated_at = now(), \
    created_at = CASE WHEN s.expires_at IS NOT NULL AND s.expires_at <= now() THEN now() ELSE s.created_at END";

impl PgStore {
    /// Unconditional writes of many keys of one namespace in one statement (instead of
    /// three per key), then one usage charge for the whole batch. Later duplicates win.
    pub(super) async fn set_batch_in(
        tx: &mut PgConnection,
        tenant: &TenantId,
        extension_id: uuid::Uuid,
        namespace: &str,
        entries: &[(String, Value)],
        options: SetOptions,
    ) -> Result<Vec<StoredValue>> {
        let expires_at = rows::expiry(options)?;
        let unique = rows::last_wins(entries);
        let keys: Vec<&str> = unique.iter().map(|(k, _)| k.as_str()).collect();
        let values: Vec<Json<&Value>> = unique.iter().map(|(_, v)| Json(v)).collect();
        let sizes: Vec<i64> = unique.iter().map(|(_, v)| crate::json_size(v)).collect();
        // `old` locks and measures the rows being replaced, from the statement's snapshot;
        // the insert then writes every key; both in one round trip.
        let sql = format!(
            "WITH input AS (SELECT * FROM unnest($3::text[], $4::jsonb[], $5::bigint[]) AS t(key, value, size_bytes)), \
             old AS (SELECT s.size_bytes FROM extension_storage s JOIN input i ON s.key = i.key \
                     WHERE s.tenant_id = $1 AND s.extension_id = $2 AND s.namespace = $6 FOR UPDATE OF s), \
             written AS (INSERT INTO extension_storage AS s (tenant_id, extension_id, namespace, key, value, revision, expires_at, size_bytes) \
                 SELECT $1, $2, $6, i.key, i.value, 1, $7, i.size_bytes FROM input i \
                 {UPSERT} RETURNING {VALUE_COLUMNS}) \
             SELECT w.*, (SELECT count(*) FROM old) AS old_count, (SELECT coalesce(sum(size_bytes), 0)::bigint FROM old) AS old_bytes FROM written w"
        );
        let found = sqlx::query(&sql)
            .bind(tenant.as_str())
            .bind(extension_id)
            .bind(&keys)
            .bind(&values)
            .bind(&sizes)
            .bind(namespace)
            .bind(expires_at)
            .fetch_all(&mut *tx)
            .await?;
        let (mut old_count, mut old_bytes) = (0i64, 0i64);
        let mut written: std::collections::HashMap<String, StoredValue> = std::collections::HashMap::new();
        for row in &found {
            use sqlx::Row;
            old_count = row.try_get("old_count")?;
            old_bytes = row.try_get("old_bytes")?;
            let value: StoredValue = <StoredValueRow as sqlx::FromRow<_>>::from_row(row)?.into();
            written.insert(value.key.clone(), value);
        }
        let new_bytes: i64 = sizes.iter().sum();
        charge(tx, tenant, extension_id, keys.len() as i64 - old_count, new_bytes - old_bytes, options.quota).await?;
        // In the caller's order, one per key as written.
        keys.iter()
            .map(|k| {
                written.get(*k).cloned().ok_or_else(|| StoreError::Corrupt { table: "extension_storage", message: format!("batch write lost {k}") })
            })
            .collect()
    }

    /// One write inside `tx`, honouring `if_revision` as an atomic compare-and-set: the
    /// UPDATE re-checks the revision under the row lock, and the insert-if-absent only
    /// replaces an expired row.
    pub(super) async fn set_in(
        tx: &mut PgConnection,
        tenant: &TenantId,
        key: StorageKey<'_>,
        value: &Value,
        options: SetOptions,
    ) -> Result<StoredValue> {
        let expires_at = rows::expiry(options)?;
        let size = crate::json_size(value);
        // The row being replaced, locked: the write changes usage by the difference.
        let old_size: Option<i64> = sqlx::query_scalar(
            "SELECT size_bytes FROM extension_storage WHERE tenant_id = $1 AND extension_id = $2 \
             AND namespace = $3 AND key = $4 FOR UPDATE",
        )
        .bind(tenant.as_str())
        .bind(key.extension_id)
        .bind(key.namespace)
        .bind(key.key)
        .fetch_optional(&mut *tx)
        .await?;
        // Both statements take $1..$7 alike (tenant, extension, namespace, key, value,
        // expiry, size); $8 is the expected revision or the only-if-absent flag.
        let compare_and_set = options.if_revision.filter(|expected| *expected > 0);
        let sql = if compare_and_set.is_some() {
            format!(
                "UPDATE extension_storage SET value = $5, revision = revision + 1, expires_at = $6, size_bytes = $7, \
                 updated_at = now() WHERE tenant_id = $1 AND extension_id = $2 AND namespace = $3 AND key = $4 \
                 AND revision = $8 AND {LIVE} RETURNING {VALUE_COLUMNS}"
            )
        } else {
            // Unconditional, or only-if-absent (an expired row counts as absent).
            format!(
                "INSERT INTO extension_storage AS s (tenant_id, extension_id, namespace, key, value, revision, \
                 expires_at, size_bytes) VALUES ($1, $2, $3, $4, $5, 1, $6, $7) \
                 {UPSERT} WHERE NOT $8 OR (s.expires_at IS NOT NULL AND s.expires_at <= now()) \
                 RETURNING {VALUE_COLUMNS}"
            )
        };
        let query = sqlx::query_as::<_, StoredValueRow>(&sql)
            .bind(tenant.as_str())
            .bind(key.extension_id)
            .bind(key.namespace)
            .bind(key.key)
            .bind(Json(value))
            .bind(expires_at)
            .bind(size);
        let query = match compare_and_set {
            Some(expected) => query.bind(expected),
            None => query.bind(options.if_revision.is_some()),
        };
        let row = query.fetch_optional(&mut *tx).await?;
        match row {
            Some(row) => {
                let added_key = i64::from(old_size.is_none());
                charge(tx, tenant, key.extension_id, added_key, size - old_size.unwrap_or(0), options.quota).await?;
                Ok(row.into())
            }
            None => {
                let current = Self::get_in(tx, tenant, key).await?.map_or(0, |v| v.revision);
                Err(StoreError::RevisionMismatch { expected: options.if_revision.unwrap_or(0), current })
            }
        }
    }

    /// Deletes the given keys (or the whole namespace) and counts the live ones among them.
    pub(super) async fn delete_where(&self, tenant: &TenantId, extension_id: Uuid, namespace: &str, keys: Option<&[String]>) -> Result<u64> {
        let mut tx = self.begin_tenant(tenant).await?;
        let sql = format!(
            "DELETE FROM extension_storage WHERE tenant_id = $1 AND extension_id = $2 AND namespace = $3 \
             AND ($4::text[] IS NULL OR key = ANY($4)) RETURNING {LIVE}, size_bytes"
        );
        let gone: Vec<(bool, i64)> =
            sqlx::query_as(&sql).bind(tenant.as_str()).bind(extension_id).bind(namespace).bind(keys).fetch_all(&mut *tx).await?;
        let bytes: i64 = gone.iter().map(|(_, size)| size).sum();
        charge(&mut tx, tenant, extension_id, -(gone.len() as i64), -bytes, None).await?;
        tx.commit().await?;
        Ok(gone.into_iter().filter(|(live, _)| *live).count() as u64)
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
        let (tenant, key) = (self.tenant.clone(), StorageKey { extension_id: self.extension_id, namespace, key });
        PgStore::get_in(&mut self.tx, &tenant, key).await
    }

    async fn set(&mut self, namespace: &str, key: &str, value: &Value, options: SetOptions) -> Result<StoredValue> {
        self.lock(namespace, key).await?;
        let storage_key = self.key(namespace, key);
        let tenant = self.tenant.clone();
        // A savepoint, so a refused write (quota, revision) leaves no trace even when the
        // extension catches the error and commits the rest.
        let mut savepoint = (&mut self.tx).begin().await?;
        let stored = PgStore::set_in(&mut savepoint, &tenant, storage_key, value, options).await?;
        savepoint.commit().await?;
        Ok(stored)
    }

    async fn delete(&mut self, namespace: &str, key: &str) -> Result<bool> {
        self.lock(namespace, key).await?;
        let (tenant, key) = (self.tenant.clone(), StorageKey { extension_id: self.extension_id, namespace, key });
        PgStore::delete_in(&mut self.tx, &tenant, key).await
    }

    async fn commit(self: Box<Self>) -> Result<()> {
        Ok(self.tx.commit().await?)
    }

    async fn rollback(self: Box<Self>) -> Result<()> {
        Ok(self.tx.rollback().await?)
    }
}

impl PgStore {
    /// Reads one live value on `conn` (a tenant-scoped transaction).
    pub(super) async fn get_in(conn: &mut PgConnection, tenant: &TenantId, key: StorageKey<'_>) -> Result<Option<StoredValue>> {
        let sql = format!(
            "SELECT {VALUE_COLUMNS} FROM extension_storage WHERE tenant_id = $1 AND extension_id = $2 \
             AND namespace = $3 AND key = $4 AND {LIVE}"
        );
        let row: Option<StoredValueRow> =
            sqlx::query_as(&sql).bind(tenant.as_str()).bind(key.extension_id).bind(key.namespace).bind(key.key).fetch_optional(&mut *conn).await?;
        Ok(row.map(Into::into))
    }

    /// Deletes one key inside a transaction and credits its size back to usage.
    pub(super) async fn delete_in(tx: &mut PgConnection, tenant: &TenantId, key: StorageKey<'_>) -> Result<bool> {
        let sql = format!(
            "DELETE FROM extension_storage WHERE tenant_id = $1 AND extension_id = $2 AND namespace = $3 \
             AND key = $4 RETURNING {LIVE}, size_bytes"
        );
        let gone: Option<(bool, i64)> =
            sqlx::query_as(&sql).bind(tenant.as_str()).bind(key.extension_id).bind(key.namespace).bind(key.key).fetch_optional(&mut *tx).await?;
        let Some((live, size)) = gone else { return Ok(false) };
        charge(tx, tenant, key.extension_id, -1, -size, None).await?;
        Ok(live)
    }
}

/// Adds to an extension's usage counters and enforces its quota. The upsert locks the usage
/// row, so concurrent writers of one extension queue here and cannot overshoot together.
/// Only growth is refused: a write that shrinks usage passes even above a lowered quota.
pub(super) async fn charge(
    tx: &mut PgConnection,
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
        "INSERT INTO extension_storage_usage AS u (extension_id, tenant_id, key_count, bytes) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (extension_id, tenant_id) DO UPDATE SET key_count = u.key_count + EXCLUDED.key_count, \
         bytes = u.bytes + EXCLUDED.bytes, updated_at = now() RETURNING key_count, bytes",
    )
    .bind(extension_id)
    .bind(tenant.as_str())
    .bind(keys)
    .bind(bytes)
    .fetch_one(&mut *tx)
    .await?;
    if let Some(q) = quota {
        if (keys > 0 && total_keys > q.max_keys) || (bytes > 0 && total_bytes > q.max_bytes) {
            return Err(StoreError::QuotaExceeded { keys: total_keys, bytes: total_bytes, max_keys: q.max_keys, max_bytes: q.max_bytes });
        }
    }
    Ok(())
}
