//! The SQLite store, the embedded default: every statement names its tenant itself.
//!
//! Multi-statement write transactions begin `IMMEDIATE`, so SQLite takes the write lock at
//! once (waiting up to the busy timeout) instead of failing a read-to-write upgrade when
//! another connection wrote meanwhile (a deferred transaction that reads first would).

use std::str::FromStr;

use crate::{AuditStore, KvStore, MaintenanceStore, PortableValue, RegistryStore, StorageQuota};
use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};
use sqlx::types::Json;
use sqlx::{Sqlite, Transaction};
use uuid::Uuid;

mod audit;
mod install;
mod maintenance;
mod portable;
mod search;
mod storage;

use crate::rows::{self, AuditRow, ExtensionRow, StoredValueRow};
use crate::{
    Approval, AuditEntry, Backend, CapabilityGrant, ConnectOptions, Extension, ExtensionFilter, ExtensionPage, ExtensionStatus, ListQuery,
    NewAuditEntry, NewExtension, NewFile, NewVersion, Permission, Result, SchemaStatus, SetOptions, StorageKey, StorageUsage, StoreError, StoredFile,
    StoredValue, TenantId, VersionRecord,
};

static MIGRATOR: Migrator = sqlx::migrate!("../migrations/sqlite");

const EXTENSION_COLUMNS: &str = "id, tenant_id, extension_key, name, description, version, manifest, \
     main_entry_point, is_enabled, status, bundle_hash, limits, created_at, updated_at";
const VALUE_COLUMNS: &str = "key, value, revision, expires_at, size_bytes, created_at, updated_at";

/// A SQLite-backed [`Store`].
#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// Storage writers queue here, first come first served, before they take SQLite's one
    /// write lock. SQLite's own busy handler retries at growing intervals, so a writer that
    /// waits there can lose the lock again and again to newcomers; a storage transaction,
    /// which may hold the lock until its bound, would make that a starvation.
    writers: std::sync::Arc<tokio::sync::Mutex<()>>,
}

/// A storage write's place at the front of the queue; the write lock is its own.
pub(super) type WriterTurn = tokio::sync::OwnedMutexGuard<()>;

/// Timestamps are stored as fixed-width RFC 3339 UTC text, so text order is time order.
pub(crate) fn ts(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub(crate) fn now() -> String {
    ts(Utc::now())
}

impl SqliteStore {
    /// Opens (creating when missing) the database file the URL names.
    pub async fn connect(options: &ConnectOptions) -> Result<Self> {
        let connect = SqliteConnectOptions::from_str(&options.url)
            .map_err(|e| StoreError::InvalidUrl(e.to_string()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .foreign_keys(true)
            .busy_timeout(options.sqlite_lock_wait.max(options.connect_timeout));
        let connect = crate::quiet_slow_statements(connect);
        let pool =
            SqlitePoolOptions::new().max_connections(options.max_connections).acquire_timeout(options.connect_timeout).connect_with(connect).await?;
        Ok(Self { pool, writers: Default::default() })
    }

    /// The connection pool, for callers (and tests) that need raw SQL.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    async fn audit_in(tx: &mut Transaction<'static, Sqlite>, tenant: &TenantId, entry: &NewAuditEntry) -> Result<()> {
        sqlx::query("INSERT INTO audit_log (tenant_id, actor, action, target, details, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
            .bind(tenant.as_str())
            .bind(&entry.actor)
            .bind(&entry.action)
            .bind(&entry.target)
            .bind(Json(&entry.details))
            .bind(now())
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    async fn fetch_extension(&self, tenant: &TenantId, id: Uuid) -> Result<Option<Extension>> {
        let sql = format!("SELECT {EXTENSION_COLUMNS} FROM extensions WHERE tenant_id = ?1 AND id = ?2");
        let row: Option<ExtensionRow> = sqlx::query_as(&sql).bind(tenant.as_str()).bind(id.to_string()).fetch_optional(&self.pool).await?;
        row.map(ExtensionRow::into_record).transpose()
    }
}

impl SqliteStore {
    async fn insert_extension_in(tx: &mut Transaction<'static, Sqlite>, tenant: &TenantId, new: &NewExtension) -> Result<Extension> {
        let sql = format!(
            "INSERT INTO extensions (id, tenant_id, extension_key, name, description, version, manifest, \
             main_entry_point, status, bundle_hash, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11) RETURNING {EXTENSION_COLUMNS}"
        );
        let row: ExtensionRow = sqlx::query_as(&sql)
            .bind(new.id.to_string())
            .bind(tenant.as_str())
            .bind(&new.key)
            .bind(&new.name)
            .bind(&new.description)
            .bind(&new.version)
            .bind(Json(&new.manifest))
            .bind(&new.main_entry_point)
            .bind(new.status.as_str())
            .bind(&new.bundle_hash)
            .bind(now())
            .fetch_one(&mut **tx)
            .await?;
        row.into_record()
    }

    /// The id of a tenant permission, creating it when missing.
    async fn ensure_permission_in(
        tx: &mut Transaction<'static, Sqlite>,
        tenant: &TenantId,
        permission: &Permission,
        description: &str,
        extension_id: Option<Uuid>,
    ) -> Result<String> {
        let id = sqlx::query_scalar(
            "INSERT INTO permissions (id, tenant_id, resource, action, description, extension_id, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (tenant_id, resource, action) \
             DO UPDATE SET resource = excluded.resource RETURNING id",
        )
        .bind(Uuid::new_v4().to_string())
        .bind(tenant.as_str())
        .bind(&permission.resource)
        .bind(&permission.action)
        .bind(description)
        .bind(extension_id.map(|id| id.to_string()))
        .bind(now())
        .fetch_one(&mut **tx)
        .await?;
        Ok(id)
    }

    async fn grant_in(
        tx: &mut Transaction<'static, Sqlite>,
        tenant: &TenantId,
        role: &str,
        permission: &Permission,
        extension_id: Option<Uuid>,
    ) -> Result<()> {
        let at = now();
        let role_id: String = sqlx::query_scalar(
            "INSERT INTO roles (id, tenant_id, name, created_at) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (tenant_id, name) DO UPDATE SET name = excluded.name RETURNING id",
        )
        .bind(Uuid::new_v4().to_string())
        .bind(tenant.as_str())
        .bind(role)
        .bind(&at)
        .fetch_one(&mut **tx)
        .await?;
        let permission_id = Self::ensure_permission_in(tx, tenant, permission, "", extension_id).await?;
        sqlx::query(
            "INSERT INTO role_permissions (tenant_id, role_id, permission_id, created_at) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT DO NOTHING",
        )
        .bind(tenant.as_str())
        .bind(role_id)
        .bind(permission_id)
        .bind(&at)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }
}

#[async_trait]
impl RegistryStore for SqliteStore {
    async fn insert_extension(&self, tenant: &TenantId, new: &NewExtension, actor: &str) -> Result<Extension> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let ext = Self::insert_extension_in(&mut tx, tenant, new).await?;
        Self::audit_in(&mut tx, tenant, &rows::registered_audit(new, actor)).await?;
        tx.commit().await?;
        Ok(ext)
    }

    async fn create_install(
        &self,
        tenant: &TenantId,
        extension: &NewExtension,
        version: &NewVersion,
        files: &[NewFile],
        requested: &[Permission],
        actor: &str,
    ) -> Result<Extension> {
        self.create_install_impl(tenant, extension, version, files, requested, actor).await
    }

    async fn add_pending_version(
        &self,
        tenant: &TenantId,
        extension_id: Uuid,
        version: &NewVersion,
        files: &[NewFile],
        actor: &str,
    ) -> Result<VersionRecord> {
        self.add_pending_version_impl(tenant, extension_id, version, files, actor).await
    }

    async fn list_extensions_page(&self, tenant: &TenantId, filter: &ExtensionFilter, page: &ExtensionPage) -> Result<Vec<Extension>> {
        self.list_extensions_page_impl(tenant, filter, page).await
    }

    async fn count_extensions(&self, tenant: &TenantId) -> Result<u64> {
        self.count_extensions_impl(tenant).await
    }

    async fn list_versions(&self, tenant: &TenantId, extension_id: Uuid) -> Result<Vec<VersionRecord>> {
        self.list_versions_impl(tenant, extension_id).await
    }

    async fn approve_version(&self, tenant: &TenantId, extension_id: Uuid, version_id: Uuid, approval: &Approval, actor: &str) -> Result<Extension> {
        self.approve_version_impl(tenant, extension_id, version_id, approval, actor).await
    }

    async fn capabilities(&self, tenant: &TenantId, extension_id: Uuid) -> Result<Vec<CapabilityGrant>> {
        self.capabilities_impl(tenant, extension_id).await
    }

    async fn version_files(&self, tenant: &TenantId, version_id: Uuid) -> Result<Vec<StoredFile>> {
        self.version_files_impl(tenant, version_id).await
    }

    async fn read_file(&self, tenant: &TenantId, version_id: Uuid, path: &str) -> Result<Option<(StoredFile, Vec<u8>)>> {
        self.read_file_impl(tenant, version_id, path).await
    }

    async fn touch_extension(&self, tenant: &TenantId, id: Uuid) -> Result<()> {
        sqlx::query("UPDATE extensions SET last_used_at = ?3 WHERE tenant_id = ?1 AND id = ?2")
            .bind(tenant.as_str())
            .bind(id.to_string())
            .bind(now())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn get_extension(&self, tenant: &TenantId, id: Uuid) -> Result<Option<Extension>> {
        self.fetch_extension(tenant, id).await
    }

    async fn find_extension_by_key(&self, tenant: &TenantId, key: &str) -> Result<Option<Extension>> {
        let sql = format!("SELECT {EXTENSION_COLUMNS} FROM extensions WHERE tenant_id = ?1 AND extension_key = ?2");
        let row: Option<ExtensionRow> = sqlx::query_as(&sql).bind(tenant.as_str()).bind(key).fetch_optional(&self.pool).await?;
        row.map(ExtensionRow::into_record).transpose()
    }

    async fn list_extensions(&self, tenant: &TenantId, filter: &ExtensionFilter) -> Result<Vec<Extension>> {
        // instr() on lower() rather than LIKE, so `%` and `_` in the search text are literal.
        let sql = format!(
            "SELECT {EXTENSION_COLUMNS} FROM extensions WHERE tenant_id = ?1 \
             AND (?2 IS NULL OR status = ?2) \
             AND (?3 IS NULL OR instr(lower(name), lower(?3)) > 0 OR instr(lower(extension_key), lower(?3)) > 0) \
             ORDER BY lower(name), extension_key"
        );
        let found: Vec<ExtensionRow> = sqlx::query_as(&sql)
            .bind(tenant.as_str())
            .bind(filter.status.map(|s| s.as_str()))
            .bind(filter.name_contains.as_deref())
            .fetch_all(&self.pool)
            .await?;
        found.into_iter().map(ExtensionRow::into_record).collect()
    }

    async fn set_extension_enabled(&self, tenant: &TenantId, id: Uuid, enabled: bool, actor: &str) -> Result<Extension> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let sql = format!(
            "UPDATE extensions SET is_enabled = ?1, updated_at = ?2 WHERE tenant_id = ?3 AND id = ?4 \
             RETURNING {EXTENSION_COLUMNS}"
        );
        let row: Option<ExtensionRow> =
            sqlx::query_as(&sql).bind(enabled).bind(now()).bind(tenant.as_str()).bind(id.to_string()).fetch_optional(&mut *tx).await?;
        let ext = row.ok_or_else(|| StoreError::NotFound { entity: "extension", id: id.to_string() })?.into_record()?;
        Self::audit_in(&mut tx, tenant, &rows::enabled_audit(&ext, enabled, actor)).await?;
        tx.commit().await?;
        Ok(ext)
    }

    async fn set_extension_status(
        &self,
        tenant: &TenantId,
        id: Uuid,
        status: ExtensionStatus,
        enabled: bool,
        entry: &NewAuditEntry,
    ) -> Result<Extension> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let sql = format!(
            "UPDATE extensions SET status = ?3, is_enabled = ?4, updated_at = ?5 WHERE tenant_id = ?1 AND id = ?2 RETURNING {EXTENSION_COLUMNS}"
        );
        let row: Option<ExtensionRow> = sqlx::query_as(&sql)
            .bind(tenant.as_str())
            .bind(id.to_string())
            .bind(status.as_str())
            .bind(enabled)
            .bind(now())
            .fetch_optional(&mut *tx)
            .await?;
        let ext = row.ok_or_else(|| StoreError::NotFound { entity: "extension", id: id.to_string() })?.into_record()?;
        let entry = NewAuditEntry { target: ext.id.to_string(), ..entry.clone() };
        Self::audit_in(&mut tx, tenant, &entry).await?;
        tx.commit().await?;
        Ok(ext)
    }

    async fn set_extension_limits(&self, tenant: &TenantId, id: Uuid, limits: &Value, actor: &str) -> Result<Extension> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let sql = format!("UPDATE extensions SET limits = ?3, updated_at = ?4 WHERE tenant_id = ?1 AND id = ?2 RETURNING {EXTENSION_COLUMNS}");
        let row: Option<ExtensionRow> =
            sqlx::query_as(&sql).bind(tenant.as_str()).bind(id.to_string()).bind(Json(limits)).bind(now()).fetch_optional(&mut *tx).await?;
        let ext = row.ok_or_else(|| StoreError::NotFound { entity: "extension", id: id.to_string() })?.into_record()?;
        let entry = NewAuditEntry {
            actor: actor.to_owned(),
            action: "extension.limits_updated".into(),
            target: ext.id.to_string(),
            details: serde_json::json!({ "extension": ext.key, "limits": limits }),
        };
        Self::audit_in(&mut tx, tenant, &entry).await?;
        tx.commit().await?;
        Ok(ext)
    }

    async fn delete_extension(&self, tenant: &TenantId, id: Uuid, purge: bool, actor: &str) -> Result<()> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let sql = format!("DELETE FROM extensions WHERE tenant_id = ?1 AND id = ?2 RETURNING {EXTENSION_COLUMNS}");
        let row: Option<ExtensionRow> = sqlx::query_as(&sql).bind(tenant.as_str()).bind(id.to_string()).fetch_optional(&mut *tx).await?;
        let ext = row.ok_or_else(|| StoreError::NotFound { entity: "extension", id: id.to_string() })?.into_record()?;
        if purge {
            Self::purge_in(&mut tx, tenant, id).await?;
        }
        Self::audit_in(&mut tx, tenant, &rows::uninstalled_audit(&ext, purge, actor)).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn get_settings(&self, tenant: &TenantId, extension_id: Uuid) -> Result<Option<Value>> {
        let found: Option<Json<Value>> = sqlx::query_scalar("SELECT settings FROM extension_settings WHERE tenant_id = ?1 AND extension_id = ?2")
            .bind(tenant.as_str())
            .bind(extension_id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        Ok(found.map(|j| j.0))
    }

    async fn put_settings(&self, tenant: &TenantId, extension_id: Uuid, settings: &Value) -> Result<()> {
        sqlx::query(
            "INSERT INTO extension_settings (extension_id, tenant_id, settings, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?4) ON CONFLICT (extension_id, tenant_id) \
             DO UPDATE SET settings = excluded.settings, updated_at = excluded.updated_at",
        )
        .bind(extension_id.to_string())
        .bind(tenant.as_str())
        .bind(Json(settings))
        .bind(now())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn delete_settings(&self, tenant: &TenantId, extension_id: Uuid) -> Result<bool> {
        let done = sqlx::query("DELETE FROM extension_settings WHERE tenant_id = ?1 AND extension_id = ?2")
            .bind(tenant.as_str())
            .bind(extension_id.to_string())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn grant_role_permission(&self, tenant: &TenantId, role: &str, permission: &Permission, extension_id: Option<Uuid>) -> Result<()> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        Self::grant_in(&mut tx, tenant, role, permission, extension_id).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn role_permissions(&self, tenant: &TenantId, roles: &[String]) -> Result<Vec<Permission>> {
        // SQLite has no array binds; json_each turns one JSON array parameter into rows.
        let found: Vec<(String, String)> = sqlx::query_as(
            "SELECT DISTINCT p.resource, p.action FROM roles r \
             JOIN role_permissions rp ON rp.role_id = r.id AND rp.tenant_id = r.tenant_id \
             JOIN permissions p ON p.id = rp.permission_id AND p.tenant_id = r.tenant_id \
             WHERE r.tenant_id = ?1 AND r.name IN (SELECT value FROM json_each(?2)) ORDER BY 1, 2",
        )
        .bind(tenant.as_str())
        .bind(Json(roles))
        .fetch_all(&self.pool)
        .await?;
        Ok(found.into_iter().map(|(r, a)| Permission::new(r, a)).collect())
    }
}

#[async_trait]
impl KvStore for SqliteStore {
    async fn storage_search(
        &self,
        tenant: &TenantId,
        extension_id: Uuid,
        namespace: &str,
        filters: &[crate::Filter],
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<StoredValue>> {
        self.storage_search_impl(tenant, extension_id, namespace, filters, after, limit).await
    }

    async fn append_storage_audit(&self, tenant: &TenantId, entries: &[crate::StorageAuditEntry]) -> Result<()> {
        self.append_storage_audit_impl(tenant, entries).await
    }

    async fn list_storage_audit(&self, tenant: &TenantId, extension_id: Uuid, limit: u32) -> Result<Vec<crate::StorageAuditEntry>> {
        self.list_storage_audit_impl(tenant, extension_id, limit).await
    }

    async fn storage_history(&self, tenant: &TenantId, key: StorageKey<'_>, limit: u32) -> Result<Vec<crate::HistoryEntry>> {
        self.storage_history_impl(tenant, key, limit).await
    }

    async fn storage_export(&self, tenant: &TenantId, extension_id: Uuid, after: Option<(&str, &str)>, limit: u32) -> Result<Vec<PortableValue>> {
        self.storage_export_impl(tenant, extension_id, after, limit).await
    }

    async fn storage_import(
        &self,
        tenant: &TenantId,
        extension_id: Uuid,
        values: &[PortableValue],
        replace: bool,
        quota: Option<StorageQuota>,
    ) -> Result<u64> {
        self.storage_import_impl(tenant, extension_id, values, replace, quota).await
    }

    async fn storage_usage(&self, tenant: &TenantId, extension_id: Uuid) -> Result<StorageUsage> {
        self.storage_usage_impl(tenant, extension_id).await
    }

    async fn storage_get(&self, tenant: &TenantId, key: StorageKey<'_>) -> Result<Option<StoredValue>> {
        Self::get_in(&self.pool, tenant, key).await
    }

    async fn storage_set(&self, tenant: &TenantId, key: StorageKey<'_>, value: &Value, options: SetOptions) -> Result<StoredValue> {
        let (_turn, mut tx) = self.begin_write().await?;
        let stored = Self::set_in(&mut tx, tenant, key, value, options).await?;
        tx.commit().await?;
        Ok(stored)
    }

    async fn begin_storage_tx(&self, tenant: &TenantId, extension_id: Uuid) -> Result<Box<dyn crate::StorageTx>> {
        let (turn, tx) = self.begin_write().await?;
        Ok(Box::new(storage::SqliteStorageTx::new(tx, turn, tenant.clone(), extension_id)))
    }

    async fn storage_get_many(&self, tenant: &TenantId, extension_id: Uuid, namespace: &str, keys: &[String]) -> Result<Vec<StoredValue>> {
        self.get_many_impl(tenant, extension_id, namespace, keys).await
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
        self.count_impl(tenant, extension_id, namespace).await
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
}

#[async_trait]
impl AuditStore for SqliteStore {
    async fn append_audit(&self, tenant: &TenantId, entry: &NewAuditEntry) -> Result<()> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        Self::audit_in(&mut tx, tenant, entry).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn list_audit(&self, tenant: &TenantId, limit: u32) -> Result<Vec<AuditEntry>> {
        let limit = rows::check_list_limit(limit)?;
        let found: Vec<AuditRow> = sqlx::query_as(
            "SELECT id, tenant_id, actor, action, target, details, at FROM audit_log \
             WHERE tenant_id = ?1 ORDER BY at DESC, id DESC LIMIT ?2",
        )
        .bind(tenant.as_str())
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        found.into_iter().map(AuditRow::into_record).collect()
    }
}

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
        self.gc_file_blobs_impl().await
    }

    async fn sweep_expired_storage(&self, limit: u32) -> Result<u64> {
        self.sweep_expired_storage_impl(limit).await
    }

    async fn delete_orphaned_storage(&self, retention: std::time::Duration) -> Result<u64> {
        self.delete_orphaned_storage_impl(retention).await
    }

    async fn recount_all_storage_usage(&self) -> Result<u64> {
        self.recount_all_storage_usage_impl().await
    }
}
