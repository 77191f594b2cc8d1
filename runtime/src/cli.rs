//! Command-line interface: every setting is a flag with an `ALGA_EXT_*` environment fallback.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

mod fairness;
mod fetch;
mod host;
mod http;
mod ui;
pub use fairness::FairnessArgs;
pub use fetch::FetchArgs;
pub use host::HostArgs;
pub use http::HttpArgs;
pub use ui::UiArgs;

/// The Alga extension runtime: runs tenant extensions in V8 isolates behind an HTTP API.
#[derive(Debug, Parser)]
#[command(name = "alga-ext", version, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    /// Log output: human-readable lines or one JSON object per line.
    #[arg(long, global = true, env = "ALGA_EXT_LOG_FORMAT", value_enum, default_value_t = LogFormat::Pretty)]
    pub log_format: LogFormat,

    /// Log filter in `tracing` syntax, e.g. `info` or `alga_ext=debug,sqlx=warn`.
    #[arg(long, global = true, env = "ALGA_EXT_LOG", default_value = "info")]
    pub log: String,

    /// Threads serving HTTP and database I/O. JavaScript runs on isolate threads of its
    /// own, so the default leaves them half the cores: max(1, cores / 2).
    #[arg(long, global = true, env = "ALGA_EXT_WORKER_THREADS", value_parser = clap::value_parser!(u16).range(1..))]
    pub worker_threads: Option<u16>,
}

impl Cli {
    /// The number of async worker threads to start.
    pub fn worker_threads(&self) -> usize {
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        self.worker_threads.map_or((cores / 2).max(1), usize::from)
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (applies pending migrations first).
    ///
    /// Examples:
    ///   alga-ext serve --dev                                   # SQLite in ./alga-ext-data, a generated secret
    ///   ALGA_EXT_JWT_SECRET=… alga-ext serve --database-url postgres://owner@db:5432/alga --listen 0.0.0.0:8787
    #[command(verbatim_doc_comment)]
    Serve(Box<ServeArgs>),
    /// Apply pending database migrations and exit.
    ///
    /// Example:
    ///   alga-ext migrate --database-url postgres://owner@db:5432/alga
    #[command(verbatim_doc_comment)]
    Migrate(DatabaseArgs),
    /// Print a signed token for trying the APIs by hand.
    ///
    /// Example:
    ///   ALGA_EXT_JWT_SECRET=… alga-ext token --tenant acme --user alice --roles admin,technician --ttl 8h
    #[command(verbatim_doc_comment)]
    Token(TokenArgs),
    /// Check a bundle directory or archive the way the server will, without installing it.
    ///
    /// Examples:
    ///   alga-ext validate .
    ///   alga-ext validate ticket-tags.zip
    #[command(verbatim_doc_comment)]
    Validate(ValidateArgs),
    /// Validate a bundle directory and write it as a .zip (leaving out what .algaignore lists).
    ///
    /// Example:
    ///   alga-ext pack . -o ticket-tags.zip
    #[command(verbatim_doc_comment)]
    Pack(PackArgs),
    /// Create an ed25519 publisher key for signing bundles.
    ///
    /// Example:
    ///   alga-ext keygen --key-id acme -o acme.key     # prints the acme=publicKey line servers trust
    #[command(verbatim_doc_comment)]
    Keygen(KeygenArgs),
    /// Sign a bundle archive with a publisher key (writes `<bundle>.sig`).
    ///
    /// Example:
    ///   alga-ext sign ticket-tags.zip --key acme.key
    #[command(verbatim_doc_comment)]
    Sign(SignArgs),
    /// Upload a bundle to a server and show the permission review.
    ///
    /// Examples:
    ///   alga-ext install ticket-tags.zip --url http://127.0.0.1:8787 --token "$TOKEN"
    ///   alga-ext install ticket-tags.zip --url http://127.0.0.1:8787 --token "$TOKEN" --enable
    #[command(verbatim_doc_comment)]
    Install(InstallArgs),
    /// Print the manifest JSON Schema.
    ///
    /// Example:
    ///   alga-ext schema > manifest.schema.json
    #[command(verbatim_doc_comment)]
    Schema,
    /// Show an installed extension's recent console output and failures (limit hits,
    /// crashes, breaker trips) from a server, oldest first; `--follow` streams new ones.
    ///
    /// Examples:
    ///   alga-ext logs com.alga.samples.ticket-tags --url http://127.0.0.1:8787 --token "$TOKEN"
    ///   alga-ext logs com.alga.samples.ticket-tags --follow --level warn
    ///   ALGA_EXT_JWT_SECRET=… alga-ext logs com.alga.samples.ticket-tags --tenant globex
    #[command(verbatim_doc_comment)]
    Logs(LogsArgs),
    /// Create a working extension in a new folder from a template.
    ///
    /// Examples:
    ///   alga-ext new ticket-checklist                      # endpoints over storage (JavaScript)
    ///   alga-ext new ticket-checklist --template full --ts  # navigation, page, widget, endpoints, settings
    #[command(verbatim_doc_comment)]
    New(NewArgs),
    /// Serve the extension in DIR on an embedded server and reload it on every change.
    ///
    /// The server keeps its data in DIR/.alga (it survives restarts); the extension is
    /// installed, approved and enabled for tenant acme; its log streams here. A change the
    /// server refuses is printed with file:line:col and a code frame, and the last good
    /// version keeps serving.
    ///
    /// Examples:
    ///   alga-ext dev                 # the extension in this folder, on http://127.0.0.1:8787
    ///   alga-ext dev ../my-ext --port 9000
    #[command(verbatim_doc_comment)]
    Dev(DevArgs),
    /// Run an extension's tests (`*.test.js`, `*.test.ts`): each file in a real isolate with
    /// fresh storage, the extension installed and enabled, and `ctx.api` answered by the
    /// built-in host API simulator. Prints one line per test and `N passed, N failed`;
    /// exits non-zero when any test fails.
    ///
    /// Examples:
    ///   alga-ext test                                  # the extension in this folder
    ///   alga-ext test samples/ticket-tags --filter tags
    ///   alga-ext test samples/*                        # several extensions, one summary
    #[command(verbatim_doc_comment)]
    Test(TestArgs),
}

#[derive(Debug, Clone, Args)]
pub struct DevArgs {
    /// The extension's folder (holding manifest.json).
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// Port of the embedded server on 127.0.0.1.
    #[arg(long, env = "ALGA_EXT_DEV_PORT", default_value_t = 8787)]
    pub port: u16,
    /// The host app's API for `ctx.api`; default: the built-in simulator (fixture tickets,
    /// companies, contacts, users, time entries, … with the real capability checks).
    #[arg(long, env = "ALGA_EXT_HOST_API_URL")]
    pub host_api_url: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct NewArgs {
    /// The extension's name: lowercase letters, digits and dashes; names the folder and ends
    /// the manifest id (`com.example.NAME`).
    pub name: String,
    /// What it starts with: `endpoint` (endpoints over storage), `page` (a navigation item and
    /// a page built with the UI components), `widget` (a dashboard widget reading host
    /// tickets), `full` (all of it, with settings and transactions).
    #[arg(long, value_enum, default_value = "endpoint")]
    pub template: TemplateArg,
    /// Write TypeScript (`src/index.ts` and a `tsconfig.json`) instead of JavaScript.
    #[arg(long)]
    pub ts: bool,
    /// The manifest id; default `com.example.NAME`.
    #[arg(long)]
    pub id: Option<String>,
    /// Where to write it; default `./NAME` (must not exist, or be empty).
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TemplateArg {
    Endpoint,
    Page,
    Widget,
    Full,
}

#[derive(Debug, Clone, Args)]
pub struct TestArgs {
    /// Extension directories (each holding manifest.json); their test files are found in
    /// every folder but node_modules and .alga.
    #[arg(default_value = ".")]
    pub dirs: Vec<PathBuf>,
    /// Run only the tests whose name contains this text.
    #[arg(long, env = "ALGA_EXT_TEST_FILTER")]
    pub filter: Option<String>,
    /// Time one test may take, awaiting included (its CPU time is held to it too).
    #[arg(long, env = "ALGA_EXT_TEST_TIMEOUT", default_value = "10s", value_parser = parse_test_timeout)]
    pub timeout: Duration,
    /// Print the console output of every test, not only of failing ones.
    #[arg(long)]
    pub logs: bool,
}

/// A test timeout: a duration from 1 ms to 10 minutes.
fn parse_test_timeout(raw: &str) -> Result<Duration, String> {
    let timeout = humantime::parse_duration(raw).map_err(|e| e.to_string())?;
    if timeout.is_zero() || timeout > Duration::from_secs(600) {
        return Err(format!("{raw:?} is outside 1ms..10min"));
    }
    Ok(timeout)
}

#[derive(Debug, Clone, Args)]
pub struct LogsArgs {
    /// The extension: its manifest id or install id.
    pub extension: String,
    /// Base URL of the server, e.g. `http://127.0.0.1:8787`.
    #[arg(long, env = "ALGA_EXT_URL")]
    pub url: String,
    /// An admin token of the extension's tenant (see `alga-ext token`); the tenant is the token's.
    #[arg(long, env = "ALGA_EXT_TOKEN", hide_env_values = true, required_unless_present = "tenant")]
    pub token: Option<String>,
    /// Instead of --token: the tenant whose log to read, with a token minted here for an
    /// admin of it (needs the server's --jwt-secret).
    #[arg(long, conflicts_with = "token", requires = "jwt_secret")]
    pub tenant: Option<String>,
    /// The server's HS256 secret, to mint the token --tenant needs.
    #[arg(long, env = "ALGA_EXT_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// Keep the connection open and print entries as they are written.
    #[arg(short, long)]
    pub follow: bool,
    /// Lowest level shown.
    #[arg(long, value_enum, default_value = "debug")]
    pub level: LogLevelArg,
    /// Most recent entries shown first (1-500).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u16).range(1..=500))]
    pub limit: u16,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogLevelArg {
    Debug,
    Info,
    Warn,
    Error,
}

impl LogLevelArg {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Debug => "debug",
            Self::Info => "info",
            Self::Warn => "warn",
            Self::Error => "error",
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct ValidateArgs {
    /// A bundle directory, or a .zip / .tar.gz archive.
    pub path: PathBuf,
    #[command(flatten)]
    pub bundles: BundleArgs,
}

#[derive(Debug, Clone, Args)]
pub struct PackArgs {
    /// The bundle directory (holding manifest.json).
    pub dir: PathBuf,
    /// Where to write the .zip.
    #[arg(short, long)]
    pub output: PathBuf,
    #[command(flatten)]
    pub bundles: BundleArgs,
}

#[derive(Debug, Clone, Args)]
pub struct KeygenArgs {
    /// Name of the key, shown to servers that trust it.
    #[arg(long)]
    pub key_id: String,
    /// Where to write the private key file (created with mode 0600).
    #[arg(short, long)]
    pub output: PathBuf,
}

#[derive(Debug, Clone, Args)]
pub struct SignArgs {
    /// The bundle archive to sign.
    pub bundle: PathBuf,
    /// The private key file written by `alga-ext keygen`.
    #[arg(long)]
    pub key: PathBuf,
    /// Where to write the signature; default `<bundle>.sig`.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub bundles: BundleArgs,
}

#[derive(Debug, Clone, Args)]
pub struct InstallArgs {
    /// The bundle archive to upload.
    pub bundle: PathBuf,
    /// Base URL of the server, e.g. `http://127.0.0.1:8787`.
    #[arg(long, env = "ALGA_EXT_URL")]
    pub url: String,
    /// An admin token (see `alga-ext token`).
    #[arg(long, env = "ALGA_EXT_TOKEN", hide_env_values = true)]
    pub token: String,
    /// Signature file; default `<bundle>.sig` when it exists.
    #[arg(long)]
    pub signature: Option<PathBuf>,
    /// Also approve the upload, granting every permission it asks for.
    #[arg(long)]
    pub approve: bool,
    /// Also enable it (implies --approve).
    #[arg(long)]
    pub enable: bool,
    /// Accept a version older than the installed one.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Pretty,
    Json,
}

/// Where the data lives.
#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// Database URL: `postgres://user@host:5432/db` or `sqlite://path/to/file.db`.
    /// Default: a SQLite file `alga-ext.db` inside the data directory.
    #[arg(long, env = "ALGA_EXT_DATABASE_URL")]
    pub database_url: Option<String>,

    /// Directory for local state, such as the default SQLite database. Created when missing.
    #[arg(long, env = "ALGA_EXT_DATA_DIR", default_value = "alga-ext-data")]
    pub data_dir: PathBuf,

    /// PostgreSQL only: the non-owner role queries run as (`SET ROLE`), so row-level
    /// security applies to them. Migrations create it. Set to an empty string when the
    /// URL's user already is that role.
    #[arg(long, env = "ALGA_EXT_PG_APP_ROLE", default_value = "alga_ext_app")]
    pub pg_app_role: String,

    /// Most database connections kept open.
    #[arg(long, env = "ALGA_EXT_DB_MAX_CONNECTIONS", default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub db_max_connections: u32,

    /// How long to wait for the database before giving up, e.g. `5s`.
    #[arg(long, env = "ALGA_EXT_DB_CONNECT_TIMEOUT", default_value = "5s", value_parser = humantime::parse_duration)]
    pub db_connect_timeout: Duration,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, env = "ALGA_EXT_LISTEN", default_value = "127.0.0.1:8787")]
    pub listen: SocketAddr,

    #[command(flatten)]
    pub database: DatabaseArgs,

    /// HS256 secret that signs and verifies tokens (at least 32 bytes). Required unless `--dev`.
    #[arg(long, env = "ALGA_EXT_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,

    /// Development mode: without a JWT secret, generate one and print how to mint tokens.
    #[arg(long, env = "ALGA_EXT_DEV")]
    pub dev: bool,

    /// Set by `alga-ext dev`, which runs this server inside itself and prints its own help:
    /// the demo shell's how-to (paste a token, install a bundle) would mislead there.
    #[arg(long, hide = true)]
    pub embedded: bool,

    /// Keys that encrypt sensitive storage values and secret settings: `id:base64` entries
    /// (32 bytes each), comma-separated; the first seals, all open (rotation). Unset with the
    /// default SQLite database or --dev: a key kept in `<data-dir>/encryption.key`.
    #[arg(long, env = "ALGA_EXT_ENCRYPTION_KEYS", hide_env_values = true)]
    pub encryption_keys: Option<String>,

    /// Most keys one extension may store per tenant.
    #[arg(long, env = "ALGA_EXT_STORAGE_MAX_KEYS", default_value_t = 10_000, value_parser = clap::value_parser!(i64).range(1..))]
    pub storage_max_keys: i64,

    /// Most bytes (stored JSON) one extension may store per tenant.
    #[arg(long, env = "ALGA_EXT_STORAGE_MAX_BYTES", default_value_t = 50 * 1024 * 1024, value_parser = clap::value_parser!(i64).range(1..))]
    pub storage_max_bytes: i64,

    /// Values kept in the storage read cache (0 turns it off).
    #[arg(long, env = "ALGA_EXT_STORAGE_CACHE_ENTRIES", default_value_t = 100_000)]
    pub storage_cache_entries: u64,

    /// How long a cached value is trusted. Other nodes' writes are announced and drop it at
    /// once; this bounds staleness only while the announcements cannot be heard (PostgreSQL).
    #[arg(long, env = "ALGA_EXT_STORAGE_CACHE_TTL", default_value = "30s", value_parser = humantime::parse_duration)]
    pub storage_cache_ttl: Duration,

    /// Serve Prometheus metrics at `GET /metrics` (no tenant data: labels are routes,
    /// operations and outcomes).
    #[arg(long, env = "ALGA_EXT_METRICS", default_value_t = true, action = clap::ArgAction::Set)]
    pub metrics: bool,

    /// Time between storage maintenance runs (TTL sweep, orphan removal; a usage recount
    /// every tenth run). 0 turns maintenance off on this node.
    #[arg(long, env = "ALGA_EXT_MAINTENANCE_INTERVAL", default_value = "60s", value_parser = humantime::parse_duration)]
    pub maintenance_interval: Duration,

    /// How long an extension uninstalled without purge keeps its storage for a reinstall.
    #[arg(long, env = "ALGA_EXT_STORAGE_ORPHAN_RETENTION", default_value = "30days", value_parser = humantime::parse_duration)]
    pub storage_orphan_retention: Duration,

    /// Roles that may manage extensions in every tenant (comma-separated) besides roles
    /// granted `extension:manage` in RBAC. Empty: only RBAC grants count.
    #[arg(long, env = "ALGA_EXT_ADMIN_ROLES", value_delimiter = ',', default_value = "admin")]
    pub admin_roles: Vec<String>,

    #[command(flatten)]
    pub host_api: HostApiArgs,

    #[command(flatten)]
    pub ui: UiArgs,

    #[command(flatten)]
    pub bundles: BundleArgs,

    #[command(flatten)]
    pub signatures: SignatureArgs,

    #[command(flatten)]
    pub isolates: IsolateArgs,

    #[command(flatten)]
    pub fairness: FairnessArgs,

    #[command(flatten)]
    pub http: HttpArgs,

    #[command(flatten)]
    pub host: HostArgs,

    #[command(flatten)]
    pub fetch: FetchArgs,

    /// How long in-flight requests may take to finish after SIGTERM/SIGINT, e.g. `30s`.
    #[arg(long, env = "ALGA_EXT_SHUTDOWN_GRACE", default_value = "30s", value_parser = humantime::parse_duration)]
    pub shutdown_grace: Duration,
}

/// Limits on uploaded bundles.
/// How extensions reach the host app's REST API through `ctx.api`.
#[derive(Debug, Clone, Args)]
pub struct HostApiArgs {
    /// Base URL of the host app's API, e.g. `http://alga:3000`. Unset: `ctx.api` calls fail
    /// with NOT_CONFIGURED.
    #[arg(long, env = "ALGA_EXT_HOST_API_URL")]
    pub host_api_url: Option<String>,

    /// HS256 secret (at least 32 bytes) that signs the short-lived token of every `ctx.api`
    /// call, for the host to verify. Default: the --jwt-secret.
    #[arg(long, env = "ALGA_EXT_HOST_API_SECRET", hide_env_values = true)]
    pub host_api_secret: Option<String>,

    /// Most time one `ctx.api` call may take, connecting included.
    #[arg(long, env = "ALGA_EXT_HOST_API_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    pub host_api_timeout: Duration,

    /// Largest host API response body accepted, in bytes.
    #[arg(long, env = "ALGA_EXT_HOST_API_MAX_RESPONSE_BYTES", default_value_t = 5 * 1024 * 1024)]
    pub host_api_max_response_bytes: usize,
}

#[derive(Debug, Clone, Args)]
pub struct BundleArgs {
    /// Largest accepted bundle, compressed, in bytes.
    #[arg(long, env = "ALGA_EXT_BUNDLE_MAX_BYTES", default_value_t = 10 * 1024 * 1024)]
    pub bundle_max_bytes: u64,

    /// Largest total size of a bundle's files once unpacked, in bytes.
    #[arg(long, env = "ALGA_EXT_BUNDLE_MAX_UNPACKED_BYTES", default_value_t = 50 * 1024 * 1024)]
    pub bundle_max_unpacked_bytes: u64,

    /// Most entries (files and folders) in a bundle.
    #[arg(long, env = "ALGA_EXT_BUNDLE_MAX_ENTRIES", default_value_t = 2_000)]
    pub bundle_max_entries: usize,

    /// Longest path inside a bundle, in bytes.
    #[arg(long, env = "ALGA_EXT_BUNDLE_MAX_PATH_BYTES", default_value_t = 255)]
    pub bundle_max_path_bytes: usize,

    /// Most a bundle may grow when unpacked, as a multiple of its compressed size
    /// (guards against compression bombs).
    #[arg(long, env = "ALGA_EXT_BUNDLE_MAX_RATIO", default_value_t = 100)]
    pub bundle_max_ratio: u64,
}

impl BundleArgs {
    pub fn limits(&self) -> alga_bundle::BundleLimits {
        alga_bundle::BundleLimits {
            max_compressed_bytes: self.bundle_max_bytes,
            max_unpacked_bytes: self.bundle_max_unpacked_bytes,
            max_entries: self.bundle_max_entries,
            max_path_bytes: self.bundle_max_path_bytes,
            max_ratio: self.bundle_max_ratio,
        }
    }
}

/// Limits of extension isolates and the size of their pool.
#[derive(Debug, Clone, Args)]
pub struct IsolateArgs {
    /// V8 heap limit of one isolate, in MiB.
    #[arg(long, env = "ALGA_EXT_ISOLATE_HEAP_MB", default_value_t = 64, value_parser = clap::value_parser!(u64).range(8..=4096))]
    pub isolate_heap_mb: u64,

    /// ArrayBuffer memory one isolate may hold, in MiB.
    #[arg(long, env = "ALGA_EXT_ISOLATE_BUFFERS_MB", default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=4096))]
    pub isolate_buffers_mb: u64,

    /// CPU time after which an isolate is retired once its request finishes, e.g. `50ms`.
    #[arg(long, env = "ALGA_EXT_CPU_SOFT", default_value = "50ms", value_parser = humantime::parse_duration)]
    pub cpu_soft: Duration,

    /// CPU time after which a request is terminated, e.g. `200ms`.
    #[arg(long, env = "ALGA_EXT_CPU_HARD", default_value = "200ms", value_parser = humantime::parse_duration)]
    pub cpu_hard: Duration,

    /// Wall-clock time a request may take, awaiting included.
    #[arg(long, env = "ALGA_EXT_REQUEST_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    pub request_timeout: Duration,

    /// Time the main module's evaluation may take.
    #[arg(long, env = "ALGA_EXT_MODULE_EVAL_TIMEOUT", default_value = "1s", value_parser = humantime::parse_duration)]
    pub module_eval_timeout: Duration,

    /// Requests that may wait for one isolate before more get 503.
    #[arg(long, env = "ALGA_EXT_ISOLATE_QUEUE", default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub isolate_queue: u64,

    /// Most isolates alive at once (least recently used are evicted first).
    #[arg(long, env = "ALGA_EXT_MAX_ISOLATES", default_value_t = 256, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub max_isolates: u64,

    /// Isolates idle this long are dropped.
    #[arg(long, env = "ALGA_EXT_ISOLATE_IDLE_TTL", default_value = "5m", value_parser = humantime::parse_duration)]
    pub isolate_idle_ttl: Duration,

    /// Highest CPU hard limit a tenant admin may set for one extension.
    #[arg(long, env = "ALGA_EXT_MAX_CPU_HARD", default_value = "1s", value_parser = humantime::parse_duration)]
    pub max_cpu_hard: Duration,

    /// Highest heap limit, in MiB, a tenant admin may set for one extension.
    #[arg(long, env = "ALGA_EXT_MAX_ISOLATE_HEAP_MB", default_value_t = 256)]
    pub max_isolate_heap_mb: u64,

    /// Highest request timeout a tenant admin may set for one extension.
    #[arg(long, env = "ALGA_EXT_MAX_REQUEST_TIMEOUT", default_value = "60s", value_parser = humantime::parse_duration)]
    pub max_request_timeout: Duration,

    /// At start, warm isolates for this many recently used extensions (0: none), in the
    /// background while the server already answers.
    #[arg(long, env = "ALGA_EXT_PREWARM", default_value_t = 32)]
    pub prewarm: u32,

    /// How many isolates the prewarm builds at once.
    #[arg(long, env = "ALGA_EXT_PREWARM_CONCURRENCY", default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..=64))]
    pub prewarm_concurrency: u64,

    /// Blank isolates (built from the snapshot, not yet given to any extension) that idle
    /// isolate threads keep ready, so a cold start skips building V8: about 2 MB each
    /// (0: none; every cold start builds its isolate).
    #[arg(long, env = "ALGA_EXT_BLANK_ISOLATES", default_value_t = 2, value_parser = clap::value_parser!(u64).range(0..=64))]
    pub blank_isolates: u64,
}

impl IsolateArgs {
    pub fn pool_config(&self) -> crate::pool::PoolConfig {
        let mib = |n: u64| (n as usize).saturating_mul(1024 * 1024);
        crate::pool::PoolConfig {
            max_live: self.max_isolates,
            idle_ttl: self.isolate_idle_ttl,
            blanks: self.blank_isolates as usize,
            limits: crate::isolate::IsolateLimits {
                heap_max_bytes: mib(self.isolate_heap_mb),
                array_buffer_max_bytes: mib(self.isolate_buffers_mb),
                cpu_soft: self.cpu_soft,
                cpu_hard: self.cpu_hard,
                wall: self.request_timeout,
                module_eval: self.module_eval_timeout,
                queue_depth: self.isolate_queue as usize,
                // Log budgets and the body limit come from FairnessArgs and HostArgs.
                ..Default::default()
            },
            ceilings: crate::isolate::limits::LimitCeilings {
                cpu_hard_ms: self.max_cpu_hard.as_millis() as u64,
                heap_mb: self.max_isolate_heap_mb,
                timeout_ms: self.max_request_timeout.as_millis() as u64,
                ..Default::default()
            },
            max_per_tenant: (self.max_isolates / 4).max(1),
            ..Default::default()
        }
    }
}

/// Which bundle signatures are trusted and whether they are required.
#[derive(Debug, Clone, Args)]
pub struct SignatureArgs {
    /// Refuse bundles that are not signed by a trusted publisher key.
    #[arg(long, env = "ALGA_EXT_REQUIRE_SIGNATURES")]
    pub require_signatures: bool,

    /// Trusted publisher keys: `keyId=base64PublicKey`, comma-separated
    /// (`alga-ext keygen` prints the entry for a new key).
    #[arg(long, env = "ALGA_EXT_TRUSTED_KEYS", hide_env_values = true)]
    pub trusted_keys: Option<String>,

    /// A file of trusted publisher keys, one `keyId=base64PublicKey` per line.
    #[arg(long, env = "ALGA_EXT_TRUSTED_KEYS_FILE")]
    pub trusted_keys_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct TokenArgs {
    /// Tenant the token acts for.
    #[arg(long)]
    pub tenant: String,

    /// User id (the `sub` claim).
    #[arg(long)]
    pub user: String,

    /// Comma-separated role names, e.g. `admin,technician`.
    #[arg(long, value_delimiter = ',', default_value = "admin")]
    pub roles: Vec<String>,

    /// How long the token stays valid, e.g. `1h` or `30m`.
    #[arg(long, default_value = "1h", value_parser = humantime::parse_duration)]
    pub ttl: Duration,

    /// The server's HS256 secret.
    #[arg(long, env = "ALGA_EXT_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn every_command_shows_an_example_in_its_help() {
        for command in Cli::command().get_subcommands() {
            let long = command.get_long_about().map(ToString::to_string).unwrap_or_default();
            assert!(long.contains("Example"), "`alga-ext {} --help` has no example", command.get_name());
        }
    }

    #[test]
    fn roles_split_on_commas() {
        let cli = Cli::try_parse_from(["alga-ext", "token", "--tenant", "acme", "--user", "u1", "--roles", "admin,technician", "--jwt-secret", "x"])
            .unwrap();
        let Command::Token(args) = cli.command else { panic!("expected token") };
        assert_eq!(args.roles, ["admin", "technician"]);
    }
}
