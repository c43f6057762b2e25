//! Metrics and health: the request metrics middleware, and the telemetry listener's routes
//! (`/metrics` in Prometheus format, `/healthz/live`, `/healthz/ready`).

use crate::app::AppState;
use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::collections::HashMap;
use std::sync::{OnceLock, PoisonError, RwLock};
use std::time::Instant;

/// The process-wide Prometheus recorder, installed with the telemetry listener.
static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// The process-wide Prometheus recorder (metrics' recorder is global; install it once).
pub fn prometheus() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    metrics_exporter_prometheus::Matcher::Full(
                        "tessera_http_request_duration_seconds".into(),
                    ),
                    &[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5],
                )
                .ok()?
                .build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).ok()?;
            Some(handle)
        })
        .as_ref()
}

/// The metric handles of one (route, method, status): looked up in the recorder once, then
/// kept, because building the labelled keys for every request costs more than the request.
type Handles = (metrics::Counter, metrics::Histogram);
type HandleKey = (String, axum::http::Method, u16);

fn handles(route: &str, method: &axum::http::Method, status: u16) -> Handles {
    static KNOWN: OnceLock<RwLock<HashMap<HandleKey, Handles>>> = OnceLock::new();
    let known = KNOWN.get_or_init(Default::default);
    let key = (route.to_string(), method.clone(), status);
    if let Some(found) = known.read().unwrap_or_else(PoisonError::into_inner).get(&key) {
        return found.clone();
    }
    let counter = metrics::counter!(
        "tessera_http_requests_total",
        "route" => route.to_string(),
        "method" => method.to_string(),
        "status" => status.to_string()
    );
    let histogram =
        metrics::histogram!("tessera_http_request_duration_seconds", "route" => route.to_string());
    let mut known = known.write().unwrap_or_else(PoisonError::into_inner);
    // Routes and methods are few, statuses too; the bound only guards against surprises.
    if known.len() < 4096 {
        known.insert(key, (counter.clone(), histogram.clone()));
    }
    (counter, histogram)
}

/// Counts requests by route and status and records their latency.
pub async fn track(request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().cloned();
    let method = request.method().clone();
    let start = Instant::now();
    let response = next.run(request).await;
    if !HANDLE.get().is_some_and(Option::is_some) {
        // No telemetry listener: nobody reads the metrics, so none are kept.
        return response;
    }
    let route = route.as_ref().map(MatchedPath::as_str).unwrap_or("unmatched");
    let (counter, histogram) = handles(route, &method, response.status().as_u16());
    counter.increment(1);
    histogram.record(start.elapsed().as_secs_f64());
    response
}

pub fn router(app: AppState) -> Router {
    Router::new()
        .route("/metrics", get(metrics_get))
        .route("/healthz/live", get(|| async { "ok" }))
        .route("/healthz/ready", get(ready_get))
        .route("/healthz", get(ready_get))
        .with_state(app)
}

async fn metrics_get() -> Response {
    match prometheus() {
        Some(handle) => handle.render().into_response(),
        None => (StatusCode::SERVICE_UNAVAILABLE, "metrics recorder unavailable").into_response(),
    }
}

/// Ready when storage answers: 200, else 503. The JSON body also names the connectors that
/// failed to open at start (`"status": "degraded"`). Those do not make the server unready:
/// every replica has the same config, so a 503 would take the whole service out of rotation
/// for one broken connector while the others work; alert on the body (or the start-up log).
pub async fn ready_get(State(app): State<AppState>) -> Response {
    let live = app.live_connectors();
    let connectors = &live.failures;
    match app.storage.ping().await {
        Ok(()) => {
            let status = if connectors.is_empty() { "ok" } else { "degraded" };
            axum::Json(serde_json::json!({ "status": status, "failedConnectors": connectors }))
                .into_response()
        }
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            let body = serde_json::json!({
                "status": "unavailable",
                "storage": "unreachable",
                "failedConnectors": connectors,
            });
            (StatusCode::SERVICE_UNAVAILABLE, axum::Json(body)).into_response()
        }
    }
}
