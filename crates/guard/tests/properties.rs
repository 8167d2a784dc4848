//! Properties of the guard over generated input: it never panics, always answers, and
//! wrapping or quoting a dangerous command never makes it allowed.
//!
//! Termination is by construction (a step budget, a nesting limit, a depth limit), so a
//! generated input that hung would hang this test; nextest's slow-timeout turns that into
//! a failure.

// Test code: a failed expectation stops the test.
#![allow(clippy::unwrap_used)]

use guard::{Context, GuardConfig, Verdict, decide};
use proptest::prelude::*;
use serde_json::{Value, json};

fn ctx() -> Context {
    Context::new("/home/dev/project", "/home/dev")
}

fn bash(command: &str) -> guard::Decision {
    decide(
        "Bash",
        &json!({ "command": command }),
        &ctx(),
        &GuardConfig::default(),
    )
}

/// Pieces of shell that exercise the parser and walker's corners.
fn shell_piece() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "rm",
        "-rf",
        "-r",
        "~",
        "/",
        "$(",
        ")",
        "`",
        "\"",
        "'",
        ";",
        "|",
        "&&",
        "||",
        "&",
        "bash -c",
        "sh",
        "{",
        "}",
        "(",
        "<<EOF\n",
        "\nEOF\n",
        "<<'X'\n",
        "\nX\n",
        "*",
        "..",
        ".env",
        "$HOME",
        "${HOME}",
        "eval",
        "xargs",
        "find",
        "-delete",
        "-exec",
        "\\;",
        "$'\\x72'",
        " ",
        "\n",
        "cd",
        "export A=",
        "$A",
        "sudo",
        "env",
        "<(",
        ">",
        ">>",
        "<",
        "cat",
        "python3 -c",
        "node -e",
        "for x in a; do",
        "done",
        "if",
        "then",
        "fi",
        "case",
        "esac",
        "\\",
        "#",
        "=",
        "~root",
        "$((1+2))",
        "!",
        "[[",
        "]]",
        "<<<",
    ])
    .prop_map(str::to_owned)
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        ".{0,40}".prop_map(Value::String),
        prop::sample::select(vec![
            ".env",
            "/etc/passwd",
            "**/.env*",
            "*.{env,ts}",
            "~/.ssh/id_rsa",
            ""
        ])
        .prop_map(|s| Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                prop::sample::select(vec![
                    "file_path",
                    "path",
                    "glob",
                    "pattern",
                    "command",
                    "paths",
                    "content",
                    "x"
                ])
                .prop_map(str::to_owned),
                inner,
                0..6
            )
            .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(command in "\\PC{0,300}") {
        let decision = bash(&command);
        prop_assert!(decision.verdict != Verdict::Allow || decision.rule == "none");
    }

    #[test]
    fn shell_soup_never_panics(pieces in prop::collection::vec(shell_piece(), 0..40)) {
        let decision = bash(&pieces.join(" "));
        prop_assert!(!decision.reason.is_empty());
        let glued = bash(&pieces.concat());
        prop_assert!(!glued.reason.is_empty());
    }

    #[test]
    fn arbitrary_tool_inputs_never_panic(
        tool in prop::sample::select(vec!["Read", "Write", "Edit", "MultiEdit", "NotebookEdit", "Grep", "Glob", "Bash", "mcp__x__y", "WebFetch"]),
        input in json_value(),
    ) {
        let decision = decide(tool, &input, &ctx(), &GuardConfig::default());
        prop_assert!(!decision.reason.is_empty());
    }

    /// However a dangerous delete is wrapped, quoted or nested, it stays denied.
    #[test]
    fn wrapping_never_unblocks(
        target in prop::sample::select(vec!["~", "/", "$HOME", "/etc", "..", "*", "."]),
        wrappers in prop::collection::vec(0usize..8, 0..4),
        quote_program in 0usize..4,
    ) {
        let program = ["rm", "\"rm\"", "r''m", "\\rm"][quote_program];
        let mut command = format!("{program} -rf {target}");
        for wrapper in wrappers {
            command = match wrapper {
                0 => format!("sudo {command}"),
                1 => format!("env FOO=1 {command}"),
                2 => format!("nohup {command}"),
                3 => format!("timeout 5 {command}"),
                4 => format!("bash -c '{}'", command.replace('\'', r"'\''")),
                5 => format!("eval '{}'", command.replace('\'', r"'\''")),
                6 => format!("echo $({command})"),
                _ => format!("true && {command}"),
            };
        }
        let decision = bash(&command);
        prop_assert_eq!(decision.verdict, Verdict::Deny, "{} -> {:?}", command, decision);
    }
}

#[test]
fn pathological_inputs_end_in_ask_not_allow_or_a_crash() {
    let deep_substitution = format!("echo {}ls{}", "$(".repeat(5000), ")".repeat(5000));
    let deep_subshell = format!("{}rm -rf ~{}", "(".repeat(20000), ")".repeat(20000));
    let escaped_parens = format!(
        "bash -c $'{}ls{}'",
        r"\x28".repeat(3000),
        r"\x29".repeat(3000)
    );
    // Scripts inside scripts beyond the depth limit (quoting would grow 3x per level).
    let nested_scripts = (0..guard::shell::MAX_DEPTH + 2)
        .fold("ls".to_owned(), |inner, _| format!("echo $({inner})"));
    let huge = "a".repeat(guard::shell::MAX_COMMAND_BYTES + 1);
    for command in [
        deep_substitution,
        deep_subshell,
        escaped_parens,
        nested_scripts,
        huge,
    ] {
        let decision = bash(&command);
        assert_ne!(
            decision.verdict,
            Verdict::Allow,
            "{}…",
            &command[..60.min(command.len())]
        );
    }
    let many = "rm -rf node_modules; ".repeat(30_000);
    assert_ne!(bash(&many).verdict, Verdict::Allow, "work budget");
}
