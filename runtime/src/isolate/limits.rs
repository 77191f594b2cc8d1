//! Resource limits of isolates, and the watchdog that enforces CPU and wall-clock time.
//!
//! CPU time is the isolate thread's own CPU clock (`pthread_getcpuclockid`), so time spent
//! waiting for the database or the host API does not count. One watchdog thread polls every
//! armed isolate and terminates the one past its CPU budget or its wall-clock deadline;
//! V8's termination is thread-safe. The wall-clock deadline is enforced here too, not only
//! by the caller's timer, because a timer cannot interrupt JavaScript that blocks its thread
//! without using CPU (as `Atomics.wait` did).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

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
    /// Lines and bytes of log output per call and per minute.
    pub log: alga_ops::console::LogLimits,
    /// Largest request body an endpoint call may carry, in bytes; more is refused before
    /// the isolate is called.
    pub body_max_bytes: u64,
}

/// `--endpoint-max-body-bytes` by default: 1 MiB.
pub const DEFAULT_BODY_MAX_BYTES: u64 = 1024 * 1024;

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
            log: alga_ops::console::LogLimits::default(),
            body_max_bytes: DEFAULT_BODY_MAX_BYTES,
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
///
/// Arming and disarming read no CPU clock: on a VM that read is a system call, as dear as
/// a small request. The watchdog takes the baseline when it first sees a budget, counting
/// the wall time since arming as CPU time (a thread cannot use more CPU than wall time),
/// so a budget is never overrun by the late start, only ended early by at most one poll.
pub struct CpuGuard {
    clock: ThreadClock,
    handle: v8::IsolateHandle,
    budget: Mutex<Option<Budget>>,
    fired: AtomicBool,
    wall_fired: AtomicBool,
    /// The isolate thread's kernel id, to lower its scheduling priority.
    tid: libc::pid_t,
    /// CPU time in one budget after which the thread runs at the lowest priority, so other
    /// tenants' short requests are scheduled first (nanoseconds; `u64::MAX`: never).
    demote_after_ns: std::sync::atomic::AtomicU64,
    demoted: AtomicBool,
}

/// The `nice` value of an isolate thread that used more CPU than its soft limit in a call.
pub const DEMOTED_NICE: libc::c_int = 19;

#[derive(Debug, Clone, Copy)]
struct Budget {
    armed_at: Instant,
    limit: Duration,
    /// Before this the budget cannot be spent, whatever the thread does: CPU time grows no
    /// faster than wall time. Spares the watchdog a clock read per poll for isolates that
    /// wait (on the database, or for timers between requests).
    next_check: Instant,
    /// The thread's CPU clock reading that stands for `armed_at`, once the watchdog (or a
    /// long call's end) has taken one.
    cpu_start_ns: Option<u64>,
    /// When the run must end whatever it is doing.
    wall_deadline: Option<Instant>,
}

impl Budget {
    /// The CPU clock reading at arming, or a conservative stand-in taken now.
    fn cpu_start(&mut self, clock: ThreadClock) -> u64 {
        *self.cpu_start_ns.get_or_insert_with(|| {
            let wall = self.armed_at.elapsed().as_nanos().min(u128::from(u64::MAX)) as u64;
            clock.now_ns().saturating_sub(wall)
        })
    }
}

impl CpuGuard {
    /// Registers the calling thread's isolate. Call on the isolate's own thread.
    pub fn register(handle: v8::IsolateHandle) -> Arc<Self> {
        let guard = Arc::new(Self {
            clock: ThreadClock::current(),
            handle,
            budget: Mutex::new(None),
            fired: AtomicBool::new(false),
            wall_fired: AtomicBool::new(false),
            // SAFETY: gettid has no preconditions.
            tid: unsafe { libc::gettid() },
            demote_after_ns: std::sync::atomic::AtomicU64::new(u64::MAX),
            demoted: AtomicBool::new(false),
        });
        watchdog().guards.lock().unwrap_or_else(|e| e.into_inner()).push(Arc::downgrade(&guard));
        guard
    }

    fn budget(&self) -> std::sync::MutexGuard<'_, Option<Budget>> {
        self.budget.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts a budget of `limit` CPU time from now, ended after `wall` of wall-clock time
    /// whatever the CPU use.
    pub fn arm(&self, limit: Duration, wall: Duration) {
        let now = Instant::now();
        let wall_deadline = now.checked_add(wall);
        *self.budget() = Some(Budget { armed_at: now, limit, next_check: now + limit, cpu_start_ns: None, wall_deadline });
    }

    /// Ends the budget and returns the CPU time it used: exact when that is above
    /// `exact_above`, otherwise possibly the wall time instead (an upper bound that is
    /// still at most `exact_above`).
    pub fn disarm(&self, exact_above: Duration) -> Duration {
        let Some(mut budget) = self.budget().take() else { return Duration::ZERO };
        let wall = budget.armed_at.elapsed();
        if wall <= exact_above {
            return wall;
        }
        let start = budget.cpu_start(self.clock);
        Duration::from_nanos(self.clock.now_ns().saturating_sub(start))
    }

    /// Lowers the thread's priority once a budget has used `after` of CPU (see
    /// `DEMOTED_NICE`); the isolate is retired after such a call, and its thread is not
    /// reused at that priority.
    pub fn demote_after(&self, after: Duration) {
        self.demote_after_ns.store(after.as_nanos().min(u128::from(u64::MAX)) as u64, Ordering::Relaxed);
    }

    /// Whether the watchdog terminated this isolate's execution for its CPU budget.
    pub fn fired(&self) -> bool {
        self.fired.load(Ordering::SeqCst)
    }

    /// Whether the watchdog terminated this isolate's execution at its wall-clock deadline.
    pub fn wall_fired(&self) -> bool {
        self.wall_fired.load(Ordering::SeqCst)
    }

    fn terminate(&self, flag: &AtomicBool) {
        if !flag.swap(true, Ordering::SeqCst) {
            self.handle.terminate_execution();
        }
    }

    /// The watchdog's look at this guard: terminates the isolate once its budget is spent.
    fn check(&self) {
        let mut budget = self.budget();
        let Some(budget) = budget.as_mut() else { return };
        let now = Instant::now();
        if budget.wall_deadline.is_some_and(|deadline| now >= deadline) {
            self.terminate(&self.wall_fired);
            return;
        }
        // The first look takes the baseline; later ones wait until the budget could be spent.
        if budget.cpu_start_ns.is_some() && now < budget.next_check {
            return;
        }
        let start = budget.cpu_start(self.clock);
        let used = Duration::from_nanos(self.clock.now_ns().saturating_sub(start));
        if used >= budget.limit {
            self.terminate(&self.fired);
            return;
        }
        let demote_at = Duration::from_nanos(self.demote_after_ns.load(Ordering::Relaxed));
        let mut next = budget.limit - used;
        if !self.demoted.load(Ordering::Relaxed) {
            if used >= demote_at {
                self.demoted.store(true, Ordering::Relaxed);
                // SAFETY: setpriority on a thread id of this process; lowering needs no
                // privilege, and a failure leaves the priority as it was.
                unsafe { libc::setpriority(libc::PRIO_PROCESS, self.tid as libc::id_t, DEMOTED_NICE) };
            } else {
                next = next.min(demote_at - used);
            }
        }
        budget.next_check = now + next;
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
                    guard.check();
                    true
                });
            })
            .expect("the watchdog thread starts");
        dog
    })
}

/// A tenant admin's limit overrides for one extension; absent fields keep the defaults.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
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
    /// Largest request body of an endpoint call, in bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_body_bytes: Option<u64>,
}

/// The most any override may grant, set by the operator.
#[derive(Debug, Clone, Copy, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LimitCeilings {
    pub cpu_hard_ms: u64,
    pub heap_mb: u64,
    pub timeout_ms: u64,
    pub max_body_bytes: u64,
}

impl Default for LimitCeilings {
    fn default() -> Self {
        Self { cpu_hard_ms: 1_000, heap_mb: 256, timeout_ms: 60_000, max_body_bytes: 16 * 1024 * 1024 }
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
        check("maxBodyBytes", self.max_body_bytes, 0, ceilings.max_body_bytes);
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
        if let Some(v) = overrides.max_body_bytes {
            limits.body_max_bytes = v.min(ceilings.max_body_bytes);
        }
        limits
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_apply_within_ceilings_and_report_violations() {
        let ceilings = LimitCeilings { cpu_hard_ms: 500, heap_mb: 128, timeout_ms: 20_000, max_body_bytes: 4096 };
        let ok = LimitOverrides { cpu_hard_ms: Some(400), heap_mb: Some(96), max_body_bytes: Some(2048), ..Default::default() };
        assert!(ok.problems(&ceilings).is_empty());
        let limits = IsolateLimits::default().with_overrides(&ok, &ceilings);
        assert_eq!((limits.cpu_hard, limits.heap_max_bytes), (Duration::from_millis(400), 96 * 1024 * 1024));
        assert_eq!(limits.body_max_bytes, 2048);
        assert_eq!(limits.wall, IsolateLimits::default().wall, "untouched fields keep defaults");

        let bad =
            LimitOverrides { cpu_hard_ms: Some(900), cpu_soft_ms: Some(450), heap_mb: Some(4), timeout_ms: Some(0), max_body_bytes: Some(5000) };
        let pointers: Vec<String> = bad.problems(&ceilings).into_iter().map(|(p, _)| p).collect();
        assert_eq!(pointers, ["/cpuHardMs", "/heapMb", "/timeoutMs", "/maxBodyBytes"]);
        let clamped = IsolateLimits::default().with_overrides(&bad, &ceilings);
        assert_eq!((clamped.cpu_hard, clamped.body_max_bytes), (Duration::from_millis(500), 4096));
    }
}
