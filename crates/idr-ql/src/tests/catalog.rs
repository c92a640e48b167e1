//! The bundled catalog (`data/catalog.tsv`) is generated here from the upstream
//! recordings, and rewritten when stale, so it cannot drift from them.
//!
//! Sources: the search engine's key list, every key/value pair of the image searches
//! (`search`, `submitquery`) and of the map-annotation recordings (with their namespace,
//! unless the recording's provenance says its namespaces are inferred),
//! and the values of the
//! `searchvaluesusingkey` recordings with their image counts. Counts that a recording's
//! provenance marks as placeholders are left out (see tests/fixtures/upstream/README.md).

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

use crate::{Catalog, KeyInfo, ValueInfo};

fn generate(dir: &Path) -> Catalog {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let mut keys: Vec<KeyInfo> = Vec::new();
    let mut values: Vec<(String, Vec<ValueInfo>)> = Vec::new();
    let key = |name: &str, namespace: Option<&str>| KeyInfo {
        name: name.to_owned(),
        namespace: namespace.map(str::to_owned),
        images: None,
    };
    let value = |v: &str, images: Option<u64>| ValueInfo { value: v.to_owned(), images };
    for path in files {
        let recording: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let request_path = recording["request"]["path"].as_str().unwrap_or("");
        let body = &recording["response"]["body"];
        if request_path.ends_with("/image/keys/") {
            for entry in body.as_array().into_iter().flatten() {
                for name in entry["image"].as_array().into_iter().flatten() {
                    keys.push(key(name.as_str().unwrap(), None));
                }
            }
        } else if request_path.ends_with("/image/search/")
            || request_path.ends_with("/submitquery/")
        {
            for hit in body["results"]["results"].as_array().into_iter().flatten() {
                for pair in hit["key_values"].as_array().into_iter().flatten() {
                    let name = pair["name"].as_str().unwrap();
                    keys.push(key(name, None));
                    values.push((
                        name.to_owned(),
                        vec![value(pair["value"].as_str().unwrap(), None)],
                    ));
                }
            }
        } else if request_path.ends_with("/searchvaluesusingkey/") {
            let placeholder_counts = placeholder_counts(&recording["provenance"]);
            for bucket in body["data"].as_array().into_iter().flatten() {
                let name = bucket["Key"].as_str().unwrap();
                let count =
                    bucket["Number of images"].as_u64().filter(|n| !placeholder_counts.contains(n));
                keys.push(key(name, None));
                values
                    .push((name.to_owned(), vec![value(bucket["Value"].as_str().unwrap(), count)]));
            }
        } else if request_path.ends_with("/webclient/api/annotations/") {
            // A recording whose namespaces are inferred (its provenance says so) gives
            // keys and values, but not namespaces.
            let inferred_ns = recording["provenance"]["placeholders"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .any(|p| p.contains("namespaces"));
            for annotation in body["annotations"].as_array().into_iter().flatten() {
                let namespace = annotation["ns"].as_str().filter(|_| !inferred_ns);
                for pair in annotation["values"].as_array().into_iter().flatten() {
                    let name = pair[0].as_str().unwrap();
                    keys.push(key(name, namespace));
                    values.push((name.to_owned(), vec![value(pair[1].as_str().unwrap(), None)]));
                }
            }
        }
    }
    // Keys first seen without a namespace get it from a later annotation recording.
    let with_ns: Vec<KeyInfo> = keys.iter().filter(|k| k.namespace.is_some()).cloned().collect();
    Catalog::from_parts(with_ns.into_iter().chain(keys), values)
}

/// The counts a recording's provenance names as placeholders, such as the `(999)` in
/// "data[*].'Number of images' except the ade8 bucket (999)".
fn placeholder_counts(provenance: &Value) -> BTreeSet<u64> {
    let mut counts = BTreeSet::new();
    for text in
        provenance["placeholders"].as_array().into_iter().flatten().filter_map(Value::as_str)
    {
        if !text.contains("Number of images") {
            continue;
        }
        for part in text.split('(').skip(1) {
            if let Some(n) = part.split(')').next().and_then(|n| n.trim().parse().ok()) {
                counts.insert(n);
            }
        }
    }
    counts
}

#[test]
fn bundled_catalog_is_fresh() {
    let catalog = generate(&idr_test_support::fixtures_dir());
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/catalog.tsv");
    idr_test_support::check_file_fresh(&path, &catalog.to_tsv());
}

#[test]
fn bundled_catalog_round_trips_and_knows_the_recorded_facts() {
    let catalog = Catalog::bundled();
    assert_eq!(Catalog::from_tsv(&catalog.to_tsv()), catalog);
    let gene = catalog.key("gene symbol").expect("Gene Symbol is a known key");
    assert_eq!(gene.name, "Gene Symbol");
    assert_eq!(gene.namespace.as_deref(), Some("openmicroscopy.org/mapr/gene"));
    assert_eq!(catalog.value("Gene Symbol", "ADE8").and_then(|v| v.images), Some(41));
    // The other counts in that recording are placeholders and must not be bundled.
    assert_eq!(catalog.value("Gene Symbol", "zzz3").map(|v| v.images), Some(None));
    assert!(catalog.value("Gene Symbol", " ciz1").is_some(), "values keep their real spaces");
    assert!(catalog.key("Study Title").is_some(), "screen annotation keys are known");
    assert!(catalog.key("siRNA Pool Identifier").is_some(), "search-engine keys are known");
}
