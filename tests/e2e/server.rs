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
    let plate = plates.iter().find(|p| p["id"] == "Plate:4554").expect("plate 4554");
    let wells = plate["wells"].as_array().unwrap();
    assert_eq!(wells.len(), 96);
    for well in wells {
        let image = &well["images"][0];
        let url = image["thumbnailUrl"].as_str().unwrap();
        assert!(
            url.starts_with(thumb_prefix)
                && url.ends_with(&format!(
                    "/render_thumbnail/{}/",
                    global_number(&image["id"], "Image")
                )),
            "{url}"
        );
    }
}

/// The IDR id inside a global id such as `Image:122770`, checking its type.
fn global_number<'a>(id: &'a Value, kind: &str) -> &'a str {
    let id = id.as_str().unwrap();
    id.strip_prefix(kind)
        .and_then(|rest| rest.strip_prefix(':'))
        .unwrap_or_else(|| panic!("not a {kind} id: {id}"))
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

/// `GET /graphql` with these query parameters (encoded here).
async fn get_graphql(
    idr: &Idr,
    params: &[(&str, &str)],
    if_none_match: Option<&str>,
) -> reqwest::Response {
    let url = reqwest::Url::parse_with_params(&format!("{}/graphql", idr.base), params).unwrap();
    let mut request = Idr::client().get(url);
    if let Some(tag) = if_none_match {
        request = request.header("if-none-match", tag);
    }
    request.send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_apollo_client_persists_a_query_then_gets_it_by_hash_over_cacheable_get() {
    use sha2::Digest as _;
    let idr = Idr::serve(&["--offline"]);
    let query = "query Plate($id: ID!) { plate(id: $id) { name rowLabels } }";
    let hash = format!("{:x}", sha2::Sha256::digest(query.as_bytes()));
    let extensions = format!(r#"{{"persistedQuery":{{"version":1,"sha256Hash":"{hash}"}}}}"#);
    let variables = r#"{"id":"4554"}"#;
    let hashed = [("extensions", extensions.as_str()), ("variables", variables)];

    // 1. The hash alone, by GET (Apollo's useGETForHashedQueries): not known yet.
    let first = get_graphql(&idr, &hashed, None).await;
    assert_eq!(first.status(), 200);
    assert_eq!(first.headers()["cache-control"], "no-store");
    let first: Value = first.json().await.unwrap();
    assert_eq!(first["errors"][0]["message"], "PersistedQueryNotFound");
    assert_eq!(first["errors"][0]["extensions"]["code"], "PERSISTED_QUERY_NOT_FOUND");

    // 2. The text with its hash, by POST: answered, and remembered.
    let body = serde_json::json!({
        "query": query,
        "variables": {"id": "4554"},
        "extensions": {"persistedQuery": {"version": 1, "sha256Hash": hash}},
    });
    let (_, posted) = idr.post_body(&body).await;
    assert_eq!(posted["data"]["plate"]["name"], "plate3_8_010");

    // 3. The hash alone again: the same answer, cacheable for the cache's TTL, with an
    //    ETag that revalidates to 304.
    let again = get_graphql(&idr, &hashed, None).await;
    assert_eq!(again.status(), 200);
    assert_eq!(again.headers()["cache-control"], "public, max-age=600");
    let etag = again.headers()["etag"].to_str().unwrap().to_owned();
    assert!(etag.starts_with("W/\"") && etag.ends_with('"'), "{etag}");
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["data"], posted["data"]);
    let revalidated = get_graphql(&idr, &hashed, Some(&etag)).await;
    assert_eq!(revalidated.status(), 304);
    assert_eq!(revalidated.headers()["etag"], etag.as_str());
    assert!(revalidated.bytes().await.unwrap().is_empty());
    // Another answer has another tag.
    let other =
        get_graphql(&idr, &[("query", query), ("variables", r#"{"id":"422"}"#)], Some(&etag)).await;
    assert_eq!(other.status(), 200);
    assert_ne!(other.headers().get("etag").map(|t| t.to_str().unwrap().to_owned()), Some(etag));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_get_answer_with_errors_is_never_cached_and_no_cache_means_revalidate() {
    let idr = Idr::serve(&["--offline"]);
    // Plate 422's grid is not recorded: a partial answer with NOT_RECORDED.
    let partial =
        get_graphql(&idr, &[("query", "{ plate(id: 422) { name wells { label } } }")], None).await;
    assert_eq!(partial.status(), 200);
    assert_eq!(partial.headers()["cache-control"], "no-store");
    assert!(partial.headers().get("etag").is_none());
    let body: Value = partial.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "NOT_RECORDED", "{body}");

    let uncached = Idr::serve(&["--offline", "--cache-mib", "0"]);
    let whole = get_graphql(&uncached, &[("query", "{ screen(id: 102) { name } }")], None).await;
    assert_eq!(whole.headers()["cache-control"], "no-cache");
    assert!(whole.headers().get("etag").is_some());
    // POST answers carry no caching headers of their own.
    let posted = Idr::client()
        .post(format!("{}/graphql", idr.base))
        .json(&serde_json::json!({"query": "{ screen(id: 102) { name } }"}))
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 200);
    assert!(
        posted.headers().get("cache-control").is_none() && posted.headers().get("etag").is_none()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cold_answer_and_a_warm_one_share_their_etag() {
    let idr = Idr::serve(&["--offline"]);
    let query = [("query", "{ plate(id: 4554) { name wells { label images { id } } } }")];
    // Cold: the upstream is asked; warm: the cache answers. Only `extensions.cost` differs.
    let cold = get_graphql(&idr, &query, None).await;
    let cold_tag = cold.headers()["etag"].to_str().unwrap().to_owned();
    let cold: Value = cold.json().await.unwrap();
    let warm = get_graphql(&idr, &query, None).await;
    let warm_tag = warm.headers()["etag"].to_str().unwrap().to_owned();
    let warm: Value = warm.json().await.unwrap();
    assert_ne!(
        cold["extensions"]["cost"], warm["extensions"]["cost"],
        "the second answer was not warm"
    );
    assert_eq!(cold["data"], warm["data"]);
    assert_eq!(cold_tag, warm_tag);
    // A browser that kept the cold answer revalidates it, with the tag as given or strong.
    let stored = get_graphql(&idr, &query, Some(&cold_tag)).await;
    assert_eq!(stored.status(), 304);
    let strong = cold_tag.trim_start_matches("W/").to_owned();
    assert_eq!(get_graphql(&idr, &query, Some(&strong)).await.status(), 304);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_version_in_the_binary_the_version_route_and_the_user_agent() {
    use std::io::{Read as _, Write as _};
    let out =
        std::process::Command::new(env!("CARGO_BIN_EXE_idr")).arg("--version").output().unwrap();
    let printed = String::from_utf8(out.stdout).unwrap();
    let version = printed.trim().strip_prefix("idr ").expect("`idr <version>`").to_owned();
    assert!(version.split('.').count() == 3 && version != "0.0.0", "{printed}");

    // An upstream that records the User-Agent of the first call it gets.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let upstream = format!("http://{}", listener.local_addr().unwrap());
    let seen = std::thread::spawn(move || {
        let (mut socket, _) = listener.accept().unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") && socket.read(&mut byte).unwrap() == 1 {
            head.push(byte[0]);
        }
        let _ = socket
            .write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
        String::from_utf8_lossy(&head).into_owned()
    });
    let idr = Idr::serve(&["--upstream", &upstream]);
    let _ = idr.post("{ screen(id: 1) { name } }").await;
    let head = seen.join().unwrap();
    let agent = head
        .lines()
        .find_map(|l| l.strip_prefix("user-agent: ").or_else(|| l.strip_prefix("User-Agent: ")))
        .unwrap_or_else(|| panic!("no User-Agent in {head}"));
    assert_eq!(agent, format!("idr-graph/{version}"));

    let body: Value = Idr::client()
        .get(format!("{}/version", idr.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["version"], version.as_str());
    assert_eq!(body["userAgent"], agent);
    // The schema's hash is the hash of what `idr schema` prints, byte for byte.
    let sdl = std::process::Command::new(env!("CARGO_BIN_EXE_idr")).arg("schema").output().unwrap();
    use sha2::Digest as _;
    assert_eq!(body["schemaSha256"], format!("{:x}", sha2::Sha256::digest(&sdl.stdout)));
}

/// Every numeric flag, given 0 or a number past any real setting: either the value means
/// something documented (0: off, or no wait; any size of cache or budget), or the command
/// refuses it at once, naming the flag, rather than reading 0 as 1, serving a server that
/// refuses everything (`--rate-limit 0` answered 429 to every request but the first), or
/// panicking on a deadline past the end of time. The flags are read from `--help`, so a
/// new numeric flag must be classified here.
#[test]
fn every_numeric_flag_out_of_range_means_something_or_is_refused() {
    // 0 turns the thing off, or (the drain) waits for nothing.
    const ZERO_MEANS_OFF: &[&str] = &["--cache-mib", "--query-budget", "--drain-timeout"];
    // Any size is a size (the cache is bounded by memory, the budget by the request).
    const ANY_SIZE: &[&str] = &["--cache-mib", "--query-budget"];
    for command in ["serve", "query", "mcp"] {
        let help = std::process::Command::new(env!("CARGO_BIN_EXE_idr"))
            .args([command, "--help"])
            .output()
            .expect("idr runs");
        let help = String::from_utf8_lossy(&help.stdout).into_owned();
        let mut flag = None;
        let mut numeric = Vec::new();
        for line in help.lines() {
            if let Some(name) = line.trim_start().strip_prefix("--") {
                flag = name.split([' ', '=']).next().map(|n| format!("--{n}"));
            }
            let default = line.split("[default: ").nth(1).and_then(|d| d.split(']').next());
            if default.is_some_and(|d| d.parse::<f64>().is_ok()) {
                numeric.extend(flag.clone());
            }
        }
        assert!(!numeric.is_empty(), "no numeric flag in {command} --help");
        let cases = numeric.iter().flat_map(|flag| {
            let zero = (!ZERO_MEANS_OFF.contains(&flag.as_str())).then_some((flag.clone(), "0"));
            // Past any real setting (and past what a deadline or a semaphore can hold).
            let huge = (!ANY_SIZE.contains(&flag.as_str()))
                .then_some((flag.clone(), "18446744073709551615"));
            zero.into_iter().chain(huge)
        });
        for (flag, value) in cases.collect::<Vec<_>>() {
            let mut args = vec![command, "--offline", &flag, value];
            if command == "query" {
                args.push("image 1");
            }
            let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_idr"))
                .args(&args)
                .args(if command == "serve" { &["--listen", "127.0.0.1:0"][..] } else { &[] })
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("idr runs");
            // A server that accepted the 0 would run on: it is stopped, and that fails.
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
            while child.try_wait().unwrap().is_none() && std::time::Instant::now() < deadline {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            let running = child.try_wait().unwrap().is_none();
            if running {
                let _ = child.kill();
            }
            let out = child.wait_with_output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(!running && !out.status.success(), "`idr {}` was accepted", args.join(" "));
            assert!(
                stderr.contains(&flag) && (stderr.contains("more") || stderr.contains("less")),
                "{flag} {value}: {stderr}"
            );
            assert!(!stderr.contains("panicked"), "{flag} {value}: {stderr}");
        }
    }
}

/// What a client gets wrong at the HTTP and request level is said, in words: a path the
/// server does not serve, a method a path does not take, a body with no query, and an
/// error async-graphql reports twice (once per pass over the document) said once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_paths_methods_and_empty_requests_are_said() {
    let idr = Idr::serve(&["--offline"]);
    let client = Idr::client();
    let missing = client.get(format!("{}/nope", idr.base)).send().await.unwrap();
    assert_eq!(missing.status().as_u16(), 404);
    assert!(missing.text().await.unwrap().contains("/graphql"));
    let wrong = client.delete(format!("{}/graphql", idr.base)).send().await.unwrap();
    assert_eq!(wrong.status().as_u16(), 405);
    assert!(wrong.headers()["allow"].to_str().unwrap().contains("POST"));
    assert!(wrong.text().await.unwrap().contains("DELETE is not a method of /graphql"));
    for empty in [serde_json::json!({}), serde_json::json!({"query": "  "})] {
        let (_, answer) = idr.post_body(&empty).await;
        assert_eq!(answer["errors"][0]["extensions"]["code"], "BAD_REQUEST", "{answer}");
        assert!(answer["errors"][0]["message"].as_str().unwrap().contains("no query"));
    }
    for operation in ["mutation { x }", "subscription { x }"] {
        let (_, answer) = idr.post(operation).await;
        assert_eq!(answer["errors"].as_array().map(Vec::len), Some(1), "{answer}");
    }
}
