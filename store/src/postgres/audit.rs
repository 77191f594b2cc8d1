//! PostgreSQL side of the lifecycle audit log.

use async_trait::async_trait;

use super::PgStore;
use crate::flows::RegistryTx;
use crate::rows::{self, AuditRow};
use crate::{AuditEntry, AuditStore, NewAuditEntry, Result, TenantId};

#[async_trait]
impl AuditStore for PgStore {
    async fn append_audit(&self, tenant: &TenantId, entry: &NewAuditEntry) -> Result<()> {
        let mut tx = self.begin_tenant(tenant).await?;
        tx.audit(tenant, entry).await?;
        RegistryTx::commit(tx).await
    }

    async fn list_audit(&self, tenant: &TenantId, limit: u32) -> Result<Vec<AuditEntry>> {
        let limit = rows::check_list_limit(limit)?;
        let mut tx = self.begin_tenant(tenant).await?;
        let found: Vec<AuditRow> = sqlx::query_as(
            "SELECT id, tenant_id, actor, action, target, details, at FROM audit_log \
             WHERE tenant_id = $1 ORDER BY at DESC, id DESC LIMIT $2",
        )
        .bind(tenant.as_str())
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        found.into_iter().map(AuditRow::into_record).collect()
    }
}
