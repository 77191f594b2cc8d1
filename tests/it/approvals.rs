//! Approving a version, at the store: the two backends must agree on what a refused approval
//! leaves behind — nothing, and no lock. (SQLite used to retire the active version before it
//! read the extension, PostgreSQL to read it first; both read it first now.) Also: the admin
//! list marks a waiting update, and rejecting it leaves the serving version alone.

use std::time::Duration;

use alga_store::{Approval, SetOptions, StorageKey, StoreError, VersionState};
use axum::http::Method;
use serde_json::json;

use crate::dispatch::install_zip;
use crate::storage_ops::bundle;
use crate::support::{admin_token, tenant, TestStore};

async fn a_refused_approval_changes_nothing_and_holds_no_lock(db: TestStore) {
    let state = db.app_state();
    let rw = ["storage:read", "storage:write"];
    let id: uuid::Uuid = install_zip(&state, "acme", bundle("com.example.kv", "1.0.0", &rw)).await.parse().unwrap();
    // 1.1.0 uploaded, not approved: pending.
    let req = axum::http::Request::post("/admin/v1/extensions")
        .header("authorization", format!("Bearer {}", admin_token("acme")))
        .header("content-type", "application/zip")
        .body(axum::body::Body::from(bundle("com.example.kv", "1.1.0", &rw)))
        .unwrap();
    let res = tower::ServiceExt::oneshot(alga_ext::http::app(state.clone()), req).await.unwrap();
    assert_eq!(res.status(), 201);
    let t = tenant("acme");
    let states = |versions: Vec<alga_store::VersionRecord>| versions.into_iter().map(|v| (v.version, v.state)).collect::<Vec<_>>();
    let before = db.store.list_versions(&t, id).await.unwrap();
    let active = before.iter().find(|v| v.state == VersionState::Active).unwrap().id;
    let expected = vec![("1.1.0".to_owned(), VersionState::Pending), ("1.0.0".to_owned(), VersionState::Active)];
    assert_eq!(states(before), expected);
    // The admin list badges the waiting update, and only this extension's; a second install
    // that still waits for its first approval is not "an update".
    let upload = axum::http::Request::post("/admin/v1/extensions")
        .header("authorization", format!("Bearer {}", admin_token("acme")))
        .header("content-type", "application/zip")
        .body(axum::body::Body::from(bundle("com.example.fresh", "1.0.0", &rw)))
        .unwrap();
    assert_eq!(tower::ServiceExt::oneshot(alga_ext::http::app(state.clone()), upload).await.unwrap().status(), 201);
    let (status, _, list) = crate::dispatch::send(&state, Method::GET, "/admin/v1/extensions", &admin_token("acme"), None).await;
    assert_eq!(status, 200, "{list}");
    let listed: Vec<_> = list["extensions"].as_array().unwrap().iter().map(|e| (e["key"].clone(), e["pendingUpdate"].clone())).collect();
    assert_eq!(listed, vec![(json!("com.example.fresh"), json!(null)), (json!("com.example.kv"), json!("1.1.0"))]);

    let approval = Approval { requested: vec![], granted: vec![], user_permissions: vec![], enable: true };
    for not_pending in [active, uuid::Uuid::new_v4()] {
        let err = db.store.approve_version(&t, id, not_pending, &approval, "test").await.unwrap_err();
        assert!(matches!(err, StoreError::NotFound { .. }), "{err}");
        // The refusal left no write lock behind: the next write completes at once.
        let key = StorageKey { extension_id: id, namespace: "", key: "after" };
        tokio::time::timeout(Duration::from_secs(3), db.store.storage_set(&t, key, &json!(1), SetOptions::default()))
            .await
            .expect("a refused approval must not leave the database locked")
            .unwrap();
    }
    assert_eq!(states(db.store.list_versions(&t, id).await.unwrap()), expected, "nothing changed");
    let (status, _, body) = crate::dispatch::send(&state, Method::GET, "/api/extensions/com.example.kv/kv/after", &admin_token("acme"), None).await;
    assert_eq!((status, body), (200, json!({ "value": 1 })), "1.0.0 still serves");

    // The admin rejects the update: it is gone, audited, and 1.0.0 goes on serving.
    let admin = admin_token("acme");
    let (status, _, body) = crate::dispatch::send(&state, Method::DELETE, &format!("/admin/v1/extensions/{id}/pending"), &admin, None).await;
    assert_eq!(status, 204, "{body}");
    assert_eq!(states(db.store.list_versions(&t, id).await.unwrap()), vec![("1.0.0".to_owned(), VersionState::Active)]);
    let (_, _, list) = crate::dispatch::send(&state, Method::GET, "/admin/v1/extensions?name=com.example.kv", &admin, None).await;
    assert_eq!(list["extensions"][0]["pendingUpdate"], json!(null), "{list}");
    let audit = db.store.list_audit(&t, 5).await.unwrap();
    assert!(audit.iter().any(|e| e.action == "extension.update_discarded" && e.target == id.to_string()), "{audit:?}");
    let (status, _, body) = crate::dispatch::send(&state, Method::GET, "/api/extensions/com.example.kv/kv/after", &admin, None).await;
    assert_eq!((status, body), (200, json!({ "value": 1 })));
    let (status, _, body) = crate::dispatch::send(&state, Method::DELETE, &format!("/admin/v1/extensions/{id}/pending"), &admin, None).await;
    assert_eq!((status, body["error"]["code"].clone()), (409, json!("NOTHING_TO_APPROVE")));
    // An install never approved has no update to reject: it is uninstalled instead.
    let (status, _, body) = crate::dispatch::send(&state, Method::DELETE, "/admin/v1/extensions/com.example.fresh/pending", &admin, None).await;
    assert_eq!((status, body["error"]["code"].clone()), (409, json!("NOT_APPROVED")), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_approval_changes_nothing_and_holds_no_lock_on_sqlite() {
    a_refused_approval_changes_nothing_and_holds_no_lock(TestStore::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_approval_changes_nothing_and_holds_no_lock_on_postgres() {
    a_refused_approval_changes_nothing_and_holds_no_lock(TestStore::postgres().await).await;
}
