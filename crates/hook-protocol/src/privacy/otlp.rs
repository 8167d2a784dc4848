//! The allowlist of Claude Code's OTLP attributes: which attributes of its log events and
//! trace spans are metadata, and which hold prompt text.
//!
//! Read from Claude Code's monitoring reference and the exports it sends (2.1.197,
//! 2.1.330, 2.1.332). An attribute not listed is content, unless it repeats a resource
//! attribute (keys of `OTEL_RESOURCE_ATTRIBUTES`, such as `department`, are copied onto
//! every record): those are configuration, set by whoever runs Claude Code. The resource
//! itself is configuration too and is not judged here.

use serde_json::{Map, Value};

use super::Node::{self, Meta, Prompt};
use super::{Call, Level, judge};

/// Attributes that are metadata on every event and span: the standard attributes, ids,
/// names, models, decisions, sizes, counts and durations.
const METADATA: &[&str] = &[
    // Standard attributes and correlation ids.
    "session.id",
    "app.version",
    "app.entrypoint",
    "organization.id",
    "user.account_uuid",
    "user.account_id",
    "user.id",
    "user.email",
    "user.name",
    "user.groups",
    "identity.source",
    "terminal.type",
    "event.name",
    "event.timestamp",
    "event.sequence",
    "prompt.id",
    "message.uuid",
    "request_id",
    "client_request_id",
    "workflow.run_id",
    "workflow.name",
    "workspace.host_paths",
    "anthropic.provider",
    "anthropic.custom_base_url",
    // Who issued a request, with what.
    "model",
    "final_model",
    "model_swapped",
    "speed",
    "effort",
    "query_source",
    "query_source_safe",
    "agent_id",
    "parent_agent_id",
    "agent_type",
    "agent.name",
    "agent.source",
    "is_built_in",
    "is_async",
    "skill.name",
    "skill.source",
    "skill.kind",
    "plugin.name",
    "plugin.version",
    "plugin.scope",
    "plugin_id",
    "plugin_id_hash",
    "marketplace.name",
    "marketplace.is_official",
    "mcp_server.name",
    "mcp_tool.name",
    "mcp_server_name",
    "mcp_tool_name",
    "mcp_server_scope",
    "server_name",
    "server_scope",
    "transport_type",
    // Sizes, counts and durations.
    "prompt_length",
    "response_length",
    "user_prompt_length",
    "duration_ms",
    "ttft_ms",
    "first_content_ms",
    "total_duration_ms",
    "total_retry_duration_ms",
    "interaction.duration_ms",
    "cost_usd",
    "cost_usd_micros",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_creation_tokens",
    "cache_creation_5m_tokens",
    "cache_creation_1h_tokens",
    "total_tokens",
    "total_tool_uses",
    "pre_tokens",
    "post_tokens",
    "tool_input_size_bytes",
    "tool_result_size_bytes",
    "body_length",
    "body_truncated",
    "body_ref",
    "attempt",
    "total_attempts",
    "status_code",
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
    "skill_path_count",
    "command_path_count",
    "agent_path_count",
    "interaction.sequence",
    "queued_sends",
    "parent.source",
    // Tools and decisions.
    "tool_name",
    "tool_name_safe",
    "tool_use_id",
    "tool_source",
    "decision",
    "decision_type",
    "decision_source",
    "source",
    "permission_mode",
    "from_mode",
    "to_mode",
    "success",
    "error_type",
    "error.type",
    "error_class",
    "error_name",
    "error_code",
    "error_category",
    "bash_command_class",
    "bash_argv0",
    "file_path",
    "subagent_type",
    // Hooks, plugins, settings, housekeeping.
    "hook_event",
    "hook_name",
    "hook_type",
    "hook_source",
    "hook_matcher",
    "managed_only",
    "safe_mode",
    "enabled_via",
    "has_hooks",
    "has_mcp",
    "host_owned_mcp",
    "is_plugin",
    "install.trigger",
    "invocation_trigger",
    "mention_type",
    "status",
    "trigger",
    "action",
    "auth_method",
    "command_name",
    "command_source",
    "precompute_reuse",
    "server_fallback_hop",
    "has_category",
    "has_explanation",
    "category",
    "stop_reason",
    "llm_request.context",
    "span.type",
    "event_type",
    "appearance_id",
    "survey_type",
    "enabled_via_override",
    "managed_settings.helper.applied",
    "managed_settings.helper.state",
    "managed_settings.source_behavior",
    "managed_settings.sources",
    "managed_settings.trigger",
    "result",
    "skip_reason",
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
    // OpenTelemetry's GenAI conventions, on spans.
    "gen_ai.system",
    "gen_ai.provider.name",
    "gen_ai.operation.name",
    "gen_ai.conversation.id",
    "gen_ai.request.model",
    "gen_ai.response.model",
    "gen_ai.response.id",
    "gen_ai.response.finish_reasons",
    "gen_ai.tool.name",
    "gen_ai.tool.call.id",
    "gen_ai.usage.input_tokens",
    "gen_ai.usage.output_tokens",
    "gen_ai.usage.cache_read.input_tokens",
    "gen_ai.usage.cache_write.input_tokens",
];

/// Attributes that are metadata on one event only: elsewhere the same word holds text.
const BY_EVENT: &[(&str, &str, Node)] = &[
    // The user's choice in a survey, not the model's answer.
    ("feedback_survey", "response", Meta),
    ("user_prompt", "prompt", Prompt),
    // 2.1.332 sends the text twice.
    ("user_prompt", "prompt_text", Prompt),
    ("interaction", "user_prompt", Prompt),
];

fn node(name: &str, key: &str) -> Option<Node> {
    let short = name.strip_prefix("claude_code.").unwrap_or(name);
    BY_EVENT
        .iter()
        .find(|(event, attribute, _)| *event == short && *attribute == key)
        .map(|(_, _, node)| *node)
        .or_else(|| METADATA.contains(&key).then_some(Meta))
}

/// Keeps what `level` keeps of the attributes of an OTLP log event or span named `name`
/// (`claude_code.user_prompt`, `user_prompt`, `claude_code.interaction`, …) and replaces
/// the rest by size notes; an attribute equal to the resource's attribute of that key is
/// kept. Returns how many values were replaced.
pub fn keep_attributes(
    level: Level,
    name: &str,
    attributes: &mut Map<String, Value>,
    resource: &Map<String, Value>,
) -> usize {
    attributes
        .iter_mut()
        .map(|(key, value)| {
            let node = if resource.get(key) == Some(&*value) {
                Some(Meta)
            } else {
                node(name, key)
            };
            judge(value, node, Call::NONE, level)
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn map(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn metadata_keeps_named_attributes_and_sizes_the_rest() {
        let mut attributes = map(json!({"event.name": "api_error", "model": "m",
            "status_code": "401", "error": "invalid x-api-key sk-ant-api03-xyz",
            "duration_ms": 12, "brand_new": "text", "brand_new_count": 3}));
        let replaced = keep_attributes(
            Level::Metadata,
            "claude_code.api_error",
            &mut attributes,
            &Map::new(),
        );
        assert_eq!(replaced, 2);
        assert_eq!(
            Value::Object(attributes),
            json!({"event.name": "api_error", "model": "m", "status_code": "401",
                "error": {"elided_bytes": 34}, "duration_ms": 12,
                "brand_new": {"elided_bytes": 4}, "brand_new_count": 3})
        );
    }

    #[test]
    fn prompt_text_is_kept_from_the_prompts_level_whichever_attribute_carries_it() {
        let prompt =
            map(json!({"prompt": "fix it", "prompt_text": "fix it", "prompt_length": "6"}));
        for (level, kept) in [
            (Level::Metadata, false),
            (Level::Prompts, true),
            (Level::Full, true),
        ] {
            let mut attributes = prompt.clone();
            keep_attributes(level, "user_prompt", &mut attributes, &Map::new());
            assert_eq!(attributes["prompt"] == "fix it", kept, "{level}");
            assert_eq!(attributes["prompt_text"] == "fix it", kept, "{level}");
            assert_eq!(attributes["prompt_length"], "6");
        }
        let mut span = map(json!({"user_prompt": "fix it"}));
        keep_attributes(
            Level::Metadata,
            "claude_code.interaction",
            &mut span,
            &Map::new(),
        );
        assert_eq!(span["user_prompt"], json!({"elided_bytes": 6}));
        // Elsewhere the word is not the user's prompt.
        let mut other = map(json!({"prompt": "x"}));
        keep_attributes(
            Level::Prompts,
            "claude_code.tool_result",
            &mut other,
            &Map::new(),
        );
        assert_eq!(other["prompt"], json!({"elided_bytes": 1}));
        let mut answer = map(json!({"response": "the model said"}));
        keep_attributes(
            Level::Prompts,
            "assistant_response",
            &mut answer,
            &Map::new(),
        );
        assert_eq!(answer["response"], json!({"elided_bytes": 14}));
    }

    #[test]
    fn copies_of_resource_attributes_are_configuration() {
        let resource = map(json!({"department": "eng"}));
        let mut attributes = map(json!({"department": "eng", "team": "other"}));
        keep_attributes(Level::Metadata, "api_request", &mut attributes, &resource);
        assert_eq!(attributes["department"], "eng");
        assert_eq!(attributes["team"], json!({"elided_bytes": 5}));
        let mut differs = map(json!({"department": "sales"}));
        keep_attributes(Level::Metadata, "api_request", &mut differs, &resource);
        assert_eq!(differs["department"], json!({"elided_bytes": 5}));
    }

    #[test]
    fn arrays_of_names_are_kept_and_objects_are_sized() {
        let mut attributes = map(json!({"managed_settings.sources": ["a", "b"],
            "tool_parameters": {"bash_command": "ls"}}));
        keep_attributes(
            Level::Metadata,
            "managed_settings_resolved",
            &mut attributes,
            &Map::new(),
        );
        assert_eq!(attributes["managed_settings.sources"], json!(["a", "b"]));
        assert_eq!(attributes["tool_parameters"], json!({"elided_bytes": 21}));
    }
}
