//! Flags of the host-facing UI surface: the edition this node serves, data widgets' time budget, the key of signed page URLs,
//! and how static UI assets (`/ext-ui/...`) are served: the CSP of HTML, whether a token is required, the bytes cache.

use std::time::Duration;

use clap::Args;

use crate::registry::Edition;

/// What the host's UI gets from this node.
#[derive(Debug, Clone, Args)]
pub struct UiArgs {
    /// The edition this node serves: `ce` (registry, lifecycle, navigation, dashboard
    /// widgets) or `ee` (adds custom pages, custom endpoints and the host API client).
    #[arg(long, env = "ALGA_EXT_EDITION", value_enum, default_value_t = Edition::Ee)]
    pub edition: Edition,

    /// How long a data widget's handler has before `/api/ui/dashboard` reports the widget
    /// as failed (the other widgets are answered regardless).
    #[arg(long, env = "ALGA_EXT_WIDGET_TIMEOUT", default_value = "500ms", value_parser = humantime::parse_duration)]
    pub widget_timeout: Duration,

    /// Secret (at least 32 bytes) that signs handler pages' URLs. Default: derived from
    /// --jwt-secret. Nodes that serve the same host must share it.
    #[arg(long, env = "ALGA_EXT_PAGE_URL_SECRET", hide_env_values = true)]
    pub page_url_secret: Option<String>,

    /// Origins allowed to frame extension pages (the host app's), space-separated CSP
    /// sources, e.g. `'self' https://psa.example.com`; appended to the default policy of
    /// HTML assets and handler pages as `frame-ancestors`.
    #[arg(long, env = "ALGA_EXT_UI_FRAME_ANCESTORS", default_value = "'self'")]
    pub ui_frame_ancestors: String,

    /// Replaces the whole Content-Security-Policy of HTML assets and handler pages (then
    /// --ui-frame-ancestors is not used).
    #[arg(long, env = "ALGA_EXT_UI_CSP")]
    pub ui_csp: Option<String>,

    /// Require a bearer token of the install's tenant for `/ext-ui/...` (default: the
    /// install id and content hash in the URL address the assets, as Alga's runner does).
    /// A token of another tenant gets 404, a missing or invalid one 401.
    #[arg(long, env = "ALGA_EXT_UI_ASSETS_REQUIRE_TOKEN")]
    pub ui_assets_require_token: bool,

    /// Memory for cached asset bytes, in MiB (0: read every asset from the database).
    #[arg(long, env = "ALGA_EXT_UI_ASSET_CACHE_MB", default_value_t = crate::registry::UI_ASSET_CACHE_MB)]
    pub ui_asset_cache_mb: u64,
}
