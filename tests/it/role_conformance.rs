//! The roles half of the store conformance suite: listing roles and permissions, audited
//! grants and revokes, and extension-owned permissions must behave alike on both backends.

use alga_store::{HeldPermission, Permission, PermissionOwner, Store, StoreError};
use serde_json::json;

use crate::store_conformance::{conformance, new_extension};
use crate::support::tenant;

conformance!(
    roles_list_with_their_permissions_in_byte_order,
    audited_grants_and_revokes_write_one_row_per_change,
    grants_in_an_extensions_namespace_need_a_permission_it_registered,
    an_extension_claims_an_earlier_grant_of_its_permission_and_takes_it_along,
);

fn held(resource: &str, action: &str, extension: Option<&alga_store::Extension>) -> HeldPermission {
    let extension = extension.map(|e| PermissionOwner { id: e.id, key: e.key.clone() });
    HeldPermission { permission: Permission::new(resource, action), extension }
}

async fn roles_list_with_their_permissions_in_byte_order(store: &dyn Store) {
    let t = tenant("acme");
    let ext = store.insert_extension(&t, &new_extension("com.example.tags", "Tags"), "a").await.unwrap();
    store.grant_role_permission(&t, "technician", &Permission::new("tickets", "read"), None).await.unwrap();
    store.grant_role_permission(&t, "technician", &Permission::new("com.example.tags", "view"), Some(ext.id)).await.unwrap();
    store.grant_role_permission(&t, "Zed", &Permission::new("b", "x"), None).await.unwrap();
    store.grant_role_permission(&t, "Zed", &Permission::new("B", "x"), None).await.unwrap();
    store.grant_role_permission(&t, "admin", &Permission::new("extension", "manage"), None).await.unwrap();
    // A role whose last permission was revoked is still listed, holding nothing.
    store.grant_role_permission(&t, "empty", &Permission::new("tickets", "write"), None).await.unwrap();
    assert!(store.revoke_role_permission(&t, "empty", &Permission::new("tickets", "write"), "a").await.unwrap());

    let roles = store.list_roles(&t).await.unwrap();
    let names: Vec<&str> = roles.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["Zed", "admin", "empty", "technician"], "byte order, whatever the collation");
    assert_eq!(roles[0].permissions, [held("B", "x", None), held("b", "x", None)]);
    assert!(roles[2].permissions.is_empty());
    // One role alone reads the same; an unknown one (or another case of a name) is none.
    assert_eq!(store.get_role(&t, "technician").await.unwrap().as_ref(), Some(&roles[3]));
    assert_eq!(store.get_role(&t, "empty").await.unwrap().map(|r| r.permissions.len()), Some(0));
    assert_eq!(store.get_role(&t, "Technician").await.unwrap(), None);
    assert_eq!(store.get_role(&tenant("globex"), "technician").await.unwrap(), None);
    assert_eq!(roles[3].permissions, [held("com.example.tags", "view", Some(&ext)), held("tickets", "read", None)]);

    // Every defined permission, held or not (`tickets:write` is held by nobody now).
    let defined: Vec<(String, Option<uuid::Uuid>)> =
        store.list_permissions(&t).await.unwrap().into_iter().map(|p| (p.permission.to_string(), p.extension.map(|e| e.id))).collect();
    let want = [
        ("B:x", None),
        ("b:x", None),
        ("com.example.tags:view", Some(ext.id)),
        ("extension:manage", None),
        ("tickets:read", None),
        ("tickets:write", None),
    ];
    assert_eq!(defined, want.map(|(p, e)| (p.to_owned(), e)));

    // Another tenant sees none of it.
    assert!(store.list_roles(&tenant("globex")).await.unwrap().is_empty());
    assert!(store.list_permissions(&tenant("globex")).await.unwrap().is_empty());
}

async fn audited_grants_and_revokes_write_one_row_per_change(store: &dyn Store) {
    let t = tenant("acme");
    let read = Permission::new("tickets", "read");
    assert!(store.grant_role_permission_audited(&t, "technician", &read, "alice").await.unwrap());
    assert!(!store.grant_role_permission_audited(&t, "technician", &read, "alice").await.unwrap(), "a second grant changes nothing");
    assert_eq!(store.role_permissions(&t, &["technician".into()]).await.unwrap(), std::slice::from_ref(&read));

    assert!(store.revoke_role_permission(&t, "technician", &read, "bob").await.unwrap());
    assert!(!store.revoke_role_permission(&t, "technician", &read, "bob").await.unwrap(), "nothing left to revoke");
    assert!(!store.revoke_role_permission(&t, "nobody", &read, "bob").await.unwrap());
    assert!(!store.revoke_role_permission(&t, "technician", &Permission::new("never", "defined"), "bob").await.unwrap());
    assert!(store.role_permissions(&t, &["technician".into()]).await.unwrap().is_empty());

    let audit = store.list_audit(&t, 10).await.unwrap();
    let rows: Vec<(&str, &str, &str)> = audit.iter().map(|e| (e.action.as_str(), e.actor.as_str(), e.target.as_str())).collect();
    assert_eq!(rows, [("role.permission_revoked", "bob", "technician"), ("role.permission_granted", "alice", "technician")], "newest first");
    assert_eq!(audit[1].details, json!({ "role": "technician", "permission": "tickets:read", "extensionId": null }));
    // The same role name in another tenant was not touched.
    assert!(!store.revoke_role_permission(&tenant("globex"), "technician", &read, "x").await.unwrap());
}

async fn grants_in_an_extensions_namespace_need_a_permission_it_registered(store: &dyn Store) {
    let t = tenant("acme");
    let ext = store.insert_extension(&t, &new_extension("com.example.tags", "Tags"), "a").await.unwrap();
    let audit_before = store.list_audit(&t, 10).await.unwrap().len();
    let bogus = Permission::new("com.example.tags", "bogus");
    let err = store.grant_role_permission_audited(&t, "technician", &bogus, "alice").await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound { entity: "permission", .. }), "{err:?}");
    // Refused before anything was written: no role, no permission, no audit row.
    assert!(store.list_roles(&t).await.unwrap().is_empty());
    assert!(store.list_permissions(&t).await.unwrap().is_empty());
    assert_eq!(store.list_audit(&t, 10).await.unwrap().len(), audit_before);

    // Once the extension registered it (as approval does), admins may grant it anywhere.
    let view = Permission::new("com.example.tags", "view");
    store.grant_role_permission(&t, "admin", &view, Some(ext.id)).await.unwrap();
    assert!(store.grant_role_permission_audited(&t, "technician", &view, "alice").await.unwrap());
    let latest = &store.list_audit(&t, 1).await.unwrap()[0];
    assert_eq!(latest.details["extensionId"], json!(ext.id));
    let tech = store.list_roles(&t).await.unwrap().into_iter().find(|r| r.name == "technician").unwrap();
    assert_eq!(tech.permissions, [held("com.example.tags", "view", Some(&ext))]);

    // Uninstalling takes the permission and every grant of it along.
    store.delete_extension(&t, ext.id, false, "a").await.unwrap();
    assert!(store.role_permissions(&t, &["admin".into(), "technician".into()]).await.unwrap().is_empty());
    assert!(store.list_permissions(&t).await.unwrap().is_empty());
}

async fn an_extension_claims_an_earlier_grant_of_its_permission_and_takes_it_along(store: &dyn Store) {
    let t = tenant("acme");
    // Granted before the extension is installed: the tenant's own permission for now.
    let view = Permission::new("com.example.tags", "view");
    assert!(store.grant_role_permission_audited(&t, "technician", &view, "alice").await.unwrap());
    assert_eq!(store.list_permissions(&t).await.unwrap()[0].extension, None);

    // Registering it (as approval does) makes it the extension's; the earlier grant stays.
    let ext = store.insert_extension(&t, &new_extension("com.example.tags", "Tags"), "a").await.unwrap();
    store.grant_role_permission(&t, "admin", &view, Some(ext.id)).await.unwrap();
    assert_eq!(store.list_permissions(&t).await.unwrap()[0].extension.as_ref().map(|e| e.key.as_str()), Some("com.example.tags"));
    assert_eq!(store.role_permissions(&t, &["technician".into()]).await.unwrap(), std::slice::from_ref(&view));

    // So it goes away with the extension instead of outliving it.
    store.delete_extension(&t, ext.id, false, "a").await.unwrap();
    assert!(store.list_permissions(&t).await.unwrap().is_empty());
    assert!(store.role_permissions(&t, &["technician".into()]).await.unwrap().is_empty());
}
