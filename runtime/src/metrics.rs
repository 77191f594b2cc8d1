//! The process-wide Prometheus recorder: request, isolate, storage and host API counters
//! and latency histograms, labelled by route, operation and outcome — never by tenant, so
//! the series count stays bounded however many tenants there are. `http/metrics.rs` serves
//! them at `GET /metrics`.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process-wide recorder (once; later calls return the same handle).
pub fn install() -> Option<&'static PrometheusHandle> {
    if let Some(handle) = HANDLE.get() {
        return Some(handle);
    }
    match PrometheusBuilder::new().install_recorder() {
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
