//! The PostgreSQL store: every operation runs in a transaction scoped to its tenant by RLS.

use crate::{AuditStore, KvStore, MaintenanceStore, PortableValue, RegistryStore, StorageQuota};
use async_trait::async_trait;
use serde_json::Value;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::types::Json;
use sqlx::{Connection, Executor, PgConnection, PgPool, Postgres, Transaction};
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

/// The role migrations create and the server's pooled connections switch to.
pub const DEFAULT_APP_ROLE: &str = "alga_ext_app";

static MIGRATOR: Migrator = sqlx::migrate!("../migrations/postgres");

const EXTENSION_COLUMNS: &str = "id::text AS id, tenant_id, extension_key, name, description, version, \
     manifest, main_entry_point, is_enabled, status, bundle_hash, limits, created_at, updated_at";
const VALUE_COLUMNS: &str = "key, value, revision, expires_at, size_bytes, created_at, updated_at";
const LIVE: &str = "(expires_at IS NULL OR expires_at > now())";

/// A PostgreSQL-backed [`Store`].
#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
    /// Options of the connecting (owner) user, used for migrations only.
    owner_options: PgConnectOptions,
}

impl PgStore {
    /// Checks that the database answers, then opens a lazy pool whose connections run as
    /// the app role. Migrations are not applied here; see [`Store::migrate`].
    pub async fn connect(options: &ConnectOptions) -> Result<Self> {
        let owner_options: PgConnectOptions = options.url.parse().map_err(|e: sqlx::Error| StoreError::InvalidUrl(e.to_string()))?;
        let owner_options = crate::quiet_slow_statements(owner_options);
        let role = match &options.pg_app_role {
            Some(role) => Some(quote_role(role)?),
            None => None,
        };
        // Fail now, with the driver's reason, rather than on the first request.
        let probe = tokio_timeout(options.connect_timeout, PgConnection::connect_with(&owner_options)).await?;
        probe.close().await.ok();

        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections)
            .acquire_timeout(options.connect_timeout)
            .after_connect(move |conn, _meta| {
                let role = role.clone();
                Box::pin(async move {
                    if let Some(role) = role {
                        conn.execute(format!("SET ROLE {role}").as_str()).await?;
                    }
                    Ok(())
                })
            })
            .connect_lazy_with(owner_options.clone());
        Ok(Self { pool, owner_options })
    }

    /// The pool of app-role connections, for callers (and tests) that need raw SQL.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Starts a transaction whose row-level security sees only `tenant`'s rows.
    pub async fn begin_tenant(&self, tenant: &TenantId) -> Result<Transaction<'static, Postgres>> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT set_config('app.current_tenant', $1, true)").bind(tenant.as_str()).execute(&mut *tx).await?;
        Ok(tx)
    }

    async fn audit_in(tx: &mut Transaction<'static, Postgres>, tenant: &TenantId, entry: &NewAuditEntry) -> Result<()> {
        sqlx::query("INSERT INTO audit_log (tenant_id, actor, action, target, details) VALUES ($1, $2, $3, $4, $5)")
            .bind(tenant.as_str())
            .bind(&entry.actor)
            .bind(&entry.action)
            .bind(&entry.target)
            .bind(Json(&entry.details))
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    async fn fetch_extension(tx: &mut Transaction<'static, Postgres>, tenant: &TenantId, id: Uuid) -> Result<Option<Extension>> {
        let sql = format!("SELECT {EXTENSION_COLUMNS} FROM extensions WHERE tenant_id = $1 AND id = $2");
        let row: Option<ExtensionRow> = sqlx::query_as(&sql).bind(tenant.as_str()).bind(id).fetch_optional(&mut **tx).await?;
        row.map(ExtensionRow::into_record).transpose()
    }
}

impl PgStore {
    async fn insert_extension_in(tx: &mut Transaction<'static, Postgres>, tenant: &TenantId, new: &NewExtension) -> Result<Extension> {
        let sql = format!(
            "INSERT INTO extensions (id, tenant_id, extension_key, name, description, version, manifest, \
             main_entry_point, status, bundle_hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             RETURNING {EXTENSION_COLUMNS}"
        );
        let row: ExtensionRow = sqlx::query_as(&sql)
            .bind(new.id)
            .bind(tenant.as_str())
            .bind(&new.key)
            .bind(&new.name)
            .bind(&new.description)
            .bind(&new.version)
            .bind(Json(&new.manifest))
            .bind(&new.main_entry_point)
            .bind(new.status.as_str())
            .bind(&new.bundle_hash)
            .fetch_one(&mut **tx)
            .await?;
        row.into_record()
    }

    /// The id of a tenant permission, creating it when missing.
    async fn ensure_permission_in(
        tx: &mut Transaction<'static, Postgres>,
        tenant: &TenantId,
        permission: &Permission,
        description: &str,
        extension_id: Option<Uuid>,
    ) -> Result<Uuid> {
        // An upsert that returns the existing id too, so grants are idempotent.
        let id = sqlx::query_scalar(
            "INSERT INTO permissions (id, tenant_id, resource, action, description, extension_id) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (tenant_id, resource, action) DO UPDATE SET resource = EXCLUDED.resource RETURNING id",
        )
        .bind(Uuid::new_v4())
        .bind(tenant.as_str())
        .bind(&permission.resource)
        .bind(&permission.action)
        .bind(description)
        .bind(extension_id)
        .fetch_one(&mut **tx)
        .await?;
        Ok(id)
    }

    async fn grant_in(
        tx: &mut Transaction<'static, Postgres>,
        tenant: &TenantId,
        role: &str,
        permission: &Permission,
        extension_id: Option<Uuid>,
    ) -> Result<()> {
        let role_id: Uuid = sqlx::query_scalar(
            "INSERT INTO roles (id, tenant_id, name) VALUES ($1, $2, $3) \
             ON CONFLICT (tenant_id, name) DO UPDATE SET name = EXCLUDED.name RETURNING id",
        )
        .bind(Uuid::new_v4())
        .bind(tenant.as_str())
        .bind(role)
        .fetch_one(&mut **tx)
        .await?;
        let permission_id = Self::ensure_permission_in(tx, tenant, permission, "", extension_id).await?;
        sqlx::query("INSERT INTO role_permissions (tenant_id, role_id, permission_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
            .bind(tenant.as_str())
            .bind(role_id)
            .bind(permission_id)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }
}

/// Quotes a role name for `SET ROLE`, accepting only plain identifiers.
fn quote_role(role: &str) -> Result<String> {
    let ok = !role.is_empty() && role.len() <= 63 && role.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !ok {
        return Err(StoreError::Invalid { field: "pg_app_role", message: format!("{role:?} must be 1-63 characters of [a-z0-9_]") });
    }
    Ok(format!("\"{role}\""))
}

async fn tokio_timeout<T>(limit: std::time::Duration, fut: impl std::future::Future<Output = Result<T, sqlx::Error>>) -> Result<T> {
    match tokio::time::timeout(limit, fut).await {
        Ok(result) => Ok(result?),
        Err(_) => Err(StoreError::Database(sqlx::Error::Io(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!("no answer within {} s", limit.as_secs_f32()),
        )))),
    }
}

#[async_trait]
impl RegistryStore for PgStore {
    async fn insert_extension(&self, tenant: &TenantId, new: &NewExtension, actor: &str) -> Result<Extension> {
        let mut tx = self.begin_tenant(tenant).await?;
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
        let mut tx = self.begin_tenant(tenant).await?;
        sqlx::query("UPDATE extensions SET last_used_at = now() WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.as_str())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn get_extension(&self, tenant: &TenantId, id: Uuid) -> Result<Option<Extension>> {
        let mut tx = self.begin_tenant(tenant).await?;
        let found = Self::fetch_extension(&mut tx, tenant, id).await?;
        tx.commit().await?;
        Ok(found)
    }

    async fn find_extension_by_key(&self, tenant: &TenantId, key: &str) -> Result<Option<Extension>> {
        let mut tx = self.begin_tenant(tenant).await?;
        let sql = format!("SELECT {EXTENSION_COLUMNS} FROM extensions WHERE tenant_id = $1 AND extension_key = $2");
        let row: Option<ExtensionRow> = sqlx::query_as(&sql).bind(tenant.as_str()).bind(key).fetch_optional(&mut *tx).await?;
        tx.commit().await?;
        row.map(ExtensionRow::into_record).transpose()
    }

    async fn list_extensions(&self, tenant: &TenantId, filter: &ExtensionFilter) -> Result<Vec<Extension>> {
        let mut tx = self.begin_tenant(tenant).await?;
        let sql = format!(
            "SELECT {EXTENSION_COLUMNS} FROM extensions WHERE tenant_id = $1 \
             AND ($2::text IS NULL OR status = $2) \
             AND ($3::text IS NULL OR strpos(lower(name), lower($3)) > 0 OR strpos(lower(extension_key), lower($3)) > 0) \
             ORDER BY lower(name), extension_key"
        );
        let found: Vec<ExtensionRow> = sqlx::query_as(&sql)
            .bind(tenant.as_str())
            .bind(filter.status.map(|s| s.as_str()))
            .bind(filter.name_contains.as_deref())
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        found.into_iter().map(ExtensionRow::into_record).collect()
    }

    async fn set_extension_enabled(&self, tenant: &TenantId, id: Uuid, enabled: bool, actor: &str) -> Result<Extension> {
        let mut tx = self.begin_tenant(tenant).await?;
        // The database function flips the flag and writes the audit row in one statement.
        let sql = format!("SELECT {EXTENSION_COLUMNS} FROM alga_set_extension_enabled($1, $2, $3)");
        let row: Option<ExtensionRow> = sqlx::query_as(&sql).bind(id).bind(enabled).bind(actor).fetch_optional(&mut *tx).await?;
        tx.commit().await?;
        row.ok_or_else(|| StoreError::NotFound { entity: "extension", id: id.to_string() })?.into_record()
    }

    async fn set_extension_status(
        &self,
        tenant: &TenantId,
        id: Uuid,
        status: ExtensionStatus,
        enabled: bool,
        entry: &NewAuditEntry,
    ) -> Result<Extension> {
        let mut tx = self.begin_tenant(tenant).await?;
        let sql = format!(
            "UPDATE extensions SET status = $3, is_enabled = $4, updated_at = now() WHERE tenant_id = $1 AND id = $2 RETURNING {EXTENSION_COLUMNS}"
        );
        let row: Option<ExtensionRow> =
            sqlx::query_as(&sql).bind(tenant.as_str()).bind(id).bind(status.as_str()).bind(enabled).fetch_optional(&mut *tx).await?;
        let ext = row.ok_or_else(|| StoreError::NotFound { entity: "extension", id: id.to_string() })?.into_record()?;
        let entry = NewAuditEntry { target: ext.id.to_string(), ..entry.clone() };
        Self::audit_in(&mut tx, tenant, &entry).await?;
        tx.commit().await?;
        Ok(ext)
    }

    async fn set_extension_limits(&self, tenant: &TenantId, id: Uuid, limits: &Value, actor: &str) -> Result<Extension> {
        let mut tx = self.begin_tenant(tenant).await?;
        let sql = format!("UPDATE extensions SET limits = $3, updated_at = now() WHERE tenant_id = $1 AND id = $2 RETURNING {EXTENSION_COLUMNS}");
        let row: Option<ExtensionRow> = sqlx::query_as(&sql).bind(tenant.as_str()).bind(id).bind(Json(limits)).fetch_optional(&mut *tx).await?;
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
        let mut tx = self.begin_tenant(tenant).await?;
        let ext =
            Self::fetch_extension(&mut tx, tenant, id).await?.ok_or_else(|| StoreError::NotFound { entity: "extension", id: id.to_string() })?;
        // Files, requested capabilities and extension-owned permissions (with their role
        // grants) go with the row through ON DELETE CASCADE.
        sqlx::query("DELETE FROM extensions WHERE tenant_id = $1 AND id = $2").bind(tenant.as_str()).bind(id).execute(&mut *tx).await?;
        if purge {
            Self::purge_in(&mut tx, tenant, id).await?;
        }
        Self::audit_in(&mut tx, tenant, &rows::uninstalled_audit(&ext, purge, actor)).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn get_settings(&self, tenant: &TenantId, extension_id: Uuid) -> Result<Option<Value>> {
        let mut tx = self.begin_tenant(tenant).await?;
        let found: Option<Json<Value>> = sqlx::query_scalar("SELECT settings FROM extension_settings WHERE tenant_id = $1 AND extension_id = $2")
            .bind(tenant.as_str())
            .bind(extension_id)
            .fetch_optional(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(found.map(|j| j.0))
    }

    async fn put_settings(&self, tenant: &TenantId, extension_id: Uuid, settings: &Value) -> Result<()> {
        let mut tx = self.begin_tenant(tenant).await?;
        sqlx::query(
            "INSERT INTO extension_settings (extension_id, tenant_id, settings) VALUES ($1, $2, $3) \
             ON CONFLICT (extension_id, tenant_id) DO UPDATE SET settings = EXCLUDED.settings, updated_at = now()",
        )
        .bind(extension_id)
        .bind(tenant.as_str())
        .bind(Json(settings))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn delete_settings(&self, tenant: &TenantId, extension_id: Uuid) -> Result<bool> {
        let mut tx = self.begin_tenant(tenant).await?;
        let done = sqlx::query("DELETE FROM extension_settings WHERE tenant_id = $1 AND extension_id = $2")
            .bind(tenant.as_str())
            .bind(extension_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected() > 0)
    }

    async fn grant_role_permission(&self, tenant: &TenantId, role: &str, permission: &Permission, extension_id: Option<Uuid>) -> Result<()> {
        let mut tx = self.begin_tenant(tenant).await?;
        Self::grant_in(&mut tx, tenant, role, permission, extension_id).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn role_permissions(&self, tenant: &TenantId, roles: &[String]) -> Result<Vec<Permission>> {
        let mut tx = self.begin_tenant(tenant).await?;
        let found: Vec<(String, String)> = sqlx::query_as(
            "SELECT DISTINCT p.resource, p.action FROM roles r \
             JOIN role_permissions rp ON rp.role_id = r.id AND rp.tenant_id = r.tenant_id \
             JOIN permissions p ON p.id = rp.permission_id AND p.tenant_id = r.tenant_id \
             WHERE r.tenant_id = $1 AND r.name = ANY($2) ORDER BY 1, 2",
        )
        .bind(tenant.as_str())
        .bind(roles)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(found.into_iter().map(|(r, a)| Permission::new(r, a)).collect())
    }
}

#[async_trait]
impl KvStore for PgStore {
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

    async fn begin_storage_tx(&self, tenant: &TenantId, extension_id: Uuid) -> Result<Box<dyn crate::StorageTx>> {
        let tx = self.begin_tenant(tenant).await?;
        Ok(Box::new(storage::PgStorageTx::new(tx, tenant.clone(), extension_id)))
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
        self.count_impl(tenant, extension_id, namespace).await
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

    async fn recount_storage_usage(&self, tenant: &TenantId, extension_id: Uuid) -> Result<StorageUsage> {
        let mut tx = self.begin_tenant(tenant).await?;
        let (key_count, bytes): (i64, i64) =
            sqlx::query_as("SELECT key_count, bytes FROM alga_recount_storage_usage($1)").bind(extension_id).fetch_one(&mut *tx).await?;
        tx.commit().await?;
        Ok(StorageUsage { key_count, bytes })
    }
}

#[async_trait]
impl AuditStore for PgStore {
    async fn append_audit(&self, tenant: &TenantId, entry: &NewAuditEntry) -> Result<()> {
        let mut tx = self.begin_tenant(tenant).await?;
        Self::audit_in(&mut tx, tenant, entry).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn list_audit(&self, tenant: &TenantId, limit: u32) -> Result<Vec<AuditEntry>> {
        let limit = rows::check_list_limit(limit)?;
        let mut tx = self.begin_tenant(tenant).await?;
        let found: Vec<AuditRow> = sqlx::query_as(
            "SELECT id, tenant_id, actor, action, target, details, at FROM audit_log \
             WHERE tenant_id = $1 ORDER BY at DESC, id DESC LIMIT $2",
        )
        .bind(tenant.as_str())
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        found.into_iter().map(AuditRow::into_record).collect()
    }
}

#[async_trait]
impl MaintenanceStore for PgStore {
    fn backend(&self) -> Backend {
        Backend::Postgres
    }

    async fn migrate(&self) -> Result<()> {
        // Migrations create tables and the app role, so they run as the connecting user, on a
        // connection of their own; sqlx holds an advisory lock so several nodes may race here.
        // (A one-connection pool rather than a bare connection: `Migrator::run` on `&mut
        // PgConnection` is not `Send` enough for an `async_trait` method.)
        let owner = PgPoolOptions::new().max_connections(1).connect_with(self.owner_options.clone()).await?;
        let outcome = MIGRATOR.run(&owner).await;
        owner.close().await;
        Ok(outcome?)
    }

    async fn schema_status(&self) -> Result<SchemaStatus> {
        let expected = MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0);
        let mut conn = self.pool.acquire().await?;
        let exists: bool = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL").fetch_one(&mut *conn).await?;
        let applied = if exists {
            sqlx::query_scalar("SELECT coalesce(max(version), 0) FROM _sqlx_migrations WHERE success").fetch_one(&mut *conn).await?
        } else {
            0
        };
        let rls_bound_functions = sqlx::query_scalar(
            "SELECT p.proname::text FROM pg_proc p JOIN pg_roles r ON r.oid = p.proowner \
             WHERE p.prosecdef AND p.pronamespace = to_regnamespace(current_schema()) AND p.proname LIKE 'alga\\_%' \
             AND NOT (r.rolsuper OR r.rolbypassrls) ORDER BY 1",
        )
        .fetch_all(&mut *conn)
        .await?;
        Ok(SchemaStatus { expected, applied, rls_bound_functions })
    }

    async fn recently_used_extensions(&self, limit: u32) -> Result<Vec<(TenantId, Uuid)>> {
        let found: Vec<(String, Uuid)> = sqlx::query_as("SELECT tenant_id, id FROM alga_recently_used_extensions($1)")
            .bind(i32::try_from(limit).unwrap_or(i32::MAX))
            .fetch_all(&self.pool)
            .await?;
        found
            .into_iter()
            .map(|(t, id)| Ok((TenantId::parse(&t).map_err(|e| StoreError::Corrupt { table: "extensions", message: e.to_string() })?, id)))
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
