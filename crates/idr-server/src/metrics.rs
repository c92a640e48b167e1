//! Prometheus metrics, through the `metrics` facade (the client and the server record;
//! nothing is recorded until a recorder is installed) and `metrics-exporter-prometheus`
//! (which renders the exposition text at `GET /metrics`). Gauges of state that lives
//! elsewhere (the breaker, the cache's bytes) are read when scraped.
//!
//! | metric | type | labels |
//! | --- | --- | --- |
//! | `idr_http_requests_total` | counter | `route`, `method`, `status` |
//! | `idr_http_request_duration_seconds` | histogram | `route` |
//! | `idr_graphql_operations_total` | counter | `outcome` (`ok`, `partial`, `failed`, `refused`) |
//! | `idr_graphql_errors_total` | counter | `code` |
//! | `idr_graphql_coalesced_total` | counter | |
//! | `idr_upstream_calls_total` | counter | `endpoint` (its path, numbers as `{id}`), `status` (HTTP status, or the kind of error) |
//! | `idr_upstream_call_duration_seconds` | histogram | `endpoint` |
//! | `idr_upstream_retries_total`, `idr_upstream_coalesced_total` | counter | |
//! | `idr_upstream_in_flight` | gauge | |
//! | `idr_upstream_breaker_open` | gauge (0 or 1) | |
//! | `idr_cache_hits_total`, `idr_cache_misses_total` | counter | |
//! | `idr_cache_bytes` | gauge | |
//! | `idr_rate_limited_total` | counter | |
//! | `idr_open_connections` | gauge | |
//! | `idr_connections_refused_total` | counter | `reason` (`total`, `per_address`) |
//! | `idr_redis_up` | gauge (0 or 1; with `--redis`) | |
//! | `idr_redis_refusals_total` | counter | `code` (Redis's error code: `READONLY`, `OOM`, `NOPERM`, …) |
//! | `idr_shared_cache_hits_total`, `idr_shared_coalesced_total` | counter | |

use std::time::Instant;

use axum::extract::MatchedPath;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Latency buckets, in seconds: a warm answer is milliseconds, a cold plate a second,
/// the request deadline a minute.
const BUCKETS: &[f64] =
    &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];

/// The installed recorder's handle.
#[derive(Clone)]
pub struct Metrics {
    handle: PrometheusHandle,
}

impl Metrics {
    /// Installs the process-wide recorder; once per process (a second call fails).
    pub fn install() -> Result<Metrics, String> {
        let handle = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), BUCKETS)
            .map_err(|e| e.to_string())?
            .install_recorder()
            .map_err(|e| e.to_string())?;
        describe();
        Ok(Metrics { handle })
    }

    /// The exposition text, with the gauges read from `client` now.
    pub fn render(&self, client: &idr_client::IdrClient) -> String {
        let health = client.health();
        metrics::gauge!("idr_upstream_breaker_open").set(if health.breaker_open {
            1.0
        } else {
            0.0
        });
        metrics::gauge!("idr_cache_bytes").set(client.cache_bytes() as f64);
        self.handle.run_upkeep();
        self.handle.render()
    }
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!(
        "idr_http_requests_total",
        "HTTP requests answered, by route, method and status"
    );
    describe_histogram!(
        "idr_http_request_duration_seconds",
        Unit::Seconds,
        "Time to answer an HTTP request, by route"
    );
    describe_counter!("idr_graphql_operations_total", "GraphQL operations, by outcome: ok (no error), partial (data and errors), failed (errors, no data), refused (before running: invalid, too large, rate-limited, …)");
    describe_counter!("idr_graphql_errors_total", "Errors in GraphQL answers, by extensions.code");
    describe_counter!(
        "idr_graphql_coalesced_total",
        "GraphQL requests that joined an identical one in flight"
    );
    describe_counter!(
        "idr_upstream_calls_total",
        "Calls to IDR (each attempt), by endpoint and status or kind of error"
    );
    describe_histogram!(
        "idr_upstream_call_duration_seconds",
        Unit::Seconds,
        "Time of a call to IDR, by endpoint"
    );
    describe_counter!(
        "idr_upstream_retries_total",
        "Calls to IDR retried after a transient failure"
    );
    describe_counter!(
        "idr_upstream_coalesced_total",
        "Requests that joined an identical call to IDR already in flight"
    );
    describe_gauge!("idr_upstream_in_flight", "Calls to IDR in flight now");
    describe_gauge!("idr_upstream_breaker_open", "1 while the circuit breaker stops calls to IDR");
    describe_counter!("idr_cache_hits_total", "Answers from the cache of upstream answers");
    describe_counter!(
        "idr_cache_misses_total",
        "Upstream answers not in the cache, so asked of IDR"
    );
    describe_gauge!("idr_cache_bytes", Unit::Bytes, "Bytes held by the cache of upstream answers");
    describe_counter!(
        "idr_rate_limited_total",
        "Requests refused by the per-client rate limit (429)"
    );
    describe_gauge!("idr_open_connections", "Client connections open now");
    describe_counter!(
        "idr_connections_refused_total",
        "Client connections closed at accept, by the cap that refused them"
    );
}

/// Counts every request by its route (the pattern it matched, never the raw path), method
/// and status, and times it.
pub(crate) async fn record(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let started = Instant::now();
    let (method, route) = (method_label(&request), route_label(&request));
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("idr_http_requests_total", "route" => route.clone(), "method" => method, "status" => status)
        .increment(1);
    metrics::histogram!("idr_http_request_duration_seconds", "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}

/// A request's method as metrics and logs name it: one of a fixed set, since any token is
/// a valid HTTP method and a label taken from the client would add series without bound.
pub(crate) fn method_label(request: &axum::extract::Request) -> &'static str {
    match request.method().as_str() {
        "GET" => "GET",
        "POST" => "POST",
        "HEAD" => "HEAD",
        "OPTIONS" => "OPTIONS",
        _ => "other",
    }
}

/// The route pattern a request matched (never its raw path, which can hold a whole
/// query), or `unmatched`.
pub(crate) fn route_label(request: &axum::extract::Request) -> String {
    request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned())
}

/// Counts a GraphQL answer: its outcome, and each error by code.
pub(crate) fn graphql_answer(codes: &[String], has_data: bool) {
    // Refused before anything ran: the document or its arguments were turned down.
    let refusal = |code: &String| {
        matches!(
            code.as_str(),
            "GRAPHQL_VALIDATION_FAILED"
                | "BAD_USER_INPUT"
                | "QUERY_TOO_COMPLEX"
                | "QUERY_TOO_DEEP"
                | "QUERY_TOO_LARGE"
        )
    };
    let outcome = match (codes.is_empty(), has_data) {
        (true, _) => "ok",
        (false, true) => "partial",
        (false, false) if codes.iter().all(refusal) => "refused",
        (false, false) => "failed",
    };
    metrics::counter!("idr_graphql_operations_total", "outcome" => outcome).increment(1);
    for code in codes {
        metrics::counter!("idr_graphql_errors_total", "code" => code.clone()).increment(1);
    }
}

/// Counts a GraphQL request refused before it ran, with the codes of its errors.
pub(crate) fn graphql_refused(codes: &[String]) {
    metrics::counter!("idr_graphql_operations_total", "outcome" => "refused").increment(1);
    for code in codes {
        metrics::counter!("idr_graphql_errors_total", "code" => code.clone()).increment(1);
    }
}

/// The `extensions.code` of each error of an answer.
pub(crate) fn codes(response: &async_graphql::Response) -> Vec<String> {
    response
        .errors
        .iter()
        .map(|e| match e.extensions.as_ref().and_then(|x| x.get("code")) {
            Some(async_graphql::Value::String(code)) => code.clone(),
            _ => "INTERNAL_SERVER_ERROR".to_owned(),
        })
        .collect()
}
