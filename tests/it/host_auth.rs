//! Tokens and CORS of the host-facing routes over real HTTP: hostile JWTs (table-driven),
//! Ed25519 public-key verification, and CORS preflights that never need a token.

use std::sync::Arc;

use alga_ext::auth::TokenKeys;
use alga_ext::http::cors::CorsPolicy;
use alga_ext::http::{app, AppState, HostGuards};
use alga_ext::registry::Registry;
use alga_ext::serve::ServeOptions;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

use crate::http_hardening::spawn;
use crate::support::{admin_token, TestStore, SECRET};

const HOST_KEY: &str = include_str!("../keys/host-ed25519.key");
const HOST_PUB: &str = include_str!("../keys/host-ed25519.pub");
const OTHER_KEY: &str = include_str!("../keys/other-ed25519.key");

fn hs(alg: Algorithm, secret: &[u8], claims: &Value) -> String {
    jsonwebtoken::encode(&Header::new(alg), claims, &EncodingKey::from_secret(secret)).unwrap()
}

fn ed(private_pem: &str, claims: &Value) -> String {
    jsonwebtoken::encode(&Header::new(Algorithm::EdDSA), claims, &EncodingKey::from_ed_pem(private_pem.as_bytes()).unwrap()).unwrap()
}

/// A token with a hand-written header and claims and a garbage signature.
fn raw(header: &str, claims: &Value) -> String {
    use base64::Engine;
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    format!("{}.{}.{}", b64(header.as_bytes()), b64(&serde_json::to_vec(claims).unwrap()), b64(b"sig"))
}

/// The claims of a good token, changed by `edit` (a `null` removes the claim).
fn claims(edit: Value) -> Value {
    let mut claims = json!({ "tenant": "acme", "sub": "alice", "roles": ["admin"], "exp": chrono::Utc::now().timestamp() + 600 });
    for (name, value) in edit.as_object().unwrap() {
        if value.is_null() {
            claims.as_object_mut().unwrap().remove(name);
        } else {
            claims[name] = value.clone();
        }
    }
    claims
}

async fn me(client: &reqwest::Client, addr: std::net::SocketAddr, token: &str) -> (u16, Value) {
    let res = client.get(format!("http://{addr}/v1/me")).bearer_auth(token).send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_tokens_are_refused_with_a_reason_naming_the_claim() {
    let db = TestStore::sqlite().await;
    let (addr, _stop) = spawn(app(db.app_state()), ServeOptions::default()).await;
    let client = reqwest::Client::new();
    let secret = SECRET.as_bytes();
    let huge = "t".repeat(10 * 1024);
    // (case, token, code, details, words in the message)
    let cases: Vec<(&str, String, &str, Value, &str)> = vec![
        ("alg none", raw(r#"{"alg":"none","typ":"JWT"}"#, &claims(json!({}))), "INVALID_TOKEN", json!({ "algorithm": "HS256" }), "must be HS256"),
        ("alg missing", raw(r#"{"typ":"JWT"}"#, &claims(json!({}))), "INVALID_TOKEN", json!({ "algorithm": "HS256" }), "must be HS256"),
        ("alg HS512", hs(Algorithm::HS512, secret, &claims(json!({}))), "INVALID_TOKEN", json!({ "algorithm": "HS256" }), "must be HS256"),
        ("alg EdDSA", ed(HOST_KEY, &claims(json!({}))), "INVALID_TOKEN", json!({ "algorithm": "HS256" }), "must be HS256"),
        ("wrong secret", hs(Algorithm::HS256, b"another-secret-another-secret-xx", &claims(json!({}))), "INVALID_TOKEN", Value::Null, "signature"),
        ("not a JWT", "abc".into(), "INVALID_TOKEN", Value::Null, "not a JWT"),
        ("exp missing", hs(Algorithm::HS256, secret, &claims(json!({ "exp": null }))), "INVALID_TOKEN", json!({ "claim": "exp" }), "missing"),
        ("exp a string", hs(Algorithm::HS256, secret, &claims(json!({ "exp": "tomorrow" }))), "INVALID_TOKEN", json!({ "claim": "exp" }), "number"),
        (
            "exp an array",
            hs(Algorithm::HS256, secret, &claims(json!({ "exp": [9999999999u64] }))),
            "INVALID_TOKEN",
            json!({ "claim": "exp" }),
            "number",
        ),
        ("exp past", hs(Algorithm::HS256, secret, &claims(json!({ "exp": 1000 }))), "TOKEN_EXPIRED", Value::Null, "expired"),
        ("tenant empty", hs(Algorithm::HS256, secret, &claims(json!({ "tenant": "" }))), "INVALID_TOKEN", json!({ "claim": "tenant" }), "empty"),
        (
            "tenant missing",
            hs(Algorithm::HS256, secret, &claims(json!({ "tenant": null }))),
            "INVALID_TOKEN",
            json!({ "claim": "tenant" }),
            "missing",
        ),
        (
            "tenant 129 bytes",
            hs(Algorithm::HS256, secret, &claims(json!({ "tenant": "t".repeat(129) }))),
            "INVALID_TOKEN",
            json!({ "claim": "tenant" }),
            "longer",
        ),
        ("tenant 10 KB", hs(Algorithm::HS256, secret, &claims(json!({ "tenant": huge }))), "INVALID_TOKEN", json!({ "claim": "tenant" }), "longer"),
        (
            "tenant charset",
            hs(Algorithm::HS256, secret, &claims(json!({ "tenant": "acme/../globex" }))),
            "INVALID_TOKEN",
            json!({ "claim": "tenant" }),
            "[A-Za-z0-9._-]",
        ),
        (
            "tenant a number",
            hs(Algorithm::HS256, secret, &claims(json!({ "tenant": 7 }))),
            "INVALID_TOKEN",
            json!({ "claim": "tenant" }),
            "not a string",
        ),
        (
            "roles a string",
            hs(Algorithm::HS256, secret, &claims(json!({ "roles": "admin" }))),
            "INVALID_TOKEN",
            json!({ "claim": "roles" }),
            "array of",
        ),
        (
            "roles numbers",
            hs(Algorithm::HS256, secret, &claims(json!({ "roles": ["admin", 1] }))),
            "INVALID_TOKEN",
            json!({ "claim": "roles" }),
            "array of",
        ),
        (
            "roles an object",
            hs(Algorithm::HS256, secret, &claims(json!({ "roles": { "admin": true } }))),
            "INVALID_TOKEN",
            json!({ "claim": "roles" }),
            "array of",
        ),
        ("sub missing", hs(Algorithm::HS256, secret, &claims(json!({ "sub": null }))), "INVALID_TOKEN", json!({ "claim": "sub" }), "missing"),
        ("aud present", hs(Algorithm::HS256, secret, &claims(json!({ "aud": "elsewhere" }))), "INVALID_TOKEN", json!({ "claim": "aud" }), "audience"),
    ];
    for (case, token, code, details, words) in cases {
        let (status, body) = me(&client, addr, &token).await;
        assert_eq!((status, body["error"]["code"].as_str()), (401, Some(code)), "{case}: {body}");
        assert_eq!(body["error"]["details"], details, "{case}: {body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(words) && message.len() < 300 && !message.contains("tttt"), "{case}: {message}");
    }
    let (status, body) = me(&client, addr, &hs(Algorithm::HS256, secret, &claims(json!({ "roles": null })))).await;
    assert_eq!((status, &body["roles"]), (200, &json!([])), "absent roles are no roles: {body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_public_key_only_eddsa_tokens_of_the_host_are_accepted() {
    let db = TestStore::sqlite().await;
    let keys = TokenKeys::from_ed_public_pem(HOST_PUB.as_bytes()).unwrap();
    let state = AppState::new(Arc::new(Registry::new(db.store.clone(), Default::default())), keys, vec!["admin".into()]);
    let (addr, _stop) = spawn(app(state), ServeOptions::default()).await;
    let client = reqwest::Client::new();

    let (status, body) = me(&client, addr, &ed(HOST_KEY, &claims(json!({})))).await;
    assert_eq!((status, &body["tenant"], &body["user"]), (200, &json!("acme"), &json!("alice")), "{body}");
    for (case, token, words) in [
        ("another key", ed(OTHER_KEY, &claims(json!({}))), "signature"),
        ("the shared secret", hs(Algorithm::HS256, SECRET.as_bytes(), &claims(json!({}))), "must be EdDSA"),
        ("HS256 keyed with the public key", hs(Algorithm::HS256, HOST_PUB.as_bytes(), &claims(json!({}))), "must be EdDSA"),
        ("alg none", raw(r#"{"alg":"none"}"#, &claims(json!({}))), "must be EdDSA"),
        ("EdDSA with a bad tenant", ed(HOST_KEY, &claims(json!({ "tenant": "" }))), "empty"),
    ] {
        let (status, body) = me(&client, addr, &token).await;
        assert_eq!((status, body["error"]["code"].as_str()), (401, Some("INVALID_TOKEN")), "{case}: {body}");
        assert!(body["error"]["message"].as_str().unwrap().contains(words), "{case}: {body}");
    }
}

fn cors_headers(res: &reqwest::Response) -> Vec<String> {
    res.headers().keys().map(|n| n.as_str().to_owned()).filter(|n| n.starts_with("access-control-")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preflights_never_need_a_token_and_only_allowed_origins_see_cors_headers() {
    let db = TestStore::sqlite().await;
    let guards = HostGuards { cors: CorsPolicy::new(&["https://psa.example.com"]).unwrap(), ..Default::default() };
    let (addr, _stop) = spawn(app(db.app_state().with_guards(guards)), ServeOptions::default()).await;
    let client = reqwest::Client::new();
    let preflight = |origin: &str| {
        client
            .request(reqwest::Method::OPTIONS, format!("http://{addr}/api/extensions/com.example.x/tags/1"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "authorization, content-type")
            .send()
    };

    let res = preflight("https://psa.example.com").await.unwrap();
    assert_eq!(res.status(), 204);
    let h = res.headers();
    assert_eq!(h["access-control-allow-origin"], "https://psa.example.com");
    assert!(h["access-control-allow-methods"].to_str().unwrap().contains("POST"), "{h:?}");
    let allowed = h["access-control-allow-headers"].to_str().unwrap().to_ascii_lowercase();
    assert!(allowed.contains("authorization") && allowed.contains("content-type") && allowed.contains("x-request-id"), "{allowed}");
    assert_eq!(h["access-control-max-age"], "600");
    assert!(h.get("access-control-allow-credentials").is_none(), "bearer tokens, not cookies");

    let res = preflight("https://evil.example").await.unwrap();
    assert_eq!(res.status(), 204, "refused without a 401");
    assert_eq!(cors_headers(&res), Vec::<String>::new());

    // Real requests: the allowed origin may read answers (errors included), others get none.
    let get = |origin: &str, token: Option<String>| {
        let req = client.get(format!("http://{addr}/v1/me")).header("origin", origin);
        match token {
            Some(token) => req.bearer_auth(token).send(),
            None => req.send(),
        }
    };
    let res = get("https://psa.example.com", Some(admin_token("acme"))).await.unwrap();
    assert_eq!((res.status().as_u16(), res.headers()["access-control-allow-origin"].to_str().unwrap()), (200, "https://psa.example.com"));
    assert!(res.headers()["access-control-expose-headers"].to_str().unwrap().to_ascii_lowercase().contains("retry-after"));
    let res = get("https://psa.example.com", None).await.unwrap();
    assert_eq!((res.status().as_u16(), res.headers()["access-control-allow-origin"].to_str().unwrap()), (401, "https://psa.example.com"));
    let res = get("https://evil.example", Some(admin_token("acme"))).await.unwrap();
    assert_eq!((res.status().as_u16(), cors_headers(&res)), (200, vec![]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_cors_origins_no_cors_header_is_ever_sent_and_preflights_are_still_not_401() {
    let db = TestStore::sqlite().await;
    let (addr, _stop) = spawn(app(db.app_state()), ServeOptions::default()).await;
    let client = reqwest::Client::new();
    let res = client
        .request(reqwest::Method::OPTIONS, format!("http://{addr}/api/extensions/com.example.x/y"))
        .header("origin", "https://psa.example.com")
        .header("access-control-request-method", "GET")
        .send()
        .await
        .unwrap();
    assert_eq!((res.status().as_u16(), cors_headers(&res)), (204, vec![]));
    let res =
        client.get(format!("http://{addr}/v1/me")).header("origin", "https://psa.example.com").bearer_auth(admin_token("acme")).send().await.unwrap();
    assert_eq!((res.status().as_u16(), cors_headers(&res)), (200, vec![]));
}
