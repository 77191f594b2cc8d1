//! PostgreSQL side of storage export and import.

use uuid::Uuid;

use super::storage::charge;
use super::{PgStore, LIVE};
use crate::rows;
use crate::{PortableValue, Result, SetOptions, StorageKey, StorageQuota, TenantId};

type Row = (String, String, sqlx::types::Json<serde_json::Value>, i64, Option<chrono::DateTime<chrono::Utc>>);

impl PgStore {
    pub(super) async fn storage_export_impl(
        &self,
        tenant: &TenantId,
        extension_id: Uuid,
        after: Option<(&str, &str)>,
        limit: u32,
    ) -> Result<Vec<PortableValue>> {
        let mut tx = self.begin_tenant(tenant).await?;
        // Byte order over (namespace, key), as listing uses, so the cursor is stable.
        let sql = format!(
            "SELECT namespace, key, value, revision, expires_at FROM extension_storage \
             WHERE tenant_id = $1 AND extension_id = $2 AND {LIVE} AND ($3::text IS NULL \
               OR namespace COLLATE \"C\" > $3 OR (namespace = $3 AND key COLLATE \"C\" > $4)) \
             ORDER BY namespace COLLATE \"C\", key COLLATE \"C\" LIMIT $5"
        );
        let rows: Vec<Row> = sqlx::query_as(&sql)
            .bind(tenant.as_str())
            .bind(extension_id)
            .bind(after.map(|(ns, _)| ns))
            .bind(after.map(|(_, k)| k).unwrap_or(""))
            .bind(i64::from(limit))
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(rows
            .into_iter()
            .map(|(namespace, key, value, revision, expires_at)| PortableValue { namespace, key, value: value.0, revision, expires_at })
            .collect())
    }

    pub(super) async fn storage_import_impl(
        &self,
        tenant: &TenantId,
        extension_id: Uuid,
        values: &[PortableValue],
        replace: bool,
        quota: Option<StorageQuota>,
    ) -> Result<u64> {
        rows::check_portable(values)?;
        let mut tx = self.begin_tenant(tenant).await?;
        if replace {
            let (n, b): (i64, Option<i64>) = sqlx::query_as(
                "WITH gone AS (DELETE FROM extension_storage WHERE tenant_id = $1 AND extension_id = $2 RETURNING size_bytes) \
                 SELECT count(*), sum(size_bytes)::bigint FROM gone",
            )
            .bind(tenant.as_str())
            .bind(extension_id)
            .fetch_one(&mut *tx)
            .await?;
            charge(&mut tx, tenant, extension_id, -n, -b.unwrap_or(0), None).await?;
        }
        for v in values {
            let key = StorageKey { extension_id, namespace: &v.namespace, key: &v.key };
            Self::set_in(&mut tx, tenant, key, &v.value, SetOptions { quota, ..Default::default() }).await?;
            sqlx::query(
                "UPDATE extension_storage SET revision = $5, expires_at = $6 \
                 WHERE tenant_id = $1 AND extension_id = $2 AND namespace = $3 AND key = $4",
            )
            .bind(tenant.as_str())
            .bind(extension_id)
            .bind(&v.namespace)
            .bind(&v.key)
            .bind(v.revision)
            .bind(v.expires_at)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(values.len() as u64)
    }
}
