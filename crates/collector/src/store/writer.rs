//! The writer: one thread that commits everything queued in one transaction (group
//! commit) and hands the batch on, in commit order, to be counted by the aggregator and
//! acknowledged; and the [`Store`] handle receivers hand events to, as their consumer.
//!
//! The writer's thread is the one step every request waits for, so it does only what
//! needs its order: the session join, the inserts, the rollups, the commit. What each
//! event's join reads of it is read by the request that sends it.

use std::path::Path;
use std::sync::{Arc, LazyLock, mpsc};
use std::thread;

use rusqlite::{Connection, ToSql, params_from_iter};
use tokio::sync::oneshot;

use super::db::{self, StoreError, database_path};
use super::lock::{self, DataDirLock};
use super::rollup::{self, Joiner};
use crate::aggregate::Joined;
use crate::aggregate::SharedAggregator;
use crate::aggregate::join::Measures;
use crate::consumer::{ConsumeError, Consumer};
use crate::event::Event;
use crate::live::{LIVE_BACKLOG, LiveEvent};

/// Most events committed in one transaction.
const MAX_BATCH: usize = 4096;

/// What the writer answers a job: per event whether it was new (or why nothing was
/// stored), and the events themselves.
type Answer = (Result<Vec<bool>, String>, Vec<Event>);

struct Job {
    events: Vec<Event>,
    /// What the session join reads of each event, read by the request that sent it: the
    /// writer, which every request waits for, only joins and stores.
    measures: Vec<Measures>,
    /// Per event whether it was new, and the events themselves: they are dropped by
    /// the request that sent them, not on the writer's thread, which every request waits
    /// for.
    reply: oneshot::Sender<Answer>,
}

/// WAL pages after which a commit also checkpoints (SQLite's default is 1,000). Each
/// batch rewrites the same few pages (the database header, the sessions, the indexes'
/// last leaves); a longer WAL copies each of them back once for more batches.
const CHECKPOINT_PAGES: i64 = 4096;

/// A request of a committed batch: its reply, its events, and what the session join
/// said of each (`None`: a duplicate, not stored again).
struct Stored {
    reply: oneshot::Sender<Answer>,
    events: Vec<Event>,
    joined: Vec<Option<Joined>>,
}

/// A batch as the writer hands it on once its transaction ended.
enum Outcome {
    /// Committed.
    Stored(Vec<Stored>),
    /// Not committed (why): nothing of it was stored.
    Failed(String, Vec<(oneshot::Sender<Answer>, Vec<Event>)>),
}

/// What follows a commit, in commit order: the aggregator counts each new event, then
/// each request hears its answer (so a request's events are counted once it is
/// answered).
///
/// Done by one task inside the runtime, not by the writer's thread, which every
/// request waits for: the counting, and the waking of each request's task (a system call
/// apiece from outside the runtime, whose workers sleep while their requests wait for
/// the commit), then overlap the next commit. One task keeps the commit order.
enum Acknowledger {
    /// One task of the runtime the store was opened in.
    Task(tokio::sync::mpsc::UnboundedSender<Outcome>),
    /// No runtime (a store opened by a plain thread, as tools and tests do): the writer
    /// does it itself.
    Direct(SharedAggregator),
}

impl Acknowledger {
    fn new(aggregator: SharedAggregator) -> Acknowledger {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return Acknowledger::Direct(aggregator);
        };
        let (sender, mut outcomes) = tokio::sync::mpsc::unbounded_channel::<Outcome>();
        runtime.spawn(async move {
            while let Some(outcome) = outcomes.recv().await {
                count_and_answer(&aggregator, outcome);
            }
        });
        Acknowledger::Task(sender)
    }

    /// Hands a batch on; the writer's thread does the work itself when the task is gone
    /// (its runtime stopped), so no request waits forever.
    fn send(&self, outcome: Outcome, aggregator: &SharedAggregator) {
        match self {
            Acknowledger::Task(task) => {
                if let Err(unsent) = task.send(outcome) {
                    count_and_answer(aggregator, unsent.0);
                }
            }
            Acknowledger::Direct(aggregator) => count_and_answer(aggregator, outcome),
        }
    }
}

fn count_and_answer(aggregator: &SharedAggregator, outcome: Outcome) {
    match outcome {
        Outcome::Stored(requests) => {
            {
                let mut aggregator = aggregator.lock();
                aggregator.clock(crate::time::now_ms());
                for request in &requests {
                    for (event, joined) in request.events.iter().zip(&request.joined) {
                        if let Some(joined) = joined {
                            aggregator.apply(event.ts_ms, &event.payload, joined);
                        }
                    }
                }
            }
            for request in requests {
                let flags = request.joined.iter().map(Option::is_some).collect();
                let _ = request.reply.send((Ok(flags), request.events));
            }
        }
        Outcome::Failed(message, requests) => {
            for (reply, events) in requests {
                let _ = reply.send((Err(message.clone()), events));
            }
        }
    }
}

/// A handle for appending events; cheap to clone.
#[derive(Clone)]
pub struct Store {
    jobs: mpsc::Sender<Job>,
    /// Each new event's summary, once durable, to the live stream's listeners.
    live: tokio::sync::broadcast::Sender<Arc<LiveEvent>>,
}

impl Store {
    /// The live stream: a summary of each new event once it is durable, from now on.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Arc<LiveEvent>> {
        self.live.subscribe()
    }
}

/// The writer thread, to wait for on shutdown.
pub struct Writer {
    thread: thread::JoinHandle<()>,
    /// The data directory is this writer's until it has stopped.
    _lock: DataDirLock,
}

impl Writer {
    /// Waits until every queued event is committed and the writer has stopped. The
    /// writer stops once every [`Store`] handle is dropped.
    pub fn join(self) {
        let _ = self.thread.join();
    }
}

/// Opens (creating if needed) the store in `data_dir`, brings its rollups up to date,
/// and starts its writer; `aggregator` counts every event it stores for the first time,
/// before the request that sent it is answered.
pub fn open(data_dir: &Path, aggregator: SharedAggregator) -> Result<(Store, Writer), StoreError> {
    let lock = lock::take(data_dir)?;
    let writer_path = database_path(data_dir);
    let mut conn = db::create(data_dir)?;
    rollup::catch_up(&mut conn, |id, message| StoreError::Corrupt {
        path: writer_path.clone(),
        what: if id > 0 {
            format!("event {id}")
        } else {
            "the usage rollups".to_owned()
        },
        message,
    })?;
    conn.pragma_update(None, "wal_autocheckpoint", CHECKPOINT_PAGES)
        .map_err(db::sqlite(&writer_path))?;
    let acknowledger = Acknowledger::new(aggregator.clone());
    let (jobs, queue) = mpsc::channel::<Job>();
    let thread = thread::Builder::new()
        .name("store-writer".to_owned())
        .spawn(move || {
            let mut joiner = Joiner::default();
            // Everything queued while the last commit ran goes into the next one; no
            // waiting for more (measured: a linger only lengthens each round trip).
            while let Ok(first) = queue.recv() {
                let mut batch = vec![first];
                let mut queued = batch[0].events.len();
                while queued < MAX_BATCH {
                    match queue.try_recv() {
                        Ok(job) => {
                            queued += job.events.len();
                            batch.push(job);
                        }
                        Err(_) => break,
                    }
                }
                let outcome = match commit(&mut conn, &mut joiner, &mut batch) {
                    Ok(joined) => Outcome::Stored(
                        batch
                            .into_iter()
                            .zip(joined)
                            .map(|(job, joined)| Stored {
                                reply: job.reply,
                                events: job.events,
                                joined,
                            })
                            .collect(),
                    ),
                    Err(err) => {
                        joiner.abandon();
                        Outcome::Failed(
                            format!("event store {}: {err}", writer_path.display()),
                            batch
                                .into_iter()
                                .map(|job| (job.reply, job.events))
                                .collect(),
                        )
                    }
                };
                acknowledger.send(outcome, &aggregator);
            }
        })
        .map_err(|source| StoreError::Dir {
            path: data_dir.to_owned(),
            source,
        })?;
    let (live, _) = tokio::sync::broadcast::channel(LIVE_BACKLOG);
    Ok((
        Store { jobs, live },
        Writer {
            thread,
            _lock: lock,
        },
    ))
}

/// Per job, per event: what the session join said of it when it was new (`None`: a
/// duplicate, not stored again).
type Committed = Vec<Vec<Option<Joined>>>;

/// The events table's columns an event gives: id, source, time, name, the indexed
/// columns, the body.
const EVENT_VALUES: usize = 14;

/// The events table's insert: the event's columns, then the join's.
static INSERT_EVENT: LazyLock<String> = LazyLock::new(|| {
    let columns = EVENT_VALUES + rollup::ROW_VALUES;
    let marks = (1..=columns)
        .map(|i| format!("?{i}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "INSERT OR IGNORE INTO events (event_id, source, ts_ms, name, session_id, prompt_id, \
         tool_use_id, tool_name, user_name, user_email, project, decision, rule, body, {}) \
         VALUES ({marks})",
        rollup::row_column_names()
    )
});

fn commit(
    conn: &mut Connection,
    joiner: &mut Joiner,
    batch: &mut [Job],
) -> rusqlite::Result<Committed> {
    let tx = conn.transaction()?;
    let mut committed = Vec::with_capacity(batch.len());
    let mut through = 0;
    let mut insert = tx.prepare_cached(&INSERT_EVENT)?;
    for job in batch {
        let mut job_joined = Vec::with_capacity(job.events.len());
        for (e, measures) in job.events.iter().zip(std::mem::take(&mut job.measures)) {
            let pending = joiner.join_measured(&tx, e.ts_ms, measures)?;
            let c = &e.columns;
            let (user_name, user_email, project) = match pending.identity() {
                Some(who) => (
                    rollup::nonempty(&who.user_name),
                    rollup::nonempty(&who.user_email),
                    rollup::nonempty(&who.project_path),
                ),
                None => (
                    c.user_name.as_deref(),
                    c.user_email.as_deref(),
                    c.project.as_deref(),
                ),
            };
            let head: [&dyn ToSql; EVENT_VALUES] = [
                &e.id,
                &e.source().as_str(),
                &e.ts_ms,
                &e.name,
                &c.session_id,
                &c.prompt_id,
                &c.tool_use_id,
                &c.tool_name,
                &user_name,
                &user_email,
                &project,
                &c.decision,
                &c.rule,
                &e.body,
            ];
            let row = rollup::row_values(&pending.row);
            let values = head.into_iter().chain(row.iter().map(|v| v as &dyn ToSql));
            if insert.execute(params_from_iter(values))? == 1 {
                let row_id = tx.last_insert_rowid();
                through = row_id;
                job_joined.push(Some(joiner.stored(&tx, pending, row_id, &e.payload)?));
            } else {
                joiner.not_stored(pending);
                job_joined.push(None);
            }
        }
        committed.push(job_joined);
    }
    drop(insert);
    if through > 0 {
        joiner.write(&tx, through)?;
    }
    tx.commit()?;
    Ok(committed)
}

impl Consumer for Store {
    /// Stores events durably; answers, per event, whether it was new.
    async fn consume(&self, events: Vec<Event>) -> Result<Vec<bool>, ConsumeError> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let closed = || ConsumeError(StoreError::Closed.to_string());
        let measures = events.iter().map(|e| Measures::of(&e.payload)).collect();
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job {
                events,
                measures,
                reply,
            })
            .map_err(|_| closed())?;
        match answer.await {
            Ok((Ok(flags), events)) => {
                if self.live.receiver_count() > 0 {
                    for (event, _) in events.iter().zip(&flags).filter(|(_, new)| **new) {
                        let _ = self.live.send(Arc::new(LiveEvent::of(event)));
                    }
                }
                Ok(flags)
            }
            Ok((Err(message), _events)) => Err(ConsumeError(message)),
            Err(_) => Err(closed()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::{Aggregator, Limits};
    use crate::event::{Columns, HookRecord, Payload};
    use crate::store::{restore, size_bytes};
    use hook_protocol::HookEvent;
    use serde_json::json;

    fn event(id: &str) -> Event {
        let value = json!({
            "hook_event_name": "UserPromptSubmit", "session_id": "s",
            "claude_telemetry": {"event_id": id, "received_at": "2026-11-24T05:00:00.000Z",
                "host": "h", "user_name": "jane", "hook_latency_us": 1, "hook_version": "t"}
        });
        let hook = HookEvent::from_value(value.clone()).unwrap();
        Event {
            id: id.to_owned(),
            ts_ms: 1,
            name: "UserPromptSubmit".to_owned(),
            columns: Columns::default(),
            body: value.to_string(),
            payload: Payload::Hook(Box::new(HookRecord::new(hook).unwrap())),
        }
    }

    fn prompts(aggregator: &Aggregator) -> usize {
        match aggregator
            .family("claude_code_prompts_total")
            .unwrap()
            .series()
            .values()
            .next()
        {
            Some(crate::exposition::Value::Scalar(n)) => *n as usize,
            _ => 0,
        }
    }

    fn stored_ids(dir: &Path) -> std::collections::BTreeSet<String> {
        crate::store::reader(dir)
            .unwrap()
            .prepare("SELECT event_id FROM events")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn each_of_many_requests_gets_its_own_answer() {
        let dir = tempfile::tempdir().unwrap();
        let aggregator = SharedAggregator::new(Aggregator::new(Limits::default()));
        let (store, writer) = open(dir.path(), aggregator.clone()).unwrap();
        // 64 requests at once (so batches hold many): each sends a new event, one it
        // shares with its neighbour, and every third one a duplicate of its own.
        let mut tasks = Vec::new();
        for i in 0..64 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let mut ids = vec![format!("own-{i}"), format!("shared-{}", i / 2)];
                if i % 3 == 0 {
                    ids.push(format!("own-{i}"));
                }
                let flags = store
                    .consume(ids.iter().map(|id| event(id)).collect())
                    .await
                    .unwrap();
                (i, flags)
            }));
        }
        let mut shared_firsts = 0;
        for task in tasks {
            let (i, flags) = task.await.unwrap();
            assert_eq!(flags.len(), if i % 3 == 0 { 3 } else { 2 }, "request {i}");
            assert!(flags[0], "request {i}: its own event is new");
            if i % 3 == 0 {
                assert!(!flags[2], "request {i}: its repeat is a duplicate");
            }
            shared_firsts += usize::from(flags[1]);
        }
        assert_eq!(
            shared_firsts, 32,
            "each shared event is new for one request"
        );
        assert_eq!(
            prompts(&aggregator.lock()),
            96,
            "each stored event counted once"
        );
        drop(store);
        writer.join();
        assert_eq!(stored_ids(dir.path()).len(), 96);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_batch_failing_mid_way_stores_none_of_it_and_every_request_hears() {
        let dir = tempfile::tempdir().unwrap();
        let aggregator = SharedAggregator::new(Aggregator::new(Limits::default()));
        let (store, writer) = open(dir.path(), aggregator.clone()).unwrap();
        // SQLite refuses some events in the middle of their requests.
        let poison = "CREATE TRIGGER poison BEFORE INSERT ON events \
             WHEN NEW.event_id LIKE 'poison%' BEGIN SELECT RAISE(ABORT, 'poisoned'); END";
        db::reader_writer(dir.path())
            .unwrap()
            .execute_batch(poison)
            .unwrap();
        let requests: Vec<Vec<String>> = (0..48)
            .map(|i| {
                let mut ids = vec![format!("a-{i}"), format!("b-{i}")];
                if i % 8 == 3 {
                    ids.insert(1, format!("poison-{i}"));
                }
                ids
            })
            .collect();
        let send = |ids: Vec<String>| {
            let store = store.clone();
            tokio::spawn(async move {
                let answer = store
                    .consume(ids.iter().map(|id| event(id)).collect())
                    .await;
                (ids, answer)
            })
        };
        let tasks: Vec<_> = requests.into_iter().map(send).collect();
        let (mut taken, mut refused) = (std::collections::BTreeSet::new(), Vec::new());
        for task in tasks {
            let (ids, answer) = task.await.unwrap();
            match answer {
                Ok(flags) => {
                    assert!(flags.iter().all(|new| *new), "{ids:?}");
                    taken.extend(ids);
                }
                Err(err) => {
                    assert!(err.0.contains("poisoned"), "{err}");
                    refused.push(ids);
                }
            }
        }
        assert!(refused.len() >= 6, "every poisoned request is refused");
        assert_eq!(
            stored_ids(dir.path()),
            taken,
            "exactly what was acknowledged is stored: nothing of a refused batch"
        );
        assert_eq!(prompts(&aggregator.lock()), taken.len(), "and counted");

        // Sent again once SQLite takes them, the refused requests are stored whole.
        db::reader_writer(dir.path())
            .unwrap()
            .execute_batch("DROP TRIGGER poison")
            .unwrap();
        for ids in refused {
            let (ids, answer) = send(ids).await.unwrap();
            assert!(answer.unwrap().iter().all(|new| *new), "{ids:?}");
            taken.extend(ids);
        }
        assert_eq!(prompts(&aggregator.lock()), taken.len());
        drop(store);
        writer.join();
        assert_eq!(stored_ids(dir.path()), taken, "nothing lost");
        let mut replayed = Aggregator::new(Limits::default());
        assert_eq!(
            restore(dir.path(), &mut replayed).unwrap() as usize,
            taken.len()
        );
    }

    #[tokio::test]
    async fn duplicates_are_stored_once_counted_once_and_replayed() {
        let dir = tempfile::tempdir().unwrap();
        let aggregator = SharedAggregator::new(Aggregator::new(Limits::default()));
        let (store, writer) = open(dir.path(), aggregator.clone()).unwrap();
        assert_eq!(
            store.consume(vec![event("a"), event("b")]).await.unwrap(),
            [true, true]
        );
        assert_eq!(
            store.consume(vec![event("b"), event("c")]).await.unwrap(),
            [false, true]
        );
        assert_eq!(
            prompts(&aggregator.lock()),
            3,
            "only new events are counted"
        );
        drop(store);
        writer.join();
        let mut replayed = Aggregator::new(Limits::default());
        assert_eq!(restore(dir.path(), &mut replayed).unwrap(), 3);
        assert_eq!(prompts(&replayed), 3);
        assert!(size_bytes(dir.path()) > 0);
    }
}
