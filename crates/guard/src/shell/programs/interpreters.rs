//! Interpreters of other languages, fully: code from `-c`/`-e` (several of them), from a
//! heredoc or stdin, from a script file written earlier in the same command, and the
//! file operands after the code or script, which the code may read.
//!
//! Code not known until it runs (downloaded, piped from a program, decoded at run
//! time) is asked about. A script file already on disk is the project's own code: its
//! name is checked, its content is not the guard's to read.

use super::code::{Effect, Language, effects};
use super::deleters::Removal;
use super::{Access, is_option};
use crate::decision::Verdict;
use crate::rules::Rule;
use crate::shell::word::Arg;
use crate::shell::{ByteSpan, Scope, Stdin, Walker};

/// How one interpreter takes its code.
struct Interpreter {
    language: Language,
    /// Options whose value is code (`-c`, `-e`, `--eval`).
    code: &'static [&'static str],
    /// Options whose value is a file of code (`-f`, `-x`, `--script`).
    file: &'static [&'static str],
    /// Other options that take a value.
    value: &'static [&'static str],
    /// An option after which the rest are a module's arguments (`python -m`).
    module: &'static [&'static str],
}

/// The interpreter a program name is, if any (`python3.12`, `nodejs`, `Rscript`, …).
fn interpreter(program: &str) -> Option<Interpreter> {
    let base = program.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
    let it = |language, code, file, value, module| Interpreter {
        language,
        code,
        file,
        value,
        module,
    };
    Some(match base {
        "python" | "pypy" | "ipython" | "micropython" | "python-m" => {
            it(Language::Python, &["-c"], &[], &["-W", "-X", "-Q"], &["-m"])
        }
        // Node and the TypeScript/ESM runners that take node's `-e`/`-p` (tsx, ts-node,
        // babel-node, esno, sucrase-node; often through npx, pnpm dlx, bunx).
        "node"
        | "nodejs"
        | "tsx"
        | "ts-node"
        | "ts-node-esm"
        | "ts-node-transpile-only"
        | "babel-node"
        | "esno"
        | "esr"
        | "sucrase-node"
        | "vite-node" => it(
            Language::Node,
            &["-e", "--eval", "-p", "--print"],
            &[
                "-r",
                "--require",
                "--import",
                "--loader",
                "--experimental-loader",
            ],
            &[
                "--env-file",
                "-C",
                "--conditions",
                "--input-type",
                "--title",
                "--stack-size",
                "--env-file-if-exists",
            ],
            &[],
        ),
        "ruby" | "jruby" | "truffleruby" => it(
            Language::Ruby,
            &["-e"],
            &["-r"],
            &["-I", "-C", "-E", "-F", "--encoding"],
            &[],
        ),
        "perl" => it(
            Language::Perl,
            &["-e", "-E"],
            &[],
            &["-I", "-M", "-m", "-F", "-C", "-x"],
            &[],
        ),
        "php" => it(
            Language::Php,
            &["-r", "-B", "-R", "-E"],
            &["-f", "-F"],
            &["-d", "-c", "-z", "-t"],
            &[],
        ),
        "lua" | "luajit" => it(Language::Lua, &["-e"], &[], &["-l"], &[]),
        "Rscript" | "R" => it(Language::R, &["-e", "--expr"], &["-f", "--file"], &[], &[]),
        "julia" => it(
            Language::Julia,
            &["-e", "-E", "--eval", "--print"],
            &["-L", "--load"],
            &[
                "-t",
                "--threads",
                "--project",
                "-J",
                "--sysimage",
                "-p",
                "--procs",
            ],
            &[],
        ),
        "tclsh" | "wish" | "jimsh" | "expect" => it(Language::Tcl, &["-c"], &["-f"], &[], &[]),
        "elixir" | "iex" => it(
            Language::Elixir,
            &["-e", "--eval"],
            &["-r", "--require"],
            &["--erl", "--sname", "--name", "--cookie", "-pa", "-pz"],
            &[],
        ),
        "erl" => it(
            Language::Erlang,
            &["-eval"],
            &[],
            &["-s", "-run", "-sname", "-name", "-pa", "-pz", "-setcookie"],
            &[],
        ),
        "escript" => it(Language::Erlang, &[], &[], &[], &[]),
        "groovy" => it(
            Language::Groovy,
            &["-e"],
            &[],
            &["-cp", "--classpath", "-D"],
            &[],
        ),
        "jshell" => it(Language::Java, &[], &[], &["--class-path", "-R", "-J"], &[]),
        "racket" | "guile" | "sbcl" | "clisp" | "ecl" | "chez" | "scheme" | "clojure" | "clj"
        | "bb" | "hy" | "fennel" => it(
            Language::Lisp,
            &["-e", "--eval", "-c", "--expr"],
            &["-l", "--load", "--script", "-f", "--file"],
            &["-M", "-A", "-Sdeps", "--core"],
            &[],
        ),
        "osascript" => it(Language::AppleScript, &["-e"], &[], &["-l", "-s"], &[]),
        // ghc(1) `-e EXPR` evaluates an expression as GHCi would; runghc runs a file.
        "ghc" | "ghci" | "runghc" | "runhaskell" => it(
            Language::Haskell,
            &["-e"],
            &[],
            &["-o", "-i", "-package", "-package-env", "-x"],
            &[],
        ),
        _ => return None,
    })
}

/// A file name that is the standard input (`-f -`, `/dev/stdin`): the code is there.
fn reads_stdin(file: &Arg) -> bool {
    file.known
        && matches!(
            file.text.as_str(),
            "-" | "/dev/stdin" | "/dev/fd/0" | "/proc/self/fd/0"
        )
}

/// Whether a program name is an interpreter of the catalogue.
pub(super) fn is_interpreter(program: &str) -> bool {
    interpreter(program).is_some()
}

impl Walker<'_> {
    /// An interpreter; `None` when `name` is not one.
    pub(super) fn judge_interpreter(
        &mut self,
        name: &str,
        rest: &[Arg],
        scope: &mut Scope,
        stdin: &Stdin,
    ) -> Option<Stdin> {
        // `perl` without code filters files like sed; it is judged as such below.
        let spec = interpreter(name)?;
        let mut codes: Vec<Arg> = Vec::new();
        let mut script: Option<&Arg> = None;
        let mut module = false;
        let mut index = 0;
        while let Some(arg) = rest.get(index) {
            index += 1;
            if !is_option(arg) {
                if arg.known && arg.text == "-" {
                    break; // the code is on stdin; what follows are its arguments
                }
                if codes.is_empty() {
                    script = Some(arg);
                }
                index -= 1;
                break;
            }
            let text = arg.text.as_str();
            if text == "--" {
                if codes.is_empty() {
                    script = rest.get(index);
                    index += usize::from(script.is_some());
                }
                break;
            }
            let (flag, inline) = match text.split_once('=') {
                Some((flag, value)) if flag.starts_with("--") => (flag, Some(value)),
                _ => (text, None),
            };
            let value = |index: &mut usize| -> Option<Arg> {
                match inline {
                    Some(value) => Some(Arg::literal(value, arg.span)),
                    None => {
                        let value = rest.get(*index).cloned();
                        *index += 1;
                        value
                    }
                }
            };
            if spec.code.contains(&flag) {
                codes.extend(value(&mut index));
                continue;
            }
            if spec.file.contains(&flag) {
                if let Some(file) = value(&mut index) {
                    // `node -r dotenv/config` loads .env before the code runs.
                    if file.known && file.text.starts_with("dotenv") {
                        self.check_secret(&Arg::literal(".env", file.span), scope, Access::Read);
                    }
                    if reads_stdin(&file) {
                        self.judge_code_on_stdin(name, spec.language, stdin, scope, &[]);
                    } else {
                        self.judge_code_file(name, spec.language, &file, &[], scope);
                    }
                }
                continue;
            }
            if spec.module.contains(&flag) {
                // `python -m dotenv run -- …` loads .env.
                if let Some(module) = rest.get(index).filter(|m| m.known && m.text == "dotenv") {
                    self.check_secret(&Arg::literal(".env", module.span), scope, Access::Read);
                }
                module = true;
                index += 1; // the module's name; the rest are its arguments
                break;
            }
            if spec.value.contains(&flag) {
                if let Some(value) = value(&mut index) {
                    self.check_secret(&value, scope, Access::Read);
                }
                continue;
            }
            // Short flags joined with the code flag: `python -Bc`, `perl -ne`, `ruby -pe`;
            // or with its value: `perl -MFile::Path`, `python -c'code'`.
            if !flag.starts_with("--")
                && let Some(code_flag) = spec.code.iter().find(|c| {
                    c.len() == 2 && {
                        let letter = c.chars().nth(1).unwrap_or_default();
                        flag[1..].contains(letter)
                    }
                })
            {
                let letter = code_flag.chars().nth(1).unwrap_or_default();
                let after = flag
                    .split_once(letter)
                    .map(|(_, after)| after)
                    .unwrap_or_default();
                if after.is_empty() {
                    codes.extend(value(&mut index));
                } else if !spec.value.iter().any(|v| flag.starts_with(v)) {
                    codes.push(Arg::literal(after, arg.span));
                }
                continue;
            }
        }
        let operands: Vec<Arg> = rest
            .get(index + usize::from(script.is_some() && !module)..)
            .unwrap_or_default()
            .to_vec();
        let operand_texts: Vec<String> = operands.iter().map(|a| a.text.clone()).collect();
        // What the code may read: the operands after the code or script.
        for operand in &operands {
            if !is_option(operand) {
                self.check_secret(operand, scope, Access::Mention);
            }
        }
        // `perl -i`, `perl -pi.bak`, `ruby -i`: the files given are rewritten in place
        // (perlrun(1), ruby(1)).
        let in_place = matches!(spec.language, Language::Perl | Language::Ruby)
            && rest[..index].iter().any(|a| {
                a.known
                    && a.text.starts_with('-')
                    && !a.text.starts_with("--")
                    && a.text[1..]
                        .chars()
                        .take_while(|c| c.is_ascii_alphabetic())
                        .any(|c| c == 'i')
            });
        if in_place {
            for operand in operands.iter().filter(|a| !is_option(a)) {
                self.judge_overwrite(
                    operand,
                    scope,
                    &format!(" (rewritten in place by {name} -i)"),
                );
            }
        }
        if module {
            return Some(Stdin::Output { safe: false });
        }
        if !codes.is_empty() {
            let known = codes.iter().all(|c| c.known);
            let span = codes.first().and_then(|c| c.span);
            if !known {
                self.find(
                    Verdict::Ask,
                    Rule::ShellUnresolvedScript,
                    format!("`{name}` is given code that is not known until the command runs."),
                    span,
                );
                return Some(Stdin::Output { safe: false });
            }
            let code = codes
                .iter()
                .map(|c| c.text.as_str())
                .collect::<Vec<_>>()
                .join("\n");
            self.note(|| format!("{name} code: {}", code.replace('\n', "\\n")));
            self.judge_code_in(spec.language, &code, span, scope, &operand_texts);
            return Some(Stdin::Output { safe: false });
        }
        match script {
            Some(file) if reads_stdin(file) => {
                self.judge_code_on_stdin(name, spec.language, stdin, scope, &operand_texts)
            }
            Some(file) => self.judge_code_file(name, spec.language, file, &operand_texts, scope),
            None => self.judge_code_on_stdin(name, spec.language, stdin, scope, &operand_texts),
        }
        Some(Stdin::Output { safe: false })
    }

    /// Code an interpreter reads from stdin: a heredoc, piped text, a file, or another
    /// program's output.
    fn judge_code_on_stdin(
        &mut self,
        name: &str,
        language: Language,
        stdin: &Stdin,
        scope: &mut Scope,
        operands: &[String],
    ) {
        match stdin {
            Stdin::Text(text, span) => {
                let text = text.clone();
                if self.decoded.contains(&text) {
                    self.find(
                        Verdict::Ask,
                        Rule::ShellUnresolvedScript,
                        format!("`{name}` runs decoded code, which the command does not show as written."),
                        *span,
                    );
                }
                self.note(|| format!("{name} code on stdin: {}", text.replace('\n', "\\n")));
                self.judge_code_in(language, &text, *span, scope, operands);
            }
            Stdin::File(file, _) => {
                let file = file.clone();
                self.judge_code_file(name, language, &file, operands, scope);
            }
            Stdin::Output { .. } => self.find(
                Verdict::Ask,
                Rule::ShellUnresolvedScript,
                format!(
                    "`{name}` runs code that another program prints (downloaded, decoded or \
                     generated), which is not known until the command runs."
                ),
                None,
            ),
            Stdin::None => {}
        }
    }

    /// A script file for an interpreter: its name is checked; its code is judged when it
    /// was written earlier in this command, and asked about when it is produced at run
    /// time.
    fn judge_code_file(
        &mut self,
        name: &str,
        language: Language,
        file: &Arg,
        operands: &[String],
        scope: &mut Scope,
    ) {
        if file.process_substitution || super::wrappers::produced_content(file) {
            self.find(
                Verdict::Ask,
                Rule::ShellUnresolvedScript,
                format!("`{name}` runs a script that is produced while the command runs."),
                file.span,
            );
            return;
        }
        self.check_secret(file, scope, Access::Read);
        let Some(path) = file
            .known
            .then(|| self.host_path(&file.text, scope))
            .flatten()
        else {
            return;
        };
        match scope.written.get(&path).cloned() {
            Some(Some(code)) => {
                self.note(|| format!("{name} runs `{}`, written earlier in this command", file.text));
                self.judge_code_in(language, &code, file.span, scope, operands);
            }
            Some(None) => self.find(
                Verdict::Ask,
                Rule::ShellUnresolvedScript,
                format!(
                    "`{name}` runs `{}`, written earlier in this command with content not known until it runs.",
                    file.text
                ),
                file.span,
            ),
            None => {}
        }
    }

    /// Judges code given by name of its interpreter (for debuggers and editors that
    /// embed one).
    pub(super) fn judge_code(
        &mut self,
        interpreter_name: &str,
        code: &str,
        span: Option<ByteSpan>,
        scope: &mut Scope,
        operands: &[String],
    ) {
        if let Some(spec) = interpreter(interpreter_name) {
            self.judge_code_in(spec.language, code, span, scope, operands);
        }
    }

    pub(super) fn judge_code_in(
        &mut self,
        language: Language,
        code: &str,
        span: Option<ByteSpan>,
        scope: &mut Scope,
        operands: &[String],
    ) {
        for effect in effects(language, code, operands) {
            self.apply_effect(effect, language, span, scope);
        }
    }

    fn apply_effect(
        &mut self,
        effect: Effect,
        language: Language,
        span: Option<ByteSpan>,
        scope: &mut Scope,
    ) {
        let via = " (in code run by an interpreter)";
        match effect {
            Effect::Delete { target, recursive } => {
                let arg = match target {
                    Some(text) => Arg::literal(expand_home(&text, self), span),
                    None => Arg::produced(span, false),
                };
                self.check_secret(&arg, scope, Access::Write);
                let removal = if recursive {
                    Removal::Recursive
                } else {
                    Removal::File
                };
                self.judge_removal(&arg, removal, scope, via);
            }
            Effect::Read(path) => {
                let arg = Arg::literal(expand_home(&path, self), span);
                self.check_secret(&arg, scope, Access::Read);
            }
            Effect::Write(path) => {
                let arg = Arg::literal(expand_home(&path, self), span);
                self.judge_write_target(&arg, true, scope);
            }
            Effect::UnknownRead(call) => self.find(
                Verdict::Ask,
                Rule::EnvUnresolvedRead,
                format!(
                    "code run by an interpreter reads a file (`{call}`) whose name is not known \
                     until it runs, which may be a secret file such as .env."
                ),
                span,
            ),
            Effect::Shell(script) => {
                self.walk_nested_script(&script, scope, span, "a shell command in code");
            }
            Effect::Piped { command, input } => {
                let stdin = match input {
                    Some(text) => Stdin::Text(text, span),
                    None => Stdin::Output { safe: false },
                };
                // A plain command line is judged as one program reading that input
                // (`sh`, `python3`); anything else is walked as a command line.
                let plain = !command.is_empty()
                    && command
                        .chars()
                        .all(|c| c.is_alphanumeric() || " -_./=+,:@%".contains(c));
                if plain {
                    let args: Vec<Arg> = command
                        .split_whitespace()
                        .map(|w| Arg::literal(expand_home(w, self), span))
                        .collect();
                    self.judge(&args, scope, &stdin);
                } else {
                    self.walk_nested_script(&command, scope, span, "a command piped to in code");
                }
            }
            Effect::Argv(words) => {
                let args: Vec<Arg> = words
                    .into_iter()
                    .map(|w| Arg::literal(expand_home(&w, self), span))
                    .collect();
                self.judge(&args, scope, &Stdin::None);
            }
            Effect::Load(path) => {
                // A file of code written earlier in this command is judged by its text
                // (`require("./a")` finds `a.js`); other files are the project's own.
                let path = expand_home(&path, self);
                let candidates = [
                    path.clone(),
                    format!("{path}.js"),
                    format!("{path}.cjs"),
                    format!("{path}.mjs"),
                    format!("{path}.ts"),
                    format!("{path}.rb"),
                    format!("{path}.py"),
                    format!("{path}.lua"),
                    format!("{path}.pl"),
                ];
                let written = candidates.iter().find_map(|candidate| {
                    let host = self.host_path(candidate, scope)?;
                    let text = scope.written.get(&host).cloned()?;
                    Some((host, text))
                });
                match written {
                    Some((host, Some(text))) => {
                        self.note(|| format!("code `{path}` was written earlier in this command"));
                        // Judged once: a file that loads itself does not loop.
                        let mut inner = scope.clone();
                        inner.written.remove(&host);
                        self.judge_code_in(language, &text, span, &mut inner, &[]);
                    }
                    Some((_, None)) => self.find(
                        Verdict::Ask,
                        Rule::ShellUnresolvedScript,
                        format!(
                            "code run by an interpreter loads `{path}`, written earlier in this \
                             command with content not known until it runs."
                        ),
                        span,
                    ),
                    None => self.check_secret(&Arg::literal(path, span), scope, Access::Read),
                }
            }
            Effect::Unknown(what) => self.find(
                Verdict::Ask,
                Rule::ShellUnresolvedScript,
                format!("code run by an interpreter runs {what} that is not known until it runs."),
                span,
            ),
        }
    }
}

/// `~` at the start of a path in code: many of these functions expand it (Ruby's
/// FileUtils, Lisp's file functions); judging as if they all did errs safe.
fn expand_home(text: &str, walker: &Walker<'_>) -> String {
    match text.strip_prefix('~') {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => {
            format!("{}{rest}", walker.ctx.home.display())
        }
        _ => text.to_owned(),
    }
}
