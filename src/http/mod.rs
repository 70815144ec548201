//! The REST sidecar: health, Prometheus metrics and files (`/v1/files`).

mod files;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::PrometheusHandle;
use serde_json::json;

use crate::storage::Storage;

#[derive(Clone)]
pub struct HttpState {
    pub storage: Storage,
    pub metrics: PrometheusHandle,
}

pub fn router(state: HttpState) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/metrics", get(metrics_text))
        .route("/v1/files", get(files::list).post(files::upload))
        .route("/v1/files/{id}", get(files::describe).delete(files::delete))
        .route("/v1/files/{id}/content", get(files::content))
        // uploads stream to disk with their own size limit (storage's file limits)
        .layer(DefaultBodyLimit::disable())
        .with_state(Arc::new(state))
}

/// An error as the sidecar answers it: the status of its kind and a JSON body.
pub(crate) fn error_response(e: &crate::error::Error) -> Response {
    let status = StatusCode::from_u16(e.kind().http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = json!({"error": e.message(), "code": e.kind().label(), "sqlstate": e.sqlstate()});
    (status, axum::Json(body)).into_response()
}

/// Writes and removes a probe file: the data directory is usable only if this works.
fn data_dir_writable(storage: &Storage) -> bool {
    let probe = storage.data_dir().join("tmp").join(format!(".health-{}", rand::random::<u64>()));
    let ok = std::fs::write(&probe, b"ok").is_ok();
    let _ = std::fs::remove_file(&probe);
    ok
}

async fn health(State(state): State<Arc<HttpState>>) -> Response {
    let storage = state.storage.clone();
    let writable = tokio::task::spawn_blocking(move || data_dir_writable(&storage)).await.unwrap_or(false);
    let body = json!({
        "status": if writable { "ok" } else { "unavailable" },
        "version": env!("CARGO_PKG_VERSION"),
        "duckdb_version": state.storage.engine().duckdb_version(),
        "data_dir_writable": writable,
    });
    let status = if writable { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, axum::Json(body)).into_response()
}

/// Resident memory of this process, from /proc.
fn resident_memory_bytes() -> Option<f64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: f64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096.0)
}

async fn metrics_text(State(state): State<Arc<HttpState>>) -> Response {
    if let Some(rss) = resident_memory_bytes() {
        metrics::gauge!("duckstore_process_resident_memory_bytes").set(rss);
    }
    // duckstore_duckdb_memory_bytes is measured by the janitor: a scrape never waits for the
    // engine (its instances may all be busy), and the catalog counts below need no job slot.
    if let Ok((projects, buckets, tables)) = state.storage.object_counts().await {
        metrics::gauge!("duckstore_projects").set(projects as f64);
        metrics::gauge!("duckstore_buckets").set(buckets as f64);
        metrics::gauge!("duckstore_tables").set(tables as f64);
    }
    if let Ok((count, bytes)) = state.storage.snapshot_totals().await {
        metrics::gauge!("duckstore_snapshots").set(count as f64);
        metrics::gauge!("duckstore_snapshot_bytes").set(bytes as f64);
    }
    let pool = state.storage.engine().pool();
    metrics::gauge!("duckstore_blocking_pool_running").set(pool.running() as f64);
    metrics::gauge!("duckstore_blocking_pool_size").set(pool.size() as f64);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], state.metrics.render()).into_response()
}
