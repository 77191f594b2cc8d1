//! One test file's world: a fresh SQLite store in a temporary directory, a host API
//! simulator, the runtime (registry, isolate pool, router) with the extension installed,
//! approved and enabled for the test tenant, the gateway, and the test isolate itself.
//!
//! Everything is dropped with the session, so no test file sees another's data.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use alga_bundle::Files;
use alga_ops::console::{LogLevel, LogLine, LogSink};
use alga_ops::ExtensionIdentity;
use alga_store::{ConnectOptions, Extension, TenantId};
use anyhow::Context;

use super::gateway::{Gateway, DEFAULT_ROLE, DEFAULT_USER};
use crate::auth::TokenKeys;
use crate::http::AppState;
use crate::isolate::{CtxData, CtxExtension, CtxUser, IsolateError, IsolateHandle, IsolateLimits};
use crate::registry::Registry;
use crate::simulator::Simulator;

/// The tenant every test runs in.
pub const TENANT: &str = "test";
const ACTOR: &str = "alga-ext test";

/// Console output of the extension's isolates and of the test code, kept until the runner
/// reports the test it belongs to.
#[derive(Default)]
pub struct Captured {
    lines: Mutex<Vec<String>>,
}

impl Captured {
    /// The lines written since the last call.
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.lines.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// Writes into a [`Captured`] with a label saying whose output it is.
struct CaptureSink {
    captured: Arc<Captured>,
    source: &'static str,
}

impl LogSink for CaptureSink {
    fn write(&self, line: &LogLine<'_>) {
        let level = match line.level {
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
        };
        let text = format!("{} {level}: {}", self.source, line.message);
        self.captured.lines.lock().unwrap_or_else(|e| e.into_inner()).push(text);
    }
}

pub struct Session {
    pub state: AppState,
    pub ext: Extension,
    pub gateway: Gateway,
    captured: Arc<Captured>,
    /// The extension's failures as the runtime records them (an uncaught error, a limit hit).
    failures: Mutex<tokio::sync::broadcast::Receiver<crate::registry::logs::LogEntry>>,
    tenant: TenantId,
    _simulator: Simulator,
    _dir: tempfile::TempDir,
}

impl Session {
    /// Builds the runtime on a fresh store and installs, approves (granting everything the
    /// manifest asks for) and enables the bundle `zip`.
    pub async fn start(zip: &[u8]) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir().context("cannot create a temporary directory for the test store")?;
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display());
        let options = ConnectOptions::new(url);
        let store = crate::config::open_store(&options).await?;
        crate::config::migrate(store.as_ref(), &options).await?;

        let jwt_secret = random_secret();
        let host_secret = random_secret();
        let simulator = Simulator::start(&host_secret).await?;
        let host_args = crate::cli::HostApiArgs {
            host_api_url: Some(simulator.url()),
            host_api_secret: Some(host_secret),
            host_api_timeout: Duration::from_secs(10),
            host_api_max_response_bytes: 5 * 1024 * 1024,
        };
        let host_api = crate::config::host_api(&host_args, &jwt_secret)?.context("the simulator's URL gives a host API")?;
        let sealer = alga_ops::storage::seal::Sealer::from_spec(&alga_ops::storage::seal::Sealer::generate_spec("test"))
            .map_err(|e| anyhow::anyhow!("cannot make the test encryption key: {e}"))?;
        let captured = Arc::new(Captured::default());
        let sink = Arc::new(CaptureSink { captured: captured.clone(), source: "extension" });
        let registry = Registry::new(store, Default::default()).with_host_api(host_api).with_sealer(Arc::new(sealer)).with_log_sink(sink);
        let registry = Arc::new(registry);
        let tenant = TenantId::parse(TENANT).map_err(|e| anyhow::anyhow!("test tenant: {e}"))?;

        let uploaded = registry.upload(&tenant, ACTOR, zip.to_vec(), None, false).await.context("installing the extension")?;
        let ext = registry.approve(&tenant, uploaded.extension.id, None, true, ACTOR).await.context("approving the extension")?;
        // Dev mode: a handler's uncaught error shows its stack to the caller (the test).
        let state = AppState::new(registry, TokenKeys::from_secret(jwt_secret.as_bytes()), vec![DEFAULT_ROLE.to_owned()]).with_dev(true);
        let gateway = Gateway::start(state.clone(), tenant.clone(), ext.clone()).await.context("cannot start the test gateway")?;
        let failures = Mutex::new(state.registry.logs().follow(&tenant, ext.id));
        Ok(Self { state, ext, gateway, captured, failures, tenant, _simulator: simulator, _dir: dir })
    }

    /// The console output and the extension's failures since the last call, in words.
    pub fn take_logs(&self) -> Vec<String> {
        let mut lines = self.captured.take();
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            match failures.try_recv() {
                Ok(entry) => lines.push(format!("runtime {}: {}", entry.code.as_deref().unwrap_or("error"), entry.message)),
                Err(tokio::sync::broadcast::error::TryRecvError::Lagged(missed)) => lines.push(format!("runtime: {missed} more failures not shown")),
                Err(_) => break,
            }
        }
        lines
    }

    /// Starts the isolate that runs a test file: the extension's own identity and services
    /// (its storage, `ctx.api` through the simulator) plus `fetch` to the gateway only.
    pub async fn test_isolate(&self, files: Arc<Files>, main: String, timeout: Duration) -> anyhow::Result<Result<IsolateHandle, IsolateError>> {
        let granted = self.state.store.capabilities(&self.tenant, self.ext.id).await?;
        let mut services = self.state.registry.services(&self.ext, granted.iter().filter(|c| c.granted).map(|c| &c.permission));
        services.log = Some(Arc::new(CaptureSink { captured: self.captured.clone(), source: "test" }));
        let config = alga_ops::fetch::FetchConfig { allow_private: true, ..Default::default() };
        let client = alga_ops::fetch::FetchClient::new(config).map_err(anyhow::Error::msg)?;
        services.fetch = Some(alga_ops::fetch::FetchContext {
            client: Arc::new(client),
            permits: alga_ops::fetch::FetchContext::isolate_permits(),
            hosts: vec![self.gateway.host()],
            tenant: self.tenant.to_string(),
            extension: self.ext.key.clone(),
            spawner: tokio::runtime::Handle::current(),
        });
        let identity = ExtensionIdentity { tenant: self.tenant.to_string(), extension: self.ext.key.clone() };
        Ok(IsolateHandle::start(identity, test_limits(timeout), files, main, services).await)
    }

    /// The `ctx` a test receives: the default user with the default role's permissions.
    pub async fn ctx(&self) -> anyhow::Result<Arc<CtxData>> {
        let roles = vec![DEFAULT_ROLE.to_owned()];
        let permissions = self.state.registry.extension_permissions(&self.tenant, &roles, &self.ext.key).await?;
        let settings = self.state.registry.settings(&self.tenant, self.ext.id).await?.values;
        Ok(Arc::new(CtxData {
            tenant: self.tenant.to_string(),
            user: CtxUser { id: DEFAULT_USER.to_owned(), roles },
            extension: CtxExtension {
                id: self.ext.id.to_string(),
                key: self.ext.key.clone(),
                version: self.ext.version.clone(),
                assets_url: crate::registry::ui::asset_url(&self.ext, ""),
            },
            settings: Arc::new(settings),
            permissions,
        }))
    }
}

/// Limits of the test isolate: each test gets `timeout` of wall and CPU time (the runner's
/// own timer fires first and reports it; these end a test that never yields); the heap is
/// larger than an extension's, since tests hold fixtures and responses.
fn test_limits(timeout: Duration) -> IsolateLimits {
    let budget = timeout + Duration::from_secs(2);
    IsolateLimits {
        heap_max_bytes: 256 * 1024 * 1024,
        array_buffer_max_bytes: 256 * 1024 * 1024,
        cpu_soft: budget,
        cpu_hard: budget,
        wall: budget,
        module_eval: budget,
        queue_depth: 4,
        log: alga_ops::console::LogLimits {
            lines_per_call: 10_000,
            bytes_per_call: 4 * 1024 * 1024,
            lines_per_minute: 100_000,
            bytes_per_minute: 64 * 1024 * 1024,
        },
        ..IsolateLimits::default()
    }
}

fn random_secret() -> String {
    format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple())
}
