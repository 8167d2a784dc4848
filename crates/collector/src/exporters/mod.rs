//! Exporters: what the collector shows — `/metrics` for Prometheus ([`prometheus`]) and
//! the built-in page with its JSON ([`page`]) — and what it sends on: spans and log
//! events to a tracing backend over OTLP ([`forward`]).
//!
//! They read the aggregator, the pushed groups and the store; they never change them.

pub mod forward;
pub mod page;
pub mod prometheus;

use axum::Router;

use crate::state::AppState;

/// Every exporter's routes.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(prometheus::router(state.clone()))
        .merge(page::router(state))
}
