//! Receivers: what arrives over HTTP — hook events ([`hooks`]), Claude Code's OTLP
//! metrics and logs ([`otlp`]), the Pushgateway's push API ([`pushgateway`]) — parsed,
//! validated, handed to the processors and then to the store as consumer.
//!
//! Each receiver is one module with the same shape: a `router`, its handlers, its tests.
//! A new receiver is a new module here and one line in [`router`].

mod body;
pub mod hooks;
pub mod otlp;
pub mod pushgateway;

use axum::Router;

use crate::state::AppState;

/// Every receiver's routes.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(hooks::router(state.clone()))
        .merge(otlp::router(state.clone()))
        .merge(pushgateway::router(state))
}
