//! The per-tenant token bucket of host-facing routes: a GCRA limiter (governor) keyed by the
//! verified tenant, whose memory stays bounded however many tenants call.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use alga_store::TenantId;
use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota};

/// How often idle tenants' buckets are forgotten. A bucket is idle once it has refilled
/// completely (`burst / per_second` seconds without a request), when it is indistinguishable
/// from a fresh one; so the limiter holds the tenants active in the last few seconds only.
const SWEEP_EVERY: Duration = Duration::from_secs(10);

/// A tenant's requests went past its rate; it may try again after `retry_after`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimited {
    pub retry_after: Duration,
    pub per_second: u32,
    pub burst: u32,
}

impl RateLimited {
    /// `retry_after` in whole seconds for a `Retry-After` header: rounded up, at least 1.
    pub fn retry_after_secs(&self) -> u64 {
        let secs = self.retry_after.as_secs() + u64::from(self.retry_after.subsec_nanos() > 0);
        secs.max(1)
    }
}

/// One bucket per tenant: `burst` requests at once, refilled at `per_second`.
pub struct TenantRateLimit {
    limiter: DefaultKeyedRateLimiter<TenantId>,
    per_second: u32,
    burst: u32,
    started: Instant,
    /// Milliseconds since `started` of the last sweep of idle buckets.
    last_sweep_ms: AtomicU64,
}

impl TenantRateLimit {
    /// A limit of `per_second` requests per second with bursts of `burst` (0: the same as
    /// `per_second`); `None` when `per_second` is 0, which turns rate limiting off.
    pub fn new(per_second: u32, burst: u32) -> Option<Self> {
        let rate = NonZeroU32::new(per_second)?;
        let burst = NonZeroU32::new(burst).unwrap_or(rate);
        Some(Self {
            limiter: DefaultKeyedRateLimiter::keyed(Quota::per_second(rate).allow_burst(burst)),
            per_second: rate.get(),
            burst: burst.get(),
            started: Instant::now(),
            last_sweep_ms: AtomicU64::new(0),
        })
    }

    /// Takes one request from `tenant`'s bucket, or says when the next one fits.
    pub fn check(&self, tenant: &TenantId) -> Result<(), RateLimited> {
        self.sweep_if_due();
        self.limiter.check_key(tenant).map_err(|not_until| RateLimited {
            retry_after: not_until.wait_time_from(self.limiter.clock().now()),
            per_second: self.per_second,
            burst: self.burst,
        })
    }

    /// Tenants whose buckets are held now.
    pub fn tracked_tenants(&self) -> usize {
        self.limiter.len()
    }

    /// Forgets every bucket that has refilled completely.
    pub fn forget_idle(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }

    /// Sweeps from the request path, at most once per [`SWEEP_EVERY`] and by one caller only
    /// (the compare-exchange picks it): no background task to start or stop, and the cost
    /// (a pass over the buckets of recently active tenants) is paid rarely.
    fn sweep_if_due(&self) {
        let now = self.started.elapsed().as_millis() as u64;
        let last = self.last_sweep_ms.load(Ordering::Relaxed);
        if now.saturating_sub(last) >= SWEEP_EVERY.as_millis() as u64
            && self.last_sweep_ms.compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed).is_ok()
        {
            self.forget_idle();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant(raw: &str) -> TenantId {
        TenantId::parse(raw).unwrap()
    }

    #[test]
    fn a_tenant_gets_its_burst_then_waits_while_others_are_unaffected() {
        // One request per second refills too slowly to matter within the test: the burst is what there is.
        let limit = TenantRateLimit::new(1, 3).unwrap();
        let acme = tenant("acme");
        for _ in 0..3 {
            assert_eq!(limit.check(&acme), Ok(()));
        }
        let refused = limit.check(&acme).unwrap_err();
        assert_eq!((refused.per_second, refused.burst), (1, 3));
        assert!(refused.retry_after <= Duration::from_secs(1), "{refused:?}");
        assert_eq!(refused.retry_after_secs(), 1, "rounded up to whole seconds, at least 1");
        assert_eq!(limit.check(&tenant("globex")), Ok(()), "buckets are per tenant");
    }

    #[test]
    fn retry_after_is_whole_seconds_rounded_up_and_at_least_one() {
        let at = |ms: u64| RateLimited { retry_after: Duration::from_millis(ms), per_second: 1, burst: 1 }.retry_after_secs();
        assert_eq!([at(0), at(1), at(999), at(1000), at(1001), at(2500)], [1, 1, 1, 1, 2, 3]);
    }

    #[test]
    fn zero_turns_the_limit_off_and_a_zero_burst_means_the_rate() {
        assert!(TenantRateLimit::new(0, 10).is_none());
        let limit = TenantRateLimit::new(2, 0).unwrap();
        assert_eq!(limit.burst, 2);
    }

    #[test]
    fn idle_buckets_are_forgotten() {
        // A thousand requests per second refill a bucket of one within a millisecond.
        let limit = TenantRateLimit::new(1000, 1).unwrap();
        for i in 0..500 {
            limit.check(&tenant(&format!("t{i}"))).unwrap();
        }
        assert_eq!(limit.tracked_tenants(), 500);
        std::thread::sleep(Duration::from_millis(20));
        limit.forget_idle();
        assert_eq!(limit.tracked_tenants(), 0);
    }
}
