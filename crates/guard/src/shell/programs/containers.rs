//! Container launchers: `docker`/`podman`/`nerdctl` `run`, `create`, `exec`, `compose
//! run|exec`, `kubectl exec`. The command inside runs on the container's own file
//! system; only what is mounted from the host reaches it, under the container's names.
//! That command is judged with the mounts mapped back to host paths. Handing a
//! container the whole host (`--privileged`, the Docker socket, `/`, home) is asked
//! about.

use std::path::{Path, PathBuf};

use super::{Access, Opt, OptSpec, parse_opts, value_of, values_of};
use crate::decision::Verdict;
use crate::paths::{Relation, Zone, classify, resolve};
use crate::rules::Rule;
use crate::shell::word::Arg;
use crate::shell::{Scope, Stdin, Walker};

const RUN: OptSpec = OptSpec {
    short: "vewpuhlcmaEi",
    long: &[
        "volume",
        "mount",
        "env",
        "env-file",
        "workdir",
        "publish",
        "user",
        "hostname",
        "label",
        "label-file",
        "cpu-shares",
        "memory",
        "attach",
        "name",
        "network",
        "net",
        "entrypoint",
        "cidfile",
        "add-host",
        "device",
        "gpus",
        "ulimit",
        "cpus",
        "platform",
        "pull",
        "restart",
        "log-driver",
        "log-opt",
        "security-opt",
        "cap-add",
        "cap-drop",
        "dns",
        "dns-search",
        "dns-option",
        "tmpfs",
        "shm-size",
        "pid",
        "ipc",
        "uts",
        "userns",
        "cgroupns",
        "stop-signal",
        "stop-timeout",
        "health-cmd",
        "health-interval",
        "health-retries",
        "health-timeout",
        "health-start-period",
        "expose",
        "group-add",
        "ip",
        "ip6",
        "link",
        "mac-address",
        "memory-swap",
        "memory-reservation",
        "oom-score-adj",
        "runtime",
        "sysctl",
        "volumes-from",
        "blkio-weight",
        "cpuset-cpus",
        "cpuset-mems",
        "cpu-period",
        "cpu-quota",
        "storage-opt",
        "annotation",
        "network-alias",
        "pids-limit",
        "detach-keys",
        "isolation",
        "kernel-memory",
        "cgroup-parent",
        "device-cgroup-rule",
        "mount",
        "secret",
        "arch",
        "os",
        "file",
        "project-name",
        "profile",
        "project-directory",
        "service-ports",
        "index",
        "namespace",
        "container",
        "context",
        "kubeconfig",
        "filename",
        "workdir",
    ],
    flags: &[
        "rm",
        "detach",
        "interactive",
        "tty",
        "privileged",
        "read-only",
        "init",
        "no-healthcheck",
        "oom-kill-disable",
        "publish-all",
        "quiet",
        "sig-proxy",
        "disable-content-trust",
        "no-deps",
        "stdin",
        "use-aliases",
        "remove-orphans",
    ],
};

impl Walker<'_> {
    /// A container launcher; `None` when `name` is not one (or not in a launching form).
    pub(super) fn judge_container(
        &mut self,
        name: &str,
        rest: &[Arg],
        scope: &mut Scope,
        stdin: &Stdin,
    ) -> Option<Stdin> {
        if !matches!(
            name,
            "docker" | "podman" | "nerdctl" | "finch" | "kubectl" | "oc" | "lxc" | "incus"
        ) {
            return None;
        }
        let words: Vec<&Arg> = rest.iter().collect();
        let position = |word: &str| words.iter().position(|a| a.known && a.text == word);
        // `podman unshare [options] command` (podman-unshare(1)) runs the command on
        // the host, in the user namespace podman uses: the host's files.
        if name == "podman"
            && let Some(at) = words
                .iter()
                .position(|a| a.known && !a.text.starts_with('-'))
            && words[at].text == "unshare"
        {
            let (_, start) = parse_opts(&rest[at + 1..], &OptSpec::default(), true);
            return Some(self.judge_inner("podman unshare", &rest[at + 1 + start..], scope, stdin));
        }
        let (sub_at, sub) = if matches!(name, "kubectl" | "oc" | "lxc" | "incus") {
            (position("exec")?, "exec")
        } else if let Some(at) = position("compose").or_else(|| position("docker-compose")) {
            let at = words[at + 1..]
                .iter()
                .position(|a| a.known && matches!(a.text.as_str(), "run" | "exec"))
                .map(|p| at + 1 + p)?;
            (
                at,
                if words[at].text == "run" {
                    "compose-run"
                } else {
                    "exec"
                },
            )
        } else {
            let at = words
                .iter()
                .position(|a| a.known && !a.text.starts_with('-'))?;
            match (
                words[at].text.as_str(),
                words.get(at + 1).map(|a| a.text.as_str()),
            ) {
                ("run" | "create", _) => (at, "run"),
                ("exec", _) => (at, "exec"),
                ("container", Some("run" | "create")) => (at + 1, "run"),
                ("container", Some("exec")) => (at + 1, "exec"),
                _ => return None,
            }
        };
        let after = &rest[sub_at + 1..];
        Some(self.judge_container_command(name, sub, after, scope, stdin))
    }

    fn judge_container_command(
        &mut self,
        name: &str,
        sub: &str,
        after: &[Arg],
        scope: &mut Scope,
        stdin: &Stdin,
    ) -> Stdin {
        let (items, start) = parse_opts(after, &RUN, true);
        for file in values_of(&items, &["--env-file", "--label-file"]) {
            self.check_secret(&file, scope, Access::Read);
        }
        let mut rest = after.get(start..).unwrap_or_default();
        // `kubectl exec POD -- cmd`: the command after `--`.
        if matches!(name, "kubectl" | "oc" | "lxc" | "incus") {
            rest = match rest.iter().position(|a| a.known && a.text == "--") {
                Some(at) => &rest[at + 1..],
                None => rest.get(1..).unwrap_or_default(),
            };
        } else {
            // The image, or the container or service name, comes first.
            rest = rest.get(1..).unwrap_or_default();
        }
        let mut mounts: Vec<(PathBuf, PathBuf)> = Vec::new();
        if sub != "exec" {
            let privileged = items.iter().any(|i| i.is(&["--privileged"]))
                || value_of(&items, &["--pid"]).is_some_and(|p| p.text == "host");
            if privileged {
                self.find(
                    Verdict::Ask,
                    Rule::ContainerHostAccess,
                    format!("`{name} {sub}` gives the container control of the host (privileged or the host's processes)."),
                    items.iter().find_map(|i| match i {
                        Opt::Flag { arg, .. } if arg.text.contains("privileged") || arg.text.contains("pid") => arg.span,
                        _ => None,
                    }),
                );
            }
            for volume in values_of(&items, &["-v", "--volume", "--mount"]) {
                if let Some(mount) = self.judge_mount(name, &volume, scope) {
                    mounts.push(mount);
                }
            }
        }
        let mut inner = scope.clone();
        inner.container = Some(mounts);
        inner.cwd = value_of(&items, &["-w", "--workdir"])
            .filter(|w| w.known)
            .map(|w| resolve(Path::new("/"), Path::new(&w.text)));
        let mut command: Vec<Arg> = Vec::new();
        if let Some(entrypoint) = value_of(&items, &["--entrypoint"]) {
            command.push(entrypoint);
        }
        command.extend_from_slice(rest);
        if command.is_empty() {
            return Stdin::Output { safe: false };
        }
        self.note(|| {
            format!(
                "inside the container (mounts {:?}): {}",
                inner.container,
                crate::shell::show_args(&command)
            )
        });
        let out = self.judge(&command, &mut inner, stdin);
        scope.written.extend(inner.written);
        match out {
            // A file printed inside the container is the container's: not known here.
            Stdin::File(..) => Stdin::Output { safe: false },
            out => out,
        }
    }

    /// One `-v HOST:CONTAINER[:ro]` or `--mount type=bind,source=…,target=…`: a mount of
    /// a whole zone is asked about; a secret file mounted is a read of it. Returns the
    /// mount (container path, host path) for judging the command inside.
    fn judge_mount(
        &mut self,
        name: &str,
        volume: &Arg,
        scope: &Scope,
    ) -> Option<(PathBuf, PathBuf)> {
        if !volume.known {
            return None;
        }
        let (source, target, read_only) = if volume.text.contains("source=")
            || volume.text.contains("src=")
            || volume.text.contains("target=")
        {
            let field = |keys: &[&str]| {
                volume.text.split(',').find_map(|part| {
                    let (key, value) = part.split_once('=')?;
                    keys.contains(&key).then(|| value.to_owned())
                })
            };
            let read_only = volume
                .text
                .split(',')
                .any(|p| p == "readonly" || p == "ro" || p == "readonly=true");
            (
                field(&["source", "src"])?,
                field(&["target", "destination", "dst"])?,
                read_only,
            )
        } else {
            let mut parts = volume.text.splitn(3, ':');
            let source = parts.next()?.to_owned();
            let target = parts.next()?.to_owned();
            let read_only = parts
                .next()
                .is_some_and(|opts| opts.split(',').any(|o| o == "ro"));
            (source, target, read_only)
        };
        // A named volume, not a host path.
        if !(source.starts_with('/') || source.starts_with('.') || source.starts_with('~')) {
            return None;
        }
        let source_text = match source.strip_prefix('~') {
            Some(rest) => format!("{}{rest}", self.ctx.home.display()),
            None => source,
        };
        let host = resolve(
            scope.cwd.as_deref().unwrap_or(Path::new("/")),
            Path::new(&source_text),
        );
        let mounted = Arg::literal(host.to_string_lossy(), volume.span);
        self.check_secret(&mounted, scope, Access::Read);
        let placed = classify(&host, self.ctx, self.config);
        let whole_zone = matches!(
            (placed.zone, placed.relation),
            (Zone::Root, _)
                | (Zone::Home, Relation::Is | Relation::Holds)
                | (Zone::Project, Relation::Holds)
                | (Zone::System, Relation::Is | Relation::Holds)
        );
        let docker_socket = host.ends_with("docker.sock") || host.ends_with("podman.sock");
        if docker_socket || (whole_zone && !read_only) {
            self.find(
                Verdict::Ask,
                Rule::ContainerHostAccess,
                format!(
                    "`{name}` mounts {} into the container{}: {}.",
                    host.display(),
                    if read_only {
                        " (read-only)"
                    } else {
                        " with write access"
                    },
                    if docker_socket {
                        "control of the host's containers".to_owned()
                    } else {
                        placed.describe(self.ctx)
                    }
                ),
                volume.span,
            );
        }
        Some((resolve(Path::new("/"), Path::new(&target)), host))
    }
}
