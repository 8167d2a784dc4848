//! The command line as a person meets it: help, usage errors and error messages.

use crate::support::{Run, stderr};

/// 2 and 3 are `check`'s and the hook's answers (deny, ask): a mistyped command line
/// must not look like one of them.
#[test]
fn usage_errors_exit_1_and_help_exits_0() {
    let home = tempfile::tempdir().unwrap();
    for args in [
        &["check", "rm", "-rf", "/"][..],
        &["check", "--bogus", "--", "ls"],
        &["report", "--by", "nothing"],
        &["no-such-command"],
    ] {
        let output = Run::new(args, home.path()).output();
        assert_eq!(
            output.status.code(),
            Some(1),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(stderr(&output).contains("--help"), "{args:?}");
    }
    for args in [&["--help"][..], &["check", "--help"], &["--version"]] {
        let output = Run::new(args, home.path()).output();
        assert_eq!(output.status.code(), Some(0), "{args:?}");
    }
}

/// An error whose message already holds its cause's text says it once.
#[test]
fn an_error_says_its_cause_once() {
    let home = tempfile::tempdir().unwrap();
    let settings = home.path().join(".claude/settings.json");
    std::fs::create_dir_all(settings.parent().unwrap()).unwrap();
    std::fs::write(&settings, "{\"env\": {").unwrap();
    let output = Run::new(&["install", "--user"], home.path()).output();
    assert_eq!(output.status.code(), Some(1));
    let message = stderr(&output);
    let cause = "EOF while parsing";
    assert_eq!(message.matches(cause).count(), 1, "{message}");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy = listener.local_addr().unwrap().to_string();
    let data = home.path().join("data");
    let output = Run::new(
        &[
            "serve",
            "--listen",
            &busy,
            "--data-dir",
            data.to_str().unwrap(),
        ],
        home.path(),
    )
    .output();
    assert_eq!(output.status.code(), Some(1));
    let message = stderr(&output);
    assert_eq!(message.matches("in use").count(), 1, "{message}");
}
