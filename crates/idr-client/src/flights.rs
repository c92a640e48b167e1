//! A single-flight table: work in flight by key, so that whoever asks for the same key
//! meanwhile joins it instead of starting it again. The table holds only weak references,
//! so when every waiter has gone the work is dropped (cancelled); the work leaves the
//! table when it finishes. The client uses it for upstream calls; the server for
//! identical GraphQL requests.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

use futures_util::future::{BoxFuture, FutureExt, Shared, WeakShared};

/// Work in flight, shared by everyone who joined it.
pub type Flight<T> = Shared<BoxFuture<'static, T>>;

/// See the module docs.
pub struct Flights<K, T> {
    table: Arc<Mutex<HashMap<K, WeakShared<BoxFuture<'static, T>>>>>,
}

impl<K, T> Default for Flights<K, T> {
    fn default() -> Flights<K, T> {
        Flights { table: Arc::default() }
    }
}

impl<K, T> Flights<K, T>
where
    K: Hash + Eq + Clone + Send + 'static,
    T: Clone + Send + Sync + 'static,
{
    /// Joins the work in flight for `key` (`true`), or starts `work()` as it (`false`).
    pub fn join<F>(&self, key: K, work: impl FnOnce() -> F) -> (Flight<T>, bool)
    where
        F: Future<Output = T> + Send + 'static,
    {
        match self.join_or(key, || Some(work())) {
            Some(joined) => joined,
            None => unreachable!("the work is always given"),
        }
    }

    /// Like [`Flights::join`], but `work()` may decline to start (`None`, and then so is
    /// the answer): in one step, so no work can start or finish in between.
    pub fn join_or<F>(&self, key: K, work: impl FnOnce() -> Option<F>) -> Option<(Flight<T>, bool)>
    where
        F: Future<Output = T> + Send + 'static,
    {
        let mut table = self.table.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(flight) = table.get(&key).and_then(WeakShared::upgrade) {
            return Some((flight, true));
        }
        let work = work()?;
        let done = Arc::downgrade(&self.table);
        let leaving = key.clone();
        let fut: BoxFuture<'static, T> = Box::pin(async move {
            let out = work.await;
            if let Some(table) = done.upgrade() {
                table.lock().unwrap_or_else(|e| e.into_inner()).remove(&leaving);
            }
            out
        });
        let flight = fut.shared();
        if let Some(weak) = flight.downgrade() {
            table.insert(key, weak);
        }
        Some((flight, false))
    }
}
