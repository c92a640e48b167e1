//! Politeness and resilience between the typed client and the upstream: a cache of decoded
//! answers bounded by bytes, a circuit breaker, and retry backoff.

use std::any::{Any, TypeId};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use moka::policy::EvictionPolicy;

use crate::model::{AnnotationType, ObjectKind};
use crate::{Error, Request, Response};

/// An upstream answer decoded by its endpoint's decoder, shared by everyone who asks for it
/// while it is cached or in flight.
pub(crate) type Decoded = Arc<dyn Any + Send + Sync>;

/// What a request decoded to: a value, or "not found" (the only error ever cached).
pub(crate) type Outcome = Result<Decoded, Error>;

/// A cache key.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Key {
    /// An upstream answer: the canonical request and the type it decodes to. Each endpoint
    /// has one decoder, so the type only keeps two decoders of one request (a programming
    /// slip) from ever reading each other's values.
    Answer { request: Request, decodes_to: TypeId },
    /// One object's share of a batch answer, cached on its own (see
    /// [`Cache::insert_part`]), under a key that costs nothing to build.
    Part(Part),
}

impl Key {
    pub(crate) fn answer<T: 'static>(request: Request) -> Key {
        Key::Answer { request, decodes_to: TypeId::of::<T>() }
    }
}

/// The objects whose share of a batch answer is cached on its own; each names the one
/// type its value has.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Part {
    /// One object's annotations of one type, out of an annotations batch.
    Annotations(AnnotationType, ObjectKind, u64),
    /// One well's bulk row (or that it has none), out of a table answer.
    WellRow(u64),
    /// One image's thumbnail at one size (or that IDR has none), out of a batch.
    Thumbnail(u64, Option<u32>),
}

#[derive(Clone)]
struct Entry {
    outcome: Outcome,
    weight: u32,
    ttl: Duration,
}

/// The cache of decoded answers (moka): per-entry expiry, bounded by the bytes of the
/// answers the entries were decoded from, least recently used evicted first. Only
/// successful decodes and definite "not found" answers are stored; errors never are.
///
/// Values are stored decoded (an `Arc`), so a hit costs no parsing and every reader shares
/// one copy. The raw body is not kept: a shared second tier (Redis) would sit under this
/// one and hold raw bodies, decoded on the way up.
pub(crate) struct Cache {
    budget: usize,
    entries: moka::sync::Cache<Key, Entry>,
}

/// The bytes an answer's entry is charged: its raw answer and its request, plus a fixed
/// overhead.
pub(crate) fn answer_bytes(req: &Request, resp: &Response) -> usize {
    resp.body.len()
        + req.path.len()
        + req.body.as_ref().map_or(0, String::len)
        + req.query.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>()
        + 64
}

/// Each entry lives for the TTL it was inserted with.
struct PerEntryTtl;

impl moka::Expiry<Key, Entry> for PerEntryTtl {
    fn expire_after_create(&self, _: &Key, entry: &Entry, _: Instant) -> Option<Duration> {
        Some(entry.ttl)
    }
}

impl Cache {
    pub(crate) fn new(budget: usize) -> Cache {
        let entries = moka::sync::Cache::builder()
            .max_capacity(budget as u64)
            .weigher(|_: &Key, entry: &Entry| entry.weight)
            .expire_after(PerEntryTtl)
            .eviction_policy(EvictionPolicy::lru())
            .build();
        Cache { budget, entries }
    }

    pub(crate) fn get(&self, key: &Key) -> Option<Outcome> {
        self.entries.get(key).map(|entry| entry.outcome)
    }

    /// Stores `outcome` for `ttl`, charged `bytes` (see [`answer_bytes`]). An entry larger
    /// than the whole budget, or with no time to live, is not stored.
    pub(crate) fn insert(&self, key: Key, outcome: Outcome, bytes: usize, ttl: Duration) {
        if bytes > self.budget || ttl.is_zero() {
            return;
        }
        let weight = u32::try_from(bytes).unwrap_or(u32::MAX);
        self.entries.insert(key, Entry { outcome, weight, ttl });
    }

    /// Stores one object's share of a batch answer (one object's annotations, one well's
    /// row), unless it is there already, for `ttl` from now. It is charged `bytes`, an
    /// estimate of what it holds: it shares its data with the batch's entry, so the two are
    /// charged twice, and the bound stays a bound.
    pub(crate) fn insert_part(&self, part: Part, value: Decoded, bytes: usize, ttl: Duration) {
        let key = Key::Part(part);
        if !self.entries.contains_key(&key) {
            self.insert(key, Ok(value), bytes, ttl);
        }
    }

    /// Whether `key` is held now (no hit is counted, nothing is refreshed).
    pub(crate) fn contains(&self, key: &Key) -> bool {
        self.entries.contains_key(key)
    }

    /// The bytes held now. Eviction runs in moka's housekeeping, which this runs first.
    pub(crate) fn bytes(&self) -> usize {
        self.entries.run_pending_tasks();
        usize::try_from(self.entries.weighted_size()).unwrap_or(usize::MAX)
    }
}

/// Settings of the circuit breaker.
#[derive(Clone, Copy, Debug)]
pub struct BreakerConfig {
    /// Calls counted over this window.
    pub window: Duration,
    /// The breaker only judges once this many calls were made in the window.
    pub min_calls: usize,
    /// It opens when at least this share of them failed.
    pub failure_ratio: f64,
    /// How long it stays open before letting one probe through.
    pub open_for: Duration,
}

impl Default for BreakerConfig {
    fn default() -> BreakerConfig {
        BreakerConfig {
            window: Duration::from_secs(10),
            min_calls: 10,
            failure_ratio: 0.5,
            open_for: Duration::from_secs(5),
        }
    }
}

/// Closed → open after too many failures → half-open (one probe) → closed on success.
pub(crate) struct Breaker {
    config: BreakerConfig,
    state: Mutex<BreakerState>,
}

#[derive(Default)]
struct BreakerState {
    calls: VecDeque<(Instant, bool)>,
    open_until: Option<Instant>,
    probing: bool,
}

/// Whether a call may go ahead, and whether it is the half-open probe.
pub(crate) enum Admit {
    Yes { probe: bool },
    No,
}

impl Breaker {
    pub(crate) fn new(config: BreakerConfig) -> Breaker {
        Breaker { config, state: Mutex::new(BreakerState::default()) }
    }

    pub(crate) fn admit(&self) -> Admit {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        match state.open_until {
            None => Admit::Yes { probe: false },
            Some(until) if Instant::now() < until => Admit::No,
            Some(_) if state.probing => Admit::No,
            Some(_) => {
                state.probing = true;
                Admit::Yes { probe: true }
            }
        }
    }

    /// Whether calls are refused now: open, or half-open with its probe under way. Once
    /// the open time has passed and no probe is out, the next call is let through, so
    /// this is false.
    pub(crate) fn is_open(&self) -> bool {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.open_until.is_some_and(|until| Instant::now() < until) || state.probing
    }

    /// Holds the half-open slot while `probe` is true; see [`ProbeGuard`].
    pub(crate) fn guard(&self, probe: bool) -> ProbeGuard<'_> {
        ProbeGuard { breaker: self, armed: probe }
    }

    pub(crate) fn record(&self, probe: bool, failed: bool) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        if probe {
            state.probing = false;
            if failed {
                state.open_until = Some(now + self.config.open_for);
            } else {
                state.open_until = None;
                state.calls.clear();
            }
            return;
        }
        state.calls.push_back((now, failed));
        while state.calls.front().is_some_and(|(t, _)| now.duration_since(*t) > self.config.window)
        {
            state.calls.pop_front();
        }
        let total = state.calls.len();
        let failures = state.calls.iter().filter(|(_, f)| *f).count();
        if total >= self.config.min_calls
            && failures as f64 >= self.config.failure_ratio * total as f64
        {
            state.open_until = Some(now + self.config.open_for);
            state.calls.clear();
        }
    }
}

/// The half-open probe in progress. A call can be dropped before it reports (its client
/// went away, a deadline passed); the guard then frees the slot so that the next call
/// probes. Without it the breaker would wait for a report that never comes and stay open
/// for good.
pub(crate) struct ProbeGuard<'a> {
    breaker: &'a Breaker,
    armed: bool,
}

impl ProbeGuard<'_> {
    /// Reports the outcome of the call this guard was made for.
    pub(crate) fn record(mut self, failed: bool) {
        let probe = std::mem::replace(&mut self.armed, false);
        self.breaker.record(probe, failed);
    }
}

impl Drop for ProbeGuard<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.breaker.state.lock().unwrap_or_else(|e| e.into_inner()).probing = false;
        }
    }
}

/// Exponential backoff with "equal" jitter: attempt `n` waits between half and all of
/// `base × 2^n` (attempt 1: `base` to `2 × base`; the exponent stops at 8), so callers
/// that failed together do not retry together.
pub(crate) fn backoff(base: Duration, attempt: u32) -> Duration {
    let cap = base.saturating_mul(1 << attempt.min(8));
    cap.mul_f64(0.5 + fastrand::f64() * 0.5)
}

/// Retries allowed across all calls: every call earns a fifth of a retry, up to ten saved,
/// so when the upstream fails broadly, retries stay a small share of traffic instead of
/// tripling it.
pub(crate) struct RetryBudget {
    tokens: Mutex<f64>,
}

impl RetryBudget {
    const EARNED_PER_CALL: f64 = 0.2;
    const MAX_SAVED: f64 = 10.0;

    pub(crate) fn new() -> RetryBudget {
        RetryBudget { tokens: Mutex::new(RetryBudget::MAX_SAVED) }
    }

    pub(crate) fn deposit(&self) {
        let mut tokens = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        *tokens = (*tokens + RetryBudget::EARNED_PER_CALL).min(RetryBudget::MAX_SAVED);
    }

    /// Takes one retry from the budget, if there is one.
    pub(crate) fn withdraw(&self) -> bool {
        let mut tokens = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}
