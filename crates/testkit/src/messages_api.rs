//! A local fake of the Anthropic Messages API, enough for the real Claude Code CLI to
//! run scripted sessions offline: `POST /v1/messages` answered as the real API answers
//! (server-sent events when `stream` is set, one JSON message otherwise), with
//! realistic `usage`, scripted replies, scripted errors, and a log of every request.
//!
//! Replies are scripted per conversation: the conversation is named by its first user
//! message (a subagent's conversation starts with its own task), and the reply is the
//! script's entry at the number of assistant messages already in the request. Requests
//! that offer no tools (Claude Code's side calls) get a short text.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

use serde_json::{Value, json};

/// What the model "says" in one turn.
#[derive(Debug, Clone)]
pub enum Reply {
    /// Plain text; the turn ends.
    Text(String),
    /// A tool call: Claude Code runs the tool and sends the result in the next request.
    Tool {
        /// The tool (`Bash`, `Read`, `Write`, `Edit`, `Task`, …).
        name: String,
        /// Its input.
        input: Value,
    },
    /// An HTTP error with the API's error body (`429` rate_limit_error, `529`
    /// overloaded_error); Claude Code retries it.
    Error {
        /// The status.
        status: u16,
        /// The error type.
        kind: String,
    },
}

impl Reply {
    /// A `Bash` call.
    pub fn bash(command: &str) -> Reply {
        Reply::Tool {
            name: "Bash".to_owned(),
            input: json!({"command": command, "description": "scripted"}),
        }
    }

    /// Any tool call.
    pub fn tool(name: &str, input: Value) -> Reply {
        Reply::Tool {
            name: name.to_owned(),
            input,
        }
    }

    /// Text.
    pub fn text(text: &str) -> Reply {
        Reply::Text(text.to_owned())
    }
}

/// Token counts every successful reply reports, as the real API does in `usage`.
#[derive(Debug, Clone, Copy)]
pub struct Usage {
    /// Uncached input tokens.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Input tokens read from the prompt cache.
    pub cache_read_input_tokens: u64,
    /// Input tokens written to the prompt cache.
    pub cache_creation_input_tokens: u64,
}

impl Default for Usage {
    fn default() -> Self {
        Usage {
            input_tokens: 1200,
            output_tokens: 80,
            cache_read_input_tokens: 5000,
            cache_creation_input_tokens: 300,
        }
    }
}

/// One turn of a script: the errors given first (each retried by Claude Code), then the
/// reply.
#[derive(Debug, Clone)]
struct Turn {
    errors: Vec<Reply>,
    reply: Reply,
}

#[derive(Default)]
struct State {
    /// Script by the conversation's first user message (a substring of it).
    scripts: Vec<(String, Vec<Turn>)>,
    /// Errors still to give, per conversation and turn, before the scripted reply.
    errors_given: HashMap<(String, usize), usize>,
    requests: Vec<Value>,
    successes: u64,
}

/// The fake API on a loopback port.
pub struct MessagesApi {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    usage: Usage,
    stop: Arc<AtomicBool>,
    server: Arc<tiny_http::Server>,
    worker: Option<thread::JoinHandle<()>>,
}

impl MessagesApi {
    /// Starts with no scripts: every conversation gets text.
    pub fn start(usage: Usage) -> MessagesApi {
        MessagesApi::start_on("127.0.0.1:0", usage)
    }

    /// Starts on `listen` (`IP:PORT`, port 0 for any free one): a container reaches it
    /// on its network's gateway address.
    pub fn start_on(listen: &str, usage: Usage) -> MessagesApi {
        let server = Arc::new(tiny_http::Server::http(listen).expect("bind the fake Messages API"));
        let addr = server
            .server_addr()
            .to_ip()
            .expect("the fake API listens on IP");
        let state = Arc::new(Mutex::new(State::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let ids = Arc::new(AtomicU64::new(1));
        let worker = {
            let (server, state, stop) = (server.clone(), state.clone(), stop.clone());
            thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    let Ok(request) = server.recv() else { break };
                    answer(request, &state, usage, &ids);
                }
            })
        };
        MessagesApi {
            addr,
            state,
            usage,
            stop,
            server,
            worker: Some(worker),
        }
    }

    /// Scripts the conversation whose first user message contains `opening`. An
    /// `Error` answers the request for the turn after it, once per retry.
    pub fn script(&self, opening: &str, replies: Vec<Reply>) {
        let mut turns = Vec::new();
        let mut errors = Vec::new();
        for reply in replies {
            match reply {
                Reply::Error { .. } => errors.push(reply),
                reply => turns.push(Turn {
                    errors: std::mem::take(&mut errors),
                    reply,
                }),
            }
        }
        if let Ok(mut state) = self.state.lock() {
            state.scripts.push((opening.to_owned(), turns));
        }
    }

    /// `http://IP:PORT`, for `ANTHROPIC_BASE_URL`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The usage every successful reply reports.
    pub fn usage(&self) -> Usage {
        self.usage
    }

    /// Every `POST /v1/messages` body so far.
    pub fn requests(&self) -> Vec<Value> {
        self.state
            .lock()
            .map(|s| s.requests.clone())
            .unwrap_or_default()
    }

    /// Successful (2xx) replies so far: each reported `usage()` once.
    pub fn successes(&self) -> u64 {
        self.state.lock().map(|s| s.successes).unwrap_or(0)
    }
}

impl Drop for MessagesApi {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.server.unblock();
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}

/// The text of a message's content: a string, or its text blocks.
fn text_of(content: &Value) -> String {
    match content {
        Value::String(text) => text.clone(),
        Value::Array(blocks) => blocks
            .iter()
            .filter_map(|b| b["text"].as_str())
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

fn answer(mut request: tiny_http::Request, state: &Mutex<State>, usage: Usage, ids: &AtomicU64) {
    let mut body = Vec::new();
    let _ = request.as_reader().read_to_end(&mut body);
    if !(request.method() == &tiny_http::Method::Post && request.url().starts_with("/v1/messages"))
    {
        // Claude Code's connectivity probe (`HEAD /`) and anything else: fine.
        let _ = request.respond(tiny_http::Response::from_string("{}").with_status_code(200));
        return;
    }
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let id = ids.fetch_add(1, Ordering::SeqCst);
    let model = body["model"]
        .as_str()
        .unwrap_or("claude-sonnet-4-5")
        .to_owned();
    let messages = body["messages"].as_array().cloned().unwrap_or_default();
    let opening = messages
        .iter()
        .find(|m| m["role"] == "user")
        .map(|m| text_of(&m["content"]))
        .unwrap_or_default();
    let turn = messages.iter().filter(|m| m["role"] == "assistant").count();
    let offers_tools = body["tools"].as_array().is_some_and(|t| !t.is_empty());
    let stream = body["stream"].as_bool().unwrap_or(false);
    let reply = {
        let Ok(mut state) = state.lock() else { return };
        state.requests.push(body.clone());
        let script = state
            .scripts
            .iter()
            .find(|(key, _)| opening.contains(key.as_str()))
            .map(|(key, turns)| (key.clone(), turns.get(turn).cloned()));
        let reply = match (script, offers_tools) {
            (Some((key, Some(Turn { errors, reply }))), true) => {
                let given = state.errors_given.entry((key, turn)).or_insert(0);
                match errors.get(*given) {
                    Some(error) => {
                        *given += 1;
                        error.clone()
                    }
                    None => reply,
                }
            }
            (Some((_, None)), true) => Reply::text("Done."),
            _ => Reply::text("Noted."),
        };
        if !matches!(reply, Reply::Error { .. }) {
            state.successes += 1;
        }
        reply
    };
    let _ = match reply {
        Reply::Error { status, kind } => {
            let error =
                json!({"type": "error", "error": {"type": kind, "message": "scripted error"}});
            request.respond(
                tiny_http::Response::from_string(error.to_string())
                    .with_status_code(status)
                    .with_header(header("content-type", "application/json"))
                    .with_header(header("retry-after", "0")),
            )
        }
        reply if stream => request.respond(
            tiny_http::Response::from_string(sse(&reply, id, &model, usage))
                .with_header(header("content-type", "text/event-stream")),
        ),
        reply => request.respond(
            tiny_http::Response::from_string(message(&reply, id, &model, usage).to_string())
                .with_header(header("content-type", "application/json")),
        ),
    };
}

fn header(name: &str, value: &str) -> tiny_http::Header {
    tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes()).expect("a valid header")
}

fn usage_json(usage: Usage, output_tokens: u64) -> Value {
    json!({
        "input_tokens": usage.input_tokens,
        "cache_creation_input_tokens": usage.cache_creation_input_tokens,
        "cache_read_input_tokens": usage.cache_read_input_tokens,
        "output_tokens": output_tokens,
    })
}

fn block(reply: &Reply, id: u64) -> Value {
    match reply {
        Reply::Tool { name, input } => {
            json!({"type": "tool_use", "id": format!("toolu_{id:020}"), "name": name, "input": input})
        }
        Reply::Text(text) => json!({"type": "text", "text": text}),
        Reply::Error { .. } => Value::Null,
    }
}

fn stop_reason(reply: &Reply) -> &'static str {
    if matches!(reply, Reply::Tool { .. }) {
        "tool_use"
    } else {
        "end_turn"
    }
}

/// A whole message, as a non-streaming request gets it.
fn message(reply: &Reply, id: u64, model: &str, usage: Usage) -> Value {
    json!({
        "id": format!("msg_{id:020}"), "type": "message", "role": "assistant", "model": model,
        "content": [block(reply, id)], "stop_reason": stop_reason(reply), "stop_sequence": null,
        "usage": usage_json(usage, usage.output_tokens),
    })
}

/// The same message as the API streams it: message_start (input usage), one content
/// block in start/delta/stop, message_delta (stop reason, output usage), message_stop.
fn sse(reply: &Reply, id: u64, model: &str, usage: Usage) -> String {
    let mut events = vec![(
        "message_start",
        json!({"type": "message_start", "message": {
            "id": format!("msg_{id:020}"), "type": "message", "role": "assistant", "model": model,
            "content": [], "stop_reason": null, "stop_sequence": null, "usage": usage_json(usage, 1)}}),
    )];
    let (start, delta) = match reply {
        Reply::Tool { name, input } => (
            json!({"type": "tool_use", "id": format!("toolu_{id:020}"), "name": name, "input": {}}),
            json!({"type": "input_json_delta", "partial_json": input.to_string()}),
        ),
        Reply::Text(text) => (
            json!({"type": "text", "text": ""}),
            json!({"type": "text_delta", "text": text}),
        ),
        Reply::Error { .. } => (Value::Null, Value::Null),
    };
    events.push((
        "content_block_start",
        json!({"type": "content_block_start", "index": 0, "content_block": start}),
    ));
    events.push(("ping", json!({"type": "ping"})));
    events.push((
        "content_block_delta",
        json!({"type": "content_block_delta", "index": 0, "delta": delta}),
    ));
    events.push((
        "content_block_stop",
        json!({"type": "content_block_stop", "index": 0}),
    ));
    events.push((
        "message_delta",
        json!({"type": "message_delta",
        "delta": {"stop_reason": stop_reason(reply), "stop_sequence": null},
        "usage": {"output_tokens": usage.output_tokens}}),
    ));
    events.push(("message_stop", json!({"type": "message_stop"})));
    events
        .iter()
        .map(|(name, data)| format!("event: {name}\ndata: {data}\n\n"))
        .collect()
}
