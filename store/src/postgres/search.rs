//! PostgreSQL side of storage search: filters on JSONB fields, paginated in key order.
//! Equality becomes containment (`value @> {...}`), which the GIN index of migration 3
//! answers; ranges compare typed fields.

use serde_json::{Map, Value};
use sqlx::types::Json;
use sqlx::QueryBuilder;
use uuid::Uuid;

use sqlx::Postgres;

use super::{LIVE, VALUE_COLUMNS};
use crate::rows;
use crate::{Filter, FilterOp, Result, TenantId};

/// `{"a": {"b": value}}` for the path `a.b`.
fn nested(path: &[String], value: &Value) -> Value {
    path.iter().rev().fold(value.clone(), |inner, segment| Value::Object(Map::from_iter([(segment.clone(), inner)])))
}

/// The search statement: live values of one namespace whose fields match every filter, in
/// key order after `after`.
pub(crate) fn query<'a>(
    tenant: &'a TenantId,
    extension_id: Uuid,
    namespace: &'a str,
    filters: &'a [Filter],
    after: Option<&'a str>,
    limit: u32,
) -> Result<QueryBuilder<'a, Postgres>> {
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
    Ok(q)
}
