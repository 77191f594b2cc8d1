//! `alga-bench load` (issue 15): several real `alga-ext serve` nodes on loopback over one
//! PostgreSQL database, extensions of several tenants installed through the admin API, and
//! many concurrent clients mixing hello, storage reads, storage writes and calls to one CPU hog;
//! latency per class, unexpected answers, the well-behaved classes' p99 with the hog against a
//! baseline without it, and the nodes' memory. Bounded in time, loopback only, and the nodes it
//! started are stopped on the way out (error and Ctrl-C included).

mod client;
mod nodes;
mod report;
mod setup;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use alga_ext::auth::TokenKeys;
use anyhow::{bail, Context};
use clap::ArgAction;
use tokio::sync::Notify;

use client::{Plan, Tally};
use nodes::{NodeLimits, Nodes};
use report::{PhaseResult, Sample};
use setup::Setup;

/// Options of `alga-bench load`.
#[derive(Debug, Clone, clap::Args)]
pub struct LoadArgs {
    /// The PostgreSQL database every node uses (a scratch one: the command migrates it; the
    /// run's extensions are uninstalled with their storage at the end, audit rows stay).
    #[arg(long)]
    pub pg: String,
    /// `alga-ext serve` processes to start on loopback ports.
    #[arg(long, default_value_t = 3)]
    pub nodes: usize,
    /// Concurrent clients, each with one keep-alive connection, spread over the nodes
    /// round-robin (the hog's share of them calls only the hog).
    #[arg(long, default_value_t = 1000)]
    pub connections: usize,
    /// Measured seconds of each phase.
    #[arg(long, default_value_t = 60)]
    pub seconds: u64,
    /// Seconds of load before each phase's measurement starts (answers counted, latencies not).
    #[arg(long, default_value_t = 10)]
    pub warmup_seconds: u64,
    #[arg(long, default_value_t = 10)]
    pub tenants: usize,
    /// Extensions installed in each tenant; the first tenant's last one is the CPU hog.
    #[arg(long, default_value_t = 10)]
    pub extensions_per_tenant: usize,
    /// Run a phase with the CPU hog called.
    #[arg(long, default_value_t = true, action = ArgAction::Set)]
    pub hog: bool,
    /// Run a phase without the hog first, with the same well-behaved clients, to compare.
    #[arg(long, default_value_t = true, action = ArgAction::Set)]
    pub baseline: bool,
    /// Percent of hello, storage read, storage write and hog: the hog's share is of the
    /// clients (each calls only the hog), the other three are per request of the other clients.
    #[arg(long, value_delimiter = ',', default_values_t = [50, 30, 15, 5])]
    pub mix: Vec<u32>,
    /// Lift the hog's suspension through the admin API each time the circuit breaker trips,
    /// so that it keeps hitting its CPU limit for the whole phase (false: the breaker's
    /// suspension stands, and the hog's calls are answered 503 at once).
    #[arg(long, default_value_t = true, action = ArgAction::Set)]
    pub hog_reenable: bool,
    /// Seconds between samples of the nodes' RSS and live isolates.
    #[arg(long, default_value_t = 5)]
    pub sample_seconds: u64,
    /// The `alga-ext` binary (default: the one next to `alga-bench`).
    #[arg(long)]
    pub alga_ext: Option<PathBuf>,
    /// Uninstall the run's extensions (and their storage) at the end.
    #[arg(long, default_value_t = true, action = ArgAction::Set)]
    pub cleanup: bool,
    /// Threads of this process's clients (default: half the cores, at least one; the nodes
    /// and PostgreSQL need the rest).
    #[arg(long)]
    pub client_threads: Option<usize>,
}

/// Runs the load; Ctrl-C stops it, and the nodes with it.
pub async fn run(args: &LoadArgs) -> anyhow::Result<()> {
    tokio::select! {
        done = run_load(args) => done,
        _ = tokio::signal::ctrl_c() => bail!("interrupted; the nodes were stopped"),
    }
}

/// Clients of each kind: the well-behaved count is the same with and without the hog, so the
/// two phases offer the same well-behaved load.
fn loops(args: &LoadArgs) -> (usize, usize) {
    let hog = (args.connections * args.mix[3] as usize).div_ceil(100).min(args.connections.saturating_sub(1));
    (args.connections - hog, hog)
}

async fn run_load(args: &LoadArgs) -> anyhow::Result<()> {
    if args.mix.len() != 4 || args.mix[..3].iter().all(|w| *w == 0) {
        bail!("--mix takes four percentages (hello, read, write, hog), and one of the first three must be above 0");
    }
    if args.nodes == 0 || args.connections < args.nodes {
        bail!("--nodes must be at least 1 and --connections at least --nodes");
    }
    let binary = match &args.alga_ext {
        Some(path) => path.clone(),
        None => std::env::current_exe()?.with_file_name("alga-ext"),
    };
    anyhow::ensure!(binary.exists(), "{} not found: build it (cargo build --release -p alga-ext) or pass --alga-ext", binary.display());
    let dir = std::env::temp_dir().join(format!("alga-load-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let extensions = args.tenants * args.extensions_per_tenant;
    let limits = NodeLimits::for_load(extensions, args.connections);
    let (well_loops, hog_loops) = loops(args);
    println!(
        "load: {} nodes, {} clients ({well_loops} well-behaved, {hog_loops} hog), {} tenants × {} extensions, phases of {} s + {} s warm-up, closed loop",
        args.nodes, args.connections, args.tenants, args.extensions_per_tenant, args.seconds, args.warmup_seconds
    );
    println!("serve flags changed from their defaults: {} (logs in {})", limits.flags().join(" "), dir.display());

    nodes::migrate(&binary, &args.pg)?;
    let secret = alga_ext::auth::generate_secret();
    let keys = TokenKeys::from_secret(secret.as_bytes());
    let started = Instant::now();
    let mut nodes = Nodes::start(&binary, &args.pg, &secret, args.nodes, &limits, &dir).await?;
    println!("nodes ready in {:.1} s: {}", started.elapsed().as_secs_f64(), nodes.base_urls().join(", "));

    let run_id = format!("load{}-{}", std::process::id(), chrono::Utc::now().timestamp() % 100_000);
    let ttl = Duration::from_secs(7200 + 2 * (args.seconds + args.warmup_seconds));
    let started = Instant::now();
    let base = nodes.base_urls()[0].clone();
    let setup = setup::install_all(&base, &keys, &run_id, args.tenants, args.extensions_per_tenant, ttl).await?;
    println!(
        "{extensions} extensions installed, approved, enabled and seeded through node 1's admin API in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let mut results = Vec::new();
    if args.baseline || !args.hog {
        results.push(phase(args, &nodes, &setup, "without the hog", (well_loops, 0)).await?);
        check_alive(&mut nodes)?;
    }
    if args.hog {
        results.push(phase(args, &nodes, &setup, "with the hog", (well_loops, hog_loops)).await?);
        check_alive(&mut nodes)?;
    }

    println!("\n## Results");
    let mut unexpected = 0;
    let mut flat = true;
    for result in &results {
        unexpected += report::print_phase(result);
        flat &= report::print_memory(result);
    }
    let p99_ok = match (results.first(), results.get(1)) {
        (Some(baseline), Some(hog)) => Some(report::print_comparison(baseline, hog)),
        _ => None,
    };
    println!("\n### Goals\n");
    let hog_unexpected: u64 =
        results.iter().flat_map(|r| r.tally.unexpected.iter()).filter(|((class, _), _)| *class == client::Class::Hog).map(|(_, n)| n).sum();
    println!(
        "- 0 unexpected errors: {} ({unexpected}: {} of the well-behaved classes, {hog_unexpected} of the hog)",
        if unexpected == 0 { "✓" } else { "✗" },
        unexpected - hog_unexpected
    );
    match p99_ok {
        Some(ok) => println!("- well-behaved p99 < 2× without the hog: {}", if ok { "✓" } else { "✗" }),
        None => println!("- well-behaved p99 < 2× without the hog: not measured (needs both phases)"),
    }
    println!("- RSS flat after warm-up (≤ +10 % or +16 MiB from the end of warm-up to the end of each phase): {}", if flat { "✓" } else { "✗" });
    for (i, node) in nodes.nodes.iter().enumerate() {
        let (warns, errors, distinct) = nodes::log_summary(&node.log);
        println!(
            "node {} log: {warns} WARN, {errors} ERROR lines{}",
            i + 1,
            if distinct.is_empty() { String::new() } else { format!(": {}", distinct.join(" | ")) }
        );
    }
    if args.cleanup {
        setup::remove_all(&base, &setup).await.context("uninstalling the run's extensions")?;
    }
    nodes.stop();
    Ok(())
}

/// A node that exited during the load is a finding: the run stops there and says where its log is.
fn check_alive(nodes: &mut Nodes) -> anyhow::Result<()> {
    let gone = nodes.exited();
    if !gone.is_empty() {
        bail!("{}", gone.join("; "));
    }
    Ok(())
}

/// RSS and live isolates of every node, now.
async fn sample(http: &reqwest::Client, pids: &[u32], urls: &[String], since: Instant, warmup: Duration) -> Sample {
    let mut isolates = Vec::with_capacity(urls.len());
    for url in urls {
        isolates.push(nodes::live_isolates(http, url).await);
    }
    Sample {
        at: since.elapsed().as_secs_f64(),
        measuring: since.elapsed() >= warmup,
        rss_mib: pids.iter().map(|pid| nodes::rss_mib(*pid)).collect(),
        isolates,
    }
}

/// One phase: `loops.0` well-behaved clients and `loops.1` hog clients for the warm-up and
/// the measured seconds, the nodes sampled meanwhile.
async fn phase(args: &LoadArgs, nodes: &Nodes, setup: &Setup, name: &'static str, loops: (usize, usize)) -> anyhow::Result<PhaseResult> {
    println!("phase {name}: {} + {} clients for {} + {} s …", loops.0, loops.1, args.warmup_seconds, args.seconds);
    let addrs = nodes.nodes.iter().map(|n| std::net::SocketAddr::from(([127, 0, 0, 1], n.port))).collect();
    let pids: Vec<u32> = nodes.nodes.iter().map(|n| n.pid()).collect();
    let urls = nodes.base_urls();
    let warmup = Duration::from_secs(args.warmup_seconds);
    let start = Instant::now();
    let plan = Arc::new(Plan {
        nodes: addrs,
        setup: setup.clone(),
        mix: [args.mix[0], args.mix[1], args.mix[2]],
        measure_from: start + warmup,
        until: start + warmup + Duration::from_secs(args.seconds),
        suspended: Arc::new(Notify::new()),
    });
    let cpu_before: Vec<f64> = pids.iter().map(|p| nodes::cpu_seconds(*p).unwrap_or(0.0)).collect();
    let bench_before = nodes::cpu_seconds(std::process::id()).unwrap_or(0.0);
    let load_before = report::loadavg();
    let (pg_before, machine_before) = (nodes::postgres_cpu_seconds(), nodes::machine_busy_seconds());

    let tasks: Vec<_> = (0..loops.0 + loops.1).map(|i| tokio::spawn(client::run_loop(plan.clone(), i, i >= loops.0))).collect();
    let sampler = {
        let (plan, pids, urls, every) = (plan.clone(), pids.clone(), urls.clone(), Duration::from_secs(args.sample_seconds.max(1)));
        tokio::spawn(async move {
            let http = reqwest::Client::new();
            let mut samples = Vec::new();
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                samples.push(sample(&http, &pids, &urls, start, warmup).await);
                if Instant::now() >= plan.until {
                    return samples;
                }
            }
        })
    };
    let lifter = (loops.1 > 0 && args.hog_reenable).then(|| {
        let (plan, setup, base) = (plan.clone(), setup.clone(), urls[0].clone());
        tokio::spawn(async move {
            let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap_or_default();
            let (mut lifts, mut errors) = (0, Vec::new());
            let until = tokio::time::Instant::from_std(plan.until);
            loop {
                tokio::select! {
                    _ = plan.suspended.notified() => {}
                    _ = tokio::time::sleep_until(until) => return (lifts, errors),
                }
                match setup::reenable(&http, &base, &setup).await {
                    Ok(()) => lifts += 1,
                    Err(e) if errors.len() < 5 => errors.push(format!("{e:#}")),
                    Err(_) => {}
                }
                // An admin does not lift it more than twice a second, however often it trips.
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        })
    });

    let mut tally = Tally::default();
    for task in tasks {
        tally.merge(task.await.context("a client loop panicked")?);
    }
    let samples = sampler.await.context("the sampler panicked")?;
    let (reenables, reenable_errors) = match lifter {
        Some(task) => task.await.context("the hog lifter panicked")?,
        None => (0, Vec::new()),
    };
    let elapsed = start.elapsed().as_secs_f64();
    let node_cpu = pids.iter().zip(&cpu_before).map(|(p, before)| nodes::cpu_seconds(*p).unwrap_or(0.0) - before).collect();
    let bench_cpu = nodes::cpu_seconds(std::process::id()).unwrap_or(0.0) - bench_before;
    println!("phase {name}: done in {elapsed:.1} s");
    Ok(PhaseResult {
        name,
        seconds: args.seconds as f64,
        well_loops: loops.0,
        hog_loops: loops.1,
        elapsed,
        tally,
        samples,
        node_cpu,
        bench_cpu,
        postgres_cpu: nodes::postgres_cpu_seconds() - pg_before,
        machine_cpu: nodes::machine_busy_seconds() - machine_before,
        reenables,
        reenable_errors,
        loadavg: (load_before, report::loadavg()),
    })
}
