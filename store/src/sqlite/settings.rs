//! SQLite side of tenant admins' saved extension settings.

use async_trait::async_trait;
use serde_json::Value;
use sqlx::types::Json;
use uuid::Uuid;

use super::{now, SqliteStore};
use crate::{Result, SettingsStore, TenantId};

#[async_trait]
impl SettingsStore for SqliteStore {
    async fn get_settings(&self, tenant: &TenantId, extension_id: Uuid) -> Result<Option<Value>> {
        let found: Option<Json<Value>> = sqlx::query_scalar("SELECT settings FROM extension_settings WHERE tenant_id = ?1 AND extension_id = ?2")
            .bind(tenant.as_str())
            .bind(extension_id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        Ok(found.map(|j| j.0))
    }

    async fn put_settings(&self, tenant: &TenantId, extension_id: Uuid, settings: &Value) -> Result<()> {
        sqlx::query(
            "INSERT INTO extension_settings (extension_id, tenant_id, settings, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?4) ON CONFLICT (extension_id, tenant_id) \
             DO UPDATE SET settings = excluded.settings, updated_at = excluded.updated_at",
        )
        .bind(extension_id.to_string())
        .bind(tenant.as_str())
        .bind(Json(settings))
        .bind(now())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn delete_settings(&self, tenant: &TenantId, extension_id: Uuid) -> Result<bool> {
        let done = sqlx::query("DELETE FROM extension_settings WHERE tenant_id = ?1 AND extension_id = ?2")
            .bind(tenant.as_str())
            .bind(extension_id.to_string())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }
}
