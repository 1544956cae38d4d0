//! The layout stays the architecture: `src/` holds `lib.rs`, `main.rs` and one folder per part; no
//! file grows past 600 lines; library errors are types, never `Result<_, String>`; modules do not
//! import each other in a circle (neither the top-level parts nor sibling files); and only tests and
//! benchmarks use the `testkit`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const MAX_LINES: usize = 600;

fn src() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file below `dir`, as (path relative to `src/`, text).
fn sources(dir: &Path) -> Vec<(PathBuf, String)> {
    files_below(dir, &src())
}

/// Every `.rs` file below `dir`, as (path relative to `root`, text).
fn files_below(dir: &Path, root: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                out.push((path.strip_prefix(root).unwrap().to_path_buf(), text));
            }
        }
    }
    out.sort();
    out
}

/// The code outside `#[cfg(test)]` modules (which sit at the end of a file).
fn non_test(text: &str) -> &str {
    text.find("#[cfg(test)]").map_or(text, |i| &text[..i])
}

/// Names that follow `prefix` (`crate::`, `super::`...), including each name of a `{a, b::c}` group.
fn referenced(text: &str, prefix: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for (i, _) in text.match_indices(prefix) {
        let before = text[..i].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
            continue;
        }
        let rest = &text[i + prefix.len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let body = &group[..group.find('}').unwrap_or(group.len())];
            for item in body.split(',') {
                let name: String = item
                    .trim()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                names.insert(name);
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            names.insert(name);
        }
    }
    names.retain(|n| !n.is_empty() && n != "self");
    names
}

/// A cycle in `graph`, if there is one.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|n| n == node) {
            let mut cycle = path[start..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(c) = visit(next, graph, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|n| visit(n, graph, &mut Vec::new(), &mut done))
}

/// The top-level part a file belongs to (`pose` for `pose/peaks.rs`), for library files.
fn part_of(path: &Path) -> Option<String> {
    let mut parts = path.components();
    let first = parts.next()?.as_os_str().to_str()?.to_string();
    (parts.next().is_some() && first != "cli").then_some(first)
}

#[test]
fn the_top_of_src_holds_only_lib_main_and_folders() {
    let mut loose: Vec<String> = std::fs::read_dir(src())
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n != "lib.rs" && n != "main.rs")
        .collect();
    loose.sort();
    assert!(loose.is_empty(), "loose files in src/: {loose:?}");
}

#[test]
fn no_source_file_is_longer_than_600_lines() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut all = files_below(&src(), &root);
    all.extend(files_below(&root.join("tests"), &root));
    let long: Vec<String> = all
        .into_iter()
        .filter(|(_, text)| text.lines().count() > MAX_LINES)
        .map(|(path, text)| format!("{} ({} lines)", path.display(), text.lines().count()))
        .collect();
    assert!(long.is_empty(), "over {MAX_LINES} lines: {long:?}");
}

#[test]
fn library_errors_are_types_not_strings() {
    let offenders: Vec<String> = sources(&src())
        .into_iter()
        .filter(|(path, _)| part_of(path).is_some())
        .filter_map(|(path, text)| {
            let code: String = text.split_whitespace().collect();
            // `Result<…, String>`: a `, String>` whose opening `<` follows `Result`.
            let hits = code
                .match_indices(",String>")
                .filter(|(i, _)| {
                    let head = &code[..*i];
                    head[..head.rfind('<').unwrap_or(0)].ends_with("Result")
                })
                .count();
            (hits > 0).then(|| format!("{} ({hits})", path.display()))
        })
        .collect();
    assert!(
        offenders.is_empty(),
        "Result<_, String> in library code: {offenders:?}"
    );
}

#[test]
fn top_level_parts_do_not_import_each_other_in_a_circle() {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let parts: BTreeSet<String> = sources(&src())
        .iter()
        .filter_map(|(p, _)| part_of(p))
        .collect();
    for (path, text) in sources(&src()) {
        let Some(part) = part_of(&path) else { continue };
        let uses: BTreeSet<String> = referenced(non_test(&text), "crate::")
            .into_iter()
            .filter(|n| parts.contains(n) && *n != part)
            .collect();
        graph.entry(part).or_default().extend(uses);
    }
    assert!(graph.len() >= 8, "parts found: {:?}", graph.keys());
    assert_eq!(
        find_cycle(&graph),
        None,
        "parts import each other: {graph:?}"
    );
}

#[test]
fn sibling_files_do_not_import_each_other_in_a_circle() {
    let mut folders: BTreeMap<PathBuf, Vec<(String, String)>> = BTreeMap::new();
    for (path, text) in sources(&src()) {
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        if stem == "mod" || path.parent().is_none_or(|p| p.as_os_str().is_empty()) {
            continue;
        }
        let folder = path.parent().unwrap().to_path_buf();
        folders.entry(folder).or_default().push((stem, text));
    }
    for (folder, files) in folders {
        let names: BTreeSet<&String> = files.iter().map(|(n, _)| n).collect();
        let prefix = format!(
            "crate::{}::",
            folder.display().to_string().replace('/', "::")
        );
        let graph: BTreeMap<String, BTreeSet<String>> = files
            .iter()
            .map(|(name, text)| {
                let code = non_test(text);
                let mut uses = referenced(code, "super::");
                uses.extend(referenced(code, &prefix));
                uses.retain(|u| names.contains(u) && u != name);
                (name.clone(), uses)
            })
            .collect();
        assert_eq!(
            find_cycle(&graph),
            None,
            "files of src/{} import each other: {graph:?}",
            folder.display()
        );
    }
}

#[test]
fn only_tests_and_benchmarks_use_the_testkit() {
    let users: Vec<String> = sources(&src())
        .into_iter()
        .filter(|(path, _)| {
            !path.starts_with("testkit")
                && !path.starts_with("cli/bench")
                && path != Path::new("lib.rs")
        })
        .filter(|(_, text)| non_test(text).contains("testkit"))
        .map(|(path, _)| path.display().to_string())
        .collect();
    assert!(
        users.is_empty(),
        "pipeline code uses the testkit: {users:?}"
    );
}

#[test]
fn the_cycle_finder_finds_cycles() {
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("a", vec!["b"]),
        ("b", vec!["c"]),
        ("c", vec!["a"]),
        ("d", vec![]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.into_iter().map(String::from).collect()))
    .collect();
    assert_eq!(
        find_cycle(&graph),
        Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
    );
    let names = referenced(
        "use crate::{io::image, pose};\nlet x = crate::track::T;",
        "crate::",
    );
    assert_eq!(
        names,
        ["io", "pose", "track"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    );
}
