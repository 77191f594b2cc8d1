//! PostgreSQL side of the tenant's roles and the permissions they hold.

use async_trait::async_trait;
use uuid::Uuid;

use super::PgStore;
use crate::{flows, Permission, Result, RoleStore, TenantId};

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
}
