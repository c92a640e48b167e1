//! Typed biology from the mapr namespaces, on image 122770 of the recordings (all its 68
//! pairs are real): one gene, 13 phenotypes with their CMPO terms, one siRNA, the
//! organism and the cell line.

use serde_json::json;

use super::{offline_schema, run};

#[tokio::test]
async fn image_122770_has_its_gene_thirteen_phenotypes_sirna_organism_and_cell_line() {
    let (schema, seen) = offline_schema();
    let answer = run(
        &schema,
        "{ image(id: 122770) {
            genes { symbol identifier url }
            phenotypes { text termName accession url }
            sirnas { identifier poolIdentifier catalogNumber senseSequence }
            organism { name }
            cellLine { name }
        } }",
    )
    .await;
    assert!(answer.get("errors").is_none(), "{answer}");
    let image = &answer["data"]["image"];
    assert_eq!(
        image["genes"],
        json!([{"symbol": "ECT2", "identifier": "NM_018098", "url": "http://www.ncbi.nlm.nih.gov/nuccore/NM_018098"}])
    );
    let phenotypes = image["phenotypes"].as_array().unwrap();
    assert_eq!(phenotypes.len(), 13);
    assert_eq!(
        phenotypes[0],
        json!({
            "text": "increased actin over nucleus",
            "termName": "increased actin localised to the nucleus",
            "accession": "CMPO_0000294",
            "url": "http://www.ebi.ac.uk/cmpo/CMPO_0000294",
        })
    );
    assert!(phenotypes
        .iter()
        .all(|p| p["accession"].as_str().is_some_and(|a| a.starts_with("CMPO_"))));
    assert!(phenotypes
        .iter()
        .any(|p| p["accession"] == "CMPO_0000128" && p["text"] == "increased cell size"));
    assert_eq!(
        image["sirnas"],
        json!([{"identifier": "ECT2-02", "poolIdentifier": "ECT2", "catalogNumber": "D-006450-02", "senseSequence": "GCACUCACCUUGUAGUUGA"}])
    );
    assert_eq!(image["organism"], json!({"name": "Homo sapiens"}));
    assert_eq!(image["cellLine"], json!({"name": "HeLa"}));
    // All of it from the one annotations call the key/values need too.
    let calls: Vec<String> = seen.lock().unwrap().iter().map(|r| r.to_string()).collect();
    assert_eq!(
        calls.iter().filter(|c| c.contains("/webclient/api/annotations/")).count(),
        1,
        "{calls:?}"
    );
}
