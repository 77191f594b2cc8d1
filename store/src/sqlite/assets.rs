//! SQLite side of the static-UI-asset lookup: SQLite has no RLS, so the lookup is a plain
//! query that returns ids only.

use async_trait::async_trait;
use uuid::Uuid;

use super::SqliteStore;
use crate::{AssetStore, Result, StoreError, TenantId};

#[async_trait]
impl AssetStore for SqliteStore {
    async fn resolve_ui_version(&self, install_id: Uuid, bundle_hash: &str) -> Result<Option<(TenantId, Uuid)>> {
        let found: Option<(String, String)> = sqlx::query_as(
            "SELECT tenant_id, id FROM extension_versions \
             WHERE extension_id = ?1 AND bundle_hash = ?2 AND state IN ('active', 'pending') \
             ORDER BY state = 'active' DESC LIMIT 1",
        )
        .bind(install_id.to_string())
        .bind(bundle_hash)
        .fetch_optional(&self.pool)
        .await?;
        let Some((tenant, version)) = found else { return Ok(None) };
        let version = Uuid::parse_str(&version)
            .map_err(|e| StoreError::Corrupt { table: "extension_versions", message: format!("version id {version:?}: {e}") })?;
        Ok(Some((TenantId::parse(&tenant)?, version)))
    }
}
