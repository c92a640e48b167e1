//! IDR-QL through the real binary against generated IDRs: `idr query --format json
//! --upstream <generated IDR>` prints the rows a reference evaluation of the query on the
//! world's ground truth selects (image searches with every operator, nested `and` / `or` /
//! `not` and every scope, and the lists a query filters itself), with IDR's engine page
//! size and with one of 7.

use std::sync::Arc;

use idr_test_support::{Faults, Filter, Kind, ReplayServer, Scope, Settings, Size, World};
use serde_json::Value;

/// Runs one query; the ids of the rows, or what went wrong.
fn query(upstream: &str, text: &str) -> Result<Vec<u64>, String> {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_idr"))
        .args(["query", text, "--upstream", upstream, "--format", "json"])
        .env("RUST_LOG", "error")
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!("exit {}: {}", out.status, String::from_utf8_lossy(&out.stderr)));
    }
    // A list of {query, rows}, here of one query.
    let answer: Value = serde_json::from_slice(&out.stdout).map_err(|e| e.to_string())?;
    answer[0]["rows"]
        .as_array()
        .ok_or(format!("not a list of one query's rows: {answer}"))?
        .iter()
        .map(|row| {
            row["id"].as_str().and_then(|id| id.parse().ok()).ok_or(format!("bad row {row}"))
        })
        .collect()
}

fn quoted(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_default()
}

#[test]
fn idr_query_prints_what_the_reference_selects() {
    let worlds =
        [(21, Settings::default()), (22, Settings { engine_page_size: 7, ..Settings::default() })];
    for (seed, settings) in worlds {
        let size =
            Size { screens: 2, plates: 2, projects: 2, datasets: 2, images: 6, ..Size::small() };
        let world = Arc::new(World::generate(seed, size, settings));
        let server = ReplayServer::start(world.clone(), Faults::default());
        let upstream = server.url();
        let mut rng = fastrand::Rng::with_seed(seed);
        let mut cases: Vec<(String, Vec<u64>)> = Vec::new();
        // Image searches, narrowed by a condition the engine runs, in every scope.
        let vocabulary = world.vocabulary(Kind::Image);
        let screen = *world.screens.keys().next().expect("a screen");
        let project = *world.projects.keys().next().expect("a project");
        let scopes = [
            (Scope::Everywhere, String::new()),
            (Scope::Screen(screen), format!("in screen {screen} ")),
            (Scope::Project(project), format!("in project {project} ")),
            (
                Scope::Study(world.screens[&screen].name.clone()),
                format!("in study {} ", quoted(&world.screens[&screen].name)),
            ),
        ];
        while cases.len() < 12 {
            let filter =
                Filter::All(vec![vocabulary.anchor(&mut rng), vocabulary.filter(&mut rng, 2)]);
            let Some(condition) = filter.idrql().filter(|c| !c.contains("~ \"\"")) else {
                continue;
            };
            let (scope, scope_text) = &scopes[cases.len() % scopes.len()];
            cases.push((
                format!("images {scope_text}where {condition}"),
                world.search(&filter, scope),
            ));
        }
        // Lists filtered by the server itself.
        let plate = world.screens[&screen].plates[0];
        let wells = world.vocabulary(Kind::Well);
        let plate_wells: Vec<u64> = {
            let mut ids = world.plates[&plate].wells.clone();
            ids.sort_by_key(|id| (world.wells[id].row, world.wells[id].column));
            ids.retain(|id| world.wells[id].images[0].is_some());
            ids
        };
        for _ in 0..3 {
            let filter = wells.filter(&mut rng, 2);
            let Some(condition) = filter.idrql().filter(|c| !c.contains("~ \"\"")) else {
                continue;
            };
            let want = plate_wells
                .iter()
                .copied()
                .filter(|w| world.object_matches(Kind::Well, *w, &filter))
                .collect();
            cases.push((format!("wells in plate {plate} where {condition}"), want));
        }
        let dataset = world.projects[&project].datasets[0];
        let images = world.vocabulary(Kind::Image);
        for _ in 0..3 {
            let filter = images.filter(&mut rng, 2);
            let Some(condition) = filter.idrql().filter(|c| !c.contains("~ \"\"")) else {
                continue;
            };
            let want = world.datasets[&dataset]
                .images
                .iter()
                .copied()
                .filter(|i| world.object_matches(Kind::Image, *i, &filter))
                .collect();
            cases.push((format!("images in dataset {dataset} where {condition}"), want));
        }
        let mut failures = Vec::new();
        let mut found = 0;
        for (text, want) in &cases {
            match query(&upstream, text) {
                Ok(got) if got == *want => found += usize::from(!want.is_empty()),
                Ok(got) => failures.push(format!("{text}\n    got  {got:?}\n    want {want:?}")),
                Err(e) => failures.push(format!("{text}: {e}")),
            }
        }
        assert!(
            failures.is_empty(),
            "seed {seed}: {} of {} queries differ:\n  {}",
            failures.len(),
            cases.len(),
            failures.join("\n  ")
        );
        assert!(
            found * 3 >= cases.len(),
            "seed {seed}: only {found} of {} queries found anything",
            cases.len()
        );
    }
}
