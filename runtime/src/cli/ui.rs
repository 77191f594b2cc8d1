//! Flags of the host-facing UI surface: the edition this node serves, data widgets' time budget, and the key of signed page URLs.

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
}
