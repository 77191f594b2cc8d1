//! The bundle subcommands of `alga-ext`: validate, pack, keygen, sign, install, schema.

use std::path::{Path, PathBuf};

use alga_bundle::signing::PublisherKey;
use alga_bundle::{BundleError, BundleLimits, Files, InspectOptions, Inspection};
use anyhow::{bail, Context};
use serde_json::Value;

use crate::cli::{InstallArgs, KeygenArgs, PackArgs, SignArgs, ValidateArgs};

/// Reads a bundle from a directory or an archive file.
fn read_bundle(path: &Path, limits: &BundleLimits) -> Result<Files, BundleError> {
    if path.is_dir() {
        alga_bundle::pack::files_from_dir(path, limits)
    } else {
        let bytes = std::fs::read(path).map_err(|e| BundleError::Format(format!("cannot read {}: {e}", path.display())))?;
        alga_bundle::read_archive(&bytes, limits)
    }
}

/// Prints a refusal with every problem on its own line, and turns it into the exit error.
fn report(err: BundleError) -> anyhow::Error {
    for line in problem_lines(&err) {
        eprintln!("{line}");
    }
    anyhow::anyhow!("bundle refused ({})", err.code())
}

/// A refusal as lines: the code and count, then every problem (by JSON pointer or
/// file:line:col) indented under it.
pub(crate) fn problem_lines(err: &BundleError) -> Vec<String> {
    let details = err.details();
    let Some(problems) = details.get("problems").and_then(Value::as_array) else {
        return vec![format!("{}: {err}", err.code())];
    };
    let mut lines = vec![format!("{}: {} problem(s):", err.code(), problems.len())];
    for p in problems {
        let message = p["message"].as_str().unwrap_or("");
        lines.push(match (p.get("pointer").and_then(Value::as_str), p.get("file").and_then(Value::as_str)) {
            (Some(pointer), _) => format!("  {}: {message}", if pointer.is_empty() { "/" } else { pointer }),
            (_, Some(file)) => format!("  {file}:{}:{}: {message}", p["line"], p["column"]),
            _ => format!("  {message}"),
        });
    }
    lines
}

fn inspect(path: &Path, limits: BundleLimits) -> anyhow::Result<Inspection> {
    let options = InspectOptions { limits, ..Default::default() };
    read_bundle(path, &limits).and_then(|files| alga_bundle::inspect_files(files, None, &options)).map_err(report)
}

pub fn validate(args: &ValidateArgs) -> anyhow::Result<()> {
    let inspection = inspect(&args.path, args.bundles.limits())?;
    let m = &inspection.manifest;
    println!("ok: {} {} ({} files, bundle hash {})", m.id, m.version, inspection.files.len(), inspection.bundle_hash);
    if !m.permissions.is_empty() {
        println!("asks for: {}", m.permissions.join(", "));
    }
    for warning in &inspection.warnings {
        println!("warning: {warning}");
    }
    Ok(())
}

pub fn pack(args: &PackArgs) -> anyhow::Result<()> {
    let inspection = inspect(&args.dir, args.bundles.limits())?;
    for warning in &inspection.warnings {
        eprintln!("warning: {warning}");
    }
    let total = inspection.files.len();
    let mut done = 0;
    let zip = alga_bundle::pack::zip_files(&inspection.files, |path, size| {
        done += 1;
        eprintln!("[{done}/{total}] {path} ({size} bytes)");
    })
    .map_err(report)?;
    std::fs::write(&args.output, &zip).with_context(|| format!("cannot write {}", args.output.display()))?;
    println!("{}", args.output.display());
    println!("bundle hash: {}", inspection.bundle_hash);
    println!("sha256:      {}", alga_bundle::sha256_hex(&zip));
    println!("size:        {} bytes", zip.len());
    Ok(())
}

pub fn keygen(args: &KeygenArgs) -> anyhow::Result<()> {
    if args.key_id.is_empty() || !args.key_id.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)) {
        bail!("--key-id: use letters, digits and ._- only");
    }
    if args.output.exists() {
        bail!("--output: {} exists; refusing to overwrite a key", args.output.display());
    }
    let key = PublisherKey::generate(&args.key_id);
    write_private(&args.output, &serde_json::to_vec_pretty(&key)?)?;
    eprintln!("private key written to {} (keep it secret)", args.output.display());
    eprintln!("servers trust it with --trusted-keys (or ALGA_EXT_TRUSTED_KEYS):");
    println!("{}={}", key.key_id, key.public_key);
    Ok(())
}

fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(bytes)?;
    Ok(())
}

pub fn sign(args: &SignArgs) -> anyhow::Result<()> {
    let key_text = std::fs::read_to_string(&args.key).with_context(|| format!("--key: cannot read {}", args.key.display()))?;
    let key: PublisherKey = serde_json::from_str(&key_text).with_context(|| format!("--key: {} is not a key file", args.key.display()))?;
    // Sign only what would install: a signature on a broken bundle helps nobody.
    let inspection = inspect(&args.bundle, args.bundles.limits())?;
    let signature = key.sign(&inspection.bundle_hash).map_err(|e| anyhow::anyhow!("--key: {e}"))?;
    let output = args.output.clone().unwrap_or_else(|| sig_path(&args.bundle));
    std::fs::write(&output, serde_json::to_vec_pretty(&signature)?).with_context(|| format!("cannot write {}", output.display()))?;
    println!("{}", output.display());
    eprintln!("signed bundle hash {} with key {:?}", inspection.bundle_hash, key.key_id);
    Ok(())
}

fn sig_path(bundle: &Path) -> PathBuf {
    let mut name = bundle.as_os_str().to_owned();
    name.push(".sig");
    PathBuf::from(name)
}

pub async fn install(args: &InstallArgs) -> anyhow::Result<()> {
    let bytes = std::fs::read(&args.bundle).with_context(|| format!("cannot read {}", args.bundle.display()))?;
    let sig_file = args.signature.clone().or_else(|| Some(sig_path(&args.bundle)).filter(|p| p.exists()));
    let mut form = reqwest::multipart::Form::new().part("bundle", reqwest::multipart::Part::bytes(bytes).file_name("bundle"));
    if let Some(sig) = &sig_file {
        let text = std::fs::read_to_string(sig).with_context(|| format!("--signature: cannot read {}", sig.display()))?;
        form = form.text("signature", text);
    }
    let base = args.url.trim_end_matches('/');
    let client = reqwest::Client::new();
    let res = client
        .post(format!("{base}/admin/v1/extensions?force={}", args.force))
        .bearer_auth(&args.token)
        .multipart(form)
        .send()
        .await
        .with_context(|| format!("--url: cannot reach {base}"))?;
    let outcome = api_result(res).await?;
    print_review(&outcome);

    if args.approve || args.enable {
        let id = outcome["extension"]["id"].as_str().unwrap_or_default();
        if outcome["kind"] == "unchanged" && outcome["version"]["state"] != "pending" {
            println!("\nnothing to approve: this bundle is already installed");
            return Ok(());
        }
        let res = client
            .post(format!("{base}/admin/v1/extensions/{id}/approve"))
            .bearer_auth(&args.token)
            .json(&serde_json::json!({ "enable": args.enable }))
            .send()
            .await?;
        let approved = api_result(res).await?;
        let ext = &approved["extension"];
        println!(
            "\napproved: {} {} ({})",
            ext["key"].as_str().unwrap_or(""),
            ext["version"].as_str().unwrap_or(""),
            if ext["enabled"] == true { "enabled" } else { "not enabled yet" }
        );
    } else {
        let id = outcome["extension"]["id"].as_str().unwrap_or_default();
        println!("\nto approve: POST {base}/admin/v1/extensions/{id}/approve  (or rerun with --approve / --enable)");
    }
    Ok(())
}

pub(crate) async fn api_result(res: reqwest::Response) -> anyhow::Result<Value> {
    let status = res.status();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    if status.is_success() {
        return Ok(body);
    }
    let err = &body["error"];
    if let Some(problems) = err["details"]["problems"].as_array() {
        for p in problems {
            eprintln!(
                "  {}",
                p.get("pointer")
                    .or(p.get("file"))
                    .and_then(Value::as_str)
                    .map(|at| format!("{at}: {}", p["message"].as_str().unwrap_or("")))
                    .unwrap_or_else(|| p.to_string())
            );
        }
    }
    bail!("server answered {status}: {}: {}", err["code"].as_str().unwrap_or("?"), err["message"].as_str().unwrap_or("no message"))
}

fn strings(v: &Value) -> Vec<&str> {
    v.as_array().map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default()
}

fn print_review(outcome: &Value) {
    let m = &outcome["manifest"];
    let kind = outcome["kind"].as_str().unwrap_or("");
    println!(
        "{} {} — {}",
        m["name"].as_str().unwrap_or(""),
        m["version"].as_str().unwrap_or(""),
        match kind {
            "installed" => "uploaded, waiting for approval",
            "update" => "update uploaded, waiting for approval (the installed version keeps serving)",
            _ => "already uploaded, nothing changed",
        }
    );
    println!("id: {}", outcome["extension"]["id"].as_str().unwrap_or(""));
    let diff = &outcome["permissionDiff"];
    let added = strings(&diff["added"]);
    let removed = strings(&diff["removed"]);
    println!("\nit asks to:");
    for cap in strings(&outcome["requestedPermissions"]) {
        let new = if added.contains(&cap) && kind == "update" { "  (new)" } else { "" };
        println!("  - {}{new}", describe_capability(cap));
    }
    for cap in removed {
        println!("  - no longer: {}", describe_capability(cap));
    }
    for warning in strings(&outcome["warnings"]) {
        println!("warning: {warning}");
    }
}

/// Plain words for a capability, with its name, for admins without technical background.
fn describe_capability(cap: &str) -> String {
    format!("{} ({cap})", alga_bundle::catalog::describe(cap))
}

pub fn schema() -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(&alga_bundle::Manifest::json_schema())?);
    Ok(())
}
