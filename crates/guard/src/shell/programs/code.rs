//! Code of other languages handed to an interpreter (`python -c`, `node -e`, a heredoc,
//! a script written earlier in the command): what it deletes, reads and runs.
//!
//! A small lexer per family of syntax turns the code into names, string literals and
//! punctuation; string literals joined by the language's operator, base64 decoded from
//! literals and `sys.argv[n]`-style references to the command's operands become
//! literals; call sites of known delete, read, process and eval functions are
//! recognised by name. This is not a parser for a dozen languages: it is a scan that
//! errs towards finding too much. A delete or read whose target is not a literal is an
//! unknown target; code or a command line that is not a literal is unknown content.

use base64::Engine as _;

/// A language whose code the guard reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Language {
    Python,
    Node,
    Ruby,
    Perl,
    Php,
    Lua,
    R,
    Julia,
    Tcl,
    Elixir,
    Erlang,
    Groovy,
    Java,
    Lisp,
    AppleScript,
    Awk,
    Haskell,
}

/// What code does that the guard cares about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Effect {
    /// Deletes a path (`None`: not a literal).
    Delete {
        target: Option<String>,
        recursive: bool,
    },
    /// Names a file it may read.
    Read(String),
    /// Reads a file whose name is not a literal (the call's name).
    UnknownRead(String),
    /// Writes a file named by a literal (awk's `print > "f"`).
    Write(String),
    /// Runs a shell command line.
    Shell(String),
    /// Runs a shell command line with text written to its standard input (awk's
    /// `print … | "cmd"`): the text when it is literal, `None` when built at run time.
    Piped {
        command: String,
        input: Option<String>,
    },
    /// Runs a program with these arguments.
    Argv(Vec<String>),
    /// Runs code not known until it runs (`a command`, `Python code`, …).
    Unknown(&'static str),
    /// Loads and runs a file of code of the same language (`require("./a.js")`,
    /// `require_relative "x"`, `runpy.run_path("x.py")`, `do "x.pl"`).
    Load(String),
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Name(String),
    /// A string literal; `None` when it is built at run time (interpolation).
    Str(Option<String>),
    Punct(char),
}

impl Language {
    fn comment(self) -> &'static [&'static str] {
        match self {
            Language::Python
            | Language::Ruby
            | Language::Perl
            | Language::R
            | Language::Julia
            | Language::Tcl
            | Language::Elixir
            | Language::Awk => &["#"],
            Language::Node | Language::Groovy | Language::Java => &["//"],
            Language::Php => &["//", "#"],
            Language::Lua | Language::AppleScript | Language::Haskell => &["--"],
            Language::Lisp => &[";"],
            Language::Erlang => &["%"],
        }
    }

    /// Operators that join two string literals into one.
    fn concat(self) -> &'static [&'static str] {
        match self {
            Language::Perl | Language::Php => &["."],
            Language::Lua => &[".."],
            Language::Julia => &["*"],
            Language::Elixir => &["<>"],
            Language::AppleScript => &["&"],
            Language::Haskell => &["++", "</>"],
            _ => &["+"],
        }
    }

    /// Backquoted text runs a command (Ruby, Perl, PHP, Julia, shells).
    fn backquote_runs(self) -> bool {
        matches!(
            self,
            Language::Ruby | Language::Perl | Language::Php | Language::Julia
        )
    }
}

/// Everything the guard cares about in code; `operands` are the command's arguments
/// after the code (what `sys.argv[1]` and friends refer to).
pub(crate) fn effects(language: Language, code: &str, operands: &[String]) -> Vec<Effect> {
    if language == Language::Tcl {
        return super::tcl::effects(code);
    }
    let tokens = lex(language, code);
    let mut effects = Vec::new();
    // Code that decodes text and evaluates code runs what is decoded: content not
    // written in the command, asked about whatever the decoding gives.
    let named = |test: &dyn Fn(&str) -> bool| {
        tokens
            .iter()
            .any(|t| matches!(t, Token::Name(n) if test(n.rsplit(['.', ':']).next().unwrap_or(n))))
    };
    let decodes = named(&|n| DECODERS.contains(&n))
        || tokens
            .iter()
            .any(|t| matches!(t, Token::Str(Some(s)) if s == "base64" || s == "hex"));
    if decodes && named(&|n| is_evaluator(language, n)) {
        effects.push(Effect::Unknown("decoded code"));
    }
    let tokens = fold(language, tokens, operands);
    for (index, token) in tokens.iter().enumerate() {
        match token {
            Token::Str(Some(text)) if language != Language::Awk && !mentions_a_file(text) => {
                effects.push(Effect::Read(text.clone()))
            }
            Token::Name(name) => name_effects(language, &tokens, index, name, &mut effects),
            _ => {}
        }
    }
    if language == Language::AppleScript
        && let Some(at) = code.find("do shell script")
    {
        let rest = &code[at + "do shell script".len()..];
        match lex(Language::AppleScript, rest).first() {
            Some(Token::Str(Some(text))) => effects.push(Effect::Shell(text.clone())),
            _ => effects.push(Effect::Unknown("a command")),
        }
    }
    effects
}

/// Text that mentions a dotfile among other words (`'cat .env'`, `"see .envrc"`): its
/// last path part holds a word starting with a dot after a space, which no file name
/// has in practice. It is data (printed, logged), not a path opened; code that runs it
/// does so through a call recognised below (`execSync('cat .env')`, `system(…)`), which
/// judges it as a command line, and a command line held in a variable is not known.
pub(crate) fn mentions_a_file(text: &str) -> bool {
    let last = text.rsplit('/').next().unwrap_or(text);
    last.split_whitespace().count() > 1
        && last
            .split_whitespace()
            .skip(1)
            .any(|word| word.starts_with('.') && word.len() > 1)
}

/// Functions that delete, by the last part(s) of their name: (name, recursive).
const DELETERS: &[(&str, bool)] = &[
    ("shutil.rmtree", true),
    ("rmtree", true),
    ("remove_tree", true),
    ("send2trash", true),
    ("removeDirectoryRecursive", true),
    ("removePathForcibly", true),
    ("removeFile", false),
    ("os.remove", false),
    ("os.unlink", false),
    ("os.rmdir", false),
    ("os.removedirs", true),
    ("fs.rmSync", true),
    ("fs.rm", true),
    ("fs.promises.rm", true),
    ("fs.rmdirSync", true),
    ("fs.rmdir", true),
    ("fs.unlinkSync", false),
    ("fs.unlink", false),
    ("fs.remove", true),
    ("fs.removeSync", true),
    ("fs.emptyDir", true),
    ("fs.emptyDirSync", true),
    ("rmSync", true),
    ("rmdirSync", true),
    ("unlinkSync", false),
    ("rimraf", true),
    ("rimraf.sync", true),
    ("rimrafSync", true),
    ("deleteSync", true),
    ("deleteAsync", true),
    ("Deno.remove", true),
    ("Deno.removeSync", true),
    ("FileUtils.rm_rf", true),
    ("FileUtils.rm_r", true),
    ("FileUtils.remove_dir", true),
    ("FileUtils.remove_entry", true),
    ("FileUtils.remove_entry_secure", true),
    ("FileUtils.rmtree", true),
    ("FileUtils.rm", false),
    ("FileUtils.rm_f", false),
    ("FileUtils.remove", false),
    ("FileUtils.safe_unlink", false),
    ("FileUtils.deleteDirectory", true),
    ("FileUtils.forceDelete", true),
    ("FileUtils.cleanDirectory", true),
    ("File.delete", false),
    ("File.unlink", false),
    ("Dir.rmdir", false),
    ("Dir.delete", false),
    ("File.rm_rf", true),
    ("File.rm_rf!", true),
    ("File.rm", false),
    ("File.rm!", false),
    ("File.rmdir", false),
    ("file.del_dir_r", true),
    ("file.delete", false),
    ("file.remove", false),
    ("Files.delete", false),
    ("Files.deleteIfExists", false),
    ("os.remove", false),
    ("delete-directory", true),
    ("delete-directory.files", true),
    ("delete-directory-tree", true),
    ("delete-file", false),
    ("uiop.delete-directory-tree", true),
    ("delete-directory-tree", true),
    ("fs.delete-tree", true),
    ("unlink", false),
    ("rmdir", false),
];

/// Methods that delete their receiver: (name, recursive).
const DELETE_METHODS: &[(&str, bool)] = &[
    ("unlink", false),
    ("rmdir", false),
    ("rmtree", true),
    ("deleteDir", true),
    ("deleteRecursively", true),
    ("delete", false),
];

/// Functions that run a shell command line given as a string (or, given a list, a
/// program and its arguments).
const SHELL_RUNNERS: &[&str] = &[
    "callCommand",
    "spawnCommand",
    "os.system",
    "os.popen",
    "subprocess.run",
    "subprocess.call",
    "subprocess.check_call",
    "subprocess.check_output",
    "subprocess.Popen",
    "subprocess.getoutput",
    "subprocess.getstatusoutput",
    "commands.getoutput",
    "pty.spawn",
    "os.execv",
    "os.execvp",
    "os.execve",
    "os.execvpe",
    "os.execl",
    "os.execlp",
    "os.spawnv",
    "os.spawnvp",
    "os.spawnl",
    "os.spawnlp",
    "os.posix_spawn",
    "os.posix_spawnp",
    "execSync",
    "exec",
    "child_process.exec",
    "child_process.execSync",
    "system",
    "system2",
    "shell",
    "Kernel.system",
    "Kernel.exec",
    "Kernel.spawn",
    "spawn",
    "IO.popen",
    "popen",
    "Open3.capture2",
    "Open3.capture2e",
    "Open3.capture3",
    "Open3.popen3",
    "Open3.popen2",
    "shell_exec",
    "passthru",
    "proc_open",
    "`",
    "qx",
    "spawnSync",
    "execFileSync",
    "execFile",
    "execa",
    "execaSync",
    "execaCommand",
    "$",
    "Bun.$",
    "Bun.spawn",
    "Bun.spawnSync",
    "Deno.Command",
    "Deno.run",
    "os.execute",
    "io.popen",
    "run",
    "System.cmd",
    "System.shell",
    "os.cmd",
    "open_port",
    "ProcessBuilder",
    "shell-command",
    "shell-command-to-string",
    "async-shell-command",
    "call-process",
    "call-process-shell-command",
    "process-lines",
    "start-process",
    "sh",
    "run-program",
    "uiop.run-program",
    "sb-ext.run-program",
    "process",
    "execute",
];

/// Functions that run code of the same language given as text, by language (matched by
/// their exact name: `json.load` is not Lua's `load`).
fn is_evaluator(language: Language, name: &str) -> bool {
    let names: &[&str] = match language {
        Language::Python => &["eval", "exec", "compile", "builtins.exec", "builtins.eval"],
        Language::Node => &[
            "eval",
            "Function",
            "vm.runInThisContext",
            "vm.runInNewContext",
            "vm.Script",
        ],
        Language::Ruby => &[
            "eval",
            "instance_eval",
            "class_eval",
            "module_eval",
            "binding.eval",
            "Kernel.eval",
        ],
        Language::Perl | Language::Php => &["eval"],
        Language::Lua => &["load", "loadstring"],
        Language::R => &["eval", "evalq"],
        Language::Julia => &["eval", "include_string", "Meta.parse"],
        Language::Elixir => &["Code.eval_string"],
        Language::Groovy => &["evaluate", "Eval.me"],
        Language::Lisp => &["eval"],
        _ => &[],
    };
    names.contains(&name)
}

/// Code that names the home directory (`os.path.expanduser("~/x")`, `os.homedir()`,
/// `Path.home()`, `Dir.home`, `os.getenv("HOME")`, `process.env.HOME`, `ENV["HOME"]`,
/// `$ENV{HOME}`): how many tokens it takes, and the path as a literal starting with `~`
/// (which the judge expands).
fn home_expression(tokens: &[Token]) -> Option<(usize, String)> {
    let Some(Token::Name(name)) = tokens.first() else {
        return None;
    };
    let last = name.rsplit(['.', ':']).next().unwrap_or(name);
    let is_home = |t: Option<&Token>| {
        matches!(t, Some(Token::Str(Some(v))) if v == "HOME" || v == "USERPROFILE")
            || matches!(t, Some(Token::Name(n)) if n == "HOME")
    };
    let home = "~".to_owned();
    match (last, tokens.get(1), tokens.get(2), tokens.get(3)) {
        (
            "expanduser" | "expand_path" | "path.expand" | "expand",
            Some(Token::Punct('(')),
            Some(Token::Str(Some(path))),
            Some(Token::Punct(')')),
        ) if path.starts_with('~') => Some((4, path.clone())),
        (
            "homedir" | "UserHomeDir" | "home" | "home_dir",
            Some(Token::Punct('(')),
            Some(Token::Punct(')')),
            _,
        ) => Some((3, home)),
        ("home", _, _, _) if name == "Dir.home" => Some((1, home)),
        ("HOME", _, _, _) if name.ends_with("env.HOME") => Some((1, home)),
        (
            "getenv" | "Getenv" | "fetch" | "get" | "getEnv" | "env",
            Some(Token::Punct('(')),
            t,
            Some(Token::Punct(')')),
        ) if is_home(t) => Some((4, home)),
        (
            "environ" | "ENV" | "$ENV" | "_ENV" | "_SERVER",
            Some(Token::Punct('[' | '{')),
            t,
            Some(Token::Punct(']' | '}')),
        ) if is_home(t) => Some((4, home)),
        _ => None,
    }
}

/// The home directory interpolated into a string, by language: Perl, shells, Ruby,
/// JavaScript template strings, PHP.
const HOME_INTERPOLATIONS: &[&str] = &[
    "$ENV{HOME}",
    "$ENV{'HOME'}",
    "${HOME}",
    "$HOME",
    "#{ENV['HOME']}",
    "#{ENV[\"HOME\"]}",
    "#{Dir.home}",
    "${process.env.HOME}",
    "${os.homedir()}",
    "${require('os').homedir()}",
    "{$_SERVER['HOME']}",
];

/// Functions that decode text (by the last part of their name): base64, hex, packed
/// bytes, compression, rot13.
const DECODERS: &[&str] = &[
    "b64decode",
    "urlsafe_b64decode",
    "decodebytes",
    "a2b_base64",
    "unhexlify",
    "fromhex",
    "atob",
    "decode64",
    "strict_decode64",
    "urlsafe_decode64",
    "decode_base64",
    "base64_decode",
    "hex2bin",
    "pack",
    "unpack",
    "unpack1",
    "decompress",
    "gzinflate",
    "gzuncompress",
    "gzdecode",
    "inflateSync",
    "gunzipSync",
    "str_rot13",
    "rot13",
    "loads",
    "base64decode",
    "base64dec",
];

/// Functions that load a file of code and run it (a path for `require`: a bare name
/// is a package).
const LOADERS: &[&str] = &[
    "require",
    "import",
    "require_relative",
    "load",
    "do",
    "include",
    "include_once",
    "require_once",
    "runpy.run_path",
    "run_path",
    "execfile",
    "dofile",
    "loadfile",
    "source",
];

/// Functions that replace or truncate the file named by their first argument.
const WRITERS: &[&str] = &[
    "truncate",
    "os.truncate",
    "File.truncate",
    "fs.truncateSync",
    "fs.truncate",
    "truncateSync",
    "writeFileSync",
    "fs.writeFile",
    "fs.promises.writeFile",
    "File.write",
    "IO.write",
    "file_put_contents",
    "Deno.writeTextFile",
    "Deno.writeTextFileSync",
    "Deno.writeFile",
    "Bun.write",
    "spit",
    "File.write!",
];

/// Functions that read a file named by their argument.
const READERS: &[&str] = &[
    "open",
    "io.open",
    "codecs.open",
    "read_text",
    "read_bytes",
    "readFileSync",
    "readFile",
    "fs.promises.readFile",
    "createReadStream",
    "Bun.file",
    "Deno.readTextFile",
    "Deno.readTextFileSync",
    "Deno.readFile",
    "File.read",
    "File.readlines",
    "File.open",
    "File.foreach",
    "IO.read",
    "IO.readlines",
    "file_get_contents",
    "fopen",
    "readfile",
    "io.lines",
    "readLines",
    "read.csv",
    "readRDS",
    "read_file",
    "File.read!",
    "File.stream!",
    "file.read_file",
    "file.consult",
    "slurp",
    "insert-file-contents",
    "find-file",
    "Files.readString",
    "Files.readAllLines",
    "Files.readAllBytes",
    "Files.newBufferedReader",
    "FileReader",
    "FileInputStream",
    "Source.fromFile",
    "getline",
];

/// Functions that load `.env` without naming it.
const DOTENV_LOADERS: &[&str] = &[
    "load_dotenv",
    "dotenv_values",
    "dotenv.config",
    "Dotenv.load",
    "Dotenv.overload",
    "dotenv.load",
    "readRenviron",
];

fn name_matches(name: &str, known: &str) -> bool {
    name == known
        || name.ends_with(&format!(".{known}"))
        || known.ends_with(&format!(".{name}")) && !name.contains('.')
}

fn name_effects(
    language: Language,
    tokens: &[Token],
    index: usize,
    name: &str,
    effects: &mut Vec<Effect>,
) {
    if language == Language::Awk {
        awk_effects(tokens, index, name, effects);
        return;
    }
    if name == "`" {
        if language.backquote_runs() {
            effects.push(match tokens.get(index + 1) {
                Some(Token::Str(Some(text))) => Effect::Shell(text.clone()),
                _ => Effect::Unknown("a command"),
            });
        }
        return;
    }
    let called = matches!(tokens.get(index + 1), Some(Token::Punct('(')))
        || matches!(tokens.get(index + 1), Some(Token::Str(_)))
        || (language == Language::Lisp && index > 0 && tokens[index - 1] == Token::Punct('('))
        || matches!(language, Language::Ruby | Language::Perl | Language::Elixir);
    if !called {
        return;
    }
    if let Some(effect) = method_delete(tokens, index) {
        effects.push(effect);
        return;
    }
    // `dotenv.load`, `Dotenv.load`: by their whole name (Lua's bare `load` runs code).
    if DOTENV_LOADERS
        .iter()
        .any(|known| name_matches(name, known) && (name.contains('.') || !known.contains('.')))
        || (name == "require"
            && matches!(tokens.get(index + 2), Some(Token::Str(Some(m))) if m == "dotenv" || m == "dotenv/config"))
    {
        effects.push(Effect::Read(".env".to_owned()));
    }
    // `eval { … }` (Perl) and `exec` as a shell runner in other languages.
    let evaluator =
        is_evaluator(language, name) && !matches!(tokens.get(index + 1), Some(Token::Punct('{')));
    if evaluator {
        match first_argument(tokens, index + 1) {
            Some(inner) => effects.extend(self::effects(language, &inner, &[])),
            None if matches!(
                tokens.get(index + 1),
                Some(Token::Punct('(')) | Some(Token::Str(None))
            ) =>
            {
                effects.push(Effect::Unknown("code"))
            }
            None => {}
        }
        return;
    }
    // Vim's `delete(path, "rf")` from Lua (`vim.fn.delete`): "rf" deletes a tree,
    // "d" an empty directory, none a file (vim's `:help delete()`).
    if name == "fn.delete" || name.ends_with(".fn.delete") {
        let recursive = call_arguments(tokens, index + 1)
            .iter()
            .any(|t| matches!(t, Token::Str(Some(flags)) if flags.contains('r')));
        effects.push(Effect::Delete {
            target: first_argument(tokens, index + 1),
            recursive,
        });
        return;
    }
    if let Some((_, recursive)) = DELETERS.iter().find(|(known, _)| name_matches(name, known)) {
        // Node's fs.rm and friends without `recursive` still delete files: recursive
        // only when the code says so.
        let named_recursive = tokens
            .iter()
            .any(|t| matches!(t, Token::Name(n) if n == "recursive"));
        if language == Language::R && name == "unlink" {
            effects.push(Effect::Delete {
                target: first_argument(tokens, index + 1),
                recursive: named_recursive,
            });
            return;
        }
        let recursive = *recursive
            && (!matches!(language, Language::Node | Language::R | Language::Julia)
                || name.contains("rimraf")
                || name.contains("remove")
                || name.contains("empty")
                || name.contains("delete")
                || tokens
                    .iter()
                    .any(|t| matches!(t, Token::Name(n) if n == "recursive")));
        // `unlink(glob(…))`, `[os.remove(f) for f in os.listdir(…)]`: many files.
        let target = first_argument(tokens, index + 1);
        let recursive = recursive || (target.is_none() && lists_files(tokens));
        effects.push(Effect::Delete { target, recursive });
        return;
    }
    // PHP's `array_map("unlink", glob(…))`: a deleting function as a callback.
    if matches!(name, "array_map" | "array_walk")
        && let Some(Token::Str(Some(callback))) = call_arguments(tokens, index + 1).first()
        && DELETERS.iter().any(|(known, _)| known == callback)
    {
        effects.push(Effect::Delete {
            target: None,
            recursive: true,
        });
        return;
    }
    if language == Language::Julia && name == "rm" {
        effects.push(Effect::Delete {
            target: first_argument(tokens, index + 1),
            recursive: tokens
                .iter()
                .any(|t| matches!(t, Token::Name(n) if n == "recursive")),
        });
        return;
    }
    if SHELL_RUNNERS.iter().any(|known| name_matches(name, known)) {
        if name == "run" && language != Language::Julia {
            // `subprocess.run` is matched above by its full name; a bare `run` is a
            // command only in Julia.
            if !name.contains('.') {
                return;
            }
        }
        if name == "execute" && !matches!(tokens.get(index.wrapping_sub(2)), Some(Token::Str(_))) {
            return;
        }
        effects.push(runner_effect(language, tokens, index, name));
        return;
    }
    if LOADERS.iter().any(|known| name_matches(name, known))
        && let Some(path) = first_argument(tokens, index + 1)
        // `require("pkg")`, `import("pkg")`: a package; only a path is a file.
        && (!matches!(name, "require" | "import")
            || path.starts_with("./")
            || path.starts_with("../")
            || path.starts_with('/'))
    {
        effects.push(Effect::Load(path));
    }
    if WRITERS.iter().any(|known| name_matches(name, known))
        && let Some(path) = first_argument(tokens, index + 1)
    {
        effects.push(Effect::Write(path));
    }
    if READERS.iter().any(|known| name_matches(name, known)) {
        // The file is the first argument: a literal, or a name made at run time.
        let arguments = call_arguments(tokens, index + 1);
        // `open(path, "w")`, `fopen(path, "w")`: opened for writing, truncated.
        if let [_, [Token::Str(Some(mode))], ..] = split_top_level(arguments).as_slice()
            && mode.starts_with('w')
            && let Some(path) = first_argument(tokens, index + 1)
        {
            effects.push(Effect::Write(path));
        }
        let first = split_top_level(arguments)
            .first()
            .copied()
            .unwrap_or_default();
        let literal = matches!(first, [Token::Str(Some(_))])
            || matches!(
                first,
                [
                    Token::Name(_),
                    Token::Punct('('),
                    Token::Str(Some(_)),
                    Token::Punct(')')
                ]
            );
        // `Path('x').read_text()`: the file is the receiver.
        let receiver_literal = matches!(name, "read_text" | "read_bytes")
            && index >= 2
            && matches!(tokens[index - 1], Token::Punct('.'))
            && matches!(tokens[index - 2], Token::Punct(')'));
        if !literal && !receiver_literal {
            effects.push(Effect::UnknownRead(name.to_owned()));
        }
        // A literal opened is a path even when it reads like a sentence (`open('my .env')`).
        if let Some(Token::Str(Some(text))) = first.iter().find(|t| matches!(t, Token::Str(_)))
            && mentions_a_file(text)
        {
            effects.push(Effect::Read(text.clone()));
        }
    }
}

/// awk: `system("…")`, `"cmd" | getline`, `print … | "cmd"`, `print > "file"`,
/// `getline < "file"`; its other string literals are data.
fn awk_effects(tokens: &[Token], index: usize, name: &str, effects: &mut Vec<Effect>) {
    match name {
        "system" => effects.push(match first_argument(tokens, index + 1) {
            Some(text) => Effect::Shell(text),
            None => Effect::Unknown("a command"),
        }),
        "getline" => {
            // `"cmd" | getline` runs cmd; `getline < "file"` reads file.
            if index >= 2 && tokens[index - 1] == Token::Punct('|') {
                effects.push(match &tokens[index - 2] {
                    Token::Str(Some(text)) => Effect::Shell(text.clone()),
                    _ => Effect::Unknown("a command"),
                });
            }
            // `getline < file` and `getline var < file`.
            let redirect = match tokens.get(index + 1) {
                Some(Token::Name(_)) => index + 2,
                _ => index + 1,
            };
            if tokens.get(redirect) == Some(&Token::Punct('<')) {
                effects.push(match tokens.get(redirect + 1) {
                    Some(Token::Str(Some(text))) => Effect::Read(text.clone()),
                    _ => Effect::UnknownRead("getline".to_owned()),
                });
            }
        }
        "print" | "printf" => {
            // Up to the end of the statement: `| "cmd"` runs, `> "file"` writes.
            let mut at = index + 1;
            while let Some(token) = tokens.get(at) {
                match token {
                    Token::Punct(';' | '}' | '\n') => break,
                    Token::Punct('|') => {
                        // gawk's `|&` is a two-way pipe to the same command.
                        let target = match tokens.get(at + 1) {
                            Some(Token::Punct('&')) => at + 2,
                            _ => at + 1,
                        };
                        effects.push(match tokens.get(target) {
                            Some(Token::Str(Some(text))) => Effect::Piped {
                                command: text.clone(),
                                input: printed_text(&tokens[index + 1..at]),
                            },
                            _ => Effect::Unknown("a command"),
                        });
                        break;
                    }
                    Token::Punct('>') => {
                        let next = if tokens.get(at + 1) == Some(&Token::Punct('>')) {
                            at + 2
                        } else {
                            at + 1
                        };
                        if let Some(Token::Str(Some(text))) = tokens.get(next) {
                            effects.push(Effect::Write(text.clone()));
                        }
                        break;
                    }
                    _ => {}
                }
                at += 1;
            }
        }
        _ => {}
    }
}

/// What awk's `print a, b` writes, when every item is a literal: items joined by a
/// space (awk's default OFS), literals side by side concatenated. A bare `print` writes
/// the input record: not known.
fn printed_text(tokens: &[Token]) -> Option<String> {
    if !tokens.iter().any(|t| matches!(t, Token::Str(_))) {
        return None;
    }
    let mut text = String::new();
    for token in tokens {
        match token {
            Token::Str(Some(literal)) => text.push_str(literal),
            Token::Punct(',') => text.push(' '),
            Token::Punct('(' | ')') => {}
            _ => return None,
        }
    }
    Some(text)
}

/// Whether the code lists directory entries (glob, readdir, listdir, walk, …): a
/// delete over what it lists reaches many files.
fn lists_files(tokens: &[Token]) -> bool {
    tokens.iter().any(|t| match t {
        Token::Name(name) => {
            let last = name.rsplit('.').next().unwrap_or(name);
            matches!(
                last,
                "glob"
                    | "iglob"
                    | "rglob"
                    | "listdir"
                    | "scandir"
                    | "walk"
                    | "readdir"
                    | "readdirSync"
                    | "iterdir"
                    | "entries"
                    | "children"
                    | "each_child"
                    | "opendir"
                    | "list_dir"
                    | "walkdir"
            )
        }
        _ => false,
    })
}

/// The tokens of a call's arguments: from after `(` to its matching `)`, or (without
/// parentheses) to the end of the statement.
fn call_arguments(tokens: &[Token], at: usize) -> &[Token] {
    let Some(first) = tokens.get(at) else {
        return &[];
    };
    if *first != Token::Punct('(') {
        let end = tokens[at..]
            .iter()
            .position(|t| matches!(t, Token::Punct(';' | '\n' | ')')))
            .map_or(tokens.len(), |p| at + p);
        return &tokens[at..end];
    }
    let mut depth = 0usize;
    for (offset, token) in tokens[at..].iter().enumerate() {
        match token {
            Token::Punct('(') => depth += 1,
            Token::Punct(')') => {
                depth -= 1;
                if depth == 0 {
                    return &tokens[at + 1..at + offset];
                }
            }
            _ => {}
        }
    }
    &tokens[at + 1..]
}

/// The first argument after a call name, when it is a literal (or `Path("…")`).
fn first_argument(tokens: &[Token], mut at: usize) -> Option<String> {
    if matches!(tokens.get(at), Some(Token::Punct('('))) {
        at += 1;
    }
    match tokens.get(at) {
        Some(Token::Str(Some(text))) => Some(text.clone()),
        Some(Token::Name(name))
            if name.ends_with("Path")
                || name == "Pathname.new"
                || name == "File"
                || name == "new" =>
        {
            first_argument(tokens, at + 1)
        }
        _ => None,
    }
}

/// `Path("x").unlink()`, `File("d").deleteRecursively()`, `x.rmtree()`: the target is
/// the receiver, a literal only in the first form.
fn method_delete(tokens: &[Token], index: usize) -> Option<Effect> {
    let Token::Name(name) = &tokens[index] else {
        return None;
    };
    let (_, recursive) = DELETE_METHODS.iter().find(|(m, _)| m == name)?;
    if index == 0 || tokens[index - 1] != Token::Punct('.') {
        return None;
    }
    let target = match tokens.get(index.checked_sub(5)?..index) {
        Some(
            [
                Token::Name(_),
                Token::Punct('('),
                Token::Str(target),
                Token::Punct(')'),
                Token::Punct('.'),
            ],
        ) => target.clone(),
        _ => None,
    };
    Some(Effect::Delete {
        target,
        recursive: *recursive,
    })
}

fn runner_effect(language: Language, tokens: &[Token], index: usize, name: &str) -> Effect {
    // `"rm -rf ~".execute()` (Groovy): the receiver is the command.
    if name == "execute" {
        return match &tokens[index - 2] {
            Token::Str(Some(text)) => Effect::Shell(text.clone()),
            _ => Effect::Unknown("a command"),
        };
    }
    let args = call_arguments(tokens, index + 1);
    if language == Language::Lisp {
        // `(call-process "rm" nil nil nil "-rf" "~")`: the strings, in order.
        let mut strings: Vec<Option<String>> = args
            .iter()
            .filter_map(|t| match t {
                Token::Str(text) => Some(text.clone()),
                _ => None,
            })
            .collect();
        if name.ends_with("start-process") && strings.len() >= 2 {
            strings.drain(..2);
        }
        let last = name.rsplit('.').next().unwrap_or(name);
        let argv = matches!(
            last,
            "call-process" | "process-lines" | "start-process" | "sh"
        ) || last == "run-program" && strings.len() > 1;
        return match strings.iter().cloned().collect::<Option<Vec<String>>>() {
            Some(words) if words.is_empty() => Effect::Unknown("a command"),
            Some(words) if argv && !(words.len() == 1 && words[0].contains(' ')) => {
                Effect::Argv(words)
            }
            Some(words) => Effect::Shell(words[0].clone()),
            None => Effect::Unknown("a command"),
        };
    }
    let parts = split_top_level(args);
    let Some(first) = parts.first() else {
        return Effect::Unknown("a command");
    };
    let words_of = |part: &[Token]| -> Option<Vec<String>> {
        match part {
            [Token::Str(Some(text))] => Some(vec![text.clone()]),
            [Token::Punct('['), inner @ .., Token::Punct(']')] => inner
                .iter()
                .filter(|t| !matches!(t, Token::Punct(',')))
                .map(|t| match t {
                    Token::Str(Some(text)) => Some(text.clone()),
                    _ => None,
                })
                .collect(),
            _ => None,
        }
    };
    match first {
        [Token::Name(tick), Token::Str(Some(text))] if tick == "`" => Effect::Shell(text.clone()),
        [Token::Str(Some(text))] => {
            let mut words = vec![text.clone()];
            for part in &parts[1..] {
                match words_of(part) {
                    Some(more) => words.extend(more),
                    // `system("cat", $f)`: an argument made at run time (Perl, PHP).
                    None if matches!(part, [Token::Name(n)] if n.starts_with(['$', '@'])) => {
                        return Effect::Unknown("a command");
                    }
                    // Options after the command line (`shell=True`, `{stdio: …}`).
                    None => break,
                }
            }
            if words.len() > 1 && !text.contains(' ') {
                Effect::Argv(words)
            } else {
                Effect::Shell(text.clone())
            }
        }
        [Token::Punct('['), ..] => match words_of(first) {
            Some(words) if !words.is_empty() => Effect::Argv(words),
            _ => Effect::Unknown("a command"),
        },
        _ => Effect::Unknown("a command"),
    }
}

/// A call's arguments split at its top-level commas.
fn split_top_level(args: &[Token]) -> Vec<&[Token]> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (at, token) in args.iter().enumerate() {
        match token {
            Token::Punct('(' | '[' | '{') => depth += 1,
            Token::Punct(')' | ']' | '}') => depth = depth.saturating_sub(1),
            Token::Punct(',') if depth == 0 => {
                parts.push(&args[start..at]);
                start = at + 1;
            }
            _ => {}
        }
    }
    if start < args.len() {
        parts.push(&args[start..]);
    }
    parts
}

/// Rewrites tokens so literals built in code read as literals: `"a" + "b"`, base64
/// decoded from a literal, `sys.argv[1]` (the command's operands).
fn fold(language: Language, tokens: Vec<Token>, operands: &[String]) -> Vec<Token> {
    let mut out: Vec<Token> = Vec::with_capacity(tokens.len());
    let mut index = 0;
    while index < tokens.len() {
        let token = &tokens[index];
        // `sys.argv[1]`, `process.argv[2]`, `ARGV[0]`, `$ARGV[0]`, `$argv[1]`, `arg[1]`.
        if let Token::Name(name) = token
            && let Some(offset) = argv_offset(name)
            && let (Some(Token::Punct('[')), Some(Token::Name(n)), Some(Token::Punct(']'))) = (
                tokens.get(index + 1),
                tokens.get(index + 2),
                tokens.get(index + 3),
            )
            && let Ok(n) = n.parse::<usize>()
        {
            let value = n.checked_sub(offset).and_then(|i| operands.get(i)).cloned();
            out.push(Token::Str(value));
            index += 4;
            continue;
        }
        // `__import__('base64').b64decode` is `base64.b64decode`.
        if let Token::Name(name) = token
            && name == "__import__"
            && let (
                Some(Token::Punct('(')),
                Some(Token::Str(Some(module))),
                Some(Token::Punct(')')),
                Some(Token::Punct('.')),
                Some(Token::Name(member)),
            ) = (
                tokens.get(index + 1),
                tokens.get(index + 2),
                tokens.get(index + 3),
                tokens.get(index + 4),
                tokens.get(index + 5),
            )
        {
            let joined = Token::Name(format!("{module}.{member}"));
            let mut rest = vec![joined];
            rest.extend_from_slice(&tokens[index + 6..]);
            let folded = fold(language, rest, operands);
            out.extend(folded);
            return out;
        }
        // Base64 decoding of a literal.
        if let Token::Name(name) = token
            && is_base64_decoder(name)
            && let Some(Token::Punct('(')) = tokens.get(index + 1)
            && let Some(Token::Str(Some(encoded))) = tokens.get(index + 2)
        {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(encoded.trim())
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok());
            let close = tokens[index + 2..]
                .iter()
                .position(|t| *t == Token::Punct(')'))
                .map_or(tokens.len(), |p| index + 2 + p);
            out.push(Token::Str(decoded));
            index = close + 1;
            // `.decode()`, `.toString()` after it: the text itself.
            while let (
                Some(Token::Punct('.')),
                Some(Token::Name(m)),
                Some(Token::Punct('(')),
                Some(Token::Punct(')')),
            ) = (
                tokens.get(index),
                tokens.get(index + 1),
                tokens.get(index + 2),
                tokens.get(index + 3),
            ) {
                if !matches!(m.as_str(), "decode" | "toString") {
                    break;
                }
                index += 4;
            }
            continue;
        }
        // The home directory named in code becomes `~`, which the judge expands.
        if let Some((consumed, text)) = home_expression(&tokens[index..]) {
            // `require("os").homedir()`: the module expression goes with it.
            if let [
                ..,
                Token::Name(r),
                Token::Punct('('),
                Token::Str(_),
                Token::Punct(')'),
                Token::Punct('.'),
            ] = out.as_slice()
                && r == "require"
            {
                out.truncate(out.len() - 5);
            }
            let joined = joined_left(language, &mut out, &text);
            out.push(Token::Str(Some(joined.unwrap_or(text))));
            index += consumed;
            continue;
        }
        // Literals joined by the language's operator.
        if let Token::Str(Some(right)) = token
            && let Some(joined) = joined_left(language, &mut out, right)
        {
            out.push(Token::Str(Some(joined)));
            index += 1;
            continue;
        }
        out.push(token.clone());
        index += 1;
    }
    out
}

/// If the tokens already out end in `"a" <op>`, removes them and returns `a` + right.
fn joined_left(language: Language, out: &mut Vec<Token>, right: &str) -> Option<String> {
    for op in language.concat() {
        let op_chars: Vec<char> = op.chars().collect();
        let n = op_chars.len();
        if out.len() < n + 1 {
            continue;
        }
        let tail = &out[out.len() - n..];
        let matches_op = tail
            .iter()
            .zip(&op_chars)
            .all(|(t, c)| *t == Token::Punct(*c));
        if !matches_op {
            continue;
        }
        if let Token::Str(Some(left)) = &out[out.len() - n - 1] {
            let joined = format!("{left}{right}");
            out.truncate(out.len() - n - 1);
            return Some(joined);
        }
    }
    // Python joins adjacent literals.
    if language == Language::Python
        && let Some(Token::Str(Some(left))) = out.last()
    {
        let joined = format!("{left}{right}");
        out.pop();
        return Some(joined);
    }
    None
}

fn argv_offset(name: &str) -> Option<usize> {
    match name {
        "sys.argv" | "process.argv" | "$argv" | "arg" | "ARGS" => Some(1),
        "ARGV" | "$ARGV" | "System.argv" => Some(0),
        _ => None,
    }
}

fn is_base64_decoder(name: &str) -> bool {
    matches!(
        name,
        "base64.b64decode"
            | "b64decode"
            | "base64.decodebytes"
            | "base64.standard_b64decode"
            | "atob"
            | "Base64.decode64"
            | "Base64.strict_decode64"
            | "decode_base64"
            | "MIME.Base64.decode_base64"
            | "base64_decode"
            | "Base.decode64!"
            | "Base.decode64"
            | "base64decode"
    )
}

/// Splits code into names (with `.`/`::`/`:` joined), string literals and punctuation;
/// comments are dropped.
fn lex(language: Language, code: &str) -> Vec<Token> {
    let chars: Vec<char> = code.chars().collect();
    let lisp = language == Language::Lisp;
    let mut tokens = Vec::new();
    let mut i = 0;
    let starts_with = |i: usize, text: &str| {
        text.chars()
            .enumerate()
            .all(|(k, c)| chars.get(i + k) == Some(&c))
    };
    while i < chars.len() {
        let c = chars[i];
        if c == '\n' {
            tokens.push(Token::Punct('\n'));
            i += 1;
            continue;
        }
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if let Some(comment) = language.comment().iter().find(|m| starts_with(i, m)) {
            // `#{` is interpolation in Ruby and Elixir strings, not a comment; `$#` is Perl.
            let interpolation = *comment == "#" && chars.get(i + 1) == Some(&'{');
            let perl_last_index = language == Language::Perl && i > 0 && chars[i - 1] == '$';
            if !interpolation && !perl_last_index {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
                continue;
            }
        }
        if language == Language::Perl
            && let Some((token, next)) = perl_quote_like(&chars, i, &tokens)
        {
            tokens.extend(token);
            i = next;
            continue;
        }
        if language == Language::Ruby
            && c == '%'
            && let Some((token, next)) = ruby_percent(&chars, i)
        {
            tokens.extend(token);
            i = next;
            continue;
        }
        let quote = c == '"' || (c == '\'' && !lisp) || (c == '`' && !lisp);
        if quote {
            let triple = i + 2 < chars.len() && chars[i + 1] == c && chars[i + 2] == c && c != '`';
            let quote_len = if triple { 3 } else { 1 };
            let mut j = i + quote_len;
            let mut text = String::new();
            let mut dynamic = false;
            while j < chars.len() {
                if chars[j] == '\\' && j + 1 < chars.len() {
                    text.push(match chars[j + 1] {
                        'n' => '\n',
                        't' => '\t',
                        other => other,
                    });
                    j += 2;
                    continue;
                }
                if chars[j] == c
                    && (!triple || (j + 2 < chars.len() && chars[j + 1] == c && chars[j + 2] == c))
                {
                    break;
                }
                let next = chars.get(j + 1);
                if (c == '`' && chars[j] == '$' && next == Some(&'{'))
                    || (matches!(c, '"' | '`') && chars[j] == '#' && next == Some(&'{'))
                    || (c != '\''
                        && chars[j] == '$'
                        && next.is_some_and(|n| {
                            n.is_alphabetic() || *n == '_' || *n == '{' || *n == '('
                        }))
                {
                    dynamic = true;
                }
                text.push(chars[j]);
                j += 1;
            }
            // `"$ENV{HOME}/.bashrc"`, `"#{Dir.home}/x"`, `` `${process.env.HOME}/x` ``:
            // the home directory interpolated first, and nothing else, is a known path.
            if dynamic
                && let Some(rest) = HOME_INTERPOLATIONS
                    .iter()
                    .find_map(|home| text.strip_prefix(home))
                && !rest.contains(['$', '{'])
            {
                text = format!("~{rest}");
                dynamic = false;
            }
            // An f-string (`f"…{x}"`) is not a literal.
            let prefix = match tokens.last() {
                Some(Token::Name(n))
                    if n.len() <= 2 && n.chars().all(|ch| "fFrRbBuU".contains(ch)) =>
                {
                    Some(n.to_ascii_lowercase())
                }
                _ => None,
            };
            if let Some(prefix) = prefix {
                tokens.pop();
                if prefix.contains('f') {
                    dynamic |= text.contains('{');
                }
            }
            if c == '`' {
                // Backticks run a shell command in Ruby, Perl, PHP and Julia; in
                // JavaScript they are template strings.
                tokens.push(Token::Name("`".to_owned()));
            }
            tokens.push(Token::Str((!dynamic).then_some(text)));
            i = (j + quote_len).min(chars.len().max(j));
            continue;
        }
        let name_char = |ch: char| {
            ch.is_alphanumeric()
                || ch == '_'
                || ch == '$'
                || ch == '@'
                || (lisp && "-*+!?<>=/%&".contains(ch))
        };
        if name_char(c) {
            let mut name = String::new();
            while i < chars.len() {
                let ch = chars[i];
                if name_char(ch) || (ch == '!' && language == Language::Elixir) {
                    name.push(ch);
                    i += 1;
                } else if (ch == '.' || ch == ':') && i + 1 < chars.len() {
                    let step = if ch == ':' && chars[i + 1] == ':' {
                        2
                    } else {
                        1
                    };
                    // A single `:` joins only in Lisp packages and Erlang modules.
                    if ch == ':' && step == 1 && !(lisp || language == Language::Erlang) {
                        break;
                    }
                    if chars
                        .get(i + step)
                        .is_some_and(|n| n.is_alphabetic() || *n == '_' || *n == '$')
                    {
                        name.push('.');
                        i += step;
                    } else {
                        break;
                    }
                } else {
                    break;
                }
            }
            // Lisp's `namespace/name` reads as `namespace.name`.
            if lisp {
                name = name.replace('/', ".");
            }
            tokens.push(Token::Name(name));
            continue;
        }
        tokens.push(Token::Punct(c));
        i += 1;
    }
    tokens
}

/// Perl's `q(…)`, `qq{…}`, `qx[…]`, `qw/…/`: strings and commands with any delimiter.
fn perl_quote_like(chars: &[char], i: usize, tokens: &[Token]) -> Option<(Vec<Token>, usize)> {
    let previous_is_name_char = i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_');
    if previous_is_name_char || matches!(tokens.last(), Some(Token::Punct('-' | '>'))) {
        return None;
    }
    let word: String = chars[i..].iter().take(2).collect();
    let (kind, len) = if word == "qq" || word == "qx" || word == "qw" {
        (word.clone(), 2)
    } else if chars[i] == 'q' {
        ("q".to_owned(), 1)
    } else {
        return None;
    };
    let open = *chars.get(i + len)?;
    if open.is_alphanumeric()
        || open.is_whitespace()
        || open == '_'
        || open == ','
        || open == ';'
        || open == '='
    {
        return None;
    }
    let close = match open {
        '(' => ')',
        '{' => '}',
        '[' => ']',
        '<' => '>',
        other => other,
    };
    let mut j = i + len + 1;
    let mut text = String::new();
    while j < chars.len() && chars[j] != close {
        text.push(chars[j]);
        j += 1;
    }
    let dynamic = kind != "q" && text.contains('$');
    let token = match kind.as_str() {
        "qx" => vec![
            Token::Name("`".to_owned()),
            Token::Str((!dynamic).then_some(text)),
        ],
        "qw" => text
            .split_whitespace()
            .map(|w| Token::Str(Some(w.to_owned())))
            .collect(),
        _ => vec![Token::Str((!dynamic).then_some(text))],
    };
    Some((token, j + 1))
}

/// Ruby's `%x(…)`, `%q(…)`, `%Q(…)`, `%w(…)`.
fn ruby_percent(chars: &[char], i: usize) -> Option<(Vec<Token>, usize)> {
    let kind = *chars.get(i + 1)?;
    if !"xqQwWi".contains(kind) {
        return None;
    }
    let open = *chars.get(i + 2)?;
    let close = match open {
        '(' => ')',
        '{' => '}',
        '[' => ']',
        '<' => '>',
        '|' | '!' | '/' => open,
        _ => return None,
    };
    let mut j = i + 3;
    let mut text = String::new();
    while j < chars.len() && chars[j] != close {
        text.push(chars[j]);
        j += 1;
    }
    let dynamic = kind != 'q' && text.contains("#{");
    let tokens = match kind {
        'x' => vec![
            Token::Name("`".to_owned()),
            Token::Str((!dynamic).then_some(text)),
        ],
        'w' | 'W' | 'i' => text
            .split_whitespace()
            .map(|w| Token::Str(Some(w.to_owned())))
            .collect(),
        _ => vec![Token::Str((!dynamic).then_some(text))],
    };
    Some((tokens, j + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deletes(language: Language, code: &str) -> Vec<(Option<String>, bool)> {
        effects(language, code, &[])
            .into_iter()
            .filter_map(|e| match e {
                Effect::Delete { target, recursive } => Some((target, recursive)),
                _ => None,
            })
            .collect()
    }

    fn has(language: Language, code: &str, effect: Effect) -> bool {
        effects(language, code, &[]).contains(&effect)
    }

    #[test]
    fn python() {
        assert_eq!(
            deletes(Language::Python, "import shutil; shutil.rmtree('/home/u')"),
            [(Some("/home/u".into()), true)]
        );
        assert_eq!(
            deletes(
                Language::Python,
                "import shutil,os; shutil.rmtree(os.path.expanduser('~'))"
            ),
            [(Some("~".into()), true)]
        );
        // The home directory named in code, joined to a literal.
        assert_eq!(
            deletes(
                Language::Python,
                "import os; os.remove(os.environ['HOME'] + '/.bashrc')"
            ),
            [(Some("~/.bashrc".into()), false)]
        );
        assert_eq!(
            deletes(
                Language::Node,
                "require('fs').unlinkSync(require('os').homedir() + '/.npmrc')"
            ),
            [(Some("~/.npmrc".into()), false)]
        );
        assert_eq!(
            deletes(Language::Lua, "os.remove(os.getenv('HOME')..'/.bashrc')"),
            [(Some("~/.bashrc".into()), false)]
        );
        assert_eq!(
            deletes(
                Language::Python,
                "from pathlib import Path; Path('a.txt').unlink()"
            ),
            [(Some("a.txt".into()), false)]
        );
        assert!(has(
            Language::Python,
            "import os; os.system('rm -rf ~')",
            Effect::Shell("rm -rf ~".into())
        ));
        assert!(has(
            Language::Python,
            "exec(\"import shutil; shutil.rmtree('/')\")",
            Effect::Delete {
                target: Some("/".into()),
                recursive: true
            }
        ));
        assert!(has(
            Language::Python,
            "import subprocess; subprocess.run(['rm','-rf','/'])",
            Effect::Argv(vec!["rm".into(), "-rf".into(), "/".into()])
        ));
        assert!(has(
            Language::Python,
            "print(open('.env').read())",
            Effect::Read(".env".into())
        ));
        assert!(has(
            Language::Python,
            "from dotenv import load_dotenv; load_dotenv()",
            Effect::Read(".env".into())
        ));
        assert!(has(
            Language::Python,
            "import os; os.system(f'rm -rf {d}')",
            Effect::Unknown("a command")
        ));
    }

    #[test]
    fn names_assembled_in_code() {
        assert!(has(
            Language::Python,
            "print(open('.e' + 'nv').read())",
            Effect::Read(".env".into())
        ));
        assert!(
            has(
                Language::Perl,
                "print `cat ` . '.env'",
                Effect::Read(".env".into())
            ) || has(
                Language::Perl,
                "open(F, '.e' . 'nv')",
                Effect::Read(".env".into())
            )
        );
        assert!(has(
            Language::Python,
            "import os; os.system(__import__('base64').b64decode('cm0gLXJmIH4=').decode())",
            Effect::Shell("rm -rf ~".into())
        ));
        assert!(has(
            Language::Python,
            "print(open(name).read())",
            Effect::UnknownRead("open".into())
        ));
        let argv = effects(
            Language::Python,
            "import sys; print(open(sys.argv[1]).read())",
            &[".env".into()],
        );
        assert!(argv.contains(&Effect::Read(".env".into())), "{argv:?}");
    }

    #[test]
    fn other_languages() {
        assert_eq!(
            deletes(
                Language::Node,
                "require('fs').rmSync('/etc', {recursive: true})"
            ),
            [(Some("/etc".into()), true)]
        );
        assert!(has(
            Language::Node,
            "require('child_process').execSync('rm -rf ~')",
            Effect::Shell("rm -rf ~".into())
        ));
        assert_eq!(
            deletes(
                Language::Ruby,
                "require 'fileutils'; FileUtils.rm_rf('/var')"
            ),
            [(Some("/var".into()), true)]
        );
        assert!(has(
            Language::Ruby,
            "`rm -rf ~`",
            Effect::Shell("rm -rf ~".into())
        ));
        assert!(has(
            Language::Ruby,
            "%x(rm -rf ~)",
            Effect::Shell("rm -rf ~".into())
        ));
        assert_eq!(
            deletes(Language::Perl, "use File::Path; rmtree('/usr')"),
            [(Some("/usr".into()), true)]
        );
        assert!(has(
            Language::Perl,
            "qx{rm -rf ~}",
            Effect::Shell("rm -rf ~".into())
        ));
        assert!(has(
            Language::Perl,
            "system('rm', '-rf', '/')",
            Effect::Argv(vec!["rm".into(), "-rf".into(), "/".into()])
        ));
        assert!(has(
            Language::Lua,
            "os.execute('rm -rf ~')",
            Effect::Shell("rm -rf ~".into())
        ));
        assert!(has(
            Language::Julia,
            "run(`rm -rf /`)",
            Effect::Shell("rm -rf /".into())
        ));
        assert!(has(
            Language::Lisp,
            "(shell-command \"rm -rf ~\")",
            Effect::Shell("rm -rf ~".into())
        ));
        assert!(has(
            Language::Lisp,
            "(call-process \"rm\" nil nil nil \"-rf\" \"~\")",
            Effect::Argv(vec!["rm".into(), "-rf".into(), "~".into()])
        ));
        assert!(has(
            Language::Elixir,
            "File.rm_rf!(\"/home/dev\")",
            Effect::Delete {
                target: Some("/home/dev".into()),
                recursive: true
            }
        ));
        assert!(has(
            Language::Tcl,
            "exec rm -rf /",
            Effect::Argv(vec!["rm".into(), "-rf".into(), "/".into()])
        ));
        assert!(has(
            Language::Groovy,
            "'rm -rf ~'.execute()",
            Effect::Shell("rm -rf ~".into())
        ));
        assert!(has(
            Language::AppleScript,
            "do shell script \"rm -rf ~\"",
            Effect::Shell("rm -rf ~".into())
        ));
        assert!(has(
            Language::Php,
            "system('rm -rf ~');",
            Effect::Shell("rm -rf ~".into())
        ));
    }

    #[test]
    fn text_that_mentions_a_file_is_data_and_running_it_is_still_seen() {
        assert!(effects(Language::Node, "console.log('cat .env')", &[]).is_empty());
        assert!(has(
            Language::Node,
            "require('child_process').execSync('cat .env')",
            Effect::Shell("cat .env".into())
        ));
        assert!(has(
            Language::Node,
            "require('fs').readFileSync('config/prod.env')",
            Effect::Read("config/prod.env".into())
        ));
        assert!(has(
            Language::Python,
            "open('/home/dev/my project/.env')",
            Effect::Read("/home/dev/my project/.env".into())
        ));
    }

    #[test]
    fn awk_reads_and_runs_only_through_its_operators() {
        assert!(has(
            Language::Awk,
            "BEGIN { system(\"rm -rf ~\") }",
            Effect::Shell("rm -rf ~".into())
        ));
        assert!(has(
            Language::Awk,
            "BEGIN { while ((\"cat .env\" | getline l) > 0) print l }",
            Effect::Shell("cat .env".into())
        ));
        assert!(has(
            Language::Awk,
            "{ print > \"/etc/passwd\" }",
            Effect::Write("/etc/passwd".into())
        ));
        assert!(effects(Language::Awk, "{ print \".env\" }", &[]).is_empty());
        assert!(has(
            Language::Awk,
            "BEGIN { print \"rm -rf ~\" | \"sh\" }",
            Effect::Piped {
                command: "sh".into(),
                input: Some("rm -rf ~".into())
            }
        ));
        assert!(has(
            Language::Awk,
            "{ print $0 |& \"bash\" }",
            Effect::Piped {
                command: "bash".into(),
                input: None
            }
        ));
        assert!(has(
            Language::Awk,
            "BEGIN { while ((getline l < \".env\") > 0) print l }",
            Effect::Read(".env".into())
        ));
    }
}
