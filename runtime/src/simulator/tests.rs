//! The simulator driven with `oneshot` requests: token checks, capability refusals, the
//! REST operations per tenant, and one real server on a loopback port.

use alga_ops::api::ApiClaims;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::{json, Value};
use tower::ServiceExt;

use super::*;

const SECRET: &str = "simulator-secret-simulator-secret-xx";

fn claims(tenant: &str, capabilities: &[&str]) -> ApiClaims {
    let now = chrono::Utc::now().timestamp();
    ApiClaims {
        iss: ISSUER.into(),
        aud: AUDIENCE.into(),
        tenant: tenant.into(),
        sub: "alice".into(),
        extension: "com.example.x".into(),
        capabilities: capabilities.iter().map(|c| c.to_string()).collect(),
        iat: now,
        exp: now + 60,
    }
}

fn sign(claims: &ApiClaims, secret: &str) -> String {
    let header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    jsonwebtoken::encode(&header, claims, &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes())).unwrap()
}

/// Sends one request; `token` of `None` sends no Authorization header.
async fn send(router: &Router, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> (StatusCode, Value) {
    let mut request = Request::builder().method(method).uri(path).header("x-alga-extension", "com.example.x");
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let body = body.map_or_else(Body::empty, |b| Body::from(b.to_string()));
    let response = router.clone().oneshot(request.header("content-type", "application/json").body(body).unwrap()).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
    (status, if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).unwrap() })
}

#[tokio::test]
async fn tokens_are_verified_like_a_host_would() {
    let router = app(SimState::new(SECRET.as_bytes()));
    let good = claims("acme", &["tickets:read"]);
    let (status, body) = send(&router, Method::GET, "/api/v1/tickets", Some(&sign(&good, SECRET)), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"].as_array().unwrap().len(), 5);

    let (status, body) = send(&router, Method::GET, "/api/v1/tickets", None, None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("UNAUTHENTICATED")));
    let wrong_key = sign(&good, "another-secret-another-secret-another");
    let expired = ApiClaims { iat: good.iat - 600, exp: good.iat - 300, ..good.clone() };
    let wrong_audience = ApiClaims { aud: "someone-else".into(), ..good.clone() };
    let wrong_issuer = ApiClaims { iss: "someone-else".into(), ..good.clone() };
    let no_user = ApiClaims { sub: String::new(), ..good.clone() };
    let other_extension = ApiClaims { extension: "com.example.other".into(), ..good.clone() };
    for (label, token) in [
        ("wrong key", wrong_key),
        ("expired", sign(&expired, SECRET)),
        ("audience", sign(&wrong_audience, SECRET)),
        ("issuer", sign(&wrong_issuer, SECRET)),
        ("empty sub", sign(&no_user, SECRET)),
        ("x-alga-extension differs", sign(&other_extension, SECRET)),
    ] {
        let (status, body) = send(&router, Method::GET, "/api/v1/tickets", Some(&token), None).await;
        assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("INVALID_TOKEN")), "{label}: {body}");
    }
}

#[tokio::test]
async fn a_capability_the_token_lacks_is_refused_before_any_record_is_touched() {
    let router = app(SimState::new(SECRET.as_bytes()));
    let reader = sign(&claims("acme", &["tickets:read"]), SECRET);
    let (status, body) = send(&router, Method::POST, "/api/v1/tickets", Some(&reader), Some(json!({ "title": "x" }))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"]["code"], "PERMISSION_DENIED");
    assert_eq!(body["error"]["details"], json!({ "capability": "tickets:write" }));
    // Even a record that does not exist answers 403, not 404: refusals come first.
    let (status, _) = send(&router, Method::DELETE, "/api/v1/tickets/t-9999", Some(&reader), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = send(&router, Method::GET, "/api/v1/users", Some(&reader), None).await;
    assert_eq!((status, body["error"]["details"]["capability"].as_str()), (StatusCode::FORBIDDEN, Some("users:read")));
    let (status, _) = send(&router, Method::GET, "/api/v1/tickets", Some(&reader), None).await;
    assert_eq!(status, StatusCode::OK, "nothing was created by the refused POST");

    for path in ["/api/v1/widgets", "/api/v2/tickets", "/healthz"] {
        let (status, body) = send(&router, Method::GET, path, Some(&reader), None).await;
        assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::NOT_FOUND, Some("NOT_FOUND")), "{path}");
    }
    let (status, _) = send(&router, Method::GET, "/api/v1/tickets/t-1001/comments", Some(&reader), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn records_are_created_read_changed_and_deleted_per_tenant() {
    let router = app(SimState::new(SECRET.as_bytes()));
    let all = ["tickets:read", "tickets:write", "tickets:delete"];
    let acme = sign(&claims("acme", &all), SECRET);
    let globex = sign(&claims("globex", &all), SECRET);

    let (status, created) = send(&router, Method::POST, "/api/v1/tickets", Some(&acme), Some(json!({ "title": "Mouse", "status": "open" }))).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let (status, got) = send(&router, Method::GET, &format!("/api/v1/tickets/{id}"), Some(&acme), None).await;
    assert_eq!((status, got["title"].as_str()), (StatusCode::OK, Some("Mouse")));
    let (status, _) = send(&router, Method::GET, &format!("/api/v1/tickets/{id}"), Some(&globex), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "another tenant does not see it");

    let (_, open) = send(&router, Method::GET, "/api/v1/tickets?status=open&limit=2", Some(&acme), None).await;
    assert_eq!(open["pagination"], json!({ "total": 3, "limit": 2, "offset": 0 }));
    let (status, body) = send(&router, Method::GET, "/api/v1/tickets?limit=1000", Some(&acme), None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("INVALID_QUERY")));

    let (status, patched) = send(&router, Method::PATCH, &format!("/api/v1/tickets/{id}"), Some(&acme), Some(json!({ "status": "closed" }))).await;
    assert_eq!((status, patched["status"].as_str(), patched["title"].as_str()), (StatusCode::OK, Some("closed"), Some("Mouse")));
    let (status, body) = send(&router, Method::PUT, &format!("/api/v1/tickets/{id}"), Some(&acme), None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("INVALID_BODY")));
    let (status, _) = send(&router, Method::DELETE, &format!("/api/v1/tickets/{id}"), Some(&acme), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = send(&router, Method::DELETE, &format!("/api/v1/tickets/{id}"), Some(&acme), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = send(&router, Method::DELETE, "/api/v1/tickets", Some(&acme), None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::METHOD_NOT_ALLOWED, Some("METHOD_NOT_ALLOWED")));
}

#[tokio::test]
async fn a_started_simulator_serves_on_loopback_until_dropped() {
    assert!(matches!(Simulator::start("short").await, Err(SimulatorError::SecretTooShort(5))));
    let simulator = Simulator::start(SECRET).await.unwrap();
    assert!(simulator.url().starts_with("http://127.0.0.1:"));
    let token = sign(&claims("acme", &["companies:read"]), SECRET);
    let client = reqwest::Client::new();
    let url = format!("{}/api/v1/companies/c-2001", simulator.url());
    let response = client.get(&url).bearer_auth(&token).header("x-alga-extension", "com.example.x").send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().await.unwrap()["name"], "Northwind Traders");

    drop(simulator);
    let mut refused = false;
    for _ in 0..50 {
        if client.get(&url).send().await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(refused, "the simulator still answers after it was dropped");
}

#[test]
fn encoded_ids_are_decoded() {
    assert_eq!(percent_decode("t-1001"), "t-1001");
    assert_eq!(percent_decode("a%20b%2Fc"), "a b/c");
    assert_eq!(percent_decode("100%"), "100%");
    assert_eq!(percent_decode("%zz%e2%82%ac"), "%zz€");
}
