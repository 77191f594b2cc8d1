//! Resource limits of isolates, and the watchdog that enforces CPU time.
//!
//! CPU time is the isolate thread's own CPU clock (`pthread_getcpuclockid`), so time spent
//! waiting for the database or the host API does not count. One watchdog thread polls every
//! armed isolate and terminates the one past its deadline; V8's termination is thread-safe.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use deno_core::v8;

/// Limits applied to one isolate and the requests it serves.
#[derive(Debug, Clone, Copy)]
pub struct IsolateLimits {
    /// Most bytes the V8 heap may grow to.
    pub heap_max_bytes: usize,
    /// Most bytes of ArrayBuffer memory (outside the V8 heap) an isolate may hold.
    pub array_buffer_max_bytes: usize,
    /// CPU time after which a request still finishes, but the isolate is retired.
    pub cpu_soft: Duration,
    /// CPU time after which a request is terminated.
    pub cpu_hard: Duration,
    /// Wall-clock time a request may take, awaiting included.
    pub wall: Duration,
    /// CPU and wall time the main module's evaluation may take.
    pub module_eval: Duration,
    /// Requests that may wait for one isolate; more are refused as overloaded.
    pub queue_depth: usize,
}

impl Default for IsolateLimits {
    fn default() -> Self {
        Self {
            heap_max_bytes: 64 * 1024 * 1024,
            array_buffer_max_bytes: 64 * 1024 * 1024,
            cpu_soft: Duration::from_millis(50),
            cpu_hard: Duration::from_millis(200),
            wall: Duration::from_secs(10),
            module_eval: Duration::from_secs(1),
            queue_depth: 64,
        }
    }
}

/// The CPU clock of the calling thread, for the watchdog to read from elsewhere.
#[derive(Debug, Clone, Copy)]
pub struct ThreadClock(libc::clockid_t);

impl ThreadClock {
    pub fn current() -> Self {
        let mut clock: libc::clockid_t = 0;
        // SAFETY: pthread_self() is always a valid thread of this process; the out-pointer
        // is a local. A failure leaves the process-wide CPU clock, which only over-counts.
        let rc = unsafe { libc::pthread_getcpuclockid(libc::pthread_self(), &mut clock) };
        if rc != 0 {
            clock = libc::CLOCK_PROCESS_CPUTIME_ID;
        }
        Self(clock)
    }

    /// Nanoseconds of CPU this clock's thread has used.
    pub fn now_ns(self) -> u64 {
        let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: the clock id came from pthread_getcpuclockid for a thread that outlives
        // its guard registration; `ts` is a local out-parameter.
        unsafe { libc::clock_gettime(self.0, &mut ts) };
        (ts.tv_sec as u64).saturating_mul(1_000_000_000).saturating_add(ts.tv_nsec as u64)
    }
}

/// One isolate's registration with the watchdog.
pub struct CpuGuard {
    clock: ThreadClock,
    handle: v8::IsolateHandle,
    /// CPU-clock deadline in nanoseconds; 0 while no JS runs for a request.
    deadline_ns: AtomicU64,
    fired: AtomicBool,
}

impl CpuGuard {
    /// Registers the calling thread's isolate. Call on the isolate's own thread.
    pub fn register(handle: v8::IsolateHandle) -> Arc<Self> {
        let guard = Arc::new(Self { clock: ThreadClock::current(), handle, deadline_ns: AtomicU64::new(0), fired: AtomicBool::new(false) });
        watchdog().guards.lock().unwrap_or_else(|e| e.into_inner()).push(Arc::downgrade(&guard));
        guard
    }

    /// Starts a budget of `limit` CPU time from now; returns the start for [`Self::used`].
    pub fn arm(&self, limit: Duration) -> u64 {
        let start = self.clock.now_ns();
        self.deadline_ns.store(start.saturating_add(limit.as_nanos() as u64), Ordering::SeqCst);
        start
    }

    pub fn disarm(&self) {
        self.deadline_ns.store(0, Ordering::SeqCst);
    }

    /// CPU time used since `start` (from [`Self::arm`]).
    pub fn used(&self, start: u64) -> Duration {
        Duration::from_nanos(self.clock.now_ns().saturating_sub(start))
    }

    /// Whether the watchdog terminated this isolate's execution.
    pub fn fired(&self) -> bool {
        self.fired.load(Ordering::SeqCst)
    }
}

struct Watchdog {
    guards: Mutex<Vec<Weak<CpuGuard>>>,
}

/// How often armed isolates are checked: the hard limit overshoots by at most about this.
const POLL: Duration = Duration::from_millis(2);

fn watchdog() -> &'static Watchdog {
    static WATCHDOG: OnceLock<&'static Watchdog> = OnceLock::new();
    WATCHDOG.get_or_init(|| {
        let dog: &'static Watchdog = Box::leak(Box::new(Watchdog { guards: Mutex::new(Vec::new()) }));
        std::thread::Builder::new()
            .name("isolate-watchdog".into())
            .spawn(move || loop {
                std::thread::sleep(POLL);
                let mut guards = dog.guards.lock().unwrap_or_else(|e| e.into_inner());
                guards.retain(|weak| {
                    let Some(guard) = weak.upgrade() else { return false };
                    let deadline = guard.deadline_ns.load(Ordering::SeqCst);
                    if deadline != 0 && guard.clock.now_ns() >= deadline && !guard.fired.swap(true, Ordering::SeqCst) {
                        guard.handle.terminate_execution();
                    }
                    true
                });
            })
            .expect("the watchdog thread starts");
        dog
    })
}

/// A tenant admin's limit overrides for one extension; absent fields keep the defaults.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LimitOverrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_soft_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_hard_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub heap_mb: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
}

/// The most any override may grant, set by the operator.
#[derive(Debug, Clone, Copy, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LimitCeilings {
    pub cpu_hard_ms: u64,
    pub heap_mb: u64,
    pub timeout_ms: u64,
}

impl Default for LimitCeilings {
    fn default() -> Self {
        Self { cpu_hard_ms: 1_000, heap_mb: 256, timeout_ms: 60_000 }
    }
}

impl LimitOverrides {
    /// Every way these overrides break the ceilings, as (JSON pointer, message).
    pub fn problems(&self, ceilings: &LimitCeilings) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut check = |name: &str, value: Option<u64>, min: u64, max: u64| {
            if let Some(v) = value {
                if v < min || v > max {
                    out.push((format!("/{name}"), format!("{v} is outside {min}..={max}")));
                }
            }
        };
        check("cpuSoftMs", self.cpu_soft_ms, 1, ceilings.cpu_hard_ms);
        check("cpuHardMs", self.cpu_hard_ms, 1, ceilings.cpu_hard_ms);
        check("heapMb", self.heap_mb, 8, ceilings.heap_mb);
        check("timeoutMs", self.timeout_ms, 1, ceilings.timeout_ms);
        if let (Some(soft), Some(hard)) = (self.cpu_soft_ms, self.cpu_hard_ms) {
            if soft > hard {
                out.push(("/cpuSoftMs".into(), format!("{soft} is above cpuHardMs {hard}")));
            }
        }
        out
    }
}

impl IsolateLimits {
    /// These limits with `overrides` applied, each clamped to `ceilings` (stored overrides
    /// were validated, but ceilings may have been lowered since).
    pub fn with_overrides(&self, overrides: &LimitOverrides, ceilings: &LimitCeilings) -> Self {
        let ms = |v: u64, max: u64| Duration::from_millis(v.min(max));
        let mut limits = *self;
        if let Some(v) = overrides.cpu_hard_ms {
            limits.cpu_hard = ms(v, ceilings.cpu_hard_ms);
        }
        if let Some(v) = overrides.cpu_soft_ms {
            limits.cpu_soft = ms(v, ceilings.cpu_hard_ms);
        }
        if let Some(v) = overrides.heap_mb {
            limits.heap_max_bytes = (v.min(ceilings.heap_mb) as usize).saturating_mul(1024 * 1024);
        }
        if let Some(v) = overrides.timeout_ms {
            limits.wall = ms(v, ceilings.timeout_ms);
        }
        limits
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_apply_within_ceilings_and_report_violations() {
        let ceilings = LimitCeilings { cpu_hard_ms: 500, heap_mb: 128, timeout_ms: 20_000 };
        let ok = LimitOverrides { cpu_hard_ms: Some(400), heap_mb: Some(96), ..Default::default() };
        assert!(ok.problems(&ceilings).is_empty());
        let limits = IsolateLimits::default().with_overrides(&ok, &ceilings);
        assert_eq!((limits.cpu_hard, limits.heap_max_bytes), (Duration::from_millis(400), 96 * 1024 * 1024));
        assert_eq!(limits.wall, IsolateLimits::default().wall, "untouched fields keep defaults");

        let bad = LimitOverrides { cpu_hard_ms: Some(900), cpu_soft_ms: Some(450), heap_mb: Some(4), timeout_ms: Some(0) };
        let pointers: Vec<String> = bad.problems(&ceilings).into_iter().map(|(p, _)| p).collect();
        assert_eq!(pointers, ["/cpuHardMs", "/heapMb", "/timeoutMs"]);
        let clamped = IsolateLimits::default().with_overrides(&bad, &ceilings);
        assert_eq!(clamped.cpu_hard, Duration::from_millis(500));
    }
}
