//! `where` filters over the recordings: any boolean tree gets the right answer, whether
//! the search engine runs it or it is checked here.

use serde_json::{json, Value};

use super::{offline_schema, run};

/// Runs `query` offline and returns its `data`, failing on any error.
async fn check(query: &str) -> Value {
    let (schema, _) = offline_schema();
    let response = run(&schema, query).await;
    assert!(response.get("errors").is_none(), "unexpected errors: {response}");
    response["data"].clone()
}

fn ids(nodes: &Value) -> Vec<&str> {
    nodes.as_array().unwrap().iter().map(|n| n["id"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn not_is_evaluated_on_the_hits() {
    // 41 ade8 hits, 3 of them under DTT: `not` keeps the other 38, including the 26 hits
    // that have no Environmental Stress at all.
    let data = check(r#"{ searchImages(where: {all: [{key: "Gene Symbol", value: "ade8"}, {not: {key: "Environmental Stress", value: "dithiothreitol"}}]}, first: 100) { totalCount nodes { id } } }"#).await;
    assert_eq!(data["searchImages"]["totalCount"], 38);
    assert_eq!(data["searchImages"]["nodes"].as_array().unwrap().len(), 38);
}

#[tokio::test]
async fn names_filter_plates_and_images() {
    let data = check(r#"{ screen(id: 102) { plates(where: {key: "name", op: CONTAINS, value: "PLATE3"}) { totalCount nodes { name } } } }"#).await;
    assert_eq!(data["screen"]["plates"]["totalCount"], 4);
    let data = check(r#"{ plate(id: 4554) { images(where: {key: "name", op: CONTAINS, value: "Well 96,"}) { id } } }"#).await;
    assert_eq!(ids(&data["plate"]["images"]), ["Image:1938578"]);
    let data = check(r#"{ plate(id: 4554) { wells(where: {any: [{key: "name", value: "a1"}, {key: "name", value: "H12"}]}) { label } } }"#).await;
    assert_eq!(data["plate"]["wells"], json!([{"label": "A1"}, {"label": "H12"}]));
}

#[tokio::test]
async fn screens_filter_by_name() {
    let data = check(r#"{ screens(where: {key: "name", op: CONTAINS, value: "idr0002"}) { totalCount nodes { id name } } }"#).await;
    assert_eq!(
        data["screens"],
        json!({"totalCount": 1, "nodes": [{"id": "Screen:102", "name": "idr0002-heriche-condensation/screenA"}]})
    );
}

#[tokio::test]
async fn values_of_one_key() {
    let data = check(
        r#"{ image(id: 122770) { values(key: "gene symbol") } well(id: 45217) { images { id } } }"#,
    )
    .await;
    assert_eq!(data["image"]["values"], json!(["ECT2"]));
}

#[tokio::test]
async fn a_filter_with_nothing_the_engine_can_run_is_refused_plainly() {
    let (schema, seen) = offline_schema();
    let response = run(
        &schema,
        r#"{ searchImages(where: {not: {key: "Gene Symbol", value: "ade8"}}) { totalCount } }"#,
    )
    .await;
    assert_eq!(response["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    assert!(seen.lock().unwrap().is_empty());
}

#[tokio::test]
async fn malformed_trees_are_bad_user_input() {
    let (schema, _) = offline_schema();
    for filter in [
        r#"{key: "a", value: "b", all: [{key: "c", value: "d"}]}"#,
        r#"{all: []}"#,
        r#"{key: "a", op: IN, values: []}"#,
        r#"{key: "a", op: IN, value: "b"}"#,
    ] {
        let response =
            run(&schema, &format!("{{ searchImages(where: {filter}) {{ totalCount }} }}")).await;
        assert_eq!(response["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{filter}");
    }
}
