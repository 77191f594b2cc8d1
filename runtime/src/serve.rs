//! `alga-ext serve` and `alga-ext migrate`: open the store, apply migrations, serve until a signal.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;

use crate::cli::{DatabaseArgs, ServeArgs};
use crate::config::{self, ConfigError};
use crate::http::{app, AppState};
use crate::registry::Registry;

mod connections;
mod single_node;

pub use connections::{
    default_max_connections, raise_open_file_limit, serve_with, AcceptBackoff, ServeOptions, DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_HEADERS,
    DEFAULT_MAX_HEADER_BYTES, MIN_HEADER_BYTES,
};

/// Why the server stopped abnormally.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("--listen (ALGA_EXT_LISTEN) {addr}: {source}")]
    Bind { addr: std::net::SocketAddr, source: std::io::Error },
    #[error("server failed: {0}")]
    Io(#[from] std::io::Error),
}

/// Runs `alga-ext migrate`.
pub async fn migrate(args: &DatabaseArgs) -> Result<(), ConfigError> {
    let options = config::connect_options(args)?;
    let store = config::open_store(&options).await?;
    config::migrate(store.as_ref(), &options).await?;
    let status = store
        .schema_status()
        .await
        .map_err(|e| ConfigError::Database { url: alga_store::redact_url(&options.url), reason: crate::diagnostics::error_chain(&e) })?;
    tracing::info!(applied = status.applied, "migrations applied");
    Ok(())
}

/// Runs `alga-ext serve` until SIGTERM or SIGINT.
pub async fn run(args: ServeArgs) -> Result<(), ServeError> {
    let (tokens, generated) = config::token_keys(args.jwt_secret.as_deref(), args.host.jwt_public_key.as_deref(), args.dev)?;
    let guards = config::host_guards(&args.host)?;
    let inspect = config::inspect_options(&args.bundles, &args.signatures)?;
    let jwt_secret = args.jwt_secret.clone().or_else(|| generated.clone()).unwrap_or_default();
    let host_api = config::host_api(&args.host_api, &jwt_secret)?;
    let configured_sealer = config::configured_sealer(args.encryption_keys.as_deref())?;
    let ui_assets = config::ui_settings(&args.ui)?;
    let mut options = config::connect_options(&args.database)?;
    // A SQLite writer may wait for a transaction that holds the lock until its bound.
    options.sqlite_lock_wait = args.fairness.storage_tx_max + Duration::from_secs(2);
    // Before anything opens the file: a second node on it is refused, not left to diverge.
    let _sqlite_lock = single_node::lock_sqlite(&options.url)?;
    let store = config::open_store(&options).await?;
    config::migrate(store.as_ref(), &options).await?;
    let options_url = options.url.clone();
    tracing::info!(database = %alga_store::redact_url(&options.url), "database ready");
    match store.schema_status().await {
        Ok(status) if !status.rls_bound_functions.is_empty() => {
            tracing::warn!("{}", crate::diagnostics::rls_bound_warning(&status.rls_bound_functions));
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "cannot read the schema status"),
    }
    let sealer = match configured_sealer {
        Some(sealer) => Some(sealer),
        None => config::local_sealer(&args.database, args.dev)?,
    };
    if sealer.is_none() {
        tracing::warn!("no --encryption-keys: sensitive storage values and secret settings will be refused");
    }

    let options = serve_options(&args);
    let listener = TcpListener::bind(args.listen).await.map_err(|source| ServeError::Bind { addr: args.listen, source })?;
    let addr = listener.local_addr()?;
    if let Some(secret) = &generated {
        print_dev_help(secret, addr);
    }
    let console = config::console_sessions(args.ui.page_url_secret.as_deref(), &jwt_secret)?;
    if args.dev && !args.embedded {
        print_demo_help(addr);
    }
    print_console_help(&console, addr, args.dev);
    tracing::info!(%addr, "listening");
    let quota = alga_store::StorageQuota { max_keys: args.storage_max_keys, max_bytes: args.storage_max_bytes };
    let mut registry = Registry::new(store, inspect)
        .with_storage_quota(quota)
        .with_storage_cache(args.storage_cache_entries, args.storage_cache_ttl)
        .with_tenant_db_share(args.fairness.tenant_db_share(args.database.db_max_connections))
        .with_transaction_max_duration(args.fairness.storage_tx_max)
        .with_max_extensions_per_tenant(args.http.max_extensions_per_tenant)
        .with_edition(args.ui.edition)
        .with_page_links(config::page_links(args.ui.page_url_secret.as_deref(), &jwt_secret)?)
        .with_ui_asset_cache(args.ui.ui_asset_cache_mb.saturating_mul(1024 * 1024));
    tracing::info!(edition = args.ui.edition.as_str(), "edition");
    if let Some(sealer) = sealer {
        registry = registry.with_sealer(sealer);
    }
    if let Some(host_api) = host_api {
        registry = registry.with_host_api(host_api);
    }
    registry = registry.with_fetch(alga_ops::fetch::FetchClient::new(args.fetch.config()).map_err(ConfigError::Fetch)?);
    if args.fetch.fetch_allow_private {
        tracing::warn!("--fetch-allow-private: extensions' fetch() may reach private and loopback addresses of the hosts they were granted");
    }
    let registry = Arc::new(registry);
    if args.metrics {
        crate::metrics::install();
    }
    if !args.maintenance_interval.is_zero() {
        let config = crate::maintenance::MaintenanceConfig {
            interval: args.maintenance_interval,
            orphan_retention: args.storage_orphan_retention,
            recount_every: 10,
        };
        crate::maintenance::spawn(registry.store().clone(), config);
    }
    let admin_roles = args.admin_roles.iter().filter(|r| !r.trim().is_empty()).cloned().collect();
    let mut pool_config = args.isolates.pool_config();
    args.fairness.apply(&mut pool_config);
    args.host.apply(&mut pool_config);
    log_host_guards(&args.host, tokens.algorithm_name());
    let state = AppState::with_pool(registry, tokens, admin_roles, pool_config)
        .with_widget_budget(args.ui.widget_timeout)
        .with_ui_assets(ui_assets)
        .with_guards(guards)
        .with_dev(args.dev)
        .with_console(console)
        .with_cluster_sync()
        .await
        .map_err(|e| ConfigError::Database { url: alga_store::redact_url(&options_url), reason: crate::diagnostics::error_chain(&e) })?;
    if args.isolates.prewarm > 0 {
        let (pool, count, concurrency) = (state.pool.clone(), args.isolates.prewarm, args.isolates.prewarm_concurrency as usize);
        tokio::spawn(async move { pool.prewarm(count, concurrency).await });
    }
    let router = app(state);
    serve_with(listener, router, shutdown_signal(), options).await?;
    tracing::info!("stopped");
    Ok(())
}

/// Serves `router` until `shutdown` resolves, then stops accepting and gives in-flight
/// requests up to `grace` to finish; connection limits are the defaults.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    grace: Duration,
) -> std::io::Result<()> {
    serve_with(listener, router, shutdown, ServeOptions { grace, ..ServeOptions::default() }).await
}

/// Connection limits from the flags, after raising the open-file limit as far as allowed.
fn serve_options(args: &ServeArgs) -> ServeOptions {
    let open_files = match raise_open_file_limit() {
        Ok(limit) => {
            tracing::info!(limit, "open-file limit (RLIMIT_NOFILE)");
            limit
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot read or raise the open-file limit");
            1024
        }
    };
    // Descriptors other than client connections: the database pool, each isolate thread's
    // runtime (an epoll and an event fd, a few more with timers), logs and files.
    // Files the process holds besides client connections: its own, the database pool's,
    // each isolate's, and extensions' outbound `fetch()` sockets.
    let reserved = 128 + u64::from(args.database.db_max_connections) + 4 * args.isolates.max_isolates + alga_ops::fetch::PROCESS_IN_FLIGHT as u64;
    let max_connections = match args.http.max_connections {
        Some(max) => max as usize,
        None => default_max_connections(open_files, reserved),
    };
    tracing::info!(
        max_connections,
        header_timeout = ?args.http.http_header_timeout,
        idle_timeout = ?args.http.http_idle_timeout,
        max_header_bytes = args.host.http_max_header_bytes,
        max_headers = args.host.http_max_headers,
        "connection limits"
    );
    ServeOptions {
        header_timeout: args.http.http_header_timeout,
        idle_timeout: args.http.http_idle_timeout,
        max_connections,
        grace: args.shutdown_grace,
        max_header_bytes: args.host.http_max_header_bytes as usize,
        max_headers: usize::from(args.host.http_max_headers),
    }
}

/// Says at start how host-facing routes are guarded (logged once the configuration is known
/// to be good, so a bad setting still fails with its one error line).
fn log_host_guards(host: &crate::cli::HostArgs, algorithm: &str) {
    match host.rate_limit_per_second {
        0 => tracing::warn!("--rate-limit-per-second is 0: host-facing routes have no per-tenant rate limit"),
        rate => tracing::info!(per_second = rate, burst = host.rate_limit_burst, "per-tenant rate limit"),
    }
    let cors: Vec<&str> = host.cors_origins.iter().map(|o| o.trim()).filter(|o| !o.is_empty()).collect();
    tracing::info!(
        token_algorithm = algorithm,
        endpoint_max_body_bytes = host.endpoint_max_body_bytes,
        cors_origins = ?cors,
        "host-facing routes"
    );
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

/// Where the admin console is; in dev mode, with a one-time sign-in link for the dev admin.
fn print_console_help(console: &crate::auth::session::ConsoleSessions, addr: std::net::SocketAddr, dev: bool) {
    if !dev {
        tracing::info!("admin console at http://{addr}/admin (sign in with a token of a user who may manage extensions)");
        return;
    }
    let Ok(tenant) = alga_store::TenantId::parse(DEV_TENANT) else { return };
    let principal = crate::auth::Principal { tenant, user: DEV_USER.into(), roles: vec![DEV_ROLE.into()] };
    let code = console.issue_login_code(principal);
    eprintln!(
        "Admin console: http://{addr}/admin/login?code={code}\n  \
         (signs in tenant {DEV_TENANT} as {DEV_USER} with role {DEV_ROLE}; the link works once, for {} minutes;\n  \
         afterwards sign in at http://{addr}/admin with a token)\n",
        crate::auth::session::LOGIN_CODE_TTL.as_secs() / 60
    );
}

/// Who the dev-mode sign-in link signs in: the same user the dev help mints tokens for.
const DEV_TENANT: &str = "acme";
const DEV_USER: &str = "alice";
const DEV_ROLE: &str = "admin";

/// Where the demo host shell is and what it needs (a token, minted as the help above says).
fn print_demo_help(addr: std::net::SocketAddr) {
    eprintln!(
        "Demo host shell (dev mode only): http://{addr}/demo\n  \
         Paste a token there: alga-ext token --tenant acme --user alice --roles admin (with ALGA_EXT_JWT_SECRET set).\n  \
         It shows the installed extensions; install one with\n  \
         alga-ext install <bundle.zip> --url http://{addr} --token \"$TOKEN\" --enable\n  \
         The SDKs it runs are served at http://{addr}{}\n",
        crate::http::sdk_files::url_path("")
    );
}

fn print_dev_help(secret: &str, addr: std::net::SocketAddr) {
    eprintln!(
        "\nDevelopment mode: generated a JWT secret for this run (tokens die with the process).\n\
         Mint a token and try the API:\n\n  \
         export ALGA_EXT_JWT_SECRET={secret}\n  \
         TOKEN=$(alga-ext token --tenant acme --user alice --roles admin)\n  \
         curl -H \"Authorization: Bearer $TOKEN\" http://{addr}/v1/me\n"
    );
}
