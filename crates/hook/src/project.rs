//! A project's name as people say it: the repository's `origin` remote (`acme/api`),
//! else the repository's folder name, else the project folder's name.
//!
//! Read on every hook event from the project's own `.git` (a stat or two and one small
//! file), so that two checkouts of one repository, in different places on different
//! machines, are one project. Credentials in a remote URL never leave: only its path is
//! kept. Owns no state; never writes.

use std::path::{Path, PathBuf};

/// Largest git config file read; a larger one is not a checkout's.
const MAX_CONFIG_BYTES: u64 = 256 * 1024;
/// Folders climbed from the project directory looking for the repository's root.
const MAX_DEPTH: usize = 64;

/// The name of the project at `dir` (an absolute path), as the hook reports it.
pub fn name_of(dir: &str) -> Option<String> {
    let dir = Path::new(dir);
    match repository_of(dir) {
        Some((root, git_dir)) => remote_name(&git_dir).or_else(|| folder_name(&root)),
        None => folder_name(dir),
    }
}

/// The last component of a path (`/home/jane/api` → `api`).
pub fn folder_name(dir: &Path) -> Option<String> {
    dir.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .filter(|name| !name.is_empty())
}

/// The repository holding `dir`: its root and the directory holding its config (the
/// common one of a linked worktree).
fn repository_of(dir: &Path) -> Option<(PathBuf, PathBuf)> {
    for root in dir.ancestors().take(MAX_DEPTH) {
        let dot_git = root.join(".git");
        let Ok(meta) = std::fs::metadata(&dot_git) else {
            continue;
        };
        if meta.is_dir() {
            return Some((root.to_owned(), dot_git));
        }
        // A linked worktree or a submodule: `.git` is a file naming the git dir.
        let text = read_small(&dot_git)?;
        let named = text.lines().find_map(|l| l.strip_prefix("gitdir:"))?.trim();
        let git_dir = root.join(named);
        let common = read_small(&git_dir.join("commondir"))
            .map(|c| git_dir.join(c.trim()))
            .unwrap_or(git_dir);
        return Some((root.to_owned(), common));
    }
    None
}

fn read_small(path: &Path) -> Option<String> {
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_file() || meta.len() > MAX_CONFIG_BYTES {
        return None;
    }
    std::fs::read_to_string(path).ok()
}

/// The `origin` remote's path, else the first remote's.
fn remote_name(git_dir: &Path) -> Option<String> {
    let config = read_small(&git_dir.join("config"))?;
    let mut remotes: Vec<(String, String)> = Vec::new();
    let mut section: Option<String> = None;
    for line in config.lines().map(str::trim) {
        if line.starts_with('[') {
            section = line
                .strip_prefix("[remote \"")
                .and_then(|rest| rest.strip_suffix("\"]"))
                .map(str::to_owned);
            continue;
        }
        let Some(remote) = &section else { continue };
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        if key.trim() == "url" {
            remotes.push((remote.clone(), value.trim().to_owned()));
        }
    }
    let url = remotes
        .iter()
        .find(|(name, _)| name == "origin")
        .or_else(|| remotes.first())
        .map(|(_, url)| url.as_str())?;
    path_of_remote(url)
}

/// What names a repository in a remote URL: `owner/repo` for a hosted one
/// (`git@github.com:acme/api.git`, `https://user:token@github.com/acme/api`,
/// `ssh://git@host:2222/group/sub/api.git`), the folder for a local one
/// (`/srv/git/api.git`). Never the host, a user or a credential.
pub fn path_of_remote(url: &str) -> Option<String> {
    let url = url.trim().trim_matches('"');
    let path = if let Some((scheme, rest)) = url.split_once("://") {
        if scheme == "file" {
            return local_name(rest);
        }
        // Drop `user:password@host:port`, keep the path.
        rest.split_once('/').map(|(_, path)| path)?
    } else if url.starts_with('/') || url.starts_with('.') || url.starts_with('~') {
        return local_name(url);
    } else if let Some((host, path)) = url.split_once(':') {
        // scp-like `git@github.com:acme/api.git`; a Windows-style `C:\…` is not a host.
        if host.contains('/') || host.len() < 2 {
            return local_name(url);
        }
        path
    } else {
        return local_name(url);
    };
    let path = path
        .split(['?', '#'])
        .next()
        .unwrap_or("")
        .trim_matches('/')
        .trim_end_matches(".git")
        .trim_end_matches('/');
    let path = path.strip_prefix('~').unwrap_or(path).trim_matches('/');
    (!path.is_empty()).then(|| path.to_owned())
}

fn local_name(path: &str) -> Option<String> {
    let trimmed = path.trim_end_matches('/').trim_end_matches(".git");
    let trimmed = trimmed.trim_end_matches('/');
    folder_name(Path::new(trimmed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_urls_give_owner_and_repository_and_nothing_secret() {
        for (url, name) in [
            ("git@github.com:acme/api.git", "acme/api"),
            ("https://github.com/acme/api.git", "acme/api"),
            ("https://jane:ghp_secret@github.com/acme/api", "acme/api"),
            (
                "ssh://git@gitlab.example:2222/group/sub/api.git",
                "group/sub/api",
            ),
            (
                "https://dev.azure.com/org/proj/_git/api/",
                "org/proj/_git/api",
            ),
            ("/srv/git/api.git", "api"),
            ("file:///srv/git/api", "api"),
            ("../api.git", "api"),
            ("git@host:~jane/api.git", "jane/api"),
        ] {
            assert_eq!(path_of_remote(url).as_deref(), Some(name), "{url}");
        }
        assert_eq!(path_of_remote("https://github.com/"), None);
        assert!(
            !path_of_remote("https://jane:ghp_secret@github.com/acme/api")
                .unwrap()
                .contains("secret")
        );
    }

    fn git(dir: &Path, config: &str) {
        std::fs::create_dir_all(dir.join(".git")).unwrap();
        std::fs::write(dir.join(".git/config"), config).unwrap();
    }

    #[test]
    fn a_checkout_is_named_by_its_origin_wherever_it_lies() {
        let tmp = tempfile::tempdir().unwrap();
        let (a, b) = (
            tmp.path().join("jane/work/api"),
            tmp.path().join("bob/api-service"),
        );
        let config = "[core]\n\tbare = false\n[remote \"upstream\"]\n\turl = git@github.com:other/fork.git\n[remote \"origin\"]\n\turl = git@github.com:acme/api.git\n\tfetch = +refs/heads/*:refs/remotes/origin/*\n";
        git(&a, config);
        git(&b, config);
        std::fs::create_dir_all(a.join("src/deep")).unwrap();
        for dir in [a.clone(), b, a.join("src/deep")] {
            assert_eq!(
                name_of(dir.to_str().unwrap()).as_deref(),
                Some("acme/api"),
                "{}",
                dir.display()
            );
        }
    }

    #[test]
    fn without_a_remote_the_folder_names_it() {
        let tmp = tempfile::tempdir().unwrap();
        let repo = tmp.path().join("notes");
        git(&repo, "[core]\n\tbare = false\n");
        std::fs::create_dir_all(repo.join("sub")).unwrap();
        assert_eq!(
            name_of(repo.join("sub").to_str().unwrap()).as_deref(),
            Some("notes")
        );
        let plain = tmp.path().join("scratch");
        std::fs::create_dir_all(&plain).unwrap();
        assert_eq!(name_of(plain.to_str().unwrap()).as_deref(), Some("scratch"));
        assert_eq!(name_of("/"), None);
    }

    #[test]
    fn a_linked_worktree_reads_the_main_checkouts_remote() {
        let tmp = tempfile::tempdir().unwrap();
        let main = tmp.path().join("api");
        git(
            &main,
            "[remote \"origin\"]\n\turl = https://github.com/acme/api\n",
        );
        let linked_git = main.join(".git/worktrees/feature");
        std::fs::create_dir_all(&linked_git).unwrap();
        std::fs::write(linked_git.join("commondir"), "../..\n").unwrap();
        let linked = tmp.path().join("api-feature");
        std::fs::create_dir_all(&linked).unwrap();
        std::fs::write(
            linked.join(".git"),
            format!("gitdir: {}\n", linked_git.display()),
        )
        .unwrap();
        assert_eq!(
            name_of(linked.to_str().unwrap()).as_deref(),
            Some("acme/api")
        );
    }
}
