//! Batching is proven by counting upstream requests, not assumed.

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
