//! One hook invocation, from input bytes to what is printed and the exit code.

use std::time::Instant;

use hook_protocol::{HookAnswer, HookEvent};

use crate::config::{Env, HookConfig};
use crate::decide::{Judged, judge};
use crate::deliver::{Collector, DeliveryError};
use crate::denials;
use crate::enrich::{Origin, enrich};
use crate::look::Disk;
use crate::spool::Spool;

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

/// Sends one enriched event, or spools it when the collector is away (then drains the
/// spool after a success); returns a warning for the user when it was lost.
pub(crate) fn send_or_spool(
    event_id: &str,
    line: &str,
    config: &HookConfig,
    stderr: &mut Vec<String>,
) -> Option<String> {
    let spool = Spool::in_state_dir(&config.state_dir);
    let collector = Collector::new(config);

    let down_for = spool.collector_down_for();
    let result = if down_for.is_some_and(|age| age < config.retry_after) {
        stderr.push(format!(
            "claude-telemetry hook: the collector timed out recently; event spooled without trying (retry after {} ms)",
            config.retry_after.as_millis()
        ));
        Err(None)
    } else {
        collector.send_one(line).map_err(Some)
    };
    let stored = match result {
        Ok(()) => {
            if down_for.is_some() {
                spool.clear_collector_down();
            }
            if spool.has_pending() {
                match spool.drain(&collector) {
                    Ok(report) if report.rejected > 0 => stderr.push(format!(
                        "claude-telemetry hook: the collector refused {} spooled event(s); kept in {}",
                        report.rejected,
                        spool.rejected_dir().display()
                    )),
                    Ok(_) => {}
                    Err(err) => stderr.push(format!("claude-telemetry hook: draining the spool: {err}")),
                }
            }
            return None;
        }
        Err(Some(err @ DeliveryError::Rejected { .. })) => {
            stderr.push(format!(
                "claude-telemetry hook: {err}; kept in {}",
                spool.rejected_dir().display()
            ));
            spool.put_rejected(event_id, line)
        }
        Err(failure) => {
            if let Some(err) = &failure {
                stderr.push(format!(
                    "claude-telemetry hook: {err}; spooled for later delivery"
                ));
                if err.timed_out()
                    && let Err(err) = spool.mark_collector_down()
                {
                    stderr.push(format!("claude-telemetry hook: {err}"));
                }
            }
            spool.put(event_id, line)
        }
    };
    match stored {
        Ok(_) => None,
        Err(err) => {
            let message = format!(
                "claude-telemetry: event {event_id} could not be delivered to {} nor spooled ({err}); telemetry is being lost",
                collector.endpoint()
            );
            stderr.push(message.clone());
            Some(message)
        }
    }
}
