//! Identical GraphQL requests in flight run once. A request with the same text,
//! operation and variables as one already running joins it and gets the same serialized
//! answer, so a hundred clients asking for the same plate at once cost one execution, one
//! set of upstream calls and one answer in memory, not a hundred. Each request is still
//! checked and charged to its client's rate limit on its own, before it joins.
//!
//! The execution is dropped (and its upstream calls with it) when every request waiting
//! for it has gone.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use idr_client::flights::{Flight, Flights};

/// A serialized GraphQL answer, shared by every request that waited for it.
pub(crate) struct Answer {
    body: Bytes,
    headers: HeaderMap,
    /// No error in the answer.
    ok: bool,
    /// The `extensions.code` of each error, and whether there is data, for metrics.
    codes: Vec<String>,
    has_data: bool,
    /// Upstream calls and cache hits the execution made (its `extensions.cost`).
    upstream_calls: u64,
    cache_hits: u64,
}

impl Answer {
    /// What `async_graphql_axum::GraphQLResponse` would send for `response`.
    fn of(response: async_graphql::Response) -> Answer {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/graphql-response+json"),
        );
        if response.is_ok() {
            let value = response.cache_control.value();
            if let Some(value) = value.and_then(|v| HeaderValue::from_str(&v).ok()) {
                headers.insert(header::CACHE_CONTROL, value);
            }
        }
        headers.extend(response.http_headers.clone());
        // A response that cannot be serialised (it cannot happen with serde_json's
        // values) is an internal error, not a panic.
        let body = serde_json::to_vec(&response).unwrap_or_else(|e| {
            serde_json::to_vec(&serde_json::json!({"errors": [{
                "message": format!("the answer could not be written: {e}"),
                "extensions": {"code": "INTERNAL_SERVER_ERROR"},
            }]}))
            .unwrap_or_default()
        });
        let codes = crate::metrics::codes(&response);
        let has_data = response.data != async_graphql::Value::Null;
        let cost = |name: &str| match &response.extensions.get("cost") {
            Some(async_graphql::Value::Object(cost)) => match cost.get(name) {
                Some(async_graphql::Value::Number(n)) => n.as_u64().unwrap_or_default(),
                _ => 0,
            },
            _ => 0,
        };
        let (upstream_calls, cache_hits) = (cost("upstreamCalls"), cost("cacheHits"));
        Answer {
            body: Bytes::from(body),
            headers,
            ok: response.is_ok(),
            codes,
            has_data,
            upstream_calls,
            cache_hits,
        }
    }

    pub(crate) fn is_ok(&self) -> bool {
        self.ok
    }

    /// What the access log says this answer cost the request that `ran` it; a request
    /// that joined it cost nothing (summing the log gives the real upstream load).
    pub(crate) fn accounted(&self, operation: Option<String>, ran: bool) -> crate::http::Accounted {
        crate::http::Accounted {
            upstream_calls: if ran { self.upstream_calls } else { 0 },
            cache_hits: if ran { self.cache_hits } else { 0 },
            operation,
            joined: !ran,
        }
    }

    /// Counts this answer, once per request that gets it.
    pub(crate) fn count(&self) {
        crate::metrics::graphql_answer(&self.codes, self.has_data);
    }

    /// The answer up to its top-level `extensions` (which async-graphql writes after
    /// `data` and before `errors`; only a whole answer is asked for this, and it has no
    /// `errors`). The extension values are numbers, so the last `,"extensions":` is it.
    pub(crate) fn data_bytes(&self) -> &[u8] {
        let key = b",\"extensions\":";
        let at = self.body.windows(key.len()).rposition(|w| w == key);
        &self.body[..at.unwrap_or(self.body.len())]
    }

    pub(crate) fn response(&self) -> Response {
        let mut response = self.body.clone().into_response();
        *response.headers_mut() = self.headers.clone();
        response
    }
}

/// The executions in flight, by the identity of their request.
#[derive(Default)]
pub struct Identical {
    flights: Flights<String, Arc<Answer>>,
    executions: AtomicU64,
    joined: AtomicU64,
}

impl Identical {
    /// Joins the execution running for `identity`, or starts `work` as it.
    pub(crate) fn run(
        &self,
        identity: String,
        work: impl std::future::Future<Output = async_graphql::Response> + Send + 'static,
    ) -> (Flight<Arc<Answer>>, bool) {
        let (flight, joined) =
            self.flights.join(identity, move || async move { Arc::new(Answer::of(work.await)) });
        let counter = if joined { &self.joined } else { &self.executions };
        counter.fetch_add(1, Ordering::Relaxed);
        if joined {
            metrics::counter!("idr_graphql_coalesced_total").increment(1);
        }
        (flight, joined)
    }

    /// Executions started, and requests that joined one already running.
    pub fn counts(&self) -> (u64, u64) {
        (self.executions.load(Ordering::Relaxed), self.joined.load(Ordering::Relaxed))
    }
}
