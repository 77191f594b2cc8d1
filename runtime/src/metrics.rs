//! Prometheus metrics at `GET /metrics`: request, isolate, storage and host API counters
//! and latency histograms, labelled by route, operation and outcome — never by tenant, so
//! the series count stays bounded however many tenants there are.

use std::sync::OnceLock;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
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

/// `GET /metrics` in the Prometheus text format; 404 when metrics are off. Gauges of the
/// isolate pool are sampled at the moment of the scrape.
pub async fn render(axum::extract::State(state): axum::extract::State<crate::http::AppState>) -> Response {
    match HANDLE.get() {
        Some(handle) => {
            metrics::gauge!("alga_isolates_live").set(state.pool.live().await as f64);
            metrics::gauge!("alga_isolate_blanks_ready").set(crate::isolate::blank_counts().0 as f64);
            ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], handle.render()).into_response()
        }
        None => super::http::ApiError::not_found("metrics are not enabled (--metrics)").into_response(),
    }
}

/// Counts and times every request by route template and status.
pub async fn track(req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned()).unwrap_or_else(|| "<unmatched>".into());
    let method = req.method().as_str().to_owned();
    let started = std::time::Instant::now();
    let response = next.run(req).await;
    let status = response.status().as_u16().to_string();
    metrics::histogram!("alga_http_request_duration_seconds", "method" => method, "route" => route, "status" => status)
        .record(started.elapsed().as_secs_f64());
    response
}
