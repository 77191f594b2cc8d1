//! Manifest validation: the JSON Schema first (shape and types), then the rules a schema
//! cannot express. Every problem is reported at once, each with a JSON pointer.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::js::ModuleInfo;
use crate::manifest::{Manifest, SettingDef, SettingType};
use crate::{catalog, BundleError, Files, Problem};

/// Parses `manifest.json` and checks it against the published schema.
pub fn parse_manifest(bytes: &[u8]) -> Result<Manifest, BundleError> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| BundleError::ManifestParse(e.to_string()))?;
    let schema = Manifest::json_schema();
    let validator = jsonschema::validator_for(&schema).map_err(|e| BundleError::ManifestParse(format!("internal schema error: {e}")))?;
    let mut problems: Vec<Problem> =
        validator.iter_errors(&value).map(|e| Problem::new(e.instance_path().to_string(), "schema", schema_message(&e))).collect();
    nul_problems(&value, String::new(), &mut problems);
    if !problems.is_empty() {
        problems.sort_by(|a, b| a.pointer.cmp(&b.pointer));
        problems.dedup();
        return Err(BundleError::ManifestInvalid(problems, Vec::new()));
    }
    serde_json::from_value(value).map_err(|e| BundleError::ManifestInvalid(vec![Problem::new("", "schema", e.to_string())], Vec::new()))
}

/// The rules beyond the schema that can be read off the raw manifest, for one that does not
/// fit its schema (so it cannot be parsed): capabilities in the catalog and handlers exported
/// by `main`. The author then sees these with the schema's problems, in one round.
pub fn raw_checks(manifest: &Value, modules: &BTreeMap<String, ModuleInfo>) -> Vec<Problem> {
    let mut p = Vec::new();
    for (i, cap) in manifest["permissions"].as_array().into_iter().flatten().enumerate() {
        if let Some(cap) = cap.as_str() {
            if let Err(message) = catalog::lookup(cap) {
                p.push(Problem::new(format!("/permissions/{i}"), "unknown_capability", message));
            }
        }
    }
    let Some(main) = manifest["main"].as_str() else { return p };
    let Some(exports) = main_exports(main.trim_start_matches("./"), modules) else { return p };
    for kind in ["endpoints", "pages", "dashboardWidgets"] {
        for (i, point) in manifest["extensionPoints"][kind].as_array().into_iter().flatten().enumerate() {
            if let Some(handler) = point["handler"].as_str() {
                if !exports.contains(handler) {
                    let pointer = format!("/extensionPoints/{kind}/{i}/handler");
                    p.push(Problem::new(pointer, "missing_export", format!("the main module {main:?} does not export {handler:?}")));
                }
            }
        }
    }
    p
}

/// Warnings about extension points no permission guards: each is open to every user of the
/// tenant, which is sometimes meant (a public widget) and often an oversight.
pub fn open_point_warnings(m: &Manifest) -> Vec<String> {
    let points = &m.extension_points;
    let open = |kind: &str, i: usize, what: String| {
        format!("/extensionPoints/{kind}/{i} ({what}) has no \"permission\": every user of the tenant may reach it")
    };
    let mut out = Vec::new();
    for (i, e) in points.endpoints.iter().enumerate().filter(|(_, e)| e.permission.is_none()) {
        out.push(open("endpoints", i, format!("{} {}", e.method.as_str(), e.path)));
    }
    for (i, p) in points.pages.iter().enumerate().filter(|(_, p)| p.permission.is_none()) {
        out.push(open("pages", i, format!("page {}", p.path)));
    }
    for (i, w) in points.dashboard_widgets.iter().enumerate().filter(|(_, w)| w.permission.is_none()) {
        out.push(open("dashboardWidgets", i, format!("widget {}", w.id)));
    }
    for (i, n) in points.navigation.iter().enumerate().filter(|(_, n)| n.permission.is_none()) {
        out.push(open("navigation", i, format!("navigation item {}", n.id)));
    }
    out
}

/// A schema problem in words. An `enum` lists every valid choice (the library's own message
/// shows two and counts the rest), so an author can pick one without opening the schema.
fn schema_message(error: &jsonschema::ValidationError<'_>) -> String {
    if let jsonschema::error::ValidationErrorKind::Enum { options } = error.kind() {
        if let Some(choices) = options.as_array() {
            let listed: Vec<String> = choices.iter().map(Value::to_string).collect();
            return format!("{} is not one of the valid choices: {}", error.instance(), listed.join(", "));
        }
    }
    error.to_string()
}

/// NUL anywhere in the manifest's text: PostgreSQL cannot store it (and no name, id or
/// label needs one). Iterative, so nesting cannot exhaust the stack.
fn nul_problems(value: &Value, pointer: String, problems: &mut Vec<Problem>) {
    let mut stack = vec![(value, pointer)];
    while let Some((value, pointer)) = stack.pop() {
        match value {
            Value::String(text) if text.contains('\0') => problems.push(Problem::new(pointer, "nul", "text cannot contain NUL characters")),
            Value::Array(items) => stack.extend(items.iter().enumerate().map(|(i, v)| (v, format!("{pointer}/{i}")))),
            Value::Object(fields) => {
                for (name, v) in fields {
                    let at = format!("{pointer}/{}", name.replace('~', "~0").replace('/', "~1"));
                    if name.contains('\0') {
                        problems.push(Problem::new(at.clone(), "nul", "names cannot contain NUL characters"));
                    }
                    stack.push((v, at));
                }
            }
            _ => {}
        }
    }
}

/// The rules beyond the schema, checked against the bundle's files and the main module's
/// exports. Returns every problem found.
pub fn check_manifest(m: &Manifest, files: &Files, exports: Option<&BTreeSet<String>>) -> Vec<Problem> {
    let mut p = Vec::new();
    check_versions(m, &mut p);
    check_main(m, files, &mut p);
    check_capabilities(m, &mut p);
    check_extension_points(m, exports, &mut p);
    crate::entries::check_entries(m, files, &mut p);
    check_settings(&m.settings, &mut p);
    check_assets(&m.assets, files, &mut p);
    check_storage(m, &mut p);
    p
}

/// Namespace names follow the storage ops' rule (at most 64 of `[A-Za-z0-9._-]`), and every
/// schema must compile.
fn check_storage(m: &Manifest, p: &mut Vec<Problem>) {
    for (namespace, schema) in &m.storage.schemas {
        let pointer = format!("/storage/schemas/{}", namespace.replace('~', "~0").replace('/', "~1"));
        if namespace.chars().count() > 64 || !namespace.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)) {
            p.push(Problem::new(
                pointer.clone(),
                "storage_namespace",
                format!("namespace {namespace:?} must be at most 64 characters of [A-Za-z0-9._-]"),
            ));
        }
        if let Err(e) = jsonschema::validator_for(schema) {
            p.push(Problem::new(pointer, "storage_schema", format!("not a usable JSON Schema: {e}")));
        }
    }
}

fn check_versions(m: &Manifest, p: &mut Vec<Problem>) {
    if let Err(e) = semver::Version::parse(&m.version) {
        p.push(Problem::new("/version", "semver", format!("{:?} is not a semantic version: {e}", m.version)));
    }
    if let Some(range) = &m.engines.alga {
        match semver::VersionReq::parse(range) {
            Err(e) => p.push(Problem::new("/engines/alga", "engines_range", format!("{range:?} is not a semver range: {e}"))),
            Ok(req) => {
                let host = semver::Version::parse(catalog::HOST_API_VERSION).expect("host API version is valid semver");
                if !req.matches(&host) {
                    p.push(Problem::new(
                        "/engines/alga",
                        "engines_incompatible",
                        format!("requires host API {range}, but this runtime offers {host}"),
                    ));
                }
            }
        }
    }
}

fn check_main(m: &Manifest, files: &Files, p: &mut Vec<Problem>) {
    if !crate::js::is_module_path(&m.main) {
        p.push(Problem::new("/main", "main_type", format!("{:?} must be a .js, .mjs or .ts module", m.main)));
    } else if !files.contains_key(m.main.trim_start_matches("./")) {
        p.push(Problem::new("/main", "missing_file", format!("{:?} is not in the bundle", m.main)));
    }
}

fn check_capabilities(m: &Manifest, p: &mut Vec<Problem>) {
    let mut seen = BTreeSet::new();
    for (i, cap) in m.permissions.iter().enumerate() {
        if let Err(message) = catalog::lookup(cap) {
            p.push(Problem::new(format!("/permissions/{i}"), "unknown_capability", message));
        } else if !seen.insert(cap) {
            p.push(Problem::new(format!("/permissions/{i}"), "duplicate", format!("{cap:?} is listed twice")));
        }
    }
    let mut names = BTreeSet::new();
    for (i, up) in m.user_permissions.iter().enumerate() {
        if !names.insert(&up.name) {
            p.push(Problem::new(format!("/userPermissions/{i}/name"), "duplicate", format!("{:?} is defined twice", up.name)));
        }
        for (j, role) in up.default_roles.iter().enumerate() {
            if role.trim().is_empty() {
                p.push(Problem::new(format!("/userPermissions/{i}/defaultRoles/{j}"), "empty", "role names must not be empty"));
            }
        }
    }
}

fn check_extension_points(m: &Manifest, exports: Option<&BTreeSet<String>>, p: &mut Vec<Problem>) {
    let ep = &m.extension_points;
    let user_permissions: BTreeSet<&str> = m.user_permissions.iter().map(|u| u.name.as_str()).collect();
    let check_permission = |pointer: String, permission: &Option<String>, p: &mut Vec<Problem>| {
        if let Some(name) = permission {
            if !user_permissions.contains(name.as_str()) {
                p.push(Problem::new(pointer, "unknown_permission", format!("{name:?} is not declared in userPermissions")));
            }
        }
    };

    let mut ids = BTreeMap::new();
    let mut unique_id = |pointer: String, id: &str, p: &mut Vec<Problem>| {
        if let Some(first) = ids.insert(id.to_owned(), pointer.clone()) {
            p.push(Problem::new(pointer, "duplicate", format!("id {id:?} is already used at {first}")));
        }
    };

    let mut page_shapes = BTreeMap::new();
    for (i, page) in ep.pages.iter().enumerate() {
        let at = format!("/extensionPoints/pages/{i}");
        match route_shape(&page.path) {
            Err(message) => p.push(Problem::new(format!("{at}/path"), "route_syntax", message)),
            Ok(shape) => {
                if let Some(first) = page_shapes.insert(shape, i) {
                    p.push(Problem::new(format!("{at}/path"), "duplicate", format!("route {:?} clashes with pages/{first}", page.path)));
                }
            }
        }
        check_permission(format!("{at}/permission"), &page.permission, p);
        crate::entries::check_target(at, "page", page.handler.is_some(), page.entry.is_some(), p);
    }
    let page_paths: BTreeSet<&str> = ep.pages.iter().map(|pg| pg.path.as_str()).collect();
    for (i, nav) in ep.navigation.iter().enumerate() {
        let at = format!("/extensionPoints/navigation/{i}");
        unique_id(format!("{at}/id"), &nav.id, p);
        if !page_paths.contains(nav.page.as_str()) {
            p.push(Problem::new(format!("{at}/page"), "unknown_page", format!("{:?} is not the path of a declared page", nav.page)));
        } else if nav.page.split('/').any(|segment| segment.starts_with(':')) {
            // A menu item has no value to fill a route parameter with.
            p.push(Problem::new(
                format!("{at}/page"),
                "nav_page_params",
                format!("{:?} has route parameters; a navigation item opens a page without them", nav.page),
            ));
        }
        check_permission(format!("{at}/permission"), &nav.permission, p);
    }
    for (i, widget) in ep.dashboard_widgets.iter().enumerate() {
        let at = format!("/extensionPoints/dashboardWidgets/{i}");
        unique_id(format!("{at}/id"), &widget.id, p);
        check_permission(format!("{at}/permission"), &widget.permission, p);
        crate::entries::check_target(at, "dashboard widget", widget.handler.is_some(), widget.entry.is_some(), p);
    }
    let mut endpoint_shapes = BTreeMap::new();
    for (i, endpoint) in ep.endpoints.iter().enumerate() {
        let at = format!("/extensionPoints/endpoints/{i}");
        match route_shape(&endpoint.path) {
            Err(message) => p.push(Problem::new(format!("{at}/path"), "route_syntax", message)),
            Ok(shape) => {
                if let Some(first) = endpoint_shapes.insert((endpoint.method, shape), i) {
                    p.push(Problem::new(
                        format!("{at}/path"),
                        "duplicate",
                        format!("{} {:?} clashes with endpoints/{first}", endpoint.method.as_str(), endpoint.path),
                    ));
                }
            }
        }
        check_permission(format!("{at}/permission"), &endpoint.permission, p);
    }
    if let Some(exports) = exports {
        for (pointer, handler) in m.handler_refs() {
            if !exports.contains(handler) {
                p.push(Problem::new(pointer, "missing_export", format!("the main module {:?} does not export {handler:?}", m.main)));
            }
        }
    }
}

/// Checks a route (`/tags/:id`) and returns its shape, with parameter names erased, so
/// `/tags/:id` and `/tags/:name` are seen to clash.
pub fn route_shape(path: &str) -> Result<String, String> {
    if !path.starts_with('/') {
        return Err(format!("route {path:?} must start with '/'"));
    }
    if path == "/" {
        return Ok("/".into());
    }
    let mut shape = String::new();
    let mut params = BTreeSet::new();
    for segment in path[1..].split('/') {
        shape.push('/');
        if let Some(name) = segment.strip_prefix(':') {
            let valid = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid {
                return Err(format!("route {path:?}: parameter {segment:?} must be ':' followed by a name"));
            }
            if !params.insert(name) {
                return Err(format!("route {path:?}: parameter {name:?} appears twice"));
            }
            shape.push(':');
        } else if segment.is_empty() {
            return Err(format!("route {path:?} has an empty segment"));
        } else if !segment.chars().all(|c| c.is_ascii_alphanumeric() || "-._~".contains(c)) {
            return Err(format!("route {path:?}: segment {segment:?} may only hold letters, digits and -._~"));
        } else {
            shape.push_str(segment);
        }
    }
    Ok(shape)
}

/// Matches a request path against a declared route (`/tags/:id`); returns the parameters,
/// percent-decoded, or `None` when it does not match.
pub fn match_route(pattern: &str, path: &str) -> Option<BTreeMap<String, String>> {
    let pattern: Vec<&str> = pattern.trim_start_matches('/').split('/').collect();
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    if pattern.len() != segments.len() {
        return None;
    }
    let mut params = BTreeMap::new();
    for (want, got) in pattern.iter().zip(&segments) {
        match want.strip_prefix(':') {
            Some(name) if !got.is_empty() => {
                params.insert(name.to_owned(), percent_decode(got)?);
            }
            Some(_) => return None,
            None if want == got => {}
            None => return None,
        }
    }
    Some(params)
}

/// Decodes `%XX` escapes once; `None` for a broken escape or bytes that are not UTF-8. The
/// one decoder of request paths: route parameters here, UI asset paths in the runtime.
pub fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            // Exactly two hex digits: `from_str_radix` alone would take `%+0` as a NUL, past
            // the raw `%00` checks in front of it.
            let hex = text.get(i + 1..i + 3).filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()))?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn check_settings(settings: &[SettingDef], p: &mut Vec<Problem>) {
    let mut keys = BTreeSet::new();
    for (i, s) in settings.iter().enumerate() {
        let at = format!("/settings/{i}");
        if !keys.insert(&s.key) {
            p.push(Problem::new(format!("{at}/key"), "duplicate", format!("setting {:?} is defined twice", s.key)));
        }
        let choice = matches!(s.kind, SettingType::Select | SettingType::Multiselect);
        match (&s.options, choice) {
            (None, true) => p.push(Problem::new(format!("{at}/options"), "options_required", "select settings need options")),
            (Some(o), true) if o.is_empty() => {
                p.push(Problem::new(format!("{at}/options"), "options_required", "select settings need at least one option"))
            }
            (Some(_), false) => {
                p.push(Problem::new(format!("{at}/options"), "options_unexpected", "only select and multiselect settings take options"))
            }
            _ => {}
        }
        if s.secret && s.kind != SettingType::String {
            p.push(Problem::new(format!("{at}/secret"), "secret_type", "only string settings can be secret"));
        }
        if let Some(default) = &s.default {
            if let Err(message) = check_setting_value(s, default) {
                p.push(Problem::new(format!("{at}/default"), "default_type", message));
            }
        }
    }
}

/// Checks a value against a setting's type (and options); shared with the settings API.
pub fn check_setting_value(s: &SettingDef, value: &Value) -> Result<(), String> {
    let options = s.options.as_deref().unwrap_or_default();
    let ok = match s.kind {
        SettingType::String => value.is_string(),
        SettingType::Number => value.is_number(),
        SettingType::Boolean => value.is_boolean(),
        SettingType::Select => value.as_str().is_some_and(|v| options.iter().any(|o| o == v)),
        SettingType::Multiselect => value.as_array().is_some_and(|vs| vs.iter().all(|v| v.as_str().is_some_and(|v| options.iter().any(|o| o == v)))),
    };
    if ok {
        return Ok(());
    }
    Err(match s.kind {
        SettingType::Select => format!("{value} is not one of the options {options:?}"),
        SettingType::Multiselect => format!("{value} must be an array of options from {options:?}"),
        kind => format!("{value} is not a {}", serde_json::to_value(kind).unwrap_or_default().as_str().unwrap_or("value")),
    })
}

fn check_assets(globs: &[String], files: &Files, p: &mut Vec<Problem>) {
    for (i, glob) in globs.iter().enumerate() {
        let at = format!("/assets/{i}");
        match globset::Glob::new(glob.trim_start_matches("./")) {
            Err(e) => p.push(Problem::new(at, "asset_glob_invalid", format!("{glob:?} is not a valid glob: {e}"))),
            Ok(g) => {
                let matcher = g.compile_matcher();
                if !files.keys().any(|f| matcher.is_match(f)) {
                    p.push(Problem::new(at, "asset_glob_empty", format!("{glob:?} matches no file in the bundle")));
                }
            }
        }
    }
}

/// The exports of `main`, including those re-exported with `export * from`.
pub fn main_exports(main: &str, modules: &BTreeMap<String, ModuleInfo>) -> Option<BTreeSet<String>> {
    let mut out = BTreeSet::new();
    let mut stack = vec![main.to_owned()];
    let mut seen = BTreeSet::new();
    while let Some(path) = stack.pop() {
        if !seen.insert(path.clone()) {
            continue;
        }
        let info = modules.get(&path)?;
        out.extend(info.exports.iter().filter(|e| *e != "default" || path == main).cloned());
        for spec in &info.star_exports {
            if let Some(target) = crate::resolve_relative(&path, spec) {
                stack.push(target);
            }
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::{match_route, parse_manifest, route_shape};
    use crate::BundleError;

    #[test]
    fn points_open_to_every_user_are_warned_about() {
        let manifest = br#"{ "id": "com.example.x", "name": "X", "version": "1.0.0", "main": "index.js",
            "userPermissions": [{ "name": "use" }],
            "extensionPoints": { "endpoints": [{ "method": "GET", "path": "/open", "handler": "x" }, { "method": "GET", "path": "/guarded", "handler": "x", "permission": "use" }] } }"#;
        let m = parse_manifest(manifest).unwrap();
        assert_eq!(
            super::open_point_warnings(&m),
            [r#"/extensionPoints/endpoints/0 (GET /open) has no "permission": every user of the tenant may reach it"#]
        );
    }

    #[test]
    fn an_enum_problem_lists_every_valid_choice() {
        let manifest = br#"{ "id": "com.example.x", "name": "X", "version": "1.0.0", "main": "index.js",
            "extensionPoints": { "endpoints": [{ "method": "FETCH", "path": "/x", "handler": "x" }] } }"#;
        let Err(BundleError::ManifestInvalid(problems, _)) = parse_manifest(manifest) else { panic!("FETCH is no method") };
        assert_eq!(problems[0].pointer, "/extensionPoints/endpoints/0/method");
        assert_eq!(problems[0].message, r#""FETCH" is not one of the valid choices: "GET", "POST", "PUT", "PATCH", "DELETE""#);
    }

    #[test]
    fn routes_match_paths_and_extract_decoded_params() {
        let params = match_route("/tags/:id", "/tags/a%20b").unwrap();
        assert_eq!(params.get("id").map(String::as_str), Some("a b"));
        assert!(match_route("/tags/:id", "/tags").is_none());
        assert!(match_route("/tags/:id", "/tags/").is_none());
        assert!(match_route("/tags/:id", "/tags/1/x").is_none());
        assert!(match_route("/tags", "/other").is_none());
        assert!(match_route("/tags/:id", "/tags/%zz").is_none());
        assert!(match_route("/tags/:id", "/tags/%+0").is_none(), "a sign is not a hex digit: %+0 must not decode to NUL");
        assert!(match_route("/tags/:id", "/tags/%-1").is_none());
        assert_eq!(match_route("/", "/").unwrap().len(), 0);
    }

    #[test]
    fn routes_have_a_shape_or_a_reason() {
        assert_eq!(route_shape("/tags/:id").unwrap(), "/tags/:");
        assert_eq!(route_shape("/tags/:name").unwrap(), "/tags/:");
        assert_eq!(route_shape("/").unwrap(), "/");
        for bad in ["tags", "/tags//x", "/:1x", "/:", "/a b", "/:id/:id", "/tags/"] {
            assert!(route_shape(bad).is_err(), "{bad}");
        }
    }
}
