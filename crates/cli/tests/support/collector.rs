//! A real `claude-telemetry serve` process for tests.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use serde_json::Value;

use super::{Run, bin, stderr};

/// A running collector; stopped (SIGTERM) when dropped.
pub struct Collector {
    child: Option<Child>,
    pub url: String,
    /// The bearer token it was started with (`CLAUDE_TELEMETRY_TOKEN`), if any.
    pub token: Option<String>,
}

impl Collector {
    /// Starts on a free loopback port with the store in `data_dir`.
    pub fn start(data_dir: &Path) -> Collector {
        Collector::start_with(data_dir, &[], &[])
    }

    /// Starts with extra arguments and environment.
    pub fn start_with(data_dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Collector {
        let (child, url) = spawn(data_dir, args, env)
            .unwrap_or_else(|err| panic!("collector did not start: {err}"));
        let token = env
            .iter()
            .find(|(name, _)| *name == "CLAUDE_TELEMETRY_TOKEN")
            .map(|(_, token)| (*token).to_owned());
        Collector {
            child: Some(child),
            url,
            token,
        }
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// Stops with SIGTERM and waits for it to finish.
    pub fn stop(mut self) {
        terminate(self.child.take(), "TERM");
    }

    /// Sends SIGTERM and polls for the exit until `deadline`: its status, or `None` when
    /// it is still running then (it is killed, so no process outlives the test).
    pub fn stop_within(mut self, deadline: Duration) -> Option<std::process::ExitStatus> {
        let mut child = self.child.take()?;
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let until = std::time::Instant::now() + deadline;
        while std::time::Instant::now() < until {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(status);
            }
            thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        None
    }

    /// Kills with SIGKILL, no chance to clean up.
    pub fn crash(mut self) {
        terminate(self.child.take(), "KILL");
    }

    pub fn get(&self, path: &str) -> (u16, String) {
        request("GET", &format!("{}{path}", self.url), None, &[])
    }

    /// A POST as a client of this collector: with its token when it has one.
    pub fn post(&self, path: &str, content_type: &str, body: &[u8]) -> (u16, String) {
        let bearer = self.bearer();
        let mut headers = vec![("content-type", content_type)];
        headers.extend(bearer.as_deref().map(|value| ("authorization", value)));
        request("POST", &format!("{}{path}", self.url), Some(body), &headers)
    }

    /// `Bearer <token>`, when it has a token.
    fn bearer(&self) -> Option<String> {
        self.token.as_ref().map(|token| format!("Bearer {token}"))
    }

    /// The real hook, wired to this collector, working as `user` (its state and config
    /// under `dir`, a fixed HOME so paths in events place the same way everywhere).
    pub fn hook_command(&self, dir: &Path, user: &str) -> Run {
        let run = Run::new(&["hook"], dir);
        let run = match &self.token {
            Some(token) => run.env("CLAUDE_TELEMETRY_TOKEN", token),
            None => run,
        };
        // Tests share two cores with builds and each other: the hook's 200 ms delivery
        // budget would make what is delivered (rather than spooled) depend on the load.
        // Tests of the budget itself set their own.
        run.env("CLAUDE_TELEMETRY_URL", &self.url)
            .env("CLAUDE_TELEMETRY_TIMEOUT_MS", "5000")
            .env("CLAUDE_TELEMETRY_STATE_DIR", dir.join("state"))
            .env("USER_NAME", user)
            .env("HOME", "/home/dev")
            .env("XDG_CONFIG_HOME", dir.join("config"))
    }

    /// Runs the hook for `event`; it must exit 0.
    pub fn hook(&self, dir: &Path, user: &str, event: &Value) -> std::process::Output {
        let output = self.hook_command(dir, user).stdin(event.to_string());
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        output
    }

    /// `/metrics`, with the token when there is one.
    pub fn metrics(&self) -> String {
        let bearer = self.bearer();
        let headers: Vec<(&str, &str)> = bearer
            .iter()
            .map(|value| ("authorization", value.as_str()))
            .collect();
        let (status, text) = request("GET", &format!("{}/metrics", self.url), None, &headers);
        assert_eq!(status, 200, "{text}");
        text
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        if self.child.is_some() {
            terminate(self.child.take(), "TERM");
        }
    }
}

/// Spawns a collector; `Err` with its output when it exits instead of listening.
pub fn spawn(
    data_dir: &Path,
    args: &[&str],
    env: &[(&str, &str)],
) -> Result<(Child, String), String> {
    let mut command = Command::new(bin());
    command
        .args(["serve", "--data-dir"])
        .arg(data_dir)
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", data_dir)
        .env("XDG_CONFIG_HOME", data_dir.join("config"))
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if !args.contains(&"--listen") {
        command.args(["--listen", "127.0.0.1:0"]);
    }
    let mut child = command.spawn().map_err(|e| e.to_string())?;
    let stderr = child.stderr.take().ok_or("no stderr")?;
    let (found, address) = mpsc::channel();
    thread::spawn(move || {
        let mut lines = Vec::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("listening on ").nth(1) {
                let url = rest.split_whitespace().next().unwrap_or("").to_owned();
                let _ = found.send(Ok(url));
            }
            lines.push(line);
        }
        let _ = found.send(Err(lines.join("\n")));
    });
    match address.recv_timeout(Duration::from_secs(60)) {
        Ok(Ok(url)) => Ok((child, url)),
        Ok(Err(output)) => {
            let _ = child.wait();
            Err(output)
        }
        Err(_) => {
            let _ = child.kill();
            Err("no listening line within 60 s".to_owned())
        }
    }
}

fn terminate(child: Option<Child>, signal: &str) {
    let Some(mut child) = child else { return };
    let _ = Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status();
    let _ = child.wait();
}

/// A plain HTTP request; any status is returned, transport errors panic.
pub fn request(
    method: &str,
    url: &str,
    body: Option<&[u8]>,
    headers: &[(&str, &str)],
) -> (u16, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into();
    let response = match body {
        Some(body) => {
            let mut req = agent.post(url);
            if method == "PUT" {
                req = agent.put(url);
            }
            for (k, v) in headers {
                req = req.header(*k, *v);
            }
            req.send(body)
        }
        None => {
            let mut req = if method == "DELETE" {
                agent.delete(url)
            } else {
                agent.get(url)
            };
            for (k, v) in headers {
                req = req.header(*k, *v);
            }
            req.call()
        }
    };
    let mut response = response.unwrap_or_else(|err| panic!("{method} {url}: {err}"));
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap_or_default();
    (status, text)
}

/// Announces a body of `length` bytes and returns the status the collector answers
/// before any of it is sent (an oversized body is refused from its Content-Length alone;
/// sending it all would race the server closing the connection).
pub fn announce_oversized(url: &str, path: &str, content_type: &str, length: usize) -> u16 {
    use std::io::{Read, Write};
    let addr = url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    write!(stream, "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: {content_type}\r\nContent-Length: {length}\r\n\r\n").unwrap();
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).unwrap();
    String::from_utf8_lossy(&head[9..12]).parse().unwrap()
}

/// Parses Prometheus text into `series → value` (series as written, labels in order).
pub fn parse_metrics(text: &str) -> std::collections::BTreeMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            Some((series.to_owned(), value.parse().ok()?))
        })
        .collect()
}
