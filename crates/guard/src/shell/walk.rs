//! The walk over brush's syntax tree: lists, pipelines, compound commands, functions,
//! redirections and heredocs. Each simple command's words are evaluated and handed to
//! [`super::programs`]; what flows through pipes and into files is carried along so a
//! shell or interpreter at the other end is judged on what it would read.

use std::path::Path;
use std::rc::Rc;

use brush_parser::ast::{self, Command, CompoundCommand, IoFileRedirectTarget, IoRedirect};
use brush_parser::word::{WordPiece, WordPieceWithSource};

use super::programs::Access;
use super::simple::Pipelines;
use super::word::Arg;
use super::{Scope, Stdin, Value, Walker, show_args};
use crate::paths::resolve;

/// What a simple command's words, assignments and redirects add up to.
#[derive(Default)]
struct SimpleParts {
    args: Vec<Arg>,
    assignments: Vec<(String, Value)>,
    stdin: Option<Stdin>,
    /// Where stdout goes: files written by `>` / `>>` (true: truncated first).
    stdout_files: Vec<(Arg, bool)>,
}

impl Walker<'_> {
    /// Walks pipelines of simple commands read without the full parser
    /// ([`super::simple`]); returns what the last writes to stdout.
    pub(super) fn walk_pipelines(&mut self, pipelines: Pipelines, scope: &mut Scope) -> Stdin {
        let mut out = Stdin::None;
        for pipeline in pipelines {
            if pipeline.len() == 1 {
                for words in pipeline {
                    out = self.walk_words(words, scope, Stdin::None);
                }
                continue;
            }
            let mut stdin = Stdin::None;
            for words in pipeline {
                let mut part = scope.clone();
                stdin = self.walk_words(words, &mut part, stdin);
                scope.written.extend(part.written);
            }
            out = stdin;
        }
        out
    }

    fn walk_words(&mut self, mut args: Vec<Arg>, scope: &mut Scope, stdin: Stdin) -> Stdin {
        if !self.step() {
            return Stdin::Output { safe: false };
        }
        if scope.depth > 0 {
            for arg in &mut args {
                arg.span = scope.origin;
            }
        }
        self.note(|| format!("command: {}", show_args(&args)));
        self.judge(&args, scope, &stdin)
    }

    /// Walks a list; returns what its last pipeline writes to stdout.
    pub(super) fn walk_list(&mut self, list: &ast::CompoundList, scope: &mut Scope) -> Stdin {
        let mut out = Stdin::None;
        for item in &list.0 {
            let and_or = &item.0;
            out = self.walk_pipeline(&and_or.first, scope);
            for next in &and_or.additional {
                match next {
                    ast::AndOr::And(pipeline) | ast::AndOr::Or(pipeline) => {
                        // Either branch may be the one whose output is used.
                        out = merge_outputs(out, self.walk_pipeline(pipeline, scope));
                    }
                }
            }
        }
        out
    }

    fn walk_pipeline(&mut self, pipeline: &ast::Pipeline, scope: &mut Scope) -> Stdin {
        if pipeline.seq.len() == 1 {
            return match pipeline.seq.first() {
                Some(command) => self.walk_command(command, scope, Stdin::None),
                None => Stdin::None,
            };
        }
        // Each part of a pipeline runs in its own subshell: `cd` there does not last,
        // but files written there do (a later command of the list may run them).
        let mut stdin = Stdin::None;
        for command in &pipeline.seq {
            let mut part = scope.clone();
            stdin = self.walk_command(command, &mut part, stdin);
            scope.written.extend(part.written);
        }
        stdin
    }

    /// Walks one command; returns what it writes to stdout (for the next command of a
    /// pipeline).
    fn walk_command(&mut self, command: &Command, scope: &mut Scope, stdin: Stdin) -> Stdin {
        if !self.step() {
            return Stdin::Output { safe: false };
        }
        match command {
            Command::Simple(simple) => self.walk_simple(simple, scope, stdin),
            Command::Compound(compound, redirects) => {
                let mut outputs = Vec::new();
                for redirect in redirects.iter().flat_map(|r| r.0.iter()) {
                    if let Redirected::Stdout(file, _) = self.walk_redirect(redirect, scope) {
                        outputs.push(file);
                    }
                }
                let out = self.walk_compound(compound, scope);
                if outputs.is_empty() {
                    return out;
                }
                // `(echo …) > t`, `{ …; } > t`: what it prints is the file's text.
                for file in &outputs {
                    self.record_written(file, &out, scope);
                }
                Stdin::None
            }
            Command::Function(function) => {
                let name = function.fname.value.clone();
                let body = Rc::new(function.body.clone());
                self.note(|| format!("function `{name}` defined: judged where it is called"));
                scope.functions.insert(name.clone(), Rc::clone(&body));
                self.defined.push((name, body, scope.clone()));
                Stdin::None
            }
            Command::ExtendedTest(_, redirects) => {
                for redirect in redirects.iter().flat_map(|r| r.0.iter()) {
                    self.walk_redirect(redirect, scope);
                }
                Stdin::None
            }
        }
    }

    /// Walks a compound command; returns what it writes to stdout when that is known
    /// (a brace group or subshell of `echo`s).
    pub(super) fn walk_compound(&mut self, compound: &CompoundCommand, scope: &mut Scope) -> Stdin {
        match compound {
            CompoundCommand::BraceGroup(group) => return self.walk_list(&group.list, scope),
            CompoundCommand::Subshell(subshell) => {
                let mut inner = scope.clone();
                let out = self.walk_list(&subshell.list, &mut inner);
                scope.written.extend(inner.written);
                return out;
            }
            CompoundCommand::ForClause(clause) => {
                let mut values = Vec::new();
                for value in clause.values.iter().flatten() {
                    values.extend(self.eval_word(value, scope));
                }
                let name = clause.variable_name.clone();
                // A short list of known words: the body is judged once per value.
                if !values.is_empty()
                    && values.len() <= MAX_LOOP_VALUES
                    && values.iter().all(|v| v.known && !v.glob)
                {
                    for value in &values {
                        scope
                            .vars
                            .insert(name.clone(), Value::Known(value.text.clone()));
                        self.walk_list(&clause.body.list, scope);
                    }
                    return Stdin::Output { safe: false };
                }
                scope.vars.insert(name, loop_value(&values, self.config));
                self.walk_list(&clause.body.list, scope);
            }
            CompoundCommand::ArithmeticForClause(clause) => {
                self.walk_list(&clause.body.list, scope);
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
                self.walk_command(&coprocess.body, &mut scope.clone(), Stdin::None);
            }
            CompoundCommand::Arithmetic(_) => {}
        }
        Stdin::Output { safe: false }
    }

    fn walk_simple(
        &mut self,
        simple: &ast::SimpleCommand,
        scope: &mut Scope,
        stdin: Stdin,
    ) -> Stdin {
        let mut parts = SimpleParts::default();
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
            stdin: redirected,
            stdout_files,
        } = parts;
        let stdin = redirected.unwrap_or(stdin);
        if args.is_empty() {
            // Bare assignments set shell variables for what follows.
            scope.vars.extend(assignments);
            return Stdin::None;
        }
        let mut local = scope.clone();
        self.judge_assignments(&assignments, &local);
        local.vars.extend(assignments);
        self.note(|| format!("command: {}", show_args(&args)));
        let out = self.judge(&args, &mut local, &stdin);
        // The shell itself changed: `cd`, variables, functions, aliases, links, files.
        scope.cwd = local.cwd;
        for (name, value) in local.vars {
            scope.vars.entry(name).or_insert(value);
        }
        scope.arrays = local.arrays;
        scope.positional = local.positional;
        scope.functions = local.functions;
        scope.aliases = local.aliases;
        scope.git_aliases = local.git_aliases;
        scope.links = local.links;
        scope.written = local.written;
        if stdout_files.is_empty() {
            return out;
        }
        for (file, _) in &stdout_files {
            self.record_written(file, &out, scope);
        }
        Stdin::None
    }

    /// Remembers a file written by a redirection, with its text when that is known, so a
    /// later command that runs it is judged on it.
    fn record_written(&mut self, file: &Arg, out: &Stdin, scope: &mut Scope) {
        let (true, Some(cwd)) = (file.known, &scope.cwd) else {
            return;
        };
        let path = resolve(cwd, Path::new(&file.text));
        let text = match out {
            Stdin::Text(text, _) => Some(text.clone()),
            Stdin::File(source, _) if source.known => scope
                .cwd
                .as_ref()
                .and_then(|cwd| scope.written.get(&resolve(cwd, Path::new(&source.text))))
                .cloned()
                .flatten(),
            _ => None,
        };
        scope.written.insert(path, text);
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
                match self.walk_redirect(redirect, scope) {
                    Redirected::Stdin(stdin) => parts.stdin = Some(stdin),
                    Redirected::Stdout(file, truncate) => parts.stdout_files.push((file, truncate)),
                    Redirected::Nothing => {}
                }
            }
            ast::CommandPrefixOrSuffixItem::Word(word) => {
                let args = self.eval_word(word, scope);
                parts.args.extend(args);
            }
            ast::CommandPrefixOrSuffixItem::AssignmentWord(assignment, word) => {
                let value = self.eval_assignment(assignment, scope);
                let name = match &assignment.name {
                    ast::AssignmentName::VariableName(name) => name.clone(),
                    ast::AssignmentName::ArrayElementName(name, _) => name.clone(),
                };
                if in_prefix {
                    if let ast::AssignmentName::VariableName(name) = &assignment.name {
                        parts.assignments.push((name.clone(), value));
                    }
                } else {
                    // `export A=~`, `declare A=b`: an argument to a builtin, evaluated as
                    // the assignment it is (a tilde after `=` expands).
                    let span = self.span_of(scope, word.loc.as_ref());
                    parts.args.push(match value {
                        Value::Known(value) => Arg::literal(format!("{name}={value}"), span),
                        Value::Unknown { runtime, safe } => {
                            let mut arg = Arg::unknown(span);
                            arg.text = format!("{name}=");
                            arg.known_prefix = arg.text.clone();
                            arg.runtime = runtime;
                            arg.safe = safe;
                            arg
                        }
                    });
                }
            }
            ast::CommandPrefixOrSuffixItem::ProcessSubstitution(_, subshell) => {
                self.walk_list(&subshell.list, &mut scope.clone());
                let mut arg = Arg::unknown(self.span_of(scope, Some(&subshell.loc)));
                arg.runtime = true;
                arg.process_substitution = true;
                parts.args.push(arg);
            }
        }
    }

    fn eval_assignment(&mut self, assignment: &ast::Assignment, scope: &mut Scope) -> Value {
        match &assignment.value {
            ast::AssignmentValue::Scalar(word) => {
                let args = self.eval_value(word, scope);
                match args.as_slice() {
                    [] => Value::Known(String::new()),
                    [arg] => arg.value(),
                    _ => Value::Unknown {
                        runtime: args.iter().any(|a| a.runtime),
                        safe: false,
                    },
                }
            }
            ast::AssignmentValue::Array(items) => {
                let mut values = Vec::new();
                for (_, word) in items {
                    values.extend(self.eval_word(word, scope).iter().map(Arg::value));
                }
                if let ast::AssignmentName::VariableName(name) = &assignment.name {
                    scope.arrays.insert(name.clone(), values);
                }
                Value::Unknown {
                    runtime: false,
                    safe: false,
                }
            }
        }
    }

    /// Judges a redirect's file; says what it feeds the command.
    fn walk_redirect(&mut self, redirect: &IoRedirect, scope: &mut Scope) -> Redirected {
        use ast::IoFileRedirectKind as Kind;
        match redirect {
            IoRedirect::File(fd, kind, target) => match target {
                IoFileRedirectTarget::Filename(word) => {
                    let mut result = Redirected::Nothing;
                    for arg in self.eval_word(word, scope) {
                        match kind {
                            Kind::Read => {
                                self.check_secret(&arg, scope, Access::Read);
                                if fd.is_none_or(|fd| fd == 0) {
                                    result = Redirected::Stdin(Stdin::File(arg, false));
                                }
                            }
                            Kind::ReadAndWrite => {
                                self.check_secret(&arg, scope, Access::Read);
                                self.check_secret(&arg, scope, Access::Write);
                            }
                            Kind::DuplicateInput | Kind::DuplicateOutput => {}
                            Kind::Write | Kind::Clobber | Kind::Append => {
                                let truncate = !matches!(kind, Kind::Append);
                                self.judge_write_target(&arg, truncate, scope);
                                if fd.is_none_or(|fd| fd == 1) {
                                    result = Redirected::Stdout(arg, truncate);
                                }
                            }
                        }
                    }
                    result
                }
                IoFileRedirectTarget::ProcessSubstitution(_, subshell) => {
                    let mut inner = scope.clone();
                    let stdin = if matches!(kind, Kind::Read) {
                        Stdin::None
                    } else {
                        Stdin::Output { safe: false }
                    };
                    self.walk_list_with_stdin(&subshell.list, &mut inner, stdin);
                    if matches!(kind, Kind::Read) {
                        Redirected::Stdin(Stdin::Output { safe: false })
                    } else {
                        Redirected::Nothing
                    }
                }
                IoFileRedirectTarget::Fd(_) | IoFileRedirectTarget::Duplicate(_) => {
                    Redirected::Nothing
                }
            },
            IoRedirect::HereDocument(_, doc) => {
                let span = self.span_of(scope, doc.doc.loc.as_ref());
                let text = if doc.requires_expansion {
                    // Unquoted delimiter: `$(…)` in the body runs, `$VAR` is substituted.
                    match brush_parser::word::parse_heredoc(&doc.doc.value, &self.parser_options) {
                        Ok(pieces) => self.heredoc_text(&pieces, scope, span),
                        Err(_) => doc.doc.value.clone(),
                    }
                } else {
                    doc.doc.value.clone()
                };
                Redirected::Stdin(Stdin::Text(text, span))
            }
            IoRedirect::HereString(_, word) => {
                let args = self.eval_word(word, scope);
                let text = args
                    .iter()
                    .map(|a| a.text.as_str())
                    .collect::<Vec<_>>()
                    .join(" ");
                if args.iter().all(|a| a.known) {
                    Redirected::Stdin(Stdin::Text(text, args.first().and_then(|a| a.span)))
                } else {
                    Redirected::Stdin(Stdin::Output {
                        safe: args.iter().all(|a| a.known || a.safe),
                    })
                }
            }
            IoRedirect::OutputAndError(word, append) => {
                let mut result = Redirected::Nothing;
                for arg in self.eval_word(word, scope) {
                    self.judge_write_target(&arg, !*append, scope);
                    result = Redirected::Stdout(arg, !*append);
                }
                result
            }
        }
    }

    /// The first command of a process substitution's list reads `stdin`.
    fn walk_list_with_stdin(&mut self, list: &ast::CompoundList, scope: &mut Scope, stdin: Stdin) {
        let first = list
            .0
            .first()
            .map(|item| &item.0.first)
            .filter(|pipeline| pipeline.seq.len() == 1 && list.0.len() == 1)
            .and_then(|pipeline| pipeline.seq.first());
        match first {
            Some(command) => {
                self.walk_command(command, scope, stdin);
            }
            None => {
                self.walk_list(list, scope);
            }
        }
    }

    /// An unquoted heredoc's text after expansion: known variables substituted, command
    /// substitutions walked (they run) and left as written.
    fn heredoc_text(
        &mut self,
        pieces: &[WordPieceWithSource],
        scope: &mut Scope,
        span: Option<super::ByteSpan>,
    ) -> String {
        let mut text = String::new();
        for piece in pieces {
            match &piece.piece {
                WordPiece::CommandSubstitution(script)
                | WordPiece::BackquotedCommandSubstitution(script) => {
                    self.walk_nested_script(script, scope, span, "command substitution in heredoc");
                    text.push_str(&format!("$({script})"));
                }
                WordPiece::DoubleQuotedSequence(inner)
                | WordPiece::GettextDoubleQuotedSequence(inner) => {
                    text.push('"');
                    text.push_str(&self.heredoc_text(inner, scope, span));
                    text.push('"');
                }
                WordPiece::ParameterExpansion(expr) => match self.parameter_value(expr, scope) {
                    Some(Value::Known(value)) => text.push_str(&value),
                    _ => text.push_str(&format!("${{{}}}", parameter_name(expr))),
                },
                WordPiece::Text(t) | WordPiece::SingleQuotedText(t) => text.push_str(t),
                WordPiece::EscapeSequence(t) => {
                    text.push_str(t.strip_prefix('\\').unwrap_or(t));
                }
                _ => {}
            }
        }
        text
    }
}

/// What either of two commands may have written: known text only when both agree.
fn merge_outputs(first: Stdin, second: Stdin) -> Stdin {
    match (&first, &second) {
        (Stdin::Text(a, _), Stdin::Text(b, _)) if a == b => first,
        (Stdin::None, _) => second,
        (_, Stdin::None) => first,
        (Stdin::Output { safe: a }, Stdin::Output { safe: b }) => Stdin::Output { safe: *a && *b },
        _ => Stdin::Output { safe: false },
    }
}

/// What a redirection does for its command.
enum Redirected {
    Nothing,
    Stdin(Stdin),
    /// stdout goes to this file (truncated first when true).
    Stdout(Arg, bool),
}

/// Most values of a `for` loop judged one by one.
const MAX_LOOP_VALUES: usize = 8;

/// The value a `for` variable takes over `values` it does not follow one by one: not
/// known, produced while the command runs, and safe when no value can be a secret file.
fn loop_value(values: &[Arg], config: &crate::config::GuardConfig) -> Value {
    let safe = values.iter().all(|v| {
        if v.known && !v.glob {
            !crate::secrets::may_name_secret_plain(&v.text, config)
        } else if v.known {
            !crate::secrets::pattern_may_match_secret(&v.text, config)
        } else {
            v.safe
        }
    });
    Value::Unknown {
        runtime: true,
        safe,
    }
}

/// The name of a parameter expansion, for leaving it in a heredoc's text.
fn parameter_name(expr: &brush_parser::word::ParameterExpr) -> String {
    use brush_parser::word::ParameterExpr;
    match expr {
        ParameterExpr::Parameter { parameter, .. } => {
            let shown = parameter.to_string();
            shown
                .trim_start_matches('$')
                .trim_start_matches('{')
                .trim_end_matches('}')
                .to_owned()
        }
        _ => "UNKNOWN".to_owned(),
    }
}
