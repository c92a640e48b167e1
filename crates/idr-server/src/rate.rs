//! Per-IP rate limiting: a token bucket per client address (the proxy's client, behind a
//! trusted proxy: see `proxies`), answered with 429 and
//! `Retry-After` when empty. Every request costs one token; a GraphQL request costs one
//! more per root field beyond the first (aliases included), since each can start
//! upstream work. The alias cap and the static cost limit bound a single request.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::shared::RedisTier;

/// Requests per client address: a burst of `burst`, refilled at `per_second`.
#[derive(Clone, Copy, Debug)]
pub struct RateLimit {
    pub per_second: f64,
    pub burst: f64,
}

impl Default for RateLimit {
    fn default() -> RateLimit {
        RateLimit { per_second: 10.0, burst: 60.0 }
    }
}

/// The buckets of every client seen recently: this replica's own, and, with `--redis`,
/// the ones all replicas share, which decide whether a request gets in.
#[derive(Clone)]
pub(crate) struct Limiter {
    limit: RateLimit,
    buckets: Arc<Mutex<HashMap<IpAddr, (f64, Instant)>>>,
    shared: Option<Arc<RedisTier>>,
}

impl Limiter {
    pub(crate) fn new(limit: RateLimit, shared: Option<Arc<RedisTier>>) -> Limiter {
        Limiter { limit, buckets: Arc::default(), shared }
    }

    /// Admits one request of `ip`: by the shared bucket when Redis answers, else by this
    /// replica's own.
    pub(crate) async fn admit(&self, ip: IpAddr) -> Result<(), u64> {
        self.take_decided(ip, 1.0, 1.0).await
    }

    /// [`Limiter::take_owing`], decided by the shared bucket when Redis answers (so that
    /// a client's rate is its rate on the deployment), else by this replica's own.
    pub(crate) async fn take_decided(
        &self,
        ip: IpAddr,
        cost: f64,
        present: f64,
    ) -> Result<(), u64> {
        if let Some(shared) = &self.shared {
            let key = address_key(ip).to_string();
            let RateLimit { per_second, burst } = self.limit;
            let present = present.min(cost).min(burst);
            if let Some(verdict) = shared.take(&key, per_second, burst, cost, present).await {
                // Kept in step here too (what was admitted only), for when Redis stops
                // answering.
                if verdict.is_ok() {
                    let _ = self.take_local(ip, cost, 0.0);
                }
                return verdict;
            }
        }
        self.take_local(ip, cost, present)
    }

    pub(crate) fn burst(&self) -> f64 {
        self.limit.burst
    }

    /// Takes `cost` tokens for `ip` once `present` of them are there (`present` at most
    /// a bucket, so that any request can pass once its client has waited). The rest of
    /// the cost is owed: the bucket goes below zero and refills from there, so a request
    /// that costs more than a burst is charged in full, paid for by waiting afterwards.
    pub(crate) fn take_owing(&self, ip: IpAddr, cost: f64, present: f64) -> Result<(), u64> {
        let verdict = self.take_local(ip, cost, present);
        // Work beyond a request's first unit is owed to the shared bucket too (in the
        // background: the next request, on any replica, pays for it).
        if let (Ok(()), Some(shared)) = (&verdict, &self.shared) {
            let (shared, key) = (shared.clone(), address_key(ip).to_string());
            let RateLimit { per_second, burst } = self.limit;
            tokio::spawn(async move {
                let _ = shared.take(&key, per_second, burst, cost, 0.0).await;
            });
        }
        verdict
    }

    /// This replica's own bucket of `ip`.
    fn take_local(&self, ip: IpAddr, cost: f64, present: f64) -> Result<(), u64> {
        let present = present.min(cost).min(self.limit.burst);
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() > 100_000 {
            // Forget full buckets rather than grow without bound.
            let burst = self.limit.burst;
            let rate = self.limit.per_second;
            buckets.retain(|_, (tokens, at)| {
                *tokens + now.duration_since(*at).as_secs_f64() * rate < burst
            });
        }
        let (tokens, at) = buckets.entry(address_key(ip)).or_insert((self.limit.burst, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * self.limit.per_second)
            .min(self.limit.burst);
        *at = now;
        if *tokens >= present {
            *tokens -= cost;
            Ok(())
        } else {
            Err(((present - *tokens) / self.limit.per_second).ceil().max(1.0) as u64)
        }
    }
}

/// The key a client address is counted under: the address itself for IPv4, its /64
/// network for IPv6 (one host is routinely given a whole /64, so single addresses would
/// let it take any number of buckets and connection slots).
pub(crate) fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

/// 429 with the seconds to wait.
pub(crate) fn too_many(retry_after: u64) -> Response {
    metrics::counter!("idr_rate_limited_total").increment(1);
    let mut response =
        (StatusCode::TOO_MANY_REQUESTS, "rate limit exceeded; retry later").into_response();
    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
    response
}

pub(crate) async fn limit(
    State(limiter): State<Limiter>,
    request: Request,
    next: Next,
) -> Response {
    if let Some(ip) = crate::proxies::client_ip(request.extensions()) {
        if let Err(retry_after) = limiter.admit(ip).await {
            return too_many(retry_after);
        }
    }
    next.run(request).await
}
