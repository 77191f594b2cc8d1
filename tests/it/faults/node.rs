//! What the fault tests drive: `alga-ext serve` as a real process (started, killed, signalled, its threads and isolates counted), a TCP proxy that makes PostgreSQL vanish and come back, and a client that reads answers in the API's error shape.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::support::SECRET;

/// A running `alga-ext serve` on PostgreSQL; killed when dropped.
pub struct Node {
    child: Child,
    pub addr: SocketAddr,
    log: Arc<Mutex<VecDeque<String>>>,
    client: reqwest::Client,
}

/// One answer: status, the error code of the API's shape (if any), `Retry-After`, the body.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub code: Option<String>,
    pub retry_after: Option<String>,
    pub body: Value,
}

impl Node {
    /// Starts a server on `database_url` with `extra` flags and waits until it listens.
    /// Prewarming and maintenance are off: each would run statements of its own at
    /// moments no test controls.
    pub async fn start(database_url: &str, extra: &[&str]) -> Node {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_alga-ext"));
        for (name, _) in std::env::vars() {
            if name.starts_with("ALGA_EXT_") {
                cmd.env_remove(name);
            }
        }
        cmd.args(["serve", "--database-url", database_url, "--listen", "127.0.0.1:0", "--log-format", "json"])
            .args(["--prewarm", "0", "--maintenance-interval", "0"])
            .args(extra)
            .env("ALGA_EXT_JWT_SECRET", SECRET)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        // Reading its stderr blocks; the test's own runtime may be serving the proxy.
        let (child, addr, log) = tokio::task::spawn_blocking(move || spawn_and_wait(cmd)).await.unwrap();
        let client = reqwest::Client::builder().timeout(Duration::from_secs(20)).build().unwrap();
        Node { child, addr, log, client }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The last lines the server wrote, for assertion messages.
    pub fn log_tail(&self) -> String {
        self.log.lock().unwrap().iter().cloned().collect::<Vec<_>>().join("\n")
    }

    /// Sends a request as `token`'s caller; a JSON body is sent as such, raw bytes as given.
    pub async fn send(&self, method: reqwest::Method, path: &str, token: &str, body: Option<Body>) -> Reply {
        let mut req = self.client.request(method, self.url(path)).bearer_auth(token);
        req = match body {
            Some(Body::Json(json)) => req.json(&json),
            Some(Body::Raw(content_type, bytes)) => req.header("content-type", content_type).body(bytes),
            None => req,
        };
        let res = req.send().await.unwrap_or_else(|e| panic!("{path}: {e}\n{}", self.log_tail()));
        reply(res).await
    }

    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.send(reqwest::Method::GET, path, token, None).await
    }

    /// Live isolates, as `/metrics` says.
    pub async fn live_isolates(&self) -> u64 {
        let text = reqwest::get(self.url("/metrics")).await.unwrap().text().await.unwrap();
        let line = text.lines().find(|l| l.starts_with("alga_isolates_live ")).unwrap_or_else(|| panic!("no alga_isolates_live in {text}"));
        line["alga_isolates_live ".len()..].trim().parse::<f64>().unwrap() as u64
    }

    /// The process's threads, as Linux lists them.
    pub fn threads(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/task", self.pid())).unwrap().count()
    }

    /// SIGKILL, and wait until the process is gone.
    pub fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// Sends SIGTERM; the server drains and exits on its own.
    pub fn terminate(&self) {
        // SAFETY: kill(2) on our own child's pid; it reads nothing of ours.
        let sent = unsafe { libc::kill(self.pid() as libc::pid_t, libc::SIGTERM) };
        assert_eq!(sent, 0, "SIGTERM could not be sent");
    }

    /// The exit status, once the process has ended (`None` while it runs).
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().unwrap()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A request body.
pub enum Body {
    Json(Value),
    Raw(&'static str, Vec<u8>),
}

pub async fn reply(res: reqwest::Response) -> Reply {
    let status = res.status().as_u16();
    let retry_after = res.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
    let text = res.text().await.unwrap_or_default();
    let body: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    let code = body["error"]["code"].as_str().map(str::to_owned);
    Reply { status, code, retry_after, body }
}

fn spawn_and_wait(cmd: Command) -> (Child, SocketAddr, Arc<Mutex<VecDeque<String>>>) {
    let started = crate::serve_process::spawn_and_wait(cmd);
    (started.child, started.addr, started.log)
}

/// A TCP proxy in front of PostgreSQL. Down, it closes every connection it carried and its
/// listening socket, so the server's sockets break and new connections are refused, as
/// when PostgreSQL itself restarts; up again, it listens on the same port.
pub struct Proxy {
    pub addr: SocketAddr,
    up: watch::Sender<bool>,
}

impl Proxy {
    pub async fn start(target: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (up, mut state) = watch::channel(true);
        tokio::spawn(async move {
            let mut listener = Some(listener);
            loop {
                let serving = match listener.take() {
                    Some(listener) => listener,
                    None => TcpListener::bind(addr).await.expect("the proxy's port is taken again"),
                };
                let mut carried = tokio::task::JoinSet::new();
                loop {
                    tokio::select! {
                        accepted = serving.accept() => {
                            let Ok((client, _)) = accepted else { continue };
                            carried.spawn(pipe(client, target));
                        }
                        changed = state.wait_for(|up| !*up) => {
                            if changed.is_err() { return; }
                            break;
                        }
                    }
                }
                drop(serving);
                carried.shutdown().await;
                if state.wait_for(|up| *up).await.is_err() {
                    return;
                }
            }
        });
        Proxy { addr, up }
    }

    pub fn set_up(&self, up: bool) {
        self.up.send_replace(up);
    }
}

async fn pipe(mut client: TcpStream, target: SocketAddr) {
    if let Ok(mut server) = TcpStream::connect(target).await {
        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
    }
}

/// `url` with its host and port replaced by `addr`.
pub fn via(url: &str, addr: SocketAddr) -> String {
    let mut parsed = reqwest::Url::parse(url).unwrap();
    parsed.set_ip_host(addr.ip()).unwrap();
    parsed.set_port(Some(addr.port())).unwrap();
    parsed.to_string()
}

/// The address of the PostgreSQL server `url` names.
pub fn pg_addr(url: &str) -> SocketAddr {
    let parsed = reqwest::Url::parse(url).unwrap();
    let host = parsed.host_str().unwrap();
    let port = parsed.port().unwrap_or(5432);
    std::net::ToSocketAddrs::to_socket_addrs(&(host, port)).unwrap().next().unwrap()
}
