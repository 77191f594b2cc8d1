//! The HTTP part of `alga-bench`: hello-JSON req/s through the whole server with `wrk`,
//! and the same handler under `deno serve` and workerd when they are given.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use alga_store::{ConnectOptions, MaintenanceStore, SqliteStore, Store, TenantId};
use anyhow::{bail, Context};

use crate::BenchArgs;
use alga_ext::auth::TokenKeys;
use alga_ext::http::{app, AppState};
use alga_ext::registry::Registry;

const HELLO_JS: &str = "export default { fetch() { return Response.json({ hello: \"world\" }); } };\n";

/// Runs `wrk` against `url` and returns requests per second.
fn wrk(url: &str, seconds: u64, header: Option<&str>) -> anyhow::Result<f64> {
    let mut cmd = Command::new("wrk");
    cmd.args(["-t1", "-c32", &format!("-d{seconds}s")]);
    if let Some(h) = header {
        cmd.args(["-H", h]);
    }
    let out = cmd.arg(url).output().context("wrk is not installed (apt-get install wrk)")?;
    let text = String::from_utf8_lossy(&out.stdout);
    let non_2xx = text.lines().find(|l| l.contains("Non-2xx")).map(str::trim).unwrap_or("");
    if !non_2xx.is_empty() {
        bail!("{url}: {non_2xx}\n{text}");
    }
    text.lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .with_context(|| format!("cannot read wrk's output:\n{text}"))
}

async fn wait_for_port(port: u16) -> anyhow::Result<()> {
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!("nothing listens on port {port}")
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

pub async fn run(args: &BenchArgs) -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("alga-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let store = SqliteStore::connect(&ConnectOptions::new(format!("sqlite://{}", dir.join("bench.db").display()))).await?;
    store.migrate().await?;
    let store: Arc<dyn Store> = Arc::new(store);
    let registry = Arc::new(Registry::new(store, Default::default()));
    let tenant = TenantId::parse("bench")?;

    // Install the hello extension through the real pipeline.
    let (mut files, _) = crate::bench_bundle();
    let manifest = serde_json::json!({ "id": "com.bench.hello", "name": "Bench", "version": "1.0.0", "main": "index.js",
        "extensionPoints": { "endpoints": [{ "method": "GET", "path": "/hello", "handler": "hello" }] } });
    files.insert("manifest.json".into(), alga_bundle::BundleFile::new(serde_json::to_vec(&manifest)?));
    let zip = alga_bundle::pack::zip_files(&files, |_, _| {})?;
    let outcome = registry.upload(&tenant, "bench", zip, None, false).await?;
    registry.approve(&tenant, outcome.extension.id, None, true, "bench").await?;

    let secret = alga_ext::auth::generate_secret();
    let tokens = TokenKeys::from_secret(secret.as_bytes());
    let token = tokens.mint(&tenant, "bench", &["admin".into()], Duration::from_secs(3600))?;
    let state = AppState::new(registry, tokens, vec!["admin".into()]);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    // The production accept loop (header and idle timeouts, connection cap), as `serve` runs it.
    let options = alga_ext::serve::ServeOptions::default();
    tokio::spawn(async move { alga_ext::serve::serve_with(listener, app(state), std::future::pending(), options).await });
    let url = format!("http://{addr}/api/extensions/com.bench.hello/hello");
    let header = format!("Authorization: Bearer {token}");
    // Warm the isolate and the connection pool first.
    wrk(&url, 1, Some(&header))?;
    let ours = tokio::task::spawn_blocking({
        let (url, header, secs) = (url.clone(), header.clone(), args.http_seconds);
        move || wrk(&url, secs, Some(&header))
    })
    .await??;
    println!("alga-ext hello-JSON over HTTP (auth + routing + isolate): {ours:.0} req/s (wrk -t1 -c32 -d{}s)", args.http_seconds);

    std::fs::write(dir.join("hello.js"), HELLO_JS)?;
    for tool in &args.compare {
        let result = if tool.contains("workerd") { workerd(tool, &dir, args.http_seconds).await } else { deno(tool, &dir, args.http_seconds).await };
        match result {
            Ok(rps) => println!("{tool}: {rps:.0} req/s — alga-ext is {:.2}× of it", ours / rps),
            Err(e) => println!("{tool}: not measured: {e:#}"),
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

async fn measure_child(mut child: std::process::Child, port: u16, seconds: u64) -> anyhow::Result<f64> {
    let result = async {
        wait_for_port(port).await?;
        let url = format!("http://127.0.0.1:{port}/");
        wrk(&url, 1, None)?;
        tokio::task::spawn_blocking(move || wrk(&url, seconds, None)).await?
    }
    .await;
    let _ = child.kill();
    let _ = child.wait();
    result
}

async fn deno(binary: &str, dir: &Path, seconds: u64) -> anyhow::Result<f64> {
    let port = free_port()?;
    let child = Command::new(binary)
        .args(["serve", "--quiet", "--host", "127.0.0.1", "--port", &port.to_string()])
        .arg(dir.join("hello.js"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("cannot start {binary}"))?;
    measure_child(child, port, seconds).await
}

async fn workerd(binary: &str, dir: &Path, seconds: u64) -> anyhow::Result<f64> {
    let port = free_port()?;
    let config = format!(
        "using Workerd = import \"/workerd/workerd.capnp\";\n\
         const config :Workerd.Config = (\n  services = [ (name = \"main\", worker = .hello) ],\n  \
         sockets = [ (name = \"http\", address = \"127.0.0.1:{port}\", http = (), service = \"main\") ]\n);\n\
         const hello :Workerd.Worker = (\n  modules = [ (name = \"hello.js\", esModule = embed \"hello.js\") ],\n  \
         compatibilityDate = \"2024-09-01\",\n);\n"
    );
    std::fs::write(dir.join("hello.capnp"), config)?;
    let child = Command::new(binary)
        .arg("serve")
        .arg(dir.join("hello.capnp"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("cannot start {binary}"))?;
    measure_child(child, port, seconds).await
}
