//! `alga-bench`: measures isolate start-up, warm call overhead, idle memory, create/drop
//! stability, storage and HTTP throughput (optionally against `deno serve` and workerd), and
//! prints the numbers BENCHMARKS.md records. Run it on a release build. A workspace member of
//! its own, so the shipped `alga-ext` carries none of it.

mod cluster;
mod http;
mod load;
mod storage;
mod ui;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use alga_bundle::{BundleFile, Files};
use alga_ops::ExtensionIdentity;
use serde_json::json;

use alga_ext::isolate::{CtxData, CtxExtension, CtxUser, Invocation, Isolate, IsolateHandle, IsolateLimits};

/// Options of a benchmark run.
#[derive(Debug, Clone, clap::Parser)]
#[command(
    name = "alga-bench",
    version,
    about = "Measure isolate start-up, call overhead, memory, storage and HTTP throughput (build with --release)",
    args_conflicts_with_subcommands = true
)]
pub struct BenchArgs {
    /// Without a command: the measurements of this process (the flags below).
    #[command(subcommand)]
    pub command: Option<BenchCommand>,
    /// Fresh-isolate start-ups to time.
    #[arg(long, default_value_t = 300)]
    pub cold: usize,
    /// Warm calls to time.
    #[arg(long, default_value_t = 20_000)]
    pub warm: usize,
    /// Isolates kept alive for the idle-memory measurement.
    #[arg(long, default_value_t = 100)]
    pub idle: usize,
    /// Create/drop cycles for the RSS-stability measurement.
    #[arg(long, default_value_t = 10_000)]
    pub cycles: usize,
    /// Also measure HTTP req/s with `wrk` (must be on PATH) for this many seconds (0: skip).
    #[arg(long, default_value_t = 10)]
    pub http_seconds: u64,
    /// Also measure storage on this PostgreSQL database (a scratch one: the bench migrates
    /// it and leaves rows behind). SQLite is always measured.
    #[arg(long)]
    pub storage_pg: Option<String>,
    /// Skip the storage measurements.
    #[arg(long)]
    pub no_storage: bool,
    /// Measure how fast a change on one node reaches two others (three nodes in this process,
    /// each with its own connections, caches and change feed) on this PostgreSQL database (a
    /// scratch one: migrated, rows left behind).
    #[arg(long)]
    pub cluster_pg: Option<String>,
    /// Writes timed for that measurement (a quarter as many settings changes).
    #[arg(long, default_value_t = 400)]
    pub cluster_rounds: usize,
    /// Run only the several-nodes measurement (needs --cluster-pg).
    #[arg(long, requires = "cluster_pg")]
    pub cluster_only: bool,
    /// Tenants for the UI-descriptor measurement (0: skip it).
    #[arg(long, default_value_t = 10_000)]
    pub ui_tenants: usize,
    /// Extensions installed in each of those tenants.
    #[arg(long, default_value_t = 10)]
    pub ui_extensions: usize,
    /// Also run the same handler under these for comparison, when found: `deno`, `workerd`
    /// (paths or names on PATH).
    #[arg(long, value_delimiter = ',')]
    pub compare: Vec<String>,
    /// Log filter in `tracing` syntax (`alga-ext`'s `--log`).
    #[arg(long, default_value = "warn")]
    pub log: String,
    /// Threads for HTTP and database I/O, as `alga-ext serve --worker-threads` (default, as
    /// there: half the cores, at least one).
    #[arg(long)]
    pub worker_threads: Option<usize>,
}

/// Measurements that are not the default run.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum BenchCommand {
    /// Several real `alga-ext serve` nodes on one PostgreSQL under many concurrent clients
    /// (issue 15): latency per class, unexpected answers, a CPU hog's effect on the others,
    /// the nodes' memory.
    Load(load::LoadArgs),
}

/// A ~50 KB main module: many small functions plus the `hello` handler.
pub fn bench_bundle() -> (Files, String) {
    let mut source = String::from("// Generated benchmark module of about 50 KB.\n");
    let mut i = 0;
    while source.len() < 50 * 1024 {
        source.push_str(&format!(
            "export function helper{i}(input) {{ const values = [input, {i}, \"h{i}\"]; return values.map((v) => String(v)).join(\"-\"); }}\n"
        ));
        i += 1;
    }
    source.push_str("export function hello() { return { body: { hello: \"world\" } }; }\n");
    let mut files = Files::new();
    files.insert("index.js".into(), BundleFile::new(source.into_bytes()));
    (files, "index.js".into())
}

fn identity() -> ExtensionIdentity {
    ExtensionIdentity { tenant: "bench".into(), extension: "com.bench.hello".into() }
}

fn hello_invocation() -> Invocation {
    Invocation {
        handler: "hello".into(),
        request: r#"{"method":"GET","path":"/hello","params":{},"query":{},"headers":{},"body":null}"#.into(),
        ctx: Arc::new(CtxData {
            tenant: "bench".into(),
            user: CtxUser { id: "u".into(), roles: vec![] },
            extension: CtxExtension { id: "x".into(), key: "com.bench.hello".into(), version: "1.0.0".into(), assets_url: String::new() },
            settings: Default::default(),
            permissions: vec![],
        }),
        is_page: false,
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[at.min(sorted.len() - 1)]
}

pub(crate) fn summary(mut samples: Vec<Duration>) -> String {
    samples.sort();
    format!(
        "p50 {:.4} ms, p99 {:.4} ms, min {:.4} ms (n={})",
        percentile(&samples, 0.5).as_secs_f64() * 1e3,
        percentile(&samples, 0.99).as_secs_f64() * 1e3,
        samples.first().copied().unwrap_or_default().as_secs_f64() * 1e3,
        samples.len()
    )
}

/// Resident set size of this process in bytes.
pub fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm.split_whitespace().nth(1).and_then(|p| p.parse().ok()).unwrap_or(0);
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(1) as u64;
    pages * page
}

/// Runs every measurement and prints a report.
fn main() -> anyhow::Result<()> {
    use clap::Parser;
    let args = BenchArgs::parse();
    tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::new(&args.log)).with_writer(std::io::stderr).init();
    let half_the_cores = (std::thread::available_parallelism().map_or(2, |n| n.get()) / 2).max(1);
    if let Some(BenchCommand::Load(load)) = &args.command {
        // No isolate runs in this process: the nodes are `alga-ext serve` processes. The load
        // runs on the thread that calls `block_on`, so the nodes it spawns are children of the
        // main thread (see `load::nodes` on why that matters).
        let runtime =
            tokio::runtime::Builder::new_multi_thread().worker_threads(load.client_threads.unwrap_or(half_the_cores)).enable_all().build()?;
        return runtime.block_on(load::run(load));
    }
    // V8's platform is process-wide and must exist before any thread builds an isolate.
    deno_core::JsRuntime::init_platform(None);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(args.worker_threads.unwrap_or(half_the_cores)).enable_all().build()?;
    runtime.block_on(run(&args))
}

async fn run(args: &BenchArgs) -> anyhow::Result<()> {
    if let Some(url) = &args.cluster_pg {
        cluster::run(url, args.cluster_rounds).await?;
        if args.cluster_only {
            return Ok(());
        }
    }
    let (files, main) = bench_bundle();
    let files = Arc::new(files);
    let source_kb = files[&main].bytes.len() / 1024;
    println!("bundle: {source_kb} KB main module");

    // 0. The bare runtime: JsRuntime, ops JS glue and the dispatcher, no extension code.
    let mut bare = Vec::with_capacity(args.cold);
    for _ in 0..args.cold {
        let started = Instant::now();
        let isolate = Isolate::new(identity(), IsolateLimits::default(), Some(files.clone()), Default::default())?;
        bare.push(started.elapsed());
        drop(isolate);
    }
    println!("empty isolate (runtime + ops glue + dispatcher): {}", summary(bare));

    // 1. In-thread start-up: a fresh isolate, module evaluation, one call.
    let mut in_thread = Vec::with_capacity(args.cold);
    for _ in 0..args.cold {
        let started = Instant::now();
        let mut isolate = Isolate::new(identity(), IsolateLimits::default(), Some(files.clone()), Default::default())?;
        isolate.load_main(&main).await?;
        isolate.invoke(&hello_invocation()).await?;
        in_thread.push(started.elapsed());
    }
    println!("fresh isolate + {source_kb} KB bundle + first response (same thread): {}", summary(in_thread));

    // 2. The same through the pool's path: an isolate thread, then the first call; back to
    // back, so no blank isolate is ready and each start builds V8 from the snapshot.
    alga_ext::isolate::prepare_blanks(None, 0);
    let mut via_thread = Vec::with_capacity(args.cold);
    for _ in 0..args.cold {
        let started = Instant::now();
        let handle = IsolateHandle::start(identity(), IsolateLimits::default(), files.clone(), main.clone(), Default::default()).await?;
        handle.call(hello_invocation()).await?;
        via_thread.push(started.elapsed());
    }
    println!("fresh isolate thread + {source_kb} KB bundle + first response, back to back (no blank ready): {}", summary(via_thread));

    // 2b. Cold starts as the pool sees them when they are not back to back: an idle thread
    // has a blank isolate ready, and the start only binds it and loads the bundle.
    alga_ext::isolate::prepare_blanks(Some(IsolateLimits::default()), 2);
    let mut from_blank = Vec::with_capacity(args.cold);
    for _ in 0..args.cold {
        let ready_by = Instant::now() + std::time::Duration::from_secs(2);
        while alga_ext::isolate::blank_counts().0 == 0 && Instant::now() < ready_by {
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        let taken = alga_ext::isolate::blank_counts().1;
        let started = Instant::now();
        let handle = IsolateHandle::start(identity(), IsolateLimits::default(), files.clone(), main.clone(), Default::default()).await?;
        handle.call(hello_invocation()).await?;
        from_blank.push(started.elapsed());
        anyhow::ensure!(
            alga_ext::isolate::blank_counts().1 > taken,
            "the start did not take the blank isolate that was ready: {:?} before {taken}",
            alga_ext::isolate::blank_counts()
        );
    }
    alga_ext::isolate::prepare_blanks(None, 0);
    println!("fresh isolate thread + {source_kb} KB bundle + first response, from a blank isolate: {}", summary(from_blank));

    // 2c. A burst: first requests to 50 different extensions (each its own source, so no
    // code cache is shared) at once, with the default two blanks ready when it starts.
    for blanks in [2, 50] {
        alga_ext::isolate::prepare_blanks(Some(IsolateLimits::default()), blanks);
        let ready_by = Instant::now() + std::time::Duration::from_secs(20);
        while alga_ext::isolate::blank_counts().0 < blanks && Instant::now() < ready_by {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        let ready = alga_ext::isolate::blank_counts().0;
        let starts = (0..50).map(|i| {
            let mut own = (*files).clone();
            let main_file = &own[&main];
            let mut source = main_file.bytes.to_vec();
            source.extend_from_slice(format!("\n// extension {i} of a burst, {}\n", std::process::id()).as_bytes());
            own.insert(main.clone(), BundleFile::new(source));
            let (own, main) = (Arc::new(own), main.clone());
            let identity = ExtensionIdentity { tenant: "bench".into(), extension: format!("com.bench.burst{i}") };
            tokio::spawn(async move {
                let started = Instant::now();
                let handle = IsolateHandle::start(identity, IsolateLimits::default(), own, main, Default::default()).await?;
                handle.call(hello_invocation()).await?;
                anyhow::Ok((started.elapsed(), handle))
            })
        });
        let mut burst = Vec::with_capacity(50);
        let mut handles = Vec::with_capacity(50);
        for joined in futures_util::future::join_all(starts).await {
            let (took, handle) = joined??;
            burst.push(took);
            handles.push(handle);
        }
        let max = burst.iter().max().copied().unwrap_or_default();
        println!(
            "burst of 50 first requests to 50 extensions at once, {ready} blank isolates ready (of {blanks} asked): {}, max {:.3} ms",
            summary(burst),
            max.as_secs_f64() * 1e3
        );
        drop(handles);
    }
    alga_ext::isolate::prepare_blanks(None, 0);

    // 3a. Warm calls on the isolate's own thread: the cost of the JS side alone.
    let mut isolate = Isolate::new(identity(), IsolateLimits::default(), Some(files.clone()), Default::default())?;
    isolate.load_main(&main).await?;
    for _ in 0..200 {
        isolate.invoke(&hello_invocation()).await?;
    }
    let mut in_thread_warm = Vec::with_capacity(args.warm);
    for _ in 0..args.warm {
        let invocation = hello_invocation();
        let started = Instant::now();
        std::hint::black_box(isolate.invoke(&invocation).await?);
        in_thread_warm.push(started.elapsed());
    }
    drop(isolate);
    println!("warm call on the isolate's thread: {}", summary(in_thread_warm));

    // 3. Warm calls through the isolate's channel versus a native handler doing the same work.
    let handle = IsolateHandle::start(identity(), IsolateLimits::default(), files.clone(), main.clone(), Default::default()).await?;
    for _ in 0..200 {
        handle.call(hello_invocation()).await?;
    }
    let mut warm = Vec::with_capacity(args.warm);
    for _ in 0..args.warm {
        let started = Instant::now();
        let answer = handle.call(hello_invocation()).await?;
        std::hint::black_box(answer);
        warm.push(started.elapsed());
    }
    let mut native = Vec::with_capacity(args.warm);
    for _ in 0..args.warm {
        let started = Instant::now();
        let invocation = std::hint::black_box(hello_invocation());
        let body = serde_json::to_string(&json!({ "hello": "world", "n": invocation.handler.len() }))?;
        std::hint::black_box(body);
        native.push(started.elapsed());
    }
    warm.sort();
    native.sort();
    let overhead = percentile(&warm, 0.5).saturating_sub(percentile(&native, 0.5));
    println!("warm call through the isolate: {}", summary(warm));
    println!("native Rust handler: {}", summary(native));
    println!("warm call overhead over native, p50: {:.1} µs", overhead.as_secs_f64() * 1e6);
    drop(handle);

    // 4. Idle memory: RSS growth per live isolate (thread and all).
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = rss_bytes();
    let mut idle = Vec::with_capacity(args.idle);
    for _ in 0..args.idle {
        let handle = IsolateHandle::start(identity(), IsolateLimits::default(), files.clone(), main.clone(), Default::default()).await?;
        handle.call(hello_invocation()).await?;
        idle.push(handle);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let per_isolate = (rss_bytes().saturating_sub(before)) as f64 / args.idle.max(1) as f64;
    println!("idle isolate (after one call): {:.2} MB RSS each over {} isolates", per_isolate / 1e6, args.idle);
    drop(idle);

    // 5. Create/drop cycles on one thread: RSS must stay flat.
    let mut samples = BTreeMap::new();
    for cycle in 1..=args.cycles {
        let mut isolate = Isolate::new(identity(), IsolateLimits::default(), Some(files.clone()), Default::default())?;
        isolate.load_main(&main).await?;
        drop(isolate);
        if cycle % (args.cycles / 5).max(1) == 0 {
            samples.insert(cycle, rss_bytes());
        }
    }
    let rss: Vec<String> = samples.iter().map(|(c, r)| format!("{c}: {:.0} MB", *r as f64 / 1e6)).collect();
    println!("create/drop cycles, RSS after: {}", rss.join(", "));

    if !args.no_storage {
        storage::run(args.storage_pg.as_deref()).await?;
    }
    if args.ui_tenants > 0 {
        ui::run(args.ui_tenants, args.ui_extensions).await?;
    }
    if args.http_seconds > 0 {
        http::run(args).await?;
    }
    Ok(())
}
