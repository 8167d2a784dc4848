//! Bash commands, judged by what would execute.
//!
//! The command is parsed with a real shell grammar (brush-parser) and walked as a tree:
//! every command position in lists, pipelines, compound commands, functions, command and
//! process substitutions, heredocs and nested scripts (`bash -c`, `eval`, text piped
//! into a shell). At each, words are evaluated the way the shell would (quotes removed,
//! known variables substituted), wrappers are unwrapped, and the program's arguments are
//! judged by [`commands`]. What cannot be parsed goes to a cautious [`fallback`] scan.

mod commands;
mod fallback;
mod interp;
mod word;

use std::collections::HashMap;
use std::path::PathBuf;

use brush_parser::ast::{self, Command, CompoundCommand, IoFileRedirectTarget, IoRedirect};
use brush_parser::{ParserOptions, SourceSpan};

use crate::config::GuardConfig;
use crate::context::Context;
use crate::decision::{Category, Verdict};

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

/// One thing the walk found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// What it means.
    pub verdict: Verdict,
    /// Rule id.
    pub rule: &'static str,
    /// Rule family.
    pub category: Category,
    /// For people.
    pub reason: String,
    /// Byte range in the command, or in `field`'s text.
    pub span: Option<(usize, usize)>,
    /// For file tools: the input field and its text; `None` for the Bash command.
    pub field: Option<(String, String)>,
}

/// What a shell knows at a point of the walk.
#[derive(Debug, Clone)]
pub(crate) struct Scope {
    /// The working directory, if it is known (`cd "$X"` makes it unknown).
    cwd: Option<PathBuf>,
    /// Variables assigned so far: `Some(value)` when known, `None` when not.
    vars: HashMap<String, Option<String>>,
    /// How many scripts deep.
    depth: usize,
    /// For nested scripts: the span of the word in the outer command that holds them.
    origin: Option<(usize, usize)>,
}

/// What feeds a command's standard input, when it matters (a shell reading a script).
#[derive(Debug, Clone)]
pub(crate) enum Stdin {
    /// Nothing special: the terminal, a file, or another program's output.
    Unknown,
    /// Text known from the command itself (`echo …|`, a heredoc, a here-string).
    Text(String, Option<(usize, usize)>),
}

/// The walk over one command.
pub(crate) struct Walker<'a> {
    ctx: &'a Context,
    config: &'a GuardConfig,
    source: &'a str,
    parser_options: ParserOptions,
    findings: Vec<Finding>,
    steps: usize,
    trace: Option<Vec<String>>,
}

/// Analyses a Bash command; returns every finding and, when asked, a trace of how the
/// command was parsed and unwrapped.
pub fn analyse(
    command: &str,
    ctx: &Context,
    config: &GuardConfig,
    explain: bool,
) -> (Vec<Finding>, Vec<String>) {
    let mut walker = Walker {
        ctx,
        config,
        source: command,
        parser_options: ParserOptions::default(),
        findings: Vec::new(),
        steps: 0,
        trace: explain.then(Vec::new),
    };
    if command.len() > MAX_COMMAND_BYTES {
        walker.find(
            Verdict::Ask,
            "guard.too_large",
            Category::Uncertain,
            format!(
                "the command is {} bytes, more than the guard analyses ({MAX_COMMAND_BYTES}).",
                command.len()
            ),
            None,
        );
    } else {
        let mut scope = Scope {
            cwd: Some(ctx.cwd.clone()),
            vars: HashMap::new(),
            depth: 0,
            origin: None,
        };
        walker.walk_script(command, &mut scope);
    }
    let trace = walker.trace.take().unwrap_or_default();
    (walker.findings, trace)
}

impl Walker<'_> {
    pub(crate) fn find(
        &mut self,
        verdict: Verdict,
        rule: &'static str,
        category: Category,
        reason: String,
        span: Option<(usize, usize)>,
    ) {
        self.note(|| format!("finding: {} {rule}: {reason}", verdict.as_str()));
        self.findings.push(Finding {
            verdict,
            rule,
            category,
            reason,
            span,
            field: None,
        });
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
                "guard.too_complex",
                Category::Uncertain,
                "the command is too complex for the guard to analyse completely.".to_owned(),
                None,
            );
        }
        self.steps < MAX_STEPS
    }

    /// The byte span of a brush location in the outermost command; nested scripts report
    /// the span of the word that holds them.
    fn span_of(&self, scope: &Scope, loc: Option<&SourceSpan>) -> Option<(usize, usize)> {
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

    /// Parses and walks a script at the current depth.
    fn walk_script(&mut self, script: &str, scope: &mut Scope) {
        if nesting_depth(script) > MAX_NESTING {
            self.find(
                Verdict::Ask,
                "guard.too_deep",
                Category::Uncertain,
                format!("the command nests brackets more than {MAX_NESTING} deep."),
                scope.origin.or(Some((0, self.source.len()))),
            );
            return;
        }
        let mut parser = brush_parser::Parser::new(
            std::io::Cursor::new(script.as_bytes()),
            &self.parser_options,
        );
        match parser.parse_program() {
            Ok(program) => {
                self.note(|| format!("parsed: {}", script.replace('\n', "\\n")));
                for list in &program.complete_commands {
                    self.walk_list(list, scope);
                }
            }
            Err(err) => {
                self.note(|| format!("does not parse ({err}); cautious scan instead"));
                let span = scope.origin.or(Some((0, self.source.len())));
                fallback::scan(self, script, span);
            }
        }
    }

    /// Walks a script found inside the command (`bash -c`, `eval`, `$(…)`, piped text).
    pub(crate) fn walk_nested_script(
        &mut self,
        script: &str,
        scope: &Scope,
        origin: Option<(usize, usize)>,
        what: &str,
    ) {
        if scope.depth + 1 > MAX_DEPTH {
            self.find(
                Verdict::Ask,
                "guard.too_deep",
                Category::Uncertain,
                format!("scripts are nested more than {MAX_DEPTH} deep."),
                scope.origin.or(origin),
            );
            return;
        }
        self.note(|| format!("nested script ({what}): {}", script.replace('\n', "\\n")));
        let mut inner = Scope {
            cwd: scope.cwd.clone(),
            vars: scope.vars.clone(),
            depth: scope.depth + 1,
            origin: scope.origin.or(origin),
        };
        self.walk_script(script, &mut inner);
    }

    fn walk_list(&mut self, list: &ast::CompoundList, scope: &mut Scope) {
        for item in &list.0 {
            let and_or = &item.0;
            self.walk_pipeline(&and_or.first, scope);
            for next in &and_or.additional {
                match next {
                    ast::AndOr::And(pipeline) | ast::AndOr::Or(pipeline) => {
                        self.walk_pipeline(pipeline, scope)
                    }
                }
            }
        }
    }

    fn walk_pipeline(&mut self, pipeline: &ast::Pipeline, scope: &mut Scope) {
        if pipeline.seq.len() == 1 {
            if let Some(command) = pipeline.seq.first() {
                self.walk_command(command, scope, Stdin::Unknown);
            }
            return;
        }
        // Each part of a pipeline runs in its own subshell: `cd` there does not last.
        let mut stdin = Stdin::Unknown;
        for command in &pipeline.seq {
            let mut part = scope.clone();
            stdin = self.walk_command(command, &mut part, stdin);
        }
    }

    /// Walks one command; returns what it writes to stdout when that is known text
    /// (for the next command of a pipeline).
    fn walk_command(&mut self, command: &Command, scope: &mut Scope, stdin: Stdin) -> Stdin {
        if !self.step() {
            return Stdin::Unknown;
        }
        match command {
            Command::Simple(simple) => self.walk_simple(simple, scope, stdin),
            Command::Compound(compound, redirects) => {
                if let Some(redirects) = redirects {
                    for redirect in &redirects.0 {
                        self.walk_redirect(redirect, scope);
                    }
                }
                self.walk_compound(compound, scope);
                Stdin::Unknown
            }
            // A function body is judged where it is defined: it runs when called.
            Command::Function(function) => {
                let mut body = scope.clone();
                self.walk_compound(&function.body.0, &mut body);
                Stdin::Unknown
            }
            Command::ExtendedTest(_, redirects) => {
                if let Some(redirects) = redirects {
                    for redirect in &redirects.0 {
                        self.walk_redirect(redirect, scope);
                    }
                }
                Stdin::Unknown
            }
        }
    }

    fn walk_compound(&mut self, compound: &CompoundCommand, scope: &mut Scope) {
        match compound {
            CompoundCommand::BraceGroup(group) => self.walk_list(&group.list, scope),
            CompoundCommand::Subshell(subshell) => {
                self.walk_list(&subshell.list, &mut scope.clone())
            }
            CompoundCommand::ForClause(clause) => {
                for value in clause.values.iter().flatten() {
                    self.eval_word(value, scope);
                }
                // A loop variable takes values the guard does not follow one by one.
                scope.vars.insert(clause.variable_name.clone(), None);
                self.walk_list(&clause.body.list, scope);
            }
            CompoundCommand::ArithmeticForClause(clause) => {
                self.walk_list(&clause.body.list, scope)
            }
            CompoundCommand::WhileClause(clause) | CompoundCommand::UntilClause(clause) => {
                self.walk_list(&clause.0, scope);
                self.walk_list(&clause.1.list, scope);
            }
            CompoundCommand::IfClause(clause) => {
                self.walk_list(&clause.condition, scope);
                self.walk_list(&clause.then, scope);
                for otherwise in clause.elses.iter().flatten() {
                    if let Some(condition) = &otherwise.condition {
                        self.walk_list(condition, scope);
                    }
                    self.walk_list(&otherwise.body, scope);
                }
            }
            CompoundCommand::CaseClause(clause) => {
                self.eval_word(&clause.value, scope);
                for item in &clause.cases {
                    if let Some(list) = &item.cmd {
                        self.walk_list(list, scope);
                    }
                }
            }
            CompoundCommand::Coprocess(coprocess) => {
                self.walk_command(&coprocess.body, &mut scope.clone(), Stdin::Unknown);
            }
            CompoundCommand::Arithmetic(_) => {}
        }
    }

    fn walk_simple(
        &mut self,
        simple: &ast::SimpleCommand,
        scope: &mut Scope,
        stdin: Stdin,
    ) -> Stdin {
        let mut parts = SimpleParts {
            args: Vec::new(),
            assignments: Vec::new(),
            stdin,
        };
        for item in simple.prefix.iter().flat_map(|prefix| prefix.0.iter()) {
            self.walk_item(item, true, scope, &mut parts);
        }
        if let Some(name) = &simple.word_or_name {
            let name = self.eval_word(name, scope);
            parts.args.extend(name);
        }
        for item in simple.suffix.iter().flat_map(|suffix| suffix.0.iter()) {
            self.walk_item(item, false, scope, &mut parts);
        }
        let SimpleParts {
            args,
            assignments,
            stdin,
        } = parts;
        if args.is_empty() {
            // Bare assignments set shell variables for what follows.
            scope.vars.extend(assignments);
            return Stdin::Unknown;
        }
        let mut local = scope.clone();
        local.vars.extend(assignments);
        self.note(|| format!("command: {}", show_args(&args)));
        let out = commands::stdout_text(&args);
        self.judge(&args, &mut local, &stdin);
        // `cd` and the variable builtins change the shell itself, not a child process.
        scope.cwd = local.cwd;
        for (name, value) in local.vars {
            scope.vars.entry(name).or_insert(value);
        }
        out
    }

    fn walk_item(
        &mut self,
        item: &ast::CommandPrefixOrSuffixItem,
        in_prefix: bool,
        scope: &mut Scope,
        parts: &mut SimpleParts,
    ) {
        match item {
            ast::CommandPrefixOrSuffixItem::IoRedirect(redirect) => {
                if let Some(text) = self.walk_redirect(redirect, scope) {
                    parts.stdin = text;
                }
            }
            ast::CommandPrefixOrSuffixItem::Word(word) => {
                let args = self.eval_word(word, scope);
                parts.args.extend(args);
            }
            ast::CommandPrefixOrSuffixItem::AssignmentWord(assignment, word) => {
                let value = self.eval_assignment(assignment, scope);
                if in_prefix {
                    if let ast::AssignmentName::VariableName(name) = &assignment.name {
                        parts.assignments.push((name.clone(), value));
                    }
                } else {
                    // `export A=~`, `declare A=b`: an argument to a builtin, evaluated as
                    // the assignment it is (a tilde after `=` expands).
                    let name = match &assignment.name {
                        ast::AssignmentName::VariableName(name) => name.clone(),
                        ast::AssignmentName::ArrayElementName(name, _) => name.clone(),
                    };
                    let span = self.span_of(scope, word.loc.as_ref());
                    parts.args.push(match value {
                        Some(value) => Arg::literal(format!("{name}={value}"), span),
                        None => Arg {
                            known_prefix: format!("{name}="),
                            text: format!("{name}="),
                            known: false,
                            glob: false,
                            span,
                        },
                    });
                }
            }
            ast::CommandPrefixOrSuffixItem::ProcessSubstitution(_, subshell) => {
                self.walk_list(&subshell.list, &mut scope.clone());
                parts
                    .args
                    .push(Arg::unknown(self.span_of(scope, Some(&subshell.loc))));
            }
        }
    }

    fn eval_assignment(
        &mut self,
        assignment: &ast::Assignment,
        scope: &mut Scope,
    ) -> Option<String> {
        match &assignment.value {
            ast::AssignmentValue::Scalar(word) => {
                let args = self.eval_word(word, scope);
                match args.as_slice() {
                    [arg] if arg.known => Some(arg.text.clone()),
                    _ => None,
                }
            }
            ast::AssignmentValue::Array(items) => {
                for (_, word) in items {
                    self.eval_word(word, scope);
                }
                None
            }
        }
    }

    /// Judges a redirect's file; returns the text it feeds to stdin when known.
    fn walk_redirect(&mut self, redirect: &IoRedirect, scope: &mut Scope) -> Option<Stdin> {
        use ast::IoFileRedirectKind as Kind;
        match redirect {
            IoRedirect::File(_, kind, target) => match target {
                IoFileRedirectTarget::Filename(word) => {
                    for arg in self.eval_word(word, scope) {
                        let write = !matches!(kind, Kind::Read | Kind::DuplicateInput);
                        let read = matches!(kind, Kind::Read | Kind::ReadAndWrite);
                        if read {
                            self.check_secret(&arg, scope, commands::Access::Read);
                        }
                        if write {
                            self.check_secret(&arg, scope, commands::Access::Write);
                            self.check_device_write(&arg);
                        }
                    }
                    None
                }
                IoFileRedirectTarget::ProcessSubstitution(_, subshell) => {
                    self.walk_list(&subshell.list, &mut scope.clone());
                    None
                }
                IoFileRedirectTarget::Fd(_) | IoFileRedirectTarget::Duplicate(_) => None,
            },
            IoRedirect::HereDocument(_, doc) => {
                let span = self.span_of(scope, doc.doc.loc.as_ref());
                if doc.requires_expansion {
                    // Unquoted delimiter: `$(…)` in the body runs.
                    if let Ok(pieces) =
                        brush_parser::word::parse_heredoc(&doc.doc.value, &self.parser_options)
                    {
                        let mut arg = Arg::unknown(span);
                        self.eval_heredoc(&pieces, scope, &mut arg);
                    }
                }
                Some(Stdin::Text(doc.doc.value.clone(), span))
            }
            IoRedirect::HereString(_, word) => {
                let args = self.eval_word(word, scope);
                let text = args
                    .iter()
                    .map(|a| a.text.as_str())
                    .collect::<Vec<_>>()
                    .join(" ");
                Some(Stdin::Text(text, args.first().and_then(|a| a.span)))
            }
            IoRedirect::OutputAndError(word, _) => {
                for arg in self.eval_word(word, scope) {
                    self.check_secret(&arg, scope, commands::Access::Write);
                    self.check_device_write(&arg);
                }
                None
            }
        }
    }

    fn eval_heredoc(
        &mut self,
        pieces: &[brush_parser::word::WordPieceWithSource],
        scope: &mut Scope,
        arg: &mut Arg,
    ) {
        for piece in pieces {
            match &piece.piece {
                brush_parser::word::WordPiece::CommandSubstitution(script)
                | brush_parser::word::WordPiece::BackquotedCommandSubstitution(script) => {
                    self.walk_nested_script(
                        script,
                        scope,
                        arg.span,
                        "command substitution in heredoc",
                    );
                }
                brush_parser::word::WordPiece::DoubleQuotedSequence(inner) => {
                    self.eval_heredoc(inner, scope, arg)
                }
                _ => {}
            }
        }
    }
}

/// What a simple command's words, assignments and redirects add up to.
struct SimpleParts {
    args: Vec<Arg>,
    assignments: Vec<(String, Option<String>)>,
    stdin: Stdin,
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

fn show_args(args: &[Arg]) -> String {
    let shown: Vec<String> = args
        .iter()
        .map(|arg| {
            if arg.known {
                format!("{:?}", arg.text)
            } else {
                format!(
                    "<unknown{}>",
                    if arg.known_prefix.is_empty() {
                        String::new()
                    } else {
                        format!(" after {:?}", arg.known_prefix)
                    }
                )
            }
        })
        .collect();
    format!("[{}]", shown.join(", "))
}
