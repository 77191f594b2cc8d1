//! PostgreSQL side of the tenant's roles and the permissions they hold.

use async_trait::async_trait;
use uuid::Uuid;

use super::PgStore;
use crate::rbac::{self, HeldPermission, RoleRow};
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
        let mut tx = self.begin_tenant(tenant).await?;
        let found: Vec<(String, Option<String>, Option<String>, Option<Uuid>)> = sqlx::query_as(
            "SELECT r.name, p.resource, p.action, p.extension_id FROM roles r \
             LEFT JOIN role_permissions rp ON rp.role_id = r.id AND rp.tenant_id = r.tenant_id \
             LEFT JOIN permissions p ON p.id = rp.permission_id AND p.tenant_id = r.tenant_id \
             WHERE r.tenant_id = $1",
        )
        .bind(tenant.as_str())
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        let rows = found.into_iter().map(|(name, resource, action, extension_id)| -> RoleRow {
            let held = resource.zip(action).map(|(r, a)| HeldPermission { permission: Permission::new(r, a), extension_id });
            (name, held)
        });
        Ok(rbac::group_roles(rows))
    }

    async fn list_permissions(&self, tenant: &TenantId) -> Result<Vec<PermissionRecord>> {
        let mut tx = self.begin_tenant(tenant).await?;
        let found: Vec<(String, String, String, Option<Uuid>)> =
            sqlx::query_as("SELECT resource, action, description, extension_id FROM permissions WHERE tenant_id = $1")
                .bind(tenant.as_str())
                .fetch_all(&mut *tx)
                .await?;
        tx.commit().await?;
        let records = found
            .into_iter()
            .map(|(resource, action, description, extension_id)| PermissionRecord {
                permission: Permission::new(resource, action),
                description,
                extension_id,
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
