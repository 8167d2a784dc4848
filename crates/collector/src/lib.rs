//! The collector: `claude-telemetry serve`.
//!
//! A pipeline in the shape of the OpenTelemetry Collector's: receivers (`/v1/hooks`,
//! OTLP `/v1/metrics` and `/v1/logs`, the Pushgateway API) parse and validate what arrives; the store ([`store`]) makes it durable and drops
//! duplicates; the aggregator ([`aggregate`]) turns what is new into metrics; exposition
//! ([`exposition`]) renders them for Prometheus. One HTTP port serves it all.
//!
//! The built-in page and its JSON ([`web`]) read the store for people.
//!
//! It never dies on a request: every body is bounded, parsed defensively and answered
//! with a clear 4xx when it is wrong; an event is acknowledged (2xx) only once durable.

pub mod aggregate;
mod config;
pub mod exposition;
pub mod otlp;
mod progress;
pub mod query;
mod receivers;
mod server;
pub mod store;
mod web;

pub use config::{CollectorConfig, ConfigError, Privacy};
pub use server::{ServeError, Server};
