//! What every HTTP handler shares: the configuration, the pipeline's parts (the store
//! as consumer, the aggregator, the pushed groups) and the collector's own telemetry.
//!
//! Built once by the server at start; handlers get it through axum's `State`. Depends on
//! the pipeline's parts, never on the handlers.

use std::ops::Deref;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use guard::GuardConfig;
use tokio::sync::watch;

use crate::aggregate::SharedAggregator;
use crate::aggregate::pushed::PushedGroups;
use crate::attempts::Attempts;
use crate::auth::PageKey;
use crate::budget::BodyBudget;
use crate::config::CollectorConfig;
use crate::consumer::Onward;
use crate::processors::privacy::PrivacyFilter;
use crate::store::{GroupTable, Store};
use crate::sync::lock;
use crate::telemetry::Telemetry;

/// The shared state, cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

/// What the state holds.
pub struct Shared {
    /// The collector's settings.
    pub config: CollectorConfig,
    /// The guard's settings, for raw events judged here.
    pub guard: GuardConfig,
    /// What the store keeps of payloads.
    pub privacy: PrivacyFilter,
    /// Where the store lives.
    pub data_dir: PathBuf,
    /// The consumer of every receiver's events.
    pub store: Store,
    /// Counters from stored events.
    pub aggregator: SharedAggregator,
    /// The collector's metrics about itself.
    pub telemetry: Telemetry,
    /// The Pushgateway API's groups and where they are kept.
    pub pushed: Mutex<Pushed>,
    /// What the page's sign-in cookie holds, when there is a token to sign in with.
    pub page_key: Option<PageKey>,
    /// Where new spans (and log events) are sent on, when forwarding is configured.
    pub forwarder: Option<Arc<dyn Onward>>,
    /// Failed sign-ins, which slow down the next ones.
    pub attempts: Attempts,
    /// The bytes of request bodies held at once.
    pub budget: BodyBudget,
    /// Turns `true` when the collector begins to stop: responses that never end on their
    /// own (the live stream) end then, so the shutdown is not kept waiting for them.
    pub stopping: watch::Sender<bool>,
}

/// Pushed groups, in memory and in the store, changed together under one lock.
pub struct Pushed {
    /// The groups.
    pub groups: PushedGroups,
    /// Where they are kept.
    pub table: GroupTable,
}

impl AppState {
    /// Shares `shared`.
    pub fn new(shared: Shared) -> AppState {
        AppState(Arc::new(shared))
    }

    /// The pushed groups, locked.
    pub fn pushed(&self) -> MutexGuard<'_, Pushed> {
        lock(&self.0.pushed)
    }
}

impl Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}
