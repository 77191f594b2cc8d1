//! Flags of extensions' outbound `fetch()`: time and size caps, and whether private addresses may be reached.

use std::time::Duration;

use clap::Args;

/// How extensions reach hosts outside the host app (`fetch:<host>` capabilities).
#[derive(Debug, Clone, Args)]
pub struct FetchArgs {
    /// Most time one `fetch()` may take: waiting for its turn, every redirect and the body.
    #[arg(long, env = "ALGA_EXT_FETCH_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    pub fetch_timeout: Duration,

    /// Largest request body an extension may send with `fetch()`, in bytes.
    #[arg(long, env = "ALGA_EXT_FETCH_MAX_REQUEST_BYTES", default_value_t = 1024 * 1024)]
    pub fetch_max_request_bytes: u64,

    /// Largest response body `fetch()` reads, in bytes; a bigger one fails with RESPONSE_TOO_LARGE.
    #[arg(long, env = "ALGA_EXT_FETCH_MAX_RESPONSE_BYTES", default_value_t = 5 * 1024 * 1024)]
    pub fetch_max_response_bytes: u64,

    /// Let `fetch()` reach private, loopback and link-local addresses (10/8, 127/8,
    /// 169.254/16, fc00::/7, …) of granted hosts. Off by default: an allowed host name may
    /// resolve to an internal service or the cloud metadata address. For development, or
    /// for extensions meant to call internal services.
    #[arg(long, env = "ALGA_EXT_FETCH_ALLOW_PRIVATE")]
    pub fetch_allow_private: bool,
}

impl FetchArgs {
    pub fn config(&self) -> alga_ops::fetch::FetchConfig {
        alga_ops::fetch::FetchConfig {
            timeout: self.fetch_timeout,
            max_request_bytes: usize::try_from(self.fetch_max_request_bytes).unwrap_or(usize::MAX),
            max_response_bytes: usize::try_from(self.fetch_max_response_bytes).unwrap_or(usize::MAX),
            allow_private: self.fetch_allow_private,
        }
    }
}
