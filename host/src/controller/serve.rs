//! The controller's HTTP endpoints: `/metrics` (Prometheus text), `/healthz` (the process
//! answers) and `/readyz` (ready once the registry is loaded and, when this replica leads,
//! its caches have synced; a standby is ready to take over).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context as _, Result};
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;

use crate::metrics::Metrics;

/// What the endpoints report.
#[derive(Default)]
pub struct Health {
    /// The module registry is loaded.
    pub registry_loaded: AtomicBool,
    /// This replica holds the lease.
    pub leading: AtomicBool,
    /// The leader's Rollout cache has synced.
    pub synced: AtomicBool,
}

impl Health {
    /// Ready to serve, or to take over.
    pub fn ready(&self) -> bool {
        self.registry_loaded.load(Ordering::SeqCst)
            && (!self.leading.load(Ordering::SeqCst) || self.synced.load(Ordering::SeqCst))
    }
}

type Shared = (Arc<Metrics>, Arc<Health>);

async fn metrics(
    State((metrics, _)): State<Shared>,
) -> ([(&'static str, &'static str); 1], String) {
    (
        [(
            "content-type",
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        metrics.encode(),
    )
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State((_, health)): State<Shared>) -> (StatusCode, &'static str) {
    if health.ready() {
        (StatusCode::OK, "ready\n")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready\n")
    }
}

/// Binds `addr` and serves `routes` on it in a task.
async fn spawn(addr: SocketAddr, routes: Router, what: &str) -> Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding the {what} address {addr}"))?;
    let bound = listener.local_addr().context("reading the bound address")?;
    let what = what.to_string();
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, routes).await {
            tracing::error!(endpoint = %what, error = %e, "the HTTP endpoint stopped");
        }
    });
    Ok(bound)
}

/// Serves `/metrics` on `metrics_addr` and `/healthz`, `/readyz` on `health_addr` (one server
/// when they are the same). Returns the addresses bound.
pub async fn serve(
    metrics_addr: SocketAddr,
    health_addr: SocketAddr,
    state: Shared,
) -> Result<(SocketAddr, SocketAddr)> {
    let health_routes = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz));
    let metrics_routes = Router::new().route("/metrics", get(metrics));
    if metrics_addr == health_addr {
        let both = metrics_routes.merge(health_routes).with_state(state);
        let bound = spawn(metrics_addr, both, "metrics and health").await?;
        return Ok((bound, bound));
    }
    let m = spawn(
        metrics_addr,
        metrics_routes.with_state(state.clone()),
        "metrics",
    )
    .await?;
    let h = spawn(health_addr, health_routes.with_state(state), "health").await?;
    Ok((m, h))
}
