//! Raw Claude Code events (a `type: "http"` hook posting to `/v1/hooks`): judged by the
//! configured guard and enriched on the hook's own path (`hook::judge_with`,
//! `hook::enrich`), with what the request tells about the user instead of what the
//! hook's environment would.

use std::path::PathBuf;
use std::time::Instant;

use guard::GuardConfig;
use hook::{Judged, Origin, Place};
use hook_protocol::privacy::Level;
use hook_protocol::{Enrichment, HookEvent};
use serde_json::{Value, json};

/// What a request tells about where a raw event comes from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestOrigin {
    /// `X-Claude-Host`, else the peer's address.
    pub host: String,
    /// `X-Claude-User-Name`.
    pub user_name: Option<String>,
    /// `X-Claude-User-Email`.
    pub user_email: Option<String>,
    /// `X-Claude-Project-Dir`.
    pub project_dir: Option<String>,
}

/// Judges (a PreToolUse) and enriches a raw event, keeping what `privacy` keeps of it.
/// Returns its enrichment and the hook-protocol answer for Claude Code (`{}` when there is
/// nothing to say).
pub fn judge_and_enrich(
    event: &mut HookEvent,
    guard: &GuardConfig,
    origin: RequestOrigin,
    privacy: Level,
) -> Result<(Enrichment, Value), serde_json::Error> {
    let started = Instant::now();
    let place = Place {
        project_dir: origin.project_dir.as_ref().map(PathBuf::from),
        home: home_of(event),
        // The collector's TMPDIR is not the user's.
        temp_dir: None,
    };
    // The user's disk is not this one: a search is judged as reaching secret files.
    let judged = hook::judge_with(event, guard, &place, &hook::NothingKnown);
    let answer = judged
        .as_ref()
        .and_then(|judged| judged.answer().to_json(event.event_name().unwrap_or("")))
        .unwrap_or_else(|| json!({}));
    let origin = Origin {
        host: origin.host,
        user_name: origin.user_name.unwrap_or_default(),
        user_email: origin.user_email,
        project_dir: origin.project_dir,
        // The collector cannot see the user's checkout: the folder names the project.
        name_from_repository: false,
        handled_by: format!("collector/{}", env!("CARGO_PKG_VERSION")),
        lossy_utf8: false,
        spool_pending: 0,
        privacy,
    };
    // Claude Code's auto mode denials are audited as the command hook audits them.
    let record = judged
        .as_ref()
        .map(Judged::record)
        .or_else(|| hook::auto_mode_record(event));
    let enrichment = hook::enrich(event, origin, record, started)?;
    Ok((enrichment, answer))
}

/// The user's home, from the transcript path Claude Code sends
/// (`/home/jane/.claude/projects/…`): the collector's own HOME is not the user's.
fn home_of(event: &HookEvent) -> Option<PathBuf> {
    let transcript = event.fields().get("transcript_path")?.as_str()?;
    let (home, _) = transcript.split_once("/.claude/")?;
    (!home.is_empty()).then(|| PathBuf::from(home))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(command: &str) -> HookEvent {
        HookEvent::from_value(json!({
            "hook_event_name": "PreToolUse", "session_id": "s", "cwd": "/home/jane/project",
            "transcript_path": "/home/jane/.claude/projects/p/s.jsonl",
            "tool_name": "Bash", "tool_input": {"command": command}, "tool_use_id": "t"
        }))
        .unwrap()
    }

    fn origin() -> RequestOrigin {
        RequestOrigin {
            host: "laptop".to_owned(),
            user_name: Some("jane".to_owned()),
            user_email: None,
            project_dir: Some("/home/jane/project".to_owned()),
        }
    }

    #[test]
    fn a_raw_event_is_judged_with_the_configuration_given_and_enriched() {
        let git = with_packs(&["git"]);
        let mut event = raw("git reset --hard HEAD~3");
        let (enrichment, answer) =
            judge_and_enrich(&mut event, &git, origin(), Level::Metadata).unwrap();
        assert_eq!(answer["hookSpecificOutput"]["permissionDecision"], "deny");
        let guard = enrichment.guard.as_ref().unwrap();
        assert_eq!(
            (guard.decision.as_str(), guard.rule.as_str()),
            ("deny", "git.reset_hard")
        );
        assert_eq!(enrichment.host, "laptop");
        assert_eq!(enrichment.user_name, "jane");
        assert_eq!(enrichment.project.as_deref(), Some("/home/jane/project"));
        assert!(enrichment.hook_version.starts_with("collector/"));
        assert_eq!(
            event.enrichment().unwrap().unwrap(),
            enrichment,
            "attached to the event"
        );
        // The command of a call the guard stopped is the audit trail's evidence; the
        // rest of the input is kept as the level says.
        assert_eq!(
            event.tool_input().unwrap(),
            &json!({"command": "git reset --hard HEAD~3"})
        );

        let mut event = raw("git reset --hard HEAD~3");
        let (_, answer) = judge_and_enrich(
            &mut event,
            &GuardConfig::default(),
            origin(),
            Level::Metadata,
        )
        .unwrap();
        assert_eq!(answer, json!({}), "without the pack, nothing to say");
        assert_eq!(
            event.tool_input().unwrap()["command"],
            json!({"elided_bytes": 23}),
            "an allowed command is content"
        );
    }

    #[test]
    fn home_comes_from_the_transcript_path() {
        let mut event = raw("rm -rf ~");
        let (_, answer) = judge_and_enrich(
            &mut event,
            &GuardConfig::default(),
            origin(),
            Level::Metadata,
        )
        .unwrap();
        assert_eq!(answer["hookSpecificOutput"]["permissionDecision"], "deny");
        assert_eq!(home_of(&raw("ls")), Some(PathBuf::from("/home/jane")));
    }

    fn with_packs(packs: &[&str]) -> GuardConfig {
        serde_json::from_value(json!({ "packs": packs })).unwrap()
    }
}
