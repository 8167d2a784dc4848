//! The built-in page, driven in headless Chromium (Debian's `chromium`) over the
//! DevTools protocol, against a collector fed with realistic sessions.

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use collector::query::{self, Filter, GroupBy, Window};
use serde_json::{Value, json};
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

use crate::dashboards::feed;
use crate::prometheus::encode;
use crate::support::collector::{Collector, request};
use crate::support::sample;

/// A headless Chromium with its DevTools endpoint on a free port (also driven by the
/// hostile-client tests).
pub(crate) struct Browser {
    child: Child,
    port: u16,
    _profile: tempfile::TempDir,
}

impl Browser {
    pub(crate) fn launch(extra: &[&str]) -> Browser {
        let profile = tempfile::tempdir().unwrap();
        let mut child = Command::new("chromium")
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--remote-debugging-port=0",
                "--window-size=1280,900",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .args(extra)
            .arg("about:blank")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("chromium is needed (Debian package; scripts/test installs it)");
        let stderr = child.stderr.take().unwrap();
        let (found, port) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("ws://127.0.0.1:").nth(1) {
                    let _ = found.send(rest.split('/').next().unwrap_or("").parse::<u16>());
                }
            }
        });
        let port = port
            .recv_timeout(Duration::from_secs(60))
            .expect("chromium announced its DevTools port")
            .unwrap();
        Browser {
            child,
            port,
            _profile: profile,
        }
    }

    /// The first tab, over a DevTools websocket.
    /// A new tab of its own: pages opened in two tabs are two pages at once.
    pub(crate) fn tab(&self) -> Tab {
        let (status, body) = request(
            "PUT",
            &format!("http://127.0.0.1:{}/json/new?about:blank", self.port),
            Some(b""),
            &[],
        );
        assert_eq!(status, 200, "{body}");
        let page: Value = serde_json::from_str(&body).unwrap();
        let (socket, _) =
            tungstenite::connect(page["webSocketDebuggerUrl"].as_str().unwrap()).unwrap();
        Tab { socket, next_id: 0 }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) struct Tab {
    socket: WebSocket<MaybeTlsStream<TcpStream>>,
    next_id: u64,
}

impl Tab {
    /// One DevTools command, answered (events in between are skipped).
    pub(crate) fn call(&mut self, method: &str, params: Value) -> Value {
        self.try_call(method, params)
            .unwrap_or_else(|error| panic!("{method}: {error}"))
    }

    /// A command that may fail for a reason the caller expects (a node gone mid-load).
    fn try_call(&mut self, method: &str, params: Value) -> Result<Value, Value> {
        self.next_id += 1;
        let id = self.next_id;
        let command = json!({"id": id, "method": method, "params": params});
        self.socket
            .send(Message::text(command.to_string()))
            .unwrap();
        loop {
            let Message::Text(text) = self.socket.read().unwrap() else {
                continue;
            };
            let answer: Value = serde_json::from_str(text.as_str()).unwrap();
            if answer["id"] == id {
                return match answer["error"].is_null() {
                    true => Ok(answer["result"].clone()),
                    false => Err(answer["error"].clone()),
                };
            }
        }
    }

    pub(crate) fn eval(&mut self, expression: &str) -> Value {
        let result = self.call(
            "Runtime.evaluate",
            json!({"expression": expression, "returnByValue": true, "awaitPromise": true}),
        );
        assert!(
            result["exceptionDetails"].is_null(),
            "{expression}: {result}"
        );
        result["result"]["value"].clone()
    }

    /// Evaluates until `accept` takes the value (a thrown exception is no value), or
    /// fails after a deadline.
    pub(crate) fn eval_until(
        &mut self,
        expression: &str,
        accept: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            // While a page loads, its context may come and go: that is "not yet".
            let value = self
                .try_call(
                    "Runtime.evaluate",
                    json!({"expression": expression, "returnByValue": true}),
                )
                .map_or(Value::Null, |result| result["result"]["value"].clone());
            if accept(&value) {
                return value;
            }
            assert!(
                Instant::now() < deadline,
                "{expression}: never accepted, last {value}"
            );
            std::thread::sleep(Duration::from_millis(100)); // polling the page, bounded
        }
    }

    pub(crate) fn open(&mut self, url: &str) {
        self.call("Page.navigate", json!({"url": url}));
        self.eval_until(
            &format!(
                "location.href === {} && document.readyState === 'complete'",
                json!(url)
            ),
            |v| v == true,
        );
    }

    pub(crate) fn screenshot(&mut self, name: &str) {
        let shot = self.call("Page.captureScreenshot", json!({"format": "png"}));
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().unwrap())
            .unwrap();
        assert!(png.starts_with(b"\x89PNG"), "not a PNG");
        let dir = artifacts();
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(name), png).unwrap();
    }
}

/// Where tests leave what a person may want to look at.
fn artifacts() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../target/test-artifacts"
    ))
}

fn number(text: &str) -> f64 {
    text.trim()
        .trim_start_matches('$')
        .replace(',', "")
        .parse()
        .unwrap_or_else(|_| panic!("not a figure: {text:?}"))
}

fn tokens(row: &query::UsageRow) -> f64 {
    (row.input_tokens + row.output_tokens + row.cache_read_tokens + row.cache_creation_tokens)
        as f64
}

fn week() -> Window {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    Window {
        since_ms: now - 7 * 86_400_000,
        until_ms: now + 60_000,
    }
}

fn figure(tab: &mut Tab, id: &str) -> f64 {
    number(&figure_text(tab, id))
}

fn figure_text(tab: &mut Tab, id: &str) -> String {
    tab.eval(&format!(
        "document.querySelector('[data-figure={id}]').textContent"
    ))
    .as_str()
    .unwrap()
    .to_owned()
}

/// Whether `text` is how the page shows `usd`: to the cent, thousands separated, and
/// `<$0.01` for an amount above zero that rounds to no cent.
pub(crate) fn is_money(text: &str, usd: f64) -> bool {
    if text.trim() == "<$0.01" {
        return usd > 0.0 && usd < 0.005;
    }
    let cents = text.trim().split_once('.').map(|(_, c)| c.len());
    cents == Some(2) && (number(text) - usd).abs() <= 0.005 + 1e-9
}

/// Rows of a table as cell texts.
fn rows(tab: &mut Tab, table: &str) -> Vec<Vec<String>> {
    let value = tab.eval(&format!("[...document.querySelectorAll('#{table} tbody tr')].map(r => [...r.cells].map(c => c.textContent))"));
    serde_json::from_value(value).unwrap()
}

fn deny(collector: &Collector, dir: &Path, session: &str) {
    let mut event = sample("PreToolUse:Bash");
    event["session_id"] = json!(session);
    event["tool_input"]["command"] = json!("rm -rf /");
    let output = collector.hook(dir, "Late Comer", &event);
    assert!(String::from_utf8_lossy(&output.stdout).contains("deny"));
}

#[test]
fn the_page_shows_what_the_store_holds_and_updates_itself() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let collector = Collector::start(&data);
    feed(&collector, dir.path(), 0);
    feed(&collector, dir.path(), 1);

    let browser = Browser::launch(&[]);
    let mut tab = browser.tab();
    tab.call("Page.enable", json!({}));
    tab.open(&format!("{}/", collector.url));

    // Figures equal the store's.
    let week_total = query::usage(&data, week(), GroupBy::Day, &Filter::default())
        .unwrap()
        .pop()
        .unwrap();
    assert!(
        week_total.cost_usd > 0.0 && week_total.blocks >= 4,
        "{week_total:?}"
    );
    assert!(is_money(
        &figure_text(&mut tab, "cost-range"),
        week_total.cost_usd
    ));
    assert_eq!(figure(&mut tab, "tokens-range"), tokens(&week_total));
    assert_eq!(
        figure(&mut tab, "sessions-range"),
        week_total.sessions as f64
    );
    assert_eq!(figure(&mut tab, "blocks-range"), week_total.blocks as f64);
    let mut by_user = query::usage(&data, week(), GroupBy::User, &Filter::default()).unwrap();
    by_user.pop();
    let shown = rows(&mut tab, "by-user");
    assert_eq!(shown.len(), by_user.len());
    for (row, store) in shown.iter().zip(&by_user) {
        assert_eq!(row[0], store.key);
        assert_eq!(number(&row[1]), store.sessions as f64);
        assert!(is_money(&row[4], store.cost_usd), "{row:?} {store:?}");
    }
    let sessions = query::sessions(&data, week(), 100, &Filter::default()).unwrap();
    let shown = rows(&mut tab, "sessions");
    assert_eq!(
        shown.iter().map(|r| r[0].clone()).collect::<Vec<_>>(),
        sessions
            .iter()
            .map(|s| s.session_id.clone())
            .collect::<Vec<_>>()
    );
    // The most expensive sessions of the week, as the store ranks them.
    let costliest = query::costliest_sessions(&data, week(), 10, &Filter::default()).unwrap();
    assert!(!costliest.is_empty());
    let shown = rows(&mut tab, "costliest");
    assert_eq!(shown.len(), costliest.len(), "{shown:?}");
    for (row, store) in shown.iter().zip(&costliest) {
        assert_eq!(row[0], store.key);
        assert_eq!(Some(&row[1]), store.user.as_ref());
        assert!(is_money(&row[4], store.cost_usd), "{row:?} {store:?}");
    }
    let blocked = rows(&mut tab, "blocked");
    assert_eq!(blocked.len() as u64, week_total.blocks);
    assert!(
        blocked
            .iter()
            .any(|r| r[3].starts_with("rm.") && r[5] == "rm -rf ~"),
        "{blocked:?}"
    );
    // Times as everywhere on the page: `2026-11-29 05:52:33`.
    assert!(
        blocked
            .iter()
            .all(|r| r[0].len() == 19 && r[0].as_bytes()[10] == b' ' && !r[0].contains(['T', 'Z'])),
        "{blocked:?}"
    );
    assert!(
        tab.eval("document.querySelectorAll('#chart-cost-by-day rect').length")
            .as_u64()
            >= Some(1)
    );
    tab.screenshot("page-overview.png");

    // A new event appears without a reload: the page keeps its state.
    tab.eval("window.stillTheSamePage = true");
    deny(&collector, dir.path(), "late-session");
    tab.eval_until(
        "document.querySelector('[data-figure=blocks-range]').textContent",
        |v| v.as_str().map(number) == Some(week_total.blocks as f64 + 1.0),
    );
    let shown = rows(&mut tab, "sessions");
    assert_eq!(shown[0][0], "late-session");
    assert_eq!(tab.eval("window.stillTheSamePage === true"), json!(true));

    // A session's timeline: its events, in order, as the store holds them.
    let session = &sessions
        .iter()
        .find(|s| s.usage.blocks > 0)
        .unwrap()
        .session_id;
    tab.open(&format!("{}/sessions/{}", collector.url, encode(session)));
    // The hook events of tool calls are in the tool calls' table, not the timeline.
    let expected: Vec<String> = query::timeline(&data, session, 10_000)
        .unwrap()
        .into_iter()
        .filter(|e| e.source == "hook" && !query::TOOL_CALL_EVENTS.contains(&e.name.as_str()))
        .map(|e| e.name)
        .collect();
    let shown = rows(&mut tab, "timeline");
    assert_eq!(
        shown.iter().map(|r| r[2].clone()).collect::<Vec<_>>(),
        expected
    );
    assert!(shown.windows(2).all(|w| w[0][0] <= w[1][0]), "{shown:?}");
    // One row per tool call, as the store pairs them, the guard's block among them.
    let calls = query::tool_calls(&data, session, 10_000).unwrap();
    let shown = rows(&mut tab, "tool-calls");
    assert_eq!(
        shown.iter().map(|r| r[2].clone()).collect::<Vec<_>>(),
        calls.iter().map(|c| c.outcome.clone()).collect::<Vec<_>>()
    );
    assert!(shown.iter().any(|r| r[2] == "blocked"), "{shown:?}");
    tab.screenshot("page-session.png");

    // Readable on a phone: nothing wider than the screen but the tables, which scroll.
    tab.call(
        "Emulation.setDeviceMetricsOverride",
        json!({"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": true}),
    );
    tab.open(&format!("{}/", collector.url));
    assert_eq!(
        tab.eval("document.documentElement.scrollWidth <= window.innerWidth"),
        json!(true)
    );
    tab.screenshot("page-overview-phone.png");
}

#[test]
fn behind_a_token_a_person_signs_in_and_the_page_keeps_itself_current() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let token = "a-long-enough-test-token";
    let collector = Collector::start_with(&data, &[], &[("CLAUDE_TELEMETRY_TOKEN", token)]);
    feed(&collector, dir.path(), 0);
    let browser = Browser::launch(&[]);
    let mut tab = browser.tab();
    let session = &query::sessions(&data, week(), 1, &Filter::default()).unwrap()[0].session_id;
    let asked = format!("{}/sessions/{}", collector.url, encode(session));
    tab.open(&asked);
    tab.eval_until(
        "!!document.querySelector('form#sign-in input[name=token]')",
        |v| v == true,
    );
    tab.screenshot("page-sign-in.png");

    // A wrong token first: told so, still on the form.
    tab.eval("document.querySelector('input[name=token]').value = 'not-the-token-at-all'; document.querySelector('form#sign-in').submit(); true");
    tab.eval_until(
        "document.querySelector('[role=alert]')?.textContent ?? ''",
        |v| v.as_str().is_some_and(|t| t.contains("not this collector")),
    );
    // The token: the page asked for, then the overview, as anyone with the token sees it.
    tab.eval(&format!(
        "document.querySelector('input[name=token]').value = {}; document.querySelector('form#sign-in').submit(); true",
        json!(token)
    ));
    tab.eval_until("location.href", |v| v.as_str() == Some(asked.as_str()));
    let expected = query::tool_calls(&data, session, 10_000).unwrap();
    tab.eval_until(
        "document.querySelectorAll('#tool-calls tbody tr').length",
        |v| v.as_u64() == Some(expected.len() as u64),
    );
    tab.open(&format!("{}/", collector.url));
    let week_total = query::usage(&data, week(), GroupBy::Day, &Filter::default())
        .unwrap()
        .pop()
        .unwrap();
    assert_eq!(figure(&mut tab, "blocks-range"), week_total.blocks as f64);
    // Its refreshes carry the cookie: a new block shows up without a reload.
    deny(&collector, dir.path(), "late-session");
    tab.eval_until(
        "document.querySelector('[data-figure=blocks-range]').textContent",
        |v| v.as_str().map(number) == Some(week_total.blocks as f64 + 1.0),
    );
    // The script cannot read the cookie (HttpOnly).
    assert_eq!(tab.eval("document.cookie"), json!(""));
}

#[test]
fn without_javascript_the_tables_are_all_there() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let collector = Collector::start(&data);
    feed(&collector, dir.path(), 0);
    let browser = Browser::launch(&[]);
    let mut tab = browser.tab();
    tab.call(
        "Emulation.setScriptExecutionDisabled",
        json!({"value": true}),
    );
    tab.call(
        "Page.navigate",
        json!({"url": format!("{}/", collector.url)}),
    );
    // The DOM domain reads the page without running any of its script.
    let deadline = Instant::now() + Duration::from_secs(30);
    let dom = loop {
        let root = tab.call("DOM.getDocument", json!({}));
        // The document may be replaced between the two calls while the page loads.
        let html = tab
            .try_call(
                "DOM.getOuterHTML",
                json!({"nodeId": root["root"]["nodeId"]}),
            )
            .unwrap_or_default();
        let html = html["outerHTML"].as_str().unwrap_or("").to_owned();
        // A document still being parsed serialises with its open elements closed, so
        // `</main>` alone is no sign of the end: the page's script, after `main`, is.
        if html.contains("</main><script>") {
            break html;
        }
        assert!(Instant::now() < deadline, "the page never loaded: {html}");
        std::thread::sleep(Duration::from_millis(100)); // waiting for the load, bounded
    };
    for session in query::sessions(&data, week(), 100, &Filter::default()).unwrap() {
        assert!(
            dom.contains(&format!(">{}</a>", session.session_id)),
            "{} missing from the page:\n{dom}",
            session.session_id
        );
    }
    for table in ["by-model", "by-user", "sessions", "tools", "api", "blocked"] {
        assert!(
            dom.contains(&format!("<table id=\"{table}\">")),
            "{table} missing"
        );
    }
    assert!(dom.contains("rm -rf ~"), "the blocked command is listed");
}

#[test]
fn the_overview_is_read_once_while_nothing_is_stored_and_again_after() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start(&dir.path().join("data"));
    feed(&collector, dir.path(), 0);
    let overview = || -> Value {
        let (status, body) = collector.get("/api/v1/overview");
        assert_eq!(status, 200, "{body}");
        serde_json::from_str(&body).unwrap()
    };
    // `now_ms` says when a read happened: the same read serves both requests (unless
    // the minute turned in between, which starts a new read by design).
    let (first, second) = loop {
        let (first, second) = (overview(), overview());
        let minute = |v: &Value| v["now_ms"].as_i64().unwrap() / 60_000;
        if minute(&first) == minute(&second) || second["now_ms"] == first["now_ms"] {
            break (first, second);
        }
    };
    assert_eq!(first["now_ms"], second["now_ms"], "read twice");
    // A new event is a new read, with it counted: at once, or — when the first read was
    // slow (a loaded machine), which the overview reuses for a few times its reading
    // time by design — once that pause is over.
    deny(&collector, dir.path(), "late-session");
    let deadline = Instant::now() + Duration::from_secs(30);
    let third = loop {
        let third = overview();
        if third["now_ms"] != first["now_ms"] {
            break third;
        }
        assert!(Instant::now() < deadline, "never read again after an event");
    };
    assert_eq!(
        third["total"]["blocks"].as_u64().unwrap(),
        first["total"]["blocks"].as_u64().unwrap() + 1
    );
}

#[test]
fn the_page_json_answers_and_bad_parameters_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let collector = Collector::start(&data);
    feed(&collector, dir.path(), 0);
    let (status, body) = collector.get("/api/v1/usage?by=user&since=30d");
    assert_eq!(status, 200, "{body}");
    let rows: Vec<Value> = serde_json::from_str(&body).unwrap();
    let store = query::usage(&data, week(), GroupBy::User, &Filter::default()).unwrap();
    assert_eq!(rows.len(), store.len());
    assert_eq!(rows.last().unwrap()["key"], "TOTAL");
    let (status, body) = collector.get("/api/v1/sessions");
    assert_eq!(status, 200);
    let sessions: Vec<Value> = serde_json::from_str(&body).unwrap();
    let id = sessions[0]["session_id"].as_str().unwrap();
    let (status, body) = collector.get(&format!("/api/v1/sessions/{}/timeline", encode(id)));
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<Vec<Value>>(&body).unwrap().len(),
        query::timeline(&data, id, 10_000).unwrap().len()
    );
    let (status, body) = collector.get("/api/v1/audit");
    assert_eq!(status, 200);
    assert!(body.contains("rm.") && body.contains("rm -rf ~"), "{body}");
    assert_eq!(collector.get("/api/v1/overview").0, 200);
    for bad in [
        "/api/v1/usage?by=planet",
        "/api/v1/usage?since=yesterday-ish",
        "/api/v1/audit?until=%FF%FE",
    ] {
        let (status, body) = collector.get(bad);
        assert_eq!(status, 400, "{bad}: {body}");
    }
    let (status, body) = collector.get("/sessions/%3Cscript%3Ealert(1)%3C%2Fscript%3E");
    assert_eq!(status, 404);
    assert!(!body.contains("<script>alert"), "{body}");
}

/// Every table cell or header whose content overflows it, or that reaches past its
/// table's container, as `table: text` — what a person would see clipped or off-screen.
const OVERFLOWS: &str = r#"(() => {
  const out = [];
  for (const table of document.querySelectorAll('table')) {
    const box = table.parentElement.getBoundingClientRect();
    if (table.parentElement.scrollWidth > table.parentElement.clientWidth + 1) {
      out.push(`${table.id}: scrolls sideways`);
    }
    for (const cell of table.querySelectorAll('th, td')) {
      // Left out on this screen (display: none): nothing to overflow.
      if (cell.getClientRects().length === 0) continue;
      const r = cell.getBoundingClientRect();
      if (cell.scrollWidth > cell.clientWidth + 1 || r.right > box.right + 1 || r.left < box.left - 1) {
        out.push(`${table.id}: ${cell.textContent.slice(0, 40)}`);
      }
    }
  }
  if (document.documentElement.scrollWidth > window.innerWidth) out.push('the page scrolls sideways');
  return out;
})()"#;

#[test]
fn at_1440_and_390_pixels_no_table_overflows_its_container() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // Budgets of everyone, of users (one with a long name and a large budget, one of
    // zero) and of a long-named project nobody works in.
    let collector = Collector::start_with(
        &data,
        &[],
        &[
            ("CLAUDE_TELEMETRY_MONTHLY_BUDGET_USD", "2500"),
            (
                "CLAUDE_TELEMETRY_USER_MONTHLY_BUDGETS_USD",
                "Jane Doe=0.01,Bob Roe=0,Maximiliana Wolfeschlegelsteinhausen=1234567.89",
            ),
            (
                "CLAUDE_TELEMETRY_PROJECT_MONTHLY_BUDGETS_USD",
                "some-organisation/a-repository-with-a-long-name=1200",
            ),
        ],
    );
    feed(&collector, dir.path(), 0);
    feed(&collector, dir.path(), 1);
    // Long names where people have them: a path-like project, a long command.
    let mut long = sample("PreToolUse:Bash");
    long["session_id"] = json!("a-session-with-a-rather-long-identifier-0123456789");
    long["tool_input"]["command"] =
        json!("rm -rf ~/projects/some-organisation/a-repository-with-a-long-name/build/artifacts");
    collector.hook(dir.path(), "Maximiliana Wolfeschlegelsteinhausen", &long);
    let sessions = query::sessions(&data, week(), 100, &Filter::default()).unwrap();
    let session = sessions
        .iter()
        .find(|s| s.usage.blocks > 0)
        .unwrap()
        .session_id
        .clone();

    let browser = Browser::launch(&[]);
    let mut tab = browser.tab();
    tab.call("Page.enable", json!({}));
    for (width, height, mobile) in [(1440, 900, false), (390, 844, true)] {
        tab.call(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile}),
        );
        for (name, path) in [
            ("overview", "/".to_owned()),
            ("session", format!("/sessions/{}", encode(&session))),
        ] {
            tab.open(&format!("{}{path}", collector.url));
            if name == "session" {
                // One row per tool call, and the folded internal events measured open.
                let calls = rows(&mut tab, "tool-calls");
                assert!(calls.iter().any(|row| row[2] == "blocked"), "{calls:?}");
                tab.eval("document.getElementById('internal').open = true");
            }
            let tables = tab.eval("document.querySelectorAll('table tbody tr').length");
            assert!(tables.as_u64() >= Some(1), "{name}: tables with rows");
            tab.screenshot(&format!("page-{name}-{width}px.png"));
            let overflows = tab.eval(OVERFLOWS);
            assert_eq!(overflows, json!([]), "{name} at {width} px");
            if name == "session" {
                // The page refreshing itself leaves the folded section as it was opened.
                tab.eval("document.body.dataset.refreshed = ''");
                tab.eval_until("document.body.dataset.refreshed", |v| {
                    v.as_str().is_some_and(|t| !t.is_empty())
                });
                assert_eq!(
                    tab.eval("document.getElementById('internal').open"),
                    json!(true)
                );
            }
            if name == "overview" {
                budget_panel_is_the_apis(&collector, &mut tab, "");
                tab.eval("document.getElementById('budget').scrollIntoView()");
                tab.screenshot(&format!("page-budget-{width}px.png"));
                let panel = tab.eval(
                    "(() => { const p = document.getElementById('budget'); \
                     return [...p.querySelectorAll('*')].filter(e => e.getClientRects().length && \
                       (e.getBoundingClientRect().right > p.getBoundingClientRect().right + 1 || \
                        e.scrollWidth > e.clientWidth + 1)).map(e => e.outerHTML.slice(0, 80)); })()",
                );
                assert_eq!(panel, json!([]), "the budget panel at {width} px");
                // Narrowed to a user: that user's budget; to one without: says so.
                tab.open(&format!("{}/?user=Jane%20Doe", collector.url));
                budget_panel_is_the_apis(&collector, &mut tab, "?user=Jane%20Doe");
                tab.open(&format!("{}/?user=Nobody", collector.url));
                let none = tab.eval("document.getElementById('budget-none').textContent");
                assert!(
                    none.as_str()
                        .is_some_and(|t| t.contains("No budget holds user Nobody")),
                    "{none}"
                );
                assert_eq!(figure_text(&mut tab, "month-to-date"), "$0.00");
                // Thirty-one days of bars: their labels do not run into each other.
                tab.open(&format!("{}/?range=30d", collector.url));
                let overlapping = tab.eval(
                    "(() => { const r = [...document.querySelectorAll('#chart-cost-by-day text')]                        .map(t => t.getBoundingClientRect());                      return r.filter((a, i) => r.some((b, j) => j > i && a.left < b.right &&                        b.left < a.right && a.top < b.bottom && b.top < a.bottom)).length; })()",
                );
                assert_eq!(overlapping, json!(0), "chart labels at {width} px");
                tab.open(&format!("{}/", collector.url));
                // The key columns stay at every width.
                let shown = tab.eval(
                    "[...document.querySelectorAll('#sessions th')].filter(c => c.getClientRects().length).map(c => c.textContent)",
                );
                for key in ["session", "user", "project", "cost", "blocks"] {
                    assert!(
                        shown.as_array().unwrap().contains(&json!(key)),
                        "{key} at {width} px: {shown}"
                    );
                }
                // Who is working now (the long-named session just sent) keeps who, where,
                // what and how much; cost by model per day has the fed days.
                let shown = tab.eval(
                    "[...document.querySelectorAll('#working th')].filter(c => c.getClientRects().length).map(c => c.textContent)",
                );
                for key in ["user", "project", "last tool", "cost so far"] {
                    assert!(
                        shown.as_array().unwrap().contains(&json!(key)),
                        "{key} at {width} px: {shown}"
                    );
                }
                for table in ["working", "cost-by-model-by-day"] {
                    let rows = tab.eval(&format!(
                        "document.querySelectorAll('#{table} tbody tr:not(:has(td.muted))').length"
                    ));
                    assert!(rows.as_u64() >= Some(1), "{table} at {width} px: {rows}");
                }
            }
        }
    }
}

/// The budget panel of the overview at `query` shows the budgets `/api/v1/budget`
/// lists that the filters narrow to, each with its figures as the API gives them.
fn budget_panel_is_the_apis(collector: &Collector, tab: &mut Tab, query: &str) {
    let (status, body) = collector.get(&format!("/api/v1/budget{query}"));
    assert_eq!(status, 200, "{body}");
    let budget: Value = serde_json::from_str(&body).unwrap();
    let user = budget["scope"]
        .as_str()
        .filter(|s| *s == "user")
        .and(budget["name"].as_str());
    let lines: Vec<&Value> = budget["budgets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|line| user.is_none_or(|u| line["scope"] == "user" && line["name"] == u))
        .collect();
    assert!(!lines.is_empty(), "{budget}");
    let shown = rows(tab, "budgets");
    assert_eq!(shown.len(), lines.len(), "{query}: {shown:?} {budget}");
    for (i, (row, line)) in shown.iter().zip(lines).enumerate() {
        let whose = match line["scope"].as_str().unwrap() {
            "everyone" => "everyone".to_owned(),
            scope => format!("{scope} {}", line["name"].as_str().unwrap()),
        };
        // The name, then the bar and its shares in words.
        assert!(row[0].starts_with(&whose), "{row:?} {whose}");
        assert!(row[0].ends_with(" projected"), "{row:?}");
        for (cell, key) in [
            (1, "budget_usd"),
            (2, "month_to_date_usd"),
            (3, "projected_usd"),
        ] {
            assert!(
                is_money(&row[cell], line[key].as_f64().unwrap()),
                "{query} {whose} {key}: {} shown, {line}",
                row[cell]
            );
        }
        let over = line["over_budget"] == true || line["projected_over_budget"] == true;
        assert_eq!(
            tab.eval(&format!(
                "document.querySelectorAll('#budgets tbody tr')[{i}].querySelector('.meter').classList.contains('over')"
            )),
            json!(over),
            "{whose}: red when over or on course to be"
        );
    }
}

#[test]
fn a_new_event_appears_in_the_live_stream_within_a_second() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let collector = Collector::start(&data);
    feed(&collector, dir.path(), 0);

    let browser = Browser::launch(&[]);
    let mut tab = browser.tab();
    tab.call("Page.enable", json!({}));
    tab.open(&format!("{}/", collector.url));
    tab.eval_until("document.body.dataset.live", |v| v == "open");
    assert_eq!(rows(&mut tab, "live").len(), 1, "only the empty row yet");

    // One user's stream leaves the other's events out.
    let mut filtered = browser.tab();
    filtered.open(&format!("{}/?user=Late%20Comer", collector.url));
    filtered.eval_until("document.body.dataset.live", |v| v == "open");
    // A project is named as everywhere else on the page (not by its path), and a model
    // filter, which the stream cannot apply, is said rather than quietly dropped.
    let cwd = sample("PreToolUse:Bash")["cwd"]
        .as_str()
        .unwrap()
        .to_owned();
    let project = cwd.rsplit('/').next().unwrap().to_owned();
    let mut by_project = browser.tab();
    by_project.open(&format!(
        "{}/?project={project}&model=claude-opus-4-1",
        collector.url
    ));
    by_project.eval_until("document.body.dataset.live", |v| v == "open");
    let heading = by_project.eval_until(
        "[...document.querySelectorAll('h2')].map(h => h.textContent).find(t => t.startsWith('Live'))",
        |v| v.is_string(),
    );
    assert!(
        heading.as_str().unwrap().contains("every model"),
        "{heading}"
    );
    let mut other = sample("UserPromptSubmit");
    other["session_id"] = json!("someone-else");
    collector.hook(dir.path(), "Someone Else", &other);

    // The hook has its answer once the event is durable: from then on, a second.
    deny(&collector, dir.path(), "live-session");
    let stored = Instant::now();
    let row = |tab: &mut Tab| {
        rows(tab, "live")
            .into_iter()
            .find(|r| r.get(3).map(String::as_str) == Some("PreToolUse"))
    };
    let shown = loop {
        if let Some(row) = row(&mut tab) {
            break row;
        }
        assert!(
            stored.elapsed() < Duration::from_secs(1),
            "not in the live list within a second: {:?}",
            rows(&mut tab, "live")
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(shown[1], "Late Comer");
    assert_eq!((shown[4].as_str(), shown[5].as_str()), ("Bash", "deny"));
    let mine = filtered.eval_until(
        "[...document.querySelectorAll('#live tbody tr')].map(r => r.cells[1].textContent)",
        |v| {
            v.as_array()
                .is_some_and(|a| a.iter().any(|u| u == "Late Comer"))
        },
    );
    assert!(
        !mine.as_array().unwrap().iter().any(|u| u == "Someone Else"),
        "{mine}"
    );
    assert_eq!(shown[2], project, "{shown:?}");
    by_project.eval_until(
        "[...document.querySelectorAll('#live tbody tr')].map(r => r.cells[2].textContent)",
        |v| {
            v.as_array()
                .is_some_and(|a| a.iter().any(|p| *p == *project))
        },
    );
    tab.screenshot("page-live.png");

    // The stream itself, as JSON: an event of the session asked for, and nothing of its
    // content (the command the guard stopped is in the audit trail, not here).
    let address = collector.url.trim_start_matches("http://").to_owned();
    let mut stream = TcpStream::connect(&address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    use std::io::Write as _;
    write!(
        stream,
        "GET /api/v1/events/stream?session=json-session HTTP/1.1\r\nHost: {address}\r\nAccept: text/event-stream\r\n\r\n"
    )
    .unwrap();
    let mut reader = BufReader::new(stream);
    let mut head = String::new();
    while reader.read_line(&mut head).unwrap() > 2 && !head.ends_with("\r\n\r\n") {}
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.to_lowercase()
            .contains("content-type: text/event-stream"),
        "{head}"
    );
    deny(&collector, dir.path(), "another-session");
    deny(&collector, dir.path(), "json-session");
    let data = loop {
        let mut line = String::new();
        assert!(reader.read_line(&mut line).unwrap() > 0, "the stream ended");
        if let Some(data) = line.trim_end().strip_prefix("data:") {
            break data.trim().to_owned();
        }
    };
    let event: Value = serde_json::from_str(&data).unwrap();
    assert_eq!(event["session_id"], "json-session", "{event}");
    assert_eq!(event["name"], "PreToolUse");
    assert_eq!(event["decision"], "deny");
    assert_eq!(event["user"], "Late Comer");
    assert_eq!(
        (&event["project"], &event["project_path"]),
        (&json!(project), &json!(cwd))
    );
    assert!(!data.contains("rm -rf"), "{data}");

    // What the stream cannot apply is refused, not ignored.
    for (query, said) in [
        ("model=claude-opus-4-1", "cannot be narrowed by model"),
        ("projct=api", "projct: not a parameter here"),
    ] {
        let (status, body) = request(
            "GET",
            &format!("{}/api/v1/events/stream?{query}", collector.url),
            None,
            &[],
        );
        assert_eq!(status, 400, "{query}: {body}");
        assert!(body.contains(said), "{query}: {body}");
    }
}

#[test]
fn every_filter_shows_the_stores_figures_for_it_and_names_narrow_the_page_when_clicked() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let collector = Collector::start(&data);
    feed(&collector, dir.path(), 0);
    feed(&collector, dir.path(), 1);
    deny(&collector, dir.path(), "late-session");

    let browser = Browser::launch(&[]);
    let mut tab = browser.tab();
    tab.call("Page.enable", json!({}));
    let filters = [
        (
            "user=Jane%20Doe",
            Filter {
                user: Some("Jane Doe".into()),
                ..Filter::default()
            },
        ),
        (
            "user=Late%20Comer",
            Filter {
                user: Some("Late Comer".into()),
                ..Filter::default()
            },
        ),
        (
            "project=project",
            Filter {
                project: Some("project".into()),
                ..Filter::default()
            },
        ),
        (
            "model=claude-sonnet-4-5",
            Filter {
                model: Some("claude-sonnet-4-5".into()),
                ..Filter::default()
            },
        ),
        (
            "user=Jane%20Doe&model=claude-sonnet-4-5",
            Filter {
                user: Some("Jane Doe".into()),
                model: Some("claude-sonnet-4-5".into()),
                ..Filter::default()
            },
        ),
    ];
    let mut distinct = std::collections::BTreeSet::new();
    for (query_string, filter) in &filters {
        tab.open(&format!("{}/?{query_string}", collector.url));
        let total = query::usage(&data, week(), GroupBy::Day, filter)
            .unwrap()
            .pop()
            .unwrap();
        assert!(
            is_money(&figure_text(&mut tab, "cost-range"), total.cost_usd),
            "{query_string}"
        );
        assert_eq!(
            figure(&mut tab, "tokens-range"),
            tokens(&total),
            "{query_string}"
        );
        assert_eq!(
            figure(&mut tab, "sessions-range"),
            total.sessions as f64,
            "{query_string}"
        );
        assert_eq!(
            figure(&mut tab, "blocks-range"),
            total.blocks as f64,
            "{query_string}"
        );
        let sessions = query::sessions(&data, week(), 100, filter).unwrap();
        let shown = rows(&mut tab, "sessions");
        assert_eq!(
            shown.iter().map(|r| r[0].clone()).collect::<Vec<_>>(),
            sessions
                .iter()
                .map(|s| s.session_id.clone())
                .collect::<Vec<_>>(),
            "{query_string}"
        );
        // What the page is narrowed to, and a way back.
        let banner = tab.eval("document.querySelector('#filter').textContent");
        for value in [&filter.user, &filter.project, &filter.model]
            .into_iter()
            .flatten()
        {
            assert!(
                banner.as_str().is_some_and(|t| t.contains(value.as_str())),
                "{banner}"
            );
        }
        // The JSON says the same.
        let (status, body) = collector.get(&format!("/api/v1/overview?{query_string}"));
        assert_eq!(status, 200);
        let overview: Value = serde_json::from_str(&body).unwrap();
        assert!((overview["total"]["cost_usd"].as_f64().unwrap() - total.cost_usd).abs() < 1e-9);
        distinct.insert((total.sessions, total.blocks, (total.cost_usd * 1e6) as u64));
        // The cache hit rate and the table by project, of the same filter.
        let shown_rate = tab
            .eval("document.querySelector('[data-figure=cache-hit-range]').textContent")
            .as_str()
            .unwrap()
            .to_owned();
        match total.cache_hit_rate() {
            Some(rate) => assert_eq!(
                shown_rate,
                format!("{:.1}%", rate * 100.0),
                "{query_string}"
            ),
            None => assert_eq!(shown_rate, "–", "{query_string}"),
        }
        let mut by_project = query::usage(&data, week(), GroupBy::Project, filter).unwrap();
        by_project.pop();
        let shown = rows(&mut tab, "by-project");
        assert_eq!(shown.len(), by_project.len().max(1), "{query_string}");
        for (row, store) in shown.iter().zip(&by_project) {
            assert_eq!(row[0], store.key, "{query_string}");
            assert!(is_money(&row[4], store.cost_usd), "{query_string}");
        }
    }
    assert!(
        distinct.len() >= 3,
        "the filters tell the figures apart: {distinct:?}"
    );

    // A user's name narrows the page to that user, in the address (a view to share).
    tab.open(&format!("{}/", collector.url));
    let href = tab.eval(
        "[...document.querySelectorAll('#by-user a.filter')].find(a => a.textContent === 'Jane Doe').href",
    );
    // The same address as the first filter above: the page of that user.
    assert_eq!(href, json!(format!("{}/?user=Jane%20Doe", collector.url)));
    tab.screenshot("page-filtered.png");
}

#[test]
fn an_empty_collector_says_what_to_do_next_until_a_source_sends_something() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start(&dir.path().join("data"));
    let browser = Browser::launch(&[]);
    let mut tab = browser.tab();
    tab.call("Page.enable", json!({}));
    tab.open(&format!("{}/", collector.url));
    let empty = tab.eval("document.querySelector('#empty').textContent");
    for next in ["claude-telemetry install", "claude-telemetry doctor"] {
        assert!(empty.as_str().is_some_and(|t| t.contains(next)), "{empty}");
    }
    let hooks = "document.querySelector('[data-source=hooks]').textContent";
    assert_eq!(tab.eval(hooks), json!("never"));
    // No budget: the panel says how to set one, and shows no budget of zero.
    let unset = tab.eval("document.querySelector('#budget-unset').textContent");
    assert!(
        unset
            .as_str()
            .is_some_and(|t| t.contains("monthly_budget_usd")),
        "{unset}"
    );
    assert_eq!(tab.eval("document.querySelector('#budgets')"), Value::Null);
    tab.screenshot("page-empty.png");
    // A hook event arrives: the page, refreshing itself, drops the advice and says when.
    deny(&collector, dir.path(), "first-session");
    tab.eval_until(
        &format!("document.querySelector('#empty') === null && {hooks}"),
        |seen| seen.as_str().is_some_and(|t| t.ends_with(" UTC")),
    );
    assert_eq!(
        tab.eval("document.querySelector('[data-source=traces]').textContent"),
        json!("never")
    );
}

#[test]
fn a_date_range_keeps_the_filters_shows_the_stores_figures_and_a_bad_one_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let collector = Collector::start(&data);
    feed(&collector, dir.path(), 0);
    let browser = Browser::launch(&[]);
    let mut tab = browser.tab();
    tab.call("Page.enable", json!({}));

    // A date range keeps the filters, and names clicked under it keep the range.
    tab.open(&format!("{}/?user=Jane%20Doe", collector.url));
    let today = tab.eval(
        "[...document.querySelectorAll('#range a')].find(a => a.textContent === 'today').href",
    );
    assert_eq!(
        today,
        json!(format!("{}/?user=Jane%20Doe&range=today", collector.url))
    );
    tab.open(today.as_str().unwrap());
    let (_, body) = collector.get("/api/v1/overview?user=Jane%20Doe&range=today");
    let overview: Value = serde_json::from_str(&body).unwrap();
    let window = Window {
        since_ms: overview["window"]["since_ms"].as_i64().unwrap(),
        until_ms: overview["window"]["until_ms"].as_i64().unwrap() + 60_000,
    };
    let jane = Filter {
        user: Some("Jane Doe".into()),
        ..Filter::default()
    };
    let total = query::usage(&data, window, GroupBy::Day, &jane)
        .unwrap()
        .pop()
        .unwrap();
    assert!(is_money(
        &figure_text(&mut tab, "cost-range"),
        total.cost_usd
    ));
    assert_eq!(figure(&mut tab, "sessions-range"), total.sessions as f64);
    let current = tab.eval("document.querySelector('#range [aria-current]').textContent");
    assert_eq!(current, json!("today"));
    let model = tab.eval("document.querySelector('#by-model a.filter').href");
    assert!(
        model.as_str().is_some_and(
            |href| href.contains("user=Jane%20Doe&model=") && href.ends_with("&range=today")
        ),
        "{model}"
    );
    // A custom range from the form, and a bad one told as such.
    tab.eval(
        "document.querySelector('#range input[name=since]').value = '3d'; \
         document.querySelector('#range form').submit(); true",
    );
    tab.eval_until("location.search", |search| {
        search.as_str() == Some("?user=Jane+Doe&since=3d&until=")
    });
    tab.eval_until(
        "document.querySelector('[data-figure=cost-range]') !== null \
         && document.querySelector('.card .muted').textContent",
        |label| label.as_str() == Some("cost, 3d to now"),
    );
    tab.open(&format!("{}/?range=fortnight", collector.url));
    let error = tab.eval("document.querySelector('#range-error').textContent");
    assert!(
        error
            .as_str()
            .is_some_and(|e| e.contains("range: expected one of")),
        "{error}"
    );
}
