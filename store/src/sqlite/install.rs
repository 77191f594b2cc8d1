//! SQLite side of the install pipeline: versions, files, approvals, purge.
//!
//! Each transaction opens with a write, so SQLite takes its write lock up front.

use serde_json::Value;
use sqlx::types::Json;
use sqlx::{Sqlite, Transaction};
use uuid::Uuid;

use super::{now, SqliteStore, EXTENSION_COLUMNS};
use crate::rows::{self, ExtensionRow, StoredFileRow, VersionRow};
use crate::{
    Approval, CapabilityGrant, Extension, NewExtension, NewFile, NewVersion, Permission, Result, StoreError, StoredFile, TenantId, VersionRecord,
};

const VERSION_COLUMNS: &str = "id, extension_id, version, bundle_hash, manifest, main_entry_point, signer, state, created_at, approved_at";

type Tx = Transaction<'static, Sqlite>;

impl SqliteStore {
    async fn insert_version(tx: &mut Tx, tenant: &TenantId, extension_id: Uuid, v: &NewVersion, files: &[NewFile]) -> Result<VersionRecord> {
        let at = now();
        let sql = format!(
            "INSERT INTO extension_versions (id, extension_id, tenant_id, version, bundle_hash, manifest, \
             main_entry_point, signer, state, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'pending', ?9) \
             RETURNING {VERSION_COLUMNS}"
        );
        let row: VersionRow = sqlx::query_as(&sql)
            .bind(v.id.to_string())
            .bind(extension_id.to_string())
            .bind(tenant.as_str())
            .bind(&v.version)
            .bind(&v.bundle_hash)
            .bind(Json(&v.manifest))
            .bind(&v.main_entry_point)
            .bind(&v.signer)
            .bind(&at)
            .fetch_one(&mut **tx)
            .await?;
        for file in files {
            sqlx::query("INSERT INTO file_blobs (content_hash, size, content, created_at) VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING")
                .bind(&file.content_hash)
                .bind(file.bytes.len() as i64)
                .bind(&file.bytes)
                .bind(&at)
                .execute(&mut **tx)
                .await?;
            sqlx::query("INSERT INTO extension_files (version_id, tenant_id, path, content_hash, size) VALUES (?1, ?2, ?3, ?4, ?5)")
                .bind(v.id.to_string())
                .bind(tenant.as_str())
                .bind(&file.path)
                .bind(&file.content_hash)
                .bind(file.bytes.len() as i64)
                .execute(&mut **tx)
                .await?;
        }
        row.into_record()
    }

    async fn set_capabilities(tx: &mut Tx, tenant: &TenantId, extension_id: Uuid, requested: &[Permission], granted: &[Permission]) -> Result<()> {
        sqlx::query("DELETE FROM extension_permissions WHERE tenant_id = ?1 AND extension_id = ?2")
            .bind(tenant.as_str())
            .bind(extension_id.to_string())
            .execute(&mut **tx)
            .await?;
        let at = now();
        for p in requested {
            sqlx::query(
                "INSERT INTO extension_permissions (id, extension_id, tenant_id, resource, action, granted, created_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )
            .bind(Uuid::new_v4().to_string())
            .bind(extension_id.to_string())
            .bind(tenant.as_str())
            .bind(&p.resource)
            .bind(&p.action)
            .bind(granted.contains(p))
            .bind(&at)
            .execute(&mut **tx)
            .await?;
        }
        Ok(())
    }

    pub(super) async fn create_install_impl(
        &self,
        tenant: &TenantId,
        new: &NewExtension,
        version: &NewVersion,
        files: &[NewFile],
        requested: &[Permission],
        actor: &str,
    ) -> Result<Extension> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let ext = Self::insert_extension_in(&mut tx, tenant, new).await?;
        Self::insert_version(&mut tx, tenant, ext.id, version, files).await?;
        Self::set_capabilities(&mut tx, tenant, ext.id, requested, &[]).await?;
        Self::audit_in(&mut tx, tenant, &rows::registered_audit(new, actor)).await?;
        tx.commit().await?;
        Ok(ext)
    }

    pub(super) async fn add_pending_version_impl(
        &self,
        tenant: &TenantId,
        extension_id: Uuid,
        version: &NewVersion,
        files: &[NewFile],
        actor: &str,
    ) -> Result<VersionRecord> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let status: Option<String> = sqlx::query_scalar("UPDATE extensions SET updated_at = ?3 WHERE tenant_id = ?1 AND id = ?2 RETURNING status")
            .bind(tenant.as_str())
            .bind(extension_id.to_string())
            .bind(now())
            .fetch_optional(&mut *tx)
            .await?;
        let status = status.ok_or_else(|| StoreError::NotFound { entity: "extension", id: extension_id.to_string() })?;
        sqlx::query("DELETE FROM extension_versions WHERE tenant_id = ?1 AND extension_id = ?2 AND state = 'pending'")
            .bind(tenant.as_str())
            .bind(extension_id.to_string())
            .execute(&mut *tx)
            .await?;
        let record = Self::insert_version(&mut tx, tenant, extension_id, version, files).await?;
        if status == "pending_approval" {
            mirror_version(&mut tx, tenant, extension_id, version).await?;
            let requested = rows::requested_capabilities(&version.manifest);
            Self::set_capabilities(&mut tx, tenant, extension_id, &requested, &[]).await?;
        }
        Self::audit_in(&mut tx, tenant, &rows::update_uploaded_audit(extension_id, version, actor)).await?;
        tx.commit().await?;
        Ok(record)
    }

    pub(super) async fn list_versions_impl(&self, tenant: &TenantId, extension_id: Uuid) -> Result<Vec<VersionRecord>> {
        let sql = format!(
            "SELECT {VERSION_COLUMNS} FROM extension_versions WHERE tenant_id = ?1 AND extension_id = ?2 ORDER BY created_at DESC, version DESC"
        );
        let found: Vec<VersionRow> = sqlx::query_as(&sql).bind(tenant.as_str()).bind(extension_id.to_string()).fetch_all(&self.pool).await?;
        found.into_iter().map(VersionRow::into_record).collect()
    }

    pub(super) async fn approve_version_impl(
        &self,
        tenant: &TenantId,
        extension_id: Uuid,
        version_id: Uuid,
        approval: &Approval,
        actor: &str,
    ) -> Result<Extension> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let not_found = || StoreError::NotFound { entity: "pending version", id: version_id.to_string() };
        let at = now();
        // As on PostgreSQL: the extension as it was, read before anything changes.
        let sql = format!("SELECT {EXTENSION_COLUMNS} FROM extensions WHERE tenant_id = ?1 AND id = ?2");
        let before = sqlx::query_as::<_, ExtensionRow>(&sql)
            .bind(tenant.as_str())
            .bind(extension_id.to_string())
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(not_found)?
            .into_record()?;
        sqlx::query("UPDATE extension_versions SET state = 'retired' WHERE tenant_id = ?1 AND extension_id = ?2 AND state = 'active'")
            .bind(tenant.as_str())
            .bind(extension_id.to_string())
            .execute(&mut *tx)
            .await?;
        let sql = format!(
            "UPDATE extension_versions SET state = 'active', approved_at = ?4 WHERE tenant_id = ?1 \
             AND extension_id = ?2 AND id = ?3 AND state = 'pending' RETURNING {VERSION_COLUMNS}"
        );
        let row: Option<VersionRow> = sqlx::query_as(&sql)
            .bind(tenant.as_str())
            .bind(extension_id.to_string())
            .bind(version_id.to_string())
            .bind(&at)
            .fetch_optional(&mut *tx)
            .await?;
        let version = row.ok_or_else(not_found)?.into_record()?;
        let new_version = NewVersion {
            id: version.id,
            version: version.version.clone(),
            bundle_hash: version.bundle_hash.clone(),
            manifest: version.manifest.clone(),
            main_entry_point: version.main_entry_point.clone(),
            signer: version.signer.clone(),
        };
        mirror_version(&mut tx, tenant, extension_id, &new_version).await?;
        let sql = format!(
            "UPDATE extensions SET status = CASE WHEN status = 'pending_approval' THEN 'installed' ELSE status END, \
             is_enabled = (is_enabled OR ?3), updated_at = ?4 WHERE tenant_id = ?1 AND id = ?2 RETURNING {EXTENSION_COLUMNS}"
        );
        let ext = sqlx::query_as::<_, ExtensionRow>(&sql)
            .bind(tenant.as_str())
            .bind(extension_id.to_string())
            .bind(approval.enable)
            .bind(&at)
            .fetch_one(&mut *tx)
            .await?
            .into_record()?;
        Self::set_capabilities(&mut tx, tenant, extension_id, &approval.requested, &approval.granted).await?;

        let names: Vec<&str> = approval.user_permissions.iter().map(|u| u.name.as_str()).collect();
        sqlx::query(
            "DELETE FROM permissions WHERE tenant_id = ?1 AND extension_id = ?2 \
             AND action NOT IN (SELECT value FROM json_each(?3))",
        )
        .bind(tenant.as_str())
        .bind(extension_id.to_string())
        .bind(Json(&names))
        .execute(&mut *tx)
        .await?;
        for up in &approval.user_permissions {
            let existing: Option<String> = sqlx::query_scalar(
                "UPDATE permissions SET description = ?4 WHERE tenant_id = ?1 AND resource = ?2 AND action = ?3 \
                 AND extension_id = ?5 RETURNING id",
            )
            .bind(tenant.as_str())
            .bind(&ext.key)
            .bind(&up.name)
            .bind(&up.description)
            .bind(extension_id.to_string())
            .fetch_optional(&mut *tx)
            .await?;
            if existing.is_none() {
                let permission = Permission::new(ext.key.clone(), up.name.clone());
                Self::ensure_permission_in(&mut tx, tenant, &permission, &up.description, Some(extension_id)).await?;
                for role in &up.default_roles {
                    Self::grant_in(&mut tx, tenant, role, &permission, Some(extension_id)).await?;
                }
            }
        }

        let from = (before.status != crate::ExtensionStatus::PendingApproval).then_some(before.version.as_str());
        Self::audit_in(&mut tx, tenant, &rows::approved_audit(&ext, from, approval, actor)).await?;
        if ext.is_enabled && !before.is_enabled {
            Self::audit_in(&mut tx, tenant, &rows::enabled_audit(&ext, true, actor)).await?;
        }
        tx.commit().await?;
        Ok(ext)
    }

    pub(super) async fn capabilities_impl(&self, tenant: &TenantId, extension_id: Uuid) -> Result<Vec<CapabilityGrant>> {
        let found: Vec<(String, String, bool)> =
            sqlx::query_as("SELECT resource, action, granted FROM extension_permissions WHERE tenant_id = ?1 AND extension_id = ?2 ORDER BY 1, 2")
                .bind(tenant.as_str())
                .bind(extension_id.to_string())
                .fetch_all(&self.pool)
                .await?;
        Ok(found.into_iter().map(|(r, a, granted)| CapabilityGrant { permission: Permission::new(r, a), granted }).collect())
    }

    pub(super) async fn version_files_impl(&self, tenant: &TenantId, version_id: Uuid) -> Result<Vec<StoredFile>> {
        let found: Vec<StoredFileRow> =
            sqlx::query_as("SELECT path, content_hash, size FROM extension_files WHERE tenant_id = ?1 AND version_id = ?2 ORDER BY path")
                .bind(tenant.as_str())
                .bind(version_id.to_string())
                .fetch_all(&self.pool)
                .await?;
        Ok(found.into_iter().map(Into::into).collect())
    }

    pub(super) async fn read_file_impl(&self, tenant: &TenantId, version_id: Uuid, path: &str) -> Result<Option<(StoredFile, Vec<u8>)>> {
        let found: Option<(String, String, i64, Vec<u8>)> = sqlx::query_as(
            "SELECT f.path, f.content_hash, f.size, b.content FROM extension_files f \
             JOIN file_blobs b ON b.content_hash = f.content_hash \
             WHERE f.tenant_id = ?1 AND f.version_id = ?2 AND f.path = ?3",
        )
        .bind(tenant.as_str())
        .bind(version_id.to_string())
        .bind(path)
        .fetch_optional(&self.pool)
        .await?;
        Ok(found.map(|(path, content_hash, size, bytes)| (StoredFile { path, content_hash, size }, bytes)))
    }

    /// Deletes an extension's storage, usage counters and settings inside `tx`.
    pub(super) async fn purge_in(tx: &mut Tx, tenant: &TenantId, extension_id: Uuid) -> Result<()> {
        for table in ["extension_storage", "extension_storage_usage", "extension_settings"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE tenant_id = ?1 AND extension_id = ?2"))
                .bind(tenant.as_str())
                .bind(extension_id.to_string())
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }

    pub(super) async fn gc_file_blobs_impl(&self) -> Result<u64> {
        let done =
            sqlx::query("DELETE FROM file_blobs WHERE NOT EXISTS (SELECT 1 FROM extension_files f WHERE f.content_hash = file_blobs.content_hash)")
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected())
    }
}

/// Copies a version's fields onto the install row (which shows the serving version).
async fn mirror_version(tx: &mut Tx, tenant: &TenantId, extension_id: Uuid, v: &NewVersion) -> Result<()> {
    let name = v.manifest.get("name").and_then(Value::as_str).unwrap_or_default();
    let description = v.manifest.get("description").and_then(Value::as_str).unwrap_or_default();
    sqlx::query(
        "UPDATE extensions SET version = ?3, manifest = ?4, main_entry_point = ?5, bundle_hash = ?6, \
         name = ?7, description = ?8, updated_at = ?9 WHERE tenant_id = ?1 AND id = ?2",
    )
    .bind(tenant.as_str())
    .bind(extension_id.to_string())
    .bind(&v.version)
    .bind(Json(&v.manifest))
    .bind(&v.main_entry_point)
    .bind(&v.bundle_hash)
    .bind(name)
    .bind(description)
    .bind(now())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The admin list, a page at a time, and the per-tenant install count.
impl SqliteStore {
    pub(super) async fn list_extensions_page_impl(
        &self,
        tenant: &TenantId,
        filter: &crate::ExtensionFilter,
        page: &crate::ExtensionPage,
    ) -> Result<Vec<Extension>> {
        use crate::{ExtensionOrder, ExtensionSortValue};
        // Only these fixed expressions ever reach the SQL text; values are bound. Times are
        // stored as fixed-width RFC 3339 text (`ts`), which sorts chronologically.
        let (expr, cursor) = match page.order {
            ExtensionOrder::Name => ("lower(name)", "lower(?4)"),
            ExtensionOrder::CreatedAt => ("created_at", "?4"),
            ExtensionOrder::UpdatedAt => ("updated_at", "?4"),
        };
        let (cmp, dir) = if page.descending { ("<", "DESC") } else { (">", "ASC") };
        let after = match &page.after {
            Some(_) => format!("AND ({expr} {cmp} {cursor} OR ({expr} = {cursor} AND extension_key {cmp} ?5))"),
            None => String::new(),
        };
        // instr() on lower() rather than LIKE, so `%` and `_` in the search text are literal.
        let sql = format!(
            "SELECT {EXTENSION_COLUMNS} FROM extensions WHERE tenant_id = ?1 \
             AND (?2 IS NULL OR status = ?2) \
             AND (?3 IS NULL OR instr(lower(name), lower(?3)) > 0 OR instr(lower(extension_key), lower(?3)) > 0) \
             {after} ORDER BY {expr} {dir}, extension_key {dir} LIMIT {}",
            page.limit
        );
        let mut query = sqlx::query_as::<_, ExtensionRow>(&sql)
            .bind(tenant.as_str())
            .bind(filter.status.map(|s| s.as_str()))
            .bind(filter.name_contains.as_deref());
        if let Some((value, key)) = &page.after {
            query = match value {
                ExtensionSortValue::Name(name) => query.bind(name.clone()),
                ExtensionSortValue::Time(at) => query.bind(super::ts(*at)),
            }
            .bind(key.clone());
        }
        let found = query.fetch_all(&self.pool).await?;
        found.into_iter().map(ExtensionRow::into_record).collect()
    }

    pub(super) async fn count_extensions_impl(&self, tenant: &TenantId) -> Result<u64> {
        let (count,): (i64,) =
            sqlx::query_as("SELECT count(*) FROM extensions WHERE tenant_id = ?1").bind(tenant.as_str()).fetch_one(&self.pool).await?;
        Ok(count.max(0) as u64)
    }
}
