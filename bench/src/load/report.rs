//! What `alga-bench load` prints: per phase, each class's answers and latency percentiles,
//! the unexpected answers, CPU and memory of the nodes; then the hog phase against the
//! baseline, and which of issue 15's goals were met. Tables are Markdown, for BENCHMARKS.md.

use super::client::{Class, Tally};

/// Memory and isolates of every node at one moment of a phase.
#[derive(Debug, Clone)]
pub struct Sample {
    /// Seconds since the phase started.
    pub at: f64,
    /// Whether the warm-up was over.
    pub measuring: bool,
    pub rss_mib: Vec<Option<f64>>,
    pub isolates: Vec<Option<f64>>,
}

/// One phase of load (with or without the hog) and what was seen meanwhile.
#[derive(Debug)]
pub struct PhaseResult {
    pub name: &'static str,
    /// Seconds measured, and the whole phase's (warm-up and the last answers included).
    pub seconds: f64,
    pub elapsed: f64,
    pub well_loops: usize,
    pub hog_loops: usize,
    pub tally: Tally,
    pub samples: Vec<Sample>,
    /// CPU seconds each node used during the whole phase, and this process.
    pub node_cpu: Vec<f64>,
    pub bench_cpu: f64,
    /// CPU seconds of the local PostgreSQL processes, and of the whole machine (every core).
    pub postgres_cpu: f64,
    pub machine_cpu: f64,
    /// Times the hog's suspension was lifted, and why a lift failed.
    pub reenables: u64,
    pub reenable_errors: Vec<String>,
    /// `/proc/loadavg`'s one-minute figure at the start and the end: other work on the machine.
    pub loadavg: (String, String),
}

/// The one-minute load average, as `/proc/loadavg` gives it.
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg").ok().and_then(|l| l.split_whitespace().next().map(str::to_owned)).unwrap_or_else(|| "?".into())
}

/// RSS growth from the end of the warm-up to the end that still counts as flat: 10 %, or
/// 16 MiB for small processes (allocator noise).
fn is_flat(first: f64, last: f64) -> bool {
    last <= first * 1.10 || last - first <= 16.0
}

fn percentile_ms(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    f64::from(sorted[at.min(sorted.len() - 1)]) / 1e3
}

/// p50 and p99 of a class's expected answers in the measured window, in ms.
pub fn p50_p99(result: &PhaseResult, class: Class) -> (f64, f64) {
    let mut samples = result.tally.latencies_us.get(&class).cloned().unwrap_or_default();
    samples.sort_unstable();
    (percentile_ms(&samples, 0.5), percentile_ms(&samples, 0.99))
}

fn mib(value: Option<f64>) -> String {
    value.map_or("?".into(), |v| format!("{v:.0}"))
}

/// Prints a phase's tables; returns its count of unexpected answers (both windows).
pub fn print_phase(result: &PhaseResult) -> u64 {
    println!("\n### {} ({} well-behaved loops, {} hog loops, {:.0} s measured)\n", result.name, result.well_loops, result.hog_loops, result.seconds);
    println!("| class | answers | as expected | expected/s | p50 ms | p99 ms | max ms |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    for class in Class::ALL {
        let (all, ok) = result.tally.measured_counts(class);
        if all == 0 {
            continue;
        }
        let samples = result.tally.latencies_us.get(&class).map(Vec::as_slice).unwrap_or_default();
        let max = samples.iter().max().map_or(f64::NAN, |m| f64::from(*m) / 1e3);
        let (p50, p99) = p50_p99(result, class);
        println!("| {} | {all} | {ok} | {:.0} | {p50:.2} | {p99:.2} | {max:.1} |", class.name(), ok as f64 / result.seconds);
    }
    let hog: Vec<String> =
        result.tally.measured.iter().filter(|((c, _), _)| *c == Class::Hog).map(|((_, outcome), n)| format!("{outcome} × {n}")).collect();
    if !hog.is_empty() {
        println!("\nthe hog's answers (measured window): {}", hog.join(", "));
    }
    if result.reenables > 0 || !result.reenable_errors.is_empty() {
        println!("the hog's suspension lifted through the admin API {} times", result.reenables);
    }
    for error in &result.reenable_errors {
        println!("a lift failed: {error}");
    }
    let unexpected: u64 = result.tally.unexpected.values().sum();
    if unexpected == 0 {
        println!("unexpected answers: none (warm-up and measured window)");
    } else {
        println!("unexpected answers (warm-up and measured window): {unexpected}");
        for ((class, outcome), n) in &result.tally.unexpected {
            let example =
                result.tally.examples.get(&(*class, outcome.clone())).filter(|e| !e.is_empty()).map_or(String::new(), |e| format!(", first: {e}"));
            println!("  {}: {outcome} × {n}{example}", class.name());
        }
    }
    if result.tally.reconnects > 0 {
        println!("connections the server closed between requests (reopened): {}", result.tally.reconnects);
    }
    let cpu: Vec<String> = result.node_cpu.iter().map(|s| format!("{:.2}", s / result.elapsed)).collect();
    let answers: u64 = result.tally.measured.values().chain(result.tally.warmup.values()).sum();
    println!("nodes' CPU per answer (all nodes, whole phase): {:.0} µs", result.node_cpu.iter().sum::<f64>() / answers.max(1) as f64 * 1e6);
    let nodes_cpu: f64 = result.node_cpu.iter().sum();
    let other = result.machine_cpu - nodes_cpu - result.bench_cpu - result.postgres_cpu;
    println!(
        "CPU over the whole phase, in cores: nodes {} (together {:.2}), PostgreSQL {:.2}, this bench {:.2}, everything else on the machine {:.2}; \
         machine busy {:.2} of {} cores; load average {} at the start, {} at the end",
        cpu.join(" / "),
        nodes_cpu / result.elapsed,
        result.postgres_cpu / result.elapsed,
        result.bench_cpu / result.elapsed,
        other / result.elapsed,
        result.machine_cpu / result.elapsed,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        result.loadavg.0,
        result.loadavg.1
    );
    unexpected
}

/// Prints each node's memory over the phase; returns whether every node's RSS stayed flat
/// after the warm-up.
pub fn print_memory(result: &PhaseResult) -> bool {
    let nodes = result.samples.first().map_or(0, |s| s.rss_mib.len());
    println!("\nRSS (MiB) and live isolates of each node, {}: samples at {}", result.name, {
        let at: Vec<String> = result.samples.iter().map(|s| format!("{:.0}", s.at)).collect();
        at.join(", ") + " s"
    });
    println!("\n| node | start | end of warm-up | end | max | growth after warm-up | live isolates (max) |");
    println!("| --- | ---: | ---: | ---: | ---: | --- | ---: |");
    let mut all_flat = true;
    for n in 0..nodes {
        let rss: Vec<Option<f64>> = result.samples.iter().map(|s| s.rss_mib[n]).collect();
        let warm = result.samples.iter().find(|s| s.measuring).and_then(|s| s.rss_mib[n]);
        let end = rss.last().copied().flatten();
        let max = rss.iter().flatten().copied().fold(f64::NAN, f64::max);
        let isolates = result.samples.iter().filter_map(|s| s.isolates[n]).fold(f64::NAN, f64::max);
        let flat = matches!((warm, end), (Some(w), Some(e)) if is_flat(w, e));
        all_flat &= flat;
        let growth = match (warm, end) {
            (Some(w), Some(e)) => format!("{:+.0} MiB ({:+.1} %) {}", e - w, (e / w - 1.0) * 100.0, if flat { "flat" } else { "GREW" }),
            _ => "?".into(),
        };
        println!("| {} | {} | {} | {} | {max:.0} | {growth} | {isolates:.0} |", n + 1, mib(rss.first().copied().flatten()), mib(warm), mib(end));
    }
    let series: Vec<String> = (0..nodes)
        .map(|n| {
            let values: Vec<String> = result.samples.iter().map(|s| mib(s.rss_mib[n])).collect();
            format!("node {}: {}", n + 1, values.join(" "))
        })
        .collect();
    println!("\nRSS series: {}", series.join("; "));
    all_flat
}

/// Prints the well-behaved classes' p99 with the hog against without; returns whether each
/// stayed under twice its baseline.
pub fn print_comparison(baseline: &PhaseResult, hog: &PhaseResult) -> bool {
    println!("\n### Well-behaved classes with the hog against without\n");
    println!("| class | p50 without / with (ms) | p99 without / with (ms) | p99 ratio | expected/s without / with | p99 < 2× |");
    println!("| --- | --- | --- | ---: | --- | --- |");
    let mut all_under = true;
    for class in Class::WELL_BEHAVED {
        let ((b50, b99), (h50, h99)) = (p50_p99(baseline, class), p50_p99(hog, class));
        let ratio = h99 / b99;
        let under = ratio < 2.0;
        all_under &= under;
        let rate = |r: &PhaseResult| r.tally.measured_counts(class).1 as f64 / r.seconds;
        println!(
            "| {} | {b50:.2} / {h50:.2} | {b99:.2} / {h99:.2} | {ratio:.2} | {:.0} / {:.0} | {} |",
            class.name(),
            rate(baseline),
            rate(hog),
            if under { "✓" } else { "✗" }
        );
    }
    all_under
}
