//! Proof that PostgreSQL itself isolates tenants: raw SQL without WHERE clauses, run as the
//! runtime's role, sees and writes only the current tenant's rows.

use alga_store::{NewAuditEntry, SetOptions, StorageKey};
use serde_json::json;
use uuid::Uuid;

use crate::support::{tenant, TestStore};

/// Two tenants with one storage row each; returns the store and the extension id used.
async fn two_tenants_with_data() -> (TestStore, Uuid) {
    let db = TestStore::postgres().await;
    let ext = Uuid::new_v4();
    for t in ["acme", "globex"] {
        let key = StorageKey { extension_id: ext, namespace: "", key: "greeting" };
        db.store.storage_set(&tenant(t), key, &json!(format!("hello from {t}")), SetOptions::default()).await.unwrap();
        // Overwritten once, so each tenant has a history row too.
        db.store.storage_set(&tenant(t), key, &json!(format!("hello from {t}")), SetOptions::default()).await.unwrap();
        db.store.storage_set(&tenant(t), key, &json!(format!("hello again from {t}")), SetOptions::default()).await.unwrap();
        let entry = NewAuditEntry { actor: "x".into(), action: "test".into(), target: t.into(), details: json!({}) };
        db.store.append_audit(&tenant(t), &entry).await.unwrap();
    }
    (db, ext)
}

#[tokio::test]
async fn select_without_where_returns_only_the_current_tenants_rows() {
    let (db, _) = two_tenants_with_data().await;
    let pg = db.pg.as_ref().unwrap();
    let mut tx = pg.begin_tenant(&tenant("acme")).await.unwrap();
    let rows: Vec<(String, serde_json::Value)> = sqlx::query_as("SELECT tenant_id, value FROM extension_storage").fetch_all(&mut *tx).await.unwrap();
    assert_eq!(rows, [("acme".to_string(), json!("hello again from acme"))]);
    let history: Vec<(String, serde_json::Value)> =
        sqlx::query_as("SELECT tenant_id, value FROM extension_storage_history").fetch_all(&mut *tx).await.unwrap();
    assert_eq!(history, [("acme".to_string(), json!("hello from acme"))]);
    let audit: Vec<String> = sqlx::query_scalar("SELECT tenant_id FROM audit_log").fetch_all(&mut *tx).await.unwrap();
    assert_eq!(audit, ["acme"]);
}

#[tokio::test]
async fn inserting_a_row_for_another_tenant_fails() {
    let (db, ext) = two_tenants_with_data().await;
    let pg = db.pg.as_ref().unwrap();
    let mut tx = pg.begin_tenant(&tenant("acme")).await.unwrap();
    let err = sqlx::query(
        "INSERT INTO extension_storage (extension_id, tenant_id, namespace, key, value, size_bytes) \
         VALUES ($1, 'globex', '', 'planted', '1', 1)",
    )
    .bind(ext)
    .execute(&mut *tx)
    .await
    .unwrap_err();
    assert!(err.to_string().contains("row-level security"), "{err}");
}

#[tokio::test]
async fn updates_and_deletes_cannot_reach_another_tenant() {
    let (db, _) = two_tenants_with_data().await;
    let pg = db.pg.as_ref().unwrap();
    let mut tx = pg.begin_tenant(&tenant("acme")).await.unwrap();
    let moved = sqlx::query("UPDATE extension_storage SET value = '\"hijacked\"' WHERE tenant_id = 'globex'").execute(&mut *tx).await.unwrap();
    assert_eq!(moved.rows_affected(), 0);
    // Moving one's own row into another tenant is refused by WITH CHECK.
    let err = sqlx::query("UPDATE extension_storage SET tenant_id = 'globex'").execute(&mut *tx).await.unwrap_err();
    assert!(err.to_string().contains("row-level security"), "{err}");
    drop(tx);

    let mut tx = pg.begin_tenant(&tenant("acme")).await.unwrap();
    let deleted = sqlx::query("DELETE FROM extension_storage").execute(&mut *tx).await.unwrap();
    assert_eq!(deleted.rows_affected(), 1, "only acme's own row");
    tx.commit().await.unwrap();
    let mut tx = pg.begin_tenant(&tenant("globex")).await.unwrap();
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM extension_storage").fetch_one(&mut *tx).await.unwrap();
    assert_eq!(left, 1, "globex's row survived acme's unscoped DELETE");
}

#[tokio::test]
async fn a_connection_without_a_tenant_sees_nothing() {
    let (db, _) = two_tenants_with_data().await;
    let pg = db.pg.as_ref().unwrap();
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM extension_storage").fetch_one(pg.pool()).await.unwrap();
    assert_eq!(rows, 0);
}

#[tokio::test]
async fn the_runtime_role_is_not_privileged_and_cannot_rewrite_the_audit_log() {
    let (db, _) = two_tenants_with_data().await;
    let pg = db.pg.as_ref().unwrap();
    let mut tx = pg.begin_tenant(&tenant("acme")).await.unwrap();
    let (user, superuser, bypass): (String, bool, bool) =
        sqlx::query_as("SELECT current_user::text, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
    assert_eq!((user.as_str(), superuser, bypass), ("alga_ext_app", false, false));
    let err = sqlx::query("DELETE FROM audit_log").execute(&mut *tx).await.unwrap_err();
    assert!(err.to_string().contains("permission denied"), "{err}");
    drop(tx);
    let mut tx = pg.begin_tenant(&tenant("acme")).await.unwrap();
    let err = sqlx::query("ALTER TABLE extension_storage DISABLE ROW LEVEL SECURITY").execute(&mut *tx).await.unwrap_err();
    assert!(err.to_string().contains("must be owner"), "{err}");
}
