//! PostgreSQL side of storage search: filters on JSONB fields, paginated in key order.
//! Equality becomes containment (`value @> {...}`), which the GIN index of migration 3
//! answers; ranges compare typed fields.

use serde_json::{Map, Value};
use sqlx::types::Json;
use sqlx::QueryBuilder;
use uuid::Uuid;

use super::{PgStore, LIVE, VALUE_COLUMNS};
use crate::rows::{self, StoredValueRow};
use crate::{Filter, FilterOp, Result, StoredValue, TenantId};

/// `{"a": {"b": value}}` for the path `a.b`.
fn nested(path: &[String], value: &Value) -> Value {
    path.iter().rev().fold(value.clone(), |inner, segment| Value::Object(Map::from_iter([(segment.clone(), inner)])))
}

impl PgStore {
    pub(super) async fn storage_history_impl(&self, tenant: &TenantId, key: crate::StorageKey<'_>, limit: u32) -> Result<Vec<crate::HistoryEntry>> {
        let mut tx = self.begin_tenant(tenant).await?;
        let rows: Vec<(i64, Json<Value>, chrono::DateTime<chrono::Utc>)> = sqlx::query_as(
            "SELECT revision, value, written_at FROM extension_storage_history WHERE tenant_id = $1 AND extension_id = $2 \
             AND namespace = $3 AND key = $4 ORDER BY revision DESC LIMIT $5",
        )
        .bind(tenant.as_str())
        .bind(key.extension_id)
        .bind(key.namespace)
        .bind(key.key)
        .bind(i64::from(limit.min(crate::HISTORY_KEPT)))
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(rows.into_iter().map(|(revision, value, written_at)| crate::HistoryEntry { revision, value: value.0, written_at }).collect())
    }

    pub(super) async fn storage_search_impl(
        &self,
        tenant: &TenantId,
        extension_id: Uuid,
        namespace: &str,
        filters: &[Filter],
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<StoredValue>> {
        let limit = rows::check_list_limit(limit)?;
        rows::check_filters(filters)?;
        let mut q = QueryBuilder::new(format!("SELECT {VALUE_COLUMNS} FROM extension_storage WHERE {LIVE} AND tenant_id = "));
        q.push_bind(tenant.as_str()).push(" AND extension_id = ").push_bind(extension_id).push(" AND namespace = ").push_bind(namespace);
        if let Some(after) = after {
            q.push(" AND key COLLATE \"C\" > ").push_bind(after);
        }
        for f in filters {
            let path: Vec<&str> = f.path.iter().map(String::as_str).collect();
            match f.op {
                FilterOp::Eq => {
                    q.push(" AND value @> ").push_bind(Json(nested(&f.path, &f.value)));
                }
                FilterOp::Ne => {
                    q.push(" AND (value #> ").push_bind(path).push(") IS DISTINCT FROM ").push_bind(Json(f.value.clone()));
                }
                FilterOp::Exists => {
                    q.push(" AND (value #> ").push_bind(path).push(if f.value == Value::Bool(true) { ") IS NOT NULL" } else { ") IS NULL" });
                }
                FilterOp::Gt | FilterOp::Gte | FilterOp::Lt | FilterOp::Lte => {
                    let cmp = f.op.sql_comparison().unwrap_or(" = ");
                    if let Some(n) = f.value.as_f64() {
                        // The type test comes first so the cast never sees a non-number.
                        q.push(" AND CASE WHEN jsonb_typeof(value #> ").push_bind(path.clone()).push(") = 'number' THEN (value #> ");
                        q.push_bind(path).push(")::numeric").push(cmp).push_bind(n).push("::numeric ELSE false END");
                    } else {
                        let s = f.value.as_str().unwrap_or_default().to_owned();
                        q.push(" AND jsonb_typeof(value #> ").push_bind(path.clone()).push(") = 'string' AND (value #>> ");
                        q.push_bind(path).push(") COLLATE \"C\"").push(cmp).push_bind(s);
                    }
                }
            }
        }
        q.push(" ORDER BY key COLLATE \"C\" LIMIT ").push_bind(limit);
        let mut tx = self.begin_tenant(tenant).await?;
        let found: Vec<StoredValueRow> = q.build_query_as().fetch_all(&mut *tx).await?;
        tx.commit().await?;
        Ok(found.into_iter().map(Into::into).collect())
    }
}
