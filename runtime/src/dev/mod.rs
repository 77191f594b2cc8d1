//! `alga-ext dev [DIR]`: the extension in DIR served by an embedded server, reloaded on every change, with its log in the terminal.
//
// The embedded server is `serve --dev` itself (SQLite and keys in `DIR/.alga/`, so data
// survives restarts), driven over its own HTTP API like any admin would: the extension is
// uploaded, approved and enabled for a dev tenant. A change uploads it again as the same
// version with a `-dev.<time>` pre-release suffix — versions stay immutable (each reload is a
// new version string, ordered after the last), the install id and so its storage stay the
// same, and a change the server refuses leaves the last good version serving.

mod frame;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{bail, Context};
use serde_json::{json, Value};

use crate::cli::DevArgs;

/// Who the dev server's token and its console link act for.
const DEV_TENANT: &str = "acme";
const DEV_USER: &str = "alice";
/// How often the folder is looked at. Polling, not file-system events: it behaves the same on
/// every file system (containers, network mounts, editors that replace files), and a
/// bundle is at most 2,000 files.
const POLL: Duration = Duration::from_millis(200);
/// Quiet time after a change before reloading, so an editor's save of several files is one reload.
const SETTLE: Duration = Duration::from_millis(120);

pub async fn run(args: DevArgs) -> anyhow::Result<()> {
    let dir = std::fs::canonicalize(&args.dir).with_context(|| format!("DIR {}: no such folder", args.dir.display()))?;
    let manifest = read_manifest(&dir)?;
    let key = manifest["id"].as_str().context("manifest.json: `id` is missing")?.to_owned();
    let data = dir.join(".alga");
    std::fs::create_dir_all(&data).with_context(|| format!("cannot create {}", data.display()))?;
    // The dev database and its token secret are the developer's alone.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o700)).with_context(|| format!("cannot restrict {}", data.display()))?;
    }
    let secret = dev_secret(&data)?;

    let listen = format!("127.0.0.1:{}", args.port);
    // Before anything is printed: with the port taken, the URLs and token below would point
    // at whatever holds it.
    if let Err(e) = std::net::TcpListener::bind(&listen) {
        bail!("--port (ALGA_EXT_DEV_PORT) {}: {e}; pick a free one, e.g. --port {}", args.port, args.port.wrapping_add(1).max(1024));
    }
    // A short grace: the log stream this command follows would hold a long one open to the end.
    let mut serve_args = vec![
        "alga-ext",
        "serve",
        "--dev",
        "--listen",
        &listen,
        "--jwt-secret",
        &secret,
        "--fetch-allow-private",
        "--shutdown-grace",
        "1s",
        "--embedded",
    ];
    let data_text = data.to_string_lossy().into_owned();
    // The database named outright: an `ALGA_EXT_DATABASE_URL` left in the shell (from running
    // `migrate`, say) must never turn a dev session loose on another database.
    let database = format!("sqlite://{}", data.join("alga-ext.db").display());
    serve_args.extend(["--data-dir", &data_text, "--database-url", &database]);
    warn_about_server_settings();
    // `ctx.api` answers offline: the built-in simulator of the host's API (fixture tickets,
    // companies, users, … with the real capability checks), unless a real host is named.
    // The runtime signs its calls with the JWT secret, which the simulator verifies.
    let simulator = match &args.host_api_url {
        Some(_) => None,
        None => Some(crate::simulator::Simulator::start(&secret).await.context("starting the host API simulator")?),
    };
    let host_api = args.host_api_url.clone().or_else(|| simulator.as_ref().map(crate::simulator::Simulator::url));
    if let Some(url) = &host_api {
        serve_args.extend(["--host-api-url", url]);
    }
    let cli = <crate::cli::Cli as clap::Parser>::try_parse_from(&serve_args).context("building the embedded server's settings")?;
    let crate::cli::Command::Serve(serve) = cli.command else { unreachable!("the arguments name `serve`") };
    let mut server = tokio::spawn(crate::serve::run(*serve));

    let base = format!("http://{listen}");
    let keys = crate::auth::TokenKeys::from_secret(secret.as_bytes());
    let tenant = alga_store::TenantId::parse(DEV_TENANT).expect("a valid tenant id");
    let token = keys.mint(&tenant, DEV_USER, &["admin".to_owned()], Duration::from_secs(12 * 3600))?;
    let client = reqwest::Client::new();
    wait_ready(&client, &base, &mut server, args.port).await?;

    let dev = Dev { dir: dir.clone(), base: base.clone(), token: token.clone(), client: client.clone(), key: key.clone() };
    let first = dev.deploy().await;
    let api_line = match (&simulator, &host_api) {
        (Some(sim), _) => format!("ctx.api: the host API simulator at {} (fixture tickets t-1001…t-1005, companies, users, …)", sim.url()),
        (None, Some(url)) => format!("ctx.api: the host at {url}"),
        (None, None) => "ctx.api: no host".into(),
    };
    print_urls(&dev, &secret, &api_line);
    if let Err(err) = first {
        eprintln!("\n{err:#}\n(fix it and save: the extension is loaded as soon as it passes)");
    }
    tokio::spawn(follow_logs(client.clone(), base.clone(), token.clone(), key.clone()));

    let mut seen = snapshot(&dir);
    let watch = async {
        loop {
            tokio::time::sleep(POLL).await;
            let now = snapshot(&dir);
            if now == seen {
                continue;
            }
            // Let a burst of saves finish, then reload once.
            tokio::time::sleep(SETTLE).await;
            seen = snapshot(&dir);
            let started = Instant::now();
            match dev.deploy().await {
                Ok(version) => eprintln!("reloaded {key} as {version} in {} ms", started.elapsed().as_millis()),
                Err(err) => eprintln!("\nnot reloaded — the last good version keeps serving:\n{err:#}\n"),
            }
        }
    };
    tokio::select! {
        () = watch => Ok(()),
        finished = &mut server => finished.context("the embedded server stopped")?.map_err(anyhow::Error::from),
    }
}

/// The running session's handles.
struct Dev {
    dir: PathBuf,
    base: String,
    token: String,
    client: reqwest::Client,
    key: String,
}

impl Dev {
    /// Packs the folder as a new dev version, uploads it, approves and enables it; answers
    /// the version now serving. A refusal comes back with every problem and its code frame.
    async fn deploy(&self) -> anyhow::Result<String> {
        let mut files = alga_bundle::pack::files_from_dir(&self.dir, &Default::default()).map_err(|e| anyhow::anyhow!("{e}"))?;
        let manifest_file = files.get("manifest.json").context("manifest.json is missing")?;
        let mut manifest: Value = serde_json::from_slice(&manifest_file.bytes).context("manifest.json is not JSON")?;
        let version = dev_version(manifest["version"].as_str().unwrap_or("0.0.0"));
        manifest["version"] = json!(version);
        files.insert("manifest.json".into(), alga_bundle::BundleFile::new(serde_json::to_vec_pretty(&manifest)?));
        let zip = alga_bundle::pack::zip_files(&files, |_, _| {}).map_err(|e| anyhow::anyhow!("{e}"))?;
        // `force`: going back to an older manifest version while developing is normal.
        let res = self
            .client
            .post(format!("{}/admin/v1/extensions?force=true", self.base))
            .bearer_auth(&self.token)
            .header("content-type", "application/zip")
            .body(zip)
            .send()
            .await?;
        let status = res.status();
        let body: Value = res.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            bail!("{}", self.describe_refusal(&body));
        }
        for warning in body["warnings"].as_array().into_iter().flatten() {
            eprintln!("warning: {}", warning.as_str().unwrap_or_default());
        }
        let id = body["extension"]["id"].as_str().unwrap_or_default().to_owned();
        let res = self
            .client
            .post(format!("{}/admin/v1/extensions/{id}/approve", self.base))
            .bearer_auth(&self.token)
            .json(&json!({ "enable": true }))
            .send()
            .await?;
        if !res.status().is_success() {
            let body: Value = res.json().await.unwrap_or(Value::Null);
            bail!("approving {version}: {}", body["error"]["message"].as_str().unwrap_or("refused"));
        }
        Ok(version)
    }

    /// A refused upload in words: each problem with its place and, for a file, its code frame.
    fn describe_refusal(&self, body: &Value) -> String {
        let error = &body["error"];
        let mut out = format!("{}: {}", error["code"].as_str().unwrap_or("ERROR"), error["message"].as_str().unwrap_or("refused"));
        for problem in error["details"]["problems"].as_array().into_iter().flatten() {
            let message = problem["message"].as_str().unwrap_or_default();
            match (problem["file"].as_str(), problem["pointer"].as_str()) {
                (Some(file), _) => {
                    let line = problem["line"].as_u64().unwrap_or(0) as usize;
                    let column = problem["column"].as_u64().unwrap_or(0) as usize;
                    out.push_str(&format!("\n  {file}:{line}:{column}: {message}\n"));
                    if let Some(frame) = frame::code_frame(&self.dir, file, line, column) {
                        out.push_str(&frame);
                    }
                }
                (None, Some(pointer)) => out.push_str(&format!("\n  manifest.json {pointer}: {message}")),
                (None, None) => out.push_str(&format!("\n  {message}")),
            }
        }
        out
    }
}

/// Server settings in the environment still reach the embedded server (CORS origins, admin
/// roles, limits, …), which is sometimes meant and often a surprise: say which.
fn warn_about_server_settings() {
    // What `dev` sets itself, or what only the CLI side reads.
    const OWN: &[&str] = &[
        "ALGA_EXT_LOG",
        "ALGA_EXT_LOG_FORMAT",
        "ALGA_EXT_WORKER_THREADS",
        "ALGA_EXT_DEV_PORT",
        "ALGA_EXT_HOST_API_URL",
        "ALGA_EXT_URL",
        "ALGA_EXT_TOKEN",
        "ALGA_EXT_JWT_SECRET",
        "ALGA_EXT_DATABASE_URL",
        "ALGA_EXT_DATA_DIR",
        "ALGA_EXT_LISTEN",
        "ALGA_EXT_DEV",
    ];
    let applied: Vec<String> =
        std::env::vars().map(|(name, _)| name).filter(|name| name.starts_with("ALGA_EXT_") && !OWN.contains(&name.as_str())).collect();
    if !applied.is_empty() {
        eprintln!("note: the embedded server also takes these settings from your environment: {}", applied.join(", "));
    }
}

/// `1.2.0` → `1.2.0-dev.<ms since the epoch>`: a new, later version string on every reload.
fn dev_version(version: &str) -> String {
    let stamp = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0);
    let base = version.split('+').next().unwrap_or(version);
    if base.contains('-') {
        format!("{base}.dev.{stamp}")
    } else {
        format!("{base}-dev.{stamp}")
    }
}

fn read_manifest(dir: &Path) -> anyhow::Result<Value> {
    let path = dir.join("manifest.json");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("{} has no manifest.json: is it an extension folder? (`alga-ext new NAME` makes one)", dir.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))
}

/// The dev server's token secret, kept in `.alga/` so tokens printed earlier keep working.
fn dev_secret(data: &Path) -> anyhow::Result<String> {
    let path = data.join("dev-secret");
    if let Ok(secret) = std::fs::read_to_string(&path) {
        if secret.trim().len() >= crate::auth::MIN_SECRET_BYTES {
            return Ok(secret.trim().to_owned());
        }
    }
    let mut raw = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut raw);
    let secret: String = raw.iter().map(|b| format!("{b:02x}")).collect();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    // Readable by the owner only from the moment it exists.
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&path).with_context(|| format!("cannot write {}", path.display()))?;
    std::io::Write::write_all(&mut file, secret.as_bytes()).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(secret)
}

async fn wait_ready(
    client: &reqwest::Client,
    base: &str,
    server: &mut tokio::task::JoinHandle<Result<(), crate::serve::ServeError>>,
    port: u16,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if server.is_finished() {
            let outcome = server.await.context("the embedded server stopped")?;
            outcome.with_context(|| format!("the embedded server did not start (--port {port}; is another server on it?)"))?;
            bail!("the embedded server stopped");
        }
        if client.get(format!("{base}/readyz")).send().await.is_ok_and(|r| r.status().is_success()) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!("the embedded server did not become ready within 20 s")
}

/// Every way to reach what the extension declares, for the author to click or paste.
fn print_urls(dev: &Dev, secret: &str, api_line: &str) {
    let manifest = read_manifest(&dev.dir).unwrap_or(Value::Null);
    let points = &manifest["extensionPoints"];
    let key = &dev.key;
    let base = &dev.base;
    eprintln!("\n{key} — dev server at {base} (data in {})", dev.dir.join(".alga").display());
    eprintln!("  token (tenant {DEV_TENANT}, user {DEV_USER}, role admin): export TOKEN={}", dev.token);
    eprintln!("  (ALGA_EXT_JWT_SECRET={secret} mints more: alga-ext token --tenant {DEV_TENANT} --user bob --roles technician)");
    for endpoint in points["endpoints"].as_array().into_iter().flatten() {
        let method = endpoint["method"].as_str().unwrap_or("GET");
        let path = endpoint["path"].as_str().unwrap_or("/");
        eprintln!("  {method:<6} {base}/api/extensions/{key}{path}");
    }
    for page in points["pages"].as_array().into_iter().flatten() {
        eprintln!("  page   {} — open it in {base}/demo", page["path"].as_str().unwrap_or("/"));
    }
    for widget in points["dashboardWidgets"].as_array().into_iter().flatten() {
        eprintln!("  widget {} — on the dashboard of {base}/demo", widget["id"].as_str().unwrap_or(""));
    }
    eprintln!("  demo host: {base}/demo (paste $TOKEN)    admin console: the sign-in link above, or {base}/admin");
    eprintln!("  curl -H \"Authorization: Bearer $TOKEN\" {base}/api/extensions/{key}/…");
    eprintln!("  {api_line}");
    eprintln!("watching {} — save a file to reload; Ctrl-C stops\n", dev.dir.display());
}

/// The extension's log, as it is written, in the terminal.
async fn follow_logs(client: reqwest::Client, base: String, token: String, key: String) {
    let started = chrono::Utc::now().to_rfc3339();
    loop {
        let url = format!("{base}/admin/v1/extensions/{key}/logs?follow=1&limit=1");
        if let Ok(mut res) = client.get(&url).bearer_auth(&token).send().await {
            if res.status().is_success() {
                // A broken stream ends like a closed one: look again below.
                let _ = crate::logs_cli::each_event(&mut res, |event, data| {
                    let entry: Value = serde_json::from_str(data).unwrap_or(Value::Null);
                    // The backlog's entry may predate this session.
                    if event == "log" && entry["at"].as_str().is_some_and(|at| at >= started.as_str()) {
                        eprintln!("{}", crate::logs_cli::format_entry(&entry, std::io::IsTerminal::is_terminal(&std::io::stderr())));
                    }
                })
                .await;
            }
        }
        // Not installed yet (a broken first version), or the stream ended: look again soon.
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Every file's modification time and size, skipping what is never part of the bundle.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (SystemTime, u64)> {
    let mut out = BTreeMap::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&current) else { continue };
        for entry in entries.flatten() {
            let name = entry.file_name();
            if name.to_str().is_some_and(|name| alga_bundle::pack::SKIPPED_DIRS.contains(&name)) {
                continue;
            }
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                pending.push(entry.path());
            } else {
                out.insert(entry.path(), (meta.modified().unwrap_or(SystemTime::UNIX_EPOCH), meta.len()));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_versions_are_later_pre_releases_of_the_manifest_version() {
        let v = semver::Version::parse(&dev_version("1.2.0")).unwrap();
        assert_eq!((v.major, v.minor, v.patch), (1, 2, 0));
        assert!(v.pre.as_str().starts_with("dev."), "{v}");
        let beta = dev_version("1.2.0-beta.1+build.5");
        assert!(beta.starts_with("1.2.0-beta.1.dev.") && !beta.contains('+'), "{beta}");
        let (a, b) = (semver::Version::parse(&dev_version("1.0.0")).unwrap(), {
            std::thread::sleep(Duration::from_millis(2));
            semver::Version::parse(&dev_version("1.0.0")).unwrap()
        });
        assert!(b > a);
    }
}
