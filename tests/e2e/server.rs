//! The server over HTTP: the nested walkthrough query in one request, offline and against
//! a replay upstream, bad ids, and the thumbnail proxy. Attacks are in abuse.rs, faults
//! in faults.rs, connections and the process's life in lifecycle.rs.

use serde_json::Value;

use crate::{repo_root, Idr};

pub(crate) fn nested_query() -> String {
    std::fs::read_to_string(repo_root().join("examples/graphql/12-nested-screen.graphql")).unwrap()
}

/// Checks the one-request walkthrough: screen 102, its study key/values, its 12 plates, and
/// plate 4554's 96 wells, each with its image and an absolute thumbnail URL.
fn check_nested(body: &Value, thumb_prefix: &str) {
    let screen = &body["data"]["screen"];
    assert_eq!(screen["name"], "idr0002-heriche-condensation/screenA");
    assert_eq!(screen["keyValues"].as_array().unwrap().len(), 16);
    let plates = screen["plates"]["nodes"].as_array().unwrap();
    assert_eq!(plates.len(), 12);
    let plate = plates.iter().find(|p| p["id"] == "4554").expect("plate 4554");
    let wells = plate["wells"].as_array().unwrap();
    assert_eq!(wells.len(), 96);
    for well in wells {
        let image = &well["images"][0];
        let url = image["thumbnailUrl"].as_str().unwrap();
        assert!(
            url.starts_with(thumb_prefix)
                && url.ends_with(&format!("/render_thumbnail/{}/", image["id"].as_str().unwrap())),
            "{url}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_nested_walkthrough_in_one_request() {
    let idr = Idr::serve(&["--offline"]);
    let (status, body) = idr.post(&nested_query()).await;
    assert_eq!(status, 200);
    check_nested(&body, "https://idr.openmicroscopy.org/webgateway/");
    // Plates whose grid is not recorded fail alone, each with a clear error.
    let errors = body["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 11);
    assert!(errors
        .iter()
        .all(|e| e["extensions"]["code"] == "NOT_RECORDED"
            && e["path"].as_array().unwrap().len() == 5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn online_against_a_replay_upstream() {
    let replay = idr_test_support::ReplayServer::start(
        idr_test_support::load_fixtures(),
        Default::default(),
    );
    let idr = Idr::serve(&["--upstream", &replay.url()]);
    let (status, body) = idr.post(&nested_query()).await;
    assert_eq!(status, 200);
    // Links are absolute URLs on the configured upstream.
    check_nested(&body, &format!("{}/webgateway/", replay.url()));
    // The replay server answers unrecorded requests with 404, which IDR's gateway would
    // mean as "no such plate": those plates have no wells, and that is not an error.
    let plates = body["data"]["screen"]["plates"]["nodes"].as_array().unwrap();
    assert_eq!(plates.iter().filter(|p| p["wells"].is_null()).count(), 11);
    assert!(body.get("errors").is_none(), "{body}");
    // 1 screen + 1 annotations + 1 plates list + 12 grids + 1 batched annotations for 96 images.
    assert_eq!(replay.calls(), 16, "{:#?}", replay.requests());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_ids_are_null_or_errors_never_500() {
    let idr = Idr::serve(&["--offline"]);
    // Missing objects are null without an error.
    let (status, body) =
        idr.post("{ a: screen(id: 999999999) { name } c: image(id: 999999999) { name } }").await;
    assert_eq!(status, 200);
    assert_eq!(body, serde_json::json!({"data": {"a": null, "c": null}}));
    // A malformed id refuses the whole request before anything runs.
    let (status, body) =
        idr.post(r#"{ a: screen(id: 102) { name } b: image(id: "abc") { name } }"#).await;
    assert_eq!(status, 200);
    assert_eq!(body["data"], Value::Null);
    assert_eq!(body["errors"].as_array().unwrap().len(), 1);
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thumbnail_proxy() {
    let idr = Idr::serve(&["--offline"]);
    let client = Idr::client();
    let resp = client.get(format!("{}/thumbnails/1884807", idr.base)).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.headers()["content-type"], "image/jpeg");
    let bytes = resp.bytes().await.unwrap();
    assert!(bytes.starts_with(&[0xFF, 0xD8, 0xFF]) && bytes.len() == 879);
    assert!(bytes.ends_with(&[0xFF, 0xD9]));
    // Hostile ids are rows of the abuse suite (abuse.rs, A15).
}

/// `--query-budget` reaches the schema: with a budget of 2 calls, the nested walkthrough
/// (which needs more) answers what 2 calls give and marks the rest QUERY_TOO_EXPENSIVE.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_query_budget_is_set_from_the_command_line() {
    let idr = Idr::serve(&["--offline", "--query-budget", "2"]);
    let resp = Idr::client()
        .post(format!("{}/graphql", idr.base))
        .json(&serde_json::json!({"query": nested_query()}))
        .send()
        .await
        .expect("the server answers");
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.expect("a JSON body");
    assert_eq!(body["extensions"]["cost"]["budget"], 2, "{}", body["extensions"]);
    assert_eq!(body["extensions"]["cost"]["remaining"], 0, "{}", body["extensions"]);
    let codes: Vec<&Value> =
        body["errors"].as_array().unwrap().iter().map(|e| &e["extensions"]["code"]).collect();
    assert!(codes.iter().any(|c| *c == "QUERY_TOO_EXPENSIVE"), "{codes:?}");
    // The first calls' answers are kept: the screen's name.
    assert_eq!(body["data"]["screen"]["name"], "idr0002-heriche-condensation/screenA");
}

#[tokio::test]
async fn cors_origins_are_set_from_the_command_line() {
    let idr = Idr::serve(&["--offline", "--cors-origins", "https://viewer.example.org"]);
    let ask = |origin: &'static str| {
        Idr::client()
            .post(format!("{}/graphql", idr.base))
            .header("origin", origin)
            .json(&serde_json::json!({"query": "{ __typename }"}))
            .send()
    };
    let allowed = ask("https://viewer.example.org").await.expect("the server answers");
    assert_eq!(allowed.headers()["access-control-allow-origin"], "https://viewer.example.org");
    let other = ask("https://other.example.org").await.expect("the server answers");
    assert!(other.headers().get("access-control-allow-origin").is_none());
    // A value that is not an origin stops the server before it listens, saying why.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_idr"))
        .args(["serve", "--offline", "--listen", "127.0.0.1:0", "--cors-origins", "example.org"])
        .output()
        .expect("idr runs");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--cors-origins") && stderr.contains("example.org"), "{stderr}");
}
