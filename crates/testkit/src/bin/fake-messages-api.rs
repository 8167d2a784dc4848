//! `fake-messages-api LISTEN SCRIPT`: the fake Messages API ([`testkit::messages_api`]) as
//! a program, for a Claude Code that a test cannot start itself, such as one in a
//! container (scripts/test-stack). LISTEN is `IP:PORT` (port 0 for any free one); SCRIPT
//! is a JSON file of conversations, each named by a piece of its first user message:
//!
//! ```json
//! [{"opening": "…", "replies": [{"bash": "ls"}, {"tool": "Write", "input": {…}}, {"text": "Done."}]}]
//! ```
//!
//! Prints `listening on http://IP:PORT` once it answers, then serves until it is killed.

use std::io::Write;
use std::process::ExitCode;

use serde_json::Value;
use testkit::messages_api::{MessagesApi, Reply, Usage};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [listen, script] = args.as_slice() else {
        eprintln!("usage: fake-messages-api LISTEN SCRIPT");
        return ExitCode::from(2);
    };
    let conversations = match read_script(script) {
        Ok(conversations) => conversations,
        Err(error) => {
            eprintln!("fake-messages-api: {script}: {error}");
            return ExitCode::from(2);
        }
    };
    let api = MessagesApi::start_on(listen, Usage::default());
    for (opening, replies) in conversations {
        api.script(&opening, replies);
    }
    let mut stdout = std::io::stdout();
    if writeln!(stdout, "listening on {}", api.url())
        .and_then(|()| stdout.flush())
        .is_err()
    {
        return ExitCode::FAILURE;
    }
    loop {
        std::thread::park();
    }
}

/// The script's conversations: opening and replies.
fn read_script(path: &str) -> Result<Vec<(String, Vec<Reply>)>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let script: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    let conversations = script.as_array().ok_or("not a JSON array")?;
    conversations
        .iter()
        .map(|conversation| {
            let opening = conversation["opening"]
                .as_str()
                .ok_or("a conversation without an \"opening\" string")?;
            let replies = conversation["replies"]
                .as_array()
                .ok_or("a conversation without a \"replies\" array")?
                .iter()
                .map(reply)
                .collect::<Result<_, _>>()?;
            Ok((opening.to_owned(), replies))
        })
        .collect()
}

/// One reply: `{"text": …}`, `{"bash": COMMAND}` or `{"tool": NAME, "input": {…}}`.
fn reply(reply: &Value) -> Result<Reply, String> {
    if let Some(text) = reply["text"].as_str() {
        Ok(Reply::text(text))
    } else if let Some(command) = reply["bash"].as_str() {
        Ok(Reply::bash(command))
    } else if let (Some(name), Some(input)) = (reply["tool"].as_str(), reply.get("input")) {
        Ok(Reply::tool(name, input.clone()))
    } else {
        Err(format!("not a reply: {reply}"))
    }
}
