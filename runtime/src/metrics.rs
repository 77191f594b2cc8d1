//! The process-wide Prometheus recorder: request, isolate, storage and host API counters
//! and latency histograms, labelled by route, operation and outcome — never by tenant, so
//! the series count stays bounded however many tenants there are. `http/metrics.rs` serves
//! them at `GET /metrics`.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Upper bounds, in seconds, of the buckets of every `*_seconds` histogram.
pub const LATENCY_BUCKETS: &[f64] = &[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

/// Installs the process-wide recorder (once; later calls return the same handle).
pub fn install() -> Option<&'static PrometheusHandle> {
    if let Some(handle) = HANDLE.get() {
        return Some(handle);
    }
    // Latencies are histograms, not summaries: buckets add up across nodes (and instances
    // of a route), quantiles do not. From 0.5 ms (a warm call) to 30 s (the longest limits).
    let builder = PrometheusBuilder::new().set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS);
    let builder = match builder {
        Ok(builder) => builder,
        Err(e) => {
            tracing::warn!(error = %e, "metrics recorder not installed");
            return HANDLE.get();
        }
    };
    match builder.install_recorder() {
        Ok(handle) => Some(HANDLE.get_or_init(|| handle)),
        Err(e) => {
            tracing::warn!(error = %e, "metrics recorder not installed");
            HANDLE.get()
        }
    }
}

/// The installed recorder's handle, if metrics are on.
pub fn handle() -> Option<&'static PrometheusHandle> {
    HANDLE.get()
}
