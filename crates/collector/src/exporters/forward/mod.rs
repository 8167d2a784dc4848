//! Forwarding: an OTLP/HTTP exporter that sends the spans the store took (and, when
//! configured, Claude Code's log events) on to an existing tracing backend, the way the
//! OpenTelemetry Collector's `otlphttp` exporter with a batch processor and a sending
//! queue does.
//!
//! Receivers hand it what was new after the store committed, in arrival order. It holds
//! each signal in a bounded queue (what does not fit is dropped and counted, never
//! blocking a receiver), sends batches in order on its own thread (protobuf, gzip), and
//! keeps a batch at the head of its queue until the backend takes it: a backend that is
//! down (refused connection, timeout, 429, 502, 503, 504) is retried with doubling
//! pauses, so it loses nothing within the queue's bound; one that refuses a batch for
//! good (any other answer) has it dropped and counted. It forwards what is stored — the
//! privacy mode applied — and nothing else.
//!
//! It must not touch the store or block a request: only the queue is shared.

pub mod encode;

use std::collections::VecDeque;
use std::io::Write;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use prost::Message;

use crate::config::CollectorConfig;
use crate::consumer::Onward;
use crate::event::{SpanRecord, TimedLog};
use crate::exposition::{Encoded, Family, Kind};
use crate::sync::lock;

/// The OTLP signals forwarded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Signal {
    Traces,
    Logs,
}

impl Signal {
    fn label(self) -> &'static str {
        match self {
            Signal::Traces => "traces",
            Signal::Logs => "logs",
        }
    }

    fn path(self) -> &'static str {
        match self {
            Signal::Traces => "/v1/traces",
            Signal::Logs => "/v1/logs",
        }
    }
}

/// How a forwarder is set up.
#[derive(Debug, Clone)]
pub struct ForwardSettings {
    /// Base URL: `/v1/traces` and `/v1/logs` are appended.
    pub endpoint: String,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// Whether log events are forwarded too.
    pub logs: bool,
    /// Most records waiting, per signal.
    pub queue_size: usize,
    /// Most records in one request.
    pub batch_size: usize,
    /// Longest a record waits for its batch to fill.
    pub batch_timeout: Duration,
    /// First pause after a failure.
    pub retry_initial: Duration,
    /// Longest pause.
    pub retry_max: Duration,
    /// Longest one request may take.
    pub timeout: Duration,
}

impl ForwardSettings {
    /// The forwarding part of the collector's configuration, when forwarding is on.
    pub fn from_config(config: &CollectorConfig) -> Option<ForwardSettings> {
        let endpoint = config.forward_endpoint()?.trim_end_matches('/').to_owned();
        Some(ForwardSettings {
            endpoint,
            headers: config
                .forward_headers
                .iter()
                .filter_map(|h| h.split_once('='))
                .map(|(name, value)| (name.trim().to_owned(), value.trim().to_owned()))
                .collect(),
            logs: config.forward_logs,
            queue_size: config.forward_queue_size,
            batch_size: config.forward_batch_size,
            batch_timeout: config.forward_batch_timeout,
            retry_initial: config.forward_retry_initial,
            retry_max: config.forward_retry_max,
            timeout: config.forward_timeout,
        })
    }
}

/// What waits, per signal, and whether the forwarder is stopping.
struct Queues {
    spans: VecDeque<SpanRecord>,
    logs: VecDeque<TimedLog>,
    /// When the oldest record still unsent arrived (for the batch timeout).
    oldest: Option<Instant>,
    /// Stop once the queues are empty or this passes.
    closing: Option<Instant>,
}

/// The forwarder's own metrics.
struct Families {
    sent: Family,
    dropped: Family,
    failures: Family,
    queue: Family,
    capacity: Family,
}

struct Shared {
    settings: ForwardSettings,
    queues: Mutex<Queues>,
    wake: Condvar,
    families: Mutex<Families>,
}

/// A running forwarder: hand it records with [`Forwarder::spans`] and [`Forwarder::logs`].
pub struct Forwarder {
    shared: Arc<Shared>,
    thread: Mutex<Option<thread::JoinHandle<()>>>,
}

/// What an attempt to send a batch came to.
enum Outcome {
    /// Taken (and how many of it the backend said it refused).
    Sent { refused: u64 },
    /// Try again after at least this long.
    Retry(Option<Duration>),
    /// Refused for good.
    Refused,
}

impl Forwarder {
    /// Starts the forwarding thread.
    pub fn start(settings: ForwardSettings) -> std::io::Result<Forwarder> {
        let family = |name: &str, help: &str, kind: Kind| Family::new(name, help, kind);
        let mut capacity = family(
            "claude_telemetry_forward_queue_capacity",
            "Most records each forwarding queue holds.",
            Kind::Gauge,
        );
        capacity.set(Vec::new(), settings.queue_size as f64);
        let shared = Arc::new(Shared {
            queues: Mutex::new(Queues {
                spans: VecDeque::new(),
                logs: VecDeque::new(),
                oldest: None,
                closing: None,
            }),
            wake: Condvar::new(),
            families: Mutex::new(Families {
                sent: family(
                    "claude_telemetry_forward_sent_total",
                    "Records the forwarding endpoint took, by signal.",
                    Kind::Counter,
                ),
                dropped: family(
                    "claude_telemetry_forward_dropped_total",
                    "Records not forwarded, by signal and reason: queue_full (the endpoint was away longer than the queue holds), refused (the endpoint refused them for good), shutdown (still queued when the collector stopped).",
                    Kind::Counter,
                ),
                failures: family(
                    "claude_telemetry_forward_failures_total",
                    "Forwarding attempts that failed and were retried, by signal.",
                    Kind::Counter,
                ),
                queue: family(
                    "claude_telemetry_forward_queue_size",
                    "Records waiting to be forwarded, by signal.",
                    Kind::Gauge,
                ),
                capacity,
            }),
            settings,
        });
        let worker = shared.clone();
        let thread = thread::Builder::new()
            .name("otlp-forward".to_owned())
            .spawn(move || run(&worker))?;
        Ok(Forwarder {
            shared,
            thread: Mutex::new(Some(thread)),
        })
    }

    fn enqueue(&self, signal: Signal, count: usize, push: impl FnOnce(&mut Queues, usize)) {
        if count == 0 {
            return;
        }
        let dropped = {
            let mut queues = lock(&self.shared.queues);
            let held = match signal {
                Signal::Traces => queues.spans.len(),
                Signal::Logs => queues.logs.len(),
            };
            let room = self.shared.settings.queue_size.saturating_sub(held);
            push(&mut queues, room);
            queues.oldest.get_or_insert_with(Instant::now);
            self.shared.wake.notify_all();
            count.saturating_sub(room)
        };
        if dropped > 0 {
            self.shared
                .count_dropped(signal, "queue_full", dropped as u64);
        }
    }
}

impl Onward for Forwarder {
    fn spans(&self, spans: Vec<SpanRecord>) {
        self.enqueue(Signal::Traces, spans.len(), |queues, room| {
            queues.spans.extend(spans.into_iter().take(room));
        });
    }

    fn logs(&self, logs: Vec<TimedLog>) {
        if !self.shared.settings.logs {
            return;
        }
        self.enqueue(Signal::Logs, logs.len(), |queues, room| {
            queues.logs.extend(logs.into_iter().take(room));
        });
    }

    fn wants_logs(&self) -> bool {
        self.shared.settings.logs
    }

    fn shutdown(&self, grace: Duration) {
        {
            let mut queues = lock(&self.shared.queues);
            queues.closing = Some(Instant::now() + grace);
            self.shared.wake.notify_all();
        }
        if let Some(thread) = lock(&self.thread).take() {
            let _ = thread.join();
        }
    }

    fn encoded(&self) -> Vec<Encoded> {
        let (spans, logs) = {
            let queues = lock(&self.shared.queues);
            (queues.spans.len(), queues.logs.len())
        };
        let mut families = lock(&self.shared.families);
        for (signal, held) in [(Signal::Traces, spans), (Signal::Logs, logs)] {
            families.queue.set(
                vec![("signal".to_owned(), signal.label().to_owned())],
                held as f64,
            );
        }
        let Families {
            sent,
            dropped,
            failures,
            queue,
            capacity,
        } = &mut *families;
        [sent, dropped, failures, queue, capacity]
            .into_iter()
            .filter_map(Family::encoded)
            .collect()
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        self.shutdown(Duration::ZERO);
    }
}

impl Shared {
    fn count(
        &self,
        pick: impl FnOnce(&mut Families) -> &mut Family,
        labels: Vec<(&str, &str)>,
        n: u64,
    ) {
        if n > 0 {
            let labels = labels
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect();
            pick(&mut lock(&self.families)).add(labels, n as f64);
        }
    }

    fn count_dropped(&self, signal: Signal, reason: &str, n: u64) {
        self.count(
            |f| &mut f.dropped,
            vec![("signal", signal.label()), ("reason", reason)],
            n,
        );
    }

    /// Waits until a batch is due (full, or its oldest record has waited the batch
    /// timeout, or the forwarder is closing); `None` once it should stop.
    fn next_due(&self) -> Option<MutexGuard<'_, Queues>> {
        let settings = &self.settings;
        let mut queues = lock(&self.queues);
        loop {
            let held = queues.spans.len() + queues.logs.len();
            let now = Instant::now();
            if let Some(deadline) = queues.closing
                && (held == 0 || now >= deadline)
            {
                return None;
            }
            let full = queues.spans.len() >= settings.batch_size
                || queues.logs.len() >= settings.batch_size;
            let waited = queues
                .oldest
                .map(|oldest| now.saturating_duration_since(oldest));
            if held > 0
                && (full
                    || queues.closing.is_some()
                    || waited.is_some_and(|w| w >= settings.batch_timeout))
            {
                return Some(queues);
            }
            let pause = match waited {
                Some(waited) if held > 0 => settings.batch_timeout.saturating_sub(waited),
                _ => Duration::from_secs(3600),
            };
            queues = self
                .wake
                .wait_timeout(queues, pause)
                .map_or_else(|p| p.into_inner().0, |(guard, _)| guard);
        }
    }

    /// Sleeps `pause`, or less when closing; `false` when the close deadline has passed.
    fn pause(&self, pause: Duration) -> bool {
        let until = Instant::now() + pause;
        let mut queues = lock(&self.queues);
        loop {
            let now = Instant::now();
            if let Some(deadline) = queues.closing {
                if now >= deadline {
                    return false;
                }
                // Closing: keep trying within the grace period, at most every 100 ms.
                if now + Duration::from_millis(100) >= until.min(deadline) {
                    return true;
                }
            }
            if now >= until {
                return true;
            }
            let left = until.saturating_duration_since(now);
            queues = self
                .wake
                .wait_timeout(queues, left.min(Duration::from_millis(100)))
                .map_or_else(|p| p.into_inner().0, |(guard, _)| guard);
        }
    }
}

/// The forwarding thread: batches, sends, retries, until closed.
fn run(shared: &Shared) {
    let settings = &shared.settings;
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(settings.timeout))
        .http_status_as_error(false)
        .build()
        .into();
    let mut backoff = settings.retry_initial;
    loop {
        let Some(queues) = shared.next_due() else {
            break;
        };
        // Spans first, then logs; each batch stays queued until it is taken.
        let (signal, body, count) = if !queues.spans.is_empty() {
            let batch: Vec<SpanRecord> = queues
                .spans
                .iter()
                .take(settings.batch_size)
                .cloned()
                .collect();
            let body = encode::traces(&batch).encode_to_vec();
            (Signal::Traces, body, batch.len())
        } else {
            let batch: Vec<TimedLog> = queues
                .logs
                .iter()
                .take(settings.batch_size)
                .cloned()
                .collect();
            let body = encode::logs(&batch).encode_to_vec();
            (Signal::Logs, body, batch.len())
        };
        drop(queues);
        let outcome = send(&agent, settings, signal, &body);
        let taken = |queues: &mut Queues| {
            match signal {
                Signal::Traces => drop(queues.spans.drain(..count)),
                Signal::Logs => drop(queues.logs.drain(..count)),
            }
            queues.oldest =
                (!queues.spans.is_empty() || !queues.logs.is_empty()).then(Instant::now);
        };
        let labels = vec![("signal", signal.label())];
        match outcome {
            Outcome::Sent { refused } => {
                taken(&mut lock(&shared.queues));
                shared.count(
                    |f| &mut f.sent,
                    labels,
                    count as u64 - refused.min(count as u64),
                );
                shared.count_dropped(signal, "refused", refused.min(count as u64));
                backoff = settings.retry_initial;
            }
            Outcome::Refused => {
                taken(&mut lock(&shared.queues));
                shared.count_dropped(signal, "refused", count as u64);
            }
            Outcome::Retry(after) => {
                shared.count(|f| &mut f.failures, labels, 1);
                let pause = after.unwrap_or(backoff).min(settings.retry_max);
                backoff = (backoff * 2).min(settings.retry_max);
                if !shared.pause(pause) {
                    break;
                }
            }
        }
    }
    let mut queues = lock(&shared.queues);
    let (spans, logs) = (queues.spans.len(), queues.logs.len());
    queues.spans.clear();
    queues.logs.clear();
    drop(queues);
    shared.count_dropped(Signal::Traces, "shutdown", spans as u64);
    shared.count_dropped(Signal::Logs, "shutdown", logs as u64);
}

/// One POST of a batch, gzip-compressed protobuf.
fn send(agent: &ureq::Agent, settings: &ForwardSettings, signal: Signal, body: &[u8]) -> Outcome {
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let Ok(compressed) = gzip.write_all(body).and_then(|()| gzip.finish()) else {
        return Outcome::Retry(None);
    };
    let url = format!("{}{}", settings.endpoint, signal.path());
    let mut request = agent
        .post(&url)
        .header("content-type", "application/x-protobuf")
        .header("content-encoding", "gzip");
    for (name, value) in &settings.headers {
        request = request.header(name.as_str(), value.as_str());
    }
    let mut response = match request.send(&compressed[..]) {
        Ok(response) => response,
        // Unreachable, refused, timed out: the endpoint may come back.
        Err(_) => return Outcome::Retry(None),
    };
    let status = response.status().as_u16();
    match status {
        200..=299 => {
            let answer = response
                .body_mut()
                .with_config()
                .limit(1 << 20)
                .read_to_vec()
                .unwrap_or_default();
            Outcome::Sent {
                refused: refused_in(signal, &answer),
            }
        }
        429 | 502 | 503 | 504 => {
            let after = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            Outcome::Retry(after)
        }
        _ => Outcome::Refused,
    }
}

/// How many records an export response says were refused (a partial success).
fn refused_in(signal: Signal, answer: &[u8]) -> u64 {
    use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceResponse;
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
    let refused = match signal {
        Signal::Traces => ExportTraceServiceResponse::decode(answer)
            .ok()
            .and_then(|r| r.partial_success)
            .map(|p| p.rejected_spans),
        Signal::Logs => ExportLogsServiceResponse::decode(answer)
            .ok()
            .and_then(|r| r.partial_success)
            .map(|p| p.rejected_log_records),
    };
    refused.and_then(|n| u64::try_from(n).ok()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exposition::{Format, write};

    fn span(id: u8) -> SpanRecord {
        SpanRecord {
            trace_id: "01".repeat(16),
            span_id: format!("{id:016x}"),
            parent_span_id: String::new(),
            name: "claude_code.tool".to_owned(),
            kind: 1,
            start_ns: 1_000,
            end_ns: 2_000,
            status_code: 0,
            status_message: String::new(),
            flags: 0,
            trace_state: String::new(),
            attributes: Default::default(),
            events: Vec::new(),
            links: Vec::new(),
            resource: Default::default(),
            scope_name: String::new(),
            scope_version: String::new(),
            elided: Vec::new(),
        }
    }

    /// A backend nobody listens on: connections are refused, so every batch is retried.
    fn away() -> String {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        drop(listener);
        format!("http://{address}")
    }

    fn metrics(forwarder: &dyn Onward) -> String {
        write(&forwarder.encoded(), Format::Text)
    }

    #[test]
    fn a_full_queue_drops_and_counts_and_a_stop_counts_what_was_left() {
        let forwarder = Forwarder::start(ForwardSettings {
            endpoint: away(),
            headers: Vec::new(),
            logs: false,
            queue_size: 3,
            batch_size: 10,
            batch_timeout: Duration::from_millis(1),
            retry_initial: Duration::from_secs(60),
            retry_max: Duration::from_secs(60),
            timeout: Duration::from_secs(1),
        })
        .unwrap();
        assert!(!forwarder.wants_logs());
        forwarder.spans((0..5).map(span).collect());
        // Log events are not wanted: nothing is queued or dropped for them.
        forwarder.logs(Vec::new());
        let text = metrics(&forwarder);
        assert!(
            text.contains(
                r#"claude_telemetry_forward_dropped_total{signal="traces",reason="queue_full"} 2"#
            ),
            "{text}"
        );
        assert!(
            text.contains(r#"claude_telemetry_forward_queue_size{signal="traces"} 3"#),
            "{text}"
        );
        forwarder.shutdown(Duration::ZERO);
        let text = metrics(&forwarder);
        assert!(
            text.contains(
                r#"claude_telemetry_forward_dropped_total{signal="traces",reason="shutdown"} 3"#
            ),
            "{text}"
        );
    }
}
