//! Retries, the response cache and the circuit breaker, as transcripts: a list of calls
//! made one after another against the fake, each line showing the outcome and how many
//! upstream calls it cost.
//!
//! The breaker and the cache expire on the wall clock, so a few steps sleep for real; the
//! assertions only ever count calls, never measure time.

use std::fmt::Write as _;
use std::ops::RangeInclusive;
use std::sync::Arc;
use std::time::Duration;

use super::fake::{status, Fake, Reply, BIG, GARBLED, HANG, HTML_500, MISSING, REPORTED};
use crate::{BreakerConfig, ClientConfig, Error, IdrClient, Response};

enum Step {
    /// `image_data(id)`.
    Image(u64),
    /// `image_data` for every id of the range, one after another.
    Images(RangeInclusive<u64>),
    /// `plate_grid(id, 0)`.
    Grid(u64),
    /// `image_data(id)`, dropped after 50 ms (a client that went away).
    Cancel(u64),
    /// Wall-clock sleep, in milliseconds.
    Sleep(u64),
    /// Whether the cache holds at most this many bytes.
    CacheAtMost(usize),
}

use Step::*;

/// Small backoff so retries are quick; a breaker that needs 10 calls in a minute and
/// stays open 1 s; caches that outlive the test except for "not found" (1 s). The margins are
/// wide so a busy machine cannot expire anything between two steps that expect it held.
fn config() -> ClientConfig {
    ClientConfig {
        backoff: Duration::from_millis(1),
        negative_ttl: Duration::from_millis(1000),
        breaker: BreakerConfig {
            window: Duration::from_secs(60),
            min_calls: 10,
            failure_ratio: 0.5,
            open_for: Duration::from_millis(1000),
        },
        ..ClientConfig::default()
    }
}

fn outcome<T>(result: &Result<Option<T>, Error>) -> String {
    match result {
        Ok(Some(_)) => "ok".to_owned(),
        Ok(None) => "not found".to_owned(),
        Err(Error::Status { status, .. }) => format!("status {status}"),
        Err(Error::Reported { .. }) => "reported".to_owned(),
        Err(Error::Decode { .. }) => "decode".to_owned(),
        Err(Error::Transport { .. }) => "transport".to_owned(),
        Err(Error::CircuitOpen) => "circuit open".to_owned(),
        Err(Error::Unusable { .. }) => "unusable".to_owned(),
        Err(e) => format!("{e:?}"),
    }
}

async fn check(config: ClientConfig, script: Vec<Reply>, steps: &[Step], expect: &str) {
    let fake = Arc::new(Fake::idr().script(script));
    let client = IdrClient::new(fake.clone(), config);
    let mut transcript = String::new();
    for step in steps {
        let before = fake.calls();
        let line = match step {
            Image(id) => format!("image {id}: {}", outcome(&client.image_data(*id).await)),
            Images(ids) => {
                let mut outcomes: Vec<String> = Vec::new();
                for id in ids.clone() {
                    outcomes.push(outcome(&client.image_data(id).await));
                }
                outcomes.dedup();
                format!("images {}..={}: {}", ids.start(), ids.end(), outcomes.join(", "))
            }
            Grid(id) => format!("grid {id}: {}", outcome(&client.plate_grid(*id, 0).await)),
            Cancel(id) => {
                let call = client.image_data(*id);
                match tokio::time::timeout(Duration::from_millis(50), call).await {
                    Ok(result) => format!("image {id}: {} (not cancelled)", outcome(&result)),
                    Err(_) => format!("image {id}: cancelled"),
                }
            }
            Sleep(ms) => {
                tokio::time::sleep(Duration::from_millis(*ms)).await;
                format!("sleep {ms} ms")
            }
            CacheAtMost(limit) => {
                format!("cache ≤ {limit} bytes: {}", client.cache_bytes() <= *limit)
            }
        };
        writeln!(transcript, "{line} (+{})", fake.calls() - before).unwrap();
    }
    assert_eq!(transcript.trim_end(), expect.trim(), "\ntranscript:\n{transcript}");
}

// Retries.

#[tokio::test]
async fn transient_503_is_retried() {
    check(config(), vec![status(503)], &[Image(1)], "image 1: ok (+2)").await;
}

#[tokio::test]
async fn bad_gateway_and_gateway_timeout_are_retried() {
    check(config(), vec![status(502), status(504)], &[Image(1)], "image 1: ok (+3)").await;
}

#[tokio::test]
async fn persistent_503_fails_after_four_retries_and_is_not_cached() {
    check(
        config(),
        vec![status(503); 5],
        &[Image(1), Image(1)],
        "
image 1: status 503 (+5)
image 1: ok (+1)",
    )
    .await;
}

#[tokio::test]
async fn bodies_cut_short_are_retried_and_never_cached() {
    // A JSON body that stops mid-object, and one that stops right after an inner object.
    let cut = |body: &'static str| Reply::Respond(Response::json(200, body));
    check(
        config(),
        vec![cut(r#"{"id": 1, "meta": {"imageName": "x"#), cut(r#"{"id": 1, "meta": {}"#)],
        &[Image(1), Image(1)],
        "
image 1: ok (+3)
image 1: ok (+0)",
    )
    .await;
    check(config(), vec![cut(r#"{"id": 1, "#); 5], &[Image(1)], "image 1: unusable (+5)").await;
}

#[tokio::test]
async fn html_pages_where_json_belongs_are_retried() {
    // A login or proxy page with status 200, with and without an HTML content type.
    let page = |content_type: &str| {
        Reply::Respond(Response {
            status: 200,
            content_type: Some(content_type.to_owned()),
            body: "\n<!DOCTYPE html><html><body>Log in</body></html>".into(),
        })
    };
    check(
        config(),
        vec![page("text/html; charset=utf-8"), page("application/json")],
        &[Image(1)],
        "image 1: ok (+3)",
    )
    .await;
}

#[tokio::test]
async fn http_500_is_not_retried() {
    check(config(), vec![], &[Image(HTML_500 + 1)], "image 500001: status 500 (+1)").await;
}

#[tokio::test]
async fn transport_errors_are_retried() {
    check(
        config(),
        vec![Reply::Transport; 6],
        &[Image(1), Image(2)],
        "
image 1: transport (+5)
image 2: ok (+2)",
    )
    .await;
}

#[tokio::test]
async fn retries_can_be_turned_off() {
    check(
        ClientConfig { retries: 0, ..config() },
        vec![status(503)],
        &[Image(1)],
        "image 1: status 503 (+1)",
    )
    .await;
}

#[tokio::test]
async fn missing_image_is_not_retried() {
    check(config(), vec![], &[Image(MISSING + 1)], "image 404001: not found (+1)").await;
}

// The cache.

#[tokio::test]
async fn second_identical_call_hits_the_cache() {
    check(
        config(),
        vec![],
        &[Image(1), Image(1), Image(2), Grid(1), Grid(1)],
        "
image 1: ok (+1)
image 1: ok (+0)
image 2: ok (+1)
grid 1: ok (+1)
grid 1: ok (+0)",
    )
    .await;
}

#[tokio::test]
async fn errors_are_not_cached() {
    check(
        config(),
        vec![],
        &[
            Grid(REPORTED + 1),
            Grid(REPORTED + 1),
            Image(GARBLED + 1),
            Image(GARBLED + 1),
            Image(HTML_500 + 1),
            Image(HTML_500 + 1),
        ],
        "
grid 200001: reported (+1)
grid 200001: reported (+1)
image 422001: decode (+1)
image 422001: decode (+1)
image 500001: status 500 (+1)
image 500001: status 500 (+1)",
    )
    .await;
}

#[tokio::test]
async fn not_found_is_cached_for_the_negative_ttl_only() {
    check(
        config(),
        vec![],
        &[
            Image(MISSING + 1),
            Grid(MISSING + 1),
            Image(1),
            Image(MISSING + 1),
            Grid(MISSING + 1),
            Sleep(1200),
            Image(MISSING + 1),
            Grid(MISSING + 1),
            Image(1),
        ],
        "
image 404001: not found (+1)
grid 404001: not found (+1)
image 1: ok (+1)
image 404001: not found (+0)
grid 404001: not found (+0)
sleep 1200 ms (+0)
image 404001: not found (+1)
grid 404001: not found (+1)
image 1: ok (+0)",
    )
    .await;
}

#[tokio::test]
async fn cache_stays_within_its_byte_budget() {
    check(
        ClientConfig { cache_bytes: 8_000, ..config() },
        vec![],
        &[Images(BIG + 1..=BIG + 50), CacheAtMost(8_000), Image(BIG + 50), Image(BIG + 1)],
        "
images 700001..=700050: ok (+50)
cache ≤ 8000 bytes: true (+0)
image 700050: ok (+0)
image 700001: ok (+1)",
    )
    .await;
}

#[tokio::test]
async fn zero_budget_caches_nothing() {
    check(
        ClientConfig { cache_bytes: 0, ..config() },
        vec![],
        &[Image(1), Image(1)],
        "
image 1: ok (+1)
image 1: ok (+1)",
    )
    .await;
}

// The circuit breaker.

#[tokio::test]
async fn persistent_500s_open_the_breaker_until_a_probe_succeeds() {
    check(
        config(),
        vec![],
        &[
            Images(HTML_500 + 1..=HTML_500 + 10),
            Image(HTML_500 + 11),
            Image(1),
            Sleep(1200),
            Image(1),
            Image(HTML_500 + 12),
            Image(2),
        ],
        "
images 500001..=500010: status 500 (+10)
image 500011: circuit open (+0)
image 1: circuit open (+0)
sleep 1200 ms (+0)
image 1: ok (+1)
image 500012: status 500 (+1)
image 2: ok (+1)",
    )
    .await;
}

#[tokio::test]
async fn a_failed_probe_opens_the_breaker_again() {
    check(
        config(),
        vec![],
        &[Images(HTML_500 + 1..=HTML_500 + 10), Sleep(1200), Image(HTML_500 + 11), Image(1)],
        "
images 500001..=500010: status 500 (+10)
sleep 1200 ms (+0)
image 500011: status 500 (+1)
image 1: circuit open (+0)",
    )
    .await;
}

#[tokio::test]
async fn a_cancelled_probe_does_not_keep_the_breaker_open() {
    check(
        config(),
        vec![],
        &[Images(HTML_500 + 1..=HTML_500 + 10), Sleep(1200), Cancel(HANG + 1), Image(1)],
        "
images 500001..=500010: status 500 (+10)
sleep 1200 ms (+0)
image 900001: cancelled (+1)
image 1: ok (+1)",
    )
    .await;
}

#[tokio::test]
async fn failures_below_half_keep_the_breaker_closed() {
    check(
        config(),
        vec![],
        &[Images(1..=6), Images(HTML_500 + 1..=HTML_500 + 4), Image(7)],
        "
images 1..=6: ok (+6)
images 500001..=500004: status 500 (+4)
image 7: ok (+1)",
    )
    .await;
}

#[tokio::test]
async fn retried_503s_count_towards_the_breaker() {
    check(
        config(),
        vec![status(503); 9],
        &[Image(1), Image(2), Image(3)],
        "
image 1: status 503 (+5)
image 2: ok (+5)
image 3: circuit open (+0)",
    )
    .await;
}

#[tokio::test]
async fn not_found_does_not_count_as_a_failure() {
    check(
        config(),
        vec![],
        &[Images(MISSING + 1..=MISSING + 12), Image(1)],
        "
images 404001..=404012: not found (+12)
image 1: ok (+1)",
    )
    .await;
}

#[tokio::test]
async fn retries_stop_when_the_budget_is_spent() {
    // With every call failing, 20 calls would make 100 attempts at 4 retries each; the
    // shared budget keeps it to 20 + 13: the 10 saved retries plus a fifth for each later call.
    let no_breaker = ClientConfig {
        breaker: BreakerConfig { min_calls: usize::MAX, ..config().breaker },
        ..config()
    };
    check(no_breaker, vec![status(503); 60], &[Images(1..=20)], "images 1..=20: status 503 (+33)")
        .await;
}
