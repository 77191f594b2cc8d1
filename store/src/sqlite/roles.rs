//! SQLite side of the tenant's roles and the permissions they hold.

use async_trait::async_trait;
use sqlx::types::Json;
use uuid::Uuid;

use super::SqliteStore;
use crate::{flows, Permission, Result, RoleStore, TenantId};

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
}
