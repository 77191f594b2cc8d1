//! `js/sdk/index.d.ts` held to what it describes: the runtime's `@alga/sdk` module (same
//! value exports, read from a real isolate), the error codes in the Rust sources (same
//! unions), and `docs/sdk.md` (every export explained).

use std::collections::BTreeSet;

use alga_ext::isolate::IsolateLimits;
use axum::http::Method;
use serde_json::Value;

use crate::dispatch::{install, send, state_with};
use crate::support::{admin_token, TestStore};

/// A file of the repository, by its path from the root.
fn repo_file(path: &str) -> String {
    let full = format!("{}/../{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("cannot read {full}: {e}"))
}

fn typings() -> String {
    repo_file("js/sdk/index.d.ts")
}

/// The names `index.d.ts` exports, as (value exports, type-only exports). Every top-level
/// `export` must be one of the forms read here, so that nothing is exported unseen.
fn exports(dts: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let (mut values, mut types) = (BTreeSet::new(), BTreeSet::new());
    for (number, line) in dts.lines().enumerate() {
        let Some(rest) = line.strip_prefix("export ") else {
            assert!(!line.trim_start().starts_with("export "), "line {}: indented export: {line}", number + 1);
            continue;
        };
        let rest = rest.strip_prefix("declare ").unwrap_or(rest);
        let rest = rest.strip_prefix("abstract ").unwrap_or(rest);
        let (keyword, rest) = rest.split_once(' ').unwrap_or_else(|| panic!("line {}: unreadable export: {line}", number + 1));
        let name: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '$').collect();
        assert!(!name.is_empty(), "line {}: export without a name: {line}", number + 1);
        match keyword {
            "function" | "class" | "const" | "let" | "var" | "enum" => values.insert(name),
            "type" | "interface" => types.insert(name),
            other => panic!("line {}: `export {other}` is a form this test does not read; use `export declare ...`: {line}", number + 1),
        };
    }
    (values, types)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_runtime_module_and_its_typings_export_the_same_values() {
    let db = TestStore::sqlite().await;
    let state = state_with(IsolateLimits::default(), &db);
    let source = "import * as sdk from \"@alga/sdk\";\nexport function names() { return { body: Object.keys(sdk) }; }\n";
    install(&state, "acme", "com.example.sdk-names", "1.0.0", source, &["names"]).await;
    let (status, _, body) = send(&state, Method::GET, "/api/extensions/com.example.sdk-names/names", &admin_token("acme"), None).await;
    assert_eq!(status, 200, "{body}");
    let runtime: BTreeSet<String> = body.as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect();
    let (typed, _) = exports(&typings());
    let untyped: Vec<_> = runtime.difference(&typed).collect();
    let missing: Vec<_> = typed.difference(&runtime).collect();
    assert!(untyped.is_empty(), "exported by runtime/src/isolate/sdk.js but not declared in js/sdk/index.d.ts: {untyped:?}");
    assert!(missing.is_empty(), "declared in js/sdk/index.d.ts but not exported by runtime/src/isolate/sdk.js: {missing:?}");
    // The module is the one the runtime documents: these are what authors are promised.
    for name in ["json", "html", "text", "redirect", "HttpError", "Response", "Headers"] {
        assert!(runtime.contains(name), "{name} is missing from @alga/sdk: {runtime:?}");
    }
}

#[test]
fn the_export_reader_sees_every_form_and_refuses_unknown_ones() {
    let (values, types) = exports("export declare function a(): void;\nexport declare class B {}\nexport declare const C: 1;\nexport type D = 1;\nexport interface E {}\n// export function notThis() {}\n * export function norThis\n");
    assert_eq!(values.into_iter().collect::<Vec<_>>(), ["B", "C", "a"]);
    assert_eq!(types.into_iter().collect::<Vec<_>>(), ["D", "E"]);
    assert!(std::panic::catch_unwind(|| exports("export { a };\n")).is_err(), "a re-export list is refused, not skipped");
    assert!(std::panic::catch_unwind(|| exports("export default a;\n")).is_err(), "a default export is refused, not skipped");
}

#[test]
fn the_reference_documents_every_export_of_the_typings() {
    let docs = repo_file("docs/sdk.md");
    let (values, types) = exports(&typings());
    let undocumented: Vec<_> = values.iter().chain(&types).filter(|name| !docs.contains(&format!("`{name}"))).collect();
    assert!(undocumented.is_empty(), "docs/sdk.md does not mention (as `{{name}}...`) these exports of js/sdk/index.d.ts: {undocumented:?}");
    let unions = ["RuntimeErrorCode", "StorageErrorCode", "ApiErrorCode", "FetchErrorCode"].map(|name| union(&typings(), name));
    let unlisted: Vec<_> = unions.iter().flatten().filter(|code| !docs.contains(&format!("`{code}`"))).collect();
    assert!(unlisted.is_empty(), "docs/sdk.md does not list these error codes: {unlisted:?}");
}

/// The members of `export type {name} =` followed by `| "A"` lines (doc comments between
/// them), up to the member that ends with `;`.
fn union(dts: &str, name: &str) -> BTreeSet<String> {
    let start = dts.find(&format!("export type {name} =")).unwrap_or_else(|| panic!("index.d.ts has no union {name}"));
    let mut members = BTreeSet::new();
    for line in dts[start..].lines().skip(1).map(str::trim) {
        let Some(member) = line.strip_prefix("| \"") else { continue };
        let (member, last) = match member.strip_suffix("\";") {
            Some(member) => (member, true),
            None => (member.strip_suffix('"').unwrap_or_else(|| panic!("{name}: unreadable member {line}")), false),
        };
        members.insert(member.to_owned());
        if last {
            return members;
        }
    }
    panic!("{name} does not end with a member followed by ;")
}

/// Quoted SCREAMING_SNAKE_CASE literals of a source file (`"NOT_FOUND"`, at least four
/// characters, HTTP methods aside): the codes it answers with.
fn codes_in(path: &str) -> BTreeSet<String> {
    const METHODS: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
    let source = repo_file(path);
    let is_code = |s: &str| {
        s.len() >= 4
            && !METHODS.contains(&s)
            && s.starts_with(|c: char| c.is_ascii_uppercase())
            && s.split('_').all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()))
    };
    let mut codes = BTreeSet::new();
    for (at, _) in source.match_indices('"') {
        let rest = &source[at + 1..];
        let end = rest.find(|c: char| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')).unwrap_or(rest.len());
        if rest[end..].starts_with('"') && is_code(&rest[..end]) {
            codes.insert(rest[..end].to_owned());
        }
    }
    codes
}

#[test]
fn the_error_code_unions_are_the_codes_the_runtime_uses() {
    let dts = typings();
    let storage = codes_in("ops/src/storage/error.rs");
    assert_eq!(union(&dts, "StorageErrorCode"), storage, "StorageErrorCode must list exactly StorageOpError::code()'s codes");
    let api: BTreeSet<String> = codes_in("ops/src/api/error.rs").into_iter().chain(codes_in("ops/src/api/00_api.js")).collect();
    assert_eq!(union(&dts, "ApiErrorCode"), api, "ApiErrorCode must list exactly ApiOpError::code()'s codes and those 00_api.js makes");
    assert_eq!(union(&dts, "FetchErrorCode"), codes_in("ops/src/fetch/error.rs"), "FetchErrorCode must list exactly FetchOpError::code()'s codes");
    // What the routes that reach an extension answer, and the shared error paths.
    let files = [
        "runtime/src/http/dispatch.rs",
        "runtime/src/http/ui.rs",
        "runtime/src/http/ui_assets.rs",
        "runtime/src/http/host_guard.rs",
        "runtime/src/http/extract.rs",
        "runtime/src/http/error.rs",
        "runtime/src/isolate/mod.rs",
    ];
    // Not answered to anyone: a build variable, and the label a thrown HttpError has in
    // metrics (its caller gets the author's own code).
    let not_codes = ["OUT_DIR", "HTTP_ERROR"];
    let runtime: BTreeSet<String> = files.iter().flat_map(|f| codes_in(f)).filter(|c| !not_codes.contains(&c.as_str())).collect();
    let typed = union(&dts, "RuntimeErrorCode");
    let untyped: Vec<_> = runtime.difference(&typed).collect();
    let stale: Vec<_> = typed.difference(&runtime).collect();
    assert!(untyped.is_empty(), "answered by the runtime but missing from RuntimeErrorCode in js/sdk/index.d.ts: {untyped:?}");
    assert!(stale.is_empty(), "in RuntimeErrorCode but answered nowhere in {files:?}: {stale:?}");
}

#[test]
fn the_package_points_editors_at_the_typings() {
    let package: Value = serde_json::from_str(&repo_file("js/sdk/package.json")).expect("package.json is JSON");
    assert_eq!(package["name"], "@alga/sdk");
    assert_eq!(package["types"], "index.d.ts");
    assert!(package.get("dependencies").is_none(), "the typings package has no runtime dependencies: {package}");
    let tsconfig = repo_file("js/sdk/tsconfig.extension.json");
    assert!(tsconfig.contains("\"WebWorker\"") && !tsconfig.contains("\"DOM\""), "an isolate's globals are a worker's, not a page's: {tsconfig}");
}
