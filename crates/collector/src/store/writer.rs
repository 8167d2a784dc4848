//! The writer: one thread that commits everything queued in one transaction (group
//! commit), feeds the aggregator what is new, then acknowledges; and the [`Store`]
//! handle receivers hand events to, as their consumer.

use std::path::Path;
use std::sync::mpsc;
use std::thread;

use rusqlite::{Connection, params};
use tokio::sync::oneshot;

use super::db::{self, StoreError, database_path};
use crate::aggregate::SharedAggregator;
use crate::consumer::{ConsumeError, Consumer};
use crate::event::Event;

/// Most events committed in one transaction.
const MAX_BATCH: usize = 4096;

/// What the writer answers a job: per event whether it was new (or why nothing was
/// stored), and the events themselves.
type Answer = (Result<Vec<bool>, String>, Vec<Event>);

struct Job {
    events: Vec<Event>,
    /// Per event whether it was new, and the events themselves: they are dropped by
    /// the request that sent them, not on the writer's thread, which every request waits
    /// for.
    reply: oneshot::Sender<Answer>,
}

/// A handle for appending events; cheap to clone.
#[derive(Clone)]
pub struct Store {
    jobs: mpsc::Sender<Job>,
}

/// The writer thread, to wait for on shutdown.
pub struct Writer {
    thread: thread::JoinHandle<()>,
}

impl Writer {
    /// Waits until every queued event is committed and the writer has stopped. The
    /// writer stops once every [`Store`] handle is dropped.
    pub fn join(self) {
        let _ = self.thread.join();
    }
}

/// Opens (creating if needed) the store in `data_dir` and starts its writer, which feeds
/// `aggregator` every event it stores for the first time.
pub fn open(data_dir: &Path, aggregator: SharedAggregator) -> Result<(Store, Writer), StoreError> {
    let writer_path = database_path(data_dir);
    let mut conn = db::create(data_dir)?;
    let (jobs, queue) = mpsc::channel::<Job>();
    let thread = thread::Builder::new()
        .name("store-writer".to_owned())
        .spawn(move || {
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
                match commit(&mut conn, &batch) {
                    Ok(flags) => {
                        {
                            let mut aggregator = aggregator.lock();
                            for (job, flags) in batch.iter().zip(&flags) {
                                for (event, new) in job.events.iter().zip(flags) {
                                    if *new {
                                        aggregator.apply(event.ts_ms, &event.payload);
                                    }
                                }
                            }
                        }
                        for (job, flags) in batch.into_iter().zip(flags) {
                            let _ = job.reply.send((Ok(flags), job.events));
                        }
                    }
                    Err(err) => {
                        let message = format!("event store {}: {err}", writer_path.display());
                        for job in batch {
                            let _ = job.reply.send((Err(message.clone()), job.events));
                        }
                    }
                }
            }
        })
        .map_err(|source| StoreError::Dir {
            path: data_dir.to_owned(),
            source,
        })?;
    Ok((Store { jobs }, Writer { thread }))
}

fn commit(conn: &mut Connection, batch: &[Job]) -> rusqlite::Result<Vec<Vec<bool>>> {
    let tx = conn.transaction()?;
    let mut flags = Vec::with_capacity(batch.len());
    {
        let mut insert = tx.prepare_cached(
            "INSERT OR IGNORE INTO events (event_id, source, ts_ms, name, session_id, prompt_id, tool_use_id, \
             tool_name, user_name, user_email, project, decision, rule, body) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
        )?;
        for job in batch {
            let mut job_flags = Vec::with_capacity(job.events.len());
            for e in &job.events {
                let c = &e.columns;
                let changed = insert.execute(params![
                    e.id,
                    e.source().as_str(),
                    e.ts_ms,
                    e.name,
                    c.session_id,
                    c.prompt_id,
                    c.tool_use_id,
                    c.tool_name,
                    c.user_name,
                    c.user_email,
                    c.project,
                    c.decision,
                    c.rule,
                    e.body
                ])?;
                job_flags.push(changed == 1);
            }
            flags.push(job_flags);
        }
    }
    tx.commit()?;
    Ok(flags)
}

impl Consumer for Store {
    /// Stores events durably; answers, per event, whether it was new.
    async fn consume(&self, events: Vec<Event>) -> Result<Vec<bool>, ConsumeError> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let closed = || ConsumeError(StoreError::Closed.to_string());
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job { events, reply })
            .map_err(|_| closed())?;
        match answer.await {
            Ok((Ok(flags), _events)) => Ok(flags),
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
