//! SQLite side of the tenant's roles and the permissions they hold.

use async_trait::async_trait;
use sqlx::types::Json;
use uuid::Uuid;

use super::SqliteStore;
use crate::rbac::{self, HeldPermission, RoleRow};
use crate::{flows, Permission, PermissionRecord, Result, RoleRecord, RoleStore, TenantId};

#[async_trait]
impl RoleStore for SqliteStore {
    async fn grant_role_permission(&self, tenant: &TenantId, role: &str, permission: &Permission, extension_id: Option<Uuid>) -> Result<()> {
        flows::grant_role_permission(self.begin_registry().await?, tenant, role, permission, extension_id).await
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

    async fn list_roles(&self, tenant: &TenantId) -> Result<Vec<RoleRecord>> {
        let found: Vec<(String, Option<String>, Option<String>, Option<String>)> = sqlx::query_as(
            "SELECT r.name, p.resource, p.action, p.extension_id FROM roles r \
             LEFT JOIN role_permissions rp ON rp.role_id = r.id AND rp.tenant_id = r.tenant_id \
             LEFT JOIN permissions p ON p.id = rp.permission_id AND p.tenant_id = r.tenant_id \
             WHERE r.tenant_id = ?1",
        )
        .bind(tenant.as_str())
        .fetch_all(&self.pool)
        .await?;
        let mut rows: Vec<RoleRow> = Vec::with_capacity(found.len());
        for (name, resource, action, extension_id) in found {
            let extension_id = rbac::parse_extension_id(extension_id)?;
            rows.push((name, resource.zip(action).map(|(r, a)| HeldPermission { permission: Permission::new(r, a), extension_id })));
        }
        Ok(rbac::group_roles(rows))
    }

    async fn list_permissions(&self, tenant: &TenantId) -> Result<Vec<PermissionRecord>> {
        let found: Vec<(String, String, String, Option<String>)> =
            sqlx::query_as("SELECT resource, action, description, extension_id FROM permissions WHERE tenant_id = ?1")
                .bind(tenant.as_str())
                .fetch_all(&self.pool)
                .await?;
        let mut records = Vec::with_capacity(found.len());
        for (resource, action, description, extension_id) in found {
            records.push(PermissionRecord {
                permission: Permission::new(resource, action),
                description,
                extension_id: rbac::parse_extension_id(extension_id)?,
            });
        }
        Ok(rbac::sort_permissions(records))
    }

    async fn grant_role_permission_audited(&self, tenant: &TenantId, role: &str, permission: &Permission, actor: &str) -> Result<bool> {
        flows::grant_audited(self.begin_registry().await?, tenant, role, permission, actor).await
    }

    async fn revoke_role_permission(&self, tenant: &TenantId, role: &str, permission: &Permission, actor: &str) -> Result<bool> {
        flows::revoke_audited(self.begin_registry().await?, tenant, role, permission, actor).await
    }
}
