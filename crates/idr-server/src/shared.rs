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
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use idr_client::shared::FetchEnd;
use idr_client::shared::{decode_failure, decode_response, encode_failure, encode_response};
use idr_client::upstream::BoxFuture;
use idr_client::{Claim, Permit, SharedTier};
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

/// How long the end of a fetch that got no answer to share stays for its waiters (who
/// ask every 50 ms at most).
const END_TTL: Duration = Duration::from_secs(5);

/// How the fetch under `token` of the answer under `key` ended, when it ended without an
/// answer to share: `E` and the error as `encode_failure` wrote it, or `U` (unshared).
fn end_key(key: &str, token: &str) -> String {
    format!("{key}:end:{token}")
}

/// How long a claim's release or a permit's return is tried again while Redis does not
/// answer, at least: as long as the longest lease asked for, if longer (after its lease,
/// nothing is left to give back).
const GIVE_BACK_FOR: Duration = Duration::from_secs(120);

/// How long one give-back may take: it runs off every request's path, and an answer of
/// some MiB over a slow link takes longer than [`OP_TIMEOUT`].
const GIVE_BACK_TIMEOUT: Duration = Duration::from_secs(2);

/// The largest answer a give-back keeps for its retries; a larger one is dropped after a
/// failed attempt, and its waiters are told to fetch for themselves.
const KEPT_FOR_RETRIES: usize = 256 * 1024;

/// How long a refusal counts as Redis's state: `/readyz` shows it, and a call that
/// succeeds meanwhile (a read, when Redis refuses writes) does not clear it.
const REFUSALS_SHOWN_FOR: Duration = Duration::from_secs(10);

/// Refusals that pass (a Redis loading its data, busy with a script, or read-only for the
/// moment of a failover): a give-back tries again after them.
fn passing(code: &str) -> bool {
    matches!(code, "LOADING" | "BUSY" | "TRYAGAIN" | "MASTERDOWN" | "READONLY" | "OOM")
}

/// `SharedTier::claim`: the answer (kind 1, with its bytes and milliseconds left), else how
/// the fetch waited on ended without one (4, with its end), else a new claim (2), else the
/// token of the claim's holder (3). Always three values (Lua lists cannot hold nil).
const CLAIM: &str = r"
local answer = redis.call('GET', KEYS[1])
if answer then
  local left = redis.call('PTTL', KEYS[1])
  if left > 0 then return {1, answer, left} end
end
if ARGV[3] == '1' then
  local ended = redis.call('GET', KEYS[3])
  if ended then return {4, ended, 0} end
end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return {2, '', 0} end
return {3, redis.call('GET', KEYS[2]) or '', 0}
";

/// `SharedTier::release`: the claim goes if this fetch still holds it (after its lease, a
/// waiter may have taken over), and how the fetch ended stays: the answer (`A`) under its
/// key, or the end of a fetch without one (`E`, `U`) for its waiters. The claim goes first
/// and the writes cannot fail the script (a Redis out of memory refuses them), so that no
/// waiter waits out a lease for an answer that was not stored.
const RELEASE: &str = r"
local mine = redis.call('GET', KEYS[1]) == ARGV[1]
if mine then redis.call('DEL', KEYS[1]) end
if ARGV[2] == 'A' then
  redis.pcall('SET', KEYS[2], ARGV[3], 'PX', ARGV[4])
elseif ARGV[2] ~= '' then
  redis.pcall('SET', KEYS[3], ARGV[2] .. ARGV[3], 'PX', ARGV[4])
end
if mine then return 1 end
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
    /// This tier, for the tasks that give claims and permits back.
    me: Weak<RedisTier>,
    /// This replica, in claims and permit tokens.
    replica: String,
    next_token: AtomicU64,
    /// The claims this replica holds or is giving back (token → claim key), given back at
    /// shutdown however their fetches end.
    claims: Mutex<HashMap<String, String>>,
    up: AtomicBool,
    /// The error code of Redis's last refusal (read-only after a failover, out of memory,
    /// an ACL that forbids the keys), and when.
    refusing: Mutex<Option<(String, tokio::time::Instant)>>,
    /// The longest lease asked for, in milliseconds (see [`GIVE_BACK_FOR`]).
    longest_lease: AtomicU64,
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

/// Why a Redis call came to nothing.
#[derive(Debug, PartialEq, Eq)]
enum Failure {
    /// Not sent: Redis is being left alone (see `quiet_until`), or not connected yet.
    NotSent,
    /// Sent, and no answer in time, or the connection broke: it may have run.
    Lost,
    /// Redis answered with an error (its code): it did not run.
    Refused(String),
}

/// A claim or a permit Redis may be granting while its answer is awaited: given back if
/// the call is dropped first (its request cancelled), since nobody would hold it then.
struct Pending<'a> {
    tier: &'a RedisTier,
    /// The claim's answer key; `None` for a permit.
    key: Option<&'a str>,
    token: &'a str,
    armed: bool,
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        if self.armed {
            match self.key {
                Some(key) => self.tier.release(key, self.token, FetchEnd::Abandoned),
                None => self.tier.release_permit(self.token),
            }
        }
    }
}

/// What a replica gives back in the background (see `SharedTier::release`).
enum GiveBack {
    Claim { key: String, token: String, what: &'static str, bytes: Vec<u8>, ttl: Duration },
    Permit { token: String },
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
        let tier = Arc::new_cyclic(|me| RedisTier {
            url: redact(url),
            manager: Mutex::new(None),
            me: me.clone(),
            replica: format!("{:016x}", fastrand::u64(..)),
            next_token: AtomicU64::new(0),
            claims: Mutex::new(HashMap::new()),
            up: AtomicBool::new(false),
            refusing: Mutex::new(None),
            longest_lease: AtomicU64::new(0),
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
                // Each call has its own deadline (`attempt`); this one is the longest.
                .set_response_timeout(Some(GIVE_BACK_TIMEOUT))
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
        let permits: Result<i64, Failure> = self
            .attempt(
                |mut c| async move { self.forget.key(key).arg(&prefix).invoke_async(&mut c).await },
                false,
                OP_TIMEOUT,
            )
            .await;
        let held: Vec<(String, String)> =
            std::mem::take(&mut *self.claims.lock().unwrap_or_else(|e| e.into_inner()))
                .into_iter()
                .collect();
        let claims: Result<i64, Failure> = if held.is_empty() {
            Ok(0)
        } else {
            self.attempt(
                |mut c| {
                    let mut script = self.forget_claims.prepare_invoke();
                    for (token, lock) in &held {
                        script.key(lock).arg(token);
                    }
                    async move { script.invoke_async(&mut c).await }
                },
                false,
                OP_TIMEOUT,
            )
            .await
        };
        let (permits, claims) = (permits.unwrap_or(0), claims.unwrap_or(0));
        if permits > 0 || claims > 0 {
            tracing::info!(permits, claims, "gave the shared permits and claims of cut calls back");
        }
    }

    /// Whether the last Redis call reached Redis.
    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::Relaxed)
    }

    /// The error code Redis refused a call with, within [`REFUSALS_SHOWN_FOR`].
    pub fn refusing(&self) -> Option<String> {
        let refusing = self.refusing.lock().unwrap_or_else(|e| e.into_inner());
        refusing
            .as_ref()
            .filter(|(_, at)| at.elapsed() < REFUSALS_SHOWN_FOR)
            .map(|(c, _)| c.clone())
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

    /// Records a refusal (`Some(code)`) or a call that succeeded, logging when Redis starts
    /// refusing (or refuses with another code) and when it has refused nothing for
    /// [`REFUSALS_SHOWN_FOR`]: once each, however its calls alternate.
    fn mark_refusing(&self, code: Option<&str>) {
        let mut refusing = self.refusing.lock().unwrap_or_else(|e| e.into_inner());
        let now = tokio::time::Instant::now();
        match code {
            Some(code) => {
                let known = refusing.as_ref().is_some_and(|(was, at)| {
                    was == code && now.duration_since(*at) < REFUSALS_SHOWN_FOR
                });
                if !known {
                    tracing::warn!(redis = %self.url, code, "Redis refuses calls; what it refuses is not shared");
                }
                *refusing = Some((code.to_owned(), now));
            }
            None => {
                let old = refusing
                    .as_ref()
                    .is_some_and(|(_, at)| now.duration_since(*at) >= REFUSALS_SHOWN_FOR);
                if old {
                    tracing::info!(redis = %self.url, "Redis has refused no call for 10 s");
                    *refusing = None;
                }
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
        self.attempt(op, true, OP_TIMEOUT).await.ok()
    }

    /// Runs one Redis operation within `deadline`, unless `honour_quiet` and Redis is being
    /// left alone.
    async fn attempt<T, F, Fut>(
        &self,
        op: F,
        honour_quiet: bool,
        deadline: Duration,
    ) -> Result<T, Failure>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: std::future::Future<Output = redis::RedisResult<T>>,
    {
        let connection = self.connection().ok_or(Failure::NotSent)?;
        let now = tokio::time::Instant::now();
        if honour_quiet {
            let quiet = self.quiet_until.lock().unwrap_or_else(|e| e.into_inner());
            if quiet.is_some_and(|until| now < until) {
                return Err(Failure::NotSent);
            }
        }
        let failed = |this: &RedisTier| {
            this.mark(false);
            *this.quiet_until.lock().unwrap_or_else(|e| e.into_inner()) =
                Some(tokio::time::Instant::now() + QUIET);
        };
        match tokio::time::timeout(deadline, op(connection)).await {
            Ok(Ok(value)) => {
                *self.quiet_until.lock().unwrap_or_else(|e| e.into_inner()) = None;
                self.mark(true);
                self.mark_refusing(None);
                Ok(value)
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
                Err(Failure::Lost)
            }
            // Redis answered, with an error (out of memory, read-only, no permission):
            // this call shares nothing, the others go on; said once, and counted.
            Ok(Err(error)) => {
                let code = error.code().unwrap_or("ERR").to_owned();
                tracing::debug!(%error, "Redis refused a call");
                metrics::counter!("idr_redis_refusals_total", "code" => code.clone()).increment(1);
                self.mark(true);
                self.mark_refusing(Some(&code));
                Err(Failure::Refused(code))
            }
            Err(_) => {
                failed(self);
                Err(Failure::Lost)
            }
        }
    }

    fn token(&self) -> String {
        format!("{}:{}", self.replica, self.next_token.fetch_add(1, Ordering::Relaxed))
    }

    /// Gives a claim or a permit back in the background, trying again while Redis does
    /// not answer (and, for an answer that could not be stored then, without it: its
    /// waiters fetch for themselves), for up to [`GIVE_BACK_FOR`].
    fn give_back(&self, job: GiveBack) {
        let (Some(this), Ok(runtime)) = (self.me.upgrade(), tokio::runtime::Handle::try_current())
        else {
            return;
        };
        runtime.spawn(async move {
            let mut job = job;
            let longest = Duration::from_millis(this.longest_lease.load(Ordering::Relaxed));
            let until = tokio::time::Instant::now() + GIVE_BACK_FOR.max(longest);
            let mut pause = Duration::from_millis(100);
            let started = tokio::time::Instant::now();
            loop {
                let done: Result<i64, Failure> = match &job {
                    GiveBack::Claim { key, token, what, bytes, ttl } => {
                        let (lock, end) = (claim_key(key), end_key(key, token));
                        // An answer stored late keeps the age it has (it ages once).
                        let left = match *what {
                            "A" => ttl.saturating_sub(started.elapsed()),
                            _ => *ttl,
                        };
                        let ms = millis(left);
                        this.attempt(
                            |mut c| {
                                let mut script = this.release.prepare_invoke();
                                script.key(&lock).key(key).key(&end);
                                script.arg(token).arg(*what).arg(&bytes[..]).arg(ms);
                                async move { script.invoke_async(&mut c).await }
                            },
                            false,
                            GIVE_BACK_TIMEOUT,
                        )
                        .await
                    }
                    GiveBack::Permit { token } => {
                        this.attempt(
                            |mut c| async move { c.zrem(PERMITS, token).await },
                            false,
                            GIVE_BACK_TIMEOUT,
                        )
                        .await
                    }
                };
                match done {
                    Ok(_) => break,
                    // A refusal that does not pass (no permission, say) is not retried.
                    Err(Failure::Refused(code)) if !passing(&code) => break,
                    Err(_) if tokio::time::Instant::now() >= until => break,
                    Err(_) => {
                        // A large answer is not held on to: it stays in this replica's own
                        // cache, and the waiters are told to fetch for themselves.
                        if let GiveBack::Claim { what, bytes, ttl, .. } = &mut job {
                            if *what == "A" && bytes.len() > KEPT_FOR_RETRIES {
                                (*what, *bytes, *ttl) = ("U", Vec::new(), END_TTL);
                            }
                        }
                        // Spread out, so that the give-backs of one moment do not all
                        // come back at once.
                        tokio::time::sleep(pause.mul_f64(0.5 + fastrand::f64())).await;
                        pause = (pause * 2).min(Duration::from_secs(2));
                    }
                }
            }
            if let GiveBack::Claim { token, .. } = &job {
                this.claims.lock().unwrap_or_else(|e| e.into_inner()).remove(token);
            }
        });
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
    fn claim<'a>(
        &'a self,
        key: &'a str,
        lease: Duration,
        waited_on: Option<&'a str>,
    ) -> BoxFuture<'a, Claim> {
        Box::pin(async move {
            let lock = claim_key(key);
            let ended = end_key(key, waited_on.unwrap_or(""));
            let token = self.token();
            let ms = millis(lease);
            self.longest_lease.fetch_max(ms, Ordering::Relaxed);
            // Held from before it is asked for: a claim whose answer is lost, or whose
            // request is cancelled while it is asked for, is given back.
            self.claims
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(token.clone(), lock.clone());
            let mut pending = Pending { tier: self, key: Some(key), token: &token, armed: true };
            let answer: Result<(i64, Vec<u8>, i64), Failure> = self
                .attempt(
                    |mut c| {
                        let mut script = self.claim.prepare_invoke();
                        script.key(key).key(&lock).key(&ended);
                        script.arg(&token).arg(ms).arg(if waited_on.is_some() { "1" } else { "0" });
                        async move { script.invoke_async(&mut c).await }
                    },
                    true,
                    OP_TIMEOUT,
                )
                .await;
            pending.armed = false;
            drop(pending);
            // Not given (or, if lost, given back below, which forgets it when done).
            if !matches!(answer, Ok((2, _, _)) | Err(Failure::Lost)) {
                self.claims.lock().unwrap_or_else(|e| e.into_inner()).remove(&token);
            }
            let (kind, bytes, left) = match answer {
                Ok(answer) => answer,
                Err(Failure::Lost) => {
                    // Redis may have given it: give it back.
                    self.release(key, &token, FetchEnd::Abandoned);
                    return Claim::Unavailable;
                }
                Err(_) => return Claim::Unavailable,
            };
            match kind {
                1 => match decode_response(&bytes) {
                    Some(resp) => Claim::Stored(resp, Duration::from_millis(left.max(0) as u64)),
                    // Not an answer this format wrote: fetch it here.
                    None => Claim::Unavailable,
                },
                2 => Claim::Mine(token),
                3 => Claim::Theirs(String::from_utf8_lossy(&bytes).into_owned()),
                4 => match bytes.split_first() {
                    Some((b'E', error)) => {
                        decode_failure(error).map_or(Claim::Alone, Claim::Failed)
                    }
                    _ => Claim::Alone,
                },
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

    fn release(&self, key: &str, token: &str, end: FetchEnd) {
        let (what, bytes, ttl) = match end {
            FetchEnd::Answer(resp, ttl)
                if !ttl.is_zero() && resp.body.len() <= MAX_SHARED_BYTES =>
            {
                ("A", encode_response(&resp), ttl)
            }
            // Larger answers stay in each replica's own cache.
            FetchEnd::Answer(..) | FetchEnd::Unshared => ("U", Vec::new(), END_TTL),
            FetchEnd::Failed(error) => match encode_failure(&error) {
                Some(text) => ("E", text.into_bytes(), END_TTL),
                // The fetching request's own failure: a waiter takes over.
                None => ("", Vec::new(), END_TTL),
            },
            FetchEnd::Abandoned => ("", Vec::new(), END_TTL),
        };
        let (key, token) = (key.to_owned(), token.to_owned());
        self.give_back(GiveBack::Claim { key, token, what, bytes, ttl });
    }

    fn acquire<'a>(&'a self, cap: usize, lease: Duration, wait: Duration) -> BoxFuture<'a, Permit> {
        Box::pin(async move {
            let key = PERMITS;
            let token = self.token();
            let until = tokio::time::Instant::now() + wait;
            let mut pause = Duration::from_millis(2);
            let ms = millis(lease);
            self.longest_lease.fetch_max(ms, Ordering::Relaxed);
            loop {
                let mut pending = Pending { tier: self, key: None, token: &token, armed: true };
                let got: Result<i64, Failure> = self
                    .attempt(
                        |mut c| {
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
                        },
                        true,
                        OP_TIMEOUT,
                    )
                    .await;
                pending.armed = false;
                drop(pending);
                match got {
                    // Redis may have given it and the answer been lost: give it back.
                    Err(Failure::Lost) => {
                        self.release_permit(&token);
                        return Permit::Unavailable;
                    }
                    Err(_) => return Permit::Unavailable,
                    Ok(1) => return Permit::Held(token),
                    Ok(_) if tokio::time::Instant::now() >= until => return Permit::TimedOut,
                    Ok(_) => {
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

    fn release_permit(&self, token: &str) {
        self.give_back(GiveBack::Permit { token: token.to_owned() });
    }
}
