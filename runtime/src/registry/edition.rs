//! Editions: the community edition serves the registry, lifecycle, navigation and dashboard widgets; the enterprise edition adds custom pages, custom endpoints and the host API client.

use alga_bundle::Manifest;
use serde::Serialize;

/// Which edition this node runs (`--edition`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Edition {
    /// Community edition.
    Ce,
    /// Enterprise edition (the default).
    #[default]
    Ee,
}

impl Edition {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ce => "ce",
            Self::Ee => "ee",
        }
    }

    pub fn serves_pages(self) -> bool {
        self == Self::Ee
    }

    pub fn serves_endpoints(self) -> bool {
        self == Self::Ee
    }

    pub fn serves_host_api(self) -> bool {
        self == Self::Ee
    }

    /// The JSON pointers of what a manifest declares that this edition does not serve,
    /// each with what it is.
    pub fn unsupported(self, manifest: &Manifest) -> Vec<(String, &'static str)> {
        if self == Self::Ee {
            return Vec::new();
        }
        let points = &manifest.extension_points;
        let pages = (0..points.pages.len()).map(|i| (format!("/extensionPoints/pages/{i}"), "custom page"));
        let endpoints = (0..points.endpoints.len()).map(|i| (format!("/extensionPoints/endpoints/{i}"), "custom endpoint"));
        let navigation = (0..points.navigation.len()).map(|i| (format!("/extensionPoints/navigation/{i}"), "navigation item opening a custom page"));
        let alga_ui = manifest.ui.iter().map(|_| ("/ui".to_owned(), "custom page (Alga's iframe UI)"));
        pages.chain(endpoints).chain(navigation).chain(alga_ui).collect()
    }
}
