//! The fuzz target is a workspace of its own (`fuzz/`, for cargo-fuzz), with its own
//! lock file, which `.ci/run` builds `--locked`. When a workspace crate it uses changes
//! version or dependencies, that lock goes stale and only CI finds out: this finds out
//! first, without the network, from the two locks and the crates' manifests.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The path crates of a lock file (entries without a `source`): name → (version, deps).
fn path_crates(lock: &str) -> BTreeMap<String, (String, BTreeSet<String>)> {
    lock.split("[[package]]")
        .skip(1)
        .filter(|entry| !entry.contains("\nsource = "))
        .filter_map(|entry| {
            let field = |key: &str| {
                entry
                    .lines()
                    .find_map(|l| l.strip_prefix(key))
                    .map(|v| v.trim_matches('"').to_owned())
            };
            let deps = entry
                .split_once("dependencies = [")
                .map(|(_, rest)| rest.split(']').next().unwrap_or_default())
                .unwrap_or_default()
                .split(',')
                .map(|d| {
                    d.trim().trim_matches('"').split(' ').next().unwrap_or_default().to_owned()
                })
                .filter(|d| !d.is_empty())
                .collect();
            Some((field("name = ")?, (field("version = ")?, deps)))
        })
        .collect()
}

/// The names under `[dependencies]` of a manifest (not dev- or build-dependencies).
fn normal_dependencies(manifest: &str) -> BTreeSet<String> {
    manifest
        .split("\n[")
        .find(|section| section.starts_with("dependencies]"))
        .unwrap_or_default()
        .lines()
        .skip(1)
        .filter_map(|l| l.split(['.', ' ', '=']).next())
        .filter(|name| !name.is_empty() && !name.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_fuzz_lock_agrees_with_the_workspace() {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let read = |path: &Path| {
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    };
    let workspace = path_crates(&read(&here.join("../../Cargo.lock")));
    let fuzz = path_crates(&read(&here.join("fuzz/Cargo.lock")));
    assert!(fuzz.contains_key("idr-ql"), "the fuzz lock names no idr-ql: {fuzz:?}");
    let fix = |name: &str| {
        format!("run `cargo update --manifest-path crates/idr-ql/fuzz/Cargo.toml -p {name}`")
    };
    for (name, (version, deps)) in fuzz.iter().filter(|(name, _)| *name != "idr-ql-fuzz") {
        let (wanted, _) = &workspace[name];
        assert_eq!(version, wanted, "{name}'s version in fuzz/Cargo.lock: {}", fix(name));
        let manifest = read(&here.join(format!("../{name}/Cargo.toml")));
        assert_eq!(
            deps,
            &normal_dependencies(&manifest),
            "{name}'s dependencies in fuzz/Cargo.lock: {}",
            fix(name)
        );
    }
}
