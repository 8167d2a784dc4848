//! What reaches the disk at each privacy level, for every source: a canary marker in
//! every string of every captured hook payload (2.1.197 and 2.1.332) and OTLP log event
//! (2.1.197, 2.1.330, 2.1.332), sent through the real hook (spooled while the collector
//! is down, then delivered), as raw `http` hook bodies, and to the OTLP receiver; then
//! every byte under the store, the spool and the state directory is searched.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::{Value, json};

use crate::support::collector::Collector;
use crate::support::{Run, stderr};

/// Marks each string with a distinct marker and remembers where each one went.
#[derive(Default)]
struct Canary {
    /// Marker number → (source, event, field path).
    fields: Vec<(String, String, String)>,
}

/// A marker: `CNRY`, five digits, `Q`; found again by [`found_markers`].
fn marker(index: usize) -> String {
    format!("CNRY{index:05}Q")
}

/// Fields that name what an event is rather than say something: kept unmarked in the
/// first pass so the allowlist's per-event and per-tool rules are the ones exercised (a
/// second pass marks them too, making every event and tool unknown).
fn dispatch_key(path: &str) -> bool {
    matches!(
        path,
        "hook_event_name" | "tool_name" | "tool_calls.tool_name"
    )
}

impl Canary {
    fn mark(&mut self, text: &mut String, source: &str, event: &str, path: &str) {
        self.fields
            .push((source.to_owned(), event.to_owned(), path.to_owned()));
        text.push_str(&marker(self.fields.len() - 1));
    }

    /// Marks every string of a hook payload (arrays are `*` in paths).
    fn hook(&mut self, value: &mut Value, source: &str, event: &str, path: &str, all: bool) {
        match value {
            Value::String(text) if all || !dispatch_key(path) => {
                self.mark(text, source, event, path)
            }
            Value::Array(items) => {
                for item in items {
                    self.hook(item, source, event, path, all);
                }
            }
            Value::Object(map) => {
                for (key, item) in map {
                    let path = if path.is_empty() {
                        key.clone()
                    } else {
                        format!("{path}.{key}")
                    };
                    self.hook(item, source, event, &path, all);
                }
            }
            _ => {}
        }
    }

    /// Marks every string in an OTLP AnyValue (in its JSON form).
    fn any_value(&mut self, value: &mut Value, source: &str, event: &str, path: &str) {
        if let Some(Value::String(text)) = value.get_mut("stringValue") {
            self.mark(text, source, event, path);
        }
        if let Some(items) = value
            .get_mut("arrayValue")
            .and_then(|a| a.get_mut("values"))
            .and_then(Value::as_array_mut)
        {
            for item in items {
                self.any_value(item, source, event, path);
            }
        }
        if let Some(items) = value
            .get_mut("kvlistValue")
            .and_then(|a| a.get_mut("values"))
            .and_then(Value::as_array_mut)
        {
            for item in items {
                let key = item["key"].as_str().unwrap_or("").to_owned();
                self.any_value(&mut item["value"], source, event, &format!("{path}.{key}"));
            }
        }
    }

    /// Marks every string of a logs export: resource, attributes (but `event.name`), body.
    fn logs(&mut self, export: &mut Value, source: &str) {
        for rl in export["resourceLogs"].as_array_mut().unwrap() {
            if let Some(attributes) = rl["resource"]["attributes"].as_array_mut() {
                for attribute in attributes {
                    let key = attribute["key"].as_str().unwrap().to_owned();
                    self.any_value(&mut attribute["value"], source, "resource", &key);
                }
            }
            for sl in rl["scopeLogs"].as_array_mut().unwrap() {
                for record in sl["logRecords"].as_array_mut().unwrap() {
                    let attributes = record["attributes"].as_array_mut().unwrap();
                    let event = attributes
                        .iter()
                        .find(|a| a["key"] == "event.name")
                        .and_then(|a| a["value"]["stringValue"].as_str())
                        .unwrap_or("")
                        .to_owned();
                    for attribute in attributes.iter_mut() {
                        let key = attribute["key"].as_str().unwrap().to_owned();
                        if key != "event.name" {
                            self.any_value(&mut attribute["value"], source, &event, &key);
                        }
                    }
                    if let Some(body) = record.get_mut("body") {
                        self.any_value(body, source, &event, "body");
                    }
                }
            }
        }
    }
}

/// Every file under `roots`, read as one text (lossily).
fn every_byte_under(roots: &[&Path]) -> String {
    let mut text = Vec::new();
    let mut pending: Vec<std::path::PathBuf> = roots.iter().map(|r| r.to_path_buf()).collect();
    while let Some(path) = pending.pop() {
        if path.is_dir() {
            pending.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
        } else if let Ok(bytes) = std::fs::read(&path) {
            text.extend(bytes);
        }
    }
    String::from_utf8_lossy(&text).into_owned()
}

/// Every marker found in any file under `roots`, by number.
fn found_markers(roots: &[&Path]) -> BTreeSet<usize> {
    let mut found = BTreeSet::new();
    let mut pending: Vec<std::path::PathBuf> = roots.iter().map(|r| r.to_path_buf()).collect();
    while let Some(path) = pending.pop() {
        if path.is_dir() {
            pending.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        for at in memchr_all(&bytes, b"CNRY") {
            let digits = &bytes[at + 4..(at + 10).min(bytes.len())];
            if digits.len() == 6
                && digits[5] == b'Q'
                && let Ok(index) = std::str::from_utf8(&digits[..5]).unwrap_or("x").parse()
            {
                found.insert(index);
            }
        }
    }
    found
}

fn memchr_all<'a>(haystack: &'a [u8], needle: &'a [u8]) -> impl Iterator<Item = usize> + 'a {
    haystack
        .windows(needle.len())
        .enumerate()
        .filter(move |(_, w)| *w == needle)
        .map(|(at, _)| at)
}

/// The captured hook payloads of both releases: (release, event, payload).
fn hook_payloads() -> Vec<(&'static str, String, Value)> {
    let old: serde_json::Map<String, Value> =
        serde_json::from_str(include_str!("data/hook_payloads.json")).unwrap();
    let new: Value =
        serde_json::from_str(include_str!("data/hook_payloads_v2.1.332.json")).unwrap();
    let mut all: Vec<(&str, String, Value)> = old
        .into_iter()
        .map(|(name, sample)| ("2.1.197", name, sample["payload"].clone()))
        .collect();
    for (name, payload) in new["events"].as_object().unwrap() {
        all.push(("2.1.332", name.clone(), payload.clone()));
    }
    all
}

/// The captured logs exports of every release.
fn logs_exports() -> Vec<(&'static str, Value)> {
    let mut all = Vec::new();
    for (release, text) in [
        ("2.1.197", include_str!("data/otlp_protobuf_decoded.jsonl")),
        (
            "2.1.330",
            include_str!("data/otlp_http_json_v2.1.330.jsonl"),
        ),
        ("2.1.332", include_str!("data/otlp_traces_v2.1.332.jsonl")),
    ] {
        for line in text.lines() {
            let request: Value = serde_json::from_str(line).unwrap();
            if request["path"] == "/v1/logs" {
                all.push((release, request["body"].clone()));
            }
        }
    }
    all
}

/// The fields that are metadata, as this test sees them (written here, not read from the
/// allowlist, so a field wrongly allowed or wrongly dropped fails the test): what may, and
/// must, survive at the metadata level.
const HOOK_METADATA: &[&str] = &[
    "session_id",
    "transcript_path",
    "cwd",
    "prompt_id",
    "permission_mode",
    "tool_use_id",
    "agent_id",
    "agent_type",
    "agent_transcript_path",
    "source",
    "trigger",
    "turn_id",
    "message_id",
    "file_path",
    "memory_type",
    "load_reason",
    "command_name",
    "command_source",
    "invoked_by",
    "effort.level",
    "tool_input.file_path",
    "tool_input.subagent_type",
    "tool_calls.tool_use_id",
    "tool_calls.tool_input.file_path",
    "tool_response.type",
    "tool_response.filePath",
    "tool_response.file.filePath",
    "tool_response.status",
    "tool_response.agentId",
    "tool_response.agentType",
    "tool_response.resolvedModel",
    "tool_response.usage.service_tier",
    "tool_response.usage.speed",
    "tool_response.usage.inference_geo",
    "permission_suggestions.type",
    "permission_suggestions.behavior",
    "permission_suggestions.destination",
    "permission_suggestions.mode",
    "permission_suggestions.directories",
    "permission_suggestions.rules.toolName",
];

/// Hook fields that are metadata on one event only: SessionEnd's reason is a closed set;
/// the command of a call Claude Code's auto mode denied is the audit trail's evidence of
/// what was stopped, as for a call the guard stops.
const HOOK_METADATA_BY_EVENT: &[(&str, &str)] = &[
    ("SessionEnd", "reason"),
    ("PermissionDenied", "tool_input.command"),
];

/// Where prompt text is: kept from the `prompts` level up.
const PROMPTS: &[(&str, &str)] = &[
    ("UserPromptSubmit", "prompt"),
    ("user_prompt", "prompt"),
    ("user_prompt", "prompt_text"),
];

/// OTLP attributes that are metadata (on every event that carries them).
const OTLP_METADATA: &[&str] = &[
    "session.id",
    "user.id",
    "terminal.type",
    "event.timestamp",
    "prompt.id",
    "message.uuid",
    "request_id",
    "anthropic.provider",
    "model",
    "final_model",
    "speed",
    "query_source",
    "agent_id",
    "agent_type",
    "agent.name",
    "agent.source",
    "tool_name",
    "tool_use_id",
    "tool_source",
    "decision",
    "source",
    "permission_mode",
    "success",
    "error_type",
    "prompt_length",
    "duration_ms",
    "tool_input_size_bytes",
    "tool_result_size_bytes",
    "hook_event",
    "hook_name",
    "hook_source",
    "hook_type",
    "hook_matcher",
    "num_hooks",
    "num_success",
    "num_blocking",
    "num_non_blocking_error",
    "num_cancelled",
    "num_outputs_persisted",
    "stdout_chars",
    "system_message_chars",
    "additional_context_chars",
    "initial_user_message_chars",
    "total_duration_ms",
    "managed_only",
    "safe_mode",
    "plugin.name",
    "plugin.scope",
    "plugin_id_hash",
    "marketplace.name",
    "enabled_via",
    "managed_settings.trigger",
    "managed_settings.source_behavior",
    "managed_settings.helper.state",
    "managed_settings.helper.applied",
    "managed_settings.sources",
    "result",
    "period_days",
    "used_default",
    "transcripts_deleted",
    "transcripts_exempted_desktop",
    "session_files_deleted",
    "artifacts_deleted",
    "files_retained_fresh",
    "files_past_cutoff",
    "history_entries_pruned",
    "error_count",
];

/// Whether a marked field is metadata (or prompt text, at `prompts`): may and must stay.
fn expected_to_stay((source, event, path): &(String, String, String), prompts: bool) -> bool {
    let is_prompt = PROMPTS.iter().any(|(e, p)| e == event && p == path);
    if is_prompt {
        return prompts;
    }
    if source.starts_with("otlp") {
        // The resource is configuration; so are its copies on records, but each copy
        // carries its own marker here, so it differs from the resource and is content.
        return event == "resource" || OTLP_METADATA.contains(&path.as_str());
    }
    HOOK_METADATA.contains(&path.as_str())
        || HOOK_METADATA_BY_EVENT
            .iter()
            .any(|(e, p)| e == event && p == path)
}

/// Sends every marked payload through the hook with the collector down (spooled), then
/// up (delivered; the spool drains), every raw payload to /v1/hooks, and every logs
/// export to /v1/logs, at `level`; returns the markers found on disk, the canary and the
/// directories searched.
fn send_everything(dir: &Path, level: &str, all: bool) -> (BTreeSet<usize>, Canary) {
    let mut canary = Canary::default();
    let mut hooks = Vec::new();
    for (release, name, mut payload) in hook_payloads() {
        let event = payload["hook_event_name"].as_str().unwrap().to_owned();
        canary.hook(
            &mut payload,
            &format!("hook {release} {name}"),
            &event,
            "",
            all,
        );
        hooks.push(payload);
    }
    let mut raw = Vec::new();
    for (release, name, mut payload) in hook_payloads() {
        let event = payload["hook_event_name"].as_str().unwrap().to_owned();
        canary.hook(
            &mut payload,
            &format!("raw {release} {name}"),
            &event,
            "",
            all,
        );
        raw.push(payload);
    }
    let mut logs = Vec::new();
    for (release, mut export) in logs_exports() {
        canary.logs(&mut export, &format!("otlp {release}"));
        logs.push(export);
    }

    let data = dir.join("data");
    let state = dir.join("state");
    let hook = |url: &str, payload: &Value| {
        let output = Run::new(&["hook"], dir)
            .env("CLAUDE_TELEMETRY_URL", url)
            .env("CLAUDE_TELEMETRY_STATE_DIR", &state)
            .env("CLAUDE_TELEMETRY_PRIVACY", level)
            .env("XDG_CONFIG_HOME", dir.join("config"))
            .stdin(payload.to_string());
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    };
    // The collector is down: every event waits in the spool.
    let down = testkit::closed_port_url();
    for payload in &hooks {
        hook(&down, payload);
    }
    let spooled = hook::Spool::in_state_dir(&state).pending().unwrap().len();
    assert_eq!(spooled, hooks.len());
    let mut found = found_markers(&[&state]);

    let collector = Collector::start_with(&data, &[], &[("CLAUDE_TELEMETRY_PRIVACY", level)]);
    for payload in &hooks {
        hook(&collector.url, payload);
    }
    for payload in &raw {
        let (status, answer) = collector.post(
            "/v1/hooks",
            "application/json",
            payload.to_string().as_bytes(),
        );
        assert_eq!(status, 200, "{answer}");
    }
    for export in &logs {
        let (status, answer) = collector.post(
            "/v1/logs",
            "application/json",
            export.to_string().as_bytes(),
        );
        assert_eq!((status, answer.as_str()), (200, "{}"));
    }
    // Everything stored: the spool drained, two copies of each hook event and the raw one.
    let db = rusqlite::Connection::open(data.join("events.sqlite3")).unwrap();
    let hook_events: i64 = db
        .query_row(
            "SELECT count(*) FROM events WHERE source = 'hook'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(hook_events as usize, 3 * hooks.len());
    let spool = hook::Spool::in_state_dir(&state);
    assert_eq!(spool.pending().unwrap().len(), 0, "the spool drained");
    // Searched while the collector runs (its WAL in use), and after it stopped.
    found.extend(found_markers(&[&data, &state]));
    drop(db);
    collector.stop();
    found.extend(found_markers(&[&data, &state]));
    (found, canary)
}

#[test]
fn at_the_metadata_level_no_content_of_any_source_reaches_the_disk() {
    let dir = tempfile::tempdir().unwrap();
    let (found, canary) = send_everything(dir.path(), "metadata", false);
    let mut leaked: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut lost: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (index, field) in canary.fields.iter().enumerate() {
        let stays = expected_to_stay(field, false);
        let here = found.contains(&index);
        let key = format!("{} {}", field.1, field.2);
        if here && !stays {
            leaked.entry(key).or_default().insert(field.0.clone());
        } else if stays && !here {
            lost.entry(key).or_default().insert(field.0.clone());
        }
    }
    assert!(leaked.is_empty(), "content on disk: {leaked:#?}");
    assert!(lost.is_empty(), "metadata lost: {lost:#?}");
    assert!(
        canary.fields.len() > 2000,
        "{} strings marked",
        canary.fields.len()
    );

    // Marking the names too, every event and tool is one nobody knows yet: still no
    // content, and less is kept.
    let dir = tempfile::tempdir().unwrap();
    let (found, canary) = send_everything(dir.path(), "metadata", true);
    let leaked: Vec<String> = found
        .iter()
        .map(|index| &canary.fields[*index])
        .filter(|field| !expected_to_stay(field, false) && !dispatch_key(&field.2))
        .map(|field| format!("{field:?}"))
        .collect();
    assert!(leaked.is_empty(), "content on disk: {leaked:#?}");
}

#[test]
fn at_the_prompts_level_prompts_are_kept_and_no_other_content() {
    let dir = tempfile::tempdir().unwrap();
    let (found, canary) = send_everything(dir.path(), "prompts", false);
    let mut wrong = Vec::new();
    for (index, field) in canary.fields.iter().enumerate() {
        if found.contains(&index) != expected_to_stay(field, true) {
            wrong.push(format!("{field:?} on disk: {}", found.contains(&index)));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

/// Each shape a credential takes, in the text it hides in, and the part that must not be
/// stored.
const SECRET_SHAPES: &[(&str, &str)] = &[
    (
        r#"{"type": "service_account", "private_key": "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANprivatekeybodysecret\n-----END PRIVATE KEY-----\n"}"#,
        "privatekeybodysecret",
    ),
    (
        "stripe charges create --key sk_live_51Hstripelivesecret0123",
        "stripelivesecret",
    ),
    (
        "curl -H 'X-Api-Key: xapikeyheadersecret' https://api.example.com",
        "xapikeyheadersecret",
    ),
    (
        "curl -u admin:curluserpasssecret https://example.com",
        "curluserpasssecret",
    ),
    (
        "mysql -u root -pmysqlpasswordsecret shop",
        "mysqlpasswordsecret",
    ),
    (
        "sshpass -p sshpasspasswordsecret ssh me@host",
        "sshpasspasswordsecret",
    ),
    (
        "docker login -u me -p dockerloginsecret01 registry.example.com",
        "dockerloginsecret01",
    ),
    (
        "echo ghwithtokensecret01 | gh auth login --with-token",
        "ghwithtokensecret01",
    ),
    (
        "token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjYW5hcnkifQ.jwtsignaturesecret01 expires",
        "jwtsignaturesecret01",
    ),
    (
        "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=azureaccountkeysecret01==;EndpointSuffix=core.windows.net",
        "azureaccountkeysecret01",
    ),
];

#[test]
fn at_the_full_level_content_is_kept_and_every_secret_shape_redacted() {
    let dir = tempfile::tempdir().unwrap();
    let (data, state) = (dir.path().join("data"), dir.path().join("state"));
    let session = "e5eac102-29ac-48cb-af81-b5f46a425faf";
    let mut events = Vec::new();
    for (index, (text, _)) in SECRET_SHAPES.iter().enumerate() {
        let id = format!("toolu_secret_{index}");
        events.push(
            json!({"session_id": session, "hook_event_name": "PreToolUse",
            "tool_name": "Bash", "tool_use_id": id, "tool_input": {"command": text}}),
        );
        events.push(
            json!({"session_id": session, "hook_event_name": "PostToolUse",
            "tool_name": "Read", "tool_use_id": id, "tool_input": {"file_path": "/p/creds.json"},
            "tool_response": {"type": "text", "file": {"filePath": "/p/creds.json",
                "content": format!("FULLCONTENTKEPT {text}")}}}),
        );
        events.push(
            json!({"session_id": session, "hook_event_name": "UserPromptSubmit",
            "prompt": format!("please run {text}")}),
        );
    }
    // A secret used as a JSON key, in an MCP tool's input.
    events.push(
        json!({"session_id": session, "hook_event_name": "PreToolUse",
        "tool_name": "mcp__http__get", "tool_use_id": "toolu_key",
        "tool_input": {"headers": {"ghp_jsonkeysecret0123456789abcdef": "1"}}}),
    );
    let secrets: Vec<&str> = SECRET_SHAPES
        .iter()
        .map(|(_, secret)| *secret)
        .chain(["jsonkeysecret", "apierrorsecret", "bearertokensecret01"])
        .collect();

    let hook = |url: &str, event: &Value| {
        let output = Run::new(&["hook"], dir.path())
            .env("CLAUDE_TELEMETRY_URL", url)
            .env("CLAUDE_TELEMETRY_STATE_DIR", &state)
            .env("CLAUDE_TELEMETRY_PRIVACY", "full")
            .env("XDG_CONFIG_HOME", dir.path().join("config"))
            .stdin(event.to_string());
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    };
    let down = testkit::closed_port_url();
    for event in &events {
        hook(&down, event);
    }
    let collector = Collector::start_with(&data, &[], &[("CLAUDE_TELEMETRY_PRIVACY", "full")]);
    for event in &events {
        hook(&collector.url, event);
        let (status, answer) = collector.post(
            "/v1/hooks",
            "application/json",
            event.to_string().as_bytes(),
        );
        assert_eq!(status, 200, "{answer}");
    }
    // An API error holding an API key and a bearer token, with the prompt that led to it.
    let logs = json!({"resourceLogs": [{"resource": {"attributes": [
        {"key": "service.name", "value": {"stringValue": "claude-code"}}]},
        "scopeLogs": [{"logRecords": [
        {"timeUnixNano": "1795491296263000000", "attributes": [
            {"key": "event.name", "value": {"stringValue": "api_error"}},
            {"key": "session.id", "value": {"stringValue": session}},
            {"key": "error", "value": {"stringValue": "401 invalid x-api-key sk-ant-api03-apierrorsecret0123456789; Authorization: Bearer bearertokensecret01"}}]},
        {"timeUnixNano": "1795491296264000000", "attributes": [
            {"key": "event.name", "value": {"stringValue": "user_prompt"}},
            {"key": "session.id", "value": {"stringValue": session}},
            {"key": "prompt", "value": {"stringValue": SECRET_SHAPES[3].0}}]},
        {"timeUnixNano": "1795491296265000000", "attributes": [
            {"key": "event.name", "value": {"stringValue": "tool_decision"}},
            {"key": "session.id", "value": {"stringValue": session}},
            {"key": "tool_parameters", "value": {"stringValue": serde_json::to_string(
                &json!({"bash_command": "sshpass", "full_command": SECRET_SHAPES[5].0})).unwrap()}}]}
    ]}]}]});
    let (status, _) = collector.post("/v1/logs", "application/json", logs.to_string().as_bytes());
    assert_eq!(status, 200);
    assert_eq!(
        hook::Spool::in_state_dir(&state).pending().unwrap().len(),
        0,
        "the spool drained"
    );

    let on_disk = every_byte_under(&[&data, &state]);
    collector.stop();
    let on_disk = on_disk + &every_byte_under(&[&data, &state]);
    let found: Vec<&&str> = secrets
        .iter()
        .filter(|secret| on_disk.contains(**secret))
        .collect();
    assert!(found.is_empty(), "secrets on disk: {found:?}");
    // Content is kept at this level: what surrounds each secret, and the secret's place.
    assert!(on_disk.contains("FULLCONTENTKEPT"));
    assert!(on_disk.contains("docker login -u me -p [REDACTED] registry.example.com"));
    assert!(on_disk.contains("401 invalid x-api-key [REDACTED]"));
}

#[test]
fn prompt_logging_without_a_level_keeps_prompts_redacted_in_their_timeline() {
    let dir = tempfile::tempdir().unwrap();
    let session = "4d0ce24d-b101-495a-a24f-a2bb3cc0cfb3";
    let prompt = "deploy with curl -u admin:timelinesecret01 https://example.com";
    let logs = json!({"resourceLogs": [{"scopeLogs": [{"logRecords": [
        {"timeUnixNano": "1795491296264000000", "attributes": [
            {"key": "event.name", "value": {"stringValue": "user_prompt"}},
            {"key": "session.id", "value": {"stringValue": session}},
            {"key": "prompt_length", "value": {"stringValue": "60"}},
            {"key": "prompt", "value": {"stringValue": prompt}}]}]}]}]});
    for (env, kept) in [
        (&[("OTEL_LOG_USER_PROMPTS", "1")][..], true),
        (&[][..], false),
        (
            &[
                ("OTEL_LOG_USER_PROMPTS", "1"),
                ("CLAUDE_TELEMETRY_PRIVACY", "metadata"),
            ][..],
            false,
        ),
    ] {
        let data = dir.path().join(format!("data-{}", env.len()));
        let collector = Collector::start_with(&data, &[], env);
        let (status, _) =
            collector.post("/v1/logs", "application/json", logs.to_string().as_bytes());
        assert_eq!(status, 200);
        let (status, timeline) = collector.get(&format!("/api/v1/sessions/{session}/timeline"));
        assert_eq!(status, 200, "{timeline}");
        let timeline: Value = serde_json::from_str(&timeline).unwrap();
        let detail = timeline
            .as_array()
            .or_else(|| timeline["timeline"].as_array())
            .unwrap()[0]["detail"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(
            detail == "deploy with curl -u admin:[REDACTED] https://example.com",
            kept,
            "{env:?}: {detail}"
        );
        collector.stop();
        // The store, its WAL (a stop may leave it unmerged) and the rest of the data dir.
        let stored = every_byte_under(&[&data]);
        assert!(!stored.contains("timelinesecret01"));
        assert_eq!(stored.contains("deploy with curl"), kept, "{env:?}");
    }
}
