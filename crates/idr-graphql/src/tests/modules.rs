//! The crate's modules depend on each other one way (ARCHITECTURE.md draws the layers):
//! each module names only modules of lower layers, so there is no cycle. A new module
//! must be given a layer here.

use std::collections::BTreeMap;

/// Bottom to top; a module may use the modules of the layers below its own.
const LAYERS: &[&[&str]] = &[
    &["error", "nesting", "shape", "operation"],
    &["ids"],
    &["loaders", "connection", "inputs", "limits", "variables"],
    &["context", "args", "complete", "documents", "persisted"],
    &["objects"],
    &["node"],
    &["search", "studies"],
    &["query"],
];

/// The modules each module of `src/` names as `crate::<module>` outside comments.
fn dependencies() -> BTreeMap<String, Vec<String>> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(&dir).expect("src/") {
        let path = entry.expect("an entry").path();
        let Some(name) = path.file_stem().and_then(|s| s.to_str()) else { continue };
        // A module is a file `x.rs`, or a folder `x/` whose files are all of it.
        let files: Vec<std::path::PathBuf> = if path.is_dir() {
            std::fs::read_dir(&path)
                .expect("a module folder")
                .map(|e| e.expect("an entry").path())
                .filter(|p| p.extension().is_some_and(|e| e == "rs"))
                .collect()
        } else if path.extension().is_some_and(|e| e == "rs") {
            vec![path.clone()]
        } else {
            continue;
        };
        if name == "lib" || name == "tests" {
            continue;
        }
        let text: String = files
            .iter()
            .map(|f| std::fs::read_to_string(f).expect("a source file"))
            .collect::<Vec<_>>()
            .join("\n");
        assert!(!text.contains("crate::{"), "{name}: write one `use crate::<module>` a line");
        let mut deps: Vec<String> = text
            .lines()
            .filter(|line| !line.trim_start().starts_with("//"))
            .flat_map(|line| line.match_indices("crate::").map(move |(i, _)| &line[i + 7..]))
            .map(|rest| {
                rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect()
            })
            .filter(|dep: &String| !dep.is_empty() && dep != name)
            .collect();
        deps.sort();
        deps.dedup();
        out.insert(name.to_owned(), deps);
    }
    out
}

fn layer(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

#[test]
fn modules_depend_on_lower_layers_only() {
    let deps = dependencies();
    assert!(deps.len() >= 10, "found only {deps:?}");
    let mut problems = Vec::new();
    for (module, uses) in &deps {
        // `crate::Item` or `crate::function`: an item of the crate root, which is above
        // every module (it wires them); an item a module needs belongs in a module.
        for dep in uses.iter().filter(|d| !deps.contains_key(*d)) {
            problems.push(format!("`{module}` uses `crate::{dep}` of the crate root"));
        }
        let uses: Vec<&String> = uses.iter().filter(|d| deps.contains_key(*d)).collect();
        let Some(own) = layer(module) else {
            problems.push(format!("`{module}` has no layer in LAYERS"));
            continue;
        };
        for dep in uses {
            match layer(dep) {
                Some(l) if l < own => {}
                Some(_) => problems.push(format!("`{module}` uses `{dep}`, which is not below it")),
                None => problems.push(format!("`{module}` uses `{dep}`, which has no layer")),
            }
        }
    }
    assert!(problems.is_empty(), "{}\n\nall dependencies: {deps:#?}", problems.join("\n"));
}

#[test]
fn the_dependency_scan_sees_imports_and_paths() {
    let deps = dependencies();
    // `use crate::connection::…` in search.rs, and a `crate::…` path in an expression;
    // a module folder's files count.
    assert!(deps["search"].contains(&"connection".to_owned()), "{deps:?}");
    assert!(deps["objects"].contains(&"loaders".to_owned()), "{deps:?}");
    assert!(deps["query"].contains(&"search".to_owned()), "{deps:?}");
}
