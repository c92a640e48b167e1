//! `searchImages` over a made-up search engine: cursors reach every page of a result that
//! spans several engine pages, and `IN` goes to the engine's POST query.

use idr_client::endpoints::search_request;
use idr_client::model::SearchQuery;
use idr_client::recording::RecordingStore;
use idr_filter::{Condition, EngineQuery, Op};
use serde_json::{json, Value};

use super::{run, schema_over};

const TOTAL: u64 = 2_345;
const ENGINE_PAGE: u64 = 1_000;

/// The engine's answer for the page after `bookmark`: ids 1..=TOTAL, 1,000 per page.
fn engine_page(bookmark: Option<u64>) -> Value {
    let start = bookmark.unwrap_or(0) + 1;
    let end = (start + ENGINE_PAGE - 1).min(TOTAL);
    let hits: Vec<Value> = (start..=end)
        .map(|id| json!({"id": id, "name": format!("image {id}"), "key_values": [{"name": "Gene Symbol", "value": "g", "index": 0}]}))
        .collect();
    let mut results = json!({"results": hits, "size": TOTAL, "total_pages": 3, "bookmark": [end]});
    if bookmark.is_none() {
        results["pagination"] =
            json!({"current_page": 1, "next_page": 2, "page_records": [], "total_pages": 3});
    }
    json!({"notice": "", "resource": "image", "results": results})
}

fn recording(request: &idr_client::Request, body: Value) -> String {
    json!({
        "request": {"method": request.method.as_str(), "path": request.path, "query": request.query,
                    "body": request.body.as_deref().map(|b| serde_json::from_str::<Value>(b).unwrap())},
        "response": {"status": 200, "content_type": "application/json", "body": body},
    })
    .to_string()
}

fn engine() -> RecordingStore {
    let query = |op: Op, values: &[&str]| SearchQuery {
        filter: EngineQuery {
            and: vec![Condition {
                key: Some("Gene Symbol".into()),
                op,
                values: values.iter().map(|v| v.to_string()).collect(),
            }],
            ..EngineQuery::default()
        },
        ..SearchQuery::default()
    };
    let single = query(Op::Equals, &["g"]);
    let mut files: Vec<String> = [None, Some(1_000), Some(2_000)]
        .into_iter()
        .map(|bookmark| {
            recording(&search_request(&single, bookmark).unwrap(), engine_page(bookmark))
        })
        .collect();
    let in_list = query(Op::In, &["CDK5RAP2", "CETN2"]);
    let two_hits = json!({"Error": "none", "results": {"results": [{"id": 5, "name": "a"}, {"id": 6, "name": "b"}], "size": 2, "bookmark": [6],
                          "pagination": {"next_page": null}}});
    files.push(recording(&search_request(&in_list, None).unwrap(), two_hits));
    RecordingStore::from_files(files.iter().map(|f| ("synthetic", f.as_bytes()))).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cursors_reach_every_page() {
    let (schema, seen) = schema_over(engine());
    let mut after = Value::Null;
    let mut ids = Vec::new();
    loop {
        let query = format!(
            r#"{{ searchImages(where: {{key: "Gene Symbol", value: "G"}}, first: 100, after: {after}) {{ totalCount pageInfo {{ hasNextPage endCursor }} nodes {{ idrId }} }} }}"#
        );
        let response = run(&schema, &query).await;
        let page = &response["data"]["searchImages"];
        assert_eq!(page["totalCount"], TOTAL, "{response}");
        ids.extend(
            page["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n["idrId"].as_str().unwrap().parse::<u64>().unwrap()),
        );
        if page["pageInfo"]["hasNextPage"] == false {
            break;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(ids, (1..=TOTAL).collect::<Vec<_>>());
    // 24 GraphQL pages, but only the 3 engine pages were fetched (the rest from the cache).
    assert_eq!(seen.lock().unwrap().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_over_one_key_uses_the_engine_query() {
    let (schema, seen) = schema_over(engine());
    let response = run(
        &schema,
        r#"{ searchImages(where: {key: "Gene Symbol", op: IN, values: ["CDK5RAP2", "CETN2"]}) { totalCount nodes { id name } } }"#,
    )
    .await;
    assert_eq!(
        response,
        json!({"data": {"searchImages": {"totalCount": 2, "nodes": [{"id": "Image:5", "name": "a"}, {"id": "Image:6", "name": "b"}]}}})
    );
    assert_eq!(seen.lock().unwrap()[0].path, "/searchengine/api/v1/resources/submitquery/");
}

#[tokio::test]
async fn a_foreign_cursor_is_bad_user_input() {
    let (schema, _) = schema_over(engine());
    let response = run(&schema, r#"{ searchImages(where: {key: "Gene Symbol", value: "g"}, after: "bm90IGEgY3Vyc29y") { totalCount } }"#).await;
    assert_eq!(response["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
}
