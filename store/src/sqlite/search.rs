//! SQLite side of storage search: filters on JSON1 fields (`json_extract`, `json_type`),
//! paginated in key order within the extension's namespace (a primary-key range).

use serde_json::Value;
use sqlx::QueryBuilder;
use uuid::Uuid;

use super::{now, SqliteStore, VALUE_COLUMNS};
use crate::rows::{self, StoredValueRow};
use crate::{Filter, FilterOp, Result, StoredValue, TenantId};

/// A JSON path for JSON1: `$."a"."b"` (segments were checked to hold no quotes).
fn json_path(path: &[String]) -> String {
    path.iter().fold(String::from("$"), |mut out, segment| {
        out.push_str(".\"");
        out.push_str(segment);
        out.push('"');
        out
    })
}

impl SqliteStore {
    pub(super) async fn storage_history_impl(&self, tenant: &TenantId, key: crate::StorageKey<'_>, limit: u32) -> Result<Vec<crate::HistoryEntry>> {
        let rows: Vec<(i64, String, String)> = sqlx::query_as(
            "SELECT revision, value, written_at FROM extension_storage_history WHERE tenant_id = ?1 AND extension_id = ?2 \
             AND namespace = ?3 AND key = ?4 ORDER BY revision DESC LIMIT ?5",
        )
        .bind(tenant.as_str())
        .bind(key.extension_id.to_string())
        .bind(key.namespace)
        .bind(key.key)
        .bind(i64::from(limit.min(crate::HISTORY_KEPT)))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(revision, value, written_at)| {
                let corrupt = |message: String| crate::StoreError::Corrupt { table: "extension_storage_history", message };
                Ok(crate::HistoryEntry {
                    revision,
                    value: serde_json::from_str(&value).map_err(|e| corrupt(e.to_string()))?,
                    written_at: chrono::DateTime::parse_from_rfc3339(&written_at).map_err(|e| corrupt(e.to_string()))?.with_timezone(&chrono::Utc),
                })
            })
            .collect()
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
        let mut q = QueryBuilder::new(format!("SELECT {VALUE_COLUMNS} FROM extension_storage WHERE (expires_at IS NULL OR expires_at > "));
        q.push_bind(now()).push(") AND tenant_id = ").push_bind(tenant.as_str());
        q.push(" AND extension_id = ").push_bind(extension_id.to_string()).push(" AND namespace = ").push_bind(namespace.to_owned());
        if let Some(after) = after {
            q.push(" AND key > ").push_bind(after.to_owned());
        }
        for f in filters {
            let path = json_path(&f.path);
            let typed = |q: &mut QueryBuilder<'_, sqlx::Sqlite>, path: &str, value: &Value| {
                // json_type names the JSON type exactly; json_extract yields the SQL value.
                match value {
                    Value::Null => {
                        q.push("json_type(value, ").push_bind(path.to_owned()).push(") = 'null'");
                    }
                    Value::Bool(b) => {
                        q.push("json_type(value, ").push_bind(path.to_owned()).push(") = ").push_bind(if *b { "true" } else { "false" });
                    }
                    Value::Number(n) => {
                        q.push("(json_type(value, ").push_bind(path.to_owned()).push(") IN ('integer', 'real') AND json_extract(value, ");
                        q.push_bind(path.to_owned()).push(") = ").push_bind(n.as_f64().unwrap_or(f64::NAN)).push(")");
                    }
                    Value::String(s) => {
                        q.push("(json_type(value, ").push_bind(path.to_owned()).push(") = 'text' AND json_extract(value, ");
                        q.push_bind(path.to_owned()).push(") = ").push_bind(s.clone()).push(")");
                    }
                    _ => {
                        q.push("0");
                    }
                }
            };
            match f.op {
                FilterOp::Eq => {
                    q.push(" AND ");
                    typed(&mut q, &path, &f.value);
                }
                FilterOp::Ne => {
                    q.push(" AND NOT coalesce(");
                    typed(&mut q, &path, &f.value);
                    q.push(", 0)");
                }
                FilterOp::Exists => {
                    q.push(" AND json_type(value, ").push_bind(path).push(if f.value == Value::Bool(true) { ") IS NOT NULL" } else { ") IS NULL" });
                }
                FilterOp::Gt | FilterOp::Gte | FilterOp::Lt | FilterOp::Lte => {
                    let cmp = f.op.sql_comparison().unwrap_or(" = ");
                    if let Some(n) = f.value.as_f64() {
                        q.push(" AND json_type(value, ").push_bind(path.clone()).push(") IN ('integer', 'real') AND json_extract(value, ");
                        q.push_bind(path).push(")").push(cmp).push_bind(n);
                    } else {
                        q.push(" AND json_type(value, ").push_bind(path.clone()).push(") = 'text' AND json_extract(value, ");
                        q.push_bind(path).push(")").push(cmp).push_bind(f.value.as_str().unwrap_or_default().to_owned());
                    }
                }
            }
        }
        q.push(" ORDER BY key LIMIT ").push_bind(limit);
        let found: Vec<StoredValueRow> = q.build_query_as().fetch_all(&self.pool).await?;
        Ok(found.into_iter().map(Into::into).collect())
    }
}
