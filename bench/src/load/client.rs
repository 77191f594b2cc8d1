//! The load generator of `alga-bench load`: closed-loop clients, each with one keep-alive
//! HTTP/1.1 connection to one node (round-robin over the nodes), sending its next request as
//! soon as the last one is answered; latency and outcome recorded per request class.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::sync::Notify;

use super::setup::{Setup, WRITE_KEYS};

/// How long one request may take before the client gives up on it (the server's own request
/// timeout is 10 s, so an answer should always come first).
const CLIENT_TIMEOUT: Duration = Duration::from_secs(30);

/// What a request exercises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Class {
    Hello,
    Read,
    Write,
    Hog,
}

impl Class {
    pub const ALL: [Class; 4] = [Class::Hello, Class::Read, Class::Write, Class::Hog];
    pub const WELL_BEHAVED: [Class; 3] = [Class::Hello, Class::Read, Class::Write];

    pub fn name(self) -> &'static str {
        match self {
            Class::Hello => "hello",
            Class::Read => "storage read",
            Class::Write => "storage write",
            Class::Hog => "CPU hog",
        }
    }
}

/// The error codes a hog's call may get: its CPU limit, the wall-clock limit, a full queue or
/// a discarded isolate, and the suspension the circuit breaker puts on it. Anything else
/// (a 200 included) is unexpected.
pub const HOG_EXPECTED: [&str; 4] = ["EXTENSION_CPU_LIMIT", "EXTENSION_TIMEOUT", "EXTENSION_OVERLOADED", "EXTENSION_SUSPENDED"];

/// Whether an answer is what the class should get.
fn expected(class: Class, status: u16, code: &str) -> bool {
    match class {
        Class::Hog => status >= 500 && HOG_EXPECTED.contains(&code),
        _ => status == 200,
    }
}

/// What one phase of load sends, and when.
pub struct Plan {
    pub nodes: Vec<SocketAddr>,
    pub setup: Setup,
    /// Relative weights of hello, read and write for the well-behaved loops.
    pub mix: [u32; 3],
    /// Samples are kept from requests sent from then on (before: warm-up).
    pub measure_from: Instant,
    /// No request is sent from then on.
    pub until: Instant,
    /// Told whenever the hog is answered `EXTENSION_SUSPENDED`.
    pub suspended: Arc<Notify>,
}

/// Per class: latencies of expected answers in the measured window (µs), and answers counted
/// by outcome (`200`, `500 EXTENSION_CPU_LIMIT`, `connection: …`), split into warm-up and
/// measured.
#[derive(Debug, Default)]
pub struct Tally {
    pub latencies_us: BTreeMap<Class, Vec<u32>>,
    pub measured: BTreeMap<(Class, String), u64>,
    pub warmup: BTreeMap<(Class, String), u64>,
    /// Expected answers in the measured window.
    pub measured_ok: BTreeMap<Class, u64>,
    /// Outcomes that were not what their class should get, by (class, "outcome (node N)"),
    /// both windows.
    pub unexpected: BTreeMap<(Class, String), u64>,
    /// The first message of each of those.
    pub examples: BTreeMap<(Class, String), String>,
    /// Connections the server closed between requests (reopened, not counted as errors).
    pub reconnects: u64,
}

impl Tally {
    /// Counts one outcome; an unexpected one also by the node that gave it, with the first
    /// `message` kept.
    fn count(&mut self, class: Class, outcome: String, measured: bool, ok: bool, node: usize, message: &str) {
        if ok && measured {
            *self.measured_ok.entry(class).or_default() += 1;
        }
        if !ok {
            let at = (class, format!("{outcome} (node {node})"));
            self.examples.entry(at.clone()).or_insert_with(|| message.to_owned());
            *self.unexpected.entry(at).or_default() += 1;
        }
        let table = if measured { &mut self.measured } else { &mut self.warmup };
        *table.entry((class, outcome)).or_default() += 1;
    }

    pub fn merge(&mut self, other: Tally) {
        for (class, mut samples) in other.latencies_us {
            self.latencies_us.entry(class).or_default().append(&mut samples);
        }
        for (from, into) in [(other.measured, &mut self.measured), (other.warmup, &mut self.warmup), (other.unexpected, &mut self.unexpected)] {
            for (key, n) in from {
                *into.entry(key).or_default() += n;
            }
        }
        for (class, n) in other.measured_ok {
            *self.measured_ok.entry(class).or_default() += n;
        }
        for (key, example) in other.examples {
            self.examples.entry(key).or_insert(example);
        }
        self.reconnects += other.reconnects;
    }

    /// Answers of `class` in the measured window: (all, expected ones).
    pub fn measured_counts(&self, class: Class) -> (u64, u64) {
        let all = self.measured.iter().filter(|((c, _), _)| *c == class).map(|(_, n)| n).sum();
        (all, self.measured_ok.get(&class).copied().unwrap_or(0))
    }
}

async fn connect(addr: SocketAddr) -> anyhow::Result<SendRequest<Full<Bytes>>> {
    let stream = tokio::net::TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (sender, connection) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    Ok(sender)
}

/// The status, and the error code and message of a non-200 answer (the runtime's error shape).
async fn send(sender: &mut SendRequest<Full<Bytes>>, request: hyper::Request<Full<Bytes>>) -> anyhow::Result<(u16, String, String)> {
    sender.ready().await?;
    let response = sender.send_request(request).await?;
    let status = response.status().as_u16();
    let body = response.into_body().collect().await?.to_bytes();
    if status == 200 {
        return Ok((status, String::new(), String::new()));
    }
    let error = serde_json::from_slice::<serde_json::Value>(&body).map(|v| v["error"].clone()).unwrap_or_default();
    let text = |field: &str| error[field].as_str().unwrap_or_default().to_owned();
    Ok((status, text("code"), text("message")))
}

impl Plan {
    /// The next request of a loop: the hog's, or a well-behaved class on a random extension
    /// of a random tenant, as a random one of its users.
    fn request(&self, rng: &mut StdRng, hog: bool, addr: SocketAddr) -> anyhow::Result<(Class, hyper::Request<Full<Bytes>>)> {
        let (class, key, token, method, path, body) = if hog {
            let tenant = &self.setup.tenants[0];
            (Class::Hog, self.setup.hog.key.as_str(), &tenant.user_tokens[0], "GET", "spin", Bytes::new())
        } else {
            let tenant = &self.setup.tenants[rng.random_range(0..self.setup.tenants.len())];
            let ext = &tenant.extensions[rng.random_range(0..tenant.extensions.len())];
            let token = &tenant.user_tokens[rng.random_range(0..tenant.user_tokens.len())];
            let pick = rng.random_range(0..self.mix.iter().sum::<u32>().max(1));
            if pick < self.mix[0] {
                (Class::Hello, ext.key.as_str(), token, "GET", "hello", Bytes::new())
            } else if pick < self.mix[0] + self.mix[1] {
                (Class::Read, ext.key.as_str(), token, "GET", "read", Bytes::new())
            } else {
                let body = format!("{{\"k\":{}}}", rng.random_range(0..WRITE_KEYS));
                (Class::Write, ext.key.as_str(), token, "POST", "write", Bytes::from(body))
            }
        };
        let mut builder = hyper::Request::builder()
            .method(method)
            .uri(format!("/api/extensions/{key}/{path}"))
            .header("host", addr.to_string())
            .header("authorization", format!("Bearer {token}"));
        if !body.is_empty() {
            builder = builder.header("content-type", "application/json");
        }
        Ok((class, builder.body(Full::new(body))?))
    }
}

/// One client: sends requests until `plan.until` over its own connection to node
/// `index % nodes`, opening it again when the server closed it or it failed.
pub async fn run_loop(plan: Arc<Plan>, index: usize, hog: bool) -> Tally {
    let (addr, node) = (plan.nodes[index % plan.nodes.len()], index % plan.nodes.len() + 1);
    // Seeded by the loop's index: the baseline and the hog phase send the same sequence.
    let mut rng = StdRng::seed_from_u64(index as u64);
    let mut tally = Tally::default();
    let mut sender: Option<SendRequest<Full<Bytes>>> = None;
    while Instant::now() < plan.until {
        if sender.as_ref().is_some_and(SendRequest::is_closed) {
            sender = None;
            tally.reconnects += 1;
        }
        let measured = Instant::now() >= plan.measure_from;
        let class = if hog { Class::Hog } else { Class::Hello };
        let live = match sender.as_mut() {
            Some(live) => live,
            None => match tokio::time::timeout(CLIENT_TIMEOUT, connect(addr)).await {
                Ok(Ok(fresh)) => sender.insert(fresh),
                Ok(Err(e)) => {
                    tally.count(class, format!("connect: {e}"), measured, false, node, "");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
                Err(_) => {
                    tally.count(class, "connect: client timeout".into(), measured, false, node, "");
                    continue;
                }
            },
        };
        let (class, request) = match plan.request(&mut rng, hog, addr) {
            Ok(next) => next,
            Err(e) => {
                tally.count(class, format!("request: {e}"), measured, false, node, "");
                break;
            }
        };
        let started = Instant::now();
        match tokio::time::timeout(CLIENT_TIMEOUT, send(live, request)).await {
            Ok(Ok((status, code, message))) => {
                let ok = expected(class, status, &code);
                if ok && measured {
                    let us = u32::try_from(started.elapsed().as_micros()).unwrap_or(u32::MAX);
                    tally.latencies_us.entry(class).or_default().push(us);
                }
                if class == Class::Hog && code == "EXTENSION_SUSPENDED" {
                    plan.suspended.notify_one();
                }
                let outcome = if code.is_empty() { status.to_string() } else { format!("{status} {code}") };
                tally.count(class, outcome, measured, ok, node, &message);
            }
            Ok(Err(e)) => {
                tally.count(class, format!("connection: {e}"), measured, false, node, "");
                sender = None;
            }
            Err(_) => {
                tally.count(class, format!("no answer within {} s", CLIENT_TIMEOUT.as_secs()), measured, false, node, "");
                sender = None;
            }
        }
    }
    tally
}
