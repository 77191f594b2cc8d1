//! A real `alga-ext serve` process for tests: spawned with its stderr piped, waited for until
//! its JSON log says `listening`, its stderr drained for its whole life (a full pipe would
//! block the server) with the last lines kept for a failing assertion to show.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Stderr lines kept after start-up.
const KEPT_LINES: usize = 40;

/// A started server: the process, its address, every stderr line up to and including the
/// `listening` one, and the latest lines since.
pub struct Started {
    pub child: Child,
    pub addr: SocketAddr,
    pub startup: Vec<String>,
    pub log: Arc<Mutex<VecDeque<String>>>,
}

/// Spawns `cmd` (which must log JSON to a piped stderr) and waits up to a minute for it to
/// listen; panics with what it printed if it does not.
pub fn spawn_and_wait(mut cmd: Command) -> Started {
    let mut child = cmd.spawn().expect("spawn alga-ext");
    let stderr = child.stderr.take().expect("stderr is piped");
    let log = Arc::new(Mutex::new(VecDeque::new()));
    let (tx, rx) = std::sync::mpsc::channel();
    let kept = log.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let mut kept = kept.lock().unwrap();
            if kept.len() == KEPT_LINES {
                kept.pop_front();
            }
            kept.push_back(line.clone());
            drop(kept);
            let _ = tx.send(line);
        }
    });
    let mut startup = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let Ok(line) = rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("server did not start; stderr so far:\n{}", startup.join("\n"));
        };
        startup.push(line.clone());
        if let Ok(event) = serde_json::from_str::<Value>(&line) {
            if event["message"] == "listening" {
                let addr = event["addr"].as_str().unwrap().parse().unwrap();
                return Started { child, addr, startup, log };
            }
        }
    }
}
