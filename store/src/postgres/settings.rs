//! PostgreSQL side of tenant admins' saved extension settings.

use async_trait::async_trait;
use serde_json::Value;
use sqlx::types::Json;
use uuid::Uuid;

use super::PgStore;
use crate::{Result, SettingsStore, TenantId};

#[async_trait]
impl SettingsStore for PgStore {
    async fn get_settings(&self, tenant: &TenantId, extension_id: Uuid) -> Result<Option<Value>> {
        let mut tx = self.begin_tenant(tenant).await?;
        let found: Option<Json<Value>> = sqlx::query_scalar("SELECT settings FROM extension_settings WHERE tenant_id = $1 AND extension_id = $2")
            .bind(tenant.as_str())
            .bind(extension_id)
            .fetch_optional(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(found.map(|j| j.0))
    }

    async fn put_settings(&self, tenant: &TenantId, extension_id: Uuid, settings: &Value) -> Result<()> {
        let mut tx = self.begin_tenant(tenant).await?;
        sqlx::query(
            "INSERT INTO extension_settings (extension_id, tenant_id, settings) VALUES ($1, $2, $3) \
             ON CONFLICT (extension_id, tenant_id) DO UPDATE SET settings = EXCLUDED.settings, updated_at = now()",
        )
        .bind(extension_id)
        .bind(tenant.as_str())
        .bind(Json(settings))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn delete_settings(&self, tenant: &TenantId, extension_id: Uuid) -> Result<bool> {
        let mut tx = self.begin_tenant(tenant).await?;
        let done = sqlx::query("DELETE FROM extension_settings WHERE tenant_id = $1 AND extension_id = $2")
            .bind(tenant.as_str())
            .bind(extension_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected() > 0)
    }
}
