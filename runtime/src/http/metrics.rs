//! `GET /metrics` and the per-request metrics layer, over the recorder `crate::metrics`
//! installs.

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// `GET /metrics` in the Prometheus text format; 404 when metrics are off. Gauges of the
/// isolate pool are sampled at the moment of the scrape.
pub async fn render(axum::extract::State(state): axum::extract::State<super::AppState>) -> Response {
    match crate::metrics::handle() {
        Some(handle) => {
            metrics::gauge!("alga_isolates_live").set(state.pool.live().await as f64);
            metrics::gauge!("alga_isolate_blanks_ready").set(crate::isolate::blank_counts().0 as f64);
            ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], handle.render()).into_response()
        }
        None => super::ApiError::not_found("metrics are not enabled (--metrics)").into_response(),
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
