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

/// A map annotation of `ns` on image 1 (no recording holds compounds or antibodies; the
/// keys are IDR's, from its mapr configuration and search terms).
fn map(ns: &str, pairs: &[(&str, &str)]) -> idr_client::model::Annotation {
    idr_client::model::Annotation {
        id: 1,
        namespace: Some(ns.to_owned()),
        description: None,
        parent: idr_client::model::ObjectRef {
            kind: Some(idr_client::model::ObjectKind::Image),
            id: 1,
            name: None,
        },
        body: idr_client::model::AnnotationBody::Map(
            pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
        ),
    }
}

#[test]
fn compounds_and_antibodies_and_what_is_not_biology() {
    use crate::objects::biology::{antibodies, compounds, genes};
    let annotations = [
        map(
            "openmicroscopy.org/mapr/compound",
            &[
                ("Compound Name", "taxol"),
                ("PubChem CID", "36314"),
                ("InChIKey", "RCINICONZNJXQF-MZXODVADSA-N"),
            ],
        ),
        map(
            "openmicroscopy.org/mapr/antibody",
            &[("Antibody", "anti-tubulin"), ("Antibody Identifier", "AB_477579")],
        ),
        // Another namespace with the same keys is not a compound; an empty value is none.
        map("openmicroscopy.org/omero/bulk_annotations", &[("Compound Name", "dmso")]),
        map("openmicroscopy.org/mapr/gene", &[("Gene Symbol", " "), ("Gene Identifier", "")]),
    ];
    let found = compounds(&annotations);
    assert_eq!(found.len(), 1);
    assert_eq!(
        (found[0].name.as_deref(), found[0].pubchem_cid.as_deref()),
        (Some("taxol"), Some("36314"))
    );
    assert_eq!(found[0].inchi_key.as_deref(), Some("RCINICONZNJXQF-MZXODVADSA-N"));
    let found = antibodies(&annotations);
    assert_eq!(
        (found[0].name.as_deref(), found[0].identifier.as_deref()),
        (Some("anti-tubulin"), Some("AB_477579"))
    );
    assert!(
        genes(&annotations).is_empty(),
        "a gene annotation with no symbol and no identifier is no gene"
    );
}
