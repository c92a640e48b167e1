//! The server over HTTP: the nested walkthrough query in one request, the HTTP-level
//! limits, and the thumbnail proxy.

use serde_json::Value;

use crate::{repo_root, Idr};

fn nested_query() -> String {
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
async fn http_limits() {
    let idr = Idr::serve(&["--offline"]);
    let client = Idr::client();
    let url = format!("{}/graphql", idr.base);
    // A body over the cap: 413 from the limit layer, not the default axum limit. The server
    // answers as soon as it sees the length, so speak raw HTTP and read before sending it all.
    let big = format!(
        "{{\"query\": \"{{ __typename }}\", \"variables\": {{\"x\": \"{}\"}}}}",
        "a".repeat(1024 * 1024)
    );
    assert_eq!(raw_status(&idr.base, "POST", "/graphql", &big).await, 413);
    // A cross-site "simple" POST.
    let resp = client
        .post(&url)
        .header("content-type", "text/plain")
        .body(r#"{"query":"{ __typename }"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 415);
    // Malformed JSON, an empty body and a batch: 400 with a GraphQL error body.
    for body in ["{not json", "", r#"[{"query":"{ __typename }"},{"query":"{ __typename }"}]"#] {
        let resp = client
            .post(&url)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 400, "{body}");
        let json: Value = resp.json().await.unwrap();
        assert_eq!(json["errors"][0]["extensions"]["code"], "BAD_REQUEST");
    }
    // A 30 KB GET query string: 414, and the server stays up.
    let long = format!("{{ {} }}", "__typename ".repeat(3_000));
    let resp = client.get(&url).query(&[("query", long.as_str())]).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 414);
    // GET runs queries; GraphiQL without a query.
    let resp = client.get(&url).query(&[("query", "{ __typename }")]).send().await.unwrap();
    assert_eq!(resp.json::<Value>().await.unwrap()["data"]["__typename"], "Query");
    let page = client.get(&url).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("graphiql"), "GraphiQL page");
    // Health.
    let health: Value =
        client.get(format!("{}/healthz", idr.base)).send().await.unwrap().json().await.unwrap();
    assert_eq!(health["status"], "ok");
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
    // Raw request lines, so no client normalises the paths first.
    for bad in [
        "..%2Fx",
        "1;2",
        "%2e%2e",
        "1000000000000000000000000000000",
        "-5",
        "0",
        "http:%2F%2Fevil",
        "1.0",
    ] {
        assert_eq!(
            raw_status(&idr.base, "GET", &format!("/thumbnails/{bad}"), "").await,
            400,
            "{bad}"
        );
    }
    let resp = client.get(format!("{}/thumbnails/1884807?size=5", idr.base)).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 400);
}

/// Sends one raw HTTP/1.1 request (the path exactly as given) and returns the status. The
/// body is written in chunks while the response is awaited, so an early answer is seen.
async fn raw_status(base: &str, method: &str, path: &str, body: &str) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    // Send at most the first 64 KiB: enough for the server to decide on any request here.
    let _ = stream.write_all(&body.as_bytes()[..body.len().min(64 * 1024)]).await;
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response).await;
    let text = String::from_utf8_lossy(&response);
    text.split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {text:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_answers_429_with_retry_after() {
    let idr = Idr::serve(&["--offline", "--rate-limit", "0.1"]);
    let client = Idr::client();
    let url = format!("{}/healthz", idr.base);
    assert_eq!(client.get(&url).send().await.unwrap().status().as_u16(), 200);
    let resp = client.get(&url).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 429);
    let retry_after: u64 = resp.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=10).contains(&retry_after), "{retry_after}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_headers_are_cut_off_and_healthy_clients_served() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let idr = Idr::serve(&["--offline", "--header-timeout", "1"]);
    let addr = idr.base.trim_start_matches("http://").to_owned();
    let mut slow = tokio::net::TcpStream::connect(&addr).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    // A healthy client is served while the slow one dawdles.
    let health = Idr::client().get(format!("{}/healthz", idr.base)).send().await.unwrap();
    assert_eq!(health.status().as_u16(), 200);
    // The server closes the slow connection (possibly after a 408) instead of waiting forever.
    let mut rest = Vec::new();
    let read =
        tokio::time::timeout(std::time::Duration::from_secs(30), slow.read_to_end(&mut rest)).await;
    let text = String::from_utf8_lossy(&rest);
    assert!(read.is_ok() && !text.contains("200 OK"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_over_the_cap_are_shed() {
    use tokio::io::AsyncReadExt;
    let idr = Idr::serve(&["--offline", "--max-connections", "2", "--header-timeout", "30"]);
    let addr = idr.base.trim_start_matches("http://").to_owned();
    let _idle = [
        tokio::net::TcpStream::connect(&addr).await.unwrap(),
        tokio::net::TcpStream::connect(&addr).await.unwrap(),
    ];
    let mut third = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let mut buf = [0u8; 16];
    let read = tokio::time::timeout(std::time::Duration::from_secs(30), third.read(&mut buf)).await;
    assert!(matches!(read, Ok(Ok(0)) | Ok(Err(_))), "the third connection is closed: {read:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aliases_cost_rate_limit_tokens() {
    // One request every 2 s, bursts of 3. Charged by request only, a second request would
    // pass; one with 20 aliased root fields drains the bucket (1 + 2 extra tokens), so the
    // next request waits 2 s for a token.
    let idr = Idr::serve(&["--offline", "--rate-limit", "0.5"]);
    let aliases: Vec<String> =
        (0..20).map(|i| format!("a{i}: screen(id: 102) {{ name }}")).collect();
    let (status, _) = idr.post(&format!("{{ {} }}", aliases.join(" "))).await;
    assert_eq!(status, 200);
    let resp = Idr::client()
        .post(format!("{}/graphql", idr.base))
        .json(&serde_json::json!({"query": "{ screen(id: 102) { name } }"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 429);
}
