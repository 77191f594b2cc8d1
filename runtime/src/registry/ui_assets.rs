//! Static UI assets: which version an `/ext-ui/{installId}/{contentHash}/…` URL names, which
//! of its files it may serve (only those the manifest's `assets` globs cover), client-side
//! route fallback to a page's entry, and the caches in front of the store.
//!
//! Two caches: resolved versions, keyed by (install id, bundle hash), dropped on the
//! install's lifecycle events and after [`TARGET_TTL`] (changes made by other nodes); and
//! file bytes, keyed by the file's sha256 and bounded by their total size — content
//! addressed, so never stale.

use std::collections::BTreeMap;
use std::sync::Arc;

use alga_bundle::Manifest;
use alga_store::{StoreError, TenantId, VersionState};
use axum::body::Bytes;
use moka::future::Cache;
use uuid::Uuid;

use super::ui_paths::AssetPath;
use super::{Registry, RegistryError, TARGET_TTL};

/// Default of `--ui-asset-cache-mb`.
pub const UI_ASSET_CACHE_MB: u64 = 64;

/// Most resolved (install, hash) pairs remembered, unknown ones included.
const VERSIONS_CACHED: u64 = 10_000;

/// The servable side of one active or pending version.
#[derive(Debug)]
pub struct UiVersion {
    pub tenant: TenantId,
    pub install_id: Uuid,
    pub version_id: Uuid,
    /// Asset files (covered by the `assets` globs) by path, with their sha256.
    assets: BTreeMap<String, String>,
    /// (folder, entry) of every static page, longest folder first, so the innermost page
    /// catches a client-side route.
    page_folders: Vec<(String, String)>,
}

/// One file to answer with.
#[derive(Debug, Clone)]
pub struct UiAsset {
    /// Its path in the bundle; its extension decides the content type.
    pub path: String,
    /// Lowercase hex sha256 of the content (the strong ETag).
    pub sha256: String,
    pub bytes: Bytes,
    /// Served for a client-side route instead of the file asked for: its content can
    /// change while that URL stays, so it must not be cached as immutable.
    pub fallback: bool,
}

pub(super) struct UiAssetCache {
    versions: Cache<(Uuid, String), Option<Arc<UiVersion>>>,
    bytes: Cache<String, Bytes>,
}

impl UiAssetCache {
    pub(super) fn new(max_bytes: u64) -> Self {
        Self {
            versions: Cache::builder().max_capacity(VERSIONS_CACHED).time_to_live(TARGET_TTL).support_invalidation_closures().build(),
            bytes: Cache::builder().max_capacity(max_bytes).weigher(|_, bytes: &Bytes| u32::try_from(bytes.len()).unwrap_or(u32::MAX)).build(),
        }
    }

    /// Forgets what is resolved for one install (its versions changed or it is gone).
    pub(super) fn forget(&self, install_id: Uuid) {
        let _ = self.versions.invalidate_entries_if(move |(id, _), _| *id == install_id);
    }

    /// Forgets every resolved version; the bytes stay, as they are named by content hash.
    pub(super) fn forget_all(&self) {
        self.versions.invalidate_all();
    }
}

impl Registry {
    /// Sizes the cache of served asset bytes (default 64 MiB; 0 turns it off).
    pub fn with_ui_asset_cache(mut self, max_bytes: u64) -> Self {
        self.ui_assets = UiAssetCache::new(max_bytes);
        self
    }

    /// The active or pending version of install `install_id` whose bundle hash is
    /// `bundle_hash` (lowercase hex). With `caller` (asset tokens required), a version of
    /// another tenant is treated as unknown: its existence is not the caller's business.
    pub async fn ui_version(&self, install_id: Uuid, bundle_hash: &str, caller: Option<&TenantId>) -> Result<Option<Arc<UiVersion>>, RegistryError> {
        // Alga's runner accepts hex of any length, but only a sha256 can name a bundle: no
        // lookup (and no cache entry) for the rest.
        if bundle_hash.len() != 64 {
            return Ok(None);
        }
        let key = (install_id, bundle_hash.to_owned());
        let found = self.ui_assets.versions.try_get_with(key, self.load_ui_version(install_id, bundle_hash)).await.map_err(RegistryError::Shared)?;
        Ok(found.filter(|v| caller.is_none_or(|tenant| *tenant == v.tenant)))
    }

    async fn load_ui_version(&self, install_id: Uuid, bundle_hash: &str) -> Result<Option<Arc<UiVersion>>, RegistryError> {
        let Some((tenant, version_id)) = self.store.resolve_ui_version(install_id, bundle_hash).await? else { return Ok(None) };
        let versions = self.store.list_versions(&tenant, install_id).await?;
        // Retired between the two reads: as unknown as if it had happened before.
        let Some(version) = versions.into_iter().find(|v| v.id == version_id && v.state != VersionState::Retired) else { return Ok(None) };
        let manifest: Manifest =
            serde_json::from_value(version.manifest).map_err(|e| StoreError::Corrupt { table: "extension_versions", message: e.to_string() })?;
        let matcher = alga_bundle::asset_matcher(&manifest.assets);
        let assets = self
            .store
            .version_files(&tenant, version_id)
            .await?
            .into_iter()
            .filter(|f| matcher.is_match(&f.path))
            .map(|f| (f.path, f.content_hash))
            .collect();
        let mut page_folders: Vec<(String, String)> = manifest
            .extension_points
            .pages
            .iter()
            .filter_map(|p| p.entry.as_deref())
            .map(|entry| {
                let entry = entry.trim_start_matches("./");
                (entry.rsplit_once('/').map(|(folder, _)| folder).unwrap_or("").to_owned(), entry.to_owned())
            })
            .collect();
        page_folders.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.cmp(b)));
        Ok(Some(Arc::new(UiVersion { tenant, install_id, version_id, assets, page_folders })))
    }

    /// The file `path` names in `version`, or the page entry a client-side route falls back
    /// to; `None` when neither exists. A path is tried as a bundle path (`ui/app.js`) and
    /// then below `ui/` (`app.js`), the layout Alga's runner serves, so Alga's host URLs
    /// (`…/index.html?path=/`) work unchanged.
    pub async fn ui_asset(&self, version: &UiVersion, path: &AssetPath) -> Result<Option<UiAsset>, RegistryError> {
        let Some((file, fallback)) = locate(version, path) else { return Ok(None) };
        let Some(sha256) = version.assets.get(&file).cloned() else { return Ok(None) };
        let load = async {
            let (_, bytes) = self
                .store
                .read_file(&version.tenant, version.version_id, &file)
                .await?
                .ok_or_else(|| RegistryError::NotFound(format!("{}/{file}", version.version_id)))?;
            // Stored code is re-verified before use: content changed in the database since
            // install is refused (a 500 for the caller, the details in the log), never served.
            let actual = alga_bundle::sha256_hex(&bytes);
            if actual != sha256 {
                let message = format!("{} {file}: content hash {actual} differs from the recorded {sha256}", version.version_id);
                return Err(RegistryError::Store(StoreError::Corrupt { table: "file_blobs", message }));
            }
            Ok::<_, RegistryError>(Bytes::from(bytes))
        };
        let bytes = match self.ui_assets.bytes.try_get_with(sha256.clone(), load).await {
            Ok(bytes) => bytes,
            // Uninstalled since the version was resolved.
            Err(shared) if matches!(*shared, RegistryError::NotFound(_)) => return Ok(None),
            Err(shared) => return Err(RegistryError::Shared(shared)),
        };
        Ok(Some(UiAsset { path: file, sha256, bytes, fallback }))
    }
}

/// The bundle path to serve for `path` and whether it is a client-side route fallback.
fn locate(version: &UiVersion, path: &AssetPath) -> Option<(String, bool)> {
    let mut candidates = vec![path.path.clone()];
    if path.path != "ui" && !path.path.starts_with("ui/") {
        candidates.push(if path.path.is_empty() { "ui".to_owned() } else { format!("ui/{}", path.path) });
    }
    for candidate in &candidates {
        let file = if path.folder { join(candidate, "index.html") } else { candidate.clone() };
        if version.assets.contains_key(&file) {
            return Some((file, false));
        }
    }
    if !path.looks_like_route() {
        return None;
    }
    candidates.iter().find_map(|candidate| {
        version
            .page_folders
            .iter()
            .find(|(folder, _)| {
                folder.is_empty() || candidate == folder || candidate.strip_prefix(folder.as_str()).is_some_and(|r| r.starts_with('/'))
            })
            .map(|(_, entry)| (entry.clone(), true))
    })
}

fn join(folder: &str, file: &str) -> String {
    if folder.is_empty() {
        file.to_owned()
    } else {
        format!("{folder}/{file}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::ui_paths::asset_path;

    fn version(files: &[&str], entries: &[&str]) -> UiVersion {
        let mut page_folders: Vec<(String, String)> =
            entries.iter().map(|e| (e.rsplit_once('/').map(|(f, _)| f).unwrap_or("").to_owned(), e.to_string())).collect();
        page_folders.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.cmp(b)));
        UiVersion {
            tenant: TenantId::parse("acme").unwrap(),
            install_id: Uuid::nil(),
            version_id: Uuid::nil(),
            assets: files.iter().map(|f| (f.to_string(), "00".repeat(32))).collect(),
            page_folders,
        }
    }

    #[test]
    fn paths_resolve_to_files_then_to_the_innermost_page_for_routes() {
        let v = version(&["ui/index.html", "ui/app.js", "ui/admin/index.html", "other/x.txt"], &["ui/index.html", "ui/admin/index.html"]);
        let cases = [
            ("ui/app.js", Some(("ui/app.js", false))),
            ("app.js", Some(("ui/app.js", false))),
            ("index.html", Some(("ui/index.html", false))),
            ("", Some(("ui/index.html", false))),
            ("ui/", Some(("ui/index.html", false))),
            ("ui/tags/42", Some(("ui/index.html", true))),
            ("tags/42", Some(("ui/index.html", true))),
            ("ui/admin/users", Some(("ui/admin/index.html", true))),
            ("ui/missing.js", None),
            ("other/x.txt", Some(("other/x.txt", false))),
            // Below `ui/` (Alga's layout) this is the route `/other/route` of the `ui/` page.
            ("other/route", Some(("ui/index.html", true))),
            ("other/x.css", None),
        ];
        for (raw, want) in cases {
            let got = locate(&v, &asset_path(raw).unwrap());
            assert_eq!(got, want.map(|(p, f)| (p.to_owned(), f)), "{raw:?}");
        }
    }
}
