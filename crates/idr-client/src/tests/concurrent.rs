//! Many calls at once: identical calls share one upstream call (singleflight) and one
//! decoded answer, and the upstream never sees more calls in flight than the configured
//! cap.
//!
//! All calls are started from one task with `join_all`, so every call has been issued
//! before the (slow) fake answers the first one: the counts do not depend on scheduling.

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::join_all;

use super::fake::Fake;
use crate::{ClientConfig, IdrClient};

/// Calls `image_data` for every id at once, with at most `cap` upstream calls in flight,
/// and checks the number of upstream calls. Every caller must get its own image.
async fn check(cap: usize, ids: &[u64], expected_calls: u64) {
    let fake = Arc::new(Fake::idr().latency(Duration::from_millis(20)));
    let client = IdrClient::new(
        fake.clone(),
        ClientConfig { max_concurrency: cap, ..ClientConfig::default() },
    );
    let results = join_all(ids.iter().map(|id| client.image_data(*id))).await;
    for (id, result) in ids.iter().zip(&results) {
        let image = result.as_ref().unwrap().as_ref().unwrap();
        assert_eq!((image.id, image.name.as_str()), (*id, format!("image {id}").as_str()));
    }
    let decoded = |result: &Result<Option<Arc<crate::model::ImageData>>, crate::Error>| {
        result.as_ref().unwrap().as_ref().unwrap().clone()
    };
    let first_of = |id: u64| decoded(&results[ids.iter().position(|i| *i == id).unwrap()]);
    for (id, result) in ids.iter().zip(&results) {
        // Not equal copies: the one value decoded once.
        assert!(Arc::ptr_eq(&decoded(result), &first_of(*id)), "image {id} was decoded twice");
    }
    assert_eq!(fake.calls(), expected_calls, "upstream calls");
    // And the cache hands out that same value afterwards.
    for id in ids {
        let again = client.image_data(*id).await.unwrap().unwrap();
        assert!(Arc::ptr_eq(&again, &first_of(*id)), "the cache decoded image {id} again");
    }
    assert_eq!(fake.calls(), expected_calls, "upstream calls after the cache");
    // A cap of 0 is taken as 1, so that calls still make progress.
    let cap = cap.max(1);
    assert!(fake.max_in_flight() <= cap, "{} calls in flight, cap {cap}", fake.max_in_flight());
}

#[tokio::test]
async fn hundred_identical_calls_make_one_upstream_call() {
    check(8, &[1; 100], 1).await;
}

#[tokio::test]
async fn identical_calls_are_shared_per_request() {
    check(8, &(0..100).map(|i| i % 5).collect::<Vec<_>>(), 5).await;
}

#[tokio::test]
async fn twenty_slow_calls_never_exceed_the_cap_of_three() {
    check(3, &(1..=20).collect::<Vec<_>>(), 20).await;
}

#[tokio::test]
async fn a_cap_of_one_serialises_calls() {
    check(1, &(1..=5).collect::<Vec<_>>(), 5).await;
}

#[tokio::test]
async fn a_cap_of_zero_still_makes_progress() {
    check(0, &[1, 2], 2).await;
}

/// Tasks on several threads asking for the same ids over and over while the upstream
/// answers at once: each id costs exactly one call. A call caches its answer before it
/// leaves the in-flight table, and a new call looks in the cache first, so no request can
/// slip between the two and send the call again.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_call_is_sent_twice_between_the_table_and_the_cache() {
    let fake = Arc::new(Fake::idr());
    let client = IdrClient::new(fake.clone(), ClientConfig::default());
    // Every task walks the ids in the same order, so they meet on each id's first call.
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move {
                for id in 1..=1000 {
                    client.image_data(id).await.unwrap().unwrap();
                    tokio::task::yield_now().await;
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(fake.calls(), 1000, "upstream calls for 1,000 ids");
}
