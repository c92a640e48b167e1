//! Tests of the test helpers: the replay server over real HTTP (with each fault), the
//! client against it, the freshness check and the cursor marker.

use idr_client::recording::RecordingStore;
use serde_json::json;

/// A tiny store: one image, one GET search with a space in a value, one POST search, one
/// thumbnail.
fn store() -> RecordingStore {
    let get = |path: &str, query: serde_json::Value, body: serde_json::Value| {
        json!({"request": {"method": "GET", "path": path, "query": query, "body": null},
               "response": {"status": 200, "content_type": "application/json", "body": body}})
    };
    let files = [
        get("/webclient/imgData/1/", json!([]), json!({"id": 1, "meta": {"imageName": "one"}})),
        get(
            "/searchengine/api/v1/resources/image/search/",
            json!([["key", "Gene Symbol"], ["value", "ade8"]]),
            json!({"results": []}),
        ),
        json!({"request": {"method": "POST", "path": "/searchengine/api/v1/resources/submitquery/", "query": [],
                           "body": {"query_details": {"and_filters": [], "case_sensitive": false}}},
               "response": {"status": 200, "content_type": "application/json", "body": {"Error": "none"}}}),
        json!({"request": {"method": "GET", "path": "/webgateway/render_thumbnail/1/", "query": [], "body": null},
               "response": {"status": 200, "content_type": "image/jpeg", "body_base64": "/9j/4AAQ/9k="}}),
    ];
    RecordingStore::from_values(&files).unwrap()
}

mod replay {
    //! The server seen through a raw HTTP/1.1 client: each request and what came back.

    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    use super::store;
    use crate::{Faults, ForcedStatus, Oversized, Redirect, ReplayServer};

    /// Sends one request and summarises the answer: status, content type, `Location`, and
    /// the body (its length when long or binary). `no answer` if none comes in 300 ms.
    async fn send(server: &ReplayServer, method: &str, target: &str, body: &str) -> String {
        let exchange = async {
            let mut stream = TcpStream::connect(server.addr()).await.unwrap();
            let head = format!(
                "{method} {target} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                server.addr(),
                body.len()
            );
            stream.write_all(head.as_bytes()).await.unwrap();
            stream.write_all(body.as_bytes()).await.unwrap();
            let mut answer = Vec::new();
            stream.read_to_end(&mut answer).await.unwrap();
            answer
        };
        let Ok(answer) = tokio::time::timeout(Duration::from_millis(300), exchange).await else {
            return "no answer".to_owned();
        };
        let split = answer.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
        let head = String::from_utf8_lossy(&answer[..split]).into_owned();
        let body = &answer[split + 4..];
        let header = |name: &str| {
            head.lines().find_map(|l| {
                l.split_once(": ")
                    .filter(|(k, _)| k.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v.to_owned())
            })
        };
        let status = head.split(' ').nth(1).unwrap().to_owned();
        let mut out = status;
        for name in ["content-type", "location"] {
            if let Some(value) = header(name) {
                out.push_str(&format!(" [{value}]"));
            }
        }
        match std::str::from_utf8(body) {
            Ok("") => {}
            Ok(text) if text.len() <= 300 => out.push_str(&format!(" {text}")),
            _ => out.push_str(&format!(
                " <{} bytes: {:02x?}…>",
                body.len(),
                &body[..body.len().min(4)]
            )),
        }
        out
    }

    /// Sends `(method, target, body)` requests in order to a server with `faults` and
    /// compares one summary line per request, then the calls and request lines it counted.
    async fn check(faults: Faults, requests: &[(&str, &str, &str)], expect: &str) {
        let server = ReplayServer::start(store(), faults);
        let mut transcript = Vec::new();
        for (method, target, body) in requests {
            transcript.push(format!(
                "{method} {target} -> {}",
                send(&server, method, target, body).await
            ));
        }
        transcript.push(format!("calls {}: {:?}", server.calls(), server.requests()));
        let transcript = transcript.join("\n");
        assert_eq!(transcript, expect.trim(), "\ntranscript:\n{transcript}");
    }

    #[tokio::test]
    async fn answers_a_recorded_request() {
        check(
            Faults::default(),
            &[("GET", "/webclient/imgData/1/", "")],
            r#"
GET /webclient/imgData/1/ -> 200 [application/json] {"id":1,"meta":{"imageName":"one"}}
calls 1: ["GET /webclient/imgData/1/"]"#,
        )
        .await;
    }

    #[tokio::test]
    async fn decodes_and_sorts_the_query() {
        check(
            Faults::default(),
            &[
                ("GET", "/searchengine/api/v1/resources/image/search/?value=ade8&key=Gene%20Symbol", ""),
                ("GET", "/searchengine/api/v1/resources/image/search/?key=Gene+Symbol&value=ade8", ""),
            ],
            r#"
GET /searchengine/api/v1/resources/image/search/?value=ade8&key=Gene%20Symbol -> 200 [application/json] {"results":[]}
GET /searchengine/api/v1/resources/image/search/?key=Gene+Symbol&value=ade8 -> 200 [application/json] {"results":[]}
calls 2: ["GET /searchengine/api/v1/resources/image/search/?key=Gene%20Symbol&value=ade8", "GET /searchengine/api/v1/resources/image/search/?key=Gene%20Symbol&value=ade8"]"#,
        )
        .await;
    }

    #[tokio::test]
    async fn matches_a_post_by_its_json_body() {
        check(
            Faults::default(),
            &[("POST", "/searchengine/api/v1/resources/submitquery/", "{ \"query_details\": {\"case_sensitive\": false, \"and_filters\": []} }")],
            r#"
POST /searchengine/api/v1/resources/submitquery/ -> 200 [application/json] {"Error":"none"}
calls 1: ["POST /searchengine/api/v1/resources/submitquery/ {\"query_details\":{\"case_sensitive\":false,\"and_filters\":[]}}"]"#,
        )
        .await;
    }

    #[tokio::test]
    async fn unrecorded_request_is_a_404_naming_the_nearest() {
        check(
            Faults::default(),
            &[("GET", "/webclient/imgData/2/", "")],
            r#"
GET /webclient/imgData/2/ -> 404 [text/plain; charset=utf-8] no recording for GET /webclient/imgData/2/; nearest recorded: GET /webclient/imgData/1/, GET /webgateway/render_thumbnail/1/, GET /searchengine/api/v1/resources/image/search/?key=Gene%20Symbol&value=ade8
calls 1: ["GET /webclient/imgData/2/"]"#,
        )
        .await;
    }

    #[tokio::test]
    async fn other_methods_are_refused() {
        check(
            Faults::default(),
            &[("DELETE", "/webclient/imgData/1/", "")],
            r#"
DELETE /webclient/imgData/1/ -> 400 [text/plain; charset=utf-8] the replay server only answers GET and POST, not DELETE
calls 1: ["DELETE /webclient/imgData/1/"]"#,
        )
        .await;
    }

    #[tokio::test]
    async fn forced_status_a_number_of_times_then_normal() {
        let faults = Faults {
            status: Some(ForcedStatus {
                path_contains: "/webclient/imgData/".to_owned(),
                status: 503,
                times: Some(2),
            }),
            ..Faults::default()
        };
        check(
            faults,
            &[("GET", "/webclient/imgData/1/", ""), ("GET", "/webgateway/render_thumbnail/1/", ""), ("GET", "/webclient/imgData/1/", ""), ("GET", "/webclient/imgData/1/", "")],
            r#"
GET /webclient/imgData/1/ -> 503 [text/plain; charset=utf-8] status 503 forced by the replay server
GET /webgateway/render_thumbnail/1/ -> 200 [image/jpeg] <8 bytes: [ff, d8, ff, e0]…>
GET /webclient/imgData/1/ -> 503 [text/plain; charset=utf-8] status 503 forced by the replay server
GET /webclient/imgData/1/ -> 200 [application/json] {"id":1,"meta":{"imageName":"one"}}
calls 4: ["GET /webclient/imgData/1/", "GET /webgateway/render_thumbnail/1/", "GET /webclient/imgData/1/", "GET /webclient/imgData/1/"]"#,
        )
        .await;
    }

    #[tokio::test]
    async fn forced_status_for_good() {
        let faults = Faults {
            status: Some(ForcedStatus {
                path_contains: "imgData".to_owned(),
                status: 500,
                times: None,
            }),
            ..Faults::default()
        };
        check(
            faults,
            &[("GET", "/webclient/imgData/1/", ""), ("GET", "/webclient/imgData/1/", "")],
            "
GET /webclient/imgData/1/ -> 500 [text/plain; charset=utf-8] status 500 forced by the replay server
GET /webclient/imgData/1/ -> 500 [text/plain; charset=utf-8] status 500 forced by the replay server
calls 2: [\"GET /webclient/imgData/1/\", \"GET /webclient/imgData/1/\"]",
        )
        .await;
    }

    #[tokio::test]
    async fn hanging_path_gets_no_answer() {
        let faults = Faults { hang: Some("imgData".to_owned()), ..Faults::default() };
        check(
            faults,
            &[("GET", "/webclient/imgData/1/", ""), ("GET", "/webgateway/render_thumbnail/1/", "")],
            r#"
GET /webclient/imgData/1/ -> no answer
GET /webgateway/render_thumbnail/1/ -> 200 [image/jpeg] <8 bytes: [ff, d8, ff, e0]…>
calls 2: ["GET /webclient/imgData/1/", "GET /webgateway/render_thumbnail/1/"]"#,
        )
        .await;
    }

    #[tokio::test]
    async fn redirect_to_another_host() {
        let faults = Faults {
            redirect: Some(Redirect {
                path_contains: "render_thumbnail".to_owned(),
                location: "http://evil.example/x.jpg".to_owned(),
            }),
            ..Faults::default()
        };
        check(
            faults,
            &[("GET", "/webgateway/render_thumbnail/1/", "")],
            r#"
GET /webgateway/render_thumbnail/1/ -> 302 [http://evil.example/x.jpg]
calls 1: ["GET /webgateway/render_thumbnail/1/"]"#,
        )
        .await;
    }

    #[tokio::test]
    async fn oversized_body() {
        let faults = Faults {
            oversized: Some(Oversized { path_contains: "imgData".to_owned(), bytes: 5_000 }),
            ..Faults::default()
        };
        check(
            faults,
            &[("GET", "/webclient/imgData/1/", "")],
            r#"
GET /webclient/imgData/1/ -> 200 [application/json] <5000 bytes: [7b, 22, 70, 61]…>
calls 1: ["GET /webclient/imgData/1/"]"#,
        )
        .await;
    }

    #[tokio::test]
    async fn non_jpeg_thumbnails() {
        check(
            Faults { non_jpeg_thumbnails: true, ..Faults::default() },
            &[("GET", "/webgateway/render_thumbnail/1/", "")],
            r#"
GET /webgateway/render_thumbnail/1/ -> 200 [image/jpeg] <27 bytes: [89, 50, 4e, 47]…>
calls 1: ["GET /webgateway/render_thumbnail/1/"]"#,
        )
        .await;
    }

    #[tokio::test]
    async fn faults_can_be_changed_at_runtime() {
        let server = ReplayServer::start(
            store(),
            Faults { hang: Some("imgData".to_owned()), ..Faults::default() },
        );
        assert_eq!(send(&server, "GET", "/webclient/imgData/1/", "").await, "no answer");
        server.set_faults(Faults::default());
        assert_eq!(
            send(&server, "GET", "/webclient/imgData/1/", "").await,
            r#"200 [application/json] {"id":1,"meta":{"imageName":"one"}}"#
        );
        assert_eq!(server.calls(), 2);
    }

    #[tokio::test]
    async fn dropping_the_server_stops_it_even_with_a_hanging_request() {
        let server = ReplayServer::start(
            store(),
            Faults { hang: Some("imgData".to_owned()), ..Faults::default() },
        );
        let addr = server.addr();
        assert_eq!(send(&server, "GET", "/webclient/imgData/1/", "").await, "no answer");
        drop(server);
        assert!(TcpStream::connect(addr).await.is_err(), "still listening on {addr}");
    }
}

mod client {
    //! `idr_client::IdrClient` over live HTTP to the replay server, as the other crates'
    //! tests will use it.

    use std::time::Duration;

    use idr_client::{ClientConfig, Error, HttpConfig, HttpUpstream, IdrClient};

    use super::store;
    use crate::{FaultKind, Faults, ForcedStatus, Oversized, Redirect, ReplayServer};

    enum Call {
        Image(u64),
        Thumbnail(u64),
    }

    /// Makes one client call against a server with `faults`: the outcome and the number of
    /// requests the server saw.
    async fn check(faults: Faults, call: Call, expect: &str) {
        let server = ReplayServer::start(store(), faults);
        let http = HttpConfig {
            timeout: Duration::from_millis(500),
            max_body_bytes: 4_096,
            ..HttpConfig::new(server.url().parse().unwrap())
        };
        let config = ClientConfig { backoff: Duration::from_millis(1), ..ClientConfig::default() };
        let client = IdrClient::new(HttpUpstream::new(http).unwrap(), config);
        let outcome = match call {
            Call::Image(id) => client.image_data(id).await.map(|i| i.map(|i| i.name.clone())),
            Call::Thumbnail(id) => {
                client.thumbnail(id, None).await.map(|t| t.map(|t| format!("{} bytes", t.len())))
            }
        };
        let outcome = match outcome {
            Ok(value) => format!("{value:?}"),
            Err(Error::NotRecorded { .. }) => {
                unreachable!("only the recorded upstream reports this")
            }
            Err(Error::Status { status, .. }) => format!("status {status}"),
            Err(Error::Decode { path, message, .. }) => format!("decode {path}: {message}"),
            Err(Error::TooLarge { limit, .. }) => format!("too large (limit {limit})"),
            Err(Error::Timeout { .. }) => "timeout".to_owned(),
            Err(Error::Transport { .. }) => "transport".to_owned(),
            Err(Error::Unusable { reason, .. }) => format!("unusable: {reason}"),
            Err(e) => format!("{e:?}"),
        };
        assert_eq!(format!("{outcome}, {} requests", server.calls()), expect);
    }

    fn forced(status: u16, times: Option<u32>) -> Faults {
        Faults {
            status: Some(ForcedStatus {
                path_contains: "/webclient/imgData/".to_owned(),
                status,
                times,
            }),
            ..Faults::default()
        }
    }

    #[tokio::test]
    async fn recorded_image() {
        check(Faults::default(), Call::Image(1), r#"Some("one"), 1 requests"#).await;
    }

    #[tokio::test]
    async fn transient_503s_are_retried() {
        check(forced(503, Some(2)), Call::Image(1), r#"Some("one"), 3 requests"#).await;
    }

    #[tokio::test]
    async fn persistent_503s_give_up_after_four_retries() {
        check(forced(503, None), Call::Image(1), "status 503, 5 requests").await;
    }

    #[tokio::test]
    async fn a_500_is_not_retried() {
        check(forced(500, None), Call::Image(1), "status 500, 1 requests").await;
    }

    #[tokio::test]
    async fn a_hanging_upstream_times_out() {
        let faults = Faults { hang: Some("imgData".to_owned()), ..Faults::default() };
        check(faults, Call::Image(1), "timeout, 5 requests").await;
    }

    #[tokio::test]
    async fn an_oversized_body_is_cut_off() {
        let faults = Faults {
            oversized: Some(Oversized { path_contains: "imgData".to_owned(), bytes: 50_000 }),
            ..Faults::default()
        };
        check(faults, Call::Image(1), "too large (limit 4096), 1 requests").await;
    }

    #[tokio::test]
    async fn a_redirect_is_not_followed() {
        let faults = Faults {
            redirect: Some(Redirect {
                path_contains: "render_thumbnail".to_owned(),
                location: "http://evil.example/".to_owned(),
            }),
            ..Faults::default()
        };
        check(faults, Call::Thumbnail(1), "status 302, 1 requests").await;
    }

    #[tokio::test]
    async fn a_png_labelled_jpeg_is_refused() {
        check(
            Faults { non_jpeg_thumbnails: true, ..Faults::default() },
            Call::Thumbnail(1),
            "decode $: expected a JPEG body, 1 requests",
        )
        .await;
    }

    #[tokio::test]
    async fn recorded_thumbnail() {
        check(Faults::default(), Call::Thumbnail(1), r#"Some("8 bytes"), 1 requests"#).await;
    }

    fn always(kind: FaultKind) -> Faults {
        Faults::always("/", kind)
    }

    /// Each kind of random fault, every time: the client retries the transient ones
    /// (5 attempts) and reports each as the error it is.
    #[tokio::test]
    async fn every_injected_fault_is_seen_for_what_it_is() {
        let cases = [
            (FaultKind::Status(503), "status 503, 5 requests"),
            (FaultKind::Status(500), "status 500, 1 requests"),
            (FaultKind::Reset, "transport, 5 requests"),
            (FaultKind::Hang, "timeout, 5 requests"),
            (FaultKind::CutShort, "unusable: the JSON body is cut short, 5 requests"),
            (FaultKind::CutMidBody, "transport, 5 requests"),
            (
                FaultKind::Html,
                "unusable: OMERO.web answered with its login page (HTTP 200), 5 requests",
            ),
            (
                FaultKind::LoginRedirect,
                "unusable: OMERO.web answered with its login page (HTTP 302), 5 requests",
            ),
            (FaultKind::Trickle, "timeout, 5 requests"),
        ];
        for (kind, expect) in cases {
            check(always(kind), Call::Image(1), expect).await;
        }
        check(
            always(FaultKind::CutShort),
            Call::Thumbnail(1),
            "unusable: the JPEG has no end-of-image marker (cut short), 5 requests",
        )
        .await;
    }

    /// OMERO.web's session: kept across calls, and when it expires, one transparent
    /// re-login (the redirected call is retried without the old cookie).
    #[tokio::test]
    async fn an_expired_session_is_renewed_transparently() {
        let server = ReplayServer::start(store(), Faults { sessions: true, ..Faults::default() });
        let http = HttpConfig::new(server.url().parse().unwrap());
        let config = ClientConfig {
            backoff: Duration::from_millis(1),
            cache_bytes: 0,
            ..ClientConfig::default()
        };
        let client = IdrClient::new(HttpUpstream::new(http).unwrap(), config);
        for _ in 0..3 {
            assert_eq!(client.image_data(1).await.unwrap().unwrap().name, "one");
        }
        assert_eq!((server.logins(), server.calls()), (1, 3), "one login, reused");
        server.expire_sessions();
        assert_eq!(client.image_data(1).await.unwrap().unwrap().name, "one");
        assert_eq!(
            (server.logins(), server.calls()),
            (2, 5),
            "redirected once, then logged in afresh"
        );
        // The search engine has no sessions: no cookie is sent there or set.
        let _ = client.search_values(idr_client::model::SearchResource::Image, "x").await;
        assert_eq!(server.logins(), 2);
    }

    /// Calls made at once while there is no session: one logs in, the others wait for its
    /// cookie (one login in all), and then they all go at once.
    #[tokio::test]
    async fn concurrent_calls_share_one_login() {
        let faults =
            Faults { sessions: true, latency: Duration::from_millis(100), ..Faults::default() };
        let server = ReplayServer::start(store(), faults);
        let http = HttpConfig::new(server.url().parse().unwrap());
        let config = ClientConfig { cache_bytes: 0, ..ClientConfig::default() };
        let client = IdrClient::new(HttpUpstream::new(http).unwrap(), config);
        // Distinct ids, so singleflight does not merge them (only image 1 is recorded).
        let calls = (1..=8).map(|id| client.image_data(id));
        let results = futures_util::future::join_all(calls).await;
        assert_eq!(results[0].as_ref().unwrap().as_ref().unwrap().name, "one");
        assert_eq!(server.logins(), 1);
        assert!(server.max_in_flight() >= 4, "{} in flight", server.max_in_flight());
    }

    /// An upstream that never sets a cookie (a proxy, another deployment) is not
    /// serialised: after the one login attempt, calls go at once.
    #[tokio::test]
    async fn without_cookies_calls_still_run_at_once() {
        let faults = Faults { latency: Duration::from_millis(100), ..Faults::default() };
        let server = ReplayServer::start(store(), faults);
        let http = HttpConfig::new(server.url().parse().unwrap());
        let config = ClientConfig { cache_bytes: 0, ..ClientConfig::default() };
        let client = IdrClient::new(HttpUpstream::new(http).unwrap(), config);
        for _ in 0..3 {
            let calls = (1..=8).map(|id| client.image_data(id));
            let results = futures_util::future::join_all(calls).await;
            assert!(results[0].is_ok());
        }
        assert!(server.max_in_flight() >= 4, "{} in flight", server.max_in_flight());
        assert_eq!(server.logins(), 0);
    }

    /// A missing image is an empty 403 (or Django's HTML 403 page), which is "not found",
    /// never a session problem: one call, no retry, no new login.
    #[tokio::test]
    async fn a_403_for_a_missing_image_is_not_a_login_wall() {
        for content_type in [None, Some("text/html; charset=utf-8")] {
            let body = if content_type.is_some() { "<h1>403 Forbidden</h1>" } else { "" };
            let recording = serde_json::json!({
                "request": {"method": "GET", "path": "/webclient/imgData/7/", "query": [], "body": null},
                "response": {"status": 403, "content_type": content_type, "body_text": body}});
            let text = recording.to_string();
            let store =
                idr_client::recording::RecordingStore::from_files([("r.json", text.as_bytes())])
                    .unwrap();
            let server = ReplayServer::start(store, Faults { sessions: true, ..Faults::default() });
            let http = HttpConfig::new(server.url().parse().unwrap());
            let config = ClientConfig { cache_bytes: 0, ..ClientConfig::default() };
            let client = IdrClient::new(HttpUpstream::new(http).unwrap(), config);
            // The first call has no session yet; the second sends the cookie it got.
            for _ in 0..2 {
                assert!(client.image_data(7).await.unwrap().is_none(), "{content_type:?}");
            }
            assert_eq!((server.calls(), server.logins()), (2, 1), "{content_type:?}");
        }
    }
}

mod fixtures {
    //! The repository's recordings.

    use crate::{fixtures_dir, load_fixtures};

    fn check(min_recordings: usize) {
        assert!(fixtures_dir().join("README.md").is_file(), "{}", fixtures_dir().display());
        let store = load_fixtures();
        assert!(store.len() >= min_recordings, "only {} recordings", store.len());
    }

    #[test]
    fn recordings_load() {
        check(30);
    }
}

mod fresh {
    //! `check_file_fresh`: silent when fresh; rewrites and fails locally; only fails in CI.

    use std::panic::{catch_unwind, AssertUnwindSafe};
    use std::path::PathBuf;
    use std::sync::atomic::{AtomicU32, Ordering};

    use crate::files::check_fresh;

    fn temp_file() -> PathBuf {
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::SeqCst);
        std::env::temp_dir()
            .join(format!("idr-test-support-{}-{n}", std::process::id()))
            .join("schema.graphql")
    }

    /// Runs the check on a file holding `on_disk` (absent if `None`) and compares the panic
    /// message (or `ok`) and what the file holds afterwards.
    fn check(on_disk: Option<&str>, expected: &str, ci: bool, expect: &str) {
        let path = temp_file();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        if let Some(text) = on_disk {
            std::fs::write(&path, text).unwrap();
        }
        let result = catch_unwind(AssertUnwindSafe(|| check_fresh(&path, expected, ci)));
        let outcome = match result {
            Ok(()) => "ok".to_owned(),
            Err(panic) => panic
                .downcast_ref::<String>()
                .cloned()
                .unwrap_or_default()
                .replace(&path.display().to_string(), "<file>"),
        };
        let after = std::fs::read_to_string(&path).ok();
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
        assert_eq!(format!("{outcome}\nfile: {after:?}"), expect.trim());
    }

    #[test]
    fn fresh_file_passes() {
        check(Some("type Query"), "type Query", false, "ok\nfile: Some(\"type Query\")");
    }

    #[test]
    fn stale_file_is_rewritten_and_fails() {
        check(
            Some("type Old"),
            "type Query",
            false,
            "<file> is stale and has been updated. Review the change, commit it and run the tests again.\nfile: Some(\"type Query\")",
        );
    }

    #[test]
    fn missing_file_is_written_and_fails() {
        check(
            None,
            "type Query",
            false,
            "<file> is missing and has been updated. Review the change, commit it and run the tests again.\nfile: Some(\"type Query\")",
        );
    }

    #[test]
    fn stale_file_in_ci_only_fails() {
        check(
            Some("type Old"),
            "type Query",
            true,
            "<file> is stale. Run `cargo test` locally to regenerate it, then commit it.\nfile: Some(\"type Old\")",
        );
    }
}

mod cursor {
    //! `split_cursor`.

    use crate::split_cursor;

    fn check(input: &str, text: &str, offset: usize) {
        assert_eq!(split_cursor(input), (text.to_owned(), offset));
    }

    #[test]
    fn cursor_in_the_middle() {
        check("screen(id: <CURSOR>)", "screen(id: )", 11);
    }

    #[test]
    fn cursor_at_the_ends() {
        check("<CURSOR>image", "image", 0);
        check("image<CURSOR>", "image", 5);
    }

    #[test]
    fn offset_is_in_bytes() {
        check("gène <CURSOR>", "gène ", 6);
    }
}

mod generated {
    //! The generated IDR: deterministic, and in IDR's shapes and quirks (ENDPOINTS.md),
    //! endpoint by endpoint, as the client will meet them.

    use idr_client::{Request, Response};
    use serde_json::{json, Value};

    use crate::{padded, Kind, Settings, Size, World};

    fn world(settings: Settings) -> World {
        World::generate(11, Size::small(), settings)
    }

    fn body(resp: &Response) -> Value {
        serde_json::from_slice(&resp.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&resp.body)))
    }

    fn search(w: &World, params: &[(&str, &str)]) -> Value {
        let mut req = Request::get("/searchengine/api/v1/resources/image/search/");
        for (k, v) in params {
            req = req.param(k, v);
        }
        body(&w.answer(&req))
    }

    fn submit(w: &World, body_json: Value) -> Value {
        body(
            &w.answer(&Request::post_json(
                "/searchengine/api/v1/resources/submitquery/",
                &body_json,
            )),
        )
    }

    fn hit_ids(answer: &Value) -> Vec<u64> {
        answer["results"]["results"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|d| d["id"].as_f64().unwrap() as u64)
            .collect()
    }

    #[test]
    fn the_same_seed_and_size_make_the_same_world() {
        let a = format!("{:?}", world(Settings::default()));
        assert!(a == format!("{:?}", world(Settings::default())), "two worlds of one seed differ");
        let other = format!("{:?}", World::generate(12, Size::small(), Settings::default()));
        assert!(a != other, "two seeds give the same world");
    }

    #[test]
    fn missing_objects_fail_as_idr_does() {
        let w = world(Settings::default());
        let image = w.answer(&Request::get("/webclient/imgData/1/"));
        assert_eq!((image.status, image.body.len()), (403, 0));
        let grid = w.answer(&Request::get("/webgateway/plate/1/0/"));
        assert_eq!(grid.status, 500);
        assert!(body(&grid)["message"].as_str().unwrap().contains("not JSON serializable"));
        let screen = w.answer(&Request::get("/api/v0/m/screens/1/"));
        assert_eq!((screen.status, body(&screen)), (404, json!({"message": "Screen 1 not found"})));
        let table = w.answer(
            &Request::get("/webgateway/table/Screen.plateLinks.child.wells/1/query/")
                .param("query", "Well-1"),
        );
        assert_eq!((table.status, body(&table)["error"].is_string()), (200, true));
    }

    #[test]
    fn the_grid_is_padded_and_the_plate_says_its_size() {
        let w = world(Settings::default());
        let small = w.plates.values().find(|p| (p.rows, p.columns) == (4, 6)).unwrap();
        let grid = body(&w.answer(&Request::get(format!("/webgateway/plate/{}/0/", small.id))));
        assert_eq!(padded(4, 6), (8, 12));
        assert_eq!(grid["grid"].as_array().unwrap().len(), 8);
        assert_eq!(grid["collabels"].as_array().unwrap().len(), 12);
        let meta = body(&w.answer(&Request::get(format!("/api/v0/m/plates/{}/", small.id))));
        assert_eq!((&meta["data"]["Rows"], &meta["data"]["Columns"]), (&json!(4), &json!(6)));
    }

    #[test]
    fn annotations_page_by_the_limit_asked_for() {
        let w = world(Settings { annotations_limit: 5, ..Settings::default() });
        let ids: Vec<u64> = w.images.keys().take(10).copied().collect();
        let truth: usize = ids.iter().map(|id| w.map_annotations_of(Kind::Image, *id).len()).sum();
        let page = |page: Option<usize>, limit: Option<usize>| {
            let mut req = Request::get("/webclient/api/annotations/").param("type", "map");
            for id in &ids {
                req = req.param("image", id);
            }
            if let Some(p) = page {
                req = req.param("page", p);
            }
            if let Some(l) = limit {
                req = req.param("limit", l);
            }
            body(&w.answer(&req))["annotations"].as_array().unwrap().len()
        };
        // The deployment's default limit, an explicit one, and paging turned off.
        assert_eq!(page(None, None), 5);
        assert_eq!(page(Some(2), Some(7)), 7);
        assert_eq!(page(None, Some(10_000)), truth);
        assert_eq!(page(Some(0), None), truth);
        let bad = w.answer(
            &Request::get("/webclient/api/annotations/").param("image", 1).param("limit", "x"),
        );
        assert_eq!(bad.status, 400);
    }

    #[test]
    fn the_engine_pages_by_its_size_with_bookmarks() {
        let w = world(Settings { engine_page_size: 7, ..Settings::default() });
        let first = search(&w, &[("key", "Phenotype Term Accession"), ("value", "CMPO_0000118")]);
        let size = first["results"]["size"].as_u64().unwrap() as usize;
        assert!(size > 14, "{size} hits");
        assert_eq!(first["results"]["total_pages"], json!(size.div_ceil(7)));
        assert_eq!(first["results"]["pagination"]["current_page"], json!(1));
        let mut all = hit_ids(&first);
        let mut bookmark = first["results"]["bookmark"][0].as_f64().unwrap() as u64;
        loop {
            let b = bookmark.to_string();
            let next = search(
                &w,
                &[("key", "Phenotype Term Accession"), ("value", "CMPO_0000118"), ("bookmark", &b)],
            );
            if next["results"] == json!([]) {
                break;
            }
            let ids = hit_ids(&next);
            assert!(ids.len() <= 7);
            bookmark = *ids.last().unwrap();
            all.extend(ids);
        }
        assert_eq!(all.len(), size);
        assert!(all.windows(2).all(|p| p[0] < p[1]), "sorted by id, each once");
        // Some ids are integral floats, as pandas writes them.
        let raw = first["results"]["results"].as_array().unwrap();
        assert!(raw.iter().any(|d| d["id"].is_f64()) && raw.iter().any(|d| d["id"].is_u64()));
    }

    #[test]
    fn study_on_the_get_route_means_a_project_name() {
        let w = world(Settings::default());
        let screen = w.screens.values().next().unwrap();
        let gene = [("key", "Gene Identifier"), ("operator", "contains"), ("value", "ensg")];
        let everywhere = hit_ids(&search(&w, &gene));
        assert!(!everywhere.is_empty());
        let mut scoped = gene.to_vec();
        scoped.push(("study", &screen.name));
        assert_eq!(
            search(&w, &scoped)["results"],
            json!([]),
            "a screen's name scopes nothing on GET"
        );
        let by_container = submit(
            &w,
            json!({"query_details": {"and_filters": [
                {"name": "Gene Identifier", "operator": "contains", "value": "ensg", "resource": "image"},
                {"name": "name", "operator": "equals", "value": screen.name, "resource": "container"}]}}),
        );
        let in_screen: Vec<u64> = everywhere
            .iter()
            .copied()
            .filter(|i| w.hcs_parents(*i).unwrap().0 == screen.id)
            .collect();
        assert_eq!(hit_ids(&by_container), in_screen[..in_screen.len().min(1_000)]);
    }

    #[test]
    fn query_values_are_stripped_and_stored_ones_kept() {
        let w = world(Settings::default());
        let values = body(
            &w.answer(
                &Request::get("/searchengine/api/v1/resources/image/searchvaluesusingkey/")
                    .param("key", "gene symbol"),
            ),
        );
        let listed: Vec<&str> = values["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["Value"].as_str().unwrap())
            .collect();
        assert!(listed.contains(&"krt19 ") && listed.contains(&"krt19"), "{listed:?}");
        // Asking for "krt19 " is asking for "krt19": the stored "krt19 " is not found.
        let asked = hit_ids(&search(&w, &[("key", "Gene Symbol"), ("value", "krt19 ")]));
        assert!(!asked.is_empty());
        assert!(asked.iter().all(|i| w
            .key_values(Kind::Image, *i)
            .iter()
            .any(|(_, v)| v.to_lowercase() == "krt19")));
        let none = submit(
            &w,
            json!({"query_details": {"and_filters": [
            {"name": "Gene Symbol", "operator": "equals", "value": "no such gene", "resource": "image"}]}}),
        );
        // No hit: `results: []` on GET, an `Error` on POST.
        assert_eq!(none["Error"], json!("Your query returns no results"));
        let get = search(&w, &[("key", "Gene Symbol"), ("value", "no such gene")]);
        assert_eq!(get["results"], json!([]));
    }

    #[test]
    fn bulk_tables_hold_bare_nan_and_one_is_in_the_2019_format() {
        let w = world(Settings::default());
        let (legacy, current): (Vec<_>, Vec<_>) = w.tables.values().partition(|t| t.legacy);
        assert!(!legacy.is_empty() && !current.is_empty());
        let well = w
            .wells
            .keys()
            .copied()
            .find(|id| {
                w.bulk_row(*id)
                    .is_some_and(|(_, row)| matches!(row[4], crate::Cell::Float(f) if f.is_nan()))
            })
            .unwrap();
        let resp = w.answer(
            &Request::get(format!("/webgateway/table/Screen.plateLinks.child.wells/{well}/query/"))
                .param("query", format!("Well-{well}")),
        );
        let text = String::from_utf8_lossy(&resp.body);
        assert!(text.contains("NaN") && serde_json::from_str::<Value>(&text).is_err(), "{text}");
    }

    #[test]
    fn a_plate_query_answers_the_plates_rows_up_to_the_download_limit() {
        let query = |w: &World, plate: u64| {
            let well = w.plates[&plate].wells[0];
            let resp = w.answer(
                &Request::get(format!(
                    "/webgateway/table/Screen.plateLinks.child.wells/{well}/query/"
                ))
                .param("query", format!("Plate-{plate}")),
            );
            let text = String::from_utf8_lossy(&resp.body).replace("NaN", "null");
            serde_json::from_str::<Value>(&text).unwrap()
        };
        let w = world(Settings::default());
        let plate = *w.plates.keys().next().unwrap();
        let rows = w.plates[&plate].wells.iter().filter(|id| w.bulk_row(**id).is_some()).count();
        let answer = query(&w, plate);
        let got = answer["data"]["rows"].as_array().unwrap();
        assert_eq!(got.len(), rows);
        assert!(got.iter().all(|row| row[0] == json!(plate)), "only the plate's rows");
        let limited = world(Settings { max_table_rows: rows - 1, ..Settings::default() });
        let refused = query(&limited, plate);
        assert_eq!(
            refused["error"],
            json!(format!(
                "Trying to download {rows} rows exceeds configured omero.web.max_table_download_rows of {}",
                rows - 1
            ))
        );
    }

    #[test]
    fn served_over_http_it_counts_calls_per_route() {
        let server =
            crate::ReplayServer::start(world(Settings::default()), crate::Faults::default());
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            for id in [1, 2, 3] {
                let mut stream = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
                let head = format!(
                    "GET /webclient/imgData/{id}/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                );
                stream.write_all(head.as_bytes()).await.unwrap();
                let mut answer = Vec::new();
                stream.read_to_end(&mut answer).await.unwrap();
                assert!(
                    answer.starts_with(b"HTTP/1.1 403"),
                    "{}",
                    String::from_utf8_lossy(&answer)
                );
            }
        });
        assert_eq!(server.calls(), 3);
        assert_eq!(server.calls_by_route().get("/webclient/imgData/{id}/"), Some(&3));
    }
}
