//! Accepting connections, bounded, so that clients that open connections and send
//! nothing cannot stop the collector answering everyone else:
//!
//! - at most `max_connections` are open (below the process's file limit);
//! - a connection must send a request's head within `header_timeout` of opening, or of
//!   its last answer (hyper's header-read timeout, which also ends idle keep-alive
//!   connections);
//! - when every slot is taken, the connection that has been idle longest (no request in
//!   progress: silent, half a head sent, or kept alive after its answer) is closed to
//!   make room, so a new client never waits behind a silent one.
//!
//! Serves HTTP/1.1 with hyper's connection builder (axum's `serve` has no header
//! timeout). Knows nothing of routes: it serves the router it is given.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::ConnectInfo;
use axum::http::Request;
use http_body::Frame;
use hyper::body::Incoming;
use hyper::service::Service as _;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, Semaphore, watch};

use crate::sync::lock;

/// What bounds connections.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Most connections open at once.
    pub max_connections: usize,
    /// Longest wait for a request's head (after opening, or after the last answer).
    pub header_timeout: Duration,
}

/// One open connection, as the accept loop sees it.
struct Slot {
    /// Requests in progress (HTTP/1.1: none or one).
    busy: AtomicBool,
    /// When it last became idle, in nanoseconds since the server started.
    idle_since: AtomicU64,
    /// Told to close (it was idle longest when a slot was needed, or the server stops).
    close: Notify,
}

/// Every open connection.
struct Registry {
    started: Instant,
    slots: Mutex<HashMap<u64, Arc<Slot>>>,
}

impl Registry {
    fn now(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    fn open(&self, id: u64) -> Arc<Slot> {
        let slot = Arc::new(Slot {
            busy: AtomicBool::new(false),
            idle_since: AtomicU64::new(self.now()),
            close: Notify::new(),
        });
        lock(&self.slots).insert(id, slot.clone());
        slot
    }

    fn closed(&self, id: u64) {
        lock(&self.slots).remove(&id);
    }

    /// Closes the connection idle longest, if one is idle; returns whether one was.
    fn close_idle_longest(&self) -> bool {
        let slots = lock(&self.slots);
        let idlest = slots
            .values()
            .filter(|slot| !slot.busy.load(Ordering::Acquire))
            .min_by_key(|slot| slot.idle_since.load(Ordering::Acquire));
        match idlest {
            Some(slot) => {
                // Busy no more than "closing": it is not picked twice.
                slot.busy.store(true, Ordering::Release);
                slot.close.notify_one();
                true
            }
            None => false,
        }
    }
}

/// Marks its connection busy while a request is handled and its answer sent.
struct Busy {
    slot: Arc<Slot>,
    registry: Arc<Registry>,
}

impl Busy {
    fn new(slot: &Arc<Slot>, registry: &Arc<Registry>) -> Busy {
        slot.busy.store(true, Ordering::Release);
        Busy {
            slot: slot.clone(),
            registry: registry.clone(),
        }
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.slot
            .idle_since
            .store(self.registry.now(), Ordering::Release);
        self.slot.busy.store(false, Ordering::Release);
    }
}

/// An answer's body that keeps its connection busy until it has been sent.
struct SentBody {
    inner: Body,
    _busy: Busy,
}

impl http_body::Body for SentBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// Serves `app` on `listener` until `shutdown` resolves; then every connection finishes
/// its request in progress and closes, and this returns once all have.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let registry = Arc::new(Registry {
        started: Instant::now(),
        slots: Mutex::new(HashMap::new()),
    });
    let (stop, stopping) = watch::channel(false);
    let mut shutdown = pin!(shutdown);
    let mut next_id = 0u64;
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of file descriptors, or a connection reset before it was
                    // taken: neither stops the server.
                    eprintln!("claude-telemetry collector: accepting a connection: {err}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let permit = match slots.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                registry.close_idle_longest();
                tokio::select! {
                    permit = slots.clone().acquire_owned() => match permit {
                        Ok(permit) => permit,
                        Err(_) => break,
                    },
                    () = &mut shutdown => break,
                }
            }
        };
        next_id += 1;
        let id = next_id;
        let slot = registry.open(id);
        let (app, registry, stopping) = (app.clone(), registry.clone(), stopping.clone());
        tokio::spawn(async move {
            connection(stream, peer, app, limits, &slot, &registry, stopping).await;
            registry.closed(id);
            drop(permit);
        });
    }
    let _ = stop.send(true);
    drop(listener);
    // Every connection holds a slot until it ends: having them all back means all ended.
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let _ = slots.acquire_many(all).await;
}

async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    app: Router,
    limits: ConnectionLimits,
    slot: &Arc<Slot>,
    registry: &Arc<Registry>,
    mut stopping: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let router = TowerToHyperService::new(app);
    let service = {
        let (slot, registry) = (slot.clone(), registry.clone());
        hyper::service::service_fn(move |mut request: Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            let busy = Busy::new(&slot, &registry);
            let answer = router.call(request);
            async move {
                let response = answer.await?;
                Ok::<_, std::convert::Infallible>(
                    response.map(|inner| SentBody { inner, _busy: busy }),
                )
            }
        })
    };
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true);
    let mut conn = pin!(builder.serve_connection(TokioIo::new(stream), service));
    tokio::select! {
        _ = conn.as_mut() => {}
        // Needed for another client: idle, so closing it loses nothing.
        () = slot.close.notified() => {}
        () = async { drop(stopping.wait_for(|stop| *stop).await) } => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}
