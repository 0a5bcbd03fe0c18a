//! The harness's modules depend on each other in one direction only: no import circles. A circle
//! (cli → context → cli) means neither module can be read, tested or moved without the other.
//!
//! The graph is read from the source text: every `use crate::…`/`use super::…` (braces expanded)
//! and every inline `crate::…`/`super::…` path outside `#[cfg(test)] mod tests` and comments,
//! resolved to the longest module path that exists as a file. A child naming its own ancestor
//! (`use super::*` in a submodule) is not an edge: a module and its parts are one unit.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
};

type Graph = BTreeMap<String, BTreeSet<String>>;

/// `src/host/scenarios/mod.rs` → `["host", "scenarios"]`.
fn module_path(src: &Path, file: &Path) -> Vec<String> {
    let relative = file.strip_prefix(src).unwrap_or(file).with_extension("");
    let mut parts: Vec<String> = relative
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

/// Source text without unit tests and line comments.
fn code_of(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(cut) => &text[..cut],
        None => text,
    };
    text.lines()
        .map(|line| match line.find("//") {
            Some(comment) => &line[..comment],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `a::{b, c::{d, e}}` → `a::b`, `a::c::d`, `a::c::e`.
fn expand(path: &str) -> Vec<String> {
    let Some(open) = path.find('{') else {
        return vec![path.to_string()];
    };
    let (prefix, body) = (
        &path[..open],
        &path[open + 1..path.rfind('}').unwrap_or(path.len())],
    );
    let (mut items, mut depth, mut current) = (Vec::new(), 0, String::new());
    for ch in body.chars() {
        match ch {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(ch);
    }
    items.push(current);
    items
        .iter()
        .filter(|item| !item.trim().is_empty())
        .flat_map(|item| expand(item.trim()))
        .map(|tail| format!("{prefix}{tail}"))
        .collect()
}

/// Every `crate::…`/`super::…` path the code names.
fn named_paths(code: &str) -> Vec<String> {
    let mut paths = Vec::new();
    for statement in code.split(';') {
        let compact: String = statement.chars().filter(|c| !c.is_whitespace()).collect();
        for root in ["usecrate::", "usesuper::"] {
            if let Some(at) = compact.find(root) {
                paths.extend(expand(&compact[at + "use".len()..]));
            }
        }
    }
    let bytes = code.as_bytes();
    for root in ["crate::", "super::"] {
        let mut from = 0;
        while let Some(found) = code[from..].find(root) {
            let start = from + found;
            let mut end = start;
            while end < bytes.len()
                && (bytes[end].is_ascii_alphanumeric() || b"_:".contains(&bytes[end]))
            {
                end += 1;
            }
            paths.push(code[start..end].trim_end_matches(':').to_string());
            from = end.max(start + 1);
        }
    }
    paths
}

/// The module a path names: its longest prefix that is a module file under `src`.
fn resolve(src: &Path, here: &[String], path: &str) -> Option<Vec<String>> {
    let mut parts: Vec<String> = path.split("::").map(str::to_string).collect();
    let mut absolute: Vec<String> = match parts.first().map(String::as_str) {
        Some("crate") => Vec::new(),
        Some("super") => here[..here.len().saturating_sub(1)].to_vec(),
        _ => return None,
    };
    parts.remove(0);
    while parts.first().map(String::as_str) == Some("super") {
        absolute.pop();
        parts.remove(0);
    }
    absolute.extend(parts);
    let mut module = None;
    for len in 1..=absolute.len() {
        let candidate: PathBuf = absolute[..len].iter().collect();
        let as_file = src.join(&candidate).with_extension("rs");
        if as_file.is_file() || src.join(&candidate).join("mod.rs").is_file() {
            module = Some(absolute[..len].to_vec());
        } else {
            break;
        }
    }
    module
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Module → the modules it names, at the depth of the first `depth` path segments.
fn graph(src: &Path, depth: usize) -> Graph {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut graph = Graph::new();
    for file in files {
        let here = module_path(src, &file);
        if here.is_empty() {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        let from = here[..here.len().min(depth)].join("::");
        for path in named_paths(&code_of(&text)) {
            let Some(target) = resolve(src, &here, &path) else {
                continue;
            };
            let to = target[..target.len().min(depth)].join("::");
            let is_ancestor = from == to || from.starts_with(&format!("{to}::"));
            if !is_ancestor {
                graph.entry(from.clone()).or_default().insert(to);
            }
        }
    }
    graph
}

/// One circle of `graph` as `a -> b -> a`, if there is one.
fn circle(graph: &Graph) -> Option<String> {
    fn visit(
        node: &str,
        graph: &Graph,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<String> {
        if let Some(at) = stack.iter().position(|n| n == node) {
            let mut cycle = stack[at..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle.join(" -> "));
        }
        if !done.insert(node.to_string()) {
            return None;
        }
        stack.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(found) = visit(next, graph, stack, done) {
                return Some(found);
            }
        }
        stack.pop();
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
}

#[test]
fn the_modules_of_src_import_each_other_without_circles() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for depth in [1, 2, 3] {
        let graph = graph(&src, depth);
        assert!(
            graph.len() > 10,
            "the scan found only {} modules",
            graph.len()
        );
        if let Some(found) = circle(&graph) {
            panic!("import circle between modules (depth {depth}): {found}");
        }
    }
}

#[test]
fn a_circle_is_found_and_named() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    std::fs::create_dir_all(src.join("host")).unwrap();
    std::fs::write(src.join("lib.rs"), "pub mod cli;\npub mod host;\n").unwrap();
    std::fs::write(src.join("cli.rs"), "use crate::{host::{plan::Plan, x}};\n").unwrap();
    std::fs::write(src.join("host/mod.rs"), "pub mod plan;\nuse super::*;\n").unwrap();
    std::fs::write(
        src.join("host/plan.rs"),
        "// crate::nothing in a comment\nfn f() { crate::cli::run(); }\n",
    )
    .unwrap();
    let found = circle(&graph(src, 1)).expect("cli and host name each other");
    assert_eq!(found, "cli -> host -> cli");
    std::fs::write(
        src.join("host/plan.rs"),
        "// crate::cli::run in a comment\n",
    )
    .unwrap();
    assert_eq!(circle(&graph(src, 1)), None);
}
