//! The writes `kill -9` is aimed at, and what is checked after the restart: an upload, an approval and a storage import, each sent as `acme`'s admin, and each found whole or absent in the database.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sqlx::PgConnection;

use super::node::Node;
use crate::archives::{self, Entry};
use crate::support::admin_token;

/// Files of the uploaded bundles: each is a blob row and a file row of the install's one
/// transaction; and user permissions of the approved ones, each a few rows of the
/// approval's: so that a kill has time to land inside them.
pub const UPLOAD_FILES: usize = 1200;
pub const APPROVE_PERMISSIONS: usize = 200;
/// Values of one import, written in its one transaction.
pub const IMPORT_VALUES: usize = 800;
/// Where, as fractions of the operation's own time when left alone, the server is killed.
pub const KILL_AT: [f64; 5] = [0.25, 0.5, 0.7, 0.85, 1.0];

/// An extension `key` with `files` data files besides its manifest and main module (their
/// contents start with the key) and `permissions` user permissions, each granted to two
/// roles on approval.
pub fn big_bundle(key: &str, files: usize, permissions: usize) -> Vec<u8> {
    let permissions: Vec<Value> = (0..permissions).map(|i| json!({ "name": format!("p{i}"), "defaultRoles": ["admin", "technician"] })).collect();
    let manifest = json!({
        "id": key, "name": key, "version": "1.0.0", "main": "index.js",
        "permissions": ["storage:read", "storage:write"], "userPermissions": permissions,
    });
    let mut entries =
        vec![Entry::file("manifest.json", serde_json::to_vec(&manifest).unwrap()), Entry::file("index.js", b"export function ping() {}".to_vec())];
    entries.extend((0..files).map(|i| Entry::file(&format!("data/f{i}.txt"), format!("{key} {i} {}", "x".repeat(200)).into_bytes())));
    archives::zip(&entries)
}

/// A JSON Lines import of [`IMPORT_VALUES`] values into `namespace`.
pub fn import_body(namespace: &str) -> Vec<u8> {
    (0..IMPORT_VALUES)
        .map(|i| json!({ "namespace": namespace, "key": format!("k{i}"), "value": { "i": i, "pad": "y".repeat(100) } }).to_string() + "\n")
        .collect::<String>()
        .into_bytes()
}

pub enum Op {
    Upload(String),
    Approve(String),
    Import(String, String),
}

/// The request `op` sends as `acme`'s admin.
pub fn request(node: &Node, op: &Op) -> reqwest::RequestBuilder {
    let client = reqwest::Client::new();
    let admin = admin_token("acme");
    match op {
        Op::Upload(key) => {
            client.post(node.url("/admin/v1/extensions")).header("content-type", "application/zip").body(big_bundle(key, UPLOAD_FILES, 0))
        }
        Op::Approve(key) => client.post(node.url(&format!("/admin/v1/extensions/{key}/approve"))).json(&json!({ "enable": true })),
        Op::Import(key, namespace) => client
            .post(node.url(&format!("/admin/v1/extensions/{key}/storage")))
            .header("content-type", "application/x-ndjson")
            .body(import_body(namespace)),
    }
    .bearer_auth(admin)
}

/// Runs `op` to its end; answers how long it took.
pub async fn timed(node: &Node, op: &Op) -> Duration {
    let started = Instant::now();
    let res = request(node, op).send().await.unwrap();
    assert!(res.status().is_success(), "{}", res.text().await.unwrap());
    started.elapsed()
}

/// What a kill hit: the status, if the answer came first, and whether the server had a
/// transaction open in the database just before it died.
pub struct Killed {
    pub answered: Option<u16>,
    pub in_transaction: bool,
}

/// Sends `op` and SIGKILLs the node `after` the request started, looking through `db` (a
/// connection to the same database) for the server's open transaction just before.
pub async fn kill_during(node: &mut Node, op: &Op, after: Duration, db: &mut PgConnection) -> Killed {
    let sent = request(node, op).send();
    let answer = tokio::spawn(async move { sent.await.ok().map(|res| res.status().as_u16()) });
    tokio::time::sleep(after).await;
    let open: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND xact_start IS NOT NULL AND pid <> pg_backend_pid()",
    )
    .fetch_one(&mut *db)
    .await
    .unwrap();
    node.kill();
    Killed { answered: answer.await.unwrap(), in_transaction: open > 0 }
}

/// Whether the upload of `key` is there, asserting it is whole if so and leaves nothing if not.
pub async fn upload_state(db: &mut PgConnection, key: &str) -> bool {
    let row: Option<(String, i64, i64, i64)> = sqlx::query_as(
        "SELECT e.status, (SELECT count(*) FROM extension_versions v WHERE v.extension_id = e.id), \
         (SELECT count(*) FROM extension_files f JOIN extension_versions v ON v.id = f.version_id WHERE v.extension_id = e.id), \
         (SELECT count(*) FROM extension_permissions p WHERE p.extension_id = e.id) \
         FROM extensions e WHERE e.tenant_id = 'acme' AND e.extension_key = $1",
    )
    .bind(key)
    .fetch_optional(&mut *db)
    .await
    .unwrap();
    let blobs: i64 = sqlx::query_scalar("SELECT count(*) FROM file_blobs WHERE position(convert_to($1 || ' ', 'UTF8') in content) = 1")
        .bind(key)
        .fetch_one(&mut *db)
        .await
        .unwrap();
    let audited: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'extension.registered' AND details->>'extension' = $1")
        .bind(key)
        .fetch_one(&mut *db)
        .await
        .unwrap();
    match row {
        Some(row) => {
            assert_eq!(row, ("pending_approval".into(), 1, UPLOAD_FILES as i64 + 2, 2), "{key}: a partial install");
            assert_eq!((blobs, audited), (UPLOAD_FILES as i64, 1), "{key}: blobs and audit row");
            true
        }
        None => {
            assert_eq!((blobs, audited), (0, 0), "{key}: no install, yet blobs or an audit row");
            false
        }
    }
}

/// Whether `key` was approved, asserting its status, version, grants and audit agree.
pub async fn approval_state(db: &mut PgConnection, key: &str) -> bool {
    let row: (String, bool, String, i64, i64, i64, i64) = sqlx::query_as(
        "SELECT e.status, e.is_enabled, v.state, \
         (SELECT count(*) FROM extension_permissions p WHERE p.extension_id = e.id AND p.granted), \
         (SELECT count(*) FROM permissions p WHERE p.extension_id = e.id), \
         (SELECT count(*) FROM role_permissions r JOIN permissions p ON p.id = r.permission_id WHERE p.extension_id = e.id), \
         (SELECT count(*) FROM audit_log a WHERE a.target = e.id::text AND a.action IN ('extension.approved', 'extension.enabled')) \
         FROM extensions e JOIN extension_versions v ON v.extension_id = e.id WHERE e.tenant_id = 'acme' AND e.extension_key = $1",
    )
    .bind(key)
    .fetch_one(&mut *db)
    .await
    .unwrap();
    let n = APPROVE_PERMISSIONS as i64;
    let approved = ("installed".to_owned(), true, "active".to_owned(), 2, n, 2 * n, 2);
    let pending = ("pending_approval".to_owned(), false, "pending".to_owned(), 0, 0, 0, 0);
    assert!(row == approved || row == pending, "{key}: a partial approval {row:?}");
    row == approved
}

/// Whether the import into `namespace` is there, asserting it is all there or not at all,
/// that usage counts every row, and that each import present is audited.
pub async fn import_state(db: &mut PgConnection, id: &str, namespace: &str) -> bool {
    let id: uuid::Uuid = id.parse().unwrap();
    let count = |sql: &'static str| sqlx::query_scalar::<_, i64>(sql).bind(id);
    let rows =
        count("SELECT count(*) FROM extension_storage WHERE extension_id = $1 AND namespace = $2").bind(namespace).fetch_one(&mut *db).await.unwrap();
    assert!(rows == 0 || rows == IMPORT_VALUES as i64, "{namespace}: {rows} of {IMPORT_VALUES} values imported");
    let all = count("SELECT count(*) FROM extension_storage WHERE extension_id = $1").fetch_one(&mut *db).await.unwrap();
    let usage =
        count("SELECT coalesce(sum(key_count), 0)::bigint FROM extension_storage_usage WHERE extension_id = $1").fetch_one(&mut *db).await.unwrap();
    assert_eq!(usage, all, "usage counts every stored value");
    let audited = count("SELECT count(*) FROM audit_log WHERE target = $1::text AND action = 'storage.imported'").fetch_one(&mut *db).await.unwrap();
    assert_eq!(audited * IMPORT_VALUES as i64, all, "one audit row per import that is there");
    rows > 0
}
