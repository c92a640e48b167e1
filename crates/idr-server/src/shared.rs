//! `--redis URL`: what several replicas share, on Redis (the `redis` crate's tokio
//! connection manager, which reconnects by itself): upstream answers as a second cache
//! tier, claims that let one replica fetch what several miss at once, the deployment's
//! cap on upstream calls in flight (a semaphore whose permits are leases, so a crashed
//! replica cannot keep them), and the per-client rate limit (a token bucket updated
//! atomically by a script, so a client gets its rate once, not once per replica).
//!
//! Redis is a help, never a dependency: every call has a deadline (`OP_TIMEOUT`), and
//! when Redis is slow or down each call answers "nothing shared" and the replica goes on
//! alone, with its own cache, cap and buckets. That is logged once when it starts and once
//! when Redis is back, reported by `/readyz` and the `idr_redis_up` gauge.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use idr_client::shared::{decode_failure, decode_response, encode_failure, encode_response};
use idr_client::upstream::BoxFuture;
use idr_client::{Claim, Error, Permit, Response, SharedTier};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands as _, Script};

/// How long one Redis call may take before the replica goes on without it.
pub const OP_TIMEOUT: Duration = Duration::from_millis(250);

/// How long Redis is left alone after a failed call before it is tried again.
const QUIET: Duration = Duration::from_secs(1);

/// The largest answer shared (bigger ones stay in each replica's own cache).
pub const MAX_SHARED_BYTES: usize = 8 * 1024 * 1024;

const PREFIX: &str = "idr:v1:";

/// The semaphore of the deployment's upstream permits.
const PERMITS: &str = "idr:v1:permits";

/// The claim on the one fetch of the answer under `key`.
fn claim_key(key: &str) -> String {
    format!("{key}:claim")
}

/// A duration as Redis's milliseconds, at least 1.
fn millis(duration: Duration) -> u64 {
    duration.as_millis().max(1) as u64
}

/// Takes a permit of the shared cap if one is free: expired leases are dropped first.
const ACQUIRE: &str = r"
local now_t = redis.call('TIME')
local now = now_t[1] * 1000 + math.floor(now_t[2] / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
  redis.call('PEXPIRE', KEYS[1], 2 * tonumber(ARGV[2]))
  return 1
end
return 0
";

/// How long the failure of a fetch stays for its waiters (who ask every 50 ms at most).
const FAILURE_TTL: Duration = Duration::from_secs(5);

/// The failure of the fetch under `token` of the answer under `key`.
fn failure_key(key: &str, token: &str) -> String {
    format!("{key}:failed:{token}")
}

/// `SharedTier::claim`: the answer (kind 1, with its bytes and milliseconds left), else the
/// failure of the fetch waited on (4, with the error), else a new claim (2), else the
/// token of the claim's holder (3). Always three values (Lua lists cannot hold nil).
const CLAIM: &str = r"
local answer = redis.call('GET', KEYS[1])
if answer then
  local left = redis.call('PTTL', KEYS[1])
  if left > 0 then return {1, answer, left} end
end
if ARGV[3] == '1' then
  local failed = redis.call('GET', KEYS[3])
  if failed then return {4, failed, 0} end
end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return {2, '', 0} end
return {3, redis.call('GET', KEYS[2]) or '', 0}
";

/// Releases a claim if this fetch still holds it (a waiter may have taken over), and
/// leaves its failure, if any, for its waiters.
const RELEASE: &str = r"
if ARGV[2] ~= '' then
  redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
";

/// Releases every claim of `KEYS` still held by the token of the same place in `ARGV`.
const FORGET_CLAIMS: &str = r"
local gone = 0
for i, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[i] then
    gone = gone + redis.call('DEL', key)
  end
end
return gone
";

/// Extends a claim only if this fetch still holds it.
const RENEW: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
";

/// Extends a held permit's lease (a permit that expired meanwhile stays expired).
const RENEW_PERMIT: &str = r"
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  local now_t = redis.call('TIME')
  local now = now_t[1] * 1000 + math.floor(now_t[2] / 1000)
  redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[2]), ARGV[1])
  redis.call('PEXPIRE', KEYS[1], 2 * tonumber(ARGV[2]))
  return 1
end
return 0
";

/// Removes every permit whose token starts with this replica's id.
const FORGET: &str = r"
local gone = 0
for _, member in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if string.sub(member, 1, string.len(ARGV[1])) == ARGV[1] then
    gone = gone + redis.call('ZREM', KEYS[1], member)
  end
end
return gone
";

/// The token bucket of `Limiter::take_owing`, in Redis: refill by elapsed time, then take
/// `cost` tokens once `present` are there; else the seconds to wait.
const BUCKET: &str = r"
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local present = tonumber(ARGV[4])
local now_t = redis.call('TIME')
local now = now_t[1] + now_t[2] / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local wait = 0
-- `present` 0 is a debt, owed whatever the bucket holds.
if present <= 0 or tokens >= present then
  tokens = tokens - cost
else
  wait = math.max(1, math.ceil((present - tokens) / rate))
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / rate * 1000) + 60000)
return wait
";

/// The replicas' shared state on one Redis.
pub struct RedisTier {
    url: String,
    manager: Mutex<Option<ConnectionManager>>,
    /// This replica, in claims and permit tokens.
    replica: String,
    next_token: AtomicU64,
    /// The claims this replica holds (token → claim key), given back at shutdown however
    /// their fetches end.
    claims: Mutex<HashMap<String, String>>,
    up: AtomicBool,
    /// After a failure, Redis is left alone until then: a slow or dead Redis costs a
    /// request at most one [`OP_TIMEOUT`] a second, not one per call.
    quiet_until: Mutex<Option<tokio::time::Instant>>,
    acquire: Script,
    claim: Script,
    release: Script,
    forget_claims: Script,
    renew: Script,
    renew_permit: Script,
    forget: Script,
    bucket: Script,
}

impl RedisTier {
    /// Connects in the background: the replica serves at once, and shares once Redis
    /// answers. With `ca` (PEM), a `rediss://` Redis is trusted through those CA
    /// certificates instead of the system's. Fails only on a URL that is not a Redis URL,
    /// or a `ca` that is no PEM certificate or comes without TLS.
    pub fn start(url: &str, ca: Option<Vec<u8>>) -> anyhow::Result<Arc<RedisTier>> {
        let client = match ca {
            None => redis::Client::open(url)?,
            Some(_) if !url.starts_with("rediss://") => {
                anyhow::bail!("a CA (--redis-ca) is for a rediss:// (TLS) URL")
            }
            Some(pem) if !pem.windows(27).any(|w| w == b"-----BEGIN CERTIFICATE-----") => {
                anyhow::bail!("the CA file (--redis-ca) holds no PEM certificate")
            }
            Some(pem) => redis::Client::build_with_tls(
                url,
                redis::TlsCertificates { client_tls: None, root_cert: Some(pem) },
            )?,
        };
        let tier = Arc::new(RedisTier {
            url: redact(url),
            manager: Mutex::new(None),
            replica: format!("{:016x}", fastrand::u64(..)),
            next_token: AtomicU64::new(0),
            claims: Mutex::new(HashMap::new()),
            up: AtomicBool::new(false),
            quiet_until: Mutex::new(None),
            acquire: Script::new(ACQUIRE),
            claim: Script::new(CLAIM),
            release: Script::new(RELEASE),
            forget_claims: Script::new(FORGET_CLAIMS),
            renew: Script::new(RENEW),
            renew_permit: Script::new(RENEW_PERMIT),
            forget: Script::new(FORGET),
            bucket: Script::new(BUCKET),
        });
        metrics::gauge!("idr_redis_up").set(0.0);
        let this = tier.clone();
        tokio::spawn(async move {
            let config = ConnectionManagerConfig::new()
                .set_connection_timeout(Some(Duration::from_secs(1)))
                .set_response_timeout(Some(OP_TIMEOUT))
                .set_max_delay(Duration::from_secs(2))
                // A few tries per (re)connection: commands try again after that, and a
                // failed first connection is said (below) instead of retried in silence.
                .set_number_of_retries(2);
            let mut logged = false;
            loop {
                match ConnectionManager::new_with_config(client.clone(), config.clone()).await {
                    Ok(manager) => {
                        warn_if_unbounded(&this.url, manager.clone()).await;
                        *this.manager.lock().unwrap_or_else(|e| e.into_inner()) = Some(manager);
                        this.mark(true);
                        return;
                    }
                    Err(error) => {
                        if !logged {
                            tracing::warn!(redis = %this.url, %error, "Redis unreachable (or it refused the credentials, or its certificate is not trusted); this replica runs alone until it answers");
                            logged = true;
                        }
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            }
        });
        Ok(tier)
    }

    /// Gives back every permit and claim this replica still holds (at shutdown, after the
    /// drain: the calls it cut would otherwise keep them until their leases end).
    pub async fn forget_replica(&self) {
        let key = PERMITS;
        let prefix = format!("{}:", self.replica);
        let permits: Option<i64> = self
            .run(
                |mut c| async move { self.forget.key(key).arg(&prefix).invoke_async(&mut c).await },
            )
            .await;
        let held: Vec<(String, String)> =
            std::mem::take(&mut *self.claims.lock().unwrap_or_else(|e| e.into_inner()))
                .into_iter()
                .collect();
        let claims: Option<i64> = if held.is_empty() {
            Some(0)
        } else {
            self.run(|mut c| {
                let mut script = self.forget_claims.prepare_invoke();
                for (token, lock) in &held {
                    script.key(lock).arg(token);
                }
                async move { script.invoke_async(&mut c).await }
            })
            .await
        };
        let (permits, claims) = (permits.unwrap_or(0), claims.unwrap_or(0));
        if permits > 0 || claims > 0 {
            tracing::info!(permits, claims, "gave the shared permits and claims of cut calls back");
        }
    }

    /// Whether the last Redis call succeeded.
    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::Relaxed)
    }

    /// Whether Redis answers now: the last call's outcome, or, when that failed, a
    /// `PING` (so that `/readyz` sees Redis come back before a request does).
    pub async fn check(&self) -> bool {
        if self.is_up() {
            return true;
        }
        let pong: Option<String> =
            self.run(|mut c| async move { redis::cmd("PING").query_async(&mut c).await }).await;
        pong.is_some()
    }

    /// The URL, without its password, for logs and `/readyz`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Records whether Redis answered, logging each change once.
    fn mark(&self, up: bool) {
        if self.up.swap(up, Ordering::Relaxed) != up {
            metrics::gauge!("idr_redis_up").set(if up { 1.0 } else { 0.0 });
            if up {
                tracing::info!(redis = %self.url, "Redis answers; sharing cache, rate limit and upstream cap");
            } else {
                tracing::warn!(redis = %self.url, "Redis is not answering; this replica falls back to its own cache, rate limit and upstream cap");
            }
        }
    }

    fn connection(&self) -> Option<ConnectionManager> {
        self.manager.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Runs one Redis operation under [`OP_TIMEOUT`]; `None` when Redis did not answer.
    async fn run<T, F, Fut>(&self, op: F) -> Option<T>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: std::future::Future<Output = redis::RedisResult<T>>,
    {
        let connection = self.connection()?;
        let now = tokio::time::Instant::now();
        {
            let quiet = self.quiet_until.lock().unwrap_or_else(|e| e.into_inner());
            if quiet.is_some_and(|until| now < until) {
                return None;
            }
        }
        let failed = |this: &RedisTier| {
            this.mark(false);
            *this.quiet_until.lock().unwrap_or_else(|e| e.into_inner()) =
                Some(tokio::time::Instant::now() + QUIET);
        };
        match tokio::time::timeout(OP_TIMEOUT, op(connection)).await {
            Ok(Ok(value)) => {
                *self.quiet_until.lock().unwrap_or_else(|e| e.into_inner()) = None;
                self.mark(true);
                Some(value)
            }
            // Redis unreachable or gone: this replica goes on alone for a while.
            Ok(Err(error))
                if error.is_io_error()
                    || error.is_timeout()
                    || error.is_connection_dropped()
                    || error.is_connection_refusal() =>
            {
                tracing::debug!(%error, "Redis call failed");
                failed(self);
                None
            }
            // Redis answered, with an error (out of memory, read-only, …): this call
            // shares nothing, the others go on.
            Ok(Err(error)) => {
                tracing::debug!(%error, "Redis refused a call");
                None
            }
            Err(_) => {
                failed(self);
                None
            }
        }
    }

    fn token(&self) -> String {
        format!("{}:{}", self.replica, self.next_token.fetch_add(1, Ordering::Relaxed))
    }

    /// Takes `cost` tokens of `client`'s bucket once `present` are there: `Some(Ok)`, or
    /// `Some(Err(seconds to wait))`; `None` when Redis cannot say.
    pub async fn take(
        &self,
        client: &str,
        per_second: f64,
        burst: f64,
        cost: f64,
        present: f64,
    ) -> Option<Result<(), u64>> {
        let key = format!("{PREFIX}rate:{client}");
        let wait: u64 = self
            .run(|mut c| async move {
                self.bucket
                    .key(&key)
                    .arg(per_second)
                    .arg(burst)
                    .arg(cost)
                    .arg(present)
                    .invoke_async(&mut c)
                    .await
            })
            .await?;
        Some(if wait == 0 { Ok(()) } else { Err(wait) })
    }
}

/// The shared answers are bounded in bytes by Redis itself (`maxmemory` with an eviction
/// policy): says so once when that bound is missing. A Redis that refuses `CONFIG` (many
/// managed ones do) is taken as configured.
async fn warn_if_unbounded(url: &str, mut connection: ConnectionManager) {
    let answer: redis::RedisResult<Vec<String>> = tokio::time::timeout(
        OP_TIMEOUT,
        redis::cmd("CONFIG").arg("GET").arg("maxmemory").query_async(&mut connection),
    )
    .await
    .unwrap_or_else(|_| Ok(Vec::new()));
    if let Ok(pair) = answer {
        if pair.get(1).is_some_and(|bytes| bytes == "0") {
            tracing::warn!(redis = %url, "Redis has no maxmemory: shared answers are bounded only by their TTL; set maxmemory with maxmemory-policy allkeys-lru");
        }
    }
}

/// `redis://user:secret@host/` as `redis://user:***@host/`.
fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

impl SharedTier for RedisTier {
    fn put<'a>(&'a self, key: &'a str, response: &'a Response, ttl: Duration) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            if ttl.is_zero() || response.body.len() > MAX_SHARED_BYTES {
                return;
            }
            let bytes = encode_response(response);
            let ms = millis(ttl);
            let _: Option<()> = self
                .run(|mut c| async move {
                    redis::cmd("SET")
                        .arg(key)
                        .arg(bytes)
                        .arg("PX")
                        .arg(ms)
                        .query_async(&mut c)
                        .await
                })
                .await;
        })
    }

    fn claim<'a>(
        &'a self,
        key: &'a str,
        lease: Duration,
        waited_on: Option<&'a str>,
    ) -> BoxFuture<'a, Claim> {
        Box::pin(async move {
            let lock = claim_key(key);
            let failed = failure_key(key, waited_on.unwrap_or(""));
            let token = self.token();
            let ms = millis(lease);
            let answer: Option<(i64, Vec<u8>, i64)> = self
                .run(|mut c| {
                    let mut script = self.claim.prepare_invoke();
                    script.key(key).key(&lock).key(&failed);
                    script.arg(&token).arg(ms).arg(if waited_on.is_some() { "1" } else { "0" });
                    async move { script.invoke_async(&mut c).await }
                })
                .await;
            let Some((kind, bytes, left)) = answer else { return Claim::Unavailable };
            match kind {
                1 => match decode_response(&bytes) {
                    Some(resp) => Claim::Stored(resp, Duration::from_millis(left.max(0) as u64)),
                    // Not an answer this format wrote: fetch it here.
                    None => Claim::Unavailable,
                },
                2 => {
                    self.claims
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(token.clone(), lock);
                    Claim::Mine(token)
                }
                3 => Claim::Theirs(String::from_utf8_lossy(&bytes).into_owned()),
                4 => decode_failure(&bytes).map_or(Claim::Unavailable, Claim::Failed),
                _ => Claim::Unavailable,
            }
        })
    }

    fn renew<'a>(&'a self, key: &'a str, token: &'a str, lease: Duration) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let lock = claim_key(key);
            let ms = millis(lease);
            let _: Option<i64> = self
                .run(|mut c| async move {
                    self.renew.key(&lock).arg(token).arg(ms).invoke_async(&mut c).await
                })
                .await;
        })
    }

    fn release<'a>(
        &'a self,
        key: &'a str,
        token: &'a str,
        failure: Option<&'a Error>,
    ) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            self.claims.lock().unwrap_or_else(|e| e.into_inner()).remove(token);
            let lock = claim_key(key);
            let failed = failure_key(key, token);
            let failure = failure.and_then(encode_failure).unwrap_or_default();
            let ms = millis(FAILURE_TTL);
            let _: Option<i64> = self
                .run(|mut c| {
                    let mut script = self.release.prepare_invoke();
                    script.key(&lock).key(&failed).arg(token).arg(&failure).arg(ms);
                    async move { script.invoke_async(&mut c).await }
                })
                .await;
        })
    }

    fn acquire<'a>(&'a self, cap: usize, lease: Duration, wait: Duration) -> BoxFuture<'a, Permit> {
        Box::pin(async move {
            let key = PERMITS;
            let token = self.token();
            let until = tokio::time::Instant::now() + wait;
            let mut pause = Duration::from_millis(2);
            loop {
                let ms = millis(lease);
                let got: Option<i64> = self
                    .run(|mut c| {
                        let (key, token) = (key, token.clone());
                        async move {
                            self.acquire
                                .key(key)
                                .arg(cap)
                                .arg(ms)
                                .arg(token)
                                .invoke_async(&mut c)
                                .await
                        }
                    })
                    .await;
                match got {
                    // Redis may have taken it and the answer been lost: give it back.
                    None => {
                        let _: Option<i64> = self
                            .run(|mut c| {
                                let (key, token) = (key, token.clone());
                                async move { c.zrem(key, token).await }
                            })
                            .await;
                        return Permit::Unavailable;
                    }
                    Some(1) => return Permit::Held(token),
                    Some(_) if tokio::time::Instant::now() >= until => return Permit::TimedOut,
                    Some(_) => {
                        tokio::time::sleep(pause).await;
                        pause = (pause * 2).min(Duration::from_millis(50));
                    }
                }
            }
        })
    }

    fn renew_permit<'a>(&'a self, token: &'a str, lease: Duration) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let key = PERMITS;
            let ms = millis(lease);
            let _: Option<i64> = self
                .run(|mut c| async move {
                    self.renew_permit.key(key).arg(token).arg(ms).invoke_async(&mut c).await
                })
                .await;
        })
    }

    fn release_permit<'a>(&'a self, token: &'a str) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let key = PERMITS;
            let _: Option<i64> = self.run(|mut c| async move { c.zrem(key, token).await }).await;
        })
    }
}
