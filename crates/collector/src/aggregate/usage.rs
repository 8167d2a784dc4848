//! What each event adds to the usage figures, and the hourly rollups that hold their
//! sums: the one definition of every count the page, `/api/v1/`, `report` and the
//! Prometheus families share (a session, a prompt, a tool call, a block, cost, tokens).
//!
//! An event is a [`Row`]: its store columns, joined to its session's user, project and
//! model. A row lands in exactly one bucket of each rollup, so every grouping's rows add
//! up to the same totals. Sums are integers (cost in billionths of a dollar), so they
//! are exact and the same in any order. Pure: the store's writer keeps the rollups, the
//! queries read them.

use std::collections::HashMap;

use serde::Serialize;

use super::join::{ApiUsage, Measures, Resolved};
use crate::event::Source;

/// An hour, in milliseconds.
pub const HOUR_MS: i64 = 3_600_000;

/// The hour an instant falls in (its start, Unix ms).
pub fn hour_of(ts_ms: i64) -> i64 {
    ts_ms - ts_ms.rem_euclid(HOUR_MS)
}

/// An event as the rollups see it: the store's columns, session join included.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Row {
    /// When, Unix ms.
    pub ts_ms: i64,
    /// Which source.
    pub source: Option<Source>,
    /// Hook event or OTLP event name.
    pub name: String,
    /// Its session.
    pub session_id: Option<String>,
    /// The tool.
    pub tool: String,
    /// The guard's decision.
    pub decision: String,
    /// The guard's rule.
    pub rule: String,
    /// The rule's family.
    pub category: String,
    /// The user ([`Identity::user_key`](super::join::Identity::user_key)).
    pub user: String,
    /// The project's name.
    pub project: String,
    /// The model.
    pub model: String,
    /// Whether its session counts here.
    pub first_in_session: bool,
    /// An API request's usage.
    pub usage: ApiUsage,
    /// A duration, milliseconds.
    pub duration_ms: Option<f64>,
}

impl Row {
    /// The row of an event that happened at `ts_ms`, as its session joins it.
    pub fn new(ts_ms: i64, measures: &Measures, resolved: &Resolved) -> Row {
        Row {
            ts_ms,
            source: measures.source,
            name: measures.name.clone(),
            session_id: measures.session_id.clone(),
            tool: measures.tool.clone(),
            decision: measures.decision.clone(),
            rule: measures.rule.clone(),
            category: measures.category.clone(),
            user: resolved.identity.user_key(),
            project: resolved.identity.project_name.clone(),
            model: resolved.model.clone(),
            first_in_session: resolved.first_in_session,
            usage: measures.usage,
            duration_ms: measures.duration_ms,
        }
    }

    fn hook(&self) -> bool {
        self.source == Some(Source::Hook)
    }

    fn otlp(&self, name: &str) -> bool {
        self.source == Some(Source::OtlpLog) && self.name == name
    }

    /// Whether it is a block: the guard denied it, or Claude Code did (`PermissionDenied`,
    /// whose decision is a denial whether or not the hook attached one).
    pub fn is_block(&self) -> bool {
        self.hook() && self.decision == "deny"
    }

    /// What it adds to the usage figures.
    pub fn figures(&self) -> Figures {
        let mut f = Figures {
            sessions: i64::from(self.first_in_session),
            ..Figures::default()
        };
        if self.hook() {
            let post = matches!(self.name.as_str(), "PostToolUse" | "PostToolUseFailure");
            f.prompts = i64::from(self.name == "UserPromptSubmit");
            // A blocked call is a tool call too, as in `claude_code_tool_calls_total`
            // (outcome `blocked`): one definition in every view.
            f.tool_calls = i64::from(post || self.is_block());
            f.tool_failures = i64::from(self.name == "PostToolUseFailure");
            f.tools_blocked = i64::from(self.is_block());
            f.blocks = i64::from(self.is_block());
        } else if self.otlp("claude_code.api_request") {
            let u = &self.usage;
            f.requests = 1;
            f.input_tokens = u.input_tokens;
            f.output_tokens = u.output_tokens;
            f.cache_read_tokens = u.cache_read_tokens;
            f.cache_creation_tokens = u.cache_creation_tokens;
            f.cost_nano = u.cost_nano;
        } else if self.otlp("claude_code.api_error") {
            f.api_errors = 1;
        }
        f
    }

    /// How long the tool call took, by the hooks' measure: the `duration_ms` of
    /// PostToolUse and PostToolUseFailure, else the time since its PreToolUse (the store's
    /// writer pairs them).
    fn hook_tool_ms(&self) -> Option<f64> {
        let post = matches!(self.name.as_str(), "PostToolUse" | "PostToolUseFailure");
        self.duration_ms.filter(|_| self.hook() && post)
    }

    /// How long the tool call took, by Claude Code's `tool_result` event.
    fn otlp_tool_ms(&self) -> Option<f64> {
        self.duration_ms
            .filter(|_| self.otlp("claude_code.tool_result"))
    }

    /// How long the API request took.
    fn api_ms(&self) -> Option<f64> {
        self.duration_ms
            .filter(|_| self.otlp("claude_code.api_request"))
    }
}

/// The usage figures: additive counts, every one an integer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Figures {
    /// Sessions whose first event falls here.
    pub sessions: i64,
    /// Prompts submitted.
    pub prompts: i64,
    /// Tool calls finished (succeeded or failed).
    pub tool_calls: i64,
    /// Of which failed.
    pub tool_failures: i64,
    /// Tool calls stopped: denied by the guard, or by Claude Code's permissions.
    pub tools_blocked: i64,
    /// Tool calls the guard denied.
    pub blocks: i64,
    /// API requests.
    pub requests: i64,
    /// API errors.
    pub api_errors: i64,
    /// Input tokens.
    pub input_tokens: i64,
    /// Output tokens.
    pub output_tokens: i64,
    /// Tokens read from the prompt cache.
    pub cache_read_tokens: i64,
    /// Tokens written to the prompt cache.
    pub cache_creation_tokens: i64,
    /// Cost in billionths of a US dollar.
    pub cost_nano: i64,
}

impl Figures {
    /// The rollup columns, in the order of [`Figures::values`].
    pub const COLUMNS: [&'static str; 13] = [
        "sessions",
        "prompts",
        "tool_calls",
        "tool_failures",
        "tools_blocked",
        "blocks",
        "requests",
        "api_errors",
        "input_tokens",
        "output_tokens",
        "cache_read_tokens",
        "cache_creation_tokens",
        "cost_nano",
    ];

    /// Every figure, in column order.
    pub fn values(&self) -> [i64; 13] {
        [
            self.sessions,
            self.prompts,
            self.tool_calls,
            self.tool_failures,
            self.tools_blocked,
            self.blocks,
            self.requests,
            self.api_errors,
            self.input_tokens,
            self.output_tokens,
            self.cache_read_tokens,
            self.cache_creation_tokens,
            self.cost_nano,
        ]
    }

    /// Figures from values in column order.
    pub fn from_values(v: [i64; 13]) -> Figures {
        Figures {
            sessions: v[0],
            prompts: v[1],
            tool_calls: v[2],
            tool_failures: v[3],
            tools_blocked: v[4],
            blocks: v[5],
            requests: v[6],
            api_errors: v[7],
            input_tokens: v[8],
            output_tokens: v[9],
            cache_read_tokens: v[10],
            cache_creation_tokens: v[11],
            cost_nano: v[12],
        }
    }

    /// Adds `other` times `sign` (1, or -1 to take it away).
    pub fn add(&mut self, other: &Figures, sign: i64) {
        let mine = self.values();
        let theirs = other.values();
        let mut sum = [0; 13];
        for i in 0..13 {
            sum[i] = mine[i] + sign * theirs[i];
        }
        *self = Figures::from_values(sum);
    }

    /// Whether every figure is zero.
    pub fn is_zero(&self) -> bool {
        self.values().iter().all(|v| *v == 0)
    }

    /// Cost in dollars.
    pub fn cost_usd(&self) -> f64 {
        self.cost_nano as f64 / 1e9
    }
}

/// Durations in log-spaced buckets, eight to a doubling (each about 9 % wide), from a
/// millisecond up: the same in any order of adding, cheap to merge, and quantiles
/// within about 4.5 %. Dense (256 counts) once anything is in it, so merging a stored
/// one is a pass over its pairs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Histogram(Vec<i64>);

const STEPS_PER_DOUBLING: f64 = 8.0;
const BUCKETS: usize = 256;

impl Histogram {
    /// The bucket of a duration.
    fn bucket(ms: f64) -> usize {
        if ms.is_nan() || ms <= 1.0 {
            return 0;
        }
        (ms.log2() * STEPS_PER_DOUBLING).ceil().clamp(0.0, 255.0) as usize
    }

    fn slots(&mut self) -> &mut [i64] {
        if self.0.is_empty() {
            self.0 = vec![0; BUCKETS];
        }
        &mut self.0
    }

    /// Back to empty when everything was taken away (so equal histograms compare equal).
    fn tidy(&mut self) {
        if self.0.iter().all(|n| *n == 0) {
            self.0 = Vec::new();
        }
    }

    /// Adds one observation.
    pub fn record(&mut self, ms: f64) {
        self.slots()[Histogram::bucket(ms)] += 1;
    }

    /// Adds `other` times `sign`.
    pub fn merge(&mut self, other: &Histogram, sign: i64) {
        if other.is_empty() {
            return;
        }
        for (mine, theirs) in self.slots().iter_mut().zip(&other.0) {
            *mine += sign * theirs;
        }
        self.tidy();
    }

    /// Adds a stored one ([`Histogram::encode`]'s bytes; a cut-off tail is ignored).
    pub fn merge_encoded(&mut self, bytes: &[u8]) {
        if bytes.len() < 5 {
            return;
        }
        let slots = self.slots();
        for pair in bytes.chunks_exact(5) {
            let n = u32::from_le_bytes([pair[1], pair[2], pair[3], pair[4]]);
            slots[usize::from(pair[0])] += i64::from(n);
        }
    }

    /// Observations.
    pub fn count(&self) -> i64 {
        self.0.iter().sum()
    }

    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The `q` quantile (0 to 1), in milliseconds: the middle of the bucket it falls
    /// in (geometric), `None` when empty.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let total = self.count();
        if total <= 0 {
            return None;
        }
        // The same rank as the nearest-rank percentile of the raw values.
        let rank = ((total - 1) as f64 * q).round() as i64;
        let mut seen = 0;
        for (bucket, n) in self.0.iter().enumerate() {
            seen += n;
            if seen > rank {
                if bucket == 0 {
                    return Some(1.0);
                }
                let upper = bucket as f64 / STEPS_PER_DOUBLING;
                let lower = upper - 1.0 / STEPS_PER_DOUBLING;
                return Some(((lower + upper) / 2.0).exp2());
            }
        }
        None
    }

    /// The stored form: (bucket, count as little-endian u32) pairs.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for (bucket, n) in self.0.iter().enumerate().filter(|(_, n)| **n != 0) {
            out.push(u8::try_from(bucket).unwrap_or(u8::MAX));
            out.extend_from_slice(&u32::try_from(*n).unwrap_or(u32::MAX).to_le_bytes());
        }
        out
    }

    /// Reads the stored form back.
    pub fn decode(bytes: &[u8]) -> Histogram {
        let mut out = Histogram::default();
        out.merge_encoded(bytes);
        out.tidy();
        out
    }
}

/// A usage bucket's key: hour, user, project, model.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UsageKey {
    /// The hour, Unix ms.
    pub hour_ms: i64,
    /// The user.
    pub user: String,
    /// The project's name.
    pub project: String,
    /// The model.
    pub model: String,
}

/// A usage bucket: figures and API latency.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UsageBucket {
    /// The figures.
    pub figures: Figures,
    /// API request durations.
    pub api_ms: Histogram,
}

/// A tool bucket's key: hour, user, project, model, tool.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ToolKey {
    /// Where and when.
    pub usage: UsageKey,
    /// The tool.
    pub tool: String,
}

/// How a tool was used in one bucket.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ToolBucket {
    /// Calls finished.
    pub calls: i64,
    /// Of which failed.
    pub failures: i64,
    /// Stopped by the guard or Claude Code's permissions.
    pub blocked: i64,
    /// Denied by the guard.
    pub blocks: i64,
    /// Durations the hook measured.
    pub hook_ms: Histogram,
    /// Durations of Claude Code's `tool_result` events.
    pub otlp_ms: Histogram,
}

impl ToolBucket {
    /// Adds `other` times `sign`.
    pub fn merge(&mut self, other: &ToolBucket, sign: i64) {
        self.calls += sign * other.calls;
        self.failures += sign * other.failures;
        self.blocked += sign * other.blocked;
        self.blocks += sign * other.blocks;
        self.hook_ms.merge(&other.hook_ms, sign);
        self.otlp_ms.merge(&other.otlp_ms, sign);
    }

    /// The durations to show: the hook's where it measured any, else Claude Code's.
    pub fn durations(&self) -> &Histogram {
        if self.hook_ms.is_empty() {
            &self.otlp_ms
        } else {
            &self.hook_ms
        }
    }
}

/// A block bucket's key: where and when, tool, rule and its family.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlockKey {
    /// Where and when.
    pub usage: UsageKey,
    /// The tool.
    pub tool: String,
    /// The rule.
    pub rule: String,
    /// Its family.
    pub category: String,
}

/// Sums of rows, by hour: usage by user, project and model; usage by session; tools;
/// blocks by rule. What the store keeps as events arrive, and what a query adds up
/// for the parts of a window that are not whole hours.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rollup {
    /// Usage by hour, user, project, model.
    pub usage: HashMap<UsageKey, UsageBucket>,
    /// Usage by session (and hour, user, project, model).
    pub sessions: HashMap<(String, UsageKey), Figures>,
    /// Tools.
    pub tools: HashMap<ToolKey, ToolBucket>,
    /// Blocks by rule.
    pub blocks: HashMap<BlockKey, i64>,
}

impl Rollup {
    /// Adds a row (`sign` 1), or takes it away (-1).
    pub fn add(&mut self, row: &Row, sign: i64) {
        if row.source == Some(Source::OtlpMetrics) {
            return;
        }
        let figures = row.figures();
        let key = UsageKey {
            hour_ms: hour_of(row.ts_ms),
            user: row.user.clone(),
            project: row.project.clone(),
            model: row.model.clone(),
        };
        let api_ms = row.api_ms();
        if !figures.is_zero() || api_ms.is_some() {
            let bucket = self.usage.entry(key.clone()).or_default();
            bucket.figures.add(&figures, sign);
            if let Some(ms) = api_ms {
                let mut one = Histogram::default();
                one.record(ms);
                bucket.api_ms.merge(&one, sign);
            }
            if let Some(session) = &row.session_id {
                self.sessions
                    .entry((session.clone(), key.clone()))
                    .or_default()
                    .add(&figures, sign);
            }
        }
        let mut tool = ToolBucket {
            calls: figures.tool_calls,
            failures: figures.tool_failures,
            blocked: figures.tools_blocked,
            blocks: figures.blocks,
            ..ToolBucket::default()
        };
        if let Some(ms) = row.hook_tool_ms() {
            tool.hook_ms.record(ms);
        }
        if let Some(ms) = row.otlp_tool_ms() {
            tool.otlp_ms.record(ms);
        }
        if !row.tool.is_empty() && tool != ToolBucket::default() {
            self.tools
                .entry(ToolKey {
                    usage: key.clone(),
                    tool: row.tool.clone(),
                })
                .or_default()
                .merge(&tool, sign);
        }
        if row.is_block() {
            *self
                .blocks
                .entry(BlockKey {
                    usage: key,
                    tool: row.tool.clone(),
                    rule: row.rule.clone(),
                    category: row.category.clone(),
                })
                .or_default() += sign;
        }
    }

    /// Whether nothing was added.
    pub fn is_empty(&self) -> bool {
        self.usage.is_empty()
            && self.sessions.is_empty()
            && self.tools.is_empty()
            && self.blocks.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, source: Source) -> Row {
        Row {
            ts_ms: 5 * HOUR_MS + 10,
            source: Some(source),
            name: name.to_owned(),
            session_id: Some("s".to_owned()),
            user: "jane".to_owned(),
            project: "acme/api".to_owned(),
            model: "sonnet".to_owned(),
            ..Row::default()
        }
    }

    #[test]
    fn each_event_counts_once_where_it_belongs() {
        let mut rollup = Rollup::default();
        let mut first = row("SessionStart", Source::Hook);
        first.first_in_session = true;
        rollup.add(&first, 1);
        rollup.add(&row("UserPromptSubmit", Source::Hook), 1);
        let mut denied = row("PreToolUse", Source::Hook);
        (denied.decision, denied.rule, denied.tool) =
            ("deny".into(), "rm.home".into(), "Bash".into());
        rollup.add(&denied, 1);
        let mut done = row("PostToolUse", Source::Hook);
        (done.tool, done.duration_ms) = ("Read".into(), Some(120.0));
        rollup.add(&done, 1);
        let mut api = row("claude_code.api_request", Source::OtlpLog);
        api.usage = ApiUsage {
            cost_nano: 41_809_500,
            input_tokens: 3,
            output_tokens: 7,
            cache_read_tokens: 11,
            cache_creation_tokens: 13,
        };
        api.duration_ms = Some(2000.0);
        rollup.add(&api, 1);
        let usage = rollup.usage.values().next().unwrap();
        assert_eq!(rollup.usage.len(), 1);
        let f = usage.figures;
        assert_eq!(
            (
                f.sessions,
                f.prompts,
                f.tool_calls,
                f.blocks,
                f.tools_blocked,
                f.requests
            ),
            // Two tool calls: the one that ran and the one blocked.
            (1, 1, 2, 1, 1, 1)
        );
        assert_eq!(f.cost_nano, 41_809_500);
        assert_eq!(usage.api_ms.count(), 1);
        assert_eq!(rollup.sessions.values().collect::<Vec<_>>(), [&f]);
        assert_eq!(rollup.tools.len(), 2);
        assert_eq!(rollup.blocks.values().sum::<i64>(), 1);
        // Taking every row away leaves nothing but zeros.
        for r in [&first, &denied, &done, &api] {
            rollup.add(r, -1);
        }
        rollup.add(&row("UserPromptSubmit", Source::Hook), -1);
        assert!(
            rollup
                .usage
                .values()
                .all(|b| b.figures.is_zero() && b.api_ms.is_empty())
        );
    }

    #[test]
    fn quantiles_are_within_a_bucket_of_the_exact_ones() {
        let values: Vec<f64> = (1..=1000).map(|i| f64::from(i) * 3.7).collect();
        let mut histogram = Histogram::default();
        values.iter().for_each(|v| histogram.record(*v));
        for q in [0.5, 0.95] {
            let exact = values[((values.len() - 1) as f64 * q).round() as usize];
            let estimate = histogram.quantile(q).unwrap();
            assert!(
                (estimate / exact - 1.0).abs() < 0.05,
                "{q}: {estimate} vs {exact}"
            );
        }
        assert_eq!(Histogram::decode(&histogram.encode()), histogram);
        assert_eq!(Histogram::default().quantile(0.5), None);
    }
}
