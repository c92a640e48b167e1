//! The recording store: exact matches, annotation lists composed from per-object
//! recordings, POSTs matched by their JSON body, and loud failures naming the nearest
//! recordings. A small hand-written store keeps the expectations exact; the last tests
//! load the repository's recordings.

use std::sync::Arc;

use serde_json::json;

use super::fixtures;
use crate::model::{AnnotationBody, AnnotationType, ObjectKind};
use crate::recording::{LoadError, RecordingStore};
use crate::{ClientConfig, Error, IdrClient, RecordedUpstream, Request};

fn annotation(id: u64, ns: Option<&str>, class: &str, parent: u64) -> serde_json::Value {
    json!({"id": id, "ns": ns, "class": "MapAnnotationI", "values": [["k", id.to_string()]],
           "link": {"id": id + 100, "parent": {"id": parent, "class": class}}})
}

fn get(query: serde_json::Value, body: serde_json::Value) -> serde_json::Value {
    json!({"request": {"method": "GET", "path": "/webclient/api/annotations/", "query": query, "body": null},
           "response": {"status": 200, "content_type": "application/json", "body": body}})
}

fn store() -> RecordingStore {
    let experimenter = |id: u64| json!({"id": id, "omeName": format!("user{id}")});
    let files = [
        get(
            json!([["image", "1"], ["type", "map"]]),
            json!({"annotations": [annotation(10, Some("b"), "ImageI", 1)], "experimenters": [experimenter(2)]}),
        ),
        // One recording for two images: the store splits it per image.
        get(
            json!([["image", "2"], ["image", "3"], ["type", "map"]]),
            json!({"annotations": [annotation(11, Some("a"), "ImageI", 2), annotation(12, None, "ImageI", 3)],
                   "experimenters": [experimenter(5), experimenter(2)]}),
        ),
        get(
            json!([["type", "map"], ["well", "7"]]),
            json!({"annotations": [annotation(13, None, "WellI", 7)], "experimenters": []}),
        ),
        json!({"request": {"method": "GET", "path": "/webclient/imgData/1/", "query": [], "body": null},
               "response": {"status": 200, "content_type": "application/json", "body": {"id": 1}}}),
        json!({"request": {"method": "GET", "path": "/webclient/imgData/999/", "query": [], "body": null},
               "response": {"status": 403, "content_type": null, "body_text": ""}}),
        json!({"request": {"method": "GET", "path": "/webgateway/render_thumbnail/1/", "query": [], "body": null},
               "response": {"status": 200, "content_type": "image/jpeg", "body_base64": "/9j/4AAQ"}}),
        json!({"request": {"method": "POST", "path": "/searchengine/api/v1/resources/submitquery/", "query": [],
                           "body": {"query_details": {"and_filters": [{"name": "Gene Symbol", "operator": "in", "resource": "image", "value": ["ade8", "cdc20"]}], "or_filters": [], "case_sensitive": false}}},
               "response": {"status": 200, "content_type": "application/json", "body": {"Error": "none", "answer": "in"}}}),
        json!({"request": {"method": "POST", "path": "/searchengine/api/v1/resources/submitquery/", "query": [],
                           "body": {"query_details": {"and_filters": [{"name": "Gene Symbol", "operator": "equals", "resource": "image", "value": "ade8"}], "or_filters": [], "case_sensitive": false}}},
               "response": {"status": 200, "content_type": "application/json", "body": {"Error": "none", "answer": "equals"}}}),
    ];
    RecordingStore::from_values(&files).unwrap()
}

/// Answers `req` from the hand-written store: status, content type and body text, or the error.
fn check(req: Request, expect: &str) {
    let actual = match store().answer(&req) {
        Ok(resp) => {
            let body = match String::from_utf8(resp.body.to_vec()) {
                Ok(text) if text.is_empty() => "(empty)".to_owned(),
                Ok(text) => text,
                Err(e) => format!("{:?}", e.as_bytes()),
            };
            format!("{} {} {body}", resp.status, resp.content_type.as_deref().unwrap_or("-"))
        }
        Err(e) => format!("{e}"),
    };
    assert_eq!(actual, expect.trim());
}

fn annotations(ids: &[(&str, u64)]) -> Request {
    ids.iter()
        .fold(Request::get("/webclient/api/annotations/").param("type", "map"), |r, (k, id)| {
            r.param(k, id)
        })
}

fn search(operator: &str, value: serde_json::Value) -> Request {
    // Keys in another order than recorded: bodies are compared as JSON values.
    Request::post_json(
        "/searchengine/api/v1/resources/submitquery/",
        &json!({"query_details": {"case_sensitive": false, "or_filters": [], "and_filters": [{"value": value, "resource": "image", "operator": operator, "name": "Gene Symbol"}]}}),
    )
}

#[test]
fn exact_match() {
    check(Request::get("/webclient/imgData/1/"), r#"200 application/json {"id":1}"#);
}

#[test]
fn empty_body_with_403() {
    check(Request::get("/webclient/imgData/999/"), "403 - (empty)");
}

#[test]
fn binary_body() {
    check(
        Request::get("/webgateway/render_thumbnail/1/"),
        "200 image/jpeg [255, 216, 255, 224, 0, 16]",
    );
}

#[test]
fn annotations_of_one_image_from_a_two_image_recording() {
    check(
        annotations(&[("image", 3)]),
        r#"200 application/json {"annotations":[{"id":12,"ns":null,"class":"MapAnnotationI","values":[["k","12"]],"link":{"id":112,"parent":{"id":3,"class":"ImageI"}}}],"experimenters":[{"id":2,"omeName":"user2"},{"id":5,"omeName":"user5"}]}"#,
    );
}

#[test]
fn annotations_composed_in_server_order() {
    // Kinds in OMERO's order (image before well), then by namespace with null last.
    let composed = store()
        .answer(&annotations(&[("well", 7), ("image", 3), ("image", 1), ("image", 2)]))
        .unwrap();
    let body: serde_json::Value = serde_json::from_slice(&composed.body).unwrap();
    let ids: Vec<u64> =
        body["annotations"].as_array().unwrap().iter().map(|a| a["id"].as_u64().unwrap()).collect();
    let experimenters: Vec<u64> = body["experimenters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_u64().unwrap())
        .collect();
    assert_eq!((ids, experimenters), (vec![11, 10, 12, 13], vec![2, 5]));
}

#[test]
fn annotations_with_one_unrecorded_id_are_not_recorded() {
    check(
        annotations(&[("image", 1), ("image", 4)]),
        "no recording for GET /webclient/api/annotations/?image=1&image=4&type=map; nearest recorded: GET /webclient/api/annotations/?image=1&type=map, GET /webclient/api/annotations/?image=2&image=3&type=map, GET /webclient/api/annotations/?type=map&well=7",
    );
}

#[test]
fn annotations_of_another_type_are_not_composed() {
    check(
        Request::get("/webclient/api/annotations/").param("type", "file").param("image", 1),
        "no recording for GET /webclient/api/annotations/?image=1&type=file; nearest recorded: GET /webclient/api/annotations/?image=1&type=map, GET /webclient/api/annotations/?image=2&image=3&type=map, GET /webclient/api/annotations/?type=map&well=7",
    );
}

#[test]
fn unrecorded_request_names_the_nearest() {
    check(
        Request::get("/webclient/imgData/2/"),
        "no recording for GET /webclient/imgData/2/; nearest recorded: GET /webclient/imgData/1/, GET /webclient/imgData/999/, GET /webclient/api/annotations/?image=1&type=map",
    );
}

#[test]
fn post_matched_by_json_body() {
    check(
        search("in", json!(["ade8", "cdc20"])),
        r#"200 application/json {"Error":"none","answer":"in"}"#,
    );
    check(
        search("equals", json!("ade8")),
        r#"200 application/json {"Error":"none","answer":"equals"}"#,
    );
}

#[test]
fn post_with_another_body_is_not_recorded() {
    check(
        search("equals", json!("cdc20")),
        r#"no recording for POST /searchengine/api/v1/resources/submitquery/ {"query_details":{"case_sensitive":false,"or_filters":[],"and_filters":[{"value":"cdc20","resource":"image","operator":"equals","name":"Gene Symbol"}]}}; nearest recorded: POST /searchengine/api/v1/resources/submitquery/, POST /searchengine/api/v1/resources/submitquery/, GET /webclient/api/annotations/?image=1&type=map"#,
    );
}

#[test]
fn bad_recordings_are_refused_with_their_name() {
    let err = RecordingStore::from_files([("broken.json", &b"{\"request\": {}}"[..])]).unwrap_err();
    assert!(matches!(&err, LoadError::Invalid { name, .. } if name == "broken.json"), "{err:?}");
    assert!(err.to_string().starts_with("broken.json: missing field"), "{err}");
}

#[test]
fn a_recording_that_cannot_be_written_is_a_local_error_never_retried() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let store = RecordingStore::from_files([(
        "r.json",
        &br#"{"request": {"method": "GET", "path": "/webclient/api/annotations/", "query": [["image", "1"], ["type", "map"]]}, "response": {"status": 200, "body": {"annotations": []}}}"#[..],
    )])
    .unwrap();
    let missing = std::env::temp_dir().join(format!("idr-no-such-dir-{}", std::process::id()));
    let upstream = crate::RecordingUpstream::new(
        RecordedUpstream::new(Arc::new(store)),
        missing.join("below"),
    );
    let req = Request::get("/webclient/api/annotations/").param("image", 1).param("type", "map");
    let err = rt.block_on(crate::Upstream::send(&upstream, &req)).unwrap_err();
    assert!(matches!(err, Error::Recording { .. }), "{err:?}");
    assert!(!err.is_transient() && !err.is_upstream_failure(), "{err:?}");
}

// The repository's recordings.

#[test]
fn repository_recordings_load() {
    assert!(fixtures().len() >= 30, "only {} recordings", fixtures().len());
}

#[tokio::test]
async fn repository_recordings_compose_a_batch_across_recordings() {
    // Image 122770 has its own recording; the 96 plate-4554 images share one. Only image
    // 122770's 68 pairs are real data (the other list is a placeholder), so only they are
    // checked; that the batch is answered at all shows the composition.
    let client = IdrClient::new(
        RecordedUpstream::new(Arc::new(fixtures().clone())),
        ClientConfig::default(),
    );
    let ids = [122770, 1938559, 1938654];
    let result = client.annotations(AnnotationType::Map, ObjectKind::Image, &ids).await.unwrap();
    let pairs: usize = result[&(ObjectKind::Image, 122770)]
        .iter()
        .map(|a| match &a.body {
            AnnotationBody::Map(pairs) => pairs.len(),
            _ => 0,
        })
        .sum();
    assert_eq!((result.len(), pairs, client.upstream_calls()), (3, 68, 1));
}

#[tokio::test]
async fn repository_recordings_refuse_unknown_requests() {
    let client = IdrClient::new(
        RecordedUpstream::new(Arc::new(fixtures().clone())),
        ClientConfig::default(),
    );
    let err = client.image_data(1).await.unwrap_err();
    let Error::NotRecorded { request, nearest } = err else { panic!("{err:?}") };
    assert_eq!(request, "GET /webclient/imgData/1/");
    assert!(nearest.iter().all(|n| n.starts_with("GET /webclient/imgData/")), "{nearest:?}");
}
