//! Launchers of the package and tool ecosystems: package runners that fetch and run a
//! package's program (`npx`, `pnpm dlx`, `bunx`, `uvx`, `pipx run`), environment runners
//! that run a command inside a project's environment (`uv run`, `poetry run`, `bundle
//! exec`, `conda run`, `nix develop -c`, `mise exec`, …), file watchers that rerun a
//! command (`entr`, `watchexec`, `nodemon`), and `make` with what it is told on the
//! command line. The program they end up running is judged in their place; a package's
//! program is named after the package (`npx rimraf ~` runs `rimraf`).

use super::{Access, Opt, OptSpec, parse_opts, value_of, values_of};
use crate::decision::Verdict;
use crate::rules::Rule;
use crate::shell::word::Arg;
use crate::shell::{Scope, Stdin, Walker};

impl Walker<'_> {
    /// A launcher; `None` when `name` is not one.
    pub(super) fn judge_launcher(
        &mut self,
        name: &str,
        rest: &[Arg],
        scope: &mut Scope,
        stdin: &Stdin,
    ) -> Option<Stdin> {
        let first = rest.first().filter(|a| a.known).map(|a| a.text.as_str());
        self.judge_package_scripts(name, first, rest, scope);
        Some(match (name, first) {
            ("npx" | "bunx" | "pnpx", _) => self.judge_package_runner(name, rest, scope, stdin),
            // `pnpm exec --shell-mode 'cmd'` (`-c`) runs its operand in a shell.
            ("pnpm", Some("exec"))
                if rest
                    .iter()
                    .any(|a| a.known && matches!(a.text.as_str(), "--shell-mode" | "-c")) =>
            {
                let line: Vec<Arg> = rest[1..]
                    .iter()
                    .filter(|a| !super::is_option(a))
                    .cloned()
                    .collect();
                self.run_words_as_script(&line, scope, "pnpm exec --shell-mode")
            }
            ("npm", Some("exec" | "x"))
            | ("pnpm" | "yarn", Some("dlx" | "exec"))
            | ("bun", Some("x")) => self.judge_package_runner(name, &rest[1..], scope, stdin),
            ("bun", Some("run")) => self.judge_js_runner("bun run", &rest[1..], scope, stdin),
            ("bun", Some("-e" | "--eval" | "-p" | "--print")) => {
                let mut args = vec![Arg::literal("node", rest[0].span)];
                args.extend_from_slice(rest);
                self.judge(&args, scope, stdin)
            }
            ("bun", Some(file)) if is_js_file(file) => {
                self.judge_js_runner("bun", rest, scope, stdin)
            }
            ("bun", Some("exec")) => self.run_words_as_script(&rest[1..], scope, "bun exec"),
            ("deno", Some("eval")) => {
                let mut args = vec![
                    Arg::literal("node", rest[0].span),
                    Arg::literal("-e", rest[0].span),
                ];
                args.extend_from_slice(&rest[1..]);
                self.judge(&args, scope, stdin)
            }
            ("deno", Some("run")) => self.judge_js_runner("deno run", &rest[1..], scope, stdin),
            ("deno", Some(file)) if is_js_file(file) => {
                self.judge_js_runner("deno", rest, scope, stdin)
            }
            ("uvx", _) | ("pipx", Some("run")) => {
                let args = if name == "uvx" { rest } else { &rest[1..] };
                self.judge_package_runner(name, args, scope, stdin)
            }
            ("uv", Some("tool")) if rest.get(1).is_some_and(|a| a.text == "run") => {
                self.judge_package_runner("uv tool run", &rest[2..], scope, stdin)
            }
            ("uv", Some("run")) => {
                self.judge_env_runner("uv run", &rest[1..], scope, stdin, UV_RUN)
            }
            (
                "poetry" | "pdm" | "rye" | "pipenv" | "hatch" | "bundle" | "devbox" | "rbenv"
                | "pyenv" | "nodenv" | "goenv" | "jenv" | "asdf" | "volta" | "pixi",
                Some("run" | "exec"),
            ) => self.judge_env_runner(name, &rest[1..], scope, stdin, ENV_RUN),
            // `npm explore PKG -- command` runs the command in the package's directory
            // (npm-explore(1)).
            ("npm", Some("explore")) => match rest.iter().position(|a| a.known && a.text == "--") {
                Some(at) => {
                    let mut inner = scope.clone();
                    if let (Some(package), Some(cwd)) = (rest.get(1), &scope.cwd) {
                        inner.cwd = package
                            .known
                            .then(|| cwd.join("node_modules").join(&package.text));
                    }
                    let out = self.judge_inner("npm explore", &rest[at + 1..], &mut inner, stdin);
                    scope.written.extend(inner.written);
                    out
                }
                None => Stdin::None,
            },
            // `distrobox enter [NAME] [options] -- command`: what follows `--` runs.
            ("distrobox", Some("enter" | "ephemeral")) => {
                match rest.iter().position(|a| a.known && a.text == "--") {
                    Some(at) => self.judge_inner(name, &rest[at + 1..], scope, stdin),
                    None => Stdin::None,
                }
            }
            ("gem", Some("exec")) => {
                self.judge_env_runner("gem exec", &rest[1..], scope, stdin, GEM_EXEC)
            }
            ("gem", _) => return None,
            ("rake", _) => {
                self.judge_build_file("rake", rest, scope);
                self.judge_rake(rest, scope);
                Stdin::Output { safe: false }
            }
            ("mvn" | "mvnw", _) => {
                self.judge_maven(rest, scope);
                Stdin::Output { safe: false }
            }
            ("mise" | "rtx", Some("exec" | "x"))
            | ("fnm", Some("exec"))
            | ("toolbox", Some("run")) => {
                self.judge_env_runner(name, &rest[1..], scope, stdin, TOOL_RUN)
            }
            ("conda" | "mamba" | "micromamba", Some("run")) => {
                self.judge_env_runner(name, &rest[1..], scope, stdin, CONDA_RUN)
            }
            ("direnv", Some("exec")) => self.judge_env_runner(
                name,
                rest.get(2..).unwrap_or_default(),
                scope,
                stdin,
                ENV_RUN,
            ),
            ("nvm", Some("exec" | "run")) => {
                let inner = rest.get(2..).unwrap_or_default();
                if rest[0].text == "run" {
                    let mut args = vec![Arg::literal("node", rest[0].span)];
                    args.extend_from_slice(inner);
                    self.judge(&args, scope, stdin)
                } else {
                    self.judge_inner("nvm exec", inner, scope, stdin)
                }
            }
            ("nix", Some("develop" | "shell")) | ("devenv", Some("shell")) => {
                match rest
                    .iter()
                    .position(|a| a.known && matches!(a.text.as_str(), "-c" | "--command"))
                {
                    Some(at) => self.judge_inner(name, &rest[at + 1..], scope, stdin),
                    None => Stdin::None,
                }
            }
            ("nix-shell", _) => {
                self.script_after(rest, &["--run", "--command"], scope, "nix-shell --run")
            }
            ("vagrant", Some("ssh")) => {
                self.script_after(rest, &["-c", "--command"], scope, "vagrant ssh -c")
            }
            ("mix", Some("run")) => {
                match rest
                    .iter()
                    .position(|a| a.known && matches!(a.text.as_str(), "-e" | "--eval"))
                {
                    Some(at) => {
                        let mut args = vec![Arg::literal("elixir", rest[at].span)];
                        args.extend_from_slice(&rest[at..]);
                        self.judge(&args, scope, stdin)
                    }
                    None => Stdin::Output { safe: false },
                }
            }
            ("entr", _) => self.judge_entr(rest, scope, stdin),
            ("watchexec", _) => self.judge_watchexec(rest, scope, stdin),
            ("nodemon", _) => self.judge_nodemon(rest, scope, stdin),
            ("make" | "gmake" | "remake", _) => {
                if !rest.iter().any(|a| {
                    a.known
                        && (a.text.starts_with("-f")
                            || a.text.starts_with("--file")
                            || a.text.starts_with("--makefile"))
                }) {
                    self.judge_build_file(name, rest, scope);
                }
                self.judge_make(rest, scope, stdin)
            }
            // `nix run INSTALLABLE [-- ARGS]` runs the package's program (nix3-run(1)):
            // `nixpkgs#bash -- -c '…'` is bash given those arguments.
            ("nix", Some("run")) => {
                let (_, start) = parse_opts(&rest[1..], &NIX_RUN, true);
                let Some(installable) = rest.get(1 + start) else {
                    return Some(Stdin::None);
                };
                let args = &rest[2 + start..];
                let args = match args.first() {
                    Some(first) if first.known && first.text == "--" => &args[1..],
                    _ => args,
                };
                if !installable.known {
                    return Some(self.run_words_as_script(
                        std::slice::from_ref(installable),
                        scope,
                        "nix run",
                    ));
                }
                let program = installable
                    .text
                    .rsplit(['#', '.', '/'])
                    .next()
                    .unwrap_or_default();
                let mut argv = vec![Arg::literal(program, installable.span)];
                argv.extend_from_slice(args);
                self.judge_inner("nix run", &argv, scope, stdin)
            }
            // `just --command COMMAND…` (`-c`) runs the command with the justfile's
            // environment (just --help).
            ("just", _) if rest.iter().any(is_just_command) => {
                self.judge_task_files(name, rest, scope, stdin);
                let at = rest.iter().position(is_just_command).unwrap_or_default();
                self.judge_inner("just --command", &rest[at + 1..], scope, stdin)
            }
            ("gradle" | "gradlew" | "just" | "task" | "go-task", _) => {
                self.judge_task_files(name, rest, scope, stdin);
                self.judge_build_file(name, rest, scope);
                self.check_file_operands(rest, scope, Access::Mention);
                Stdin::Output { safe: false }
            }
            ("invoke" | "inv" | "nox" | "fab" | "ninja" | "pytest" | "py.test", _) => {
                self.judge_build_file(name, rest, scope);
                self.check_file_operands(rest, scope, Access::Mention);
                Stdin::Output { safe: false }
            }
            // `yarn rimraf ~`, `pnpm rimraf ~`: a package's program by name.
            ("yarn" | "pnpm", Some(first))
                if !first.starts_with('-') && !PACKAGE_MANAGER_COMMANDS.contains(&first) =>
            {
                self.judge_inner(name, rest, scope, stdin)
            }
            _ => return None,
        })
    }

    /// package.json scripts set or written in this command: `npm pkg set
    /// scripts.NAME=CMD` and `npm set-script NAME CMD` plant a command line that `npm run
    /// NAME` (and a later session) runs, so it is judged where it is set; `npm run NAME`,
    /// `yarn NAME`, `pnpm NAME`, `bun run NAME` with a package.json written earlier in
    /// the command run its `preNAME`, `NAME` and `postNAME` (npm-run-script(1)), asked
    /// about when that text is not known.
    /// The one word after the first of `options` in `rest`, run as a shell script
    /// (`nix-shell --run 'CMD'`); nothing run without one.
    fn script_after(
        &mut self,
        rest: &[Arg],
        options: &[&str],
        scope: &mut Scope,
        label: &str,
    ) -> Stdin {
        match rest
            .iter()
            .position(|a| a.known && options.contains(&a.text.as_str()))
        {
            Some(at) => {
                self.run_words_as_script(rest.get(at + 1..at + 2).unwrap_or_default(), scope, label)
            }
            None => Stdin::None,
        }
    }

    fn judge_package_scripts(
        &mut self,
        name: &str,
        first: Option<&str>,
        rest: &[Arg],
        scope: &mut Scope,
    ) {
        if name == "npm" && first == Some("pkg") && rest.get(1).is_some_and(|a| a.text == "set") {
            for arg in &rest[2..] {
                if let Some(assignment) = arg.text.strip_prefix("scripts.") {
                    match assignment.split_once('=') {
                        Some((_, command)) if arg.known => {
                            let command = command.to_owned();
                            self.walk_nested_script(
                                &command,
                                scope,
                                arg.span,
                                "a package.json script",
                            );
                        }
                        _ => {
                            self.run_words_as_script(
                                std::slice::from_ref(arg),
                                scope,
                                "a package.json script",
                            );
                        }
                    }
                }
            }
            return;
        }
        if name == "npm" && first == Some("set-script") {
            if let Some(command) = rest.get(2) {
                self.run_words_as_script(
                    std::slice::from_ref(command),
                    scope,
                    "a package.json script",
                );
            }
            return;
        }
        let script = match (name, first) {
            ("npm", Some("run" | "run-script" | "rum" | "urn"))
            | ("yarn" | "pnpm" | "bun", Some("run")) => {
                rest.get(1).filter(|a| a.known).map(|a| a.text.clone())
            }
            ("npm", Some("test" | "t" | "tst" | "start" | "stop" | "restart")) => {
                first.map(str::to_owned)
            }
            // Only a package.json written in this command is looked at, so a name that
            // is also a builtin (`yarn build`) is looked up too.
            ("yarn" | "pnpm", Some(first)) if !first.starts_with('-') => Some(first.to_owned()),
            _ => None,
        };
        let Some(script) = script else {
            return;
        };
        let Some(path) = self.host_path("package.json", scope) else {
            return;
        };
        let Some(text) = scope.written.get(&path).cloned() else {
            return;
        };
        let span = rest.first().and_then(|a| a.span);
        let scripts = text
            .as_deref()
            .and_then(|text| serde_json::from_str::<serde_json::Value>(text).ok())
            .map(|json| json.get("scripts").cloned().unwrap_or_default());
        let Some(scripts) = scripts else {
            self.find(
                Verdict::Ask,
                Rule::ShellUnresolvedScript,
                format!(
                    "`{name}` runs the script `{script}` of a package.json written earlier in \
                     this command, whose content is not known until it runs."
                ),
                span,
            );
            return;
        };
        for key in [
            format!("pre{script}"),
            script.clone(),
            format!("post{script}"),
        ] {
            if let Some(command) = scripts.get(&key).and_then(serde_json::Value::as_str) {
                let command = command.to_owned();
                self.walk_nested_script(&command, scope, span, "a package.json script");
            }
        }
    }

    /// `npx [options] package[@version] [args]`, `npx -p pkg command`, `npx -c 'string'`.
    fn judge_package_runner(
        &mut self,
        name: &str,
        rest: &[Arg],
        scope: &mut Scope,
        stdin: &Stdin,
    ) -> Stdin {
        const RUNNER: OptSpec = OptSpec {
            short: "pc",
            long: &[
                "package",
                "call",
                "from",
                "with",
                "python",
                "spec",
                "node-options",
                "workspace",
                "registry",
                "cache",
            ],
            flags: &[
                "yes",
                "no",
                "ignore-existing",
                "quiet",
                "shell-auto-fallback",
                "silent",
                "bun",
                "isolated",
                "offline",
                "refresh",
            ],
        };
        let (items, start) = parse_opts(rest, &RUNNER, true);
        if let Some(string) = value_of(&items, &["-c", "--call"]) {
            return self.run_words_as_script(&[string], scope, &format!("{name} -c"));
        }
        let inner = rest.get(start..).unwrap_or_default();
        let Some(package) = inner.first() else {
            return Stdin::None;
        };
        if !package.known {
            self.find(
                Verdict::Ask,
                Rule::ShellUnresolvedScript,
                format!("`{name}` runs a package that is not known until the command runs."),
                package.span,
            );
            return Stdin::Output { safe: false };
        }
        // With `-p`/`--from`, the first word is the command; else the package names it.
        let sources = values_of(&items, &["-p", "--package", "--from", "--spec"]);
        // A package fetched from a URL is code nobody has seen until it runs.
        if let Some(remote) = sources
            .iter()
            .chain(std::iter::once(package))
            .find(|a| is_remote(&a.text))
        {
            self.find(
                Verdict::Ask,
                Rule::ShellUnresolvedScript,
                format!("`{name}` runs a package fetched from `{}`, whose code is not known until it runs.", remote.text),
                remote.span,
            );
            return Stdin::Output { safe: false };
        }
        let named = !sources.is_empty();
        let program = if named {
            package.text.clone()
        } else {
            package_program(&package.text)
        };
        let mut args = vec![Arg::literal(program, package.span)];
        args.extend_from_slice(&inner[1..]);
        self.judge_inner(name, &args, scope, stdin)
    }

    /// `bun run FILE|script`, `deno run [options] FILE`: a script file runs like `node FILE`.
    fn judge_js_runner(
        &mut self,
        name: &str,
        rest: &[Arg],
        scope: &mut Scope,
        stdin: &Stdin,
    ) -> Stdin {
        let start = rest
            .iter()
            .position(|a| !super::is_option(a))
            .unwrap_or(rest.len());
        let Some(target) = rest.get(start) else {
            return Stdin::None;
        };
        if target.known && is_remote(&target.text) {
            self.find(
                Verdict::Ask,
                Rule::ShellUnresolvedScript,
                format!(
                    "`{name}` runs code fetched from `{}`, not known until it runs.",
                    target.text
                ),
                target.span,
            );
            return Stdin::Output { safe: false };
        }
        if target.known && (is_js_file(&target.text) || target.text == "-") {
            let mut args = vec![Arg::literal("node", target.span)];
            args.extend_from_slice(&rest[start..]);
            return self.judge(&args, scope, stdin);
        }
        // A package.json script: the project's own.
        let _ = name;
        for arg in &rest[start..] {
            self.check_secret(arg, scope, Access::Read);
        }
        Stdin::Output { safe: false }
    }

    /// A runner of commands in a project's environment: options, then the command.
    fn judge_env_runner(
        &mut self,
        name: &str,
        rest: &[Arg],
        scope: &mut Scope,
        stdin: &Stdin,
        spec: OptSpec,
    ) -> Stdin {
        let (items, start) = parse_opts(rest, &spec, true);
        for item in &items {
            if let Opt::Flag {
                name,
                value: Some(value),
                ..
            } = item
                && matches!(
                    name.as_str(),
                    "--env-file" | "-e" | "--with-requirements" | "--requirements"
                )
            {
                self.check_secret(value, scope, Access::Read);
            }
        }
        if let Some(dir) = value_of(&items, &["--directory", "--cwd", "-C", "--project"]) {
            scope.cwd = match (dir.known, &scope.cwd) {
                (true, Some(cwd)) => {
                    Some(crate::paths::resolve(cwd, std::path::Path::new(&dir.text)))
                }
                _ => None,
            };
        }
        let inner = rest.get(start..).unwrap_or_default();
        if let Some(module) = value_of(&items, &["-m", "--module"]) {
            let mut args = vec![
                Arg::literal("python", module.span),
                Arg::literal("-m", module.span),
                module,
            ];
            args.extend_from_slice(inner);
            return self.judge(&args, scope, stdin);
        }
        // `uv run script.py`: a Python script.
        if let Some(first) = inner.first()
            && first.known
            && first.text.ends_with(".py")
        {
            let mut args = vec![Arg::literal("python", first.span)];
            args.extend_from_slice(inner);
            return self.judge(&args, scope, stdin);
        }
        self.judge_inner(name, inner, scope, stdin)
    }

    /// `entr [-s] command…`: with `-s` the first operand is a string for the shell.
    fn judge_entr(&mut self, rest: &[Arg], scope: &mut Scope, stdin: &Stdin) -> Stdin {
        let (items, start) = parse_opts(rest, &OptSpec::default(), true);
        let inner = rest.get(start..).unwrap_or_default();
        if items.iter().any(|i| i.is(&["-s"])) {
            return self.run_words_as_script(inner.get(..1).unwrap_or_default(), scope, "entr -s");
        }
        self.judge_inner("entr", inner, scope, stdin)
    }

    /// `watchexec [options] [--] command…`: the words run in a shell unless `-n`.
    fn judge_watchexec(&mut self, rest: &[Arg], scope: &mut Scope, stdin: &Stdin) -> Stdin {
        const WATCHEXEC: OptSpec = OptSpec {
            short: "wefiEdWs",
            long: &[
                "watch",
                "exts",
                "filter",
                "ignore",
                "env",
                "debounce",
                "shell",
                "workdir",
                "stop-signal",
                "stop-timeout",
                "delay-run",
                "project-origin",
                "watch-file",
                "filter-file",
                "ignore-file",
                "on-busy-update",
                "signal",
                "poll",
                "color",
                "emit-events-to",
                "timeout",
                "wrap-process",
            ],
            flags: &[
                "restart",
                "clear",
                "postpone",
                "no-vcs-ignore",
                "no-project-ignore",
                "no-global-ignore",
                "no-default-ignore",
                "no-discover-ignore",
                "notify",
                "quiet",
                "bell",
            ],
        };
        let (items, start) = parse_opts(rest, &WATCHEXEC, true);
        let inner = rest.get(start..).unwrap_or_default();
        let no_shell = items.iter().any(|i| i.is(&["-n"]))
            || value_of(&items, &["--shell"]).is_some_and(|s| s.text == "none");
        if no_shell {
            return self.judge_inner("watchexec -n", inner, scope, stdin);
        }
        if inner.is_empty() {
            return Stdin::None;
        }
        self.run_words_as_script(inner, scope, "watchexec")
    }

    /// `nodemon --exec 'command'`, `nodemon script.js`.
    fn judge_nodemon(&mut self, rest: &[Arg], scope: &mut Scope, stdin: &Stdin) -> Stdin {
        const NODEMON: OptSpec = OptSpec {
            short: "xweidVq",
            long: &[
                "exec", "watch", "ext", "ignore", "delay", "signal", "config",
            ],
            flags: &["verbose", "quiet", "legacy-watch", "no-colours", "no-stdin"],
        };
        let (items, start) = parse_opts(rest, &NODEMON, true);
        if let Some(command) = value_of(&items, &["-x", "--exec"]) {
            let mut words = vec![command];
            words.extend_from_slice(rest.get(start..).unwrap_or_default());
            return self.run_words_as_script(&words, scope, "nodemon --exec");
        }
        let mut args = vec![Arg::literal("node", None)];
        args.extend_from_slice(rest.get(start..).unwrap_or_default());
        if args.len() == 1 {
            return Stdin::None;
        }
        self.judge(&args, scope, stdin)
    }

    /// `make`: recipes are the project's own; what the command line adds is judged:
    /// a makefile named (`-f`), one read from stdin, `--eval` text.
    fn judge_make(&mut self, rest: &[Arg], scope: &mut Scope, stdin: &Stdin) -> Stdin {
        const MAKE: OptSpec = OptSpec {
            short: "fCIjlWoO",
            long: &[
                "file",
                "makefile",
                "directory",
                "include-dir",
                "jobs",
                "load-average",
                "what-if",
                "new-file",
                "assume-new",
                "old-file",
                "assume-old",
                "eval",
                "output-sync",
                "jobserver-style",
                "shuffle",
            ],
            flags: &[
                "always-make",
                "environment-overrides",
                "ignore-errors",
                "keep-going",
                "just-print",
                "dry-run",
                "question",
                "silent",
                "touch",
                "debug",
                "no-builtin-rules",
                "print-directory",
                "trace",
            ],
        };
        let (items, _) = parse_opts(rest, &MAKE, false);
        for file in values_of(&items, &["-f", "--file", "--makefile"]) {
            if file.known && matches!(file.text.as_str(), "-" | "/dev/stdin") {
                match stdin {
                    Stdin::Text(text, span) => {
                        let (text, span) = (text.clone(), *span);
                        self.judge_makefile_text(&text, span, scope);
                    }
                    Stdin::Output { .. } => self.find(
                        Verdict::Ask,
                        Rule::ShellUnresolvedScript,
                        "`make` reads a makefile that another program prints, which is not known until the command runs.".to_owned(),
                        file.span,
                    ),
                    _ => {}
                }
            } else {
                self.judge_script_file(&file, scope, "the makefile");
                if let Some(path) = file
                    .known
                    .then(|| self.host_path(&file.text, scope))
                    .flatten()
                    && let Some(Some(text)) = scope.written.get(&path).cloned()
                {
                    self.judge_makefile_text(&text, file.span, scope);
                }
            }
        }
        for text in values_of(&items, &["--eval"]) {
            if text.known {
                self.judge_makefile_text(&text.text, text.span, scope);
            }
        }
        Stdin::Output { safe: false }
    }

    /// The build or task file a runner is told to read (`gradle --init-script F`, `-b F`,
    /// `just --justfile F`, `task --taskfile F`): code in a format the guard does not
    /// read, so one given on stdin or written earlier in this command is asked about;
    /// a secret file named is a read of it.
    fn judge_task_files(&mut self, tool: &str, rest: &[Arg], scope: &mut Scope, stdin: &Stdin) {
        let options: &[&str] = match tool {
            "gradle" | "gradlew" => &[
                "-I",
                "--init-script",
                "-b",
                "--build-file",
                "-c",
                "--settings-file",
            ],
            "just" => &["-f", "--justfile"],
            _ => &["-t", "--taskfile"],
        };
        for (at, arg) in rest.iter().enumerate() {
            let file = match arg.text.split_once('=') {
                Some((option, value)) if arg.known && options.contains(&option) => {
                    Arg::literal(value, arg.span)
                }
                _ if arg.known && options.contains(&arg.text.as_str()) => match rest.get(at + 1) {
                    Some(file) => file.clone(),
                    None => continue,
                },
                _ => continue,
            };
            self.check_secret(&file, scope, Access::Read);
            let from_stdin = file.known
                && matches!(file.text.as_str(), "-" | "/dev/stdin" | "/dev/fd/0")
                && !matches!(stdin, Stdin::None);
            let written = file.known
                && self
                    .host_path(&file.text, scope)
                    .is_some_and(|path| scope.written.contains_key(&path));
            let produced = file.process_substitution || super::wrappers::produced_content(&file);
            if from_stdin || written || produced {
                let shown = self.quoted(file.span);
                self.find(
                    Verdict::Ask,
                    Rule::ShellUnresolvedScript,
                    format!(
                        "`{tool}` runs what its file{shown} says, given in this command in a \
                         format the guard does not read."
                    ),
                    file.span,
                );
            }
        }
    }

    /// The file a task runner reads from the working directory (or `-C DIR`), written
    /// earlier in this command: what it runs is judged by its text where the guard
    /// reads the format (make's recipes, Python and Ruby code), asked about otherwise.
    fn judge_build_file(&mut self, tool: &str, rest: &[Arg], scope: &mut Scope) {
        let names: &[&str] = match tool {
            "make" | "gmake" | "remake" => &["GNUmakefile", "makefile", "Makefile"],
            "just" => &["justfile", "Justfile", ".justfile", "JUSTFILE"],
            "task" | "go-task" => &[
                "Taskfile.yml",
                "Taskfile.yaml",
                "taskfile.yml",
                "taskfile.yaml",
            ],
            "invoke" | "inv" => &["tasks.py"],
            "nox" => &["noxfile.py"],
            "fab" => &["fabfile.py"],
            "ninja" => &["build.ninja"],
            "pytest" | "py.test" => &["conftest.py"],
            "rake" => &["Rakefile", "rakefile", "Rakefile.rb"],
            _ => return,
        };
        let dir = rest
            .iter()
            .position(|a| {
                a.known && matches!(a.text.as_str(), "-C" | "--directory" | "-d" | "--dir")
            })
            .and_then(|at| rest.get(at + 1))
            .filter(|a| a.known)
            .map_or(".".to_owned(), |a| a.text.clone());
        for name in names {
            let Some(path) = self.host_path(&format!("{dir}/{name}"), scope) else {
                continue;
            };
            let Some(text) = scope.written.get(&path).cloned() else {
                continue;
            };
            let shown = path.display().to_string();
            match (tool, text) {
                ("make" | "gmake" | "remake", Some(text)) => {
                    self.note(|| {
                        format!("the makefile `{shown}` was written earlier in this command")
                    });
                    self.judge_makefile_text(&text, None, scope);
                }
                ("invoke" | "inv" | "nox" | "fab" | "pytest" | "py.test", Some(text)) => {
                    self.judge_code("python3", &text, None, scope, &[]);
                }
                ("rake", Some(text)) => self.judge_code("ruby", &text, None, scope, &[]),
                (_, text) => {
                    let why = match text {
                        Some(_) => format!(
                            "and `{tool}` runs what it says, in a format the guard does not read"
                        ),
                        None => "with content not known until it runs".to_owned(),
                    };
                    self.find(
                        Verdict::Ask,
                        Rule::ShellUnresolvedScript,
                        format!("the file `{shown}` that `{tool}` runs is written earlier in this command {why}."),
                        None,
                    );
                }
            }
        }
    }

    /// Recipe lines (tab-indented) and `$(shell …)` of a makefile given in the command.
    fn judge_makefile_text(
        &mut self,
        text: &str,
        span: Option<crate::shell::ByteSpan>,
        scope: &mut Scope,
    ) {
        for line in text.lines() {
            if let Some(recipe) = line.strip_prefix('\t') {
                let recipe = recipe.trim_start_matches(['@', '-', '+']);
                self.walk_nested_script(recipe, scope, span, "a make recipe");
            } else if let Some((rule, recipe)) = line.split_once(';')
                && rule.contains(':')
                && !rule.contains('=')
            {
                // `target: prerequisites ; recipe`
                let recipe = recipe.trim().trim_start_matches(['@', '-', '+']);
                self.walk_nested_script(recipe, scope, span, "a make recipe");
            }
            let mut rest = line;
            while let Some(at) = rest.find("$(shell ") {
                let after = &rest[at + 8..];
                let end = after.find(')').unwrap_or(after.len());
                self.walk_nested_script(&after[..end], scope, span, "make's $(shell …)");
                rest = &after[end..];
            }
        }
    }
}

/// `nix run`'s options that take a value (nix3-run(1), common options).
const NIX_RUN: OptSpec = OptSpec {
    short: "fIL",
    long: &[
        "file",
        "expr",
        "include",
        "option",
        "override-input",
        "arg",
        "argstr",
        "override-flake",
        "inputs-from",
        "update-input",
        "reference-lock-file",
        "output-lock-file",
        "store",
        "eval-store",
        "log-format",
    ],
    flags: &["impure", "offline", "refresh", "no-write-lock-file"],
};

const UV_RUN: OptSpec = OptSpec {
    short: "pm",
    long: &[
        "with",
        "with-editable",
        "with-requirements",
        "python",
        "project",
        "directory",
        "env-file",
        "package",
        "extra",
        "group",
        "only-group",
        "no-group",
        "index",
        "index-url",
        "extra-index-url",
        "module",
        "python-preference",
        "config-file",
        "cache-dir",
        "color",
        "exclude-newer",
        "find-links",
        "refresh-package",
        "reinstall-package",
    ],
    flags: &[
        "frozen",
        "locked",
        "no-sync",
        "isolated",
        "no-project",
        "all-extras",
        "no-dev",
        "quiet",
        "verbose",
        "offline",
        "active",
        "no-env-file",
        "script",
        "gui-script",
        "all-packages",
        "exact",
        "refresh",
    ],
};

/// `gem exec [-v VERSION] [--gem GEM] COMMAND [ARGS]`.
const GEM_EXEC: OptSpec = OptSpec {
    short: "v",
    long: &["version", "gem"],
    flags: &["conservative", "verbose", "quiet"],
};

const ENV_RUN: OptSpec = OptSpec {
    short: "CPe",
    long: &[
        "directory",
        "project",
        "env",
        "gemfile",
        "config",
        "manifest-path",
        "environment",
        "node",
        "npm",
        "yarn",
        "pnpm",
        "bun",
    ],
    flags: &["verbose", "quiet", "frozen", "locked"],
};

const TOOL_RUN: OptSpec = OptSpec {
    short: "nCcj",
    long: &[
        "using",
        "name",
        "container",
        "jobs",
        "cd",
        "env",
        "additional-flags",
    ],
    flags: &["root", "verbose", "raw", "no-tty"],
};

const CONDA_RUN: OptSpec = OptSpec {
    short: "np",
    long: &["name", "prefix", "cwd"],
    flags: &["no-capture-output", "live-stream", "debug-wrapper-scripts"],
};

/// The program a package runner runs for a package: its name without scope or version
/// (`@scope/pkg@1.2` runs `pkg`; `pkg==1.0` runs `pkg`).
fn package_program(package: &str) -> String {
    let without_scope = match package.strip_prefix('@') {
        Some(scoped) => scoped.split_once('/').map_or(scoped, |(_, name)| name),
        None => package,
    };
    let name = without_scope
        .split(['@', '=', '<', '>', '~', '['])
        .next()
        .unwrap_or(without_scope);
    name.to_owned()
}

/// yarn's and pnpm's own subcommands; any other first word runs a package.json script
/// or a package's program.
const PACKAGE_MANAGER_COMMANDS: &[&str] = &[
    "add",
    "audit",
    "autoclean",
    "bin",
    "build",
    "cache",
    "check",
    "config",
    "create",
    "dedupe",
    "deploy",
    "dlx",
    "env",
    "exec",
    "fetch",
    "generate-lock-entry",
    "global",
    "help",
    "import",
    "info",
    "init",
    "install",
    "i",
    "licenses",
    "link",
    "list",
    "ls",
    "login",
    "logout",
    "node",
    "outdated",
    "owner",
    "pack",
    "patch",
    "patch-commit",
    "plugin",
    "prune",
    "publish",
    "rebuild",
    "remove",
    "rm",
    "root",
    "run",
    "server",
    "set",
    "setup",
    "store",
    "tag",
    "team",
    "test",
    "unlink",
    "unplug",
    "up",
    "update",
    "upgrade",
    "upgrade-interactive",
    "version",
    "versions",
    "why",
    "workspace",
    "workspaces",
    "start",
    "dev",
    "lint",
    "format",
    "typecheck",
    "preview",
];

/// A URL or VCS reference (code fetched from elsewhere when it runs).
fn is_just_command(arg: &Arg) -> bool {
    arg.known && matches!(arg.text.as_str(), "-c" | "--command")
}

fn is_remote(text: &str) -> bool {
    text.contains("://")
        || text.starts_with("git+")
        || text.starts_with("github:")
        || text.starts_with("gitlab:")
}

fn is_js_file(text: &str) -> bool {
    [".js", ".mjs", ".cjs", ".ts", ".mts", ".cts", ".jsx", ".tsx"]
        .iter()
        .any(|ext| text.ends_with(ext))
}

impl Walker<'_> {
    /// `rake -e CODE` / `-E CODE` / `-p CODE` run Ruby code (rake(1)); `-f FILE` reads
    /// the Rakefile.
    fn judge_rake(&mut self, rest: &[Arg], scope: &mut Scope) {
        const RAKE: OptSpec = OptSpec {
            short: "eEpfIrRCjg",
            long: &[
                "execute",
                "execute-continue",
                "execute-print",
                "rakefile",
                "libdir",
                "require",
                "rakelibdir",
                "directory",
                "jobs",
            ],
            flags: &["trace", "tasks", "dry-run", "silent", "quiet"],
        };
        let (items, _) = parse_opts(rest, &RAKE, false);
        for code in values_of(
            &items,
            &[
                "-e",
                "-E",
                "-p",
                "--execute",
                "--execute-continue",
                "--execute-print",
            ],
        ) {
            if code.known {
                self.judge_code("ruby", &code.text, code.span, scope, &[]);
            } else {
                self.run_words_as_script(&[code], scope, "rake -e");
            }
        }
        for file in values_of(&items, &["-f", "--rakefile", "-r", "--require"]) {
            self.check_secret(&file, scope, Access::Read);
        }
    }

    /// `mvn exec:exec -Dexec.executable=PROG -Dexec.args='ARGS'` runs PROG with ARGS
    /// (exec-maven-plugin).
    fn judge_maven(&mut self, rest: &[Arg], scope: &mut Scope) {
        if !rest
            .iter()
            .any(|a| a.known && (a.text == "exec:exec" || a.text.ends_with(":exec")))
        {
            return;
        }
        let property = |key: &str| {
            rest.iter().rev().find_map(|a| {
                a.text
                    .strip_prefix("-D")
                    .and_then(|p| p.strip_prefix(key))
                    .and_then(|p| p.strip_prefix('='))
                    .map(|value| (a.known, Arg::literal(value, a.span)))
            })
        };
        let Some((known, executable)) = property("exec.executable") else {
            return;
        };
        let mut line = vec![if known {
            executable
        } else {
            Arg::unknown(executable.span)
        }];
        if let Some((args_known, args)) = property("exec.args") {
            line.push(if args_known {
                args
            } else {
                Arg::unknown(args.span)
            });
        }
        self.run_words_as_script(&line, scope, "mvn exec:exec");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packages_name_their_programs() {
        assert_eq!(package_program("rimraf"), "rimraf");
        assert_eq!(package_program("rimraf@5.0.1"), "rimraf");
        assert_eq!(package_program("@scope/del-cli@2"), "del-cli");
        assert_eq!(package_program("ruff==0.4"), "ruff");
    }
}
