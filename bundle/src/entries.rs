//! The manifest rules of static entries: a page or dashboard widget is rendered by a handler
//! or is a static HTML asset (`entry`), and an entry is an `.html` file the `assets` globs
//! cover, so `/ext-ui/...` can serve it.

use crate::manifest::Manifest;
use crate::{Files, Problem};

/// A page or widget is either rendered by a handler or a static HTML entry, never both or
/// neither.
pub(crate) fn check_target(at: String, what: &str, handler: bool, entry: bool, p: &mut Vec<Problem>) {
    let message = match (handler, entry) {
        (true, true) => format!("a {what} declares either \"handler\" or \"entry\", not both"),
        (false, false) => format!("a {what} needs \"handler\" (rendered by the extension) or \"entry\" (a static HTML asset)"),
        _ => return,
    };
    p.push(Problem::new(at, "target", message));
}

/// Static entries must be HTML files of the bundle that its `assets` globs cover, named by
/// a plain relative path (what `/ext-ui/...` serves is exactly the asset files).
pub(crate) fn check_entries(m: &Manifest, files: &Files, p: &mut Vec<Problem>) {
    let assets = crate::asset_matcher(&m.assets);
    for (pointer, entry) in m.entry_refs() {
        let path = entry.trim_start_matches("./");
        let plain = !path.is_empty()
            && !path.starts_with('/')
            && !path.contains('\\')
            && path.split('/').all(|segment| !segment.is_empty() && segment != "." && segment != "..");
        if !plain {
            p.push(Problem::new(pointer, "entry_path", format!("{entry:?} must be a relative path inside the bundle, like \"ui/index.html\"")));
        } else if !(path.ends_with(".html") || path.ends_with(".htm")) {
            p.push(Problem::new(pointer, "entry_type", format!("{entry:?} must be an .html file")));
        } else if !files.contains_key(path) {
            p.push(Problem::new(pointer, "missing_file", format!("{entry:?} is not in the bundle")));
        } else if !assets.is_match(path) {
            p.push(Problem::new(pointer, "entry_not_asset", format!("{entry:?} is not covered by the \"assets\" globs, so it would not be served")));
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use crate::{BundleError, BundleFile, Files};

    /// Inspects a bundle of `index.js`, `ui/index.html`, `ui/app.js` and `server/page.html`
    /// whose manifest is the base one with `pages`, `widgets` and `assets` replaced.
    fn problems(pages: Value, widgets: Value, assets: Value) -> Vec<(String, String)> {
        let manifest = json!({
            "id": "com.example.ui", "name": "UI", "version": "1.0.0", "main": "index.js",
            "extensionPoints": { "pages": pages, "dashboardWidgets": widgets }, "assets": assets,
        });
        let mut files = Files::new();
        for (path, bytes) in [
            ("manifest.json", serde_json::to_vec(&manifest).unwrap()),
            ("index.js", b"export function home() { return '<p>hi</p>'; }".to_vec()),
            ("ui/index.html", b"<!doctype html>".to_vec()),
            ("ui/app.js", b"console.log(1)".to_vec()),
            ("server/page.html", b"<p>".to_vec()),
        ] {
            files.insert(path.to_owned(), BundleFile::new(bytes));
        }
        match crate::inspect_files(files, None, &Default::default()) {
            Ok(_) => Vec::new(),
            Err(BundleError::ManifestInvalid(list, _)) => list.into_iter().map(|p| (p.pointer, p.rule.to_owned())).collect(),
            Err(other) => panic!("unexpected error {other}"),
        }
    }

    #[test]
    fn pages_and_widgets_declare_exactly_one_of_handler_and_entry_naming_the_pointer() {
        let ui = json!(["ui/**"]);
        // (name, pages, widgets, assets, the one expected problem as (pointer, rule)).
        type Case = (&'static str, Value, Value, Value, Option<(&'static str, &'static str)>);
        let cases: Vec<Case> = vec![
            ("static page", json!([{ "path": "/a", "entry": "ui/index.html" }]), json!([]), ui.clone(), None),
            ("./ prefix", json!([{ "path": "/a", "entry": "./ui/index.html" }]), json!([]), ui.clone(), None),
            ("handler page", json!([{ "path": "/a", "handler": "home" }]), json!([]), json!([]), None),
            ("frame widget", json!([]), json!([{ "id": "w", "title": "W", "size": "small", "entry": "ui/index.html" }]), ui.clone(), None),
            (
                "both",
                json!([{ "path": "/a", "handler": "home", "entry": "ui/index.html" }]),
                json!([]),
                ui.clone(),
                Some(("/extensionPoints/pages/0", "target")),
            ),
            ("neither", json!([{ "path": "/a" }]), json!([]), ui.clone(), Some(("/extensionPoints/pages/0", "target"))),
            (
                "widget neither",
                json!([]),
                json!([{ "id": "w", "title": "W", "size": "small" }]),
                ui.clone(),
                Some(("/extensionPoints/dashboardWidgets/0", "target")),
            ),
            (
                "missing file",
                json!([{ "path": "/a", "entry": "ui/nope.html" }]),
                json!([]),
                ui.clone(),
                Some(("/extensionPoints/pages/0/entry", "missing_file")),
            ),
            (
                "not an asset",
                json!([{ "path": "/a", "entry": "server/page.html" }]),
                json!([]),
                ui.clone(),
                Some(("/extensionPoints/pages/0/entry", "entry_not_asset")),
            ),
            (
                "not html",
                json!([{ "path": "/a", "entry": "ui/app.js" }]),
                json!([]),
                ui.clone(),
                Some(("/extensionPoints/pages/0/entry", "entry_type")),
            ),
            (
                "climbs out",
                json!([{ "path": "/a", "entry": "ui/../server/page.html" }]),
                json!([]),
                json!(["**"]),
                Some(("/extensionPoints/pages/0/entry", "entry_path")),
            ),
            (
                "absolute",
                json!([{ "path": "/a", "entry": "/ui/index.html" }]),
                json!([]),
                ui.clone(),
                Some(("/extensionPoints/pages/0/entry", "entry_path")),
            ),
            (
                "widget entry not an asset",
                json!([]),
                json!([{ "id": "w", "title": "W", "size": "small", "entry": "server/page.html" }]),
                ui.clone(),
                Some(("/extensionPoints/dashboardWidgets/0/entry", "entry_not_asset")),
            ),
        ];
        for (name, pages, widgets, assets, expected) in cases {
            let found = problems(pages, widgets, assets);
            match expected {
                None => assert!(found.is_empty(), "{name}: {found:?}"),
                Some((pointer, rule)) => {
                    assert_eq!(found, vec![(pointer.to_owned(), rule.to_owned())], "{name}");
                }
            }
        }
    }
}
