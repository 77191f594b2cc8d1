//! The accept loop: HTTP/1.1 connections under a header timeout, an idle timeout and a cap on how many are open at once.
//!
//! `axum::serve` keeps a connection for as long as the client likes and spins on `accept`
//! errors; a server facing the internet needs every connection to be bounded in time and
//! their number to be bounded, and must survive running out of file descriptors.

use std::convert::Infallible;
use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::Router;
use hyper::body::{Body as HttpBody, Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};

/// How the server treats connections.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Time to send a request's headers, from the first byte (or from connecting).
    pub header_timeout: Duration,
    /// Time a connection may sit with no request in flight.
    pub idle_timeout: Duration,
    /// Most connections open at once; more wait in the listen backlog.
    pub max_connections: usize,
    /// After shutdown starts, how long in-flight requests may take.
    pub grace: Duration,
    /// Largest request head (request line and headers) in bytes; hyper answers a bigger one
    /// with `431` and closes the connection. At least [`MIN_HEADER_BYTES`].
    pub max_header_bytes: usize,
    /// Most header lines in one request; more get `431` and the connection is closed.
    pub max_headers: usize,
}

/// hyper's smallest read buffer: a request head never has to fit in less.
pub const MIN_HEADER_BYTES: usize = 8192;
/// `--http-max-header-bytes` by default.
pub const DEFAULT_MAX_HEADER_BYTES: usize = 64 * 1024;
/// `--http-max-headers` by default; hyper's own default too, which keeps its header slots
/// on the stack (any other count costs a heap allocation per request).
pub const DEFAULT_MAX_HEADERS: usize = 100;

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_connections: DEFAULT_MAX_CONNECTIONS,
            grace: Duration::from_secs(30),
            max_header_bytes: DEFAULT_MAX_HEADER_BYTES,
            max_headers: DEFAULT_MAX_HEADERS,
        }
    }
}

/// `--max-connections` when the open-file limit leaves room for it.
pub const DEFAULT_MAX_CONNECTIONS: usize = 10_000;

/// The default connection cap: 10,000, or what the open-file limit leaves once `reserved`
/// descriptors (database pool, isolate threads' runtimes, files) are set aside; at least 32.
pub fn default_max_connections(open_file_limit: u64, reserved: u64) -> usize {
    let room = open_file_limit.saturating_sub(reserved).max(32);
    usize::try_from(room).unwrap_or(usize::MAX).min(DEFAULT_MAX_CONNECTIONS)
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit; answers the soft limit now in force.
#[cfg(unix)]
#[allow(clippy::unnecessary_cast)] // rlim_t is u64 on Linux, not on every unix
pub fn raise_open_file_limit() -> std::io::Result<u64> {
    // Linux refuses an unlimited soft limit for files (it is capped by fs.nr_open).
    const UNLIMITED_AS: libc::rlim_t = 1 << 20;
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit writes into the struct we own and reads nothing else.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let target = if limit.rlim_max == libc::RLIM_INFINITY { UNLIMITED_AS } else { limit.rlim_max };
    if limit.rlim_cur < target {
        let raised = libc::rlimit { rlim_cur: target, rlim_max: limit.rlim_max };
        // SAFETY: setrlimit reads the struct we own.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            return Ok(target as u64);
        }
    }
    Ok(limit.rlim_cur as u64)
}

#[cfg(not(unix))]
pub fn raise_open_file_limit() -> std::io::Result<u64> {
    Ok(u64::MAX)
}

/// The delay before the next `accept` after failures: 5 ms doubling to 1 s.
#[derive(Debug, Default)]
pub struct AcceptBackoff {
    delay: Option<Duration>,
    failures: u64,
}

impl AcceptBackoff {
    pub const FIRST: Duration = Duration::from_millis(5);
    pub const MAX: Duration = Duration::from_secs(1);

    /// The delay after a failure that followed `previous` (none: the first failure).
    pub fn next_delay(previous: Option<Duration>) -> Duration {
        previous.map_or(Self::FIRST, |d| d.saturating_mul(2).min(Self::MAX))
    }

    /// Records a failure; the first of a run is logged, the rest only counted (a full fd
    /// table fails every accept, and a line each time would flood the log).
    pub fn failed(&mut self, error: &std::io::Error) -> Duration {
        if self.delay.is_none() {
            tracing::error!(%error, "accepting a connection failed; backing off until it works again");
        }
        self.failures += 1;
        let delay = Self::next_delay(self.delay);
        self.delay = Some(delay);
        delay
    }

    pub fn succeeded(&mut self) {
        if self.delay.take().is_some() {
            tracing::info!(failures = self.failures, "accepting connections again");
            self.failures = 0;
        }
    }
}

/// Errors of one connection that died in the backlog, not of the listener.
fn is_connection_error(e: &std::io::Error) -> bool {
    use std::io::ErrorKind as K;
    matches!(e.kind(), K::ConnectionRefused | K::ConnectionAborted | K::ConnectionReset)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Serving,
    Draining,
    Abort,
}

/// Serves `router` on `listener` until `shutdown` resolves, then stops accepting, lets
/// in-flight requests finish for up to `options.grace` and drops the rest.
pub async fn serve_with(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    options: ServeOptions,
) -> std::io::Result<()> {
    let max = options.max_connections.clamp(1, Semaphore::MAX_PERMITS.min(u32::MAX as usize));
    let permits = Arc::new(Semaphore::new(max));
    let (phase_tx, phase_rx) = watch::channel(Phase::Serving);
    let mut shutdown = pin!(shutdown);
    let mut backoff = AcceptBackoff::default();
    loop {
        // At the cap, wait for a connection to close before accepting more: new clients
        // queue in the kernel's backlog (delayed, not refused).
        let permit = tokio::select! {
            biased;
            () = &mut shutdown => break,
            permit = permits.clone().acquire_owned() => permit.map_err(std::io::Error::other)?,
        };
        let accepted = tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok((stream, _)) => {
                backoff.succeeded();
                stream
            }
            Err(e) if is_connection_error(&e) => continue,
            Err(e) => {
                let delay = backoff.failed(&e);
                tokio::select! {
                    () = &mut shutdown => break,
                    () = tokio::time::sleep(delay) => continue,
                }
            }
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(connection(stream, router.clone(), options.clone(), phase_rx.clone(), permit));
    }
    drop(listener);
    tracing::info!(grace_secs = options.grace.as_secs_f64(), "shutting down: draining in-flight requests");
    let _ = phase_tx.send(Phase::Draining);
    // Every connection holds a permit until it ends: all permits back means all are done.
    if tokio::time::timeout(options.grace, permits.acquire_many(max as u32)).await.is_err() {
        tracing::warn!("shutdown grace period over; dropping requests still in flight");
        let _ = phase_tx.send(Phase::Abort);
    }
    Ok(())
}

/// One connection, from accept to close; holds its permit throughout.
async fn connection(stream: TcpStream, router: Router, options: ServeOptions, mut phase: watch::Receiver<Phase>, _permit: OwnedSemaphorePermit) {
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(Tracked { inner: stream, activity: activity.clone() });
    let service = {
        let activity = activity.clone();
        hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
            let in_flight = activity.request_started();
            let router = router.clone();
            async move {
                let (req, body_read) = watch_body(req);
                let mut response = match tower::ServiceExt::oneshot(router, req).await {
                    Ok(response) => response,
                    Err(never) => match never {},
                };
                // Answered before its body was read (a 413, a 401, a 429): hyper will close the
                // connection rather than read the rest, so say so, or a client reusing it
                // for its next request would find it closed under that request.
                if !body_read.load(Ordering::SeqCst) {
                    response.headers_mut().insert(axum::http::header::CONNECTION, axum::http::HeaderValue::from_static("close"));
                }
                // The request counts as in flight until its body is fully written.
                Ok::<_, Infallible>(response.map(|body| Body::new(Guarded { body, _in_flight: in_flight })))
            }
        })
    };
    let mut builder = hyper::server::conn::http1::Builder::new();
    // hyper's own header timeout also runs while a keep-alive connection waits for its next
    // request, which would make it an idle timeout; `Activity` keeps the two apart.
    builder.timer(TokioTimer::new()).header_read_timeout(None).keep_alive(true);
    // The read buffer bounds the request head: hyper answers 431 when the head does not fit
    // (below its minimum it would panic, hence the clamp).
    builder.max_buf_size(options.max_header_bytes.max(MIN_HEADER_BYTES));
    if options.max_headers != DEFAULT_MAX_HEADERS {
        builder.max_headers(options.max_headers);
    }
    let mut conn = pin!(builder.serve_connection(io, service));
    tokio::select! {
        result = conn.as_mut() => {
            if let Err(e) = result {
                tracing::debug!(error = %e, "connection ended with an error");
            }
            return;
        }
        reason = activity.expired(&options) => {
            tracing::debug!(reason, "closing connection");
            return;
        }
        _ = phase.wait_for(|p| *p != Phase::Serving) => {}
    }
    // Draining: finish the request in flight (if any), then close.
    conn.as_mut().graceful_shutdown();
    tokio::select! {
        _ = conn.as_mut() => {}
        _ = phase.wait_for(|p| *p == Phase::Abort) => {}
        _ = activity.expired(&options) => {}
    }
}

/// What a connection is doing, for its timeouts. Times are milliseconds since it opened.
struct Activity {
    opened: Instant,
    in_flight: AtomicUsize,
    /// When the last request finished (or the connection opened).
    idle_since: AtomicU64,
    /// 1 + when the first byte of the next request's head arrived; 0 while none has.
    head_started: AtomicU64,
}

impl Activity {
    fn new() -> Self {
        // A fresh connection owes its first request's headers at once: it is timed as
        // though its head had started when it connected.
        Self { opened: Instant::now(), in_flight: AtomicUsize::new(0), idle_since: AtomicU64::new(0), head_started: AtomicU64::new(1) }
    }

    fn now_ms(&self) -> u64 {
        self.opened.elapsed().as_millis() as u64
    }

    fn request_started(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        self.head_started.store(0, Ordering::SeqCst);
        InFlight(self.clone())
    }

    fn bytes_read(&self) {
        if self.in_flight.load(Ordering::SeqCst) == 0 && self.head_started.load(Ordering::SeqCst) == 0 {
            self.head_started.store(self.now_ms() + 1, Ordering::SeqCst);
        }
    }

    /// When the connection is due to be closed, and why; `None` while a request is in flight.
    fn deadline(&self, options: &ServeOptions) -> Option<(u64, &'static str)> {
        if self.in_flight.load(Ordering::SeqCst) > 0 {
            return None;
        }
        let ms = |d: Duration| d.as_millis() as u64;
        match self.head_started.load(Ordering::SeqCst) {
            0 => Some((self.idle_since.load(Ordering::SeqCst) + ms(options.idle_timeout), "idle timeout")),
            started => Some((started - 1 + ms(options.header_timeout), "header timeout")),
        }
    }

    /// Resolves once the connection has been idle, or slow with a request head, too long.
    /// Looked at on a coarse tick rather than re-armed on every request: a deadline is
    /// overshot by at most a quarter of the shorter timeout, and serving a request costs a
    /// few atomic stores instead of timer and task wake-ups.
    async fn expired(&self, options: &ServeOptions) -> &'static str {
        let tick = (options.header_timeout.min(options.idle_timeout) / 4).max(Duration::from_millis(5));
        loop {
            tokio::time::sleep(tick).await;
            if let Some((due, reason)) = self.deadline(options) {
                if due <= self.now_ms() {
                    return reason;
                }
            }
        }
    }
}

/// A request in flight on a connection; dropped with the response body.
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.idle_since.store(self.0.now_ms(), Ordering::SeqCst);
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The request with its body wrapped to report when it has been read to the end; the flag
/// starts set for a request without a body.
fn watch_body(req: hyper::Request<Incoming>) -> (hyper::Request<Body>, Arc<AtomicBool>) {
    let read = Arc::new(AtomicBool::new(req.body().is_end_stream()));
    let req = req.map(|body| Body::new(Watched { body, read: read.clone() }));
    (req, read)
}

/// A request body that sets its flag once its last frame has been read.
struct Watched {
    body: Incoming,
    read: Arc<AtomicBool>,
}

impl HttpBody for Watched {
    type Data = axum::body::Bytes;
    type Error = hyper::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let polled = Pin::new(&mut self.body).poll_frame(cx);
        if matches!(polled, Poll::Ready(None)) || self.body.is_end_stream() {
            self.read.store(true, Ordering::SeqCst);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// A response body that keeps its request counted as in flight until it is dropped.
struct Guarded {
    body: Body,
    _in_flight: InFlight,
}

impl HttpBody for Guarded {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// The socket, reporting reads to the connection's `Activity`.
struct Tracked {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Tracked {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.bytes_read();
        }
        polled
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(mut self: Pin<&mut Self>, cx: &mut Context<'_>, bufs: &[std::io::IoSlice<'_>]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_backoff_doubles_from_5ms_to_1s() {
        let mut delays = vec![];
        let mut previous = None;
        for _ in 0..12 {
            let next = AcceptBackoff::next_delay(previous);
            delays.push(next.as_millis());
            previous = Some(next);
        }
        assert_eq!(delays, [5, 10, 20, 40, 80, 160, 320, 640, 1000, 1000, 1000, 1000]);
        let mut backoff = AcceptBackoff::default();
        let err = std::io::Error::from_raw_os_error(24);
        assert_eq!((backoff.failed(&err), backoff.failed(&err)), (AcceptBackoff::FIRST, Duration::from_millis(10)));
        backoff.succeeded();
        assert_eq!(backoff.failed(&err), AcceptBackoff::FIRST, "a success starts over");
    }

    #[test]
    fn the_default_cap_leaves_room_under_the_open_file_limit() {
        assert_eq!(default_max_connections(1 << 20, 1200), DEFAULT_MAX_CONNECTIONS);
        assert_eq!(default_max_connections(4096, 1096), 3000);
        assert_eq!(default_max_connections(1024, 4096), 32);
    }

    #[cfg(unix)]
    #[test]
    #[allow(clippy::unnecessary_cast)]
    fn the_open_file_limit_is_raised_to_the_hard_limit() {
        let soft = raise_open_file_limit().unwrap();
        let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        // SAFETY: as above.
        assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) }, 0);
        assert_eq!(limit.rlim_cur as u64, soft);
        assert!(limit.rlim_cur == limit.rlim_max || limit.rlim_max == libc::RLIM_INFINITY, "{soft} of {}", limit.rlim_max);
    }
}
