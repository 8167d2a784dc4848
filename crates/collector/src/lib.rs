//! The collector: `claude-telemetry serve`.
//!
//! A pipeline in the shape of the OpenTelemetry Collector's, one folder a stage:
//! [`receivers`](crate::receivers) (`/v1/hooks`, OTLP `/v1/metrics` and `/v1/logs`, the
//! Pushgateway API) parse and validate what arrives; [`processors`] judge and enrich raw
//! hook events, translate OTLP, apply the privacy mode and make stored [`event`]s; the
//! [`store`], the one [`consumer`] every receiver hands events to, makes them durable and
//! drops duplicates, then feeds the [`aggregate`] stage, which turns what is new into
//! metrics; the exporters render them for Prometheus (`/metrics`) and show the store to
//! people (the built-in page). The server ([`Server`]) binds the port and the middleware.
//! See `docs/architecture.md`.
//!
//! It never dies on a request: every body is bounded, parsed defensively and answered
//! with a clear 4xx when it is wrong; an event is acknowledged (2xx) only once durable.

pub mod aggregate;
mod attempts;
mod auth;
mod browser;
mod budget;
mod config;
mod connections;
pub mod consumer;
mod error;
pub mod event;
mod exporters;
pub mod exposition;
mod ids;
pub mod live;
pub mod processors;
mod progress;
pub mod query;
mod receivers;
mod server;
mod state;
pub mod store;
mod sync;
mod telemetry;
pub mod time;

#[cfg(test)]
mod testing;

pub use config::{CollectorConfig, ConfigError};
pub use server::{ServeError, Server};
