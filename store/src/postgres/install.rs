//! PostgreSQL side of the install pipeline: uploads, versions, approvals and the files and capabilities they carry.

use async_trait::async_trait;
use uuid::Uuid;

use super::{PgStore, VERSION_COLUMNS};
use crate::rows::{StoredFileRow, VersionRow};
use crate::{
    flows, Approval, CapabilityGrant, Extension, InstallStore, NewExtension, NewFile, NewVersion, Permission, Result, StoredFile, TenantId,
    VersionRecord,
};

#[async_trait]
impl InstallStore for PgStore {
    async fn create_install(
        &self,
        tenant: &TenantId,
        extension: &NewExtension,
        version: &NewVersion,
        files: &[NewFile],
        requested: &[Permission],
        actor: &str,
    ) -> Result<Extension> {
        flows::create_install(self.begin_tenant(tenant).await?, tenant, extension, version, files, requested, actor).await
    }

    async fn add_pending_version(
        &self,
        tenant: &TenantId,
        extension_id: Uuid,
        version: &NewVersion,
        files: &[NewFile],
        actor: &str,
    ) -> Result<VersionRecord> {
        flows::add_pending_version(self.begin_tenant(tenant).await?, tenant, extension_id, version, files, actor).await
    }

    async fn list_versions(&self, tenant: &TenantId, extension_id: Uuid) -> Result<Vec<VersionRecord>> {
        let mut tx = self.begin_tenant(tenant).await?;
        let sql = format!(
            "SELECT {VERSION_COLUMNS} FROM extension_versions WHERE tenant_id = $1 AND extension_id = $2 ORDER BY created_at DESC, version DESC"
        );
        let found: Vec<VersionRow> = sqlx::query_as(&sql).bind(tenant.as_str()).bind(extension_id).fetch_all(&mut *tx).await?;
        tx.commit().await?;
        found.into_iter().map(VersionRow::into_record).collect()
    }

    async fn discard_pending_version(&self, tenant: &TenantId, extension_id: Uuid, actor: &str) -> Result<bool> {
        flows::discard_pending_version(self.begin_tenant(tenant).await?, tenant, extension_id, actor).await
    }

    async fn pending_versions(&self, tenant: &TenantId) -> Result<Vec<(Uuid, String)>> {
        let mut tx = self.begin_tenant(tenant).await?;
        let found: Vec<(Uuid, String)> =
            sqlx::query_as("SELECT extension_id, version FROM extension_versions WHERE tenant_id = $1 AND state = 'pending' ORDER BY 1")
                .bind(tenant.as_str())
                .fetch_all(&mut *tx)
                .await?;
        tx.commit().await?;
        Ok(found)
    }

    async fn approve_version(&self, tenant: &TenantId, extension_id: Uuid, version_id: Uuid, approval: &Approval, actor: &str) -> Result<Extension> {
        flows::approve(self.begin_tenant(tenant).await?, tenant, extension_id, version_id, approval, actor).await
    }

    async fn capabilities(&self, tenant: &TenantId, extension_id: Uuid) -> Result<Vec<CapabilityGrant>> {
        let mut tx = self.begin_tenant(tenant).await?;
        let found: Vec<(String, String, bool)> =
            sqlx::query_as("SELECT resource, action, granted FROM extension_permissions WHERE tenant_id = $1 AND extension_id = $2 ORDER BY 1, 2")
                .bind(tenant.as_str())
                .bind(extension_id)
                .fetch_all(&mut *tx)
                .await?;
        tx.commit().await?;
        Ok(found.into_iter().map(|(r, a, granted)| CapabilityGrant { permission: Permission::new(r, a), granted }).collect())
    }

    async fn version_files(&self, tenant: &TenantId, version_id: Uuid) -> Result<Vec<StoredFile>> {
        let mut tx = self.begin_tenant(tenant).await?;
        let found: Vec<StoredFileRow> = sqlx::query_as(
            "SELECT path, content_hash, size FROM extension_files WHERE tenant_id = $1 AND version_id = $2 ORDER BY path COLLATE \"C\"",
        )
        .bind(tenant.as_str())
        .bind(version_id)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(found.into_iter().map(Into::into).collect())
    }

    async fn read_file(&self, tenant: &TenantId, version_id: Uuid, path: &str) -> Result<Option<(StoredFile, Vec<u8>)>> {
        let mut tx = self.begin_tenant(tenant).await?;
        let found: Option<(String, String, i64, Vec<u8>)> = sqlx::query_as(
            "SELECT f.path, f.content_hash, f.size, b.content FROM extension_files f \
             JOIN file_blobs b ON b.content_hash = f.content_hash \
             WHERE f.tenant_id = $1 AND f.version_id = $2 AND f.path = $3",
        )
        .bind(tenant.as_str())
        .bind(version_id)
        .bind(path)
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(found.map(|(path, content_hash, size, bytes)| (StoredFile { path, content_hash, size }, bytes)))
    }
}
