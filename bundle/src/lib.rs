//! Extension bundles: the manifest and its JSON Schema, archive reading under limits, module
//! analysis, and signatures — everything decided about a bundle before it is stored or run.
//!
//! [`inspect_archive`] is the whole install-time check: read the archive, parse and
//! validate the manifest, analyze every module, check imports and exports, verify the
//! signature. It either returns an [`Inspection`] or the first failing rule's error, whose
//! lists carry every problem of that kind at once.

pub mod archive;
pub mod catalog;
mod entries;
mod error;
pub mod js;
pub mod manifest;
pub mod pack;
pub mod signing;
pub mod ts;
pub mod validate;

use std::collections::BTreeMap;

pub use archive::{read_archive, sha256_hex, BundleFile, BundleLimits, Files};
pub use error::{BundleError, Problem, SourceProblem};
pub use manifest::{Manifest, ManifestSummary};
pub use signing::{BundleSignature, SignaturePolicy, TrustedKeys};

/// Module specifier of the SDK that extension code may import besides its own files.
pub const SDK_MODULE: &str = "@alga/sdk";

/// The policy part of an inspection.
#[derive(Debug, Clone, Default)]
pub struct InspectOptions {
    pub limits: BundleLimits,
    pub signature_policy: SignaturePolicy,
    pub trusted_keys: TrustedKeys,
}

/// A bundle that passed every check.
#[derive(Debug, Clone)]
pub struct Inspection {
    pub manifest: Manifest,
    /// The manifest as uploaded (JSON), kept verbatim for storage.
    pub manifest_json: serde_json::Value,
    pub files: Files,
    /// Hash over the sorted (path, file hash) list; see [`bundle_hash`].
    pub bundle_hash: String,
    /// Key id of the trusted signer, when signed.
    pub signer: Option<String>,
    /// Things for the reviewing admin that do not block install.
    pub warnings: Vec<String>,
}

/// The content hash of a bundle: sha256 over `path NUL sha256 LF` for every file in path
/// order. Two archives with the same files hash the same, however they were packed.
pub fn bundle_hash(files: &Files) -> String {
    let mut listing = Vec::new();
    for (path, file) in files {
        listing.extend_from_slice(path.as_bytes());
        listing.push(0);
        listing.extend_from_slice(file.sha256.as_bytes());
        listing.push(b'\n');
    }
    sha256_hex(&listing)
}

/// Reads and checks an uploaded archive.
pub fn inspect_archive(bytes: &[u8], signature: Option<&BundleSignature>, options: &InspectOptions) -> Result<Inspection, BundleError> {
    let files = read_archive(bytes, &options.limits)?;
    inspect_files(files, signature, options)
}

/// Checks a bundle's files (from an archive or a directory).
pub fn inspect_files(files: Files, signature: Option<&BundleSignature>, options: &InspectOptions) -> Result<Inspection, BundleError> {
    let manifest_file = files.get("manifest.json").ok_or(BundleError::ManifestMissing)?;
    let manifest_json: serde_json::Value = serde_json::from_slice(&manifest_file.bytes).map_err(|e| BundleError::ManifestParse(e.to_string()))?;
    // Every problem in one pass: a manifest that fails its schema still has its modules
    // checked, so an author fixes everything in one round.
    let (manifest, mut manifest_problems) = match validate::parse_manifest(&manifest_file.bytes) {
        Ok(manifest) => (Some(manifest), Vec::new()),
        Err(BundleError::ManifestInvalid(problems, _)) => (None, problems),
        Err(other) => return Err(other),
    };
    let assets: Vec<String> = match &manifest {
        Some(m) => m.assets.clone(),
        None => manifest_json["assets"].as_array().map(|a| a.iter().filter_map(|g| g.as_str().map(str::to_owned)).collect()).unwrap_or_default(),
    };
    let asset_matcher = asset_matcher(&assets);
    let mut modules = BTreeMap::new();
    let mut syntax = Vec::new();
    let mut warnings = Vec::new();
    for (path, file) in &files {
        if !js::is_module_path(path) || asset_matcher.is_match(path) {
            continue;
        }
        let Ok(source) = std::str::from_utf8(&file.bytes) else {
            syntax.push(SourceProblem { file: path.clone(), line: 1, column: 1, message: "module is not valid UTF-8".into() });
            continue;
        };
        match js::analyze(path, source) {
            Ok(info) => {
                warnings.extend(info.warnings.iter().map(|w| w.to_string()));
                modules.insert(path.clone(), info);
            }
            Err(problems) => {
                syntax.extend(problems);
                continue;
            }
        }
        // TypeScript is transpiled now, so a problem shows at install and the loader finds
        // the JavaScript cached.
        if path.ends_with(".ts") || path.ends_with(".mts") {
            if let Err(problems) = ts::transpile_cached(path, source, &file.sha256) {
                syntax.extend(problems);
            }
        }
    }

    match &manifest {
        Some(manifest) => {
            let main = manifest.main.trim_start_matches("./").to_owned();
            let exports = validate::main_exports(&main, &modules);
            manifest_problems.extend(validate::check_manifest(manifest, &files, exports.as_ref()));
        }
        None => {
            // What can be checked without a parsed manifest, beside the schema's problems
            // (never twice at one pointer).
            for problem in validate::raw_checks(&manifest_json, &modules) {
                if !manifest_problems.iter().any(|seen| seen.pointer == problem.pointer) {
                    manifest_problems.push(problem);
                }
            }
        }
    }
    let import_problems = check_imports(&modules, &files);
    let Some(manifest) = manifest.filter(|_| manifest_problems.is_empty()) else {
        syntax.extend(import_problems);
        return Err(BundleError::ManifestInvalid(manifest_problems, syntax));
    };
    if !syntax.is_empty() {
        syntax.extend(import_problems);
        return Err(BundleError::ModuleSyntax(syntax));
    }
    if !import_problems.is_empty() {
        return Err(BundleError::ModuleImport(import_problems));
    }

    warnings.extend(validate::open_point_warnings(&manifest));
    let bundle_hash = bundle_hash(&files);
    let (signer, signature_warning) = signing::check(options.signature_policy, &options.trusted_keys, &bundle_hash, signature)?;
    warnings.extend(signature_warning);
    Ok(Inspection { manifest, manifest_json, files, bundle_hash, signer, warnings })
}

/// The set of a manifest's `assets` globs: which bundle files are static assets, served
/// to pages as they are and never loaded as server code.
pub fn asset_matcher(globs: &[String]) -> globset::GlobSet {
    let mut builder = globset::GlobSetBuilder::new();
    for glob in globs {
        // Invalid globs were reported by manifest validation already.
        if let Ok(g) = globset::Glob::new(glob.trim_start_matches("./")) {
            builder.add(g);
        }
    }
    builder.build().unwrap_or_else(|_| globset::GlobSet::empty())
}

/// Resolves a relative specifier against the importing module's path; `None` when it is
/// not relative or climbs above the bundle root.
pub fn resolve_relative(from: &str, specifier: &str) -> Option<String> {
    if !(specifier.starts_with("./") || specifier.starts_with("../")) {
        return None;
    }
    let mut parts: Vec<&str> = from.split('/').collect();
    parts.pop();
    for segment in specifier.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            other => parts.push(other),
        }
    }
    Some(parts.join("/"))
}

/// Every import must be the SDK or a relative path to a module or JSON file in the bundle.
fn check_imports(modules: &BTreeMap<String, js::ModuleInfo>, files: &Files) -> Vec<SourceProblem> {
    let mut problems = Vec::new();
    for (path, info) in modules {
        for import in &info.imports {
            let problem = |message: String| SourceProblem { file: path.clone(), line: import.line, column: import.column, message };
            if import.specifier == SDK_MODULE {
                continue;
            }
            match resolve_relative(path, &import.specifier) {
                None if import.specifier.starts_with("./") || import.specifier.starts_with("../") => {
                    problems.push(problem(format!("import {:?} points outside the bundle", import.specifier)))
                }
                None => problems.push(problem(format!(
                    "import {:?} is not allowed: only relative paths inside the bundle and {SDK_MODULE:?} can be imported",
                    import.specifier
                ))),
                Some(target) if !files.contains_key(&target) => {
                    problems.push(problem(format!("import {:?} refers to {target:?}, which is not in the bundle", import.specifier)))
                }
                Some(target) if !(js::is_module_path(&target) || target.ends_with(".json")) => {
                    problems.push(problem(format!("import {:?}: {target:?} is not a module or JSON file", import.specifier)))
                }
                Some(_) => {}
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::resolve_relative;

    #[test]
    fn relative_imports_resolve_inside_the_bundle_only() {
        assert_eq!(resolve_relative("src/a.js", "./b.js").as_deref(), Some("src/b.js"));
        assert_eq!(resolve_relative("src/a.js", "../lib/c.js").as_deref(), Some("lib/c.js"));
        assert_eq!(resolve_relative("a.js", "../c.js"), None);
        assert_eq!(resolve_relative("a.js", "lodash"), None);
    }
}
