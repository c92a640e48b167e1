//! Politeness and resilience between the typed client and the upstream: a response cache
//! bounded by bytes, a circuit breaker, and retry backoff.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::{Request, Response};

/// A response cache with per-entry expiry, bounded by total body bytes, evicting the least
/// recently used entry first. Only successful decodes and definite "not found" answers are
/// stored; errors never are.
pub(crate) struct Cache {
    budget: usize,
    state: Mutex<CacheState>,
}

#[derive(Default)]
struct CacheState {
    entries: HashMap<Request, CacheEntry>,
    by_use: BTreeMap<u64, Request>,
    bytes: usize,
    tick: u64,
}

struct CacheEntry {
    response: Response,
    expires: Instant,
    used: u64,
}

fn cost(req: &Request, resp: &Response) -> usize {
    resp.body.len()
        + req.path.len()
        + req.query.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>()
        + 64
}

impl Cache {
    pub(crate) fn new(budget: usize) -> Cache {
        Cache { budget, state: Mutex::new(CacheState::default()) }
    }

    pub(crate) fn get(&self, req: &Request) -> Option<Response> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        state.tick += 1;
        let tick = state.tick;
        let entry = state.entries.get_mut(req)?;
        if entry.expires <= now {
            let used = entry.used;
            state.remove(req, used);
            return None;
        }
        let old = std::mem::replace(&mut entry.used, tick);
        let response = entry.response.clone();
        state.by_use.remove(&old);
        state.by_use.insert(tick, req.clone());
        Some(response)
    }

    pub(crate) fn insert(&self, req: Request, response: Response, ttl: Duration) {
        let size = cost(&req, &response);
        if size > self.budget || ttl.is_zero() {
            return;
        }
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(old) = state.entries.get(&req).map(|e| e.used) {
            state.remove(&req, old);
        }
        while state.bytes + size > self.budget {
            let Some((&used, victim)) = state.by_use.iter().next() else { break };
            let victim = victim.clone();
            state.remove(&victim, used);
        }
        state.tick += 1;
        let tick = state.tick;
        state.bytes += size;
        state.by_use.insert(tick, req.clone());
        state
            .entries
            .insert(req, CacheEntry { response, expires: Instant::now() + ttl, used: tick });
    }

    pub(crate) fn bytes(&self) -> usize {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).bytes
    }
}

impl CacheState {
    fn remove(&mut self, req: &Request, used: u64) {
        if let Some(entry) = self.entries.remove(req) {
            self.bytes -= cost(req, &entry.response);
        }
        self.by_use.remove(&used);
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
