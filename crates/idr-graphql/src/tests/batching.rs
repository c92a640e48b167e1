//! Batching is proven by counting upstream requests, not assumed.

use std::sync::Arc;

use serde_json::json;

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
/// batch (every key is known, so nothing waits for more), so a cold plate costs one
/// batch (its grid) however many wells it has; a warm one costs no batch at all, and no
/// upstream call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_warm_plate_costs_no_call_and_no_batch() {
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
    assert_eq!(cost["batches"], 0, "{cost}");
}

/// A warm query never waits on a dataloader's timer: every example, run a second time,
/// is answered from the cache with no upstream call and no batch (a batch is what waits
/// [`crate::loaders`]' delay for more keys), and answers as it did cold. An example with
/// errors is the exception: failures are never cached, so they are asked again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_warm_example_makes_a_call_or_a_batch() {
    let dir = super::repo_root().join("examples/graphql");
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.retain(|p| p.extension().is_some_and(|e| e == "graphql"));
    files.sort();
    assert!(files.len() >= 12, "expected the walkthrough examples in {}", dir.display());
    let (schema, _) = offline_schema();
    let with_cost = |r| serde_json::to_value(r).expect("responses serialise");
    let mut whole = 0;
    for path in files {
        let query = std::fs::read_to_string(&path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let cold = with_cost(crate::execute(&schema, query.as_str()).await);
        let warm = with_cost(crate::execute(&schema, query.as_str()).await);
        assert_eq!((&warm["data"], &warm["errors"]), (&cold["data"], &cold["errors"]), "{name}");
        if cold.get("errors").is_some() {
            continue;
        }
        whole += 1;
        let cost = &warm["extensions"]["cost"];
        assert_eq!(
            (&cost["upstreamCalls"], &cost["batches"]),
            (&json!(0), &json!(0)),
            "{name}: {cost}"
        );
    }
    assert!(whole >= 10, "only {whole} examples answer without errors");
}
