//! SQLite side of the tenant's roles and the permissions they hold.

use async_trait::async_trait;
use sqlx::types::Json;
use uuid::Uuid;

use super::SqliteStore;
use crate::rbac::{self, HeldPermission, RoleColumns, RoleRow, OWNER_JOIN};
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
        self.roles(tenant, None).await
    }

    async fn get_role(&self, tenant: &TenantId, name: &str) -> Result<Option<RoleRecord>> {
        Ok(self.roles(tenant, Some(name)).await?.into_iter().next())
    }

    async fn list_permissions(&self, tenant: &TenantId) -> Result<Vec<PermissionRecord>> {
        let sql = format!(
            "SELECT p.resource, p.action, p.description, p.extension_id, e.extension_key FROM permissions p {OWNER_JOIN} WHERE p.tenant_id = ?1"
        );
        let found: Vec<(String, String, String, Option<String>, Option<String>)> =
            sqlx::query_as(&sql).bind(tenant.as_str()).fetch_all(&self.pool).await?;
        let mut records = Vec::with_capacity(found.len());
        for (resource, action, description, id, key) in found {
            let extension = rbac::owner(rbac::parse_extension_id(id)?, key);
            records.push(PermissionRecord { permission: Permission::new(resource, action), description, extension });
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

impl SqliteStore {
    /// The tenant's roles (or the one named) with what each holds.
    async fn roles(&self, tenant: &TenantId, only: Option<&str>) -> Result<Vec<RoleRecord>> {
        // `+rp.tenant_id` keeps the tenant check but stops SQLite (which has no statistics
        // here) from reaching a role's grants through the tenant index, which visits every
        // grant of the tenant once per role, instead of through the (role_id, …) key.
        let sql = format!(
            "SELECT r.name, p.resource, p.action, p.extension_id, e.extension_key FROM roles r \
             LEFT JOIN role_permissions rp ON rp.role_id = r.id AND +rp.tenant_id = r.tenant_id \
             LEFT JOIN permissions p ON p.id = rp.permission_id AND p.tenant_id = r.tenant_id {OWNER_JOIN} \
             WHERE r.tenant_id = ?1 AND (?2 IS NULL OR r.name = ?2)"
        );
        let found: Vec<RoleColumns<String>> = sqlx::query_as(&sql).bind(tenant.as_str()).bind(only).fetch_all(&self.pool).await?;
        let mut rows: Vec<RoleRow> = Vec::with_capacity(found.len());
        for (name, resource, action, id, key) in found {
            let extension = rbac::owner(rbac::parse_extension_id(id)?, key);
            rows.push((name, resource.zip(action).map(|(r, a)| HeldPermission { permission: Permission::new(r, a), extension })));
        }
        Ok(rbac::group_roles(rows))
    }
}
