//! What an `/ext-ui/{installId}/{contentHash}/{*path}` URL names, checked before any store
//! is asked: the content hash in Alga's `sha256:<hex>` form, and an asset path that cannot
//! climb out of the bundle (no `..`, no encoded separators, no NUL, not absolute).

use alga_bundle::validate::percent_decode;

/// Longest asset path accepted, in bytes of the raw URL (bundle paths are far shorter).
const MAX_RAW_PATH_BYTES: usize = 2048;

/// Why an asset URL is refused before anything is looked up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UiPathError {
    /// The hash segment is not `sha256:<hex>` (Alga's runner answers 400 too).
    #[error("content hash must be written sha256:<hex>, e.g. sha256:9f86d0…")]
    ContentHash,
    /// The asset path could reach outside the bundle or is not a path at all.
    #[error("asset path {reason}")]
    Path { reason: &'static str },
}

/// Parses the content-hash segment, percent-decoded once (`sha256%3A…` is what Alga's host
/// sends via `encodeURIComponent`). Like Alga's runner it requires the `sha256:` prefix and
/// non-empty hex of either case, and answers the lowercase hex the versions table stores.
pub fn content_hash(raw_segment: &str) -> Result<String, UiPathError> {
    let decoded = percent_decode(raw_segment).ok_or(UiPathError::ContentHash)?;
    let hex = decoded.strip_prefix("sha256:").ok_or(UiPathError::ContentHash)?;
    if hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(UiPathError::ContentHash);
    }
    Ok(hex.to_ascii_lowercase())
}

/// A checked asset path inside a bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetPath {
    /// Decoded, relative, `/`-separated, without a trailing slash; empty for the root.
    pub path: String,
    /// The URL ended in `/` (or named the root): a folder, not a file.
    pub folder: bool,
}

impl AssetPath {
    /// Whether the last segment looks like a client-side route rather than a file: no
    /// extension, so `/tags/42` may fall back to the page while `/app.css` may not.
    pub fn looks_like_route(&self) -> bool {
        self.folder || !self.path.rsplit('/').next().unwrap_or_default().contains('.')
    }
}

/// Checks the raw (still percent-encoded) path after the content hash and decodes it once.
pub fn asset_path(raw: &str) -> Result<AssetPath, UiPathError> {
    let refuse = |reason| Err(UiPathError::Path { reason });
    if raw.len() > MAX_RAW_PATH_BYTES {
        return refuse("is too long");
    }
    // Encoded separators would make one URL segment two path segments after decoding.
    let lower = raw.to_ascii_lowercase();
    if lower.contains("%2f") || lower.contains("%5c") {
        return refuse("must not contain encoded '/' or '\\'");
    }
    let Some(decoded) = percent_decode(raw) else { return refuse("is not valid percent-encoded UTF-8") };
    if decoded.chars().any(|c| c == '\0' || c.is_control()) {
        return refuse("must not contain NUL or control characters");
    }
    if decoded.contains('\\') {
        return refuse("must not contain '\\'");
    }
    if decoded.starts_with('/') {
        return refuse("must be relative");
    }
    let folder = decoded.is_empty() || decoded.ends_with('/');
    let path = decoded.strip_suffix('/').unwrap_or(&decoded).to_owned();
    if !path.is_empty() {
        for segment in path.split('/') {
            match segment {
                "" => return refuse("must not contain empty segments"),
                "." | ".." => return refuse("must not contain '.' or '..' segments"),
                _ => {}
            }
        }
    }
    Ok(AssetPath { path, folder })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_hashes_are_accepted_as_alga_writes_them() {
        let hex = "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08";
        assert_eq!(content_hash(&format!("sha256:{hex}")).unwrap(), hex.to_ascii_lowercase());
        assert_eq!(content_hash(&format!("sha256%3A{hex}")).unwrap(), hex.to_ascii_lowercase());
        assert_eq!(content_hash(&format!("sha256%3a{hex}")).unwrap(), hex.to_ascii_lowercase());
        for bad in ["", "sha256:", hex, "sha1:abcd", "sha256:xyz", "SHA256:abcd", "sha256:ab cd", "sha256%3", "sha256:%00"] {
            assert_eq!(content_hash(bad), Err(UiPathError::ContentHash), "{bad:?}");
        }
    }

    #[test]
    fn asset_paths_stay_inside_the_bundle() {
        let ok = |raw: &str, path: &str, folder: bool| assert_eq!(asset_path(raw), Ok(AssetPath { path: path.into(), folder }), "{raw:?}");
        ok("ui/index.html", "ui/index.html", false);
        ok("ui/my%20file.css", "ui/my file.css", false);
        ok("ui/", "ui", true);
        ok("", "", true);
        ok("ui/tags/42", "ui/tags/42", false);
        for bad in [
            "../manifest.json",
            "ui/../index.js",
            "ui/./x",
            "%2e%2e/index.js",
            "ui/%2E%2E/%2e%2e/x",
            "ui%2findex.html",
            "ui%2Findex.html",
            "ui\\..\\index.js",
            "ui%5c..%5cindex.js",
            "ui/x%00.html",
            "/etc/passwd",
            "%2fetc/passwd",
            "ui//x",
            "ui/%zz",
            "ui/%+0x",
            "ui/%ff",
            "ui/a\u{1}b",
        ] {
            assert!(matches!(asset_path(bad), Err(UiPathError::Path { .. })), "{bad:?}");
        }
        assert!(asset_path(&"a/".repeat(2000)).is_err());
    }

    #[test]
    fn extensionless_paths_look_like_routes() {
        assert!(asset_path("ui/tags/42").unwrap().looks_like_route());
        assert!(asset_path("ui/").unwrap().looks_like_route());
        assert!(!asset_path("ui/app.css").unwrap().looks_like_route());
        assert!(!asset_path("ui/tags/v1.2").unwrap().looks_like_route());
    }
}
