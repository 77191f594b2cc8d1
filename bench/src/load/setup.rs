//! The extensions of `alga-bench load`: `tenants × per_tenant` installs through the admin API
//! of one node (upload, approve and enable, then a seed write), the last of the first tenant
//! being the CPU hog; and their removal afterwards.

use std::time::Duration;

use alga_ext::auth::TokenKeys;
use alga_store::TenantId;
use anyhow::{bail, Context};
use futures_util::future::try_join_all;
use serde_json::{json, Value};

/// Keys of the write class: each request writes one of these, so storage stays bounded.
pub const WRITE_KEYS: u32 = 64;

/// Users per tenant the load's tokens are minted for (the server caches each verified token).
const USERS: usize = 4;

/// A well-behaved extension: `hello` answers at once, `read` gets the key `seed` wrote at setup
/// (and fails loudly when it is missing), `write` sets one of a bounded set of keys.
fn well_behaved_js(tenant: &str, index: usize) -> String {
    format!(
        r#"// Load-test extension {index} of tenant {tenant}: one answer at once, one storage read, one write.
import {{ HttpError }} from "@alga/sdk";

export function hello() {{
  return {{ body: {{ hello: "world" }} }};
}}

export async function read(request, ctx) {{
  const seed = await ctx.storage.get("seed");
  if (seed === null) throw new HttpError(500, "SEED_MISSING", "the key written at setup is gone");
  return {{ body: {{ seed }} }};
}}

export async function write(request, ctx) {{
  const k = Number(request.body?.k) % {WRITE_KEYS};
  if (!Number.isInteger(k) || k < 0) throw new HttpError(400, "BAD_KEY", "k must be a non-negative integer");
  await ctx.storage.set(`k${{k}}`, {{ k, at: Date.now() }});
  return {{ body: {{ ok: true }} }};
}}

export async function seed(request, ctx) {{
  await ctx.storage.set("seed", {{ tenant: "{tenant}", extension: {index} }});
  return {{ body: {{ ok: true }} }};
}}
"#
    )
}

/// The hog: a handler that never returns, so every call runs into the CPU limit.
const HOG_JS: &str = "// Load-test CPU hog: every call spins until the CPU limit ends it.\nexport function spin() {\n  for (;;) {}\n}\n";

/// One installed extension: its id (for the admin API) and manifest key (for endpoint URLs).
#[derive(Debug, Clone)]
pub struct Install {
    pub id: String,
    pub key: String,
}

/// One tenant's installs and the tokens its load runs with.
#[derive(Debug, Clone)]
pub struct TenantSetup {
    pub tenant: TenantId,
    pub admin_token: String,
    pub user_tokens: Vec<String>,
    /// The well-behaved extensions (the hog is not among them).
    pub extensions: Vec<Install>,
}

/// Everything installed for a run.
#[derive(Debug, Clone)]
pub struct Setup {
    pub tenants: Vec<TenantSetup>,
    /// The CPU hog, installed in the first tenant.
    pub hog: Install,
}

fn bundle(key: &str, endpoints: Value, permissions: Value, js: String) -> anyhow::Result<Vec<u8>> {
    let manifest = json!({ "id": key, "name": format!("Load {key}"), "version": "1.0.0", "main": "index.js",
        "permissions": permissions, "extensionPoints": { "endpoints": endpoints } });
    let mut files = alga_bundle::Files::new();
    files.insert("manifest.json".into(), alga_bundle::BundleFile::new(serde_json::to_vec(&manifest)?));
    files.insert("index.js".into(), alga_bundle::BundleFile::new(js.into_bytes()));
    Ok(alga_bundle::pack::zip_files(&files, |_, _| {})?)
}

/// Sends one admin or endpoint request and wants `want`; the JSON answer.
async fn expect(request: reqwest::RequestBuilder, want: &[u16], what: &str) -> anyhow::Result<Value> {
    let response = request.send().await.with_context(|| what.to_owned())?;
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    if !want.contains(&status) {
        bail!("{what}: answered {status}: {body}");
    }
    Ok(body)
}

/// Uploads, approves with every permission it asks for and enables one bundle.
async fn install(http: &reqwest::Client, base: &str, token: &str, key: &str, zip: Vec<u8>) -> anyhow::Result<Install> {
    let uploaded = expect(
        http.post(format!("{base}/admin/v1/extensions")).bearer_auth(token).header("content-type", "application/zip").body(zip),
        &[201],
        &format!("upload of {key}"),
    )
    .await?;
    let id = uploaded["extension"]["id"].as_str().with_context(|| format!("upload of {key} answered no id: {uploaded}"))?.to_owned();
    expect(
        http.post(format!("{base}/admin/v1/extensions/{id}/approve")).bearer_auth(token).json(&json!({ "enable": true })),
        &[200],
        &format!("approve of {key}"),
    )
    .await?;
    Ok(Install { id, key: key.to_owned() })
}

/// Installs one tenant's extensions one after another (the hog last when `with_hog`) and
/// writes each well-behaved one's seed through its own endpoint.
async fn tenant_setup(
    http: &reqwest::Client,
    base: &str,
    keys: &TokenKeys,
    tenant: TenantId,
    per_tenant: usize,
    with_hog: bool,
    ttl: Duration,
) -> anyhow::Result<(TenantSetup, Option<Install>)> {
    let admin_token = keys.mint(&tenant, "load-admin", &["admin".to_owned()], ttl)?;
    let user_tokens = (0..USERS).map(|u| keys.mint(&tenant, &format!("user{u}"), &["member".to_owned()], ttl)).collect::<Result<Vec<_>, _>>()?;
    let endpoints = json!([
        { "method": "GET", "path": "/hello", "handler": "hello" },
        { "method": "GET", "path": "/read", "handler": "read" },
        { "method": "POST", "path": "/write", "handler": "write" },
        { "method": "POST", "path": "/seed", "handler": "seed" } ]);
    let well_behaved = if with_hog { per_tenant - 1 } else { per_tenant };
    let mut extensions = Vec::with_capacity(well_behaved);
    for index in 0..well_behaved {
        let key = format!("com.load.e{index}");
        let zip = bundle(&key, endpoints.clone(), json!(["storage:read", "storage:write"]), well_behaved_js(tenant.as_str(), index))?;
        let installed = install(http, base, &admin_token, &key, zip).await?;
        expect(
            http.post(format!("{base}/api/extensions/{key}/seed")).bearer_auth(&user_tokens[0]).json(&json!({})),
            &[200],
            &format!("seed of {key} in {tenant}"),
        )
        .await?;
        extensions.push(installed);
    }
    let hog = if with_hog {
        let zip = bundle("com.load.hog", json!([{ "method": "GET", "path": "/spin", "handler": "spin" }]), json!([]), HOG_JS.to_owned())?;
        Some(install(http, base, &admin_token, "com.load.hog", zip).await?)
    } else {
        None
    };
    Ok((TenantSetup { tenant, admin_token, user_tokens, extensions }, hog))
}

/// Installs everything through `base` (one node's admin API), the tenants side by side.
/// Tenant ids carry `run` so that runs on one database never meet.
pub async fn install_all(base: &str, keys: &TokenKeys, run: &str, tenants: usize, per_tenant: usize, ttl: Duration) -> anyhow::Result<Setup> {
    if tenants == 0 || per_tenant < 2 {
        bail!("the load needs at least one tenant and two extensions per tenant (one of them the hog)");
    }
    let http = reqwest::Client::builder().timeout(Duration::from_secs(60)).build()?;
    let jobs = (0..tenants).map(|t| {
        let tenant = TenantId::parse(&format!("{run}-t{t}"));
        let http = &http;
        async move { tenant_setup(http, base, keys, tenant?, per_tenant, t == 0, ttl).await }
    });
    let mut tenants = Vec::with_capacity(tenants);
    let mut hog = None;
    for (setup, hog_install) in try_join_all(jobs).await? {
        hog = hog.or(hog_install);
        tenants.push(setup);
    }
    Ok(Setup { tenants, hog: hog.context("the hog was not installed")? })
}

/// Uninstalls everything with its storage (`purge`), so a scratch database does not grow
/// with every run.
pub async fn remove_all(base: &str, setup: &Setup) -> anyhow::Result<()> {
    let http = reqwest::Client::builder().timeout(Duration::from_secs(60)).build()?;
    let jobs = setup.tenants.iter().map(|tenant| {
        let http = &http;
        let hog = (tenant.tenant == setup.tenants[0].tenant).then_some(&setup.hog);
        async move {
            for install in tenant.extensions.iter().chain(hog) {
                expect(
                    http.delete(format!("{base}/admin/v1/extensions/{}?purge=true", install.id)).bearer_auth(&tenant.admin_token),
                    &[204],
                    &format!("uninstall of {} in {}", install.key, tenant.tenant),
                )
                .await?;
            }
            anyhow::Ok(())
        }
    });
    try_join_all(jobs).await?;
    Ok(())
}

/// Lifts the hog's suspension (the circuit breaker's) as an admin would: `POST …/enable`.
pub async fn reenable(http: &reqwest::Client, base: &str, setup: &Setup) -> anyhow::Result<()> {
    let token = &setup.tenants[0].admin_token;
    expect(http.post(format!("{base}/admin/v1/extensions/{}/enable", setup.hog.id)).bearer_auth(token), &[200], "re-enable of the hog").await?;
    Ok(())
}
