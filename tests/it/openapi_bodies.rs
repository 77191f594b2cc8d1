//! What the API really answers, checked against `/openapi.json` over real HTTP on both backends: every status a walk through the admin and host routes meets is documented for its operation, and every JSON body validates against the schema documented for that status.

use reqwest::Method;
use serde_json::{json, Value};

use crate::archives::sample_zip;
use crate::support::{admin_token, TestStore};

const KEY: &str = "com.alga.samples.ticket-tags";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_match_their_documented_schemas_on_sqlite() {
    walk(TestStore::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_match_their_documented_schemas_on_postgres() {
    walk(TestStore::postgres().await).await;
}

/// A running app, its document, and the problems found so far.
struct Checker {
    base: String,
    client: reqwest::Client,
    doc: Value,
    token: String,
    problems: Vec<String>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl Checker {
    async fn start(db: &TestStore) -> Self {
        let (addr, stop) = crate::wire::spawn(&db.app_state()).await;
        let base = format!("http://{addr}");
        let client = reqwest::Client::new();
        let doc = client.get(format!("{base}/openapi.json")).send().await.unwrap().json().await.unwrap();
        Self { base, client, doc, token: admin_token("acme"), problems: Vec::new(), _stop: stop }
    }

    /// Calls `method url` (`template` is its path in the document) and checks the answer;
    /// returns the status and the JSON body (`null` when there is none).
    async fn call(&mut self, method: Method, template: &str, url: &str, body: Option<(&str, Vec<u8>)>) -> (u16, Value) {
        let mut req = self.client.request(method.clone(), format!("{}{url}", self.base)).bearer_auth(&self.token);
        if let Some((content_type, bytes)) = body {
            req = req.header("content-type", content_type).body(bytes);
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let content_type = res.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        let bytes = res.bytes().await.unwrap();
        let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        let name = method.as_str().to_ascii_lowercase();
        let response = &self.doc["paths"][template][&name]["responses"][status.to_string()];
        if response.is_null() {
            self.problems.push(format!("{method} {url}: status {status} is not documented for {name} {template} ({body})"));
        } else if content_type.starts_with("application/json") {
            match response["content"]["application/json"]["schema"].as_object() {
                None => self.problems.push(format!("{method} {url}: {status} answers JSON, the document none")),
                Some(schema) => self.validate(&format!("{method} {url} {status}"), &Value::Object(schema.clone()), &body),
            }
        }
        (status, body)
    }

    /// Validates `instance` against a schema of the document (its `$ref`s resolved there).
    fn validate(&mut self, what: &str, schema: &Value, instance: &Value) {
        let mut root = schema.clone();
        root["$schema"] = json!("https://json-schema.org/draft/2020-12/schema");
        root["components"] = self.doc["components"].clone();
        let validator = jsonschema::validator_for(&root).unwrap_or_else(|e| panic!("{what}: the documented schema does not compile: {e}"));
        for error in validator.iter_errors(instance) {
            self.problems.push(format!("{what}: {error} at {}", error.instance_path()));
        }
    }
}

async fn walk(db: TestStore) {
    let mut c = Checker::start(&db).await;
    let ext = format!("/admin/v1/extensions/{KEY}");
    let t = "/admin/v1/extensions/{id}";

    c.call(Method::GET, "/healthz", "/healthz", None).await;
    c.call(Method::GET, "/readyz", "/readyz", None).await;
    c.call(Method::GET, "/v1/me", "/v1/me", None).await;
    c.call(Method::GET, t, "/admin/v1/extensions/no-such-extension", None).await;
    let zip = sample_zip("ticket-tags", |_| {});
    let (status, _) = c.call(Method::POST, "/admin/v1/extensions", "/admin/v1/extensions", Some(("application/zip", zip.clone()))).await;
    assert_eq!(status, 201);
    c.call(Method::POST, "/admin/v1/extensions", "/admin/v1/extensions", Some(("application/zip", zip))).await;
    c.call(Method::GET, "/admin/v1/extensions", "/admin/v1/extensions?limit=1&sort=-createdAt", None).await;
    c.call(Method::GET, "/admin/v1/extensions", "/admin/v1/extensions?limit=0", None).await;
    c.call(Method::GET, t, &ext, None).await;
    c.call(Method::POST, &format!("{t}/enable"), &format!("{ext}/enable"), None).await;
    let (status, _) =
        c.call(Method::POST, &format!("{t}/approve"), &format!("{ext}/approve"), Some(("application/json", b"{\"enable\":true}".to_vec()))).await;
    assert_eq!(status, 200);
    c.call(Method::POST, &format!("{t}/approve"), &format!("{ext}/approve"), None).await;
    c.call(Method::POST, &format!("{t}/disable"), &format!("{ext}/disable"), None).await;
    c.call(Method::POST, &format!("{t}/enable"), &format!("{ext}/enable"), None).await;
    c.call(Method::GET, t, &ext, None).await;
    c.call(Method::GET, &format!("{t}/limits"), &format!("{ext}/limits"), None).await;
    c.call(Method::PUT, &format!("{t}/limits"), &format!("{ext}/limits"), Some(("application/json", b"{\"timeoutMs\":5000}".to_vec()))).await;
    c.call(Method::PUT, &format!("{t}/limits"), &format!("{ext}/limits"), Some(("application/json", b"{\"heapMb\":999999}".to_vec()))).await;
    c.call(Method::GET, &format!("{t}/settings"), &format!("{ext}/settings"), None).await;
    c.call(Method::PUT, &format!("{t}/settings"), &format!("{ext}/settings"), Some(("application/json", b"{\"palette\":\"vivid\"}".to_vec()))).await;
    c.call(Method::PUT, &format!("{t}/settings"), &format!("{ext}/settings"), Some(("application/json", b"{\"palette\":7}".to_vec()))).await;
    c.call(Method::DELETE, &format!("{t}/settings"), &format!("{ext}/settings"), None).await;
    let lines =
        b"{\"namespace\":\"probe\",\"key\":\"a\",\"value\":{\"n\":1}}\n{\"namespace\":\"probe\",\"key\":\"b\",\"value\":[1,2],\"revision\":3}\n"
            .to_vec();
    c.call(Method::POST, &format!("{t}/storage"), &format!("{ext}/storage?mode=merge"), Some(("application/x-ndjson", lines))).await;
    c.call(Method::POST, &format!("{t}/storage"), &format!("{ext}/storage"), Some(("application/x-ndjson", b"{\"key\":1}\n".to_vec()))).await;
    let export = c.client.get(format!("{}{ext}/storage", c.base)).bearer_auth(&c.token).send().await.unwrap().text().await.unwrap();
    let line_schema = json!({ "$ref": "#/components/schemas/PortableValue" });
    for line in export.lines() {
        c.validate("an exported line", &line_schema, &serde_json::from_str(line).unwrap());
    }
    assert_eq!(export.lines().count(), 2, "{export}");
    c.call(Method::GET, &format!("{t}/storage/usage"), &format!("{ext}/storage/usage"), None).await;
    c.call(Method::GET, &format!("{t}/storage/audit"), &format!("{ext}/storage/audit?limit=10"), None).await;
    c.call(Method::GET, "/admin/v1/audit", "/admin/v1/audit", None).await;
    c.call(Method::GET, "/admin/v1/roles", "/admin/v1/roles", None).await;
    let grant = "/admin/v1/roles/{role}/permissions/{permission}";
    let url = format!("/admin/v1/roles/technician/permissions/{KEY}:manage");
    c.call(Method::PUT, grant, &url, None).await;
    c.call(Method::PUT, grant, &url, None).await;
    c.call(Method::DELETE, grant, &url, None).await;
    c.call(Method::DELETE, grant, &url, None).await;
    c.call(Method::PUT, grant, "/admin/v1/roles/technician/permissions/nocolon", None).await;

    c.call(Method::GET, "/api/ui/navigation", "/api/ui/navigation", None).await;
    c.call(Method::GET, "/api/ui/dashboard", "/api/ui/dashboard", None).await;
    c.call(Method::GET, "/api/ui/dashboard/{id}/{widget}", &format!("/api/ui/dashboard/{KEY}/popular-tags"), None).await;
    c.call(Method::GET, "/api/ui/dashboard/{id}/{widget}", &format!("/api/ui/dashboard/{KEY}/nope"), None).await;
    let (_, page) = c.call(Method::GET, "/api/ui/pages/{id}/{path}", &format!("/api/ui/pages/{KEY}/tags"), None).await;
    c.call(Method::GET, "/api/ui/pages/{id}/{path}", &format!("/api/ui/pages/{KEY}/board"), None).await;
    c.call(Method::GET, "/api/ui/pages/{id}/", &format!("/api/ui/pages/{KEY}/"), None).await;
    c.call(Method::GET, "/api/ui/pages/{id}/{path}", &format!("/api/ui/pages/{KEY}/nope"), None).await;
    let signed = page["url"].as_str().expect("a handler page's url").to_owned();
    c.call(Method::GET, "/ext-pages/{id}/{path}", &signed, None).await;
    c.call(Method::GET, "/ext-pages/{id}/{path}", &signed.replace("t=", "t=x"), None).await;
    let proxy = "/api/ui/apiproxy/{id}";
    let url = format!("/api/ui/apiproxy/{KEY}");
    c.call(Method::POST, proxy, &url, Some(("application/json", br#"{"route":"/tags"}"#.to_vec()))).await;
    c.call(Method::POST, proxy, &url, Some(("application/json", br#"{"route":"/nope","method":"GET"}"#.to_vec()))).await;
    c.call(Method::POST, proxy, &url, Some(("application/json", br#"{"route":"tags"}"#.to_vec()))).await;
    c.call(Method::GET, "/api/extensions/{id}/{path}", &format!("/api/extensions/{KEY}/nope"), None).await;
    c.call(Method::POST, &format!("{t}/disable"), &format!("{ext}/disable"), None).await;
    c.call(Method::GET, "/api/extensions/{id}/{path}", &format!("/api/extensions/{KEY}/tags"), None).await;
    c.call(Method::DELETE, t, &format!("{ext}?purge=true"), None).await;
    c.call(Method::DELETE, t, &ext, None).await;

    assert!(c.problems.is_empty(), "answers disagree with /openapi.json:\n{}", c.problems.join("\n"));
}
