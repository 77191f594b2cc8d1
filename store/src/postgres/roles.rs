//! PostgreSQL side of the tenant's roles and the permissions they hold.

use async_trait::async_trait;
use uuid::Uuid;

use super::PgStore;
use crate::rbac::{self, HeldPermission, RoleColumns, RoleRow, OWNER_JOIN};
use crate::{flows, Permission, PermissionRecord, Result, RoleRecord, RoleStore, TenantId};

#[async_trait]
impl RoleStore for PgStore {
    async fn grant_role_permission(&self, tenant: &TenantId, role: &str, permission: &Permission, extension_id: Option<Uuid>) -> Result<()> {
        flows::grant_role_permission(self.begin_tenant(tenant).await?, tenant, role, permission, extension_id).await
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

    async fn list_roles(&self, tenant: &TenantId) -> Result<Vec<RoleRecord>> {
        self.roles(tenant, None).await
    }

    async fn get_role(&self, tenant: &TenantId, name: &str) -> Result<Option<RoleRecord>> {
        Ok(self.roles(tenant, Some(name)).await?.into_iter().next())
    }

    async fn list_permissions(&self, tenant: &TenantId) -> Result<Vec<PermissionRecord>> {
        let mut tx = self.begin_tenant(tenant).await?;
        let sql = format!(
            "SELECT p.resource, p.action, p.description, p.extension_id, e.extension_key FROM permissions p {OWNER_JOIN} WHERE p.tenant_id = $1"
        );
        let found: Vec<(String, String, String, Option<Uuid>, Option<String>)> =
            sqlx::query_as(&sql).bind(tenant.as_str()).fetch_all(&mut *tx).await?;
        tx.commit().await?;
        let records = found
            .into_iter()
            .map(|(resource, action, description, id, key)| PermissionRecord {
                permission: Permission::new(resource, action),
                description,
                extension: rbac::owner(id, key),
            })
            .collect();
        Ok(rbac::sort_permissions(records))
    }

    async fn grant_role_permission_audited(&self, tenant: &TenantId, role: &str, permission: &Permission, actor: &str) -> Result<bool> {
        flows::grant_audited(self.begin_tenant(tenant).await?, tenant, role, permission, actor).await
    }

    async fn revoke_role_permission(&self, tenant: &TenantId, role: &str, permission: &Permission, actor: &str) -> Result<bool> {
        flows::revoke_audited(self.begin_tenant(tenant).await?, tenant, role, permission, actor).await
    }
}

impl PgStore {
    /// The tenant's roles (or the one named) with what each holds.
    async fn roles(&self, tenant: &TenantId, only: Option<&str>) -> Result<Vec<RoleRecord>> {
        let mut tx = self.begin_tenant(tenant).await?;
        let sql = format!(
            "SELECT r.name, p.resource, p.action, p.extension_id, e.extension_key FROM roles r \
             LEFT JOIN role_permissions rp ON rp.role_id = r.id AND rp.tenant_id = r.tenant_id \
             LEFT JOIN permissions p ON p.id = rp.permission_id AND p.tenant_id = r.tenant_id {OWNER_JOIN} \
             WHERE r.tenant_id = $1 AND ($2::text IS NULL OR r.name = $2)"
        );
        let found: Vec<RoleColumns<Uuid>> = sqlx::query_as(&sql).bind(tenant.as_str()).bind(only).fetch_all(&mut *tx).await?;
        tx.commit().await?;
        let rows = found.into_iter().map(|(name, resource, action, id, key)| -> RoleRow {
            let held = resource.zip(action).map(|(r, a)| HeldPermission { permission: Permission::new(r, a), extension: rbac::owner(id, key) });
            (name, held)
        });
        Ok(rbac::group_roles(rows))
    }
}
