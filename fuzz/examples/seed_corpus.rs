//! Writes the seed corpora of the fuzz targets (`fuzz/corpus/<target>/`) from the test cases:
//! `cd fuzz && cargo run --example seed_corpus`. The files are committed; run this again when
//! the cases change (it empties each corpus folder first).
//!
//! Sources: the bad-bundle cases (`tests/bundles/bad/`, archives built by the integration
//! tests' own `archives.rs`), the samples' manifests, and the token, search and import cases
//! of the unit and integration tests, written out again here as data.

use std::path::{Path, PathBuf};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Deserialize;
use serde_json::{json, Value};

#[path = "../../tests/it/archives.rs"]
#[allow(dead_code)]
mod archives;

/// Seeds stay small: bigger generated contents are cut to this many bytes.
const MAX_GENERATED: usize = 2048;
/// An expiry far ahead (2100-01-01), so token seeds stay valid.
const FAR: i64 = 4_102_444_800;
const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

/// Seeds of one target: (file name, bytes).
type Seeds = Vec<(String, Vec<u8>)>;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Replaces the corpus of `target` with `seeds` (name, bytes).
fn write(target: &str, seeds: Seeds) {
    let dir = root().join("fuzz/corpus").join(target);
    if dir.exists() {
        std::fs::remove_dir_all(&dir).unwrap();
    }
    std::fs::create_dir_all(&dir).unwrap();
    let (count, bytes) = (seeds.len(), seeds.iter().map(|(_, b)| b.len()).sum::<usize>());
    for (name, bytes) in seeds {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
    println!("{target}: {count} seeds, {bytes} bytes");
}

/// A bad-bundle case, as `tests/it/bad_bundles.rs` reads it.
#[derive(Deserialize)]
struct Case {
    #[serde(default = "zip")]
    format: String,
    raw: Option<String>,
    #[serde(default = "yes")]
    base: bool,
    manifest: Option<Value>,
    #[serde(default)]
    files: Vec<archives::Entry>,
}

fn zip() -> String {
    "zip".into()
}

fn yes() -> bool {
    true
}

/// The base manifest of `tests/it/bad_bundles.rs`.
fn base_manifest() -> Value {
    json!({
        "id": "com.example.case",
        "name": "Case",
        "version": "1.0.0",
        "main": "index.js",
        "extensionPoints": { "pages": [{ "path": "/home", "handler": "home" }] }
    })
}

/// RFC 7386 JSON merge patch.
fn merge(target: &mut Value, patch: &Value) {
    match (target.as_object_mut(), patch.as_object()) {
        (Some(target), Some(patch)) => {
            for (k, v) in patch {
                if v.is_null() {
                    target.remove(k);
                } else {
                    merge(target.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        _ => *target = patch.clone(),
    }
}

/// Every bad-bundle case as (name, case), with generated contents cut to `MAX_GENERATED`.
fn cases() -> Vec<(String, Case)> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(root().join("tests/bundles/bad"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let mut raw: Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
            for file in raw.get_mut("files").and_then(Value::as_array_mut).into_iter().flatten() {
                for field in ["zeros", "random", "repeat"] {
                    if let Some(n) = file[field].as_u64() {
                        file[field] = json!(n.min(if field == "repeat" { 8 } else { MAX_GENERATED as u64 }));
                    }
                }
            }
            (p.file_stem().unwrap().to_string_lossy().into_owned(), serde_json::from_value(raw).unwrap())
        })
        .collect()
}

/// The case's manifest and archive entries, as `tests/it/bad_bundles.rs` builds them.
fn entries(case: &Case) -> (Vec<u8>, Vec<(Vec<u8>, archives::Kind)>) {
    let mut manifest = base_manifest();
    if let Some(patch) = &case.manifest {
        merge(&mut manifest, patch);
    }
    let mut manifest_bytes = serde_json::to_vec_pretty(&manifest).unwrap();
    let mut entries = Vec::new();
    let overridden: Vec<&str> = case.files.iter().filter_map(|f| f.path.as_deref()).collect();
    if case.base {
        for (path, bytes) in [("manifest.json", manifest_bytes.clone()), ("index.js", b"export function home() { return '<p>hi</p>'; }".to_vec())] {
            if !overridden.contains(&path) {
                entries.push(archives::Entry::file(path, bytes));
            }
        }
    }
    for file in &case.files {
        let mut file = file.clone();
        if file.json == Some(json!("BASE_MANIFEST")) {
            file.json = Some(manifest.clone());
        }
        for (name, kind) in file.expand() {
            if let (b"manifest.json", archives::Kind::File(bytes)) = (name.as_slice(), &kind) {
                manifest_bytes = bytes.clone();
            }
            entries.push((name, kind));
        }
    }
    (manifest_bytes, entries)
}

fn manifest_and_archive_seeds() -> (Seeds, Seeds) {
    let (mut manifests, mut archives) = (Vec::new(), Vec::new());
    for (name, case) in cases() {
        if case.format == "raw" {
            archives.push((format!("{name}.raw"), case.raw.clone().unwrap_or_default().into_bytes()));
            continue;
        }
        let (manifest, entries) = entries(&case);
        if name.starts_with("manifest-") || name.starts_with("nul-") || name.starts_with("module-") {
            manifests.push((format!("{name}.json"), manifest));
        } else {
            let archive = if case.format == "tar.gz" { archives::tar_gz(&entries) } else { archives::zip(&entries) };
            archives.push((format!("{name}.{}", case.format), archive));
        }
    }
    // A valid bundle in both formats, and one wrapped in a folder (which is unwrapped).
    let base = entries(&Case { format: zip(), raw: None, base: true, manifest: None, files: Vec::new() }).1;
    archives.push(("valid.zip".into(), archives::zip(&base)));
    archives.push(("valid.tar.gz".into(), archives::tar_gz(&base)));
    let wrapped: Vec<_> = base.into_iter().map(|(name, kind)| ([&b"ext/"[..], &name].concat(), kind)).collect();
    archives.push(("wrapped.zip".into(), archives::zip(&wrapped)));
    // The samples' manifests: real ones, using every extension point.
    for sample in std::fs::read_dir(root().join("samples")).unwrap() {
        let dir = sample.unwrap().path();
        if let Ok(bytes) = std::fs::read(dir.join("manifest.json")) {
            manifests.push((format!("sample-{}.json", dir.file_name().unwrap().to_string_lossy()), bytes));
        }
    }
    (manifests, archives)
}

/// Token seeds, after the cases of `auth/src/lib.rs` and `auth/src/claims.rs`: mode byte 0
/// (an `Authorization` header), 1 (an EdDSA token), 2 (claims to sign), 3 (header NUL claims).
fn jwt_seeds() -> Seeds {
    let hs = |claims: &Value| jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &EncodingKey::from_secret(SECRET)).unwrap();
    let host_key = std::fs::read(root().join("tests/keys/host-ed25519.key")).unwrap();
    let ed = |claims: &Value| jsonwebtoken::encode(&Header::new(Algorithm::EdDSA), claims, &EncodingKey::from_ed_pem(&host_key).unwrap()).unwrap();
    let good = json!({ "tenant": "acme", "sub": "alice", "roles": ["admin"], "exp": FAR, "iat": 0 });
    let seed = |mode: u8, text: &[u8]| [&[mode][..], text].concat();
    let mut seeds = vec![
        ("header-valid".to_owned(), seed(0, format!("Bearer {}", hs(&good)).as_bytes())),
        ("header-expired".into(), seed(0, format!("Bearer {}", hs(&json!({ "tenant": "acme", "sub": "a", "exp": 1000 }))).as_bytes())),
        ("header-alg-none".into(), seed(0, b"Bearer eyJhbGciOiJub25lIn0.eyJ0ZW5hbnQiOiJhY21lIiwic3ViIjoiYSIsImV4cCI6OTk5OTk5OTk5OX0.")),
        ("header-basic".into(), seed(0, b"Basic abc")),
        ("eddsa-valid".into(), seed(1, ed(&good).as_bytes())),
        ("eddsa-given-hs256".into(), seed(1, hs(&good).as_bytes())),
        ("header-and-claims".into(), seed(3, [&br#"{"alg":"HS256","typ":"JWT"}"#[..], b"\0", good.to_string().as_bytes()].concat().as_slice())),
        ("header-alg-none-signed".into(), seed(3, [&br#"{"alg":"none"}"#[..], b"\0", good.to_string().as_bytes()].concat().as_slice())),
    ];
    let claims = [
        ("good", good.clone()),
        ("good-fractional-exp", json!({ "tenant": "a", "sub": "b", "exp": 4_102_444_800.5 })),
        ("nbf-ahead", json!({ "tenant": "acme", "sub": "a", "exp": FAR, "nbf": FAR })),
        ("exp-missing", json!({ "tenant": "acme", "sub": "a" })),
        ("exp-text", json!({ "tenant": "acme", "sub": "a", "exp": "tomorrow" })),
        ("exp-huge", json!({ "tenant": "acme", "sub": "a", "exp": 1e300 })),
        ("tenant-path", json!({ "tenant": "../etc", "sub": "a", "exp": FAR })),
        ("tenant-number", json!({ "tenant": 7, "sub": "a", "exp": FAR })),
        ("sub-newline", json!({ "tenant": "acme", "sub": "alice\n2024-01-01 INFO forged", "exp": FAR })),
        ("sub-bidi", json!({ "tenant": "acme", "sub": "a\u{202e}b", "exp": FAR })),
        ("roles-not-list", json!({ "tenant": "acme", "sub": "a", "roles": "admin", "exp": FAR })),
        ("roles-mixed", json!({ "tenant": "acme", "sub": "a", "roles": ["admin", 7, [""]], "exp": FAR })),
        ("aud", json!({ "tenant": "acme", "sub": "a", "exp": FAR, "aud": "billing" })),
        ("not-an-object", json!([1, 2])),
    ];
    seeds.extend(claims.into_iter().map(|(name, claims)| (format!("claims-{name}"), seed(2, claims.to_string().as_bytes()))));
    seeds
}

/// Filter lists as the SDK's `search()` sends them, after `tests/it/kv_conformance.rs`.
fn search_seeds() -> Seeds {
    let f = |path: &str, op: &str, value: Value| json!({ "path": path, "op": op, "value": value });
    let cases = [
        ("eq", json!([f("status", "eq", json!("open"))])),
        ("eq-and-range", json!([f("status", "eq", json!("open")), f("priority", "gte", json!(3))])),
        ("ranges", json!([f("priority", "lt", json!(3)), f("priority", "gt", json!("a")), f("n", "lte", json!(5.5))])),
        ("nested", json!([f("customer.name", "eq", json!("Globex"))])),
        ("bool-null-ne", json!([f("urgent", "eq", json!(true)), f("urgent", "ne", json!(true)), f("assignee", "eq", json!(null))])),
        ("exists", json!([f("assignee", "exists", json!(true)), f("gone", "exists", json!(false))])),
        ("refused-types", json!([f("a", "eq", json!([1])), f("a", "gt", json!(true)), f("a", "exists", json!(1))])),
        ("refused-paths", json!([f("a..b", "eq", json!(1)), f("a.b.c.d.e.f.g.h.i", "eq", json!(1)), f("a b", "eq", json!(1))])),
        ("refused-nul", json!([f("a\u{0}", "eq", json!("x\u{0}"))])),
        ("too-many", Value::Array((0..11).map(|i| f(&format!("f{i}"), "eq", json!(i))).collect())),
        ("unknown-op", json!([{ "path": "a", "op": "like", "value": "x" }])),
    ];
    cases.into_iter().map(|(name, filters)| (format!("{name}.json"), filters.to_string().into_bytes())).collect()
}

/// Import bodies after `tests/it/storage_admin.rs`, each led by the chunk-size byte.
fn jsonl_seeds() -> Seeds {
    let export = concat!(
        "{\"namespace\":\"\",\"key\":\"a\",\"value\":{\"n\":2,\"list\":[1,\"two\",null]},\"revision\":2}\n",
        "{\"namespace\":\"\",\"key\":\"é\",\"value\":[1.5,true],\"revision\":1}\n",
        "{\"namespace\":\"cache\",\"key\":\"b\",\"value\":\"text with \\\"quotes\\\"\\nand a newline\",\"revision\":1}\n",
        "{\"namespace\":\"x.y\",\"key\":\"ttl\",\"value\":5,\"revision\":1,\"expiresAt\":\"2100-01-01T00:00:00Z\"}\n",
    );
    let cases: [(&str, u8, &str); 8] = [
        ("export", 255, export),
        ("export-small-chunks", 6, export),
        ("broken-line", 3, "{\"key\":\"fine\",\"value\":1}\n{\"key\":\"broken\",\"value\":}\n"),
        ("duplicate-and-crlf", 9, "{\"key\":\"d\",\"value\":1}\r\n\r\n{\"key\":\"d\",\"value\":2}"),
        ("refused-names", 17, "{\"namespace\":\"no spaces\",\"key\":\"k\",\"value\":1}\n{\"key\":\"\",\"value\":1}\n"),
        ("refused-fields", 0, "{\"key\":\"k\",\"value\":1,\"extra\":true}\n{\"key\":\"k\",\"value\":1,\"revision\":0}\n"),
        ("nul-and-depth", 31, "{\"key\":\"k\\u0000\",\"value\":1}\n{\"key\":\"k\",\"value\":[[[[[[[[1]]]]]]]]}\n"),
        ("expired-and-numbers", 63, "{\"key\":\"old\",\"value\":1e308,\"expiresAt\":\"2000-01-01T00:00:00Z\"}\n{\"key\":\"n\",\"value\":-0.0}\n"),
    ];
    cases.into_iter().map(|(name, cut, body)| (format!("{name}.jsonl"), [&[cut][..], body.as_bytes()].concat())).collect()
}

fn main() {
    let (manifests, archives) = manifest_and_archive_seeds();
    write("manifest", manifests);
    write("archive", archives);
    write("jwt", jwt_seeds());
    write("search_filter", search_seeds());
    write("jsonl_import", jsonl_seeds());
}
