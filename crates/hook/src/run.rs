//! One hook invocation, from input bytes to what is printed and the exit code.

use std::time::Instant;

use hook_protocol::{HookAnswer, HookEvent};

use crate::config::{Env, HookConfig};
use crate::decide::{Judged, judge};
use crate::denials;
use crate::enrich::{Origin, enrich};
use crate::look::Disk;
use crate::spool::{Spool, send_or_spool};

/// What the hook process prints and how it exits.
#[derive(Debug, Default, PartialEq)]
pub struct HookOutcome {
    /// The JSON answer for Claude Code, if there is something to say.
    pub stdout: Option<String>,
    /// Diagnostics: Claude Code keeps them in its debug log.
    pub stderr: Vec<String>,
    /// 0 normally; 1 (a non-blocking error) when the input was not a hook event.
    pub exit_code: i32,
}

/// Handles one event: the guard's decision for the events that run something, then
/// delivery.
///
/// Delivery problems never change the answer to Claude Code: a tool call is not blocked or
/// allowed because the collector is away. Only when an event can neither be delivered nor
/// spooled does the user hear of it, through `systemMessage`.
pub fn run(input: &[u8], env: &impl Env, started: Instant) -> HookOutcome {
    let mut outcome = HookOutcome::default();
    let (mut event, lossy) = match HookEvent::parse(input) {
        Ok(parsed) => parsed,
        Err(err) => {
            outcome.stderr.push(format!("claude-telemetry hook: {err}"));
            outcome.exit_code = 1;
            return outcome;
        }
    };
    let judged = judge(&event, env, &Disk::from_env(env));
    let answer = judged
        .as_ref()
        .map_or_else(HookAnswer::nothing, Judged::answer);
    let answer = match HookConfig::from_env(env) {
        Ok(config) => {
            match deliver(
                &mut event,
                &config,
                lossy,
                judged.as_ref(),
                started,
                &mut outcome.stderr,
            ) {
                Some(warning) => answer.with_system_message(warning),
                None => answer,
            }
        }
        Err(err) => {
            let message =
                format!("claude-telemetry hook: configuration error, event not recorded: {err}");
            outcome.stderr.push(message.clone());
            answer.with_system_message(message)
        }
    };
    if denials::closes_turn(&event)
        && let Ok(config) = HookConfig::from_env(env)
    {
        denials::report_after(&event, &config, &mut outcome.stderr);
    }
    let event_name = event.event_name().unwrap_or("");
    outcome.stdout = answer.to_json(event_name).map(|json| json.to_string());
    outcome
}

/// Delivers or spools the event; returns a warning for the user when it was lost.
fn deliver(
    event: &mut HookEvent,
    config: &HookConfig,
    lossy: bool,
    judged: Option<&Judged>,
    started: Instant,
    stderr: &mut Vec<String>,
) -> Option<String> {
    let spool = Spool::in_state_dir(&config.state_dir);
    let origin = Origin::of_hook(config, lossy, spool.pending_count());
    let guard = judged
        .map(Judged::record)
        .or_else(|| denials::auto_mode_record(event));
    let event_id = match enrich(event, origin, guard, started) {
        Ok(enrichment) => enrichment.event_id,
        Err(err) => {
            let message = format!("claude-telemetry hook: cannot encode the event: {err}");
            stderr.push(message.clone());
            return Some(message);
        }
    };
    let line = match event.to_json() {
        Ok(line) => line,
        Err(err) => {
            let message = format!("claude-telemetry hook: cannot encode the event: {err}");
            stderr.push(message.clone());
            return Some(message);
        }
    };
    send_or_spool(&event_id, &line, config, stderr)
}
