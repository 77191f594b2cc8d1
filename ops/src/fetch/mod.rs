//! `fetch()` for extension code: outbound HTTP(S) to the hosts the install was granted (`fetch:<host>` capabilities), with size and time caps, redirects re-checked hop by hop, and no private addresses unless the operator allows them.
//!
//! Every check runs in Rust before a connection is made: the URL's host against the granted
//! patterns, a literal IP against the address rules, and the names the resolver answers
//! against the same rules (`address.rs`). Redirects are followed here, not by the HTTP
//! client, so each hop passes the same checks.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use deno_core::url::Url;
use deno_core::{op2, OpState, ToJsBuffer};
use serde::{Deserialize, Serialize};

pub mod address;
mod error;

pub use error::FetchOpError;

deno_core::extension!(
    alga_fetch,
    ops = [op_fetch_send],
    esm_entry_point = "ext:alga_fetch/00_fetch.js",
    esm = [dir "src/fetch", "00_fetch.js"],
);

/// How the process-wide client behaves (`--fetch-*` flags).
#[derive(Debug, Clone)]
pub struct FetchConfig {
    /// Most time one `fetch()` may take, waiting for its turn, redirects and body included.
    pub timeout: Duration,
    pub max_request_bytes: usize,
    pub max_response_bytes: usize,
    /// Whether private, loopback and link-local addresses may be reached (development, or a
    /// deployment whose extensions call internal services on purpose).
    pub allow_private: bool,
}

impl Default for FetchConfig {
    fn default() -> Self {
        Self { timeout: Duration::from_secs(10), max_request_bytes: 1024 * 1024, max_response_bytes: 5 * 1024 * 1024, allow_private: false }
    }
}

/// Requests one isolate may have in flight; more wait their turn (within the timeout).
pub const PER_ISOLATE_IN_FLIGHT: usize = 8;
/// Requests the whole process may have in flight: bounds the sockets, the name lookups on
/// the blocking pool, and the response bytes buffered in Rust (this × the response cap).
pub const PROCESS_IN_FLIGHT: usize = 64;

/// Most redirects followed; each hop is checked like the first request.
pub const MAX_REDIRECTS: usize = 5;

/// The process-wide outbound client.
pub struct FetchClient {
    client: reqwest::Client,
    config: FetchConfig,
    in_flight: Arc<tokio::sync::Semaphore>,
}

impl FetchClient {
    pub fn new(config: FetchConfig) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            // A proxy would resolve names itself, past the address checks.
            .no_proxy()
            .dns_resolver(Arc::new(address::CheckedResolver { allow_private: config.allow_private }))
            .timeout(config.timeout)
            .user_agent(concat!("alga-ext/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build the fetch client: {e}"))?;
        Ok(Self { client, config, in_flight: Arc::new(tokio::sync::Semaphore::new(PROCESS_IN_FLIGHT)) })
    }

    pub fn config(&self) -> &FetchConfig {
        &self.config
    }
}

/// What `fetch()` acts for; put into OpState by the runtime when it builds the isolate.
#[derive(Clone)]
pub struct FetchContext {
    pub client: Arc<FetchClient>,
    /// This isolate's share of requests in flight ([`PER_ISOLATE_IN_FLIGHT`]); build it with
    /// [`FetchContext::isolate_permits`].
    pub permits: Arc<tokio::sync::Semaphore>,
    /// The granted `fetch:` capabilities' hosts (`api.example.com`, `*.example.com:8443`).
    pub hosts: Vec<String>,
    pub tenant: String,
    pub extension: String,
    /// The runtime whose connection pool the client uses.
    pub spawner: tokio::runtime::Handle,
}

impl FetchContext {
    /// A fresh per-isolate share of requests in flight.
    pub fn isolate_permits() -> Arc<tokio::sync::Semaphore> {
        Arc::new(tokio::sync::Semaphore::new(PER_ISOLATE_IN_FLIGHT))
    }
}

/// Aborts the request's task when the op's future goes away (the call ended, or the
/// isolate was terminated): a spawned task would otherwise run on, holding its socket.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Headers an extension may not set: the client owns framing and the connection.
const RESERVED_HEADERS: &[&str] = &[
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "upgrade",
    "te",
    "trailer",
    "expect",
    "proxy-authorization",
    "proxy-connection",
];
/// Headers dropped when a redirect leaves the origin they were meant for, as browsers do.
const CREDENTIAL_HEADERS: &[&str] = &["authorization", "cookie"];

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SendOptions {
    method: String,
    headers: Vec<(String, String)>,
    has_body: bool,
    /// `follow`, `manual` or `error`, as in the Fetch standard.
    redirect: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Answer {
    status: u16,
    status_text: String,
    headers: Vec<(String, String)>,
    url: String,
    redirected: bool,
    body: ToJsBuffer,
}

#[op2]
#[serde]
async fn op_fetch_send(
    state: Rc<RefCell<OpState>>,
    #[string] url: String,
    #[serde] options: SendOptions,
    #[buffer(copy)] body: Vec<u8>,
) -> Result<Answer, FetchOpError> {
    let ctx = state.borrow().try_borrow::<FetchContext>().cloned().ok_or(FetchOpError::Unavailable)?;
    let config = ctx.client.config.clone();
    let url = Url::parse(&url).map_err(|e| FetchOpError::InvalidArgument(format!("fetch: {url:?} is not an absolute URL ({e})")))?;
    check_target(&url, &ctx.hosts, config.allow_private)?;
    let method = reqwest::Method::from_bytes(options.method.to_ascii_uppercase().as_bytes())
        .map_err(|_| FetchOpError::InvalidArgument(format!("fetch: {:?} is not an HTTP method", options.method)))?;
    if matches!(method.as_str(), "CONNECT" | "TRACE" | "TRACK") {
        return Err(FetchOpError::InvalidArgument(format!("fetch: the {method} method is not allowed")));
    }
    if !matches!(options.redirect.as_str(), "follow" | "manual" | "error") {
        return Err(FetchOpError::InvalidArgument(format!("fetch: redirect must be follow, manual or error, not {:?}", options.redirect)));
    }
    for (name, _) in &options.headers {
        if RESERVED_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
            return Err(FetchOpError::InvalidArgument(format!("fetch: header {name:?} is set by the runtime")));
        }
    }
    if body.len() > config.max_request_bytes {
        return Err(FetchOpError::RequestTooLarge { max_bytes: config.max_request_bytes });
    }
    let span = tracing::info_span!("fetch", tenant = %ctx.tenant, extension = %ctx.extension, method = %method, host = url.host_str().unwrap_or(""));
    let host = host_of(&url);
    let timeout = config.timeout;
    let (isolate_permits, process_permits, spawner) = (ctx.permits.clone(), ctx.client.in_flight.clone(), ctx.spawner.clone());
    // One deadline for the whole exchange: the turn in both queues, every hop, the body.
    let work = async move {
        let exchange = async {
            let _mine = isolate_permits.acquire_owned().await.map_err(|_| FetchOpError::Internal("the request queue closed"))?;
            let _ours = process_permits.acquire_owned().await.map_err(|_| FetchOpError::Internal("the request queue closed"))?;
            send(ctx, url, method, options, body).await
        };
        tokio::time::timeout(timeout, exchange).await.unwrap_or(Err(FetchOpError::Timeout { host, ms: timeout.as_millis() as u64 }))
    };
    let started = std::time::Instant::now();
    let mut task = AbortOnDrop(spawner.spawn(tracing::Instrument::instrument(work, span.clone())));
    let outcome = (&mut task.0).await.map_err(|e| {
        tracing::error!(error = %e, "fetch did not complete on the server runtime");
        FetchOpError::Internal("the request failed")
    })?;
    let _entered = span.enter();
    let label = match &outcome {
        Ok(answer) => format!("http_{}", answer.status / 100 * 100),
        Err(e) => e.code().to_ascii_lowercase(),
    };
    metrics::histogram!("alga_fetch_duration_seconds", "outcome" => label).record(started.elapsed().as_secs_f64());
    match &outcome {
        Ok(answer) => tracing::debug!(status = answer.status, elapsed_ms = started.elapsed().as_millis() as u64, "fetch"),
        Err(e) => tracing::info!(error = %e, "fetch failed"),
    }
    outcome
}

/// The request and its redirects, on the server runtime.
async fn send(ctx: FetchContext, mut url: Url, mut method: reqwest::Method, options: SendOptions, body: Vec<u8>) -> Result<Answer, FetchOpError> {
    let client = &ctx.client;
    let mut headers = options.headers;
    let mut body = options.has_body.then_some(body);
    let mut redirected = false;
    for hop in 0..=MAX_REDIRECTS {
        let mut request = client.client.request(method.clone(), url.clone());
        for (name, value) in &headers {
            request = request.header(name.as_str(), value.as_str());
        }
        if let Some(bytes) = &body {
            request = request.body(bytes.clone());
        }
        let mut response = request.send().await.map_err(|e| request_error(&url, client, e))?;
        let location = response.headers().get("location").and_then(|l| l.to_str().ok()).map(str::to_owned);
        if !response.status().is_redirection() || location.is_none() || options.redirect == "manual" {
            let status = response.status();
            let answer_headers: Vec<(String, String)> =
                response.headers().iter().filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned()))).collect();
            let max = client.config.max_response_bytes;
            let too_large = || FetchOpError::ResponseTooLarge { host: host_of(&url), max_bytes: max };
            if response.content_length().is_some_and(|n| n > max as u64) {
                return Err(too_large());
            }
            let mut bytes = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(|e| request_error(&url, client, e))? {
                if bytes.len() + chunk.len() > max {
                    return Err(too_large());
                }
                bytes.extend_from_slice(&chunk);
            }
            return Ok(Answer {
                status: status.as_u16(),
                status_text: status.canonical_reason().unwrap_or("").to_owned(),
                headers: answer_headers,
                url: url.to_string(),
                redirected,
                body: bytes.into(),
            });
        }
        if options.redirect == "error" {
            return Err(FetchOpError::RedirectRefused(format!("{} redirected, and the request said redirect: \"error\"", host_of(&url))));
        }
        if hop == MAX_REDIRECTS {
            break;
        }
        let next = url
            .join(location.as_deref().unwrap_or_default())
            .map_err(|e| FetchOpError::RedirectRefused(format!("{} redirected to an unusable Location ({e})", host_of(&url))))?;
        check_target(&next, &ctx.hosts, client.config.allow_private)
            .map_err(|e| FetchOpError::RedirectRefused(format!("{} redirected to {}: {e}", host_of(&url), next.origin().ascii_serialization())))?;
        if next.origin() != url.origin() {
            headers.retain(|(name, _)| !CREDENTIAL_HEADERS.contains(&name.to_ascii_lowercase().as_str()));
        }
        // 301/302/303 turn into a GET without a body, as browsers do; 307/308 repeat.
        if !matches!(response.status().as_u16(), 307 | 308) && method != reqwest::Method::HEAD {
            method = reqwest::Method::GET;
            body = None;
            headers.retain(|(name, _)| !name.eq_ignore_ascii_case("content-type"));
        }
        url = next;
        redirected = true;
    }
    Err(FetchOpError::RedirectRefused(format!("more than {MAX_REDIRECTS} redirects")))
}

/// Whether `url` may be requested at all: http(s), a granted host and port, and (for a
/// literal IP) a public address unless private ones are allowed.
pub fn check_target(url: &Url, hosts: &[String], allow_private: bool) -> Result<(), FetchOpError> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(FetchOpError::InvalidArgument(format!("fetch: only http and https URLs can be fetched, not {}:", url.scheme())));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(FetchOpError::InvalidArgument("fetch: credentials in the URL are not allowed; send an Authorization header".into()));
    }
    let host = url.host_str().ok_or_else(|| FetchOpError::InvalidArgument(format!("fetch: {url} has no host")))?;
    let port = url.port_or_known_default().unwrap_or(0);
    if !hosts.iter().any(|pattern| host_matches(pattern, host, port, url.scheme())) {
        let granted = if hosts.is_empty() { "none".to_owned() } else { hosts.join(", ") };
        return Err(FetchOpError::HostNotAllowed(format!(
            "fetch: {host}{} is not among the hosts this extension may reach (granted: {granted}); list it as \"fetch:{host}\" in the manifest's permissions",
            url.port().map(|p| format!(":{p}")).unwrap_or_default()
        )));
    }
    let literal = match url.host() {
        Some(deno_core::url::Host::Ipv4(ip)) => Some(std::net::IpAddr::V4(ip)),
        Some(deno_core::url::Host::Ipv6(ip)) => Some(std::net::IpAddr::V6(ip)),
        _ => None,
    };
    if let Some(ip) = literal {
        if !allow_private && !address::is_public(ip) {
            return Err(FetchOpError::AddressRefused(format!("fetch: {ip} is a private, loopback or otherwise internal address")));
        }
    }
    Ok(())
}

/// Whether a granted pattern (`api.example.com`, `*.example.com`, either with `:port`)
/// covers this host and port; without a port only the scheme's default port is covered.
fn host_matches(pattern: &str, host: &str, port: u16, scheme: &str) -> bool {
    let (name, wanted_port) = match pattern.rsplit_once(':') {
        // `[::1]` has colons of its own: a port follows only the closing bracket.
        Some((name, p)) if !p.contains(']') && (!name.starts_with('[') || name.ends_with(']')) => (name, p.parse::<u16>().ok()),
        _ => (pattern, None),
    };
    let default = if scheme == "https" { 443 } else { 80 };
    if port != wanted_port.unwrap_or(default) {
        return false;
    }
    match name.strip_prefix("*.") {
        // A wildcard names domains: never an IP literal, whatever its last numbers.
        Some(_) if host.starts_with('[') || host.parse::<std::net::Ipv4Addr>().is_ok() => false,
        Some(domain) => host.len() > domain.len() + 1 && host.ends_with(domain) && host[..host.len() - domain.len()].ends_with('.'),
        None => host == name,
    }
}

fn host_of(url: &Url) -> String {
    url.host_str().unwrap_or("the server").to_owned()
}

fn request_error(url: &Url, client: &FetchClient, e: reqwest::Error) -> FetchOpError {
    let host = host_of(url);
    if e.is_timeout() {
        return FetchOpError::Timeout { host, ms: client.config.timeout.as_millis() as u64 };
    }
    // The resolver's refusal arrives wrapped in reqwest's and hyper's errors.
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    while let Some(err) = source {
        if let Some(refused) = err.downcast_ref::<address::AddressRefused>() {
            return FetchOpError::AddressRefused(format!("fetch: {refused}"));
        }
        source = err.source();
    }
    let reason = if e.is_connect() { "the connection failed".to_owned() } else { e.without_url().to_string() };
    FetchOpError::Network { host, reason }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn granted_patterns_cover_their_host_and_port_only() {
        assert!(host_matches("api.example.com", "api.example.com", 443, "https"));
        assert!(!host_matches("api.example.com", "api.example.com", 8443, "https"));
        assert!(host_matches("api.example.com:8443", "api.example.com", 8443, "https"));
        assert!(host_matches("*.example.com", "a.b.example.com", 80, "http"));
        assert!(!host_matches("*.example.com", "example.com", 443, "https"));
        assert!(!host_matches("*.example.com", "badexample.com", 443, "https"));
        assert!(!host_matches("api.example.com", "api.example.com.evil.net", 443, "https"));
        assert!(host_matches("[::1]:8080", "[::1]", 8080, "http"));
        assert!(host_matches("127.0.0.1:9000", "127.0.0.1", 9000, "http"));
        assert!(!host_matches("*.0.1", "127.0.0.1", 80, "http"), "a wildcard never matches an IP literal");
    }

    #[test]
    fn targets_are_checked_before_any_connection() {
        let hosts = vec!["api.example.com".to_owned(), "127.0.0.1:9000".to_owned()];
        let check = |u: &str, private| check_target(&Url::parse(u).unwrap(), &hosts, private).map_err(|e| e.code());
        assert_eq!(check("https://api.example.com/v1", false), Ok(()));
        assert_eq!(check("https://other.example.com/", false), Err("HOST_NOT_ALLOWED"));
        assert_eq!(check("http://127.0.0.1:9000/", false), Err("ADDRESS_REFUSED"));
        assert_eq!(check("http://127.0.0.1:9000/", true), Ok(()));
        assert_eq!(check("ftp://api.example.com/", false), Err("INVALID_ARGUMENT"));
        assert_eq!(check("https://user:pw@api.example.com/", false), Err("INVALID_ARGUMENT"));
    }
}
