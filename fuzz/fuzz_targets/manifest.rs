//! Fuzz target: `manifest.json` through the whole install-time check (`inspect_files`) of a
//! small fixed bundle, so the JSON Schema, the semantic rules, the raw checks of a manifest
//! that fails its schema, and the error's code and details all see the fuzzed bytes.
#![no_main]

use alga_bundle::{inspect_files, validate, BundleFile, Files};
use libfuzzer_sys::fuzz_target;

/// The other files: a main module exporting the handler names the seeds use, and an HTML
/// asset for static pages and widgets.
fn bundle(manifest: &[u8]) -> Files {
    let mut files = Files::new();
    for (path, bytes) in [
        ("manifest.json", manifest),
        ("index.js", &b"export function home() {} export function list() {} export const create = () => 1;"[..]),
        ("ui/index.html", b"<!doctype html><p>ui</p>"),
    ] {
        files.insert(path.to_owned(), BundleFile::new(bytes.to_vec()));
    }
    files
}

fuzz_target!(|data: &[u8]| {
    match inspect_files(bundle(data), None, &Default::default()) {
        Ok(inspection) => {
            // What was accepted is stored and parsed again later: it must pass again as it is.
            let again = validate::parse_manifest(&serde_json::to_vec(&inspection.manifest).unwrap());
            assert_eq!(again.ok().as_ref(), Some(&inspection.manifest), "an accepted manifest does not parse back to itself");
        }
        Err(err) => {
            // The HTTP answer is built from these.
            let _ = (err.code(), err.details(), err.to_string());
        }
    }
});
