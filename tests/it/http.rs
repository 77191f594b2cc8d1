//! The HTTP app in-process (`oneshot`): health, readiness, authentication and the error shape.

use std::time::Duration;

use alga_ext::auth::TokenKeys;
use alga_ext::http::{app, AppState};
use alga_store::{ConnectOptions, Permission, SqliteStore};
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

use crate::support::{tenant, TestStore, SECRET};

async fn call(state: AppState, path: &str, token: Option<&str>) -> (StatusCode, Value) {
    let mut req = Request::get(path);
    if let Some(token) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let res = app(state).oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
    let status = res.status();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

fn token(tenant_id: &str, roles: &[&str]) -> String {
    let roles: Vec<String> = roles.iter().map(|r| r.to_string()).collect();
    TokenKeys::from_secret(SECRET.as_bytes()).mint(&tenant(tenant_id), "alice", &roles, Duration::from_secs(60)).unwrap()
}

fn assert_error_shape(body: &Value, code: &str) {
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
    assert!(body["error"].get("details").is_some(), "{body}");
}

#[tokio::test]
async fn healthz_answers_ok() {
    let db = TestStore::sqlite().await;
    assert_eq!(call(db.app_state(), "/healthz", None).await, (StatusCode::OK, json!({ "status": "ok" })));
}

#[tokio::test]
async fn readyz_reports_the_backend_and_schema_on_both_backends() {
    for db in [TestStore::sqlite().await, TestStore::postgres().await] {
        let (status, body) = call(db.app_state(), "/readyz", None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["status"], "ready");
        assert_eq!(body["schema"]["applied"], body["schema"]["expected"]);
        let backend = if db.pg.is_some() { "postgres" } else { "sqlite" };
        assert_eq!(body["database"], backend);
    }
}

#[tokio::test]
async fn readyz_warns_when_cross_tenant_functions_cannot_bypass_row_level_security() {
    let db = TestStore::postgres().await;
    let (status, body) = call(db.app_state(), "/readyz", None).await;
    assert_eq!((status, body.get("warnings")), (StatusCode::OK, None), "{body}");

    // Hand the SECURITY DEFINER functions to a role that cannot bypass RLS, as a plain
    // migration user would own them.
    let role = format!("alga_it_nobypass_{}", uuid::Uuid::new_v4().simple());
    let mut conn = db.pg.as_ref().unwrap().pool().acquire().await.unwrap().detach();
    let reassign = format!(
        "RESET ROLE; CREATE ROLE {role} NOLOGIN; \
         DO $$ DECLARE f regprocedure; BEGIN \
           FOR f IN SELECT p.oid::regprocedure FROM pg_proc p \
             WHERE p.prosecdef AND p.pronamespace = to_regnamespace(current_schema()) AND p.proname LIKE 'alga\\_%' \
           LOOP EXECUTE format('ALTER FUNCTION %s OWNER TO {role}', f); END LOOP; END $$;"
    );
    sqlx::raw_sql(&reassign).execute(&mut conn).await.unwrap();
    let (status, body) = call(db.app_state(), "/readyz", None).await;
    sqlx::raw_sql(&format!("REASSIGN OWNED BY {role} TO CURRENT_USER; DROP ROLE {role};")).execute(&mut conn).await.unwrap();

    assert_eq!(status, StatusCode::OK, "serving still works: {body}");
    let warning = &body["warnings"][0];
    assert_eq!(warning["code"], "RLS_BOUND_FUNCTIONS", "{body}");
    let functions: Vec<&str> = warning["functions"].as_array().unwrap().iter().map(|f| f.as_str().unwrap()).collect();
    assert!(functions.contains(&"alga_recently_used_extensions") && functions.len() >= 4, "{functions:?}");
    assert!(warning["message"].as_str().unwrap().contains("BYPASSRLS"), "{warning}");
}

#[tokio::test]
async fn readyz_is_unavailable_until_migrations_ran() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("fresh.db").display());
    let store = std::sync::Arc::new(SqliteStore::connect(&ConnectOptions::new(url)).await.unwrap());
    let registry = std::sync::Arc::new(alga_ext::registry::Registry::new(store.clone(), Default::default()));
    let state = AppState::new(registry, TokenKeys::from_secret(SECRET.as_bytes()), vec![]);
    let (status, body) = call(state.clone(), "/readyz", None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_error_shape(&body, "NOT_READY");
    alga_store::MaintenanceStore::migrate(store.as_ref()).await.unwrap();
    assert_eq!(call(state, "/readyz", None).await.0, StatusCode::OK);
}

#[tokio::test]
async fn requests_without_a_valid_token_fail_closed() {
    let db = TestStore::sqlite().await;
    let (status, body) = call(db.app_state(), "/v1/me", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_error_shape(&body, "UNAUTHENTICATED");

    let (status, body) = call(db.app_state(), "/v1/me", Some("not.a.jwt")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_error_shape(&body, "INVALID_TOKEN");

    let forged = TokenKeys::from_secret(b"some-other-secret-some-other-secret")
        .mint(&tenant("acme"), "mallory", &["admin".into()], Duration::from_secs(60))
        .unwrap();
    let (status, body) = call(db.app_state(), "/v1/me", Some(&forged)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_error_shape(&body, "INVALID_TOKEN");
}

#[tokio::test]
async fn me_shows_the_callers_tenant_roles_and_permissions() {
    let db = TestStore::postgres().await;
    let acme = tenant("acme");
    db.store.grant_role_permission(&acme, "admin", &Permission::new("extension", "manage"), None).await.unwrap();
    db.store.grant_role_permission(&tenant("globex"), "admin", &Permission::new("billing", "read"), None).await.unwrap();

    let (status, body) = call(db.app_state(), "/v1/me", Some(&token("acme", &["admin"]))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({ "tenant": "acme", "user": "alice", "roles": ["admin"], "permissions": ["extension:manage"], "edition": "ee" }));
}

#[tokio::test]
async fn unknown_routes_get_the_json_error_shape() {
    let db = TestStore::sqlite().await;
    let (status, body) = call(db.app_state(), "/no/such/thing", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_error_shape(&body, "NOT_FOUND");
}

#[tokio::test]
async fn shutdown_stops_accepting_but_finishes_in_flight_requests() {
    use axum::routing::get;
    let router = axum::Router::new().route(
        "/slow",
        get(|| async {
            tokio::time::sleep(Duration::from_millis(600)).await;
            "finished"
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(alga_ext::serve::serve(
        listener,
        router,
        async move {
            let _ = stop_rx.await;
        },
        Duration::from_secs(10),
    ));

    let in_flight = tokio::spawn(reqwest::get(format!("http://{addr}/slow")));
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop_tx.send(()).unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;

    // New connections are refused while the old request drains...
    assert!(reqwest::get(format!("http://{addr}/slow")).await.is_err());
    // ...and the request that was in flight completes.
    let res = in_flight.await.unwrap().unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.text().await.unwrap(), "finished");
    tokio::time::timeout(Duration::from_secs(5), server).await.unwrap().unwrap().unwrap();
}
