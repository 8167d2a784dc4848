//! `claude-telemetry hook`: stdin in, answer out, never in Claude Code's way.

use std::io::{self, IsTerminal, Read, Write};
use std::process::ExitCode;
use std::time::Instant;

/// Largest event read from stdin. Claude Code sends whole file contents in tool
/// responses; past this the input is refused rather than exhausting memory.
const MAX_INPUT_BYTES: u64 = 256 * 1024 * 1024;

/// Runs the hook for the event on stdin.
pub fn run(started: Instant) -> ExitCode {
    let stdin = io::stdin();
    if stdin.is_terminal() {
        eprintln!(
            "claude-telemetry hook: reads one hook event (JSON) from stdin; Claude Code runs it. \
             Try: echo '{{\"hook_event_name\":\"Stop\"}}' | claude-telemetry hook"
        );
        return ExitCode::from(1);
    }
    let mut input = Vec::new();
    match stdin
        .lock()
        .take(MAX_INPUT_BYTES + 1)
        .read_to_end(&mut input)
    {
        Ok(_) if input.len() as u64 > MAX_INPUT_BYTES => {
            eprintln!("claude-telemetry hook: input larger than {MAX_INPUT_BYTES} bytes, ignored");
            return ExitCode::from(1);
        }
        Ok(_) => {}
        Err(err) => {
            eprintln!("claude-telemetry hook: cannot read stdin: {err}");
            return ExitCode::from(1);
        }
    }
    let outcome = hook::run(&input, &super::process_env, started);
    for line in &outcome.stderr {
        eprintln!("{line}");
    }
    if let Some(answer) = &outcome.stdout {
        let mut stdout = io::stdout().lock();
        // A reader that went away (EPIPE) is not worth failing over.
        let _ = writeln!(stdout, "{answer}").and_then(|()| stdout.flush());
    }
    ExitCode::from(u8::try_from(outcome.exit_code).unwrap_or(1))
}
