//! Bash commands, judged by what would execute.
//!
//! The command is parsed with a real shell grammar (brush-parser) and walked as a tree
//! ([`walk`]): every command position in lists, pipelines, compound commands, functions,
//! command and process substitutions, heredocs and nested scripts (`bash -c`, `eval`,
//! text piped into a shell). At each, words are evaluated the way the shell would
//! ([`word`]: quotes removed, known variables substituted, unquoted expansions split),
//! and the program is judged by what it does with its arguments ([`programs`]: runs an
//! argv, runs a string, reads, writes or deletes files, or nothing). What cannot be
//! parsed goes to a cautious [`fallback`] scan. Searches and globs whose effect depends
//! on the files present are handed back as [`crate::look`] checks, for the caller to
//! resolve with what it found on disk.

mod fallback;
mod programs;
mod simple;
mod walk;
mod word;

use std::collections::HashMap;
use std::path::PathBuf;
use std::rc::Rc;

use brush_parser::ast;
use brush_parser::{ParserOptions, SourceSpan};

use crate::config::GuardConfig;
use crate::context::Context;
use crate::decision::Verdict;
use crate::look::SearchCheck;
use crate::rules::Rule;

pub use crate::decision::{ByteSpan, Finding};
pub use word::Arg;

/// Longest command analysed; longer ones are not parsed at all.
pub const MAX_COMMAND_BYTES: usize = 64 * 1024;
/// Deepest nesting of scripts inside scripts (`bash -c "eval '…'"`).
pub const MAX_DEPTH: usize = 8;
/// Deepest bracket nesting parsed. The parser recurses on nesting, and a stack overflow
/// would abort the hook, which Claude Code treats as "no objection": deeper input is
/// asked about instead of parsed. Real commands nest a handful of levels.
pub const MAX_NESTING: usize = 100;
/// Most commands and words visited in one decision: the guard's time limit, counted
/// in work rather than read from a clock so decisions stay pure and repeatable.
pub const MAX_STEPS: usize = 20_000;

/// A shell variable's value as far as it is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Value {
    /// Known text.
    Known(String),
    /// Not known; `runtime` when it comes from something the command runs (command
    /// output, a loop over it) rather than from the environment, and `safe` when what
    /// produced it is known to name no secret file.
    Unknown { runtime: bool, safe: bool },
}

/// What a shell knows at a point of the walk.
#[derive(Debug, Clone, Default)]
pub(crate) struct Scope {
    /// The working directory, if it is known (`cd "$X"` makes it unknown).
    cwd: Option<PathBuf>,
    /// Variables assigned so far.
    vars: HashMap<String, Value>,
    /// Arrays assigned so far (`a=(rm -rf ~)`).
    arrays: HashMap<String, Vec<Value>>,
    /// `$1`, `$2`, … inside a function or a `bash -c` script given arguments.
    positional: Option<Vec<Arg>>,
    /// `$0` of a `bash -c` script given one.
    arg0: Option<Arg>,
    /// Functions defined so far: run when called.
    functions: HashMap<String, Rc<ast::FunctionBody>>,
    /// Aliases defined so far (Claude Code's shell expands aliases).
    aliases: HashMap<String, String>,
    /// `git` aliases set earlier in the command (`git config alias.x '!…'`).
    git_aliases: HashMap<String, String>,
    /// Symbolic links (and bind mounts) made earlier in the command: link → target.
    links: Vec<(PathBuf, PathBuf)>,
    /// Files written earlier in the command: their text when known.
    written: HashMap<PathBuf, Option<String>>,
    /// Inside a container: which container paths are which host paths. Anything else
    /// is the container's own file system.
    container: Option<Vec<(PathBuf, PathBuf)>>,
    /// How many scripts deep.
    depth: usize,
    /// For nested scripts: the span of the word in the outer command that holds them.
    origin: Option<ByteSpan>,
}

/// What feeds a command's standard input.
#[derive(Debug, Clone)]
pub(crate) enum Stdin {
    /// Nothing: no pipe, no redirect (Claude Code's shell has no terminal input).
    None,
    /// Text known from the command itself (`echo …|`, a heredoc, a here-string).
    Text(String, Option<ByteSpan>),
    /// A file's content (`< file`, `cat file |`); `piped` when a program passes it on
    /// (`cat file |`) rather than the shell redirecting it (`< file`).
    File(Arg, bool),
    /// Another program's output, not known until it runs; `safe` when that program is
    /// known to list no secret file (`find . -name '*.py'`).
    Output { safe: bool },
}

/// The walk over one command.
pub(crate) struct Walker<'a> {
    ctx: &'a Context,
    config: &'a GuardConfig,
    source: &'a str,
    parser_options: ParserOptions,
    findings: Vec<Finding>,
    checks: Vec<SearchCheck>,
    steps: usize,
    trace: Option<Vec<String>>,
    /// Functions called so far; the others are judged at the end with unknown arguments.
    called: Vec<String>,
    defined: Vec<(String, Rc<ast::FunctionBody>, Scope)>,
    /// Fresh entries this command makes (`mktemp`, wherever it puts them): deleting
    /// them, or anything in them, deletes nothing that was there before.
    created: Vec<std::path::PathBuf>,
    /// Texts produced by decoding in this command (`base64 -d`, `xxd -r`, `rev`): run by
    /// a shell or interpreter, they are asked about (the policy's "decoded") besides
    /// being judged as what they are.
    decoded: Vec<String>,
    /// The roots of the last `find` whose output still flows down the pipeline (through
    /// `head`, `sort`, … to `xargs rm`), and how much of them its selection deletes:
    /// names listed there and deleted by xargs or parallel are judged against them.
    listed: Option<(Vec<word::Arg>, programs::Removal)>,
}

/// What the walk of one command found.
pub(crate) struct Analysis {
    pub findings: Vec<Finding>,
    pub checks: Vec<SearchCheck>,
    pub trace: Vec<String>,
}

/// Analyses a Bash command.
pub(crate) fn analyse(
    command: &str,
    ctx: &Context,
    config: &GuardConfig,
    explain: bool,
) -> Analysis {
    let mut walker = Walker {
        ctx,
        config,
        source: command,
        parser_options: ParserOptions::default(),
        findings: Vec::new(),
        checks: Vec::new(),
        steps: 0,
        trace: explain.then(Vec::new),
        called: Vec::new(),
        defined: Vec::new(),
        created: Vec::new(),
        decoded: Vec::new(),
        listed: None,
    };
    if command.len() > MAX_COMMAND_BYTES {
        walker.find(
            Verdict::Ask,
            Rule::GuardTooLarge,
            format!(
                "the command is {} bytes, more than the guard analyses ({MAX_COMMAND_BYTES}).",
                command.len()
            ),
            None,
        );
    } else {
        let mut scope = Scope {
            cwd: ctx.cwd_known.then(|| ctx.cwd.clone()),
            ..Scope::default()
        };
        walker.walk_script(command, &mut scope);
        walker.judge_uncalled_functions();
    }
    let trace = walker.trace.take().unwrap_or_default();
    let findings = walker.findings;
    // The same finding reached twice (a heredoc walked as text and as a script) once.
    let mut kept: Vec<Finding> = Vec::with_capacity(findings.len());
    for finding in findings {
        let seen = kept.iter().any(|k| {
            k.rule == finding.rule && k.span == finding.span && k.reason == finding.reason
        });
        if !seen {
            kept.push(finding);
        }
    }
    let findings = kept;
    Analysis {
        findings,
        checks: walker.checks,
        trace,
    }
}

impl Walker<'_> {
    pub(crate) fn find(
        &mut self,
        verdict: Verdict,
        rule: Rule,
        reason: String,
        span: Option<ByteSpan>,
    ) {
        self.note(|| format!("finding: {} {rule}: {reason}", verdict.as_str()));
        self.findings.push(Finding {
            verdict,
            rule,
            reason,
            span,
            field: None,
        });
    }

    /// The command's text at `span`, quoted for a reason (`` `$(ls -a)` ``); empty when
    /// the span is not known, so a reason can always append it.
    pub(crate) fn quoted(&self, span: Option<ByteSpan>) -> String {
        span.and_then(|(start, end)| self.source.get(start..end))
            .filter(|text| !text.is_empty())
            .map(|text| format!(" (`{text}`)"))
            .unwrap_or_default()
    }

    pub(crate) fn note(&mut self, line: impl FnOnce() -> String) {
        if let Some(trace) = &mut self.trace {
            trace.push(line());
        }
    }

    /// Counts one step of work; false once the budget is spent (after saying so once).
    fn step(&mut self) -> bool {
        self.steps += 1;
        if self.steps == MAX_STEPS {
            self.find(
                Verdict::Ask,
                Rule::GuardTooComplex,
                "the command is too complex for the guard to analyse completely.".to_owned(),
                None,
            );
        }
        self.steps < MAX_STEPS
    }

    /// The byte span of a brush location in the outermost command; nested scripts report
    /// the span of the word that holds them.
    fn span_of(&self, scope: &Scope, loc: Option<&SourceSpan>) -> Option<ByteSpan> {
        if scope.depth > 0 {
            return scope.origin;
        }
        let loc = loc?;
        let byte = |char_index: usize| {
            self.source
                .char_indices()
                .nth(char_index)
                .map_or(self.source.len(), |(byte, _)| byte)
        };
        Some((byte(loc.start.index), byte(loc.end.index)))
    }

    /// Parses and walks a script at the current depth; returns what it writes to stdout.
    fn walk_script(&mut self, script: &str, scope: &mut Scope) -> Stdin {
        if nesting_depth(script) > MAX_NESTING {
            self.find(
                Verdict::Ask,
                Rule::GuardTooDeep,
                format!("the command nests brackets more than {MAX_NESTING} deep."),
                scope.origin.or(Some((0, self.source.len()))),
            );
            return Stdin::Output { safe: false };
        }
        if let Some(pipelines) = simple::simple_pipelines(script, &self.ctx.home) {
            self.note(|| format!("read as simple commands: {}", script.replace('\n', "\\n")));
            return self.walk_pipelines(pipelines, scope);
        }
        let mut parser = brush_parser::Parser::new(
            std::io::Cursor::new(script.as_bytes()),
            &self.parser_options,
        );
        match parser.parse_program() {
            Ok(program) => {
                self.note(|| format!("parsed: {}", script.replace('\n', "\\n")));
                let mut out = Stdin::None;
                for list in &program.complete_commands {
                    out = self.walk_list(list, scope);
                }
                out
            }
            Err(err) => {
                self.note(|| format!("does not parse ({err}); cautious scan instead"));
                let span = scope.origin.or(Some((0, self.source.len())));
                fallback::scan(self, script, span);
                Stdin::Output { safe: false }
            }
        }
    }

    /// Walks a script found inside the command (`bash -c`, `eval`, `$(…)`, piped text)
    /// in a scope of its own that starts from `scope`.
    pub(crate) fn walk_nested_script(
        &mut self,
        script: &str,
        scope: &Scope,
        origin: Option<ByteSpan>,
        what: &str,
    ) -> Stdin {
        let mut inner = scope.clone();
        self.walk_nested_in(script, &mut inner, origin, what)
    }

    /// Walks a nested script in `scope` itself, so what it defines (variables, functions,
    /// the working directory) lasts: `eval`, `source`.
    pub(crate) fn walk_nested_in(
        &mut self,
        script: &str,
        scope: &mut Scope,
        origin: Option<ByteSpan>,
        what: &str,
    ) -> Stdin {
        if scope.depth + 1 > MAX_DEPTH {
            self.find(
                Verdict::Ask,
                Rule::GuardTooDeep,
                format!("scripts are nested more than {MAX_DEPTH} deep."),
                scope.origin.or(origin),
            );
            return Stdin::Output { safe: false };
        }
        self.note(|| format!("nested script ({what}): {}", script.replace('\n', "\\n")));
        let (depth, outer_origin) = (scope.depth, scope.origin);
        scope.depth += 1;
        scope.origin = outer_origin.or(origin);
        let out = self.walk_script(script, scope);
        scope.depth = depth;
        scope.origin = outer_origin;
        out
    }

    /// Functions defined but never called in the command may still be called by what
    /// the guard cannot see (`trap`, `export -f`): judge them with unknown arguments.
    fn judge_uncalled_functions(&mut self) {
        let defined = std::mem::take(&mut self.defined);
        for (name, body, mut scope) in defined {
            if self.called.contains(&name) {
                continue;
            }
            self.note(|| format!("function `{name}` is never called here: judged as defined"));
            scope.positional = None;
            self.walk_compound(&body.0, &mut scope);
        }
    }
}

/// The deepest nesting of `(`, `{`, `[` and backquotes, quotes ignored: an upper bound
/// of what the parser will recurse on.
fn nesting_depth(text: &str) -> usize {
    let (mut depth, mut deepest, mut in_backquote) = (0usize, 0usize, false);
    for c in text.chars() {
        match c {
            '(' | '{' | '[' => depth += 1,
            ')' | '}' | ']' => depth = depth.saturating_sub(1),
            '`' => {
                in_backquote = !in_backquote;
                if in_backquote {
                    depth += 1;
                } else {
                    depth = depth.saturating_sub(1);
                }
            }
            _ => continue,
        }
        deepest = deepest.max(depth);
    }
    deepest
}

/// How a command's arguments read in a trace.
pub(crate) fn show_args(args: &[Arg]) -> String {
    let shown: Vec<String> = args
        .iter()
        .map(|arg| {
            if arg.known {
                format!("{:?}", arg.text)
            } else if arg.known_prefix.is_empty() {
                "<unknown>".to_owned()
            } else {
                format!("<unknown after {:?}>", arg.known_prefix)
            }
        })
        .collect();
    format!("[{}]", shown.join(", "))
}
