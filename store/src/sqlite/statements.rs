//! SQLite statements of the registry flows (`crate::flows`); every statement names its tenant itself.

use async_trait::async_trait;
use serde_json::Value;
use sqlx::types::Json;
use sqlx::{Sqlite, Transaction};
use uuid::Uuid;

use super::{now, EXTENSION_COLUMNS, VERSION_COLUMNS};
use crate::flows::RegistryTx;
use crate::rbac;
use crate::rows::{ExtensionRow, VersionRow};
use crate::{Extension, ExtensionStatus, NewAuditEntry, NewExtension, NewFile, NewVersion, Permission, Result, TenantId, VersionRecord};

type Tx = Transaction<'static, Sqlite>;

/// The id of a tenant permission, creating it when missing (an upsert that returns the
/// existing id too, so grants are idempotent); an existing permission no extension owns is
/// claimed by `extension_id` (an admin granted it before the extension registered it).
async fn permission_id(tx: &mut Tx, tenant: &TenantId, permission: &Permission, description: &str, extension_id: Option<Uuid>) -> Result<String> {
    let id = sqlx::query_scalar(
        "INSERT INTO permissions (id, tenant_id, resource, action, description, extension_id, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (tenant_id, resource, action) \
         DO UPDATE SET extension_id = COALESCE(permissions.extension_id, excluded.extension_id) RETURNING id",
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

async fn fetch_extension(tx: &mut Tx, sql: &str, tenant: &TenantId, id: Uuid) -> Result<Option<Extension>> {
    let row: Option<ExtensionRow> = sqlx::query_as(sql).bind(tenant.as_str()).bind(id.to_string()).fetch_optional(&mut **tx).await?;
    row.map(ExtensionRow::into_record).transpose()
}

#[async_trait]
impl RegistryTx for Tx {
    async fn extension(&mut self, tenant: &TenantId, id: Uuid) -> Result<Option<Extension>> {
        fetch_extension(self, &format!("SELECT {EXTENSION_COLUMNS} FROM extensions WHERE tenant_id = ?1 AND id = ?2"), tenant, id).await
    }

    async fn lock_extension(&mut self, tenant: &TenantId, id: Uuid) -> Result<Option<ExtensionStatus>> {
        // The transaction began IMMEDIATE and so already holds the database's write lock;
        // touching the row records the upload.
        let status: Option<String> = sqlx::query_scalar("UPDATE extensions SET updated_at = ?3 WHERE tenant_id = ?1 AND id = ?2 RETURNING status")
            .bind(tenant.as_str())
            .bind(id.to_string())
            .bind(now())
            .fetch_optional(&mut **self)
            .await?;
        status.as_deref().map(ExtensionStatus::parse).transpose()
    }

    async fn insert_extension(&mut self, tenant: &TenantId, new: &NewExtension) -> Result<Extension> {
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
            .fetch_one(&mut **self)
            .await?;
        row.into_record()
    }

    async fn insert_version(&mut self, tenant: &TenantId, extension_id: Uuid, v: &NewVersion, files: &[NewFile]) -> Result<VersionRecord> {
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
            .fetch_one(&mut **self)
            .await?;
        for file in files {
            sqlx::query("INSERT INTO file_blobs (content_hash, size, content, created_at) VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING")
                .bind(&file.content_hash)
                .bind(file.bytes.len() as i64)
                .bind(&file.bytes)
                .bind(&at)
                .execute(&mut **self)
                .await?;
            sqlx::query("INSERT INTO extension_files (version_id, tenant_id, path, content_hash, size) VALUES (?1, ?2, ?3, ?4, ?5)")
                .bind(v.id.to_string())
                .bind(tenant.as_str())
                .bind(&file.path)
                .bind(&file.content_hash)
                .bind(file.bytes.len() as i64)
                .execute(&mut **self)
                .await?;
        }
        row.into_record()
    }

    async fn delete_pending_versions(&mut self, tenant: &TenantId, extension_id: Uuid) -> Result<u64> {
        let done = sqlx::query("DELETE FROM extension_versions WHERE tenant_id = ?1 AND extension_id = ?2 AND state = 'pending'")
            .bind(tenant.as_str())
            .bind(extension_id.to_string())
            .execute(&mut **self)
            .await?;
        Ok(done.rows_affected())
    }

    async fn retire_active_version(&mut self, tenant: &TenantId, extension_id: Uuid) -> Result<()> {
        sqlx::query("UPDATE extension_versions SET state = 'retired' WHERE tenant_id = ?1 AND extension_id = ?2 AND state = 'active'")
            .bind(tenant.as_str())
            .bind(extension_id.to_string())
            .execute(&mut **self)
            .await?;
        Ok(())
    }

    async fn activate_version(&mut self, tenant: &TenantId, extension_id: Uuid, version_id: Uuid) -> Result<Option<VersionRecord>> {
        let sql = format!(
            "UPDATE extension_versions SET state = 'active', approved_at = ?4 WHERE tenant_id = ?1 \
             AND extension_id = ?2 AND id = ?3 AND state = 'pending' RETURNING {VERSION_COLUMNS}"
        );
        let row: Option<VersionRow> = sqlx::query_as(&sql)
            .bind(tenant.as_str())
            .bind(extension_id.to_string())
            .bind(version_id.to_string())
            .bind(now())
            .fetch_optional(&mut **self)
            .await?;
        row.map(VersionRow::into_record).transpose()
    }

    async fn mirror_version(&mut self, tenant: &TenantId, extension_id: Uuid, v: &NewVersion) -> Result<()> {
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
        .execute(&mut **self)
        .await?;
        Ok(())
    }

    async fn mark_approved(&mut self, tenant: &TenantId, extension_id: Uuid, enable: bool) -> Result<Extension> {
        let sql = format!(
            "UPDATE extensions SET status = CASE WHEN status = 'pending_approval' THEN 'installed' ELSE status END, \
             is_enabled = (is_enabled OR ?3), updated_at = ?4 WHERE tenant_id = ?1 AND id = ?2 RETURNING {EXTENSION_COLUMNS}"
        );
        sqlx::query_as::<_, ExtensionRow>(&sql)
            .bind(tenant.as_str())
            .bind(extension_id.to_string())
            .bind(enable)
            .bind(now())
            .fetch_one(&mut **self)
            .await?
            .into_record()
    }

    async fn set_capabilities(&mut self, tenant: &TenantId, extension_id: Uuid, requested: &[Permission], granted: &[Permission]) -> Result<()> {
        sqlx::query("DELETE FROM extension_permissions WHERE tenant_id = ?1 AND extension_id = ?2")
            .bind(tenant.as_str())
            .bind(extension_id.to_string())
            .execute(&mut **self)
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
            .execute(&mut **self)
            .await?;
        }
        Ok(())
    }

    async fn drop_undeclared_permissions(&mut self, tenant: &TenantId, extension_id: Uuid, declared: &[&str]) -> Result<()> {
        // SQLite has no array binds; json_each turns one JSON array parameter into rows.
        sqlx::query(
            "DELETE FROM permissions WHERE tenant_id = ?1 AND extension_id = ?2 \
             AND action NOT IN (SELECT value FROM json_each(?3))",
        )
        .bind(tenant.as_str())
        .bind(extension_id.to_string())
        .bind(Json(declared))
        .execute(&mut **self)
        .await?;
        Ok(())
    }

    async fn describe_permission(&mut self, tenant: &TenantId, ext: &Extension, name: &str, description: &str) -> Result<bool> {
        let existing: Option<String> = sqlx::query_scalar(
            "UPDATE permissions SET description = ?4 WHERE tenant_id = ?1 AND resource = ?2 AND action = ?3 \
             AND extension_id = ?5 RETURNING id",
        )
        .bind(tenant.as_str())
        .bind(&ext.key)
        .bind(name)
        .bind(description)
        .bind(ext.id.to_string())
        .fetch_optional(&mut **self)
        .await?;
        Ok(existing.is_some())
    }

    async fn ensure_permission(&mut self, tenant: &TenantId, permission: &Permission, description: &str, extension_id: Option<Uuid>) -> Result<()> {
        permission_id(self, tenant, permission, description, extension_id).await.map(drop)
    }

    async fn grant(&mut self, tenant: &TenantId, role: &str, permission: &Permission, extension_id: Option<Uuid>) -> Result<bool> {
        let at = now();
        let role_id: String = sqlx::query_scalar(
            "INSERT INTO roles (id, tenant_id, name, created_at) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (tenant_id, name) DO UPDATE SET name = excluded.name RETURNING id",
        )
        .bind(Uuid::new_v4().to_string())
        .bind(tenant.as_str())
        .bind(role)
        .bind(&at)
        .fetch_one(&mut **self)
        .await?;
        let permission_id = permission_id(self, tenant, permission, "", extension_id).await?;
        let inserted = sqlx::query(
            "INSERT INTO role_permissions (tenant_id, role_id, permission_id, created_at) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT DO NOTHING",
        )
        .bind(tenant.as_str())
        .bind(role_id)
        .bind(permission_id)
        .bind(&at)
        .execute(&mut **self)
        .await?;
        Ok(inserted.rows_affected() == 1)
    }

    async fn revoke(&mut self, tenant: &TenantId, role: &str, permission: &Permission) -> Result<bool> {
        let deleted = sqlx::query(
            "DELETE FROM role_permissions WHERE tenant_id = ?1 \
             AND role_id IN (SELECT id FROM roles WHERE tenant_id = ?1 AND name = ?2) \
             AND permission_id IN (SELECT id FROM permissions WHERE tenant_id = ?1 AND resource = ?3 AND action = ?4)",
        )
        .bind(tenant.as_str())
        .bind(role)
        .bind(&permission.resource)
        .bind(&permission.action)
        .execute(&mut **self)
        .await?;
        Ok(deleted.rows_affected() > 0)
    }

    async fn extension_id_by_key(&mut self, tenant: &TenantId, key: &str) -> Result<Option<Uuid>> {
        let id: Option<String> = sqlx::query_scalar("SELECT id FROM extensions WHERE tenant_id = ?1 AND extension_key = ?2")
            .bind(tenant.as_str())
            .bind(key)
            .fetch_optional(&mut **self)
            .await?;
        rbac::parse_extension_id(id)
    }

    async fn permission_owner(&mut self, tenant: &TenantId, permission: &Permission) -> Result<Option<Option<Uuid>>> {
        let owner: Option<Option<String>> =
            sqlx::query_scalar("SELECT extension_id FROM permissions WHERE tenant_id = ?1 AND resource = ?2 AND action = ?3")
                .bind(tenant.as_str())
                .bind(&permission.resource)
                .bind(&permission.action)
                .fetch_optional(&mut **self)
                .await?;
        owner.map(rbac::parse_extension_id).transpose()
    }

    async fn update_status(&mut self, tenant: &TenantId, id: Uuid, status: ExtensionStatus, enabled: bool) -> Result<Option<Extension>> {
        let sql = format!(
            "UPDATE extensions SET status = ?3, is_enabled = ?4, updated_at = ?5 WHERE tenant_id = ?1 AND id = ?2 RETURNING {EXTENSION_COLUMNS}"
        );
        let row: Option<ExtensionRow> = sqlx::query_as(&sql)
            .bind(tenant.as_str())
            .bind(id.to_string())
            .bind(status.as_str())
            .bind(enabled)
            .bind(now())
            .fetch_optional(&mut **self)
            .await?;
        row.map(ExtensionRow::into_record).transpose()
    }

    async fn update_limits(&mut self, tenant: &TenantId, id: Uuid, limits: &Value) -> Result<Option<Extension>> {
        let sql = format!("UPDATE extensions SET limits = ?3, updated_at = ?4 WHERE tenant_id = ?1 AND id = ?2 RETURNING {EXTENSION_COLUMNS}");
        let row: Option<ExtensionRow> =
            sqlx::query_as(&sql).bind(tenant.as_str()).bind(id.to_string()).bind(Json(limits)).bind(now()).fetch_optional(&mut **self).await?;
        row.map(ExtensionRow::into_record).transpose()
    }

    async fn delete_extension(&mut self, tenant: &TenantId, id: Uuid) -> Result<Option<Extension>> {
        fetch_extension(self, &format!("DELETE FROM extensions WHERE tenant_id = ?1 AND id = ?2 RETURNING {EXTENSION_COLUMNS}"), tenant, id).await
    }

    async fn purge_data(&mut self, tenant: &TenantId, extension_id: Uuid) -> Result<()> {
        for table in ["extension_storage", "extension_storage_usage", "extension_settings"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE tenant_id = ?1 AND extension_id = ?2"))
                .bind(tenant.as_str())
                .bind(extension_id.to_string())
                .execute(&mut **self)
                .await?;
        }
        Ok(())
    }

    async fn audit(&mut self, tenant: &TenantId, entry: &NewAuditEntry) -> Result<()> {
        sqlx::query("INSERT INTO audit_log (tenant_id, actor, action, target, details, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
            .bind(tenant.as_str())
            .bind(&entry.actor)
            .bind(&entry.action)
            .bind(&entry.target)
            .bind(Json(&entry.details))
            .bind(now())
            .execute(&mut **self)
            .await?;
        Ok(())
    }

    async fn commit(self) -> Result<()> {
        Ok(Transaction::commit(self).await?)
    }
}
