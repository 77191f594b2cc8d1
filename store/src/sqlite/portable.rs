//! SQLite side of storage export and import.

use uuid::Uuid;

use super::storage::charge;
use super::{now, ts, SqliteStore};
use crate::rows;
use crate::{PortableValue, Result, SetOptions, StorageKey, StorageQuota, StoreError, TenantId};

type Row = (String, String, String, i64, Option<String>);

impl SqliteStore {
    pub(super) async fn storage_export_impl(
        &self,
        tenant: &TenantId,
        extension_id: Uuid,
        after: Option<(&str, &str)>,
        limit: u32,
    ) -> Result<Vec<PortableValue>> {
        // SQLite compares text bytewise (BINARY collation): the same order as PostgreSQL's "C".
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT namespace, key, value, revision, expires_at FROM extension_storage \
             WHERE tenant_id = ?1 AND extension_id = ?2 AND (expires_at IS NULL OR expires_at > ?3) \
               AND (?4 IS NULL OR namespace > ?4 OR (namespace = ?4 AND key > ?5)) \
             ORDER BY namespace, key LIMIT ?6",
        )
        .bind(tenant.as_str())
        .bind(extension_id.to_string())
        .bind(now())
        .bind(after.map(|(ns, _)| ns))
        .bind(after.map(|(_, k)| k).unwrap_or(""))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(namespace, key, value, revision, expires_at)| {
                let corrupt = |message: String| StoreError::Corrupt { table: "extension_storage", message };
                Ok(PortableValue {
                    namespace,
                    key,
                    value: serde_json::from_str(&value).map_err(|e| corrupt(e.to_string()))?,
                    revision,
                    expires_at: expires_at
                        .map(|t| chrono::DateTime::parse_from_rfc3339(&t).map(|t| t.with_timezone(&chrono::Utc)))
                        .transpose()
                        .map_err(|e| corrupt(e.to_string()))?,
                })
            })
            .collect()
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
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        if replace {
            let (n, b): (i64, Option<i64>) =
                sqlx::query_as("SELECT count(*), sum(size_bytes) FROM extension_storage WHERE tenant_id = ?1 AND extension_id = ?2")
                    .bind(tenant.as_str())
                    .bind(extension_id.to_string())
                    .fetch_one(&mut *tx)
                    .await?;
            sqlx::query("DELETE FROM extension_storage WHERE tenant_id = ?1 AND extension_id = ?2")
                .bind(tenant.as_str())
                .bind(extension_id.to_string())
                .execute(&mut *tx)
                .await?;
            charge(&mut tx, tenant, extension_id, -n, -b.unwrap_or(0), None).await?;
        }
        for v in values {
            let key = StorageKey { extension_id, namespace: &v.namespace, key: &v.key };
            Self::set_in(&mut tx, tenant, key, &v.value, SetOptions { quota, ..Default::default() }).await?;
            sqlx::query(
                "UPDATE extension_storage SET revision = ?5, expires_at = ?6 \
                 WHERE tenant_id = ?1 AND extension_id = ?2 AND namespace = ?3 AND key = ?4",
            )
            .bind(tenant.as_str())
            .bind(extension_id.to_string())
            .bind(&v.namespace)
            .bind(&v.key)
            .bind(v.revision)
            .bind(v.expires_at.map(ts))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(values.len() as u64)
    }
}
