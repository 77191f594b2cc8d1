//! PostgreSQL statements of the registry flows (`crate::flows`), on a transaction scoped to its tenant by RLS.

use async_trait::async_trait;
use serde_json::Value;
use sqlx::types::Json;
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use super::{EXTENSION_COLUMNS, VERSION_COLUMNS};
use crate::flows::RegistryTx;
use crate::rows::{ExtensionRow, VersionRow};
use crate::{Extension, ExtensionStatus, NewAuditEntry, NewExtension, NewFile, NewVersion, Permission, Result, TenantId, VersionRecord};

type Tx = Transaction<'static, Postgres>;

/// The id of a tenant permission, creating it when missing. An upsert that returns the
/// existing id too, so grants are idempotent; an existing permission no extension owns is
/// claimed by `extension_id` (an admin granted it before the extension registered it).
async fn permission_id(tx: &mut Tx, tenant: &TenantId, permission: &Permission, description: &str, extension_id: Option<Uuid>) -> Result<Uuid> {
    let id = sqlx::query_scalar(
        "INSERT INTO permissions (id, tenant_id, resource, action, description, extension_id) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (tenant_id, resource, action) DO UPDATE SET extension_id = COALESCE(permissions.extension_id, EXCLUDED.extension_id) \
         RETURNING id",
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

async fn fetch_extension(tx: &mut Tx, sql: &str, tenant: &TenantId, id: Uuid) -> Result<Option<Extension>> {
    let row: Option<ExtensionRow> = sqlx::query_as(sql).bind(tenant.as_str()).bind(id).fetch_optional(&mut **tx).await?;
    row.map(ExtensionRow::into_record).transpose()
}

#[async_trait]
impl RegistryTx for Tx {
    async fn extension(&mut self, tenant: &TenantId, id: Uuid) -> Result<Option<Extension>> {
        fetch_extension(self, &format!("SELECT {EXTENSION_COLUMNS} FROM extensions WHERE tenant_id = $1 AND id = $2"), tenant, id).await
    }

    async fn lock_extension(&mut self, tenant: &TenantId, id: Uuid) -> Result<Option<ExtensionStatus>> {
        let status: Option<String> = sqlx::query_scalar("SELECT status FROM extensions WHERE tenant_id = $1 AND id = $2 FOR UPDATE")
            .bind(tenant.as_str())
            .bind(id)
            .fetch_optional(&mut **self)
            .await?;
        status.as_deref().map(ExtensionStatus::parse).transpose()
    }

    async fn insert_extension(&mut self, tenant: &TenantId, new: &NewExtension) -> Result<Extension> {
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
            .fetch_one(&mut **self)
            .await?;
        row.into_record()
    }

    async fn insert_version(&mut self, tenant: &TenantId, extension_id: Uuid, v: &NewVersion, files: &[NewFile]) -> Result<VersionRecord> {
        let sql = format!(
            "INSERT INTO extension_versions (id, extension_id, tenant_id, version, bundle_hash, manifest, \
             main_entry_point, signer, state) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending') RETURNING {VERSION_COLUMNS}"
        );
        let row: VersionRow = sqlx::query_as(&sql)
            .bind(v.id)
            .bind(extension_id)
            .bind(tenant.as_str())
            .bind(&v.version)
            .bind(&v.bundle_hash)
            .bind(Json(&v.manifest))
            .bind(&v.main_entry_point)
            .bind(&v.signer)
            .fetch_one(&mut **self)
            .await?;
        for file in files {
            sqlx::query("INSERT INTO file_blobs (content_hash, size, content) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
                .bind(&file.content_hash)
                .bind(file.bytes.len() as i64)
                .bind(&file.bytes)
                .execute(&mut **self)
                .await?;
            sqlx::query("INSERT INTO extension_files (version_id, tenant_id, path, content_hash, size) VALUES ($1, $2, $3, $4, $5)")
                .bind(v.id)
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
        let done = sqlx::query("DELETE FROM extension_versions WHERE tenant_id = $1 AND extension_id = $2 AND state = 'pending'")
            .bind(tenant.as_str())
            .bind(extension_id)
            .execute(&mut **self)
            .await?;
        Ok(done.rows_affected())
    }

    async fn retire_active_version(&mut self, tenant: &TenantId, extension_id: Uuid) -> Result<()> {
        sqlx::query("UPDATE extension_versions SET state = 'retired' WHERE tenant_id = $1 AND extension_id = $2 AND state = 'active'")
            .bind(tenant.as_str())
            .bind(extension_id)
            .execute(&mut **self)
            .await?;
        Ok(())
    }

    async fn activate_version(&mut self, tenant: &TenantId, extension_id: Uuid, version_id: Uuid) -> Result<Option<VersionRecord>> {
        let sql = format!(
            "UPDATE extension_versions SET state = 'active', approved_at = now() WHERE tenant_id = $1 \
             AND extension_id = $2 AND id = $3 AND state = 'pending' RETURNING {VERSION_COLUMNS}"
        );
        let row: Option<VersionRow> =
            sqlx::query_as(&sql).bind(tenant.as_str()).bind(extension_id).bind(version_id).fetch_optional(&mut **self).await?;
        row.map(VersionRow::into_record).transpose()
    }

    async fn mirror_version(&mut self, tenant: &TenantId, extension_id: Uuid, v: &NewVersion) -> Result<()> {
        let name = v.manifest.get("name").and_then(Value::as_str).unwrap_or_default();
        let description = v.manifest.get("description").and_then(Value::as_str).unwrap_or_default();
        sqlx::query(
            "UPDATE extensions SET version = $3, manifest = $4, main_entry_point = $5, bundle_hash = $6, \
             name = $7, description = $8, updated_at = now() WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant.as_str())
        .bind(extension_id)
        .bind(&v.version)
        .bind(Json(&v.manifest))
        .bind(&v.main_entry_point)
        .bind(&v.bundle_hash)
        .bind(name)
        .bind(description)
        .execute(&mut **self)
        .await?;
        Ok(())
    }

    async fn mark_approved(&mut self, tenant: &TenantId, extension_id: Uuid, enable: bool) -> Result<Extension> {
        let sql = format!(
            "UPDATE extensions SET status = CASE WHEN status = 'pending_approval' THEN 'installed' ELSE status END, \
             is_enabled = is_enabled OR $3, updated_at = now() WHERE tenant_id = $1 AND id = $2 RETURNING {EXTENSION_COLUMNS}"
        );
        sqlx::query_as::<_, ExtensionRow>(&sql).bind(tenant.as_str()).bind(extension_id).bind(enable).fetch_one(&mut **self).await?.into_record()
    }

    async fn set_capabilities(&mut self, tenant: &TenantId, extension_id: Uuid, requested: &[Permission], granted: &[Permission]) -> Result<()> {
        sqlx::query("DELETE FROM extension_permissions WHERE tenant_id = $1 AND extension_id = $2")
            .bind(tenant.as_str())
            .bind(extension_id)
            .execute(&mut **self)
            .await?;
        for p in requested {
            sqlx::query(
                "INSERT INTO extension_permissions (id, extension_id, tenant_id, resource, action, granted) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(Uuid::new_v4())
            .bind(extension_id)
            .bind(tenant.as_str())
            .bind(&p.resource)
            .bind(&p.action)
            .bind(granted.contains(p))
            .execute(&mut **self)
            .await?;
        }
        Ok(())
    }

    async fn drop_undeclared_permissions(&mut self, tenant: &TenantId, extension_id: Uuid, declared: &[&str]) -> Result<()> {
        sqlx::query("DELETE FROM permissions WHERE tenant_id = $1 AND extension_id = $2 AND NOT (action = ANY($3))")
            .bind(tenant.as_str())
            .bind(extension_id)
            .bind(declared)
            .execute(&mut **self)
            .await?;
        Ok(())
    }

    async fn describe_permission(&mut self, tenant: &TenantId, ext: &Extension, name: &str, description: &str) -> Result<bool> {
        let existing: Option<Uuid> = sqlx::query_scalar(
            "UPDATE permissions SET description = $4 WHERE tenant_id = $1 AND resource = $2 AND action = $3 \
             AND extension_id = $5 RETURNING id",
        )
        .bind(tenant.as_str())
        .bind(&ext.key)
        .bind(name)
        .bind(description)
        .bind(ext.id)
        .fetch_optional(&mut **self)
        .await?;
        Ok(existing.is_some())
    }

    async fn ensure_permission(&mut self, tenant: &TenantId, permission: &Permission, description: &str, extension_id: Option<Uuid>) -> Result<()> {
        permission_id(self, tenant, permission, description, extension_id).await.map(drop)
    }

    async fn grant(&mut self, tenant: &TenantId, role: &str, permission: &Permission, extension_id: Option<Uuid>) -> Result<bool> {
        let role_id: Uuid = sqlx::query_scalar(
            "INSERT INTO roles (id, tenant_id, name) VALUES ($1, $2, $3) \
             ON CONFLICT (tenant_id, name) DO UPDATE SET name = EXCLUDED.name RETURNING id",
        )
        .bind(Uuid::new_v4())
        .bind(tenant.as_str())
        .bind(role)
        .fetch_one(&mut **self)
        .await?;
        let permission_id = permission_id(self, tenant, permission, "", extension_id).await?;
        let inserted = sqlx::query("INSERT INTO role_permissions (tenant_id, role_id, permission_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
            .bind(tenant.as_str())
            .bind(role_id)
            .bind(permission_id)
            .execute(&mut **self)
            .await?;
        Ok(inserted.rows_affected() == 1)
    }

    async fn revoke(&mut self, tenant: &TenantId, role: &str, permission: &Permission) -> Result<bool> {
        let deleted = sqlx::query(
            "DELETE FROM role_permissions rp USING roles r, permissions p \
             WHERE rp.tenant_id = $1 AND r.tenant_id = $1 AND p.tenant_id = $1 \
             AND rp.role_id = r.id AND rp.permission_id = p.id AND r.name = $2 AND p.resource = $3 AND p.action = $4",
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
        let id = sqlx::query_scalar("SELECT id FROM extensions WHERE tenant_id = $1 AND extension_key = $2 FOR SHARE")
            .bind(tenant.as_str())
            .bind(key)
            .fetch_optional(&mut **self)
            .await?;
        Ok(id)
    }

    async fn permission_owner(&mut self, tenant: &TenantId, permission: &Permission) -> Result<Option<Option<Uuid>>> {
        let owner = sqlx::query_scalar("SELECT extension_id FROM permissions WHERE tenant_id = $1 AND resource = $2 AND action = $3")
            .bind(tenant.as_str())
            .bind(&permission.resource)
            .bind(&permission.action)
            .fetch_optional(&mut **self)
            .await?;
        Ok(owner)
    }

    async fn update_status(&mut self, tenant: &TenantId, id: Uuid, status: ExtensionStatus, enabled: bool) -> Result<Option<Extension>> {
        let sql = format!(
            "UPDATE extensions SET status = $3, is_enabled = $4, updated_at = now() WHERE tenant_id = $1 AND id = $2 RETURNING {EXTENSION_COLUMNS}"
        );
        let row: Option<ExtensionRow> =
            sqlx::query_as(&sql).bind(tenant.as_str()).bind(id).bind(status.as_str()).bind(enabled).fetch_optional(&mut **self).await?;
        row.map(ExtensionRow::into_record).transpose()
    }

    async fn update_limits(&mut self, tenant: &TenantId, id: Uuid, limits: &Value) -> Result<Option<Extension>> {
        let sql = format!("UPDATE extensions SET limits = $3, updated_at = now() WHERE tenant_id = $1 AND id = $2 RETURNING {EXTENSION_COLUMNS}");
        let row: Option<ExtensionRow> = sqlx::query_as(&sql).bind(tenant.as_str()).bind(id).bind(Json(limits)).fetch_optional(&mut **self).await?;
        row.map(ExtensionRow::into_record).transpose()
    }

    async fn delete_extension(&mut self, tenant: &TenantId, id: Uuid) -> Result<Option<Extension>> {
        fetch_extension(self, &format!("DELETE FROM extensions WHERE tenant_id = $1 AND id = $2 RETURNING {EXTENSION_COLUMNS}"), tenant, id).await
    }

    async fn purge_data(&mut self, tenant: &TenantId, extension_id: Uuid) -> Result<()> {
        for table in ["extension_storage", "extension_storage_usage", "extension_settings"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE tenant_id = $1 AND extension_id = $2"))
                .bind(tenant.as_str())
                .bind(extension_id)
                .execute(&mut **self)
                .await?;
        }
        Ok(())
    }

    async fn audit(&mut self, tenant: &TenantId, entry: &NewAuditEntry) -> Result<()> {
        sqlx::query("INSERT INTO audit_log (tenant_id, actor, action, target, details) VALUES ($1, $2, $3, $4, $5)")
            .bind(tenant.as_str())
            .bind(&entry.actor)
            .bind(&entry.action)
            .bind(&entry.target)
            .bind(Json(&entry.details))
            .execute(&mut **self)
            .await?;
        Ok(())
    }

    async fn commit(self) -> Result<()> {
        Ok(Transaction::commit(self).await?)
    }
}
