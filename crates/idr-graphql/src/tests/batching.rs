//! Batching is proven by counting upstream requests, not assumed.

use std::sync::Arc;

use super::{offline_schema, run};

/// Runs `query` offline and returns the paths of the upstream requests it made.
async fn check(query: &str) -> Vec<String> {
    let (schema, seen) = offline_schema();
    let response = run(&schema, query).await;
    assert!(response.get("errors").is_none(), "unexpected errors: {response}");
    let seen = seen.lock().unwrap();
    seen.iter().map(|r| r.path.clone()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_values_of_96_images_cost_one_upstream_call() {
    let paths = check("{ plate(id: 4554) { wells { images { keyValues { key } } } } }").await;
    let annotation_calls =
        paths.iter().filter(|p| p.as_str() == "/webclient/api/annotations/").count();
    assert_eq!(annotation_calls, 1, "requests: {paths:?}");
    // The grid and the plate itself: one call each, not one per well.
    assert_eq!(paths.len(), 3, "requests: {paths:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_fields_reuse_one_call() {
    let paths = check("{ a: image(id: 122770) { name } b: image(id: 122770) { width } c: image(id: 122770) { keyValues { key } } d: image(id: 122770) { annotations { id } } }").await;
    assert_eq!(
        paths,
        ["/webclient/imgData/122770/", "/webclient/api/annotations/"].map(String::from)
    );
}

/// An upstream that never answers and records when a call is dropped unanswered.
struct Hanging {
    dropped: Arc<std::sync::atomic::AtomicUsize>,
}

struct DropFlag(Arc<std::sync::atomic::AtomicUsize>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

impl idr_client::Upstream for Hanging {
    fn send<'a>(
        &'a self,
        _: &'a idr_client::Request,
    ) -> idr_client::upstream::BoxFuture<'a, Result<idr_client::Response, idr_client::Error>> {
        let flag = DropFlag(self.dropped.clone());
        Box::pin(async move {
            let _flag = flag;
            std::future::pending().await
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_that_goes_away_cancels_its_batches() {
    // FAULTS F17: when a client disconnects, the request's future is dropped; its loaders'
    // batches (spawned tasks) must be dropped with it, and so their upstream calls.
    let dropped = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let client = idr_client::IdrClient::new(
        Hanging { dropped: dropped.clone() },
        idr_client::ClientConfig::default(),
    );
    let schema = crate::build_schema(client, crate::SchemaLimits::default());
    let query = "{ image(id: 1) { name } plate(id: 2) { wells { label } } }";
    let gone =
        tokio::time::timeout(std::time::Duration::from_millis(200), crate::execute(&schema, query))
            .await;
    assert!(gone.is_err(), "the upstream never answers");
    // The image and grid lookups ran in batch tasks; both calls are dropped soon after.
    for _ in 0..500 {
        if dropped.load(std::sync::atomic::Ordering::SeqCst) >= 2 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!(
        "upstream calls still running: {} dropped",
        dropped.load(std::sync::atomic::Ordering::SeqCst)
    );
}

/// Issue 9: `extensions.cost` counts a request's upstream calls, cache hits and
/// dataloader batches. A plate primes its wells' key/values and bulk rows without a
/// batch (every key is known, so nothing waits for more), so a warm plate costs one
/// batch (its grid) however many wells it has, and no upstream call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_warm_plate_costs_no_call_and_one_batch() {
    let (schema, _) = offline_schema();
    let query = "{ plate(id: 4554) { wells { label images { keyValues { key } } } } }";
    let with_cost = |r| serde_json::to_value(r).expect("responses serialise");
    let cold = with_cost(crate::execute(&schema, query).await);
    assert!(cold.get("errors").is_none(), "{cold}");
    let cost = &cold["extensions"]["cost"];
    assert_eq!(
        (cost["upstreamCalls"].as_u64(), cost["batches"].as_u64()),
        (Some(3), Some(1)),
        "{cost}"
    );
    let warm = with_cost(crate::execute(&schema, query).await);
    assert_eq!(warm["data"], cold["data"]);
    let cost = &warm["extensions"]["cost"];
    assert_eq!(cost["upstreamCalls"], 0, "{cost}");
    assert_eq!(cost["batches"], 1, "{cost}");
    assert_eq!(cost["cacheHits"], 3, "{cost}");
}
