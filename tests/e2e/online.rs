//! The binary against an upstream that speaks IDR's API: ids that are in no bundled
//! recording, injected faults, and `idr record` feeding `idr serve --offline`.

use idr_client::recording::RecordingStore;
use idr_test_support::{Faults, ForcedStatus, Redirect, ReplayServer};
use serde_json::{json, Value};

use crate::Idr;

/// A small IDR of made-up objects whose ids appear nowhere in the bundled recordings.
fn synthetic_idr() -> RecordingStore {
    let recording = |path: &str, query: Value, body: Value| {
        json!({"request": {"method": "GET", "path": path, "query": query, "body": null},
               "response": {"status": 200, "content_type": "application/json", "body": body}})
        .to_string()
    };
    let annotation = |id: u64, class: &str, parent: u64, pairs: Value| {
        json!({"id": id, "ns": "openmicroscopy.org/mapr/gene", "class": "MapAnnotationI", "values": pairs,
               "link": {"id": id + 1, "parent": {"id": parent, "class": class}}})
    };
    let cell = |image: u64, well: u64| {
        json!({"type": "Image", "id": image, "name": format!("synthetic {image}"), "description": "",
               "author": "Someone", "date": 1.7e9, "wellId": well, "field": 0,
               "thumb_url": format!("/webgateway/render_thumbnail/{image}/")})
    };
    let files = [
        recording(
            "/api/v0/m/screens/7001/",
            json!([]),
            json!({"data": {"@id": 7001, "Name": "synthetic-screen"}}),
        ),
        recording(
            "/webclient/api/plates/",
            json!([["id", "7001"], ["page", "0"]]),
            json!({"plates": [{"id": 7101, "name": "P1", "ownerId": 2, "childCount": 1, "permsCss": ""}]}),
        ),
        recording(
            "/webgateway/plate/7101/0/",
            json!([]),
            json!({"grid": [[cell(7201, 7301), null], [null, cell(7202, 7302)]], "collabels": [1, 2], "rowlabels": ["A", "B"], "image_sizes": []}),
        ),
        recording(
            "/webclient/api/annotations/",
            json!([["image", "7201"], ["image", "7202"], ["type", "map"]]),
            json!({"annotations": [
                annotation(9001, "ImageI", 7201, json!([["Gene Symbol", "abc1"]])),
                annotation(9003, "ImageI", 7202, json!([["Gene Symbol", "xyz2"], ["Gene Symbol", "xyz3"]])),
            ], "experimenters": []}),
        ),
    ];
    RecordingStore::from_files(
        files.iter().enumerate().map(|(i, text)| (["a", "b", "c", "d"][i], text.as_bytes())),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ids_outside_the_recordings_answer_correctly() {
    let replay = ReplayServer::start(synthetic_idr(), Faults::default());
    let idr = Idr::serve(&["--upstream", &replay.url()]);
    let (_, body) = idr
        .post("{ screen(id: 7001) { name plates { nodes { name rowLabels wells { label images { id thumbnailUrl keyValues { key value } } } } } } }")
        .await;
    let base = replay.url();
    assert_eq!(
        body,
        json!({"data": {"screen": {"name": "synthetic-screen", "plates": {"nodes": [{"name": "P1", "rowLabels": ["A", "B"], "wells": [
            {"label": "A1", "images": [{"id": "Image:7201", "thumbnailUrl": format!("{base}/webgateway/render_thumbnail/7201/"),
                "keyValues": [{"key": "Gene Symbol", "value": "abc1"}]}]},
            {"label": "B2", "images": [{"id": "Image:7202", "thumbnailUrl": format!("{base}/webgateway/render_thumbnail/7202/"),
                "keyValues": [{"key": "Gene Symbol", "value": "xyz2"}, {"key": "Gene Symbol", "value": "xyz3"}]}]},
        ]}]}}}})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_upstream_call_times_out_alone() {
    let replay = ReplayServer::start(
        idr_test_support::load_fixtures(),
        Faults { hang: Some("/webclient/imgData/".to_owned()), ..Faults::default() },
    );
    let idr = Idr::serve(&["--upstream", &replay.url(), "--upstream-timeout", "1"]);
    let (status, body) = idr.post("{ image(id: 122770) { name } screen(id: 102) { name } }").await;
    assert_eq!(status, 200);
    assert_eq!(
        body["data"],
        json!({"image": null, "screen": {"name": "idr0002-heriche-condensation/screenA"}})
    );
    assert_eq!(body["errors"][0]["extensions"]["code"], "UPSTREAM_TIMEOUT");
    assert_eq!(body["errors"][0]["path"], json!(["image"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_failures_are_retried_invisibly() {
    let forced = ForcedStatus {
        path_contains: "/webclient/imgData/".to_owned(),
        status: 503,
        times: Some(2),
    };
    let replay = ReplayServer::start(
        idr_test_support::load_fixtures(),
        Faults { status: Some(forced), ..Faults::default() },
    );
    let idr = Idr::serve(&["--upstream", &replay.url()]);
    let (_, body) = idr.post("{ image(id: 122770) { name } }").await;
    assert_eq!(body, json!({"data": {"image": {"name": "Plate8_Actinome1 [Well O02 Field #1]"}}}));
    assert_eq!(replay.calls(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_failures_are_generic_coded_errors_with_partial_data() {
    let forced = ForcedStatus {
        path_contains: "/webclient/api/annotations/".to_owned(),
        status: 500,
        times: None,
    };
    let replay = ReplayServer::start(
        idr_test_support::load_fixtures(),
        Faults { status: Some(forced), ..Faults::default() },
    );
    let idr = Idr::serve(&["--upstream", &replay.url()]);
    let (_, body) = idr.post("{ screen(id: 102) { name keyValues { key } } }").await;
    assert_eq!(
        body["data"],
        json!({"screen": {"name": "idr0002-heriche-condensation/screenA", "keyValues": null}})
    );
    let error = &body["errors"][0];
    assert_eq!(error["extensions"]["code"], "UPSTREAM_UNAVAILABLE");
    // No upstream URL or body reaches the client.
    let message = error["message"].as_str().unwrap();
    assert!(!message.contains("127.0.0.1") && !message.contains("forced"), "{message}");
    assert_eq!(replay.calls(), 2, "a 500 is not retried: {:?}", replay.requests());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_are_never_followed() {
    let redirect = Redirect {
        path_contains: "render_thumbnail".to_owned(),
        location: "http://example.invalid/x.jpg".to_owned(),
    };
    let replay = ReplayServer::start(
        idr_test_support::load_fixtures(),
        Faults { redirect: Some(redirect), ..Faults::default() },
    );
    let idr = Idr::serve(&["--upstream", &replay.url()]);
    let resp = Idr::client().get(format!("{}/thumbnails/1884807", idr.base)).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 502);
    assert_eq!(replay.calls(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thumbnail_that_is_not_a_jpeg_is_not_forwarded() {
    let replay = ReplayServer::start(
        idr_test_support::load_fixtures(),
        Faults { non_jpeg_thumbnails: true, ..Faults::default() },
    );
    let idr = Idr::serve(&["--upstream", &replay.url()]);
    let resp = Idr::client().get(format!("{}/thumbnails/1884807", idr.base)).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 502);
    assert!(!resp.bytes().await.unwrap().starts_with(b"\x89PNG"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn record_then_serve_offline() {
    let replay = ReplayServer::start(idr_test_support::load_fixtures(), Faults::default());
    let dir = std::env::temp_dir().join(format!("idr-record-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let query = "{ screen(id: 102) { name keyValues { key value } plates { totalCount nodes { id name } } } }";
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_idr"))
        .args(["record", query, "--upstream", &replay.url(), "--out"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let recorded = crate::without_cost(serde_json::from_slice(&output.stdout).unwrap());
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 3);

    let idr = Idr::serve(&[&format!("--offline={}", dir.display())]);
    let (_, body) = idr.post(query).await;
    assert_eq!(body, recorded);
    assert_eq!(body["data"]["screen"]["plates"]["totalCount"], 12);
    let _ = std::fs::remove_dir_all(&dir);
}
