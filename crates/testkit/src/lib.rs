//! Test support shared by the workspace's integration tests and benchmarks.
//!
//! Owns stand-ins for what a test needs on the other end of a socket: a real HTTP server
//! that records what it receives ([`Receiver`]), one that records and passes it on
//! ([`Relay`]: what a client sent, next to what the server behind it made of it), and
//! servers that misbehave on purpose
//! ([`Hanging`], [`Garbage`]), and a fake of the Anthropic Messages API
//! ([`messages_api`]) for driving the real Claude Code CLI offline. Nothing here is used
//! by the shipped binary.

// Test support: a server that cannot start must fail the test at once, loudly.
#![allow(clippy::expect_used, clippy::panic)]

pub mod claude_code;
pub mod messages_api;
pub mod process;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use serde_json::Value;

/// One request as the receiver saw it.
#[derive(Debug, Clone)]
pub struct Received {
    /// `POST`, `PUT`, ….
    pub method: String,
    /// Path and query.
    pub url: String,
    /// Header names in lower case, with values.
    pub headers: Vec<(String, String)>,
    /// The raw body.
    pub body: Vec<u8>,
}

impl Received {
    /// The first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// The JSON events in the body: one object, or one per NDJSON line.
    pub fn events(&self) -> Vec<Value> {
        let text = String::from_utf8_lossy(&self.body);
        text.lines()
            .filter(|line| !line.trim().is_empty())
            .map(|line| serde_json::from_str(line).unwrap_or(Value::Null))
            .collect()
    }
}

#[derive(Default)]
struct Log {
    requests: Mutex<Vec<Received>>,
}

/// A real HTTP/1.1 server on loopback that records every request and answers with a
/// status the test chooses (200 unless told otherwise).
pub struct Receiver {
    addr: SocketAddr,
    status: Arc<AtomicU16>,
    log: Arc<Log>,
    stop: Arc<AtomicBool>,
    server: Arc<tiny_http::Server>,
    worker: Option<thread::JoinHandle<()>>,
}

impl Receiver {
    /// Starts on a free loopback port.
    pub fn start() -> Receiver {
        Receiver::start_on("127.0.0.1:0")
    }

    /// Starts on `addr` (e.g. a port a test reserved earlier).
    pub fn start_on(addr: &str) -> Receiver {
        let server = Arc::new(tiny_http::Server::http(addr).expect("bind the test receiver"));
        let addr = server
            .server_addr()
            .to_ip()
            .expect("the test receiver listens on IP");
        let status = Arc::new(AtomicU16::new(200));
        let log = Arc::new(Log::default());
        let stop = Arc::new(AtomicBool::new(false));
        let worker = {
            let (server, status, log, stop) =
                (server.clone(), status.clone(), log.clone(), stop.clone());
            thread::spawn(move || serve(&server, &status, &log, &stop))
        };
        Receiver {
            addr,
            status,
            log,
            stop,
            server,
            worker: Some(worker),
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Answer every later request with `status`.
    pub fn respond_with(&self, status: u16) {
        self.status.store(status, Ordering::SeqCst);
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Received> {
        self.log
            .requests
            .lock()
            .map(|r| r.clone())
            .unwrap_or_default()
    }

    /// Every event so far, across requests, in arrival order.
    pub fn events(&self) -> Vec<Value> {
        self.requests().iter().flat_map(Received::events).collect()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.server.unblock();
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}

/// A request as received (`None` when its body cannot be read to the end).
fn read(request: &mut tiny_http::Request) -> Option<Received> {
    let mut body = Vec::new();
    request.as_reader().read_to_end(&mut body).ok()?;
    Some(Received {
        method: request.method().as_str().to_owned(),
        url: request.url().to_owned(),
        headers: request
            .headers()
            .iter()
            .map(|h| {
                (
                    h.field.as_str().as_str().to_ascii_lowercase(),
                    h.value.as_str().to_owned(),
                )
            })
            .collect(),
        body,
    })
}

fn serve(server: &tiny_http::Server, status: &AtomicU16, log: &Log, stop: &AtomicBool) {
    while !stop.load(Ordering::SeqCst) {
        let Ok(mut request) = server.recv() else {
            break;
        };
        let Some(received) = read(&mut request) else {
            continue;
        };
        let code = status.load(Ordering::SeqCst);
        // Record before answering: a client that saw 2xx may rely on the event being here.
        if let Ok(mut requests) = log.requests.lock() {
            requests.push(received);
        }
        let _ = request.respond(tiny_http::Response::from_string("{}").with_status_code(code));
    }
}

/// A real HTTP/1.1 server on loopback that records every request, passes it on to an
/// upstream server unchanged (method, path, body, content headers), and answers with the
/// upstream's status, content type and body.
pub struct Relay {
    addr: SocketAddr,
    log: Arc<Log>,
    statuses: Arc<Mutex<Vec<u16>>>,
    server: Arc<tiny_http::Server>,
    worker: Option<thread::JoinHandle<()>>,
}

impl Relay {
    /// Starts on a free loopback port, relaying to `upstream` (`http://127.0.0.1:PORT`).
    pub fn start(upstream: &str) -> Relay {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("bind the relay"));
        let addr = server
            .server_addr()
            .to_ip()
            .expect("the relay listens on IP");
        let upstream = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        let log = Arc::new(Log::default());
        let statuses = Arc::new(Mutex::new(Vec::new()));
        let worker = {
            let (server, log, statuses) = (server.clone(), log.clone(), statuses.clone());
            thread::spawn(move || {
                while let Ok(mut request) = server.recv() {
                    let Some(received) = read(&mut request) else {
                        continue;
                    };
                    let (status, content_type, answer) = pass_on(&upstream, &received);
                    if let Ok(mut requests) = log.requests.lock() {
                        requests.push(received);
                    }
                    if let Ok(mut statuses) = statuses.lock() {
                        statuses.push(status);
                    }
                    let mut response =
                        tiny_http::Response::from_data(answer).with_status_code(status);
                    if let Ok(header) = tiny_http::Header::from_bytes("Content-Type", content_type)
                    {
                        response = response.with_header(header);
                    }
                    let _ = request.respond(response);
                }
            })
        };
        Relay {
            addr,
            log,
            statuses,
            server,
            worker: Some(worker),
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request so far, as the client sent it.
    pub fn requests(&self) -> Vec<Received> {
        self.log
            .requests
            .lock()
            .map(|r| r.clone())
            .unwrap_or_default()
    }

    /// The upstream's status for each request, in the same order (502: unreachable).
    pub fn statuses(&self) -> Vec<u16> {
        self.statuses.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}

/// One request to `upstream` (`host:port`) over a fresh connection; its status, content
/// type and body (502 and nothing when it cannot be had).
fn pass_on(upstream: &str, request: &Received) -> (u16, String, Vec<u8>) {
    let failed = (502, "text/plain".to_owned(), Vec::new());
    let Ok(mut stream) = TcpStream::connect(upstream) else {
        return failed;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let mut head = format!(
        "{} {} HTTP/1.1\r\nHost: {upstream}\r\nConnection: close\r\nContent-Length: {}\r\n",
        request.method,
        request.url,
        request.body.len()
    );
    for (name, value) in &request.headers {
        if matches!(
            name.as_str(),
            "content-type" | "content-encoding" | "authorization" | "user-agent"
        ) {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    head.push_str("\r\n");
    let mut answer = Vec::new();
    let sent = stream
        .write_all(head.as_bytes())
        .and_then(|()| stream.write_all(&request.body))
        .and_then(|()| stream.read_to_end(&mut answer));
    if sent.is_err() {
        return failed;
    }
    let Some(split) = answer.windows(4).position(|w| w == b"\r\n\r\n") else {
        return failed;
    };
    let head = String::from_utf8_lossy(&answer[..split]).into_owned();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(502);
    let content_type = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-type")
                .then(|| value.trim().to_owned())
        })
        .unwrap_or_else(|| "text/plain".to_owned());
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    let body = answer[split + 4..].to_vec();
    let body = if chunked { unchunk(&body) } else { body };
    (status, content_type, body)
}

/// A chunked body's content.
fn unchunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(end) = body.windows(2).position(|w| w == b"\r\n") {
        let size = std::str::from_utf8(&body[..end])
            .ok()
            .and_then(|s| usize::from_str_radix(s.split(';').next().unwrap_or("").trim(), 16).ok())
            .unwrap_or(0);
        if size == 0 || body.len() < end + 2 + size {
            break;
        }
        out.extend_from_slice(&body[end + 2..end + 2 + size]);
        body = &body[(end + 4 + size).min(body.len())..];
    }
    out
}

/// A server that answers every GET with the same text (a stand-in for a metrics
/// exporter whose output was captured).
pub struct Static {
    server: Arc<tiny_http::Server>,
    addr: SocketAddr,
    worker: Option<thread::JoinHandle<()>>,
}

impl Static {
    /// Serves `body` with `content_type` on a free loopback port.
    pub fn serving(body: &str, content_type: &str) -> Static {
        let server =
            Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("bind the static server"));
        let addr = server
            .server_addr()
            .to_ip()
            .expect("the static server listens on IP");
        let worker = {
            let (server, body) = (server.clone(), body.to_owned());
            let header = tiny_http::Header::from_bytes("Content-Type", content_type)
                .expect("a valid header");
            thread::spawn(move || {
                while let Ok(request) = server.recv() {
                    let _ = request.respond(
                        tiny_http::Response::from_string(body.clone()).with_header(header.clone()),
                    );
                }
            })
        };
        Static {
            server,
            addr,
            worker: Some(worker),
        }
    }

    /// `127.0.0.1:PORT`.
    pub fn address(&self) -> String {
        self.addr.to_string()
    }
}

impl Drop for Static {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}

/// A server that accepts connections and never answers.
pub struct Hanging {
    addr: SocketAddr,
    connections: Arc<AtomicUsize>,
}

impl Hanging {
    /// Starts on a free loopback port.
    pub fn start() -> Hanging {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the hanging server");
        let addr = listener.local_addr().expect("hanging server address");
        let connections = Arc::new(AtomicUsize::new(0));
        let counter = connections.clone();
        thread::spawn(move || {
            let mut held = Vec::new();
            for stream in listener.incoming().flatten() {
                counter.fetch_add(1, Ordering::SeqCst);
                held.push(stream); // keep it open, say nothing
            }
        });
        Hanging { addr, connections }
    }

    /// How many connections it has accepted.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// A server that answers every request with bytes that are not HTTP.
pub struct Garbage {
    addr: SocketAddr,
}

impl Garbage {
    /// Starts on a free loopback port.
    pub fn start() -> Garbage {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the garbage server");
        let addr = listener.local_addr().expect("garbage server address");
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                thread::spawn(move || answer_garbage(stream));
            }
        });
        Garbage { addr }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

fn answer_garbage(mut stream: TcpStream) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let mut buf = [0u8; 4096];
    let _ = stream.read(&mut buf);
    let _ = stream.write_all(b"\x00\xffSMTP READY\r\n\r\nnot http at all\r\n");
}

/// A loopback address nothing listens on (bound, then released).
pub fn closed_port_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("reserve a port");
    let addr = listener.local_addr().expect("reserved port address");
    drop(listener);
    format!("http://{addr}")
}
