//! What one request cost upstream, counted as it runs. A [`Tally`] is set for a task with
//! [`Tally::scope`] (a GraphQL request's own task, and each batch task it spawns); the
//! client adds to the tally of the task that calls it: answers from the cache, calls it
//! joined while another request had them in flight, and the upstream attempts of the
//! calls it started (retries included).

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

tokio::task_local! {
    static CURRENT: Arc<Tally>;
}

/// Counts of one request; see the module docs.
#[derive(Debug, Default)]
pub struct Tally {
    /// Upstream calls this request may start; `None` for no limit.
    budget: Option<u64>,
    /// When this request stops waiting for IDR; `None` for never.
    deadline: Option<tokio::time::Instant>,
    /// Upstream calls it started (each counted once, however often it was retried).
    started: AtomicU64,
    upstream_calls: AtomicU64,
    cache_hits: AtomicU64,
    coalesced: AtomicU64,
    batches: AtomicU64,
    /// Time spent in calls to the shared tier, in microseconds.
    shared_micros: AtomicU64,
}

/// A snapshot of a [`Tally`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Upstream attempts made for this request (retries included).
    pub upstream_calls: u64,
    /// Answers taken from the cache.
    pub cache_hits: u64,
    /// Calls joined while another request had them in flight.
    pub coalesced: u64,
    /// Dataloader batches sent (each waited its delay for more keys unless full).
    pub batches: u64,
    /// Upstream calls the request may start in all, if it is limited.
    pub budget: Option<u64>,
    /// Of those, the calls it may still start.
    pub remaining: Option<u64>,
}

impl Tally {
    /// A tally for a request that may make at most `budget` upstream calls. Once they are
    /// made, the client starts no more for it: each further call it would start fails with
    /// [`crate::Error::OverBudget`] (joining a call already in flight, or a cache hit,
    /// still answers, as they cost IDR nothing). The budget counts calls started; their
    /// retries are not stopped, so `upstream_calls` (attempts) can exceed it by those.
    pub fn with_budget(budget: u64) -> Tally {
        Tally { budget: Some(budget), ..Tally::default() }
    }

    /// This tally, for a request that waits for IDR until `at` and no longer: every wait
    /// for an upstream answer (its own call, or one it joined) then ends with
    /// [`crate::Error::Deadline`], so the fields still waiting fail, the rest of the
    /// answer completes, and it goes out, partial, in time. A call other requests still
    /// wait for carries on for them.
    pub fn with_deadline(mut self, at: tokio::time::Instant) -> Tally {
        self.deadline = Some(at);
        self
    }

    pub(crate) fn deadline(tally: &Option<Arc<Tally>>) -> Option<tokio::time::Instant> {
        tally.as_ref().and_then(|t| t.deadline)
    }

    /// Takes one call from the request's budget: whether it may start another upstream
    /// call.
    pub(crate) fn reserve_call(tally: &Option<Arc<Tally>>) -> bool {
        let Some(t) = tally else { return true };
        let Some(budget) = t.budget else { return true };
        t.started
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| (n < budget).then_some(n + 1))
            .is_ok()
    }

    /// Gives back a call reserved with [`Tally::reserve_call`] that was not made (the
    /// answer came from the cache or another replica after all).
    pub(crate) fn refund_call(tally: &Option<Arc<Tally>>) {
        let Some(t) = tally else { return };
        if t.budget.is_some() {
            let _ =
                t.started.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
        }
    }

    pub(crate) fn budget(tally: &Option<Arc<Tally>>) -> u64 {
        tally.as_ref().and_then(|t| t.budget).unwrap_or(u64::MAX)
    }

    /// Runs `fut` with this tally as the current one.
    pub fn scope<F: Future>(self: Arc<Self>, fut: F) -> impl Future<Output = F::Output> {
        CURRENT.scope(self, fut)
    }

    /// The tally of the running task, if it has one.
    pub fn current() -> Option<Arc<Tally>> {
        CURRENT.try_with(Arc::clone).ok()
    }

    pub fn counts(&self) -> Counts {
        Counts {
            upstream_calls: self.upstream_calls.load(Ordering::Relaxed),
            cache_hits: self.cache_hits.load(Ordering::Relaxed),
            coalesced: self.coalesced.load(Ordering::Relaxed),
            batches: self.batches.load(Ordering::Relaxed),
            budget: self.budget,
            remaining: self.budget.map(|b| b.saturating_sub(self.started.load(Ordering::Relaxed))),
        }
    }

    /// Counts a dataloader batch sent.
    pub fn add_batch() {
        bump(&Tally::current(), |t| &t.batches);
    }

    pub(crate) fn add_cache_hit(tally: &Option<Arc<Tally>>) {
        bump(tally, |t| &t.cache_hits);
    }

    /// Counts time spent talking to the shared tier.
    pub(crate) fn add_shared_time(tally: &Option<Arc<Tally>>, spent: std::time::Duration) {
        if let Some(t) = tally {
            t.shared_micros.fetch_add(spent.as_micros() as u64, Ordering::Relaxed);
        }
    }

    /// Whether the request has spent `budget` talking to the shared tier already (then
    /// it goes on without it: a slow shared tier slows a request by at most that).
    pub(crate) fn shared_spent(tally: &Option<Arc<Tally>>, budget: std::time::Duration) -> bool {
        tally
            .as_ref()
            .is_some_and(|t| t.shared_micros.load(Ordering::Relaxed) >= budget.as_micros() as u64)
    }

    pub(crate) fn add_coalesced() {
        bump(&Tally::current(), |t| &t.coalesced);
    }

    pub(crate) fn add_upstream_call(tally: &Option<Arc<Tally>>) {
        bump(tally, |t| &t.upstream_calls);
    }
}

fn bump(tally: &Option<Arc<Tally>>, counter: impl Fn(&Tally) -> &AtomicU64) {
    if let Some(tally) = tally {
        counter(tally).fetch_add(1, Ordering::Relaxed);
    }
}
