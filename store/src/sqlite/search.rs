//! SQLite side of storage search: filters on JSON1 fields (`json_extract`, `json_type`),
//! paginated in key order within the extension's namespace (a primary-key range).

use serde_json::Value;
use sqlx::QueryBuilder;
use uuid::Uuid;

use sqlx::Sqlite;

use super::{now, VALUE_COLUMNS};
use crate::rows;
use crate::{Filter, FilterOp, Result, TenantId};

/// A JSON path for JSON1: `$."a"."b"` (segments were checked to hold no quotes).
fn json_path(path: &[String]) -> String {
    path.iter().fold(String::from("$"), |mut out, segment| {
        out.push_str(".\"");
        out.push_str(segment);
        out.push('"');
        out
    })
}

/// The search statement: live values of one namespace whose fields match every filter, in
/// key order after `after`.
pub(crate) fn query(
    tenant: &TenantId,
    extension_id: Uuid,
    namespace: &str,
    filters: &[Filter],
    after: Option<&str>,
    limit: u32,
) -> Result<QueryBuilder<'static, Sqlite>> {
    let limit = rows::check_list_limit(limit)?;
    rows::check_filters(filters)?;
    let mut q = QueryBuilder::new(format!("SELECT {VALUE_COLUMNS} FROM extension_storage WHERE (expires_at IS NULL OR expires_at > "));
    q.push_bind(now()).push(") AND tenant_id = ").push_bind(tenant.as_str().to_owned());
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
    Ok(q)
}
