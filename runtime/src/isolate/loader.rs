//! Loads an extension's ES modules from its installed (hash-verified) files, and nothing else.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};

use alga_bundle::Files;
use deno_core::{
    ModuleLoadOptions, ModuleLoadReferrer, ModuleLoadResponse, ModuleLoader, ModuleSource, ModuleSourceCode, ModuleSpecifier, ModuleType,
    ResolutionKind, SourceCodeCacheInfo,
};
use deno_error::JsErrorBox;

/// Scheme of bundle modules: `alga-bundle:///src/index.js`, so stack traces name the
/// author's file.
pub const BUNDLE_SCHEME: &str = "alga-bundle";
/// The SDK module extensions may import.
const SDK_SPECIFIER: &str = "alga-sdk:///sdk.js";
const SDK_SOURCE: &str = include_str!("sdk.js");
/// Where `@alga/test` loads from; it resolves only in a process running `alga-ext test`.
const TEST_SPECIFIER: &str = "alga-test:///test.js";

/// The URL the `@alga/sdk` module is loaded under.
pub fn sdk_url() -> ModuleSpecifier {
    ModuleSpecifier::parse(SDK_SPECIFIER).expect("valid")
}

pub fn module_url(path: &str) -> ModuleSpecifier {
    ModuleSpecifier::parse(&format!("{BUNDLE_SCHEME}:///{path}")).expect("bundle paths are valid URL paths")
}

/// V8 code caches of module sources, shared by every isolate of the process and keyed by
/// the source's sha256: identical code compiles once, and a cache can never belong to other
/// source. Bounded by bytes; V8 rejects (and replaces) a cache it cannot use.
fn code_caches() -> &'static moka::sync::Cache<String, Arc<[u8]>> {
    static CACHES: OnceLock<moka::sync::Cache<String, Arc<[u8]>>> = OnceLock::new();
    CACHES.get_or_init(|| {
        moka::sync::Cache::builder()
            .max_capacity(128 * 1024 * 1024)
            .weigher(|_k: &String, v: &Arc<[u8]>| u32::try_from(v.len()).unwrap_or(u32::MAX))
            .build()
    })
}

/// The `hash` deno_core carries with a cache: the first 8 bytes of the source's sha256.
fn source_hash(sha256_hex: &str) -> u64 {
    u64::from_str_radix(sha256_hex.get(..16).unwrap_or("0"), 16).unwrap_or(0)
}

/// Serves modules out of one bundle's files, once it is given them: an isolate built ahead
/// of need gets its loader before anyone knows which bundle it will run.
#[derive(Default)]
pub struct BundleLoader {
    files: std::cell::OnceCell<Arc<Files>>,
}

impl BundleLoader {
    /// Gives the loader its bundle; a loader serves one bundle for its whole life.
    pub fn bind(&self, files: Arc<Files>) -> Result<(), Arc<Files>> {
        self.files.set(files)
    }

    fn files(&self) -> Result<&Files, JsErrorBox> {
        self.files.get().map(|f| f.as_ref()).ok_or_else(|| JsErrorBox::type_error("this isolate has no bundle to load modules from"))
    }
}

impl ModuleLoader for BundleLoader {
    fn resolve(&self, specifier: &str, referrer: &str, _kind: ResolutionKind) -> Result<ModuleSpecifier, deno_core::error::ModuleLoaderError> {
        if specifier == alga_bundle::SDK_MODULE {
            return Ok(sdk_url());
        }
        // The runtime loads the SDK by its URL before the main module (`Isolate::load_main`);
        // bundle code names it only as "@alga/sdk".
        if specifier == SDK_SPECIFIER && !referrer.starts_with(BUNDLE_SCHEME) {
            return Ok(sdk_url());
        }
        if specifier == crate::test_api::SPECIFIER && crate::test_api::offered().is_some() {
            return Ok(ModuleSpecifier::parse(TEST_SPECIFIER).expect("valid"));
        }
        // The main module arrives as an absolute URL of the bundle itself; `load` still
        // serves only files the bundle has.
        if let Ok(url) = ModuleSpecifier::parse(specifier) {
            if url.scheme() == BUNDLE_SCHEME {
                return Ok(url);
            }
        }
        let relative = specifier.starts_with("./") || specifier.starts_with("../") || specifier.starts_with('/');
        let base = ModuleSpecifier::parse(referrer).ok().filter(|r| r.scheme() == BUNDLE_SCHEME);
        match (relative, base) {
            (true, Some(base)) => base.join(specifier).map_err(|e| JsErrorBox::type_error(format!("cannot resolve {specifier:?}: {e}"))),
            _ => Err(JsErrorBox::type_error(format!(
                "import {specifier:?} is not allowed: only relative paths inside the bundle and \"{}\"",
                alga_bundle::SDK_MODULE
            ))),
        }
    }

    fn load(&self, specifier: &ModuleSpecifier, _referrer: Option<&ModuleLoadReferrer>, _options: ModuleLoadOptions) -> ModuleLoadResponse {
        ModuleLoadResponse::Sync(self.load_sync(specifier))
    }

    fn code_cache_ready(&self, specifier: ModuleSpecifier, _hash: u64, code_cache: &[u8]) -> Pin<Box<dyn Future<Output = ()>>> {
        if let Some(file) = self.file_for(&specifier) {
            code_caches().insert(file.sha256.clone(), Arc::from(code_cache));
        }
        Box::pin(async {})
    }
}

impl BundleLoader {
    fn file_for(&self, specifier: &ModuleSpecifier) -> Option<&alga_bundle::BundleFile> {
        (specifier.scheme() == BUNDLE_SCHEME).then(|| self.files().ok()?.get(&percent_decode(specifier.path().trim_start_matches('/')))).flatten()
    }

    fn load_sync(&self, specifier: &ModuleSpecifier) -> Result<ModuleSource, deno_core::error::ModuleLoaderError> {
        if specifier.as_str() == SDK_SPECIFIER {
            return Ok(ModuleSource::new(ModuleType::JavaScript, ModuleSourceCode::String(SDK_SOURCE.to_owned().into()), specifier, None));
        }
        if let Some(source) = crate::test_api::offered().filter(|_| specifier.as_str() == TEST_SPECIFIER) {
            return Ok(ModuleSource::new(ModuleType::JavaScript, ModuleSourceCode::String(source.to_owned().into()), specifier, None));
        }
        if specifier.scheme() != BUNDLE_SCHEME {
            return Err(JsErrorBox::type_error(format!("module {specifier} is outside the bundle")));
        }
        let path = specifier.path().trim_start_matches('/');
        let path = percent_decode(path);
        let file = self.files()?.get(&path).ok_or_else(|| JsErrorBox::type_error(format!("module {path:?} is not in the bundle")))?;
        let text = String::from_utf8(file.bytes.clone()).map_err(|_| JsErrorBox::type_error(format!("module {path:?} is not UTF-8")))?;
        let (module_type, text) = if path.ends_with(".json") {
            (ModuleType::Json, text)
        } else if path.ends_with(".js") || path.ends_with(".mjs") {
            (ModuleType::JavaScript, text)
        } else if path.ends_with(".ts") || path.ends_with(".mts") {
            let js = alga_bundle::ts::transpile_cached(&path, &text, &file.sha256).map_err(|problems| {
                let first = problems.first().map(ToString::to_string).unwrap_or_default();
                JsErrorBox::type_error(format!("module {path:?} does not transpile: {first}"))
            })?;
            (ModuleType::JavaScript, js.to_string())
        } else {
            return Err(JsErrorBox::type_error(format!("module {path:?} is not a JavaScript or JSON file")));
        };
        let code_cache = (module_type == ModuleType::JavaScript).then(|| SourceCodeCacheInfo {
            hash: source_hash(&file.sha256),
            data: code_caches().get(&file.sha256).map(|bytes| Cow::Owned(bytes.to_vec())),
        });
        Ok(ModuleSource::new(module_type, ModuleSourceCode::String(text.into()), specifier, code_cache))
    }
}

/// Decodes `%XX` escapes that URL parsing put into a path.
fn percent_decode(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&path[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
