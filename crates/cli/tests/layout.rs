//! The architecture as the code states it: inside each crate, the top-level modules
//! depend on each other one way only. A module's dependencies are the other top-level
//! modules its non-test code names as `crate::name` (in `use` paths and in code; comments
//! are left out, since a doc link is no dependency).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

use crate::support::repo;

/// Top-level module name → the top-level modules it uses.
type Graph = BTreeMap<String, BTreeSet<String>>;

#[test]
fn no_crate_has_an_import_circle_between_its_modules() {
    let mut crates = 0;
    let mut circles = Vec::new();
    for entry in fs::read_dir(repo().join("crates")).unwrap() {
        let src = entry.unwrap().path().join("src");
        if !src.is_dir() {
            continue;
        }
        crates += 1;
        let graph = module_graph(&src);
        if let Some(circle) = find_circle(&graph) {
            circles.push(format!("{}: {}", src.display(), circle.join(" → ")));
        }
    }
    assert!(crates >= 5, "found only {crates} crates under crates/");
    assert!(
        circles.is_empty(),
        "import circles:\n{}",
        circles.join("\n")
    );
}

#[test]
fn a_circle_is_found_when_there_is_one() {
    let graph: Graph = [("a", "b"), ("b", "c"), ("c", "a"), ("d", "a")]
        .into_iter()
        .fold(Graph::new(), |mut graph, (from, to)| {
            graph.entry(from.into()).or_default().insert(to.into());
            graph
        });
    let circle = find_circle(&graph).unwrap();
    assert_eq!(circle.first(), circle.last());
    assert_eq!(circle.len(), 4, "{circle:?}");
    let mut one_way = graph.clone();
    one_way.get_mut("c").unwrap().clear();
    assert_eq!(find_circle(&one_way), None);
}

fn module_graph(src: &Path) -> Graph {
    let modules: BTreeSet<String> = fs::read_dir(src)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter_map(|path| {
            let name = path.file_stem()?.to_str()?.to_owned();
            let is_module = path.is_dir() || path.extension().is_some_and(|ext| ext == "rs");
            (is_module && name != "lib" && name != "main").then_some(name)
        })
        .collect();
    let mut graph = Graph::new();
    for module in &modules {
        let mut files = Vec::new();
        for candidate in [src.join(format!("{module}.rs")), src.join(module)] {
            collect_rust_files(&candidate, &mut files);
        }
        let uses = graph.entry(module.clone()).or_default();
        for file in files {
            let text = fs::read_to_string(&file).unwrap();
            for used in crate_paths(&text) {
                if used != *module && modules.contains(&used) {
                    uses.insert(used);
                }
            }
        }
    }
    graph
}

fn collect_rust_files(path: &Path, files: &mut Vec<std::path::PathBuf>) {
    if path.is_dir() {
        for entry in fs::read_dir(path).unwrap() {
            collect_rust_files(&entry.unwrap().path(), files);
        }
    } else if path.is_file() && path.extension().is_some_and(|ext| ext == "rs") {
        files.push(path.to_owned());
    }
}

/// The first segments after `crate::` in the code before its tests, comments left out.
/// A `use crate::{a, b::c}` group names each of its members.
fn crate_paths(text: &str) -> Vec<String> {
    let code: String = text
        .split("#[cfg(test)]")
        .next()
        .unwrap_or_default()
        .lines()
        .map(|line| line.split("//").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n");
    let word = |rest: &str| -> String {
        rest.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut names = Vec::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let inner = &group[..group.find('}').unwrap_or(group.len())];
            names.extend(inner.split(',').map(|member| word(member.trim())));
        } else {
            names.push(word(rest));
        }
    }
    names
}

/// A path of modules that comes back to where it started, if there is one.
fn find_circle(graph: &Graph) -> Option<Vec<String>> {
    fn visit(
        graph: &Graph,
        node: &str,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|seen| seen == node) {
            let mut circle = path[start..].to_vec();
            circle.push(node.to_owned());
            return Some(circle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(circle) = visit(graph, next, path, done) {
                return Some(circle);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(graph, node, &mut Vec::new(), &mut done))
}
