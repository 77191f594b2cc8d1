//! One suite of store behaviours, run against both backends: SQLite and PostgreSQL must agree.

use std::time::Duration;

use alga_store::{
    ExtensionFilter, ExtensionStatus, ListQuery, NewAuditEntry, NewExtension, Permission, SetOptions, StorageKey, StorageUsage, Store, StoreError,
};
use serde_json::json;
use uuid::Uuid;

use crate::support::tenant;

/// Generates one test per case and backend: `store_conformance::sqlite::<case>` and
/// `store_conformance::postgres::<case>`.
macro_rules! conformance {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $case() {
                    let db = crate::support::TestStore::sqlite().await;
                    super::$case(db.store.as_ref()).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $case() {
                    let db = crate::support::TestStore::postgres().await;
                    super::$case(db.store.as_ref()).await;
                }
            )*
        }
    };
}

pub(crate) use conformance;

conformance!(
    registers_and_finds_extensions_by_id_and_key,
    registering_the_same_key_twice_in_a_tenant_conflicts,
    lists_extensions_filtered_by_status_and_name,
    enabling_and_disabling_write_audit_rows,
    enabling_an_unknown_extension_is_not_found,
    deleting_an_extension_removes_it_and_audits,
    storage_round_trips_json_values_and_bumps_revisions,
    expired_values_are_invisible,
    storage_list_pages_in_byte_order_within_a_prefix,
    recount_counts_only_the_extensions_own_rows,
    settings_can_be_saved_read_and_reset,
    role_permissions_follow_grants,
    tenants_never_see_each_others_rows,
    out_of_range_limits_are_invalid,
);

pub(crate) fn new_extension(key: &str, name: &str) -> NewExtension {
    NewExtension {
        id: Uuid::new_v4(),
        key: key.into(),
        name: name.into(),
        description: format!("{name} does things"),
        version: "1.0.0".into(),
        manifest: json!({ "id": key, "version": "1.0.0", "main": "index.js" }),
        main_entry_point: "index.js".into(),
        bundle_hash: "a".repeat(64),
        status: ExtensionStatus::PendingApproval,
    }
}

pub(crate) fn key<'a>(extension_id: Uuid, namespace: &'a str, key: &'a str) -> StorageKey<'a> {
    StorageKey { extension_id, namespace, key }
}

async fn registers_and_finds_extensions_by_id_and_key(store: &dyn Store) {
    let t = tenant("acme");
    let new = new_extension("com.example.tags", "Ticket Tags");
    let created = store.insert_extension(&t, &new, "alice").await.unwrap();
    assert_eq!(created.id, new.id);
    assert_eq!(created.tenant_id, t);
    assert_eq!(created.manifest, new.manifest);
    assert!(!created.is_enabled);
    assert_eq!(created.status, ExtensionStatus::PendingApproval);

    assert_eq!(store.get_extension(&t, new.id).await.unwrap(), Some(created.clone()));
    assert_eq!(store.find_extension_by_key(&t, "com.example.tags").await.unwrap(), Some(created));
    assert_eq!(store.get_extension(&t, Uuid::new_v4()).await.unwrap(), None);

    let audit = store.list_audit(&t, 10).await.unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!((audit[0].action.as_str(), audit[0].actor.as_str()), ("extension.registered", "alice"));
    assert_eq!(audit[0].details["extension"], "com.example.tags");
}

async fn registering_the_same_key_twice_in_a_tenant_conflicts(store: &dyn Store) {
    let t = tenant("acme");
    store.insert_extension(&t, &new_extension("com.example.tags", "Tags"), "a").await.unwrap();
    let err = store.insert_extension(&t, &new_extension("com.example.tags", "Tags"), "a").await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    // The failed insert wrote no audit row either.
    assert_eq!(store.list_audit(&t, 10).await.unwrap().len(), 1);
    // Another tenant may install the same key.
    store.insert_extension(&tenant("globex"), &new_extension("com.example.tags", "Tags"), "a").await.unwrap();
}

async fn lists_extensions_filtered_by_status_and_name(store: &dyn Store) {
    let t = tenant("acme");
    let mut installed = new_extension("com.example.billing", "Billing Helper");
    installed.status = ExtensionStatus::Installed;
    store.insert_extension(&t, &installed, "a").await.unwrap();
    store.insert_extension(&t, &new_extension("com.example.tags", "ticket Tags"), "a").await.unwrap();
    store.insert_extension(&t, &new_extension("org.other.x", "100% Widgets"), "a").await.unwrap();

    let names = |list: Vec<alga_store::Extension>| list.into_iter().map(|e| e.name).collect::<Vec<_>>();
    let all = store.list_extensions(&t, &ExtensionFilter::default()).await.unwrap();
    assert_eq!(names(all), ["100% Widgets", "Billing Helper", "ticket Tags"]);

    let pending = ExtensionFilter { status: Some(ExtensionStatus::PendingApproval), ..Default::default() };
    assert_eq!(names(store.list_extensions(&t, &pending).await.unwrap()), ["100% Widgets", "ticket Tags"]);

    let by_name = ExtensionFilter { name_contains: Some("TAGS".into()), ..Default::default() };
    assert_eq!(names(store.list_extensions(&t, &by_name).await.unwrap()), ["ticket Tags"]);

    let by_key = ExtensionFilter { name_contains: Some("example.bill".into()), ..Default::default() };
    assert_eq!(names(store.list_extensions(&t, &by_key).await.unwrap()), ["Billing Helper"]);

    // Search text is literal: `%` is not a wildcard.
    let literal = ExtensionFilter { name_contains: Some("0%".into()), ..Default::default() };
    assert_eq!(names(store.list_extensions(&t, &literal).await.unwrap()), ["100% Widgets"]);
    let wildcard = ExtensionFilter { name_contains: Some("B%r".into()), ..Default::default() };
    assert!(store.list_extensions(&t, &wildcard).await.unwrap().is_empty());
}

async fn enabling_and_disabling_write_audit_rows(store: &dyn Store) {
    let t = tenant("acme");
    let ext = store.insert_extension(&t, &new_extension("com.example.tags", "Tags"), "a").await.unwrap();
    let enabled = store.set_extension_enabled(&t, ext.id, true, "bob").await.unwrap();
    assert!(enabled.is_enabled);
    assert!(enabled.updated_at >= ext.updated_at);
    let disabled = store.set_extension_enabled(&t, ext.id, false, "carol").await.unwrap();
    assert!(!disabled.is_enabled);
    assert!(!store.get_extension(&t, ext.id).await.unwrap().unwrap().is_enabled);

    let audit = store.list_audit(&t, 10).await.unwrap();
    let actions: Vec<_> = audit.iter().map(|a| (a.action.as_str(), a.actor.as_str())).collect();
    assert_eq!(actions, [("extension.disabled", "carol"), ("extension.enabled", "bob"), ("extension.registered", "a")]);
    assert_eq!(audit[0].target, ext.id.to_string());
}

async fn enabling_an_unknown_extension_is_not_found(store: &dyn Store) {
    let t = tenant("acme");
    let err = store.set_extension_enabled(&t, Uuid::new_v4(), true, "a").await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound { entity: "extension", .. }), "{err:?}");
    assert!(store.list_audit(&t, 10).await.unwrap().is_empty(), "no audit row for a failed change");
}

async fn deleting_an_extension_removes_it_and_audits(store: &dyn Store) {
    let t = tenant("acme");
    let ext = store.insert_extension(&t, &new_extension("com.example.tags", "Tags"), "a").await.unwrap();
    store.grant_role_permission(&t, "admin", &Permission::new("tags", "view"), Some(ext.id)).await.unwrap();
    store.grant_role_permission(&t, "admin", &Permission::new("tickets", "read"), None).await.unwrap();
    store.storage_set(&t, key(ext.id, "", "kept"), &json!(1), SetOptions::default()).await.unwrap();

    store.delete_extension(&t, ext.id, false, "dave").await.unwrap();
    assert_eq!(store.get_extension(&t, ext.id).await.unwrap(), None);
    let err = store.delete_extension(&t, ext.id, false, "dave").await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");

    // Permissions the extension registered go with it; the tenant's own stay.
    let perms = store.role_permissions(&t, &["admin".into()]).await.unwrap();
    assert_eq!(perms, [Permission::new("tickets", "read")]);
    // Storage stays until purged.
    assert!(store.storage_get(&t, key(ext.id, "", "kept")).await.unwrap().is_some());
    let audit = store.list_audit(&t, 1).await.unwrap();
    assert_eq!((audit[0].action.as_str(), audit[0].actor.as_str()), ("extension.uninstalled", "dave"));
}

async fn storage_round_trips_json_values_and_bumps_revisions(store: &dyn Store) {
    let t = tenant("acme");
    let ext = Uuid::new_v4();
    let values = [
        json!(null),
        json!(true),
        json!(-12.5),
        json!("text with 'quotes' and ünicode"),
        json!([1, "two", { "three": 3 }]),
        json!({ "nested": { "list": [1, 2], "flag": false }, "n": 1e10 }),
    ];
    for (i, value) in values.iter().enumerate() {
        let k = format!("k{i}");
        let stored = store.storage_set(&t, key(ext, "", &k), value, SetOptions::default()).await.unwrap();
        assert_eq!((&stored.value, stored.revision), (value, 1));
        assert_eq!(stored.size_bytes, serde_json::to_vec(value).unwrap().len() as i64);
        let read = store.storage_get(&t, key(ext, "", &k)).await.unwrap().unwrap();
        assert_eq!(read, stored);
    }

    let again = store.storage_set(&t, key(ext, "", "k0"), &json!("v2"), SetOptions::default()).await.unwrap();
    assert_eq!(again.revision, 2);
    assert_eq!(store.storage_get(&t, key(ext, "", "k0")).await.unwrap().unwrap().value, json!("v2"));

    // Namespaces separate equal keys.
    store.storage_set(&t, key(ext, "cache", "k0"), &json!("cached"), SetOptions::default()).await.unwrap();
    assert_eq!(store.storage_get(&t, key(ext, "", "k0")).await.unwrap().unwrap().value, json!("v2"));
    assert_eq!(store.storage_get(&t, key(ext, "cache", "k0")).await.unwrap().unwrap().value, json!("cached"));

    assert!(store.storage_delete(&t, key(ext, "", "k0")).await.unwrap());
    assert!(!store.storage_delete(&t, key(ext, "", "k0")).await.unwrap());
    assert_eq!(store.storage_get(&t, key(ext, "", "k0")).await.unwrap(), None);
    assert!(store.storage_get(&t, key(ext, "cache", "k0")).await.unwrap().is_some());
}

async fn expired_values_are_invisible(store: &dyn Store) {
    let t = tenant("acme");
    let ext = Uuid::new_v4();
    let ttl = SetOptions { ttl_seconds: Some(1), ..Default::default() };
    let short = store.storage_set(&t, key(ext, "", "short"), &json!("soon gone"), ttl).await.unwrap();
    assert!(short.expires_at.is_some());
    store.storage_set(&t, key(ext, "", "long"), &json!("stays"), SetOptions::default()).await.unwrap();
    assert!(store.storage_get(&t, key(ext, "", "short")).await.unwrap().is_some());

    tokio::time::sleep(Duration::from_millis(1_100)).await;
    assert_eq!(store.storage_get(&t, key(ext, "", "short")).await.unwrap(), None);
    let listed = store.storage_list(&t, ext, "", ListQuery { prefix: "", after: None, limit: 10 }).await.unwrap();
    assert_eq!(listed.iter().map(|v| v.key.as_str()).collect::<Vec<_>>(), ["long"]);
    assert!(!store.storage_delete(&t, key(ext, "", "short")).await.unwrap(), "deleting an expired value finds nothing");

    let huge = SetOptions { ttl_seconds: Some(u64::MAX), ..Default::default() };
    let err = store.storage_set(&t, key(ext, "", "x"), &json!(1), huge).await.unwrap_err();
    assert!(matches!(err, StoreError::Invalid { field: "ttlSeconds", .. }), "{err:?}");
}

async fn storage_list_pages_in_byte_order_within_a_prefix(store: &dyn Store) {
    let t = tenant("acme");
    let ext = Uuid::new_v4();
    for k in ["user:b", "user:a", "user:B", "user:é", "user:_", "other", "user%x"] {
        store.storage_set(&t, key(ext, "", k), &json!(k), SetOptions::default()).await.unwrap();
    }
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = store.storage_list(&t, ext, "", ListQuery { prefix: "user:", after: after.as_deref(), limit: 2 }).await.unwrap();
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 2);
        after = page.last().map(|v| v.key.clone());
        seen.extend(page.into_iter().map(|v| v.key));
    }
    // Byte order: uppercase before '_' before lowercase before multi-byte characters.
    assert_eq!(seen, ["user:B", "user:_", "user:a", "user:b", "user:é"]);
}

async fn recount_counts_only_the_extensions_own_rows(store: &dyn Store) {
    let t = tenant("acme");
    let ext = Uuid::new_v4();
    assert_eq!(store.recount_storage_usage(&t, ext).await.unwrap(), StorageUsage { key_count: 0, bytes: 0 });
    store.storage_set(&t, key(ext, "", "a"), &json!("12345"), SetOptions::default()).await.unwrap();
    store.storage_set(&t, key(ext, "ns", "b"), &json!([1, 2]), SetOptions::default()).await.unwrap();
    store.storage_set(&t, key(Uuid::new_v4(), "", "other-extension"), &json!(1), SetOptions::default()).await.unwrap();
    store.storage_set(&tenant("globex"), key(ext, "", "other-tenant"), &json!(1), SetOptions::default()).await.unwrap();
    assert_eq!(store.recount_storage_usage(&t, ext).await.unwrap(), StorageUsage { key_count: 2, bytes: 7 + 5 });
}

async fn settings_can_be_saved_read_and_reset(store: &dyn Store) {
    let t = tenant("acme");
    let ext = Uuid::new_v4();
    assert_eq!(store.get_settings(&t, ext).await.unwrap(), None);
    store.put_settings(&t, ext, &json!({ "color": "red" })).await.unwrap();
    store.put_settings(&t, ext, &json!({ "color": "blue", "limit": 3 })).await.unwrap();
    assert_eq!(store.get_settings(&t, ext).await.unwrap(), Some(json!({ "color": "blue", "limit": 3 })));
    assert_eq!(store.get_settings(&tenant("globex"), ext).await.unwrap(), None);
    assert!(store.delete_settings(&t, ext).await.unwrap());
    assert!(!store.delete_settings(&t, ext).await.unwrap());
    assert_eq!(store.get_settings(&t, ext).await.unwrap(), None);
}

async fn role_permissions_follow_grants(store: &dyn Store) {
    let t = tenant("acme");
    store.grant_role_permission(&t, "admin", &Permission::new("extension", "manage"), None).await.unwrap();
    store.grant_role_permission(&t, "admin", &Permission::new("tickets", "read"), None).await.unwrap();
    store.grant_role_permission(&t, "technician", &Permission::new("tickets", "read"), None).await.unwrap();
    // Granting twice is harmless.
    store.grant_role_permission(&t, "technician", &Permission::new("tickets", "read"), None).await.unwrap();

    let both = store.role_permissions(&t, &["admin".into(), "technician".into()]).await.unwrap();
    assert_eq!(both, [Permission::new("extension", "manage"), Permission::new("tickets", "read")]);
    let tech = store.role_permissions(&t, &["technician".into()]).await.unwrap();
    assert_eq!(tech, [Permission::new("tickets", "read")]);
    assert!(store.role_permissions(&t, &["nobody".into()]).await.unwrap().is_empty());
    assert!(store.role_permissions(&t, &[]).await.unwrap().is_empty());
    // Same role name in another tenant holds nothing.
    assert!(store.role_permissions(&tenant("globex"), &["admin".into()]).await.unwrap().is_empty());
}

async fn tenants_never_see_each_others_rows(store: &dyn Store) {
    let (a, b) = (tenant("acme"), tenant("globex"));
    let ext = store.insert_extension(&a, &new_extension("com.example.tags", "Tags"), "a").await.unwrap();
    store.storage_set(&a, key(ext.id, "", "secret"), &json!("acme only"), SetOptions::default()).await.unwrap();
    store.put_settings(&a, ext.id, &json!({ "k": 1 })).await.unwrap();

    assert_eq!(store.get_extension(&b, ext.id).await.unwrap(), None);
    assert_eq!(store.find_extension_by_key(&b, "com.example.tags").await.unwrap(), None);
    assert!(store.list_extensions(&b, &ExtensionFilter::default()).await.unwrap().is_empty());
    assert!(matches!(store.set_extension_enabled(&b, ext.id, true, "b").await, Err(StoreError::NotFound { .. })));
    assert!(matches!(store.delete_extension(&b, ext.id, false, "b").await, Err(StoreError::NotFound { .. })));
    assert_eq!(store.storage_get(&b, key(ext.id, "", "secret")).await.unwrap(), None);
    assert!(!store.storage_delete(&b, key(ext.id, "", "secret")).await.unwrap());
    let listed = store.storage_list(&b, ext.id, "", ListQuery { prefix: "", after: None, limit: 10 }).await.unwrap();
    assert!(listed.is_empty());
    assert_eq!(store.get_settings(&b, ext.id).await.unwrap(), None);
    assert!(store.list_audit(&b, 10).await.unwrap().is_empty());

    // B writing the same key creates B's own row and leaves A's alone.
    store.storage_set(&b, key(ext.id, "", "secret"), &json!("globex"), SetOptions::default()).await.unwrap();
    assert_eq!(store.storage_get(&a, key(ext.id, "", "secret")).await.unwrap().unwrap().value, json!("acme only"));
    assert!(store.get_extension(&a, ext.id).await.unwrap().is_some());
    assert!(!store.get_extension(&a, ext.id).await.unwrap().unwrap().is_enabled);
}

async fn out_of_range_limits_are_invalid(store: &dyn Store) {
    let t = tenant("acme");
    for limit in [0, 1001] {
        let err = store.storage_list(&t, Uuid::new_v4(), "", ListQuery { prefix: "", after: None, limit }).await.unwrap_err();
        assert!(matches!(err, StoreError::Invalid { field: "limit", .. }), "{err:?}");
        let err = store.list_audit(&t, limit).await.unwrap_err();
        assert!(matches!(err, StoreError::Invalid { field: "limit", .. }), "{err:?}");
    }
    store.append_audit(&t, &NewAuditEntry { actor: "x".into(), action: "y".into(), target: "z".into(), details: json!({}) }).await.unwrap();
    assert_eq!(store.list_audit(&t, 1).await.unwrap().len(), 1);
}
