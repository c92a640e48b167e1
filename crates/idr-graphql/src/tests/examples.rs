//! Every `examples/graphql/*.graphql` runs offline and its response is snapshotted, with
//! the query text in the snapshot's description. Values the recordings mark as placeholders
//! (strings starting with `RECONSTRUCTED`) are redacted so no test asserts on them.

use serde_json::Value;

use super::{offline_schema, repo_root, run};

fn redact_placeholders(value: &mut Value) {
    match value {
        Value::String(s) if s.starts_with("RECONSTRUCTED") => *s = "[placeholder]".to_owned(),
        Value::Array(items) => items.iter_mut().for_each(redact_placeholders),
        Value::Object(map) => map.values_mut().for_each(redact_placeholders),
        _ => {}
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_example_runs_offline() {
    let dir = repo_root().join("examples/graphql");
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.retain(|p| p.extension().is_some_and(|e| e == "graphql"));
    files.sort();
    assert!(files.len() >= 12, "expected the walkthrough examples in {}", dir.display());
    let checker = idr_test_support::ResponseChecker::new(&crate::sdl());
    for path in files {
        let name = path.file_stem().unwrap().to_str().unwrap().to_owned();
        let query = std::fs::read_to_string(&path).unwrap();
        let (schema, _) = offline_schema();
        let mut response = run(&schema, &query).await;
        let broken = checker.violations(&query, None, &response);
        assert!(broken.is_empty(), "{name}: {broken:#?}");
        redact_placeholders(&mut response);
        check_example_expectations(&name, &response);
        let mut settings = insta::Settings::clone_current();
        settings.set_description(query.trim());
        settings.set_sort_maps(true);
        settings.set_omit_expression(true);
        settings.set_snapshot_suffix(name.clone());
        for (selector, why) in placeholder_fields(&name) {
            settings.add_redaction(selector, format!("[placeholder: {why}]"));
        }
        settings.bind(|| insta::assert_json_snapshot!("example", response));
    }
}

/// Fields whose recorded values are placeholders (see tests/fixtures/upstream/README.md),
/// redacted from the snapshots; the real values among them are asserted explicitly.
fn placeholder_fields(name: &str) -> Vec<(&'static str, &'static str)> {
    match name {
        "09-search-values" => {
            vec![(".data.searchValues[].count", "counts other than ade8's are not public")]
        }
        "10-search-images" => vec![(
            ".data.searchImages.nodes[].keyValues",
            "which annotation holds a pair, and so their order, is inferred",
        )],
        "12-nested-screen" => {
            vec![(
                ".data.screen.plates.nodes[].wells[].images[].keyValues",
                "no public annotations of these images",
            )]
        }
        _ => Vec::new(),
    }
}

/// Facts each example must show beyond its snapshot, so a wrongly accepted snapshot still
/// fails.
fn check_example_expectations(name: &str, response: &Value) {
    let data = &response["data"];
    match name {
        "01-screen-study" => {
            assert_eq!(data["screen"]["name"], "idr0002-heriche-condensation/screenA");
            assert_eq!(data["screen"]["annotations"][0]["keyValues"].as_array().unwrap().len(), 16);
        }
        "02-screen-plates" => assert_eq!(data["screen"]["plates"]["totalCount"], 12),
        "03-plate-grid" => {
            let wells = data["plate"]["wells"].as_array().unwrap();
            assert_eq!(wells.len(), 96);
            assert_eq!(wells[95]["label"], "H12");
            assert_eq!(wells[95]["images"][0]["id"], "Image:1938578");
        }
        "05-image-key-values" => {
            let pairs: usize = data["image"]["annotations"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a["keyValues"].as_array().unwrap().len())
                .sum();
            assert_eq!(pairs, 68);
        }
        "07-well-bulk-annotation" => {
            assert_eq!(data["well"]["bulkAnnotation"]["geneSymbol"], "ECT2")
        }
        "09-search-values" => {
            let ade8 = data["searchValues"]
                .as_array()
                .unwrap()
                .iter()
                .find(|v| v["value"] == "ade8")
                .unwrap();
            assert_eq!(ade8["count"], 41);
        }
        "10-search-images" => {
            assert_eq!(data["searchImages"]["totalCount"], 41);
            let nodes = data["searchImages"]["nodes"].as_array().unwrap();
            assert_eq!(nodes.len(), 41);
            // Each hit's key/values are exactly the pairs the search engine printed (real),
            // whatever their order (inferred) across annotations.
            let path = repo_root().join(
                "tests/fixtures/upstream/searchengine_image_search_key-gene-symbol_value-ade8.json",
            );
            let recording: Value =
                serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
            let sorted = |pairs: Vec<(String, String)>| {
                let mut pairs = pairs;
                pairs.sort();
                pairs
            };
            for doc in recording["response"]["body"]["results"]["results"].as_array().unwrap() {
                let id = format!("Image:{}", doc["id"].as_u64().unwrap());
                let node = nodes.iter().find(|n| n["id"] == id.as_str()).unwrap();
                let printed = doc["key_values"].as_array().unwrap().iter().map(|kv| {
                    (
                        kv["name"].as_str().unwrap().to_owned(),
                        kv["value"].as_str().unwrap().to_owned(),
                    )
                });
                let served = node["keyValues"].as_array().unwrap().iter().map(|kv| {
                    (
                        kv["key"].as_str().unwrap().to_owned(),
                        kv["value"].as_str().unwrap().to_owned(),
                    )
                });
                assert_eq!(sorted(served.collect()), sorted(printed.collect()), "hit {id}");
            }
        }
        "12-nested-screen" => {
            let plates = data["screen"]["plates"]["nodes"].as_array().unwrap();
            assert_eq!(plates.len(), 12);
            let with_wells: Vec<_> = plates.iter().filter(|p| p["wells"].is_array()).collect();
            assert_eq!(with_wells.len(), 1, "only plate 4554's grid is recorded");
            assert_eq!(with_wells[0]["wells"].as_array().unwrap().len(), 96);
            let errors = response["errors"].as_array().unwrap();
            assert_eq!(errors.len(), 11);
            assert!(errors.iter().all(|e| e["extensions"]["code"] == "NOT_RECORDED"));
        }
        _ => assert!(
            response.get("errors").is_none(),
            "{name} should run without errors: {response}"
        ),
    }
}
