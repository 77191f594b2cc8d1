//! `GET|HEAD /ext-ui/_sdk/{version}/{file}`: the Host and Page SDKs and the UI components, embedded in the binary, at a stable immutable URL.
//
// The files are compiled in from `js/`, so the URL names exactly the bytes this build ships:
// the version segment is the crate version and any other version is a 404, which makes the
// immutable caching safe across upgrades. `_sdk` cannot be an install id (those are UUIDs),
// so this never shadows an extension's assets.

use std::sync::LazyLock;

use axum::body::Bytes;

use crate::registry::UiAsset;

/// The first path segment after `/ext-ui/` that names the SDKs instead of an install.
pub const SDK_SEGMENT: &str = "_sdk";

/// The version in the SDK URLs: this build's crate version.
pub const SDK_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Every served file by name, with its source. Page and host both have React bindings named
/// `react.js` in the repository; the page's are served as `page-react.js` (they import
/// `./alga-page.js`, which sits beside them here too).
const FILES: [(&str, &str); 18] = [
    ("alga-host.js", include_str!("../../../js/host/alga-host.js")),
    ("alga-host.d.ts", include_str!("../../../js/host/alga-host.d.ts")),
    ("frames.js", include_str!("../../../js/host/frames.js")),
    ("frames.d.ts", include_str!("../../../js/host/frames.d.ts")),
    ("react.js", include_str!("../../../js/host/react.js")),
    ("react.d.ts", include_str!("../../../js/host/react.d.ts")),
    ("alga-page.js", include_str!("../../../js/page/alga-page.js")),
    ("alga-page.d.ts", include_str!("../../../js/page/alga-page.d.ts")),
    ("page-react.js", include_str!("../../../js/page/react.js")),
    ("page-react.d.ts", include_str!("../../../js/page/react.d.ts")),
    ("alga-ui.js", include_str!("../../../js/ui/alga-ui.js")),
    ("alga-ui-core.js", include_str!("../../../js/ui/alga-ui-core.js")),
    ("alga-ui-data.js", include_str!("../../../js/ui/alga-ui-data.js")),
    ("alga-ui-forms.js", include_str!("../../../js/ui/alga-ui-forms.js")),
    ("alga-ui-select.js", include_str!("../../../js/ui/alga-ui-select.js")),
    ("alga-ui-overlays.js", include_str!("../../../js/ui/alga-ui-overlays.js")),
    ("alga-ui.d.ts", include_str!("../../../js/ui/alga-ui.d.ts")),
    ("alga-ui.css", include_str!("../../../js/ui/alga-ui.css")),
];

/// The files as assets, their hashes computed once on first use.
static ASSETS: LazyLock<Vec<UiAsset>> = LazyLock::new(|| {
    FILES
        .iter()
        .map(|(name, text)| UiAsset {
            path: (*name).to_owned(),
            sha256: alga_bundle::sha256_hex(text.as_bytes()),
            bytes: Bytes::from_static(text.as_bytes()),
            fallback: false,
        })
        .collect()
});

/// A served file's text by name (what `alga-ext new` vendors into templates with a page).
pub fn text(name: &str) -> Option<&'static str> {
    FILES.iter().find(|(file, _)| *file == name).map(|(_, text)| *text)
}

/// The names of the served files, in a fixed order.
pub fn file_names() -> impl Iterator<Item = &'static str> {
    FILES.iter().map(|(name, _)| *name)
}

/// The URL path of an SDK file in this build (`/ext-ui/_sdk/<version>/<file>`).
pub fn url_path(file: &str) -> String {
    format!("/ext-ui/{SDK_SEGMENT}/{SDK_VERSION}/{file}")
}

/// The file `rest` names (`<version>/<file>`, the raw path after `/ext-ui/_sdk/`), or `None`
/// for another version, an unknown file or any deeper path.
pub fn lookup(rest: &str) -> Option<&'static UiAsset> {
    let (version, file) = rest.split_once('/')?;
    if version != SDK_VERSION {
        return None;
    }
    ASSETS.iter().find(|asset| asset.path == file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_this_version_and_listed_files_are_found() {
        let asset = lookup(&format!("{SDK_VERSION}/alga-page.js")).expect("the Page SDK");
        assert_eq!(asset.bytes.as_ref(), include_bytes!("../../../js/page/alga-page.js"));
        assert_eq!(asset.sha256, alga_bundle::sha256_hex(&asset.bytes));
        let css = lookup(&format!("{SDK_VERSION}/alga-ui.css")).expect("the components' stylesheet");
        assert_eq!(css.bytes.as_ref(), include_bytes!("../../../js/ui/alga-ui.css"));
        for name in file_names() {
            assert!(lookup(&format!("{SDK_VERSION}/{name}")).is_some(), "{name}");
        }
        for rest in [
            "0.0.0/alga-page.js".to_owned(),
            format!("{SDK_VERSION}/nope.js"),
            format!("{SDK_VERSION}/"),
            format!("{SDK_VERSION}/x/alga-page.js"),
            format!("{SDK_VERSION}/%61lga-page.js"),
            format!("{SDK_VERSION}/../alga-page.js"),
            SDK_VERSION.to_owned(),
            String::new(),
        ] {
            assert!(lookup(&rest).is_none(), "{rest}");
        }
    }

    #[test]
    fn the_urls_name_this_version() {
        assert_eq!(url_path("alga-host.js"), format!("/ext-ui/_sdk/{}/alga-host.js", env!("CARGO_PKG_VERSION")));
    }
}
