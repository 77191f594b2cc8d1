//! Flags of the HTTP server's connections (header and idle timeouts, connection cap) and of the admin API's per-tenant install cap.

use std::time::Duration;

use clap::Args;

/// Connections and admin-API limits of the HTTP server.
#[derive(Debug, Clone, Args)]
pub struct HttpArgs {
    /// Time a client has to send a request's headers once it started one (or once it
    /// connected); then the connection is closed. Bounds slow-header clients.
    #[arg(long, env = "ALGA_EXT_HTTP_HEADER_TIMEOUT", default_value = "10s", value_parser = positive_duration)]
    pub http_header_timeout: Duration,

    /// Time a keep-alive connection may sit with no request in flight before it is closed.
    #[arg(long, env = "ALGA_EXT_HTTP_IDLE_TIMEOUT", default_value = "60s", value_parser = positive_duration)]
    pub http_idle_timeout: Duration,

    /// Most client connections open at once; at the cap the server stops accepting until
    /// one closes (new clients wait in the listen backlog). Default: 10000, or fewer when
    /// the open-file limit leaves less room (the limit minus a reserve for the database
    /// pool and isolate threads).
    #[arg(long, env = "ALGA_EXT_MAX_CONNECTIONS", value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_connections: Option<u32>,

    /// Most extensions one tenant may have installed; uploading another new one fails with
    /// 409 EXTENSION_LIMIT (updates of installed ones are always allowed).
    #[arg(long, env = "ALGA_EXT_MAX_EXTENSIONS_PER_TENANT", default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_extensions_per_tenant: u64,
}

pub(super) fn positive_duration(raw: &str) -> Result<Duration, String> {
    match humantime::parse_duration(raw) {
        Ok(d) if d.is_zero() => Err("must be more than 0".into()),
        Ok(d) => Ok(d),
        Err(e) => Err(e.to_string()),
    }
}
