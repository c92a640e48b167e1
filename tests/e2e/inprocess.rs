//! The HTTP app in process: `app(state)` driven with tower's `oneshot`, one request at a
//! time, over the bundled recordings. Routes, content types, limits, the rate limit and
//! error shapes are checked here, fast and without a process; what needs one (sockets,
//! connection caps, signals, stdio) stays in the binary-level tests.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, Method, Request, StatusCode};
use idr_graphql::{build_schema, SchemaLimits};
use idr_server::{app, build_client, AppState, Limits, RateLimit, UpstreamChoice};
use serde_json::{json, Value};
use tower::ServiceExt as _;

fn state(limits: Limits) -> AppState {
    let choice = UpstreamChoice::Bundled { cache_bytes: 1 << 20 };
    let (client, described) = build_client(&choice).expect("the bundled recordings load");
    AppState {
        schema: build_schema(client.clone(), SchemaLimits::default()),
        client,
        upstream: Arc::from(described.as_str()),
        offline: true,
        limits,
        catalog: Arc::new(idr_server::LiveCatalog::new(false)),
        readiness: Arc::default(),
        identical: Arc::default(),
        cors: idr_server::CorsOrigins::default(),
        metrics: None,
        redis: None,
    }
}

struct Answer {
    status: StatusCode,
    content_type: String,
    headers: axum::http::HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    /// The body as JSON, without the GraphQL answer's cost.
    fn json(&self) -> Value {
        crate::without_cost(serde_json::from_slice(&self.body).unwrap_or(Value::Null))
    }

    fn code(&self) -> String {
        self.json()["errors"][0]["extensions"]["code"].as_str().unwrap_or_default().to_owned()
    }
}

async fn send(router: &axum::Router, request: Request<Body>) -> Answer {
    let response = router.clone().oneshot(request).await.expect("the router is infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = axum::body::to_bytes(response.into_body(), 16 << 20).await.expect("a body");
    Answer { status, content_type, headers, body: body.to_vec() }
}

fn post(path: &str, content_type: &str, body: impl Into<Body>) -> Request<Body> {
    Request::post(path).header(header::CONTENT_TYPE, content_type).body(body.into()).unwrap()
}

fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).unwrap()
}

fn graphql(query: &str) -> Request<Body> {
    post("/graphql", "application/json", json!({ "query": query }).to_string())
}

#[tokio::test]
async fn every_route_answers_with_its_status_and_type() {
    let router = app(state(Limits::default()));
    let ql = json!({"query": "screens limit 1"}).to_string();
    let cases: Vec<(&str, Request<Body>, StatusCode, &str)> = vec![
        ("root redirects", get("/"), StatusCode::TEMPORARY_REDIRECT, ""),
        ("GraphiQL", get("/graphql"), StatusCode::OK, "text/html"),
        (
            "GET query",
            get("/graphql?query=%7B__typename%7D"),
            StatusCode::OK,
            "application/graphql-response+json",
        ),
        (
            "POST query",
            graphql("{ __typename }"),
            StatusCode::OK,
            "application/graphql-response+json",
        ),
        ("IDR-QL", post("/ql", "application/json", ql), StatusCode::OK, "application/json"),
        ("liveness", get("/healthz"), StatusCode::OK, "application/json"),
        ("readiness offline", get("/readyz"), StatusCode::OK, ""),
        ("unknown route", get("/nope"), StatusCode::NOT_FOUND, ""),
        (
            "wrong method",
            Request::builder().method(Method::DELETE).uri("/graphql").body(Body::empty()).unwrap(),
            StatusCode::METHOD_NOT_ALLOWED,
            "",
        ),
        ("thumbnail id", get("/thumbnails/x1"), StatusCode::BAD_REQUEST, "text/plain"),
    ];
    for (what, request, status, content_type) in cases {
        let answer = send(&router, request).await;
        assert_eq!(answer.status, status, "{what}: {}", String::from_utf8_lossy(&answer.body));
        assert!(answer.content_type.starts_with(content_type), "{what}: {}", answer.content_type);
        assert!(answer.headers.contains_key("x-request-id"), "{what}: no request id");
    }
    let answer = send(&router, get("/")).await;
    assert_eq!(answer.headers[header::LOCATION], "/graphql");
}

#[tokio::test]
async fn post_takes_json_only_and_says_why_otherwise() {
    let router = app(state(Limits::default()));
    let body = json!({"query": "{ __typename }"}).to_string();
    for content_type in ["application/json", "application/json; charset=utf-8", "Application/JSON"]
    {
        let answer = send(&router, post("/graphql", content_type, body.clone())).await;
        assert_eq!(answer.status, StatusCode::OK, "{content_type}");
        assert_eq!(answer.json()["data"]["__typename"], "Query", "{content_type}");
    }
    // A form post (CSRF), text, or no type: refused before execution, in GraphQL's shape.
    for content_type in ["text/plain", "application/x-www-form-urlencoded", ""] {
        let request = if content_type.is_empty() {
            Request::post("/graphql").body(Body::from(body.clone())).unwrap()
        } else {
            post("/graphql", content_type, body.clone())
        };
        let answer = send(&router, request).await;
        assert_eq!(answer.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{content_type:?}");
        assert_eq!(answer.code(), "BAD_REQUEST", "{content_type:?}");
        assert_eq!(answer.json()["data"], Value::Null, "{content_type:?}");
    }
}

#[tokio::test]
async fn limits_refuse_before_execution_with_a_code() {
    let router = app(state(Limits { body_bytes: 4_096, ..Limits::default() }));
    // A body over the cap.
    let big = json!({"query": format!("{{ __typename }} #{}", "x".repeat(8_000))}).to_string();
    let answer = send(&router, post("/graphql", "application/json", big)).await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    // JSON nested too deep for serde to be let near it.
    let deep = format!(
        "{{\"query\": \"{{ __typename }}\", \"variables\": {}{}}}",
        "[".repeat(200),
        "]".repeat(200)
    );
    let answer = send(&router, post("/graphql", "application/json", deep)).await;
    assert_eq!(
        (answer.status, answer.code().as_str()),
        (StatusCode::BAD_REQUEST, "QUERY_TOO_DEEP")
    );
    // A request target over the cap.
    let answer = send(&router, get(&format!("/graphql?query={}", "a".repeat(20_000)))).await;
    assert_eq!(answer.status, StatusCode::URI_TOO_LONG);
    // Brackets nested past the document limit.
    let query = format!("{}{}", "{a".repeat(300), "}".repeat(300));
    let answer = send(&router, graphql(&query)).await;
    assert_eq!(answer.code(), "QUERY_TOO_DEEP", "{}", String::from_utf8_lossy(&answer.body));
}

#[tokio::test]
async fn the_rate_limit_answers_429_with_retry_after_and_spares_probes() {
    let rate = RateLimit { per_second: 0.01, burst: 2.0 };
    let router = app(state(Limits { rate, ..Limits::default() }));
    let from = |mut request: Request<Body>| {
        let peer: SocketAddr = "192.0.2.7:40000".parse().unwrap();
        request.extensions_mut().insert(ConnectInfo(peer));
        request
    };
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(send(&router, from(graphql("{ __typename }"))).await.status);
    }
    assert_eq!(statuses, [StatusCode::OK, StatusCode::OK, StatusCode::TOO_MANY_REQUESTS]);
    let answer = send(&router, from(graphql("{ __typename }"))).await;
    let retry: u64 = answer.headers[header::RETRY_AFTER].to_str().unwrap().parse().unwrap();
    assert!(retry >= 1, "Retry-After: {retry}");
    assert_eq!(send(&router, from(get("/healthz"))).await.status, StatusCode::OK);
    // Another address has its own bucket.
    let mut other = graphql("{ __typename }");
    other.extensions_mut().insert(ConnectInfo("198.51.100.1:1".parse::<SocketAddr>().unwrap()));
    assert_eq!(send(&router, other).await.status, StatusCode::OK);
}

#[tokio::test]
async fn errors_have_one_shape_with_a_code() {
    let router = app(state(Limits::default()));
    // Not JSON.
    let answer = send(&router, post("/graphql", "application/json", "{not json")).await;
    assert_eq!((answer.status, answer.code().as_str()), (StatusCode::BAD_REQUEST, "BAD_REQUEST"));
    // A document that does not validate.
    let answer = send(&router, graphql("{ nope }")).await;
    assert_eq!(answer.code(), "GRAPHQL_VALIDATION_FAILED", "{}", answer.json());
    // A bad id: BAD_USER_INPUT, before any upstream call.
    let answer = send(&router, graphql(r#"{ screen(id: "x") { name } }"#)).await;
    assert_eq!(answer.code(), "BAD_USER_INPUT", "{}", answer.json());
    // A missing object is null without an error.
    let answer = send(&router, graphql("{ screen(id: 999999999) { name } }")).await;
    assert_eq!(answer.json(), json!({"data": {"screen": null}}));
    // Offline, plates whose grids are not recorded: `wells: null` with a coded error and
    // its path, and the rest answered.
    let query = "{ screen(id: 102) { name plates(first: 12) { nodes { id wells { id } } } } }";
    let json = send(&router, graphql(query)).await.json();
    assert!(json["data"]["screen"]["name"].is_string(), "{json}");
    let errors = json["errors"].as_array().expect("errors");
    assert!(!errors.is_empty(), "{json}");
    for error in errors {
        assert!(error["extensions"]["code"].is_string(), "{error}");
    }
    let first = &errors[0];
    assert_eq!(first["extensions"]["code"], "NOT_RECORDED", "{first}");
    let path = first["path"].as_array().expect("a path");
    assert_eq!(path.last(), Some(&json!("wells")), "{first}");
    let index = path[3].as_u64().expect("a plate index") as usize;
    assert_eq!(json["data"]["screen"]["plates"]["nodes"][index]["wells"], Value::Null, "{json}");
}

/// Issue 9: identical requests in flight run once and share the answer; each is still
/// charged to the rate limit; a different one runs on its own.
#[tokio::test]
async fn identical_requests_in_flight_run_once() {
    let state = state(Limits::default());
    let (client, identical) = (state.client.clone(), state.identical.clone());
    let router = app(state);
    let query = "{ screen(id: 102) { name plates { nodes { id name } } keyValues { key } } }";
    let one = send(&router, graphql(query)).await;
    let calls_of_one = client.upstream_calls();
    assert!(calls_of_one > 0, "the query costs upstream calls");
    let before = identical.counts();
    // Fields the first query did not ask for, so the answers wait on upstream calls
    // (and a dataloader's batch) and overlap.
    let cold = json!({"query": "query($id: ID!) { plate(id: $id) { name wells { images { keyValues { key } } } } }",
                      "variables": {"id": "4554"}})
    .to_string();
    let answers = futures_util::future::join_all(
        (0..20).map(|_| send(&router, post("/graphql", "application/json", cold.clone()))),
    )
    .await;
    let (executions, joined) = identical.counts();
    assert_eq!((executions - before.0, joined - before.1), (1, 19));
    assert!(answers.iter().all(|a| a.status == StatusCode::OK && a.body == answers[0].body));
    assert_eq!(answers[0].content_type, "application/graphql-response+json");
    // The cost of the one execution, which every joined request is sent.
    let raw: Value = serde_json::from_slice(&answers[0].body).unwrap_or_default();
    assert!(raw["extensions"]["cost"]["upstreamCalls"].as_u64() > Some(0), "{raw}");
    assert!(answers[0].json()["errors"].is_null(), "{}", String::from_utf8_lossy(&answers[0].body));
    assert_eq!(answers[0].json()["data"]["plate"]["wells"].as_array().map(Vec::len), Some(96));
    assert!(one.json()["errors"].is_null());
}

/// Joining an identical request in flight does not get around the rate limit: each
/// request is charged before it joins.
#[tokio::test]
async fn identical_requests_are_each_charged() {
    let rate = RateLimit { per_second: 0.01, burst: 3.0 };
    let router = app(state(Limits { rate, ..Limits::default() }));
    let cold = json!({"query": "{ plate(id: 4554) { wells { images { keyValues { key } } } } }"})
        .to_string();
    let from = |body: String| {
        let mut request = post("/graphql", "application/json", body);
        request.extensions_mut().insert(ConnectInfo("192.0.2.9:1".parse::<SocketAddr>().unwrap()));
        request
    };
    let answers =
        futures_util::future::join_all((0..5).map(|_| send(&router, from(cold.clone())))).await;
    let ok = answers.iter().filter(|a| a.status == StatusCode::OK).count();
    let limited = answers.iter().filter(|a| a.status == StatusCode::TOO_MANY_REQUESTS).count();
    assert_eq!((ok, limited), (3, 2));
}

/// A preflight for `path` from `origin`, as a browser sends it before a JSON POST.
fn preflight(path: &str, origin: &str) -> Request<Body> {
    Request::builder()
        .method(Method::OPTIONS)
        .uri(path)
        .header(header::ORIGIN, origin)
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
        .header(header::ACCESS_CONTROL_REQUEST_HEADERS, "content-type, x-request-id")
        .body(Body::empty())
        .unwrap()
}

fn with_origin(mut request: Request<Body>, origin: &str) -> Request<Body> {
    request.headers_mut().insert(header::ORIGIN, origin.parse().unwrap());
    request
}

#[tokio::test]
async fn any_origin_may_call_the_api_and_read_its_refusals() {
    let rate = RateLimit { per_second: 0.01, burst: 1.0 };
    let router = app(state(Limits { rate, ..Limits::default() }));
    let from = |mut request: Request<Body>| {
        let peer: SocketAddr = "192.0.2.9:40000".parse().unwrap();
        request.extensions_mut().insert(ConnectInfo(peer));
        request
    };
    let page = "https://notebook.example.org";
    // Preflights are answered for every route a page calls, and cost no rate limit: the
    // client's one request of burst is still there after them.
    for path in ["/graphql", "/ql", "/thumbnails/122770"] {
        for _ in 0..3 {
            let answer = send(&router, from(preflight(path, page))).await;
            assert!(answer.status.is_success(), "{path}: {}", answer.status);
            let h = &answer.headers;
            assert_eq!(h[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*", "{path}");
            let methods = h[header::ACCESS_CONTROL_ALLOW_METHODS].to_str().unwrap();
            assert!(methods.contains("POST") && methods.contains("GET"), "{path}: {methods}");
            let allowed = h[header::ACCESS_CONTROL_ALLOW_HEADERS].to_str().unwrap();
            assert!(
                allowed.contains("content-type") && allowed.contains("x-request-id"),
                "{allowed}"
            );
            assert_eq!(h[header::ACCESS_CONTROL_MAX_AGE], "86400", "{path}");
            assert!(!h.contains_key(header::ACCESS_CONTROL_ALLOW_CREDENTIALS), "{path}");
        }
    }
    // The answer itself, and then the 429, carry the headers a page needs to read them.
    let answer = send(&router, from(with_origin(graphql("{ __typename }"), page))).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
    let exposed = answer.headers[header::ACCESS_CONTROL_EXPOSE_HEADERS].to_str().unwrap();
    assert!(exposed.contains("x-request-id") && exposed.contains("retry-after"), "{exposed}");
    let refused = send(&router, from(with_origin(graphql("{ __typename }"), page))).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
}

#[tokio::test]
async fn cors_origins_restrict_which_pages_may_call() {
    let origins = ["https://viewer.example.org".to_owned(), "http://localhost:3000/".to_owned()];
    let mut state = state(Limits::default());
    state.cors = idr_server::CorsOrigins::parse(&origins).expect("two origins");
    let router = app(state);
    for allowed in ["https://viewer.example.org", "http://localhost:3000"] {
        let answer = send(&router, preflight("/graphql", allowed)).await;
        assert_eq!(answer.headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], allowed);
        let vary = answer.headers.get_all(header::VARY).iter().filter_map(|v| v.to_str().ok());
        assert!(
            vary.collect::<Vec<_>>().join(",").contains("origin"),
            "caches must vary by origin"
        );
    }
    for other in ["https://evil.example.com", "http://localhost:3001", "null"] {
        let answer = send(&router, preflight("/graphql", other)).await;
        assert!(!answer.headers.contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN), "{other}");
        let answer = send(&router, with_origin(graphql("{ __typename }"), other)).await;
        assert!(!answer.headers.contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN), "{other}");
    }
}

#[test]
fn cors_origins_are_checked_when_given() {
    use idr_server::CorsOrigins;
    assert!(matches!(CorsOrigins::parse(&[]), Ok(CorsOrigins::Any)));
    assert!(matches!(CorsOrigins::parse(&["*".to_owned()]), Ok(CorsOrigins::Any)));
    for bad in ["example.org", "https://example.org/app", "ftp://example.org", "https://"] {
        let error = CorsOrigins::parse(&[bad.to_owned()]).unwrap_err();
        assert!(error.contains(bad) && error.contains("origin"), "{bad}: {error}");
    }
}
