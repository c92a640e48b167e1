//! The access log: one line per request, with the request's id, route, status, duration,
//! what it cost upstream and the GraphQL operation's name; as text, or as JSON lines for
//! log shippers. An upstream failure's line carries the id of the request it failed.

use serde_json::{json, Value};

use crate::Idr;

/// The JSON lines the server logged so far.
fn json_lines(idr: &Idr) -> Vec<Value> {
    idr.log()
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

async fn post_as(idr: &Idr, id: &str, body: Value) -> Value {
    let response = Idr::client()
        .post(format!("{}/graphql", idr.base))
        .header("x-request-id", id)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], id);
    response.json().await.unwrap()
}

/// Waits a little for the line of request `id` (the log is written as the answer goes).
async fn access_line(idr: &Idr, id: &str) -> Value {
    for _ in 0..50 {
        let found =
            json_lines(idr).into_iter().find(|l| l["target"] == "access" && l["span"]["id"] == id);
        if let Some(line) = found {
            return line;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no access line for {id} in:\n{}", idr.log());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_gets_one_json_line_with_what_it_cost() {
    let idr = Idr::serve_logged(&["--offline", "--log-format", "json"], "info");
    let query = "query Plate { plate(id: 4554) { name wells { label } } }";
    let cold = post_as(&idr, "cold-1", json!({"query": query})).await;
    let warm = post_as(&idr, "warm-2", json!({"query": query})).await;
    for (id, answer) in [("cold-1", &cold), ("warm-2", &warm)] {
        let line = access_line(&idr, id).await;
        assert_eq!(line["level"], "INFO");
        assert_eq!(
            (line["method"].as_str(), line["route"].as_str(), line["status"].as_u64()),
            (Some("POST"), Some("/graphql"), Some(200))
        );
        assert_eq!(line["operation"], "Plate");
        assert_eq!(line["upstream_calls"], answer["extensions"]["cost"]["upstreamCalls"], "{line}");
        assert_eq!(line["cache_hits"], answer["extensions"]["cost"]["cacheHits"], "{line}");
        assert!(line["duration_ms"].as_f64().unwrap() > 0.0);
    }
    assert!(cold["extensions"]["cost"]["upstreamCalls"].as_u64().unwrap() > 0);
    assert_eq!(warm["extensions"]["cost"]["upstreamCalls"], 0);
    let lines = json_lines(&idr);
    assert_eq!(
        lines.iter().filter(|l| l["target"] == "access" && l["span"]["id"] == "cold-1").count(),
        1
    );

    // A thumbnail batch and a 404 are logged too; the raw path never is.
    Idr::client()
        .get(format!("{}/thumbnails?ids=1884807,1884808", idr.base))
        .header("x-request-id", "thumbs-3")
        .send()
        .await
        .unwrap();
    let line = access_line(&idr, "thumbs-3").await;
    assert_eq!(
        (line["route"].as_str(), line["upstream_calls"].as_u64()),
        (Some("/thumbnails"), Some(1))
    );
    assert!(!idr.log().contains("1884807,1884808"), "a query string reached the log");

    // An upstream failure is logged with the id of the request it failed.
    let failed =
        post_as(&idr, "fails-4", json!({"query": "{ plate(id: 422) { wells { label } } }"})).await;
    assert_eq!(failed["errors"][0]["extensions"]["code"], "NOT_RECORDED");
    access_line(&idr, "fails-4").await;
    let warning = json_lines(&idr)
        .into_iter()
        .find(|l| l["level"] == "WARN" && l["message"] == "upstream call failed")
        .expect("the failure is logged");
    assert_eq!(warning["span"]["id"], "fails-4", "{warning}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_text_log_has_the_same_line() {
    let idr = Idr::serve_logged(&["--offline"], "info");
    post_as(&idr, "text-5", json!({"query": "{ screen(id: 102) { name } }"})).await;
    for _ in 0..50 {
        if idr.log().contains("request{id=text-5}") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let log = idr.log();
    let line = log
        .lines()
        .find(|l| l.contains("request{id=text-5}") && l.contains(" access:"))
        .unwrap_or_else(|| panic!("{log}"));
    for field in [
        "method=POST",
        "route=/graphql",
        "status=200",
        "upstream_calls=",
        "cache_hits=",
        "operation=-",
        "duration_ms=",
    ] {
        assert!(line.contains(field), "{field} not in {line}");
    }
}
