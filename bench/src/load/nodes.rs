//! The nodes of `alga-bench load`: real `alga-ext serve` processes on loopback ports over one
//! PostgreSQL database, with the limits that would otherwise measure themselves raised; they
//! are stopped when the bench ends however it ends. Also what is read from them meanwhile:
//! resident memory, CPU time and live isolates.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

/// The `serve` flags a 1,000-connection run changes from their defaults, so that it measures
/// the runtime rather than a limiter in front of it.
#[derive(Debug, Clone)]
pub struct NodeLimits {
    /// `--max-connections`: the default (10,000, less under a low open-file limit) would do,
    /// but it is set so the run does not depend on the machine's limit.
    pub max_connections: usize,
    /// `--isolate-queue`: requests that may wait for one isolate (default 64); a full queue
    /// answers 503, which a well-behaved class would count as an error.
    pub isolate_queue: usize,
    /// `--max-isolates` (default 256): every installed extension keeps its isolate.
    pub max_isolates: usize,
    /// `--isolate-memory-budget-mb` (default half the machine's memory): each live isolate
    /// reserves its heap and ArrayBuffer limits (128 MiB by default), so 12 GiB holds 96.
    pub memory_budget_mb: usize,
}

impl NodeLimits {
    /// Limits that leave room for `extensions` isolates and `connections` clients on one node.
    pub fn for_load(extensions: usize, connections: usize) -> Self {
        Self {
            max_connections: connections.max(1024) * 2,
            isolate_queue: connections.max(64),
            max_isolates: (extensions * 2).max(256),
            memory_budget_mb: (extensions + 32) * 128,
        }
    }

    /// The flags as passed to `alga-ext serve`, rate limit off included.
    pub fn flags(&self) -> Vec<String> {
        vec![
            "--rate-limit-per-second".into(),
            "0".into(),
            "--max-connections".into(),
            self.max_connections.to_string(),
            "--isolate-queue".into(),
            self.isolate_queue.to_string(),
            "--max-isolates".into(),
            self.max_isolates.to_string(),
            "--isolate-memory-budget-mb".into(),
            self.memory_budget_mb.to_string(),
        ]
    }
}

/// One `alga-ext serve` process.
pub struct Node {
    pub port: u16,
    pub log: PathBuf,
    child: Child,
}

impl Node {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// The nodes this bench started; dropping it stops them (SIGTERM, then SIGKILL).
pub struct Nodes {
    pub nodes: Vec<Node>,
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// The last lines of a node's log, for an error that says why it did not come up.
fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

/// Applies the migrations once, before any node starts, so three nodes never race to.
pub fn migrate(binary: &Path, pg: &str) -> anyhow::Result<()> {
    let out = Command::new(binary)
        .args(["--log", "warn", "migrate", "--database-url", pg])
        .output()
        .with_context(|| format!("cannot run {}", binary.display()))?;
    if !out.status.success() {
        bail!("alga-ext migrate failed: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(())
}

impl Nodes {
    /// Starts `count` nodes on free loopback ports and waits until each answers `/readyz`
    /// (its change feed listening). Logs (JSON lines, `warn` and up) go to `dir/node<i>.log`.
    pub async fn start(binary: &Path, pg: &str, secret: &str, count: usize, limits: &NodeLimits, dir: &Path) -> anyhow::Result<Self> {
        let mut nodes = Nodes { nodes: Vec::with_capacity(count) };
        for i in 0..count {
            let port = free_port()?;
            let data_dir = dir.join(format!("node{i}"));
            std::fs::create_dir_all(&data_dir)?;
            let log = dir.join(format!("node{i}.log"));
            let out = std::fs::File::create(&log)?;
            let mut cmd = Command::new(binary);
            cmd.args(["--log", "warn", "--log-format", "json", "serve", "--listen", &format!("127.0.0.1:{port}"), "--database-url", pg])
                .arg("--data-dir")
                .arg(&data_dir)
                .args(limits.flags())
                .env("ALGA_EXT_JWT_SECRET", secret)
                .stdin(Stdio::null())
                .stdout(out.try_clone()?)
                .stderr(out);
            // SAFETY: prctl is async-signal-safe and touches no memory of the parent. It asks
            // the kernel to kill the node when the thread that spawned it (this process's main
            // thread, which runs the bench until it exits) dies, so a killed bench leaves no
            // server behind.
            unsafe {
                cmd.pre_exec(|| {
                    if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
            let child = cmd.spawn().with_context(|| format!("cannot start {}", binary.display()))?;
            nodes.nodes.push(Node { port, log, child });
        }
        let http = reqwest::Client::new();
        let ready_by = Instant::now() + Duration::from_secs(60);
        for (i, node) in nodes.nodes.iter_mut().enumerate() {
            loop {
                if let Some(status) = node.child.try_wait()? {
                    bail!("node {i} exited ({status}) before it was ready:\n{}", log_tail(&node.log));
                }
                let url = format!("{}/readyz", node.base_url());
                if http.get(&url).send().await.is_ok_and(|r| r.status().is_success()) {
                    break;
                }
                if Instant::now() > ready_by {
                    bail!("node {i} was not ready within 60 s:\n{}", log_tail(&node.log));
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        Ok(nodes)
    }

    pub fn base_urls(&self) -> Vec<String> {
        self.nodes.iter().map(Node::base_url).collect()
    }

    /// Which nodes have exited on their own (a crash during the load is a finding).
    pub fn exited(&mut self) -> Vec<String> {
        let mut gone = Vec::new();
        for (i, node) in self.nodes.iter_mut().enumerate() {
            if let Ok(Some(status)) = node.child.try_wait() {
                gone.push(format!("node {i} exited ({status}); log {}", node.log.display()));
            }
        }
        gone
    }

    /// Stops every node still running: SIGTERM (graceful drain), SIGKILL after 10 s.
    pub fn stop(&mut self) {
        for node in &mut self.nodes {
            if matches!(node.child.try_wait(), Ok(None)) {
                // SAFETY: kill has no memory effects; the pid is our own child, not yet reaped.
                unsafe { libc::kill(node.child.id() as libc::pid_t, libc::SIGTERM) };
            }
        }
        let kill_at = Instant::now() + Duration::from_secs(10);
        for node in &mut self.nodes {
            while matches!(node.child.try_wait(), Ok(None)) {
                if Instant::now() > kill_at {
                    let _ = node.child.kill();
                    let _ = node.child.wait();
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

impl Drop for Nodes {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Resident set size of a process, in MiB (`VmRSS` of `/proc/PID/status`).
pub fn rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib: f64 = status.lines().find_map(|l| l.strip_prefix("VmRSS:"))?.split_whitespace().next()?.parse().ok()?;
    Some(kib / 1024.0)
}

/// CPU time (user and system) a process has used, in seconds, threads included.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: fields are counted after its last `)`.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let (user, system): (f64, f64) = (fields.get(11)?.parse().ok()?, fields.get(12)?.parse().ok()?);
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    Some((user + system) / ticks)
}

/// CPU seconds used by every local process named `postgres` (the server and its backends);
/// backends that exit meanwhile take theirs with them, so this is a lower bound.
pub fn postgres_cpu_seconds() -> f64 {
    let Ok(entries) = std::fs::read_dir("/proc") else { return 0.0 };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()))
        .filter(|pid| std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == "postgres"))
        .filter_map(cpu_seconds)
        .sum()
}

/// Seconds all cores spent busy (neither idle nor waiting for I/O) since boot, from `/proc/stat`.
pub fn machine_busy_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(cpu) = stat.lines().next().and_then(|l| l.strip_prefix("cpu ")) else { return 0.0 };
    let ticks: Vec<f64> = cpu.split_whitespace().filter_map(|t| t.parse().ok()).collect();
    // user nice system idle iowait irq softirq steal (guest time is already within user).
    let busy: f64 = ticks.iter().take(8).enumerate().filter(|(i, _)| *i != 3 && *i != 4).map(|(_, t)| t).sum();
    // SAFETY: sysconf has no preconditions.
    busy / unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64
}

/// The `alga_isolates_live` gauge of a node's `/metrics`.
pub async fn live_isolates(http: &reqwest::Client, base_url: &str) -> Option<f64> {
    let text = http.get(format!("{base_url}/metrics")).timeout(Duration::from_secs(5)).send().await.ok()?.text().await.ok()?;
    text.lines().find_map(|l| l.strip_prefix("alga_isolates_live "))?.trim().parse().ok()
}

/// Counts of `WARN` and `ERROR` lines in a node's JSON log, and up to five distinct error
/// messages.
pub fn log_summary(path: &Path) -> (usize, usize, Vec<String>) {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let (mut warns, mut errors, mut distinct) = (0, 0, Vec::new());
    for line in text.lines() {
        let Ok(entry) = serde_json::from_str::<serde_json::Value>(line) else { continue };
        match entry["level"].as_str() {
            Some("WARN") => warns += 1,
            Some("ERROR") => {
                errors += 1;
                let message = entry["fields"]["message"].as_str().unwrap_or("").to_owned();
                if distinct.len() < 5 && !distinct.contains(&message) {
                    distinct.push(message);
                }
            }
            _ => {}
        }
    }
    (warns, errors, distinct)
}
