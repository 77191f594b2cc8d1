//! The key-value half of the store conformance suite: conditional writes, batches, quotas
//! under concurrency, maintenance, search and history must behave alike on both backends.

use std::time::Duration;

use alga_store::{Filter, FilterOp, ListQuery, SetOptions, StorageQuota, StorageUsage, Store, StoreError};
use serde_json::json;
use uuid::Uuid;

use crate::store_conformance::{conformance, key, new_extension};
use crate::support::tenant;

conformance!(
    conditional_writes_compare_and_set_revisions,
    many_key_operations_work_on_one_namespace,
    quotas_hold_under_fifty_concurrent_writers,
    maintenance_sweeps_expired_values_orphans_and_drift,
    search_filters_json_fields_alike_on_both_backends,
    history_keeps_the_last_ten_revisions_of_a_key,
);

async fn conditional_writes_compare_and_set_revisions(store: &dyn Store) {
    let t = tenant("acme");
    let ext = Uuid::new_v4();
    let only_if_absent = SetOptions { if_revision: Some(0), ..Default::default() };
    let first = store.storage_set(&t, key(ext, "", "k"), &json!(1), only_if_absent).await.unwrap();
    assert_eq!(first.revision, 1);
    let err = store.storage_set(&t, key(ext, "", "k"), &json!(2), only_if_absent).await.unwrap_err();
    assert!(matches!(err, StoreError::RevisionMismatch { expected: 0, current: 1 }), "{err:?}");
    let at = |rev| SetOptions { if_revision: Some(rev), ..Default::default() };
    assert_eq!(store.storage_set(&t, key(ext, "", "k"), &json!(2), at(1)).await.unwrap().revision, 2);
    let err = store.storage_set(&t, key(ext, "", "k"), &json!(3), at(1)).await.unwrap_err();
    assert!(matches!(err, StoreError::RevisionMismatch { expected: 1, current: 2 }), "{err:?}");
    let err = store.storage_set(&t, key(ext, "", "absent"), &json!(3), at(4)).await.unwrap_err();
    assert!(matches!(err, StoreError::RevisionMismatch { expected: 4, current: 0 }), "{err:?}");
    assert_eq!(store.storage_get(&t, key(ext, "", "k")).await.unwrap().unwrap().value, json!(2), "failed writes changed nothing");
    // Another tenant's identical key is a different value.
    assert_eq!(store.storage_set(&tenant("globex"), key(ext, "", "k"), &json!(9), only_if_absent).await.unwrap().revision, 1);
}

async fn many_key_operations_work_on_one_namespace(store: &dyn Store) {
    let t = tenant("acme");
    let ext = Uuid::new_v4();
    let entries: Vec<(String, serde_json::Value)> = (0..5).map(|i| (format!("k{i}"), json!(i))).collect();
    let stored = store.storage_set_many(&t, ext, "ns", &entries, SetOptions::default()).await.unwrap();
    assert_eq!(stored.len(), 5);
    let wanted: Vec<String> = ["k1", "k3", "missing"].iter().map(|s| s.to_string()).collect();
    let got = store.storage_get_many(&t, ext, "ns", &wanted).await.unwrap();
    assert_eq!(got.iter().map(|v| (v.key.as_str(), v.value.clone())).collect::<Vec<_>>(), [("k1", json!(1)), ("k3", json!(3))]);
    assert_eq!(store.storage_count(&t, ext, "ns").await.unwrap(), 5);
    // A batch overwriting some keys (one twice: the last wins) and adding others keeps the
    // usage counters exact and bumps revisions.
    let mixed: Vec<(String, serde_json::Value)> = vec![("k4".into(), json!("a")), ("k5".into(), json!(55)), ("k4".into(), json!("bb"))];
    let written = store.storage_set_many(&t, ext, "ns", &mixed, SetOptions::default()).await.unwrap();
    assert_eq!(written.iter().map(|v| v.key.as_str()).collect::<Vec<_>>(), ["k5", "k4"], "one result per key");
    assert!(written.iter().any(|v| v.key == "k4" && v.value == json!("bb") && v.revision == 2), "{written:?}");
    assert_eq!(store.storage_get(&t, key(ext, "ns", "k4")).await.unwrap().unwrap().value, json!("bb"));
    assert_eq!(store.storage_usage(&t, ext).await.unwrap(), StorageUsage { key_count: 6, bytes: 4 + 4 + 2 });
    assert_eq!(store.recount_all_storage_usage().await.unwrap(), 0, "batch writes keep the counters exact");

    // All or nothing: a batch whose last write fails its condition writes none of it.
    let batch: Vec<(String, serde_json::Value)> = vec![("k0".into(), json!("x")), ("k1".into(), json!("y"))];
    let err = store.storage_set_many(&t, ext, "ns", &batch, SetOptions { if_revision: Some(0), ..Default::default() }).await.unwrap_err();
    assert!(matches!(err, StoreError::RevisionMismatch { .. }), "{err:?}");
    assert_eq!(store.storage_get(&t, key(ext, "ns", "k0")).await.unwrap().unwrap().value, json!(0));

    let gone: Vec<String> = ["k0", "k1", "missing"].iter().map(|s| s.to_string()).collect();
    assert_eq!(store.storage_delete_many(&t, ext, "ns", &gone).await.unwrap(), 2);
    store.storage_set(&t, key(ext, "other", "kept"), &json!(1), SetOptions::default()).await.unwrap();
    assert_eq!(store.storage_clear(&t, ext, "ns").await.unwrap(), 4);
    assert_eq!(store.storage_count(&t, ext, "ns").await.unwrap(), 0);
    assert_eq!(store.storage_count(&t, ext, "other").await.unwrap(), 1, "clear stays in its namespace");
    assert_eq!(store.storage_count(&tenant("globex"), ext, "other").await.unwrap(), 0);
}

async fn quotas_hold_under_fifty_concurrent_writers(store: &dyn Store) {
    let t = tenant("acme");
    let ext = Uuid::new_v4();
    let quota = StorageQuota { max_keys: 10, max_bytes: 1_000_000 };
    let options = SetOptions { quota: Some(quota), ..Default::default() };
    let keys: Vec<String> = (0..50).map(|i| format!("k{i:02}")).collect();
    let value = json!("v");
    let writes = keys.iter().map(|k| store.storage_set(&t, key(ext, "", k), &value, options));
    let results = futures::future::join_all(writes).await;
    let written = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(written, 10, "exactly the quota: {:?}", results.iter().filter_map(|r| r.as_ref().err()).next());
    assert!(results.iter().all(|r| matches!(r, Ok(_) | Err(StoreError::QuotaExceeded { max_keys: 10, .. }))));
    assert_eq!(store.storage_count(&t, ext, "").await.unwrap(), 10);
    assert_eq!(store.recount_storage_usage(&t, ext).await.unwrap().key_count, 10);

    // Overwriting an existing key needs no new key; deleting frees one.
    let stored = store.storage_list(&t, ext, "", ListQuery { prefix: "", after: None, limit: 100 }).await.unwrap();
    store.storage_set(&t, key(ext, "", &stored[0].key), &json!("again"), options).await.unwrap();
    let err = store.storage_set(&t, key(ext, "", "one-more"), &json!(1), options).await.unwrap_err();
    assert!(matches!(err, StoreError::QuotaExceeded { keys: 11, max_keys: 10, .. }), "{err:?}");
    assert!(store.storage_delete(&t, key(ext, "", &stored[1].key)).await.unwrap());
    store.storage_set(&t, key(ext, "", "one-more"), &json!(1), options).await.unwrap();

    // Bytes: growth past the limit is refused, shrinking is not.
    let small = SetOptions { quota: Some(StorageQuota { max_keys: 100, max_bytes: 100 }), ..Default::default() };
    let other = Uuid::new_v4();
    store.storage_set(&t, key(other, "", "a"), &json!("x".repeat(80)), small).await.unwrap();
    let err = store.storage_set(&t, key(other, "", "b"), &json!("x".repeat(30)), small).await.unwrap_err();
    assert!(matches!(err, StoreError::QuotaExceeded { max_bytes: 100, .. }), "{err:?}");
    assert!(store.storage_get(&t, key(other, "", "b")).await.unwrap().is_none(), "nothing written");
    store.storage_set(&t, key(other, "", "a"), &json!("short"), small).await.unwrap();
    store.storage_set(&t, key(other, "", "b"), &json!("x".repeat(30)), small).await.unwrap();
}

async fn maintenance_sweeps_expired_values_orphans_and_drift(store: &dyn Store) {
    let (acme, globex) = (tenant("acme"), tenant("globex"));
    let live = new_extension("com.example.live", "Live");
    store.insert_extension(&acme, &live, "alice").await.unwrap();
    let gone = Uuid::new_v4(); // uninstalled: no extension row any more
    let ttl = SetOptions { ttl_seconds: Some(1), ..Default::default() };
    store.storage_set(&acme, key(live.id, "", "brief"), &json!("abc"), ttl).await.unwrap();
    store.storage_set(&globex, key(live.id, "", "brief"), &json!("abcdef"), ttl).await.unwrap();
    store.storage_set(&acme, key(live.id, "", "kept"), &json!(1), SetOptions::default()).await.unwrap();
    store.storage_set(&acme, key(gone, "", "left"), &json!("first"), SetOptions::default()).await.unwrap();
    store.storage_set(&acme, key(gone, "", "left"), &json!("behind"), SetOptions::default()).await.unwrap();
    let usage = |t: alga_store::TenantId, id: Uuid| async move { store.storage_usage(&t, id).await.unwrap() };
    // Expired values still count until the sweep removes them, as they do for quotas.
    assert_eq!(usage(acme.clone(), live.id).await, StorageUsage { key_count: 2, bytes: 5 + 1 });

    tokio::time::sleep(Duration::from_millis(1_100)).await;
    assert_eq!(store.sweep_expired_storage(1).await.unwrap(), 1, "the limit holds");
    assert_eq!(store.sweep_expired_storage(100).await.unwrap(), 1);
    assert_eq!(store.sweep_expired_storage(100).await.unwrap(), 0);
    assert_eq!(usage(acme.clone(), live.id).await, StorageUsage { key_count: 1, bytes: 1 });
    assert_eq!(usage(globex.clone(), live.id).await, StorageUsage { key_count: 0, bytes: 0 });
    assert_eq!(store.recount_all_storage_usage().await.unwrap(), 0, "sweeping keeps the counters exact");

    // Orphans go only after the retention, and only those of uninstalled extensions.
    assert_eq!(store.delete_orphaned_storage(Duration::from_secs(3600)).await.unwrap(), 0);
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(store.delete_orphaned_storage(Duration::from_millis(10)).await.unwrap(), 1);
    assert_eq!(store.storage_get(&acme, key(gone, "", "left")).await.unwrap(), None);
    assert!(store.storage_history(&acme, key(gone, "", "left"), 10).await.unwrap().is_empty(), "history goes with the orphan");
    assert_eq!(usage(acme.clone(), gone).await, StorageUsage { key_count: 0, bytes: 0 });
    assert!(store.storage_get(&acme, key(live.id, "", "kept")).await.unwrap().is_some());
    assert_eq!(store.recount_storage_usage(&acme, live.id).await.unwrap(), StorageUsage { key_count: 1, bytes: 1 });
}

async fn search_filters_json_fields_alike_on_both_backends(store: &dyn Store) {
    let t = tenant("acme");
    let ext = Uuid::new_v4();
    let tickets = [
        ("t1", json!({ "status": "open", "priority": 3, "customer": { "name": "Acme" }, "urgent": true })),
        ("t2", json!({ "status": "closed", "priority": 1, "customer": { "name": "Globex" } })),
        ("t3", json!({ "status": "open", "priority": 5.5, "customer": { "name": "Initech" }, "urgent": false })),
        ("t4", json!({ "status": "open", "priority": "high", "assignee": null })),
        ("t5", json!("just a string")),
    ];
    for (k, v) in &tickets {
        store.storage_set(&t, key(ext, "tickets", k), v, SetOptions::default()).await.unwrap();
    }
    store.storage_set(&t, key(ext, "other", "t9"), &json!({ "status": "open" }), SetOptions::default()).await.unwrap();
    store.storage_set(&tenant("globex"), key(ext, "tickets", "g1"), &json!({ "status": "open" }), SetOptions::default()).await.unwrap();
    let f = |path: &str, op: FilterOp, value: serde_json::Value| Filter { path: path.split('.').map(String::from).collect(), op, value };
    let search = |filters: Vec<Filter>, after: Option<&'static str>, limit: u32| {
        let t = t.clone();
        async move { store.storage_search(&t, ext, "tickets", &filters, after, limit).await.unwrap().into_iter().map(|v| v.key).collect::<Vec<_>>() }
    };
    assert_eq!(search(vec![f("status", FilterOp::Eq, json!("open"))], None, 10).await, ["t1", "t3", "t4"]);
    assert_eq!(search(vec![f("status", FilterOp::Eq, json!("open")), f("priority", FilterOp::Gte, json!(3))], None, 10).await, ["t1", "t3"]);
    assert_eq!(search(vec![f("priority", FilterOp::Lt, json!(3))], None, 10).await, ["t2"], "numbers compare with numbers only");
    assert_eq!(search(vec![f("priority", FilterOp::Gt, json!("a"))], None, 10).await, ["t4"], "strings with strings");
    assert_eq!(search(vec![f("customer.name", FilterOp::Eq, json!("Globex"))], None, 10).await, ["t2"]);
    assert_eq!(search(vec![f("urgent", FilterOp::Eq, json!(true))], None, 10).await, ["t1"]);
    assert_eq!(search(vec![f("urgent", FilterOp::Ne, json!(true))], None, 10).await, ["t2", "t3", "t4", "t5"], "missing counts as not equal");
    assert_eq!(search(vec![f("assignee", FilterOp::Exists, json!(true))], None, 10).await, ["t4"], "a null field exists");
    assert_eq!(search(vec![f("assignee", FilterOp::Eq, json!(null))], None, 10).await, ["t4"]);
    assert_eq!(search(vec![f("priority", FilterOp::Eq, json!(5.5))], None, 10).await, ["t3"]);
    // Pages in key order with a cursor.
    let open = || vec![f("status", FilterOp::Eq, json!("open"))];
    assert_eq!(search(open(), None, 2).await, ["t1", "t3"]);
    assert_eq!(search(open(), Some("t3"), 2).await, ["t4"]);
    // Bad filters are refused before any SQL runs.
    for bad in
        [f("a b", FilterOp::Eq, json!(1)), f("x", FilterOp::Gt, json!(true)), f("x", FilterOp::Exists, json!(1)), f("x", FilterOp::Eq, json!([1]))]
    {
        let err = store.storage_search(&t, ext, "tickets", &[bad], None, 10).await.unwrap_err();
        assert!(matches!(err, StoreError::Invalid { field: "where", .. }), "{err:?}");
    }
}

async fn history_keeps_the_last_ten_revisions_of_a_key(store: &dyn Store) {
    let t = tenant("acme");
    let ext = Uuid::new_v4();
    let k = key(ext, "notes", "n");
    for i in 1..=12 {
        store.storage_set(&t, k, &json!({ "v": i }), SetOptions::default()).await.unwrap();
    }
    // Writing the same value again makes a revision but nothing new to remember.
    store.storage_set(&t, k, &json!({ "v": 12 }), SetOptions::default()).await.unwrap();
    let history = store.storage_history(&t, k, 100).await.unwrap();
    assert_eq!(history.iter().map(|h| h.revision).collect::<Vec<_>>(), (2..=11).rev().collect::<Vec<_>>(), "the newest ten earlier revisions");
    assert_eq!(history[0].value, json!({ "v": 11 }));
    assert_eq!(store.storage_history(&t, k, 3).await.unwrap().len(), 3);
    // Batches and transactions are remembered the same way.
    store.storage_set_many(&t, ext, "notes", &[("n".into(), json!("batch"))], SetOptions::default()).await.unwrap();
    let mut tx = store.begin_storage_tx(&t, ext).await.unwrap();
    tx.set("notes", "n", &json!("tx"), SetOptions::default()).await.unwrap();
    tx.commit().await.unwrap();
    let latest: Vec<serde_json::Value> = store.storage_history(&t, k, 2).await.unwrap().into_iter().map(|h| h.value).collect();
    assert_eq!(latest, [json!("batch"), json!({ "v": 12 })]);
    // Other tenants see none of it; deleting the key deletes its history.
    assert!(store.storage_history(&tenant("globex"), k, 10).await.unwrap().is_empty());
    assert!(store.storage_delete(&t, k).await.unwrap());
    assert!(store.storage_history(&t, k, 10).await.unwrap().is_empty());
    assert_eq!(store.storage_set(&t, k, &json!("again"), SetOptions::default()).await.unwrap().revision, 1);
    assert!(store.storage_history(&t, k, 10).await.unwrap().is_empty());
}
