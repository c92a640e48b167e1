//! Automatic persisted queries (Apollo's protocol): a hash alone is unknown until its
//! text has been sent with it once; then the hash alone runs the query. Nothing that is
//! refused reaches IDR.

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::{answer, offline_schema};

const QUERY: &str = "{ screen(id: 102) { name } }";

fn sha(text: &str) -> String {
    format!("{:x}", Sha256::digest(text.as_bytes()))
}

/// A request with `extensions.persistedQuery`.
fn persisted(query: &str, extension: Value) -> async_graphql::Request {
    let body = json!({"query": query, "extensions": {"persistedQuery": extension}});
    serde_json::from_value(body).expect("a GraphQL request")
}

fn code(response: &Value) -> Value {
    response["errors"][0]["extensions"]["code"].clone()
}

#[tokio::test]
async fn a_hash_is_unknown_until_its_text_has_come_with_it() {
    let (schema, seen) = offline_schema();
    let hash = json!({"version": 1, "sha256Hash": sha(QUERY)});

    let unknown = answer(crate::execute(&schema, persisted("", hash.clone())).await);
    assert_eq!(unknown["errors"][0]["message"], "PersistedQueryNotFound");
    assert_eq!(code(&unknown), "PERSISTED_QUERY_NOT_FOUND");
    assert!(seen.lock().unwrap().is_empty(), "an unknown hash called IDR");

    let registered = answer(crate::execute(&schema, persisted(QUERY, hash.clone())).await);
    assert_eq!(registered["data"]["screen"]["name"], "idr0002-heriche-condensation/screenA");

    let by_hash = answer(crate::execute(&schema, persisted("", hash.clone())).await);
    assert_eq!(by_hash, registered);
    // Upper-case hex names the same hash.
    let upper = json!({"version": 1, "sha256Hash": sha(QUERY).to_uppercase()});
    assert_eq!(answer(crate::execute(&schema, persisted("", upper)).await), registered);
}

#[tokio::test]
async fn a_wrong_hash_an_unknown_version_or_a_bad_extension_is_refused_with_a_code() {
    let (schema, seen) = offline_schema();
    let cases = [
        (
            persisted(QUERY, json!({"version": 1, "sha256Hash": sha("{ other }")})),
            "BAD_REQUEST",
            "provided sha does not match query",
        ),
        (
            persisted(QUERY, json!({"version": 2, "sha256Hash": sha(QUERY)})),
            "PERSISTED_QUERY_NOT_SUPPORTED",
            "version \"1\"",
        ),
        (persisted("", json!({"version": 1, "sha256Hash": "abc"})), "BAD_REQUEST", "64 hex digits"),
        (persisted("", json!({"version": 1})), "BAD_REQUEST", "Invalid"),
        (persisted("", json!("a string")), "BAD_REQUEST", "Invalid"),
    ];
    for (request, expected, says) in cases {
        let response = answer(crate::execute(&schema, request).await);
        assert_eq!(code(&response), expected, "{response}");
        assert!(response["errors"][0]["message"].as_str().unwrap().contains(says), "{response}");
        assert_eq!(response["data"], Value::Null);
    }
    assert!(seen.lock().unwrap().is_empty(), "a refused request called IDR");
    // The text of a wrong hash was not kept under either hash.
    let unknown = answer(
        crate::execute(
            &schema,
            persisted("", json!({"version": 1, "sha256Hash": sha("{ other }")})),
        )
        .await,
    );
    assert_eq!(code(&unknown), "PERSISTED_QUERY_NOT_FOUND");
}

#[tokio::test]
async fn a_text_that_does_not_parse_is_not_kept() {
    let (schema, _) = offline_schema();
    let broken = "{ screen(id: 102) { name }";
    let hash = json!({"version": 1, "sha256Hash": sha(broken)});
    let first = answer(crate::execute(&schema, persisted(broken, hash.clone())).await);
    assert_eq!(code(&first), "GRAPHQL_VALIDATION_FAILED", "{first}");
    let again = answer(crate::execute(&schema, persisted("", hash)).await);
    assert_eq!(code(&again), "PERSISTED_QUERY_NOT_FOUND", "{again}");
}

#[tokio::test]
async fn a_text_that_parses_but_does_not_validate_is_not_kept() {
    let (schema, seen) = offline_schema();
    let invalid = "{ screen(id: 102) { noSuchField } }";
    let hash = json!({"version": 1, "sha256Hash": sha(invalid)});
    let first = answer(crate::execute(&schema, persisted(invalid, hash.clone())).await);
    assert_eq!(code(&first), "GRAPHQL_VALIDATION_FAILED", "{first}");
    let again = answer(crate::execute(&schema, persisted("", hash)).await);
    assert_eq!(code(&again), "PERSISTED_QUERY_NOT_FOUND", "{again}");
    assert!(seen.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_text_refused_by_the_rate_limit_is_not_kept() {
    let (schema, _) = offline_schema();
    let hash = json!({"version": 1, "sha256Hash": sha(QUERY)});
    let refused =
        crate::execute_admitted(&schema, persisted(QUERY, hash.clone()), |_| Err(7)).await;
    assert!(matches!(refused, Err(7)));
    let again = answer(crate::execute(&schema, persisted("", hash)).await);
    assert_eq!(code(&again), "PERSISTED_QUERY_NOT_FOUND", "{again}");
}
