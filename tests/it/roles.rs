//! The roles API and admin ids over real HTTP on both backends: grants and revokes with their
//! audit rows, who may call it, input rules, the next request seeing a change, uninstall and
//! update keeping grants consistent, manifest ids on admin routes, and the upload review.

use alga_ext::http::AppState;
use reqwest::Method;
use serde_json::{json, Value};

use crate::archives::sample_zip;
use crate::support::{admin_token, tenant, user_token, TestStore};

const SAMPLE: &str = "ticket-tags";
const KEY: &str = "com.alga.samples.ticket-tags";

/// Generates one test per case and backend: `roles::sqlite::<case>` and `roles::postgres::<case>`.
macro_rules! both_backends {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::$case(super::Server::start(crate::support::TestStore::sqlite().await).await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::$case(super::Server::start(crate::support::TestStore::postgres().await).await).await;
                }
            )*
        }
    };
}

both_backends!(
    roles_api_round_trip_with_audit_rows,
    roles_api_refuses_non_admins_and_bad_input,
    a_revoke_denies_the_very_next_request,
    uninstall_and_update_keep_grants_consistent,
    admin_routes_accept_the_manifest_id,
    the_upload_review_lists_every_extension_point,
);

/// The app served on an ephemeral port through the production accept loop.
struct Server {
    db: TestStore,
    state: AppState,
    base: String,
    client: reqwest::Client,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl Server {
    async fn start(db: TestStore) -> Self {
        let state = db.app_state();
        let (addr, stop) = crate::wire::spawn(&state).await;
        let base = format!("http://{addr}");
        Self { db, state, base, client: reqwest::Client::new(), _stop: stop }
    }

    /// Sends a request; answers status and JSON body (`null` when there is none).
    async fn call(&self, method: Method, path: &str, token: &str, body: Option<Vec<u8>>) -> (u16, Value) {
        let mut req = self.client.request(method, format!("{}{path}", self.base)).bearer_auth(token);
        if let Some(bytes) = body {
            req = req.header("content-type", "application/zip").body(bytes);
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let bytes = res.bytes().await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str, token: &str) -> (u16, Value) {
        self.call(Method::GET, path, token, None).await
    }

    async fn put(&self, path: &str, token: &str) -> (u16, Value) {
        self.call(Method::PUT, path, token, None).await
    }

    async fn delete(&self, path: &str, token: &str) -> (u16, Value) {
        self.call(Method::DELETE, path, token, None).await
    }

    async fn post(&self, path: &str, token: &str, body: Value) -> (u16, Value) {
        let res = self.client.post(format!("{}{path}", self.base)).bearer_auth(token).json(&body).send().await.unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    async fn upload(&self, zip: Vec<u8>) -> (u16, Value) {
        self.call(Method::POST, "/admin/v1/extensions", &admin_token("acme"), Some(zip)).await
    }

    /// Uploads and approves (enabled) a bundle of the sample; answers the install id.
    async fn install(&self, zip: Vec<u8>) -> String {
        let (status, body) = self.upload(zip).await;
        assert!(status == 201, "{body}");
        let id = body["extension"]["id"].as_str().unwrap().to_owned();
        let (status, body) = self.post(&format!("/admin/v1/extensions/{id}/approve"), &admin_token("acme"), json!({ "enable": true })).await;
        assert_eq!(status, 200, "{body}");
        id
    }

    /// The permissions a role holds, from `GET /admin/v1/roles`.
    async fn held(&self, role: &str) -> Vec<String> {
        let (status, body) = self.get("/admin/v1/roles", &admin_token("acme")).await;
        assert_eq!(status, 200, "{body}");
        let roles = body["roles"].as_array().unwrap();
        let found = roles.iter().find(|r| r["name"] == role);
        found.map(|r| r["permissions"].as_array().unwrap().iter().map(|p| p["permission"].as_str().unwrap().to_owned()).collect()).unwrap_or_default()
    }
}

fn grant_path(role: &str, permission: &str) -> String {
    format!("/admin/v1/roles/{role}/permissions/{permission}")
}

fn assert_error(status: u16, body: &Value, want: u16, code: &str) {
    assert_eq!((status, body["error"]["code"].as_str()), (want, Some(code)), "{body}");
    assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
}

async fn roles_api_round_trip_with_audit_rows(server: Server) {
    let admin = admin_token("acme");
    let id = server.install(sample_zip(SAMPLE, |_| {})).await;

    // Approval registered the sample's permissions with their default roles, marked as its own.
    let (status, body) = server.get("/admin/v1/roles", &admin).await;
    assert_eq!(status, 200, "{body}");
    let owner = json!({ "id": id, "key": KEY });
    let technician = body["roles"].as_array().unwrap().iter().find(|r| r["name"] == "technician").unwrap().clone();
    assert_eq!(technician, json!({ "name": "technician", "permissions": [{ "permission": format!("{KEY}:view"), "extension": owner }] }));
    let manage = body["permissions"].as_array().unwrap().iter().find(|p| p["permission"] == format!("{KEY}:manage")).unwrap().clone();
    assert_eq!(
        manage,
        json!({ "permission": format!("{KEY}:manage"), "description": "Create and delete tags", "extension": owner, "roles": ["admin"] })
    );

    // Grant: 201 and the role as it is now; again: 200, nothing changed.
    let path = grant_path("technician", &format!("{KEY}:manage"));
    let (status, body) = server.put(&path, &admin).await;
    assert_eq!((status, &body["changed"]), (201, &json!(true)), "{body}");
    assert_eq!(body["role"]["permissions"].as_array().unwrap().len(), 2, "{body}");
    assert_eq!(body["role"]["permissions"][0], json!({ "permission": format!("{KEY}:manage"), "extension": owner }));
    let (status, body) = server.put(&path, &admin).await;
    assert_eq!((status, &body["changed"]), (200, &json!(false)), "{body}");

    // A host permission to a role that does not exist yet creates the role.
    let (status, body) = server.put(&grant_path("auditor", "tickets:read"), &admin).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["role"], json!({ "name": "auditor", "permissions": [{ "permission": "tickets:read", "extension": null }] }));

    // Revoke: 200 with what is left; revoking again is 404 naming both.
    let (status, body) = server.delete(&path, &admin).await;
    assert_eq!((status, body["role"]["permissions"].as_array().map(Vec::len)), (200, Some(1)), "{body}");
    let (status, body) = server.delete(&path, &admin).await;
    assert_error(status, &body, 404, "NOT_FOUND");
    assert_eq!(body["error"]["details"], json!({ "role": "technician", "permission": format!("{KEY}:manage") }));
    assert!(body["error"]["message"].as_str().unwrap().contains("technician does not hold"), "{body}");

    // Each change left one audit row naming actor, role and permission; no-ops left none.
    let (status, body) = server.get("/admin/v1/audit?limit=3", &admin).await;
    assert_eq!(status, 200, "{body}");
    let audit = body["entries"].as_array().unwrap();
    let row =
        |e: &Value| format!("{} {} {}", e["action"].as_str().unwrap(), e["actor"].as_str().unwrap(), e["details"]["permission"].as_str().unwrap());
    let rows: Vec<String> = audit.iter().map(row).collect();
    assert_eq!(
        rows,
        [
            format!("role.permission_revoked alice {KEY}:manage"),
            "role.permission_granted alice tickets:read".into(),
            format!("role.permission_granted alice {KEY}:manage"),
        ]
    );
    assert_eq!(audit[0]["details"]["role"], "technician");
    assert_eq!(audit[0]["details"]["extensionId"], json!(id));
    assert_eq!(audit[1]["target"], "auditor");
    let (status, body) = server.get("/admin/v1/audit?limit=0", &admin).await;
    assert_error(status, &body, 400, "INVALID_ARGUMENT");
    let (status, body) = server.get("/admin/v1/audit", &user_token("acme", "tom", &["technician"])).await;
    assert_error(status, &body, 403, "FORBIDDEN");
}

async fn roles_api_refuses_non_admins_and_bad_input(server: Server) {
    let admin = admin_token("acme");
    server.install(sample_zip(SAMPLE, |_| {})).await;

    // Callers without extension:manage get 403 naming it, on every roles route.
    let tom = user_token("acme", "tom", &["technician"]);
    for (method, path) in [
        (Method::GET, "/admin/v1/roles".to_owned()),
        (Method::PUT, grant_path("technician", "tickets:read")),
        (Method::DELETE, grant_path("admin", "extension:manage")),
    ] {
        let (status, body) = server.call(method, &path, &tom, None).await;
        assert_error(status, &body, 403, "FORBIDDEN");
        assert_eq!(body["error"]["details"]["required"], "extension:manage", "{body}");
    }
    assert!(server.held("technician").await == [format!("{KEY}:view")], "refused calls changed nothing");

    // Bad role names and permissions are 400s naming the field.
    let long = "r".repeat(200);
    for (role, permission, code, field) in [
        ("%20admin", "tickets:read", "INVALID_ROLE", "role"),
        ("a%0Ab", "tickets:read", "INVALID_ROLE", "role"),
        (long.as_str(), "tickets:read", "INVALID_ROLE", "role"),
        ("admin", "tickets", "INVALID_PERMISSION", "permission"),
        ("admin", "tickets:", "INVALID_PERMISSION", "permission"),
        ("admin", "tick%20ets:read", "INVALID_PERMISSION", "permission"),
        ("admin", "tickets:read:all", "INVALID_PERMISSION", "permission"),
    ] {
        for method in [Method::PUT, Method::DELETE] {
            let (status, body) = server.call(method.clone(), &grant_path(role, permission), &admin, None).await;
            assert_error(status, &body, 400, code);
            assert_eq!(body["error"]["details"]["field"], field, "{method} {role} {permission}: {body}");
            assert!(body["error"]["message"].as_str().unwrap().starts_with(&format!("{field}: ")), "{body}");
        }
    }

    // A permission in an installed extension's namespace must be one it registered.
    let (status, body) = server.put(&grant_path("technician", &format!("{KEY}:launch")), &admin).await;
    assert_error(status, &body, 400, "PERMISSION_NOT_DECLARED");
    assert_eq!(body["error"]["details"]["registered"], json!([format!("{KEY}:manage"), format!("{KEY}:view")]), "{body}");
    assert_eq!(server.held("technician").await, [format!("{KEY}:view")]);
    assert!(server.db.store.list_audit(&tenant("acme"), 1).await.unwrap()[0].action.starts_with("extension."), "no audit row for refusals");

    // Another tenant's admin sees and changes only its own roles.
    let (status, body) = server.get("/admin/v1/roles", &admin_token("globex")).await;
    assert_eq!((status, body), (200, json!({ "roles": [], "permissions": [] })));
    let (status, body) = server.delete(&grant_path("technician", &format!("{KEY}:view")), &admin_token("globex")).await;
    assert_error(status, &body, 404, "NOT_FOUND");
    assert_eq!(server.held("technician").await, [format!("{KEY}:view")]);
}

async fn a_revoke_denies_the_very_next_request(server: Server) {
    let admin = admin_token("acme");
    server.install(sample_zip(SAMPLE, |_| {})).await;
    let tom = user_token("acme", "tom", &["technician"]);
    let tags = format!("/api/extensions/{KEY}/tags");

    // Warm: the technician's permissions are cached by this request.
    let (status, body) = server.get(&tags, &tom).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = server.delete(&grant_path("technician", &format!("{KEY}:view")), &admin).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = server.get(&tags, &tom).await;
    assert_error(status, &body, 403, "FORBIDDEN");
    assert_eq!(body["error"]["details"]["required"], format!("{KEY}:view"), "names the missing permission as grants name it: {body}");
    let (status, _) = server.put(&grant_path("technician", &format!("{KEY}:view")), &admin).await;
    assert_eq!(status, 201);
    let (status, body) = server.get(&tags, &tom).await;
    assert_eq!(status, 200, "{body}");

    // The admin check reads the same cache: a granted extension:manage opens the admin API
    // at once, and its revoke closes it at once.
    let olga = user_token("acme", "olga", &["ops"]);
    let (status, _) = server.get("/admin/v1/roles", &olga).await;
    assert_eq!(status, 403);
    let (status, _) = server.put(&grant_path("ops", "extension:manage"), &admin).await;
    assert_eq!(status, 201);
    let (status, body) = server.get("/admin/v1/roles", &olga).await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = server.delete(&grant_path("ops", "extension:manage"), &olga).await;
    assert_eq!(status, 200, "ops revoked its own permission");
    let (status, _) = server.get("/admin/v1/roles", &olga).await;
    assert_eq!(status, 403);
}

async fn uninstall_and_update_keep_grants_consistent(server: Server) {
    let admin = admin_token("acme");
    let id = server.install(sample_zip(SAMPLE, |_| {})).await;
    // An admin's extra grants of both the sample's permissions.
    for permission in ["view", "manage"] {
        let (status, body) = server.put(&grant_path("auditor", &format!("{KEY}:{permission}")), &admin).await;
        assert_eq!(status, 201, "{body}");
    }
    server.put(&grant_path("auditor", "tickets:read"), &admin).await;
    // And a revoke of a default grant, which an update must not undo.
    let (status, _) = server.delete(&grant_path("technician", &format!("{KEY}:view")), &admin).await;
    assert_eq!(status, 200);

    // 1.1.0 drops `manage` (its endpoints now need `view`).
    let v110 = sample_zip(SAMPLE, |m| {
        m["version"] = json!("1.1.0");
        m["userPermissions"].as_array_mut().unwrap().retain(|p| p["name"] != "manage");
        for endpoint in m["extensionPoints"]["endpoints"].as_array_mut().unwrap() {
            endpoint["permission"] = json!("view");
        }
    });
    let (status, body) = server.upload(v110).await;
    assert_eq!((status, body["kind"].as_str()), (201, Some("update")), "{body}");
    // Until approved, nothing changes.
    assert_eq!(server.held("auditor").await, [format!("{KEY}:manage"), format!("{KEY}:view"), "tickets:read".into()]);
    let (status, body) = server.post(&format!("/admin/v1/extensions/{id}/approve"), &admin, json!({})).await;
    assert_eq!(status, 200, "{body}");

    // The dropped permission is gone with every grant of it; the admin's extra grant of the
    // still-declared one survived, and so did the tenant's own.
    assert_eq!(server.held("auditor").await, [format!("{KEY}:view"), "tickets:read".to_owned()]);
    assert_eq!(server.held("admin").await.iter().filter(|p| p.starts_with(KEY)).collect::<Vec<_>>(), [&format!("{KEY}:view")]);
    assert_eq!(server.held("technician").await, Vec::<String>::new(), "the revoked default grant stays revoked");
    let (_, body) = server.get("/admin/v1/roles", &admin).await;
    let defined: Vec<&str> = body["permissions"].as_array().unwrap().iter().map(|p| p["permission"].as_str().unwrap()).collect();
    assert!(!defined.contains(&format!("{KEY}:manage").as_str()), "{defined:?}");
    let (status, body) = server.put(&grant_path("auditor", &format!("{KEY}:manage")), &admin).await;
    assert_error(status, &body, 400, "PERMISSION_NOT_DECLARED");

    // Uninstall: every permission it registered and every grant of one are gone.
    let (status, _) = server.delete(&format!("/admin/v1/extensions/{id}"), &admin).await;
    assert_eq!(status, 204);
    assert_eq!(server.held("auditor").await, ["tickets:read"]);
    assert_eq!(server.held("technician").await, Vec::<String>::new());
    let (_, body) = server.get("/admin/v1/roles", &admin).await;
    assert!(!body.to_string().contains(KEY), "nothing of the extension is left: {body}");
    let tom = user_token("acme", "tom", &["technician"]);
    let (status, _) = server.get(&format!("/api/extensions/{KEY}/tags"), &tom).await;
    assert_eq!(status, 404);
}

async fn admin_routes_accept_the_manifest_id(server: Server) {
    let admin = admin_token("acme");
    let (status, body) = server.upload(sample_zip(SAMPLE, |_| {})).await;
    assert_eq!(status, 201, "{body}");
    let id = body["extension"]["id"].as_str().unwrap().to_owned();
    let by_key = format!("/admin/v1/extensions/{KEY}");

    let (status, body) = server.get(&by_key, &admin).await;
    assert_eq!((status, body["extension"]["id"].as_str()), (200, Some(id.as_str())), "{body}");
    let (status, body) = server.post(&format!("{by_key}/approve"), &admin, json!({ "enable": true })).await;
    assert_eq!((status, body["extension"]["enabled"].as_bool()), (200, Some(true)), "{body}");
    for (method, suffix) in [
        (Method::GET, "/settings"),
        (Method::GET, "/limits"),
        (Method::GET, "/storage/usage"),
        (Method::GET, "/storage/audit"),
        (Method::GET, "/storage"),
    ] {
        let (status, body) = server.call(method, &format!("{by_key}{suffix}"), &admin, None).await;
        assert_eq!(status, 200, "{suffix}: {body}");
    }
    let (status, body) = server.post(&format!("{by_key}/disable"), &admin, json!({})).await;
    assert_eq!((status, body["extension"]["enabled"].as_bool()), (200, Some(false)), "{body}");

    // Neither an install id nor a manifest id of the tenant: 404 naming what was asked for.
    for missing in ["com.example.nothing", "not-an-id", "00000000-0000-0000-0000-000000000000"] {
        let (status, body) = server.get(&format!("/admin/v1/extensions/{missing}"), &admin).await;
        assert_error(status, &body, 404, "NOT_FOUND");
        assert!(body["error"]["message"].as_str().unwrap().contains(missing), "{body}");
    }
    // Another tenant's manifest id is not found either (no existence leak).
    let (status, body) = server.get(&by_key, &admin_token("globex")).await;
    assert_error(status, &body, 404, "NOT_FOUND");

    let (status, _) = server.delete(&by_key, &admin).await;
    assert_eq!(status, 204);
    let (status, _) = server.get(&format!("/admin/v1/extensions/{id}"), &admin).await;
    assert_eq!(status, 404);
}

async fn the_upload_review_lists_every_extension_point(server: Server) {
    let admin = admin_token("acme");
    // One endpoint without a permission, to see the open kind.
    let zip = sample_zip(SAMPLE, |m| {
        m["extensionPoints"]["endpoints"][3].as_object_mut().unwrap().remove("permission");
    });
    let (status, body) = server.upload(zip).await;
    assert_eq!(status, 201, "{body}");
    let view = json!(format!("{KEY}:view"));
    let manage = json!(format!("{KEY}:manage"));
    let needs = |p: &Value| json!(format!("needs {}", p.as_str().unwrap()));
    let open = json!("open to every user of the tenant");
    let want = json!({
        "extensionPoints": [
            { "kind": "endpoint", "method": "GET", "path": "/tags", "permission": view, "access": needs(&view) },
            { "kind": "endpoint", "method": "POST", "path": "/tags", "permission": manage, "access": needs(&manage) },
            { "kind": "endpoint", "method": "DELETE", "path": "/tags/:id", "permission": manage, "access": needs(&manage) },
            { "kind": "endpoint", "method": "GET", "path": "/tickets/:ticketId/tags", "permission": null, "access": open },
            { "kind": "endpoint", "method": "PUT", "path": "/tickets/:ticketId/tags/:tagId", "permission": view, "access": needs(&view) },
            { "kind": "endpoint", "method": "DELETE", "path": "/tickets/:ticketId/tags/:tagId", "permission": view, "access": needs(&view) },
            { "kind": "page", "path": "/tags", "title": "Tags", "permission": view, "access": needs(&view) },
            { "kind": "page", "path": "/board", "title": "Tag board", "permission": view, "access": needs(&view) },
            { "kind": "navigation", "id": "tags-nav", "label": "Tags", "page": "/tags", "permission": view, "access": needs(&view) },
            { "kind": "navigation", "id": "board-nav", "label": "Tag board", "page": "/board", "permission": view, "access": needs(&view) },
            { "kind": "dashboardWidget", "id": "popular-tags", "title": "Popular tags", "permission": view, "access": needs(&view) },
        ],
        "capabilities": [
            { "capability": "storage:read", "description": "read its own saved data in this tenant" },
            { "capability": "storage:write", "description": "save its own data in this tenant" },
            { "capability": "tickets:read", "description": "see tickets in the host app (through its API)" },
        ],
        "userPermissions": [
            { "permission": view, "description": "See ticket tags", "defaultRoles": ["admin", "technician"] },
            { "permission": manage, "description": "Create and delete tags", "defaultRoles": ["admin"] },
        ],
    });
    assert_eq!(body["review"], want);
    assert!(body["manifest"].get("extensionPoints").is_none(), "no counts any more: {body}");

    // The detail shows the same review, and an update's review under pendingUpdate.
    let (status, detail) = server.get(&format!("/admin/v1/extensions/{KEY}"), &admin).await;
    assert_eq!((status, &detail["review"]), (200, &want), "{detail}");
    server.post(&format!("/admin/v1/extensions/{KEY}/approve"), &admin, json!({})).await;
    let (status, body) = server
        .upload(sample_zip(SAMPLE, |m| {
            m["version"] = json!("1.2.0");
            m["extensionPoints"]["endpoints"].as_array_mut().unwrap().truncate(1);
        }))
        .await;
    assert_eq!(status, 201, "{body}");
    let (_, detail) = server.get(&format!("/admin/v1/extensions/{KEY}"), &admin).await;
    let kinds = |review: &Value| review["extensionPoints"].as_array().unwrap().iter().filter(|p| p["kind"] == "endpoint").count();
    assert_eq!((kinds(&detail["review"]), kinds(&detail["pendingUpdate"]["review"])), (6, 1), "{detail}");
    assert_eq!(server.state.registry.roles(&tenant("acme")).await.unwrap().roles.len(), 2, "approval registered admin and technician");
}
