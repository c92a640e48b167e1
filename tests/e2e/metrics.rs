//! `/metrics` after a known workload: the exposition text is parsed, and each counter is
//! compared with what the workload did, as counted by the clients and the upstream.

use std::collections::BTreeMap;
use std::sync::Arc;

use idr_test_support::{FaultKind, Faults, ReplayServer, Settings, Size, World};
use serde_json::{json, Value};

use crate::Idr;

/// One sample of the exposition text: name, labels, value.
type Sample = (String, BTreeMap<String, String>, f64);

fn parse(text: &str) -> Vec<Sample> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|line| {
            let (series, value) = line.rsplit_once(' ').expect("`series value`");
            let (name, labels) = match series.split_once('{') {
                Some((name, rest)) => (name, rest.trim_end_matches('}')),
                None => (series, ""),
            };
            let labels = labels
                .split("\",")
                .filter(|l| !l.is_empty())
                .map(|l| {
                    let (k, v) = l.split_once('=').expect("label=value");
                    (k.to_owned(), v.trim_matches('"').to_owned())
                })
                .collect();
            (name.to_owned(), labels, value.parse().expect("a number"))
        })
        .collect()
}

/// The sum of `name` over the samples whose labels include `with`.
fn sum(samples: &[Sample], name: &str, with: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|(n, labels, _)| {
            n == name && with.iter().all(|(k, v)| labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|(_, _, v)| v)
        .sum()
}

/// A GraphQL POST's status and whole body (`extensions.cost` kept).
async fn post(idr: &Idr, query: &str) -> (u16, Value) {
    let response = Idr::client()
        .post(format!("{}/graphql", idr.base))
        .json(&json!({"query": query}))
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

async fn scrape(base: &str) -> Vec<Sample> {
    let response = Idr::client().get(format!("{base}/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    parse(&response.text().await.unwrap())
}

fn world() -> Arc<World> {
    let size = Size {
        screens: 1,
        plates: 1,
        rows: 4,
        columns: 6,
        fields: 1,
        projects: 0,
        datasets: 0,
        images: 0,
        full: true,
    };
    Arc::new(World::generate(5, size, Settings::default()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_counters_equal_the_workload() {
    let world = world();
    let (plate, p) = world.plates.iter().next().unwrap();
    let images: Vec<u64> = p.wells.iter().filter_map(|w| world.wells[w].images[0]).collect();
    // Image sizes (imgData) fail: answers with errors, and retries.
    let replay =
        ReplayServer::start(world.clone(), Faults::always("imgData", FaultKind::Status(503)));
    let idr = Idr::serve(&["--upstream", &replay.url(), "--upstream-timeout", "2"]);

    let mut answers: Vec<Value> = Vec::new();
    let grid = format!("{{ plate(id: {plate}) {{ name wells {{ label images {{ id keyValues {{ key value }} }} }} }} }}");
    for _ in 0..3 {
        let (status, body) = post(&idr, &grid).await;
        assert_eq!(status, 200);
        answers.push(body);
    }
    let (status, sizes) =
        idr.post(&format!("{{ image(id: {}) {{ name width }} }}", images[0])).await;
    assert_eq!(status, 200);
    answers.push(sizes);
    let (_, invalid) = post(&idr, "{ noSuchField }").await;
    answers.push(invalid);
    let ids = images.iter().take(20).map(u64::to_string).collect::<Vec<_>>().join(",");
    for _ in 0..2 {
        let response =
            Idr::client().get(format!("{}/thumbnails?ids={ids}", idr.base)).send().await.unwrap();
        assert_eq!(response.status(), 200);
    }
    for _ in 0..2 {
        let response = Idr::client().get(format!("{}/healthz", idr.base)).send().await.unwrap();
        assert_eq!(response.status(), 200);
    }

    let m = scrape(&idr.base).await;
    let http = |route: &str, method: &str, status: &str| {
        sum(
            &m,
            "idr_http_requests_total",
            &[("route", route), ("method", method), ("status", status)],
        )
    };
    assert_eq!(http("/graphql", "POST", "200"), 5.0);
    assert_eq!(http("/thumbnails", "GET", "200"), 2.0);
    assert_eq!(http("/healthz", "GET", "200"), 2.0);
    assert_eq!(sum(&m, "idr_http_request_duration_seconds_count", &[("route", "/graphql")]), 5.0);

    // GraphQL: three whole answers, one partial (the width), one refused (invalid).
    let outcome = |o: &str| sum(&m, "idr_graphql_operations_total", &[("outcome", o)]);
    assert_eq!((outcome("ok"), outcome("partial"), outcome("refused")), (3.0, 1.0, 1.0));
    let mut codes: BTreeMap<String, f64> = BTreeMap::new();
    for answer in &answers {
        for error in answer["errors"].as_array().into_iter().flatten() {
            *codes.entry(error["extensions"]["code"].as_str().unwrap().to_owned()).or_default() +=
                1.0;
        }
    }
    assert!(
        codes.contains_key("UPSTREAM_UNAVAILABLE")
            && codes.contains_key("GRAPHQL_VALIDATION_FAILED"),
        "{codes:?}"
    );
    for (code, n) in &codes {
        assert_eq!(sum(&m, "idr_graphql_errors_total", &[("code", code)]), *n, "{code}");
    }

    // Upstream: every attempt the replay server saw, by endpoint; the failing ones retried.
    assert_eq!(sum(&m, "idr_upstream_calls_total", &[]), replay.calls() as f64);
    let img_data = sum(
        &m,
        "idr_upstream_calls_total",
        &[("endpoint", "/webclient/imgData/{id}/"), ("status", "503")],
    );
    assert!(img_data > 1.0, "imgData was tried {img_data} times");
    assert_eq!(sum(&m, "idr_upstream_retries_total", &[]), img_data - 1.0);
    assert_eq!(sum(&m, "idr_upstream_call_duration_seconds_count", &[]), replay.calls() as f64);
    assert_eq!(sum(&m, "idr_upstream_in_flight", &[]), 0.0);
    assert_eq!(sum(&m, "idr_upstream_breaker_open", &[]), 0.0);

    // The cache: the GraphQL answers' own count of hits, plus the 20 thumbnails found
    // there by the second batch.
    let graphql_hits: f64 =
        answers.iter().map(|a| a["extensions"]["cost"]["cacheHits"].as_f64().unwrap_or(0.0)).sum();
    assert_eq!(sum(&m, "idr_cache_hits_total", &[]), graphql_hits + 20.0);
    let (_, health) = {
        let r = Idr::client().get(format!("{}/healthz", idr.base)).send().await.unwrap();
        (r.status(), r.json::<Value>().await.unwrap())
    };
    assert_eq!(sum(&m, "idr_cache_bytes", &[]), health["cacheBytes"].as_f64().unwrap());
    assert!(sum(&m, "idr_open_connections", &[]) >= 1.0);
    assert_eq!(sum(&m, "idr_rate_limited_total", &[]), 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_by_the_rate_limit_are_counted() {
    let idr = Idr::serve(&["--offline", "--rate-limit", "0.5"]);
    let mut limited = 0.0;
    let mut answered = 0.0;
    for _ in 0..8 {
        let response = Idr::client()
            .post(format!("{}/graphql", idr.base))
            .json(&json!({"query": "{ screen(id: 102) { name } }"}))
            .send()
            .await
            .unwrap();
        match response.status().as_u16() {
            429 => limited += 1.0,
            200 => answered += 1.0,
            other => panic!("status {other}"),
        }
    }
    assert!(limited > 0.0 && answered > 0.0, "{answered} answered, {limited} limited");
    let m = scrape(&idr.base).await;
    assert_eq!(sum(&m, "idr_rate_limited_total", &[]), limited);
    assert_eq!(
        sum(&m, "idr_http_requests_total", &[("route", "/graphql"), ("status", "429")]),
        limited
    );
    assert_eq!(sum(&m, "idr_graphql_operations_total", &[("outcome", "ok")]), answered);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_can_listen_apart_from_the_api() {
    let mut idr = Idr::serve(&["--offline", "--metrics-listen", "127.0.0.1:0"]);
    let log = idr.stdout_lines(1);
    let metrics = log
        .iter()
        .find_map(|l| l.strip_prefix("idr metrics on "))
        .map(|u| u.trim_end_matches("/metrics").to_owned())
        .unwrap_or_else(|| panic!("no metrics address in {log:?}"));
    let (status, _) = idr.post("{ screen(id: 102) { name } }").await;
    assert_eq!(status, 200);
    let on_main = Idr::client().get(format!("{}/metrics", idr.base)).send().await.unwrap();
    assert_eq!(on_main.status(), 404, "the API's address still serves /metrics");
    let m = scrape(&metrics).await;
    assert_eq!(sum(&m, "idr_http_requests_total", &[("route", "/graphql")]), 1.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn made_up_methods_share_one_label() {
    let idr = Idr::serve(&["--offline"]);
    for method in ["FOO1", "FOO2", "BREW"] {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let _ =
            Idr::client().request(method, format!("{}/graphql", idr.base)).send().await.unwrap();
    }
    let m = scrape(&idr.base).await;
    let methods: std::collections::BTreeSet<&str> = m
        .iter()
        .filter(|(name, ..)| name == "idr_http_requests_total")
        .filter_map(|(_, labels, _)| labels.get("method").map(String::as_str))
        .collect();
    assert_eq!(methods, ["other"].into_iter().collect(), "a client chose a label");
    assert_eq!(sum(&m, "idr_http_requests_total", &[("method", "other")]), 3.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identical_requests_at_once_are_counted_as_joined_and_cost_nothing_in_the_log() {
    let world = world();
    let plate = *world.plates.keys().next().unwrap();
    let faults = Faults { latency: std::time::Duration::from_millis(300), ..Faults::default() };
    let replay = ReplayServer::start(world, faults);
    let idr = Idr::serve_logged(&["--upstream", &replay.url(), "--log-format", "json"], "info");
    let query = format!("{{ plate(id: {plate}) {{ name wells {{ label }} }} }}");
    let answers = futures_util::future::join_all((0..4).map(|i| {
        let (base, query) = (idr.base.clone(), query.clone());
        async move {
            Idr::client()
                .post(format!("{base}/graphql"))
                .header("x-request-id", format!("same-{i}"))
                .json(&json!({"query": query}))
                .send()
                .await
                .unwrap()
                .status()
        }
    }))
    .await;
    assert!(answers.iter().all(|s| *s == 200), "{answers:?}");
    let m = scrape(&idr.base).await;
    let joined = sum(&m, "idr_graphql_coalesced_total", &[]);
    assert!(joined >= 1.0, "no request joined another");
    assert_eq!(sum(&m, "idr_graphql_operations_total", &[("outcome", "ok")]), 4.0);
    // Summed over the access log, the upstream calls are what IDR saw.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let lines: Vec<Value> = idr
        .log()
        .lines()
        .filter(|l| l.starts_with('{'))
        .filter_map(|l| serde_json::from_str(l).ok())
        .filter(|l: &Value| l["target"] == "access" && l["route"] == "/graphql")
        .collect();
    assert_eq!(lines.len(), 4);
    let logged: u64 = lines.iter().map(|l| l["upstream_calls"].as_u64().unwrap()).sum();
    assert_eq!(logged, replay.calls());
    assert_eq!(lines.iter().filter(|l| l["joined"] == true).count() as f64, joined);
}
