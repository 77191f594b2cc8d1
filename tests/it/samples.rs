//! Every folder of `samples/`, end to end on SQLite and on PostgreSQL: packed by the CLI,
//! uploaded over real HTTP, approved and enabled, then driven by the script in its `e2e.json`
//! (calls with a user's roles, each checked for its status and a subset of its answer).
//!
//! The samples are found by listing the folder, so a new sample is covered as soon as it has
//! an `e2e.json`; a sample without one fails the run. The format is described in
//! `docs/samples.md`. Outbound `fetch()` goes to a stand-in server on a loopback port: the
//! script names the capability it replaces (`"fetchStandIn": "fetch:billing.example.com"`),
//! the harness packs a copy of the sample whose manifest asks for the stand-in's address
//! instead, and `${standIn}` is its base URL. `ctx.api` reaches the host API simulator
//! (`alga_ext::simulator`, docs/testing.md), a fresh one per sample.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use alga_ext::auth::TokenKeys;
use alga_ext::cli::HostApiArgs;
use alga_ext::http::AppState;
use alga_ext::registry::Registry;
use alga_ext::simulator::Simulator;
use alga_ops::fetch::{FetchClient, FetchConfig};
use alga_ops::storage::seal::Sealer;
use axum::extract::Request;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::support::{user_token, TestStore, SECRET};

const TENANT: &str = "acme";
const HOST_SECRET: &str = "samples-host-secret-samples-host-secret";

/// One sample's `e2e.json`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Script {
    /// What the script shows, for people reading it.
    #[serde(rename = "$comment")]
    _comment: Option<String>,
    /// A `fetch:<host>` capability of the manifest that the stand-in server replaces.
    fetch_stand_in: Option<String>,
    steps: Vec<Step>,
}

/// A call to the server, a pause, or a check of what the stand-in received.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Step {
    name: String,
    method: Option<String>,
    path: Option<String>,
    /// The token's user (default `alice`) and roles (default `["admin"]`).
    user: Option<String>,
    roles: Option<Vec<String>>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    /// A JSON body, or a raw one with its content type (JSON Lines for a storage import).
    body: Option<Value>,
    body_text: Option<String>,
    content_type: Option<String>,
    expect: Option<Expect>,
    /// Values of the answer kept for later steps as `${name}`: JSON pointers into its body.
    #[serde(default)]
    save: BTreeMap<String, String>,
    /// Keeps the answer's raw text as `${name}` (an export, to import it again).
    save_text: Option<String>,
    wait_ms: Option<u64>,
    /// The requests the stand-in received since the previous such check, in order.
    stand_in_received: Option<Vec<Value>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    status: u16,
    /// A subset of the JSON answer: objects may have more keys, arrays have these items.
    body: Option<Value>,
    /// The answer as JSON Lines, each line a subset as above.
    lines: Option<Vec<Value>>,
    /// Text the raw answer contains.
    contains: Option<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
}

/// The repository's root (the runtime crate's parent folder).
fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the runtime crate sits in the repository").to_owned()
}

/// The folders of `samples/` holding a manifest, in name order.
fn sample_dirs() -> Vec<PathBuf> {
    let root = repo_root().join("samples");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.join("manifest.json").is_file())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 5, "samples/ should hold the five samples, found {dirs:?}");
    dirs
}

/// A loopback server playing the outside service, recording what it receives. It answers
/// `201 {"id": "standin-N"}` (N counts its requests from 1), or the status a path under
/// `/status/<code>/` names.
#[derive(Clone, Default)]
struct StandIn {
    received: Arc<Mutex<Vec<Value>>>,
    answered: Arc<std::sync::atomic::AtomicUsize>,
}

impl StandIn {
    async fn start() -> (Self, String) {
        let this = StandIn::default();
        let (seen, answered) = (this.received.clone(), this.answered.clone());
        let app = axum::Router::new().fallback(move |request: Request| {
            let (seen, answered) = (seen.clone(), answered.clone());
            async move {
                let (parts, body) = request.into_parts();
                let bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap_or_default();
                let body = serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
                let headers: Map<String, Value> =
                    parts.headers.iter().map(|(n, v)| (n.as_str().to_owned(), Value::String(v.to_str().unwrap_or("").to_owned()))).collect();
                let path = parts.uri.path().to_owned();
                seen.lock().unwrap().push(json!({ "method": parts.method.as_str(), "path": path, "headers": headers, "body": body }));
                let number = answered.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                let status = path.strip_prefix("/status/").and_then(|rest| rest.split('/').next()?.parse().ok()).unwrap_or(201);
                let status = StatusCode::from_u16(status).unwrap_or(StatusCode::CREATED);
                (status, axum::Json(json!({ "id": format!("standin-{number}") })))
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        (this, format!("http://{addr}"))
    }

    fn take(&self) -> Vec<Value> {
        std::mem::take(&mut *self.received.lock().unwrap())
    }
}

/// The runtime's state: `ctx.api` answered by the host API simulator, encryption keys for
/// secret settings, and `fetch()` allowed to reach loopback addresses of granted hosts (the
/// stand-in).
fn state(db: &TestStore, simulator: &Simulator) -> AppState {
    let fetch = FetchClient::new(FetchConfig { allow_private: true, ..FetchConfig::default() }).unwrap();
    let sealer = Arc::new(Sealer::from_spec(&Sealer::generate_spec("e2e")).unwrap());
    let args = HostApiArgs {
        host_api_url: Some(simulator.url()),
        host_api_secret: Some(HOST_SECRET.into()),
        host_api_timeout: Duration::from_secs(10),
        host_api_max_response_bytes: 5 << 20,
    };
    let host_api = alga_ext::config::host_api(&args, SECRET).unwrap().expect("the simulator's URL gives a host API");
    let registry = Registry::new(db.store.clone(), Default::default()).with_fetch(fetch).with_sealer(sealer).with_host_api(host_api);
    AppState::new(Arc::new(registry), TokenKeys::from_secret(SECRET.as_bytes()), vec!["admin".into()])
}

/// Packs `dir` with `alga-ext pack`, as an author would; answers the zip's bytes.
fn pack(dir: &Path, out: &Path) -> Result<Vec<u8>, String> {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_alga-ext"));
    for (name, _) in std::env::vars().filter(|(name, _)| name.starts_with("ALGA_EXT_")) {
        cmd.env_remove(name);
    }
    let output = cmd.arg("pack").arg(dir).arg("-o").arg(out).output().map_err(|e| format!("alga-ext pack: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "alga-ext pack {} failed:\n{}{}",
            dir.display(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let zip = std::fs::read(out).map_err(|e| e.to_string())?;
    // What .algaignore must keep out: tests, the script, docs and editor settings.
    let files = alga_bundle::read_archive(&zip, &alga_bundle::BundleLimits::default()).map_err(|e| format!("{e:?}"))?;
    let stray: Vec<&String> = files
        .keys()
        .filter(|p| p.ends_with(".test.js") || p.ends_with(".test.ts") || *p == "e2e.json" || *p == "README.md" || *p == "tsconfig.json")
        .collect();
    if !stray.is_empty() {
        return Err(format!("the bundle of {} holds {stray:?}: list them in its .algaignore", dir.display()));
    }
    Ok(zip)
}

/// A copy of `dir` whose manifest asks for `replacement` instead of the capability `original`.
fn copy_with_capability(dir: &Path, into: &Path, original: &str, replacement: &str) -> Result<PathBuf, String> {
    let copy = into.join(dir.file_name().unwrap());
    let status = Command::new("cp").arg("-a").arg(dir).arg(&copy).status().map_err(|e| e.to_string())?;
    assert!(status.success(), "cp -a {}", dir.display());
    let path = copy.join("manifest.json");
    let mut manifest: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).map_err(|e| e.to_string())?;
    let permissions = manifest["permissions"].as_array_mut().ok_or("the manifest has no permissions")?;
    let slot = permissions.iter_mut().find(|p| *p == original).ok_or_else(|| format!("fetchStandIn: the manifest does not ask for {original}"))?;
    *slot = Value::String(replacement.to_owned());
    std::fs::write(&path, serde_json::to_vec_pretty(&manifest).unwrap()).unwrap();
    Ok(copy)
}

/// `${name}` replaced by saved values, in a string; an unknown name is an error naming it.
fn fill(text: &str, vars: &BTreeMap<String, String>) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}').ok_or_else(|| format!("unclosed ${{ in {text:?}"))? + start;
        let name = &rest[start + 2..end];
        let value = vars.get(name).ok_or_else(|| format!("${{{name}}} is not defined; defined: {:?}", vars.keys().collect::<Vec<_>>()))?;
        out.push_str(value);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// `fill` through every string of a JSON value.
fn fill_json(value: &Value, vars: &BTreeMap<String, String>) -> Result<Value, String> {
    Ok(match value {
        Value::String(s) => Value::String(fill(s, vars)?),
        Value::Array(items) => Value::Array(items.iter().map(|v| fill_json(v, vars)).collect::<Result<_, _>>()?),
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| Ok((k.clone(), fill_json(v, vars)?))).collect::<Result<_, String>>()?),
        other => other.clone(),
    })
}

/// Whether `actual` holds `expected`: every key of an expected object (recursively), arrays
/// item by item with the same length, numbers by value, the rest equal. Errors name the path.
fn subset(expected: &Value, actual: &Value, at: &str) -> Result<(), String> {
    match (expected, actual) {
        (Value::Object(want), Value::Object(have)) => {
            for (key, value) in want {
                let found = have.get(key).ok_or_else(|| format!("{at}/{key} is missing"))?;
                subset(value, found, &format!("{at}/{key}"))?;
            }
            Ok(())
        }
        (Value::Array(want), Value::Array(have)) if want.len() == have.len() => {
            want.iter().zip(have).enumerate().try_for_each(|(i, (w, h))| subset(w, h, &format!("{at}/{i}")))
        }
        (Value::Array(want), Value::Array(have)) => Err(format!("{at}: {} items expected, {} found", want.len(), have.len())),
        (Value::Number(want), Value::Number(have)) if want.as_f64() == have.as_f64() => Ok(()),
        (want, have) if want == have => Ok(()),
        (want, have) => Err(format!("{at}: expected {want}, found {have}")),
    }
}

/// Runs one HTTP step; answers an error naming what differed.
async fn call(client: &reqwest::Client, base: &str, step: &Step, vars: &mut BTreeMap<String, String>) -> Result<(), String> {
    let method = step.method.as_deref().unwrap_or("GET").parse::<reqwest::Method>().map_err(|e| e.to_string())?;
    let path = fill(step.path.as_deref().ok_or("a call needs a path")?, vars)?;
    let roles: Vec<&str> = step.roles.as_ref().map_or(vec!["admin"], |r| r.iter().map(String::as_str).collect());
    let token = user_token(TENANT, step.user.as_deref().unwrap_or("alice"), &roles);
    let mut request = client.request(method.clone(), format!("{base}{path}")).bearer_auth(token);
    for (name, value) in &step.headers {
        request = request.header(name, fill(value, vars)?);
    }
    request = match (&step.body, &step.body_text) {
        (Some(_), Some(_)) => return Err("give body or bodyText, not both".into()),
        (Some(body), None) => request.json(&fill_json(body, vars)?),
        (None, Some(text)) => request.header("content-type", step.content_type.as_deref().unwrap_or("text/plain")).body(fill(text, vars)?),
        (None, None) => request,
    };
    let response = request.send().await.map_err(|e| format!("{method} {path}: {e}"))?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.map_err(|e| e.to_string())?;
    let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    let answer = || format!("{method} {path} answered {status}: {}", text.chars().take(1500).collect::<String>());
    if let Some(expect) = &step.expect {
        if status != expect.status {
            return Err(format!("expected status {}; {}", expect.status, answer()));
        }
        if let Some(want) = &expect.body {
            subset(&fill_json(want, vars)?, &body, "").map_err(|e| format!("body{e}; {}", answer()))?;
        }
        if let Some(want) = &expect.lines {
            let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap_or(Value::Null)).collect();
            subset(&fill_json(&Value::Array(want.clone()), vars)?, &Value::Array(lines), "").map_err(|e| format!("lines{e}; {}", answer()))?;
        }
        if let Some(want) = &expect.contains {
            let want = fill(want, vars)?;
            if !text.contains(&want) {
                return Err(format!("the answer does not contain {want:?}; {}", answer()));
            }
        }
        for (name, want) in &expect.headers {
            let have = headers.get(name).and_then(|v| v.to_str().ok());
            if have != Some(fill(want, vars)?.as_str()) {
                return Err(format!("header {name}: expected {want:?}, found {have:?}; {}", answer()));
            }
        }
    }
    for (name, pointer) in &step.save {
        let value = body.pointer(pointer).ok_or_else(|| format!("save {name}: the answer has nothing at {pointer:?}; {}", answer()))?;
        vars.insert(name.clone(), value.as_str().map_or_else(|| value.to_string(), str::to_owned));
    }
    if let Some(name) = &step.save_text {
        vars.insert(name.clone(), text);
    }
    Ok(())
}

/// Installs one sample on `db` over HTTP and runs its script; answers the first failure.
async fn run_sample(dir: &Path, db: TestStore) -> Result<(), String> {
    let script_path = dir.join("e2e.json");
    let raw = std::fs::read(&script_path).map_err(|e| format!("{}: {e} (every sample needs an e2e.json)", script_path.display()))?;
    let script: Script = serde_json::from_slice(&raw).map_err(|e| format!("{}: {e}", script_path.display()))?;
    let manifest: Value = serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).map_err(|e| e.to_string())?;
    let key = manifest["id"].as_str().ok_or("manifest.json has no id")?.to_owned();

    let work = tempfile::tempdir().unwrap();
    let (stand_in, stand_in_url) = StandIn::start().await;
    let source = match &script.fetch_stand_in {
        Some(capability) => {
            let port = stand_in_url.rsplit(':').next().unwrap();
            copy_with_capability(dir, work.path(), capability, &format!("fetch:127.0.0.1:{port}"))?
        }
        None => dir.to_owned(),
    };
    let zip = pack(&source, &work.path().join("bundle.zip"))?;

    let simulator = Simulator::start(HOST_SECRET).await.map_err(|e| format!("the host API simulator: {e}"))?;
    let state = state(&db, &simulator);
    let (addr, _stop) = crate::wire::spawn(&state).await;
    let base = format!("http://{addr}");
    let client = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap();
    let admin = user_token(TENANT, "alice", &["admin"]);
    let uploaded =
        client.post(format!("{base}/admin/v1/extensions")).bearer_auth(&admin).header("content-type", "application/zip").body(zip).send().await;
    let uploaded = uploaded.map_err(|e| e.to_string())?;
    let status = uploaded.status().as_u16();
    let body: Value = uploaded.json().await.map_err(|e| e.to_string())?;
    if status != 201 {
        return Err(format!("upload answered {status}: {body}"));
    }
    let install_id = body["extension"]["id"].as_str().ok_or_else(|| format!("upload answer without an id: {body}"))?.to_owned();
    let approved =
        client.post(format!("{base}/admin/v1/extensions/{install_id}/approve")).bearer_auth(&admin).json(&json!({ "enable": true })).send().await;
    let approved = approved.map_err(|e| e.to_string())?;
    if approved.status() != 200 {
        return Err(format!("approve answered {}: {}", approved.status(), approved.text().await.unwrap_or_default()));
    }

    let mut vars = BTreeMap::from([("extensionId".to_owned(), key), ("installId".to_owned(), install_id), ("standIn".to_owned(), stand_in_url)]);
    for (index, step) in script.steps.iter().enumerate() {
        let kinds = [step.path.is_some(), step.wait_ms.is_some(), step.stand_in_received.is_some()];
        let outcome = match kinds {
            [true, false, false] => call(&client, &base, step, &mut vars).await,
            [false, true, false] => {
                tokio::time::sleep(Duration::from_millis(step.wait_ms.unwrap())).await;
                Ok(())
            }
            [false, false, true] => {
                let received = Value::Array(stand_in.take());
                let want = fill_json(&Value::Array(step.stand_in_received.clone().unwrap()), &vars)?;
                subset(&want, &received, "").map_err(|e| format!("stand-in received{e}: {received}"))
            }
            _ => Err("a step has exactly one of path (a call), waitMs or standInReceived".into()),
        };
        outcome.map_err(|e| format!("step {} ({}): {e}", index + 1, step.name))?;
    }
    Ok(())
}

async fn every_sample(postgres: bool) {
    let mut failures = Vec::new();
    for dir in sample_dirs() {
        let db = if postgres { TestStore::postgres().await } else { TestStore::sqlite().await };
        if let Err(e) = run_sample(&dir, db).await {
            failures.push(format!("{}: {e}", dir.file_name().unwrap().to_string_lossy()));
        }
    }
    assert!(failures.is_empty(), "{} sample(s) failed:\n{}", failures.len(), failures.join("\n\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_sample_installs_and_runs_its_script_on_sqlite() {
    every_sample(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_sample_installs_and_runs_its_script_on_postgres() {
    every_sample(true).await;
}

/// Pages vendor the Page SDK and the UI components into `ui/vendor/` (as `alga-ext new` does):
/// each copy must equal the file this repository serves, so a sample never ships a stale one.
#[test]
fn vendored_page_files_equal_their_sources() {
    let root = repo_root();
    let mut checked = 0;
    for dir in sample_dirs() {
        let Ok(entries) = std::fs::read_dir(dir.join("ui/vendor")) else { continue };
        for entry in entries {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let source = [root.join("js/ui").join(&name), root.join("js/page").join(&name)].into_iter().find(|p| p.is_file());
            let source = source.unwrap_or_else(|| panic!("{} is no file of js/ui or js/page: remove it", path.display()));
            assert!(
                std::fs::read(&path).unwrap() == std::fs::read(&source).unwrap(),
                "{} differs: cp {} {}",
                path.display(),
                source.display(),
                path.display()
            );
            checked += 1;
        }
    }
    assert!(checked >= 8, "billing-export vendors the Page SDK and the seven UI component files; found {checked} files");
}

/// The harness itself: a subset check that cannot tell a wrong answer from a right one would
/// pass every script.
#[test]
fn the_subset_check_refuses_what_differs() {
    let have = json!({ "a": 1, "b": [1, { "c": "x", "d": true }], "e": null });
    assert!(subset(&json!({ "b": [1, { "c": "x" }] }), &have, "").is_ok());
    assert!(subset(&json!({ "a": 1.0 }), &have, "").is_ok(), "numbers compare by value");
    assert_eq!(subset(&json!({ "b": [1] }), &have, ""), Err("/b: 1 items expected, 2 found".into()));
    assert_eq!(subset(&json!({ "b": [1, { "c": "y" }] }), &have, ""), Err("/b/1/c: expected \"y\", found \"x\"".into()));
    assert_eq!(subset(&json!({ "f": null }), &have, ""), Err("/f is missing".into()));
    let vars = BTreeMap::from([("id".to_owned(), "n-1".to_owned())]);
    assert_eq!(fill("/notes/${id}/history", &vars).unwrap(), "/notes/n-1/history");
    assert!(fill("/notes/${nope}", &vars).unwrap_err().contains("${nope} is not defined"));
}
