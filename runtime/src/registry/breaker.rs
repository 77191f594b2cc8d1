//! The circuit breaker: an extension that keeps hitting its limits in one tenant is
//! suspended there, so one runaway extension cannot keep burning the shared machine.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use alga_store::TenantId;
use uuid::Uuid;

/// When to trip: `threshold` failures within `window`.
#[derive(Debug, Clone, Copy)]
pub struct BreakerConfig {
    pub threshold: usize,
    pub window: Duration,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        Self { threshold: 5, window: Duration::from_secs(60) }
    }
}

/// Recent failures per (tenant, extension).
pub struct CircuitBreaker {
    config: BreakerConfig,
    failures: Mutex<HashMap<(TenantId, Uuid), VecDeque<Instant>>>,
}

impl CircuitBreaker {
    pub fn new(config: BreakerConfig) -> Self {
        Self { config, failures: Mutex::new(HashMap::new()) }
    }

    /// Records a failure; true when it trips the breaker (the count starts over then).
    pub fn record(&self, tenant: &TenantId, id: Uuid) -> bool {
        let now = Instant::now();
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let recent = failures.entry((tenant.clone(), id)).or_default();
        while recent.front().is_some_and(|t| now.duration_since(*t) > self.config.window) {
            recent.pop_front();
        }
        recent.push_back(now);
        if recent.len() >= self.config.threshold {
            failures.remove(&(tenant.clone(), id));
            return true;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trips_after_threshold_failures_within_the_window_only() {
        let breaker = CircuitBreaker::new(BreakerConfig { threshold: 3, window: Duration::from_millis(200) });
        let t = TenantId::parse("acme").unwrap();
        let id = Uuid::new_v4();
        assert!(!breaker.record(&t, id));
        assert!(!breaker.record(&t, id));
        assert!(!breaker.record(&TenantId::parse("globex").unwrap(), id), "counted per tenant");
        assert!(breaker.record(&t, id));
        assert!(!breaker.record(&t, id), "starts over after tripping");
        std::thread::sleep(Duration::from_millis(250));
        assert!(!breaker.record(&t, id));
        assert!(!breaker.record(&t, id), "old failures fell out of the window");
    }
}
