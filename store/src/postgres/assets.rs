//! PostgreSQL side of the static-UI-asset lookup: a narrow SECURITY DEFINER function
//! (migration `ui_asset_lookup`), because RLS hides every tenant's versions from a request
//! that has no tenant yet.

use async_trait::async_trait;
use uuid::Uuid;

use super::PgStore;
use crate::{AssetStore, Result, TenantId};

#[async_trait]
impl AssetStore for PgStore {
    async fn resolve_ui_version(&self, install_id: Uuid, bundle_hash: &str) -> Result<Option<(TenantId, Uuid)>> {
        let mut conn = self.connected(self.pool.acquire()).await?;
        let found: Option<(String, Uuid)> = sqlx::query_as("SELECT tenant_id, version_id FROM alga_resolve_ui_version($1, $2)")
            .bind(install_id)
            .bind(bundle_hash)
            .fetch_optional(&mut *conn)
            .await?;
        found.map(|(tenant, version)| Ok((TenantId::parse(&tenant)?, version))).transpose()
    }
}
