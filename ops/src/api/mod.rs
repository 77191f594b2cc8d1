//! `ctx.api`: calls to the host app's REST API for the request's tenant and user, allowed
//! only where the install's granted capabilities reach, with a short-lived signed token.
//!
//! Checks happen before any network traffic: the path is normalized and matched against
//! the capability table, so a refused call leaves no trace at the host.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use deno_core::url::Url;
use deno_core::{op2, OpState};
use serde::{Deserialize, Serialize};
use serde_json::Value;

mod error;
mod paths;

pub use error::ApiOpError;

pub use paths::{capability_for, HOST_PATHS};

deno_core::extension!(
    alga_api,
    ops = [op_api_request],
    esm_entry_point = "ext:alga_api/00_api.js",
    esm = [dir "src/api", "00_api.js"],
);

/// Claims of the token a call carries; the host verifies it with the shared secret.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ApiClaims {
    pub iss: String,
    pub aud: String,
    pub tenant: String,
    /// The user the extension acts for.
    pub sub: String,
    /// The extension's manifest id.
    pub extension: String,
    /// Capabilities granted to the install, `resource:action`.
    pub capabilities: Vec<String>,
    pub iat: i64,
    pub exp: i64,
}

/// Signs [`ApiClaims`]; the runtime supplies it, so this crate needs no JWT library.
pub type Signer = Arc<dyn Fn(&ApiClaims) -> Result<String, String> + Send + Sync>;

/// The process-wide client for the host API.
pub struct HostApi {
    client: reqwest::Client,
    base: Url,
    signer: Signer,
    timeout: Duration,
    max_response_bytes: usize,
    token_ttl: Duration,
}

/// How `HostApi` is set up.
#[derive(Debug, Clone)]
pub struct HostApiConfig {
    /// Where the host app serves its API, e.g. `http://alga:3000`.
    pub base: Url,
    /// Most time one call may take, connection included.
    pub timeout: Duration,
    /// Largest response body accepted.
    pub max_response_bytes: usize,
    /// How long the token of one call stays valid.
    pub token_ttl: Duration,
}

/// Most redirects followed, all on the host's own origin.
const MAX_REDIRECTS: usize = 5;

impl HostApi {
    pub fn new(config: HostApiConfig, signer: Signer) -> Result<Self, String> {
        if !matches!(config.base.scheme(), "http" | "https") || config.base.host().is_none() {
            return Err(format!("host API URL {} must be http(s)://host[:port]", config.base));
        }
        // Redirects are followed by the op itself, which checks each hop's origin and
        // capability: a redirect elsewhere could carry the extension's token off the host.
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(config.timeout)
            .build()
            .map_err(|e| format!("cannot build the host API client: {e}"))?;
        Ok(Self {
            client,
            base: config.base,
            signer,
            timeout: config.timeout,
            max_response_bytes: config.max_response_bytes,
            token_ttl: config.token_ttl,
        })
    }
}

/// What the API ops act for; put into OpState by the runtime when it builds the isolate.
#[derive(Clone)]
pub struct ApiContext {
    /// `None` when the runtime has no host API configured.
    pub host: Option<Arc<HostApi>>,
    pub tenant: String,
    pub extension: String,
    /// Granted capabilities, `resource:action`.
    pub granted: Vec<String>,
    /// The runtime whose connection pool the client uses.
    pub spawner: tokio::runtime::Handle,
}

/// The user the running call acts for, set by the runtime around every handler or hook
/// call; `None` between calls, when no one can be acted for.
#[derive(Debug, Clone, Default)]
pub struct CallUser(pub Option<String>);

/// Options of one call, from JS.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CallOptions {
    #[serde(default)]
    body: Option<Value>,
    #[serde(default)]
    headers: Vec<(String, String)>,
}

/// Headers an extension may not set: the runtime owns identity and framing.
const RESERVED_HEADERS: &[&str] = &["authorization", "cookie", "host", "content-length", "transfer-encoding", "connection", "x-alga-extension"];

/// A host response as JS sees it.
#[derive(Debug, Serialize)]
struct ApiResponse {
    status: u16,
    headers: Vec<(String, String)>,
    /// Parsed when the host said JSON; text otherwise; null when empty.
    body: Value,
}

#[op2]
#[serde]
async fn op_api_request(
    state: Rc<RefCell<OpState>>,
    #[string] method: String,
    #[string] path: String,
    #[serde] options: Option<CallOptions>,
) -> Result<ApiResponse, ApiOpError> {
    let (ctx, user) = {
        let state = state.borrow();
        let ctx = state.try_borrow::<ApiContext>().cloned().ok_or(ApiOpError::Unavailable)?;
        let user = state.try_borrow::<CallUser>().and_then(|u| u.0.clone());
        (ctx, user)
    };
    let method = method.to_ascii_uppercase();
    let normalized = paths::normalize(&path).map_err(|e| ApiOpError::InvalidPath(e.to_string()))?;
    let needed = capability_for(&method, &normalized).map_err(|e| ApiOpError::PermissionDenied(e.to_string()))?;
    if !ctx.granted.contains(&needed) {
        return Err(ApiOpError::PermissionDenied(format!(
            "{method} {normalized} needs the {needed} capability, which this extension was not granted"
        )));
    }
    let host = ctx.host.clone().ok_or(ApiOpError::NotConfigured)?;
    let user = user.ok_or_else(|| ApiOpError::PermissionDenied("ctx.api acts for the user of a request; no request is running".into()))?;
    let options = options.unwrap_or_default();
    for (name, _) in &options.headers {
        if RESERVED_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
            return Err(ApiOpError::InvalidArgument(format!("header {name:?} is set by the runtime")));
        }
    }
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    let claims = ApiClaims {
        iss: "alga-ext".into(),
        aud: "alga-host-api".into(),
        tenant: ctx.tenant.clone(),
        sub: user,
        extension: ctx.extension.clone(),
        capabilities: ctx.granted.clone(),
        iat: now,
        exp: now + host.token_ttl.as_secs().max(1) as i64,
    };
    let token = (host.signer)(&claims).map_err(|e| {
        tracing::error!(error = %e, "cannot sign a host API token");
        ApiOpError::Internal("cannot sign the host API token")
    })?;
    let span = tracing::info_span!("host_api", tenant = %ctx.tenant, extension = %ctx.extension, method = %method, path = %normalized);
    let granted = ctx.granted.clone();
    let work = async move {
        let mut url = host.base.join(&normalized).map_err(|e| ApiOpError::InvalidPath(e.to_string()))?;
        let mut method = reqwest::Method::from_bytes(method.as_bytes()).map_err(|e| ApiOpError::InvalidArgument(e.to_string()))?;
        let mut body = options.body;
        let mut hops = 0;
        let mut response = loop {
            let mut request = host.client.request(method.clone(), url.clone()).bearer_auth(&token).header("x-alga-extension", &claims.extension);
            for (name, value) in &options.headers {
                request = request.header(name, value);
            }
            if let Some(body) = &body {
                request = request.json(body);
            }
            let response = request.send().await.map_err(|e| request_error(&host, e))?;
            if !response.status().is_redirection() {
                break response;
            }
            hops += 1;
            let next = response
                .headers()
                .get("location")
                .and_then(|l| l.to_str().ok())
                .and_then(|l| url.join(l).ok())
                .ok_or_else(|| ApiOpError::InvalidResponse("the host API sent a redirect without a usable Location".into()))?;
            if hops > MAX_REDIRECTS {
                return Err(ApiOpError::RedirectRefused(format!("more than {MAX_REDIRECTS} redirects")));
            }
            if next.origin() != host.base.origin() {
                return Err(ApiOpError::RedirectRefused(format!(
                    "the host API redirected to {}, off its own origin; not followed",
                    next.origin().ascii_serialization()
                )));
            }
            // 301/302/303 turn into a GET without a body, as browsers do; 307/308 repeat.
            if !matches!(response.status().as_u16(), 307 | 308) {
                method = reqwest::Method::GET;
                body = None;
            }
            let path = match next.query() {
                Some(q) => format!("{}?{q}", next.path()),
                None => next.path().to_owned(),
            };
            let path = paths::normalize(&path).map_err(|e| ApiOpError::RedirectRefused(e.to_string()))?;
            let needed = capability_for(method.as_str(), &path).map_err(|e| ApiOpError::RedirectRefused(e.to_string()))?;
            if !granted.contains(&needed) {
                return Err(ApiOpError::PermissionDenied(format!("the host API redirected to {path}, which needs the ungranted {needed}")));
            }
            url = next;
        };
        if response.content_length().is_some_and(|n| n as usize > host.max_response_bytes) {
            return Err(too_large(&host));
        }
        let status = response.status().as_u16();
        let headers: Vec<(String, String)> =
            response.headers().iter().filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned()))).collect();
        let is_json = response.headers().get("content-type").and_then(|v| v.to_str().ok()).is_some_and(|t| t.contains("json"));
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| request_error(&host, e))? {
            if bytes.len() + chunk.len() > host.max_response_bytes {
                return Err(too_large(&host));
            }
            bytes.extend_from_slice(&chunk);
        }
        let body = if bytes.is_empty() {
            Value::Null
        } else if is_json {
            serde_json::from_slice(&bytes).map_err(|e| ApiOpError::InvalidResponse(format!("the host API sent invalid JSON: {e}")))?
        } else {
            Value::String(String::from_utf8_lossy(&bytes).into_owned())
        };
        Ok(ApiResponse { status, headers, body })
    };
    let started = std::time::Instant::now();
    let outcome = ctx.spawner.spawn(tracing::Instrument::instrument(work, span.clone())).await.map_err(|e| {
        tracing::error!(error = %e, "host API call did not complete on the server runtime");
        ApiOpError::Internal("the host API call failed")
    })?;
    let _entered = span.enter();
    let label = match &outcome {
        Ok(r) if r.status < 400 => "ok".to_owned(),
        Ok(r) => format!("http_{}", r.status / 100 * 100),
        Err(e) => e.to_string().split(':').next().unwrap_or("error").to_owned(),
    };
    metrics::histogram!("alga_host_api_call_duration_seconds", "outcome" => label).record(started.elapsed().as_secs_f64());
    match &outcome {
        Ok(r) => tracing::debug!(status = r.status, elapsed_ms = started.elapsed().as_millis() as u64, "host API call"),
        Err(e) => tracing::info!(error = %e, "host API call failed"),
    }
    outcome
}

fn too_large(host: &HostApi) -> ApiOpError {
    ApiOpError::ResponseTooLarge { max_bytes: host.max_response_bytes }
}

fn request_error(host: &HostApi, e: reqwest::Error) -> ApiOpError {
    if e.is_timeout() {
        ApiOpError::Timeout { ms: host.timeout.as_millis() as u64 }
    } else {
        ApiOpError::Network(e.to_string())
    }
}
