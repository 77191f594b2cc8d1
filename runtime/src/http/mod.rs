//! The HTTP surface: `app()` builds the router from shared state; serving it lives in the `serve` module.

// An `ApiError` is built at most once per request, on the way out; its size does not matter.
#![allow(clippy::result_large_err)]

mod admin;
mod audit;
mod console;
pub mod cors;
mod demo;
mod dispatch;
mod error;
mod extract;
mod health;
pub mod host_guard;
mod list_cursor;
pub(crate) mod logs;
mod me;
mod metrics;
pub mod openapi;
pub mod response_headers;
mod roles;
pub mod sdk_files;
mod storage_io;
pub mod ui;
pub mod ui_assets;

use std::sync::Arc;
use std::time::Duration;

use alga_store::Store;
use axum::extract::DefaultBodyLimit;
use axum::extract::{FromRequestParts, MatchedPath, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::middleware::from_fn_with_state;
use axum::response::Response;
use axum::routing::{any, delete, get, post, put, MethodRouter};
use axum::Router;
use tower_http::trace::TraceLayer;
use tracing::Span;

pub use error::ApiError;
pub use host_guard::HostGuards;

use crate::auth::{Principal, TokenKeys};
use crate::pool::{IsolatePool, PoolConfig};
use crate::registry::Registry;

/// What every handler may reach. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub tokens: Arc<TokenKeys>,
    pub registry: Arc<Registry>,
    /// Roles that hold `extension:manage` in every tenant without an RBAC grant.
    pub admin_roles: Arc<Vec<String>>,
    pub pool: Arc<IsolatePool>,
    /// How long a data widget's handler has (`--widget-timeout`).
    pub widget_budget: Duration,
    /// The Content-Security-Policy of handler-rendered pages, `frame-ancestors` included.
    pub page_csp: Arc<str>,
    /// How `/ext-ui/...` answers: the CSP of HTML assets, whether a token is required.
    pub ui_assets: Arc<ui_assets::UiSettings>,
    /// Rate limit and CORS of the host-facing routes.
    pub guards: Arc<HostGuards>,
    /// Development mode (`serve --dev`): the demo host shell at `/demo` is served, and an
    /// extension's uncaught error answers its stack to the caller (`details.stack`).
    pub dev: bool,
    /// Signs the admin console's session cookies and keeps its one-time sign-in codes.
    pub console: Arc<crate::auth::session::ConsoleSessions>,
    /// How this node hears of other nodes' changes (`/readyz` reports it).
    pub cluster: Arc<crate::cluster::ClusterStatus>,
}

impl AppState {
    /// State with a default isolate pool. Must be called inside a tokio runtime.
    pub fn new(registry: Arc<Registry>, tokens: TokenKeys, admin_roles: Vec<String>) -> Self {
        Self::with_pool(registry, tokens, admin_roles, PoolConfig::default())
    }

    pub fn with_pool(registry: Arc<Registry>, tokens: TokenKeys, admin_roles: Vec<String>, pool: PoolConfig) -> Self {
        let pool = IsolatePool::new(registry.clone(), pool);
        Self {
            store: registry.store().clone(),
            tokens: Arc::new(tokens),
            registry,
            admin_roles: Arc::new(admin_roles),
            pool,
            widget_budget: ui::WIDGET_BUDGET,
            page_csp: format!("{}; frame-ancestors 'self'", ui::PAGE_CSP).into(),
            ui_assets: Arc::new(ui_assets::UiSettings::default()),
            guards: Arc::new(HostGuards::default()),
            dev: false,
            console: Arc::new(crate::auth::session::ConsoleSessions::ephemeral()),
            cluster: crate::cluster::ClusterStatus::single(),
        }
    }

    /// Sets how console sessions are signed: `serve` derives the key from its secret so that
    /// every node sharing it accepts a session (the default key lives only in this process).
    pub fn with_console(mut self, console: crate::auth::session::ConsoleSessions) -> Self {
        self.console = Arc::new(console);
        self
    }

    /// Applies other nodes' changes from now on (PostgreSQL; a no-op on SQLite) and reports
    /// how that goes in `/readyz`.
    pub async fn with_cluster_sync(mut self) -> Result<Self, alga_store::StoreError> {
        self.cluster = crate::cluster::start(&self.store, self.registry.clone(), self.pool.clone()).await?;
        Ok(self)
    }

    /// Sets how `/ext-ui/...` answers (`--ui-*` flags): handler-rendered pages take the
    /// same Content-Security-Policy as static HTML.
    pub fn with_ui_assets(mut self, settings: ui_assets::UiSettings) -> Self {
        if let Ok(csp) = settings.csp.to_str() {
            self.page_csp = csp.into();
        }
        self.ui_assets = Arc::new(settings);
        self
    }

    /// The same state with these host guards (the default has none).
    pub fn with_guards(mut self, guards: HostGuards) -> Self {
        self.guards = Arc::new(guards);
        self
    }

    /// Turns development mode on or off: with it, `/demo` serves the demo host shell.
    pub fn with_dev(mut self, dev: bool) -> Self {
        self.dev = dev;
        self
    }

    /// Sets how long a data widget's handler has before it is reported as failed.
    pub fn with_widget_budget(mut self, budget: Duration) -> Self {
        self.widget_budget = budget;
        self
    }

    /// Sets the Content-Security-Policy of handler-rendered pages.
    pub fn with_page_csp(mut self, csp: impl Into<Arc<str>>) -> Self {
        self.page_csp = csp.into();
        self
    }
}

/// Every route of the API as (path template, the methods it serves). `app()` mounts exactly
/// these; `tests/it/openapi.rs` walks them to hold `GET /openapi.json` to what is served.
pub fn routes(state: &AppState) -> Vec<(&'static str, MethodRouter<AppState>)> {
    // Uploads enforce the bundle size limit themselves (with the API's error shape);
    // axum's default 2 MB cap would cut them off first.
    let upload_limit = DefaultBodyLimit::max(state.registry.inspect_options().limits.max_compressed_bytes as usize + 64 * 1024);
    // Host-facing routes (what the host app calls for its users): token first, then the
    // tenant's rate limit, before the handler reads anything.
    let host = from_fn_with_state(state.clone(), host_guard::host_route);
    vec![
        ("/healthz", get(health::healthz)),
        ("/metrics", get(metrics::render)),
        ("/readyz", get(health::readyz)),
        ("/openapi.json", get(openapi::serve)),
        ("/v1/me", get(me::me).route_layer(host.clone())),
        ("/schemas/manifest.json", get(admin::manifest_schema)),
        ("/api/extensions/{id}/{*path}", any(dispatch::dispatch).layer(host.clone())),
        ("/api/ui/navigation", get(ui::navigation).route_layer(host.clone())),
        ("/api/ui/dashboard", get(ui::dashboard).route_layer(host.clone())),
        ("/api/ui/dashboard/{id}/{widget}", get(ui::widget).route_layer(host.clone())),
        ("/api/ui/pages/{id}/{*path}", get(ui::page).route_layer(host.clone())),
        ("/api/ui/pages/{id}/", get(ui::root_page).route_layer(host.clone())),
        ("/api/ui/apiproxy/{id}", post(ui::apiproxy).route_layer(host)),
        // Signed by its `?t=` URL, not a bearer token: the token guard does not apply.
        ("/ext-pages/{id}/{*path}", get(ui::render_page)),
        ("/ext-ui/{id}/{hash}/", get(ui_assets::serve)),
        ("/ext-ui/{id}/{hash}/{*path}", get(ui_assets::serve)),
        ("/admin/v1/extensions", post(admin::upload).layer(upload_limit).get(admin::list)),
        ("/admin/v1/extensions/{id}", get(admin::detail).delete(admin::uninstall)),
        ("/admin/v1/extensions/{id}/approve", post(admin::approve)),
        ("/admin/v1/extensions/{id}/pending", delete(admin::discard_update)),
        ("/admin/v1/extensions/{id}/enable", post(admin::enable)),
        ("/admin/v1/extensions/{id}/disable", post(admin::disable)),
        ("/admin/v1/extensions/{id}/limits", get(admin::get_limits).put(admin::put_limits)),
        ("/admin/v1/extensions/{id}/storage/usage", get(admin::storage_usage)),
        ("/admin/v1/extensions/{id}/storage/audit", get(admin::storage_audit)),
        ("/admin/v1/extensions/{id}/errors", get(logs::recent_errors)),
        ("/admin/v1/extensions/{id}/logs", get(logs::logs)),
        ("/admin/v1/extensions/{id}/storage", get(storage_io::export).post(storage_io::import)),
        ("/admin/v1/extensions/{id}/settings", get(admin::get_settings).put(admin::put_settings).delete(admin::reset_settings)),
        ("/admin/v1/audit", get(audit::list)),
        ("/admin/v1/roles", get(roles::list)),
        ("/admin/v1/roles/{role}/permissions/{permission}", put(roles::grant).delete(roles::revoke)),
    ]
}

/// The whole HTTP API as a router, ready for `axum::serve` or for `oneshot` in tests.
pub fn app(state: AppState) -> Router {
    let mut router = routes(&state).into_iter().fold(Router::new(), |router, (path, methods)| router.route(path, methods));
    router = router.merge(console::routes());
    // A development page, not part of the API: mounted only in dev mode (a 404 otherwise),
    // and so not in `routes()` nor in `/openapi.json`.
    if state.dev {
        router = router.merge(demo::routes());
    }
    let router = router.fallback(not_found).layer(axum::middleware::from_fn(error::json_errors));
    // Outside the error shaping, so errors carry CORS headers for allowed origins too.
    cors::apply(router, &state.guards.cors)
        .layer(axum::middleware::from_fn(metrics::track))
        .layer(TraceLayer::new_for_http().make_span_with(request_span).on_request(()).on_response(record_response).on_failure(()))
        .with_state(state)
}

/// One span per request; `tenant` is filled in once a token has been verified.
fn request_span(req: &Request) -> Span {
    let route = req.extensions().get::<MatchedPath>().map(MatchedPath::as_str).unwrap_or("<unmatched>");
    tracing::info_span!(
        "request",
        method = %req.method(),
        route,
        tenant = tracing::field::Empty,
        status = tracing::field::Empty,
        latency_ms = tracing::field::Empty,
    )
}

fn record_response(res: &Response, latency: Duration, span: &Span) {
    span.record("status", res.status().as_u16());
    span.record("latency_ms", latency.as_secs_f64() * 1000.0);
    tracing::info!("response");
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such route")
}

/// Extracts the verified caller from `Authorization: Bearer <token>`, failing closed with 401.
pub struct Authenticated(pub Principal);

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if let Some(host_guard::Verified(principal)) = parts.extensions.get::<host_guard::Verified>() {
            return Ok(Authenticated(principal.clone()));
        }
        let header = match parts.headers.get(header::AUTHORIZATION) {
            None => None,
            Some(value) => {
                Some(value.to_str().map_err(|_| ApiError::new(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED", "Authorization header is not ASCII"))?)
            }
        };
        let principal = state.tokens.verify_header(header)?;
        Span::current().record("tenant", principal.tenant.as_str());
        Ok(Authenticated(principal))
    }
}
