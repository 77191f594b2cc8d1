//! SQLite side of the extension rows: reads, the admin list a page at a time, status, limits, uninstall.

use async_trait::async_trait;
use serde_json::Value;
use uuid::Uuid;

use super::{now, ts, SqliteStore, EXTENSION_COLUMNS};
use crate::flows::{self, RegistryTx};
use crate::rows::{self, ExtensionRow};
use crate::{
    Extension, ExtensionFilter, ExtensionOrder, ExtensionPage, ExtensionSortValue, ExtensionStatus, ExtensionStore, NewAuditEntry, NewExtension,
    Result, StoreError, TenantId,
};

#[async_trait]
impl ExtensionStore for SqliteStore {
    async fn insert_extension(&self, tenant: &TenantId, new: &NewExtension, actor: &str) -> Result<Extension> {
        flows::register(self.begin_registry().await?, tenant, new, actor).await
    }

    async fn get_extension(&self, tenant: &TenantId, id: Uuid) -> Result<Option<Extension>> {
        let sql = format!("SELECT {EXTENSION_COLUMNS} FROM extensions WHERE tenant_id = ?1 AND id = ?2");
        let row: Option<ExtensionRow> = sqlx::query_as(&sql).bind(tenant.as_str()).bind(id.to_string()).fetch_optional(&self.pool).await?;
        row.map(ExtensionRow::into_record).transpose()
    }

    async fn find_extension_by_key(&self, tenant: &TenantId, key: &str) -> Result<Option<Extension>> {
        let sql = format!("SELECT {EXTENSION_COLUMNS} FROM extensions WHERE tenant_id = ?1 AND extension_key = ?2");
        let row: Option<ExtensionRow> = sqlx::query_as(&sql).bind(tenant.as_str()).bind(key).fetch_optional(&self.pool).await?;
        row.map(ExtensionRow::into_record).transpose()
    }

    async fn list_extensions(&self, tenant: &TenantId, filter: &ExtensionFilter) -> Result<Vec<Extension>> {
        // instr() on lower() rather than LIKE, so `%` and `_` in the search text are literal.
        let sql = format!(
            "SELECT {EXTENSION_COLUMNS} FROM extensions WHERE tenant_id = ?1 \
             AND (?2 IS NULL OR status = ?2) \
             AND (?3 IS NULL OR instr(lower(name), lower(?3)) > 0 OR instr(lower(extension_key), lower(?3)) > 0) \
             ORDER BY lower(name), extension_key"
        );
        let found: Vec<ExtensionRow> = sqlx::query_as(&sql)
            .bind(tenant.as_str())
            .bind(filter.status.map(|s| s.as_str()))
            .bind(filter.name_contains.as_deref())
            .fetch_all(&self.pool)
            .await?;
        found.into_iter().map(ExtensionRow::into_record).collect()
    }

    async fn list_extensions_page(&self, tenant: &TenantId, filter: &ExtensionFilter, page: &ExtensionPage) -> Result<Vec<Extension>> {
        // Only these fixed expressions ever reach the SQL text; values are bound. Times are
        // stored as fixed-width RFC 3339 text (`ts`), which sorts chronologically.
        let (expr, cursor) = match page.order {
            ExtensionOrder::Name => ("lower(name)", "lower(?4)"),
            ExtensionOrder::CreatedAt => ("created_at", "?4"),
            ExtensionOrder::UpdatedAt => ("updated_at", "?4"),
        };
        let (cmp, dir) = if page.descending { ("<", "DESC") } else { (">", "ASC") };
        let after = match &page.after {
            Some(_) => format!("AND ({expr} {cmp} {cursor} OR ({expr} = {cursor} AND extension_key {cmp} ?5))"),
            None => String::new(),
        };
        // instr() on lower() rather than LIKE, so `%` and `_` in the search text are literal.
        let sql = format!(
            "SELECT {EXTENSION_COLUMNS} FROM extensions WHERE tenant_id = ?1 \
             AND (?2 IS NULL OR status = ?2) \
             AND (?3 IS NULL OR instr(lower(name), lower(?3)) > 0 OR instr(lower(extension_key), lower(?3)) > 0) \
             {after} ORDER BY {expr} {dir}, extension_key {dir} LIMIT {}",
            page.limit
        );
        let mut query = sqlx::query_as::<_, ExtensionRow>(&sql)
            .bind(tenant.as_str())
            .bind(filter.status.map(|s| s.as_str()))
            .bind(filter.name_contains.as_deref());
        if let Some((value, key)) = &page.after {
            query = match value {
                ExtensionSortValue::Name(name) => query.bind(name.clone()),
                ExtensionSortValue::Time(at) => query.bind(ts(*at)),
            }
            .bind(key.clone());
        }
        let found = query.fetch_all(&self.pool).await?;
        found.into_iter().map(ExtensionRow::into_record).collect()
    }

    async fn count_extensions(&self, tenant: &TenantId) -> Result<u64> {
        let (count,): (i64,) =
            sqlx::query_as("SELECT count(*) FROM extensions WHERE tenant_id = ?1").bind(tenant.as_str()).fetch_one(&self.pool).await?;
        Ok(count.max(0) as u64)
    }

    async fn set_extension_enabled(&self, tenant: &TenantId, id: Uuid, enabled: bool, actor: &str) -> Result<Extension> {
        let mut tx = self.begin_registry().await?;
        let sql = format!(
            "UPDATE extensions SET is_enabled = ?1, updated_at = ?2 WHERE tenant_id = ?3 AND id = ?4 \
             RETURNING {EXTENSION_COLUMNS}"
        );
        let row: Option<ExtensionRow> =
            sqlx::query_as(&sql).bind(enabled).bind(now()).bind(tenant.as_str()).bind(id.to_string()).fetch_optional(&mut *tx).await?;
        let ext = row.ok_or_else(|| StoreError::NotFound { entity: "extension", id: id.to_string() })?.into_record()?;
        tx.audit(tenant, &rows::enabled_audit(&ext, enabled, actor)).await?;
        tx.commit().await?;
        Ok(ext)
    }

    async fn set_extension_status(
        &self,
        tenant: &TenantId,
        id: Uuid,
        status: ExtensionStatus,
        enabled: bool,
        entry: &NewAuditEntry,
    ) -> Result<Extension> {
        flows::set_status(self.begin_registry().await?, tenant, id, status, enabled, entry).await
    }

    async fn set_extension_limits(&self, tenant: &TenantId, id: Uuid, limits: &Value, actor: &str) -> Result<Extension> {
        flows::set_limits(self.begin_registry().await?, tenant, id, limits, actor).await
    }

    async fn delete_extension(&self, tenant: &TenantId, id: Uuid, purge: bool, actor: &str) -> Result<()> {
        flows::uninstall(self.begin_registry().await?, tenant, id, purge, actor).await
    }

    async fn touch_extension(&self, tenant: &TenantId, id: Uuid) -> Result<()> {
        sqlx::query("UPDATE extensions SET last_used_at = ?3 WHERE tenant_id = ?1 AND id = ?2")
            .bind(tenant.as_str())
            .bind(id.to_string())
            .bind(now())
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
