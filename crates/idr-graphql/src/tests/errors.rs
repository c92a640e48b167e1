//! Bad input and missing objects: `null` plus a typed error, never a panic.

use serde_json::{json, Value};

use super::{offline_schema, run};

/// Runs `query` offline; returns `data` and the `extensions.code` of each error.
async fn check(query: &str) -> (Value, Vec<String>) {
    let (schema, _) = offline_schema();
    let response = run(&schema, query).await;
    let codes = response["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| e["extensions"]["code"].as_str().unwrap_or("").to_owned())
                .collect()
        })
        .unwrap_or_default();
    (response["data"].clone(), codes)
}

#[tokio::test]
async fn missing_screen_is_null_without_error() {
    assert_eq!(
        check("{ screen(id: 999999999) { name } }").await,
        (json!({"screen": null}), vec![])
    );
}

#[tokio::test]
async fn missing_image_is_null_without_error() {
    assert_eq!(check("{ image(id: 999999999) { name } }").await, (json!({"image": null}), vec![]));
}

#[tokio::test]
async fn missing_plate_grid_is_null_without_error() {
    // The gateway answers HTTP 500 for a missing plate; that means "not found", not a failure.
    let (data, codes) = check(r#"{ plate(id: 4554) { name } }"#).await;
    assert_eq!((data["plate"]["name"].clone(), codes), (json!("plate3_8_010"), vec![]));
}

#[tokio::test]
async fn non_numeric_id_is_bad_user_input() {
    assert_eq!(
        check(r#"{ image(id: "abc") { name } }"#).await,
        (Value::Null, vec!["BAD_USER_INPUT".to_owned()])
    );
}

#[tokio::test]
async fn negative_and_huge_ids_are_bad_user_input() {
    let (_, codes) =
        check(r#"{ a: image(id: "-1") { name } b: screen(id: "99999999999999999999") { name } }"#)
            .await;
    assert_eq!(codes, ["BAD_USER_INPUT", "BAD_USER_INPUT"]);
}

#[tokio::test]
async fn first_out_of_range_is_rejected() {
    let (_, codes) = check("{ screen(id: 102) { plates(first: 101) { totalCount } } }").await;
    assert_eq!(codes, ["BAD_USER_INPUT"]);
}

#[tokio::test]
async fn huge_first_is_rejected_by_static_cost_before_any_call() {
    let (schema, seen) = offline_schema();
    let response = run(
        &schema,
        "{ screen(id: 102) { plates(first: 1000000) { nodes { wells { label } } } } }",
    )
    .await;
    assert_eq!(response["errors"][0]["extensions"]["code"], "QUERY_TOO_COMPLEX", "{response}");
    assert!(seen.lock().unwrap().is_empty());
}

#[tokio::test]
async fn validation_errors_carry_a_code() {
    let (_, codes) = check("{ screen(id: 102) { nosuchfield } }").await;
    assert_eq!(codes, ["GRAPHQL_VALIDATION_FAILED"]);
}

#[tokio::test]
async fn unrecorded_request_names_itself() {
    let (schema, _) = offline_schema();
    let response = run(&schema, "{ screen(id: 5) { name } }").await;
    assert_eq!(response["data"], json!({"screen": null}));
    let message = response["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("GET /api/v0/m/screens/5/"), "{message}");
    assert_eq!(response["errors"][0]["extensions"]["code"], "NOT_RECORDED");
}

#[tokio::test]
async fn empty_search_is_an_empty_connection() {
    let (data, codes) = check(r#"{ searchImages(where: {key: "Gene Symbol", value: "nosuchgene"}) { totalCount nodes { id } } }"#).await;
    assert_eq!((data, codes), (json!({"searchImages": {"totalCount": 0, "nodes": []}}), vec![]));
}

#[tokio::test]
async fn typo_gets_no_suggestion() {
    let (schema, _) = offline_schema();
    let response = run(&schema, "{ scren(id: 1) { name } }").await;
    let message = response["errors"][0]["message"].as_str().unwrap();
    assert!(!message.contains("Did you mean"), "{message}");
}

#[tokio::test]
async fn too_many_aliases_are_rejected_before_any_call() {
    let query = format!(
        "{{ {} }}",
        (0..40)
            .map(|i| format!("a{i}: image(id: 122770) {{ name }}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let (schema, seen) = offline_schema();
    let response = run(&schema, &query).await;
    assert_eq!(response["errors"][0]["extensions"]["code"], "QUERY_TOO_COMPLEX");
    assert!(seen.lock().unwrap().is_empty());
}

#[tokio::test]
async fn aliases_hidden_in_fragments_count() {
    let aliases = (0..20).map(|i| format!("a{i}: name")).collect::<Vec<_>>().join(" ");
    let query = format!("fragment F on Image {{ {aliases} }} {{ x: image(id: 122770) {{ ...F }} y: image(id: 122770) {{ ...F }} }}");
    let (schema, seen) = offline_schema();
    let response = run(&schema, &query).await;
    assert_eq!(response["errors"][0]["extensions"]["code"], "QUERY_TOO_COMPLEX");
    assert!(seen.lock().unwrap().is_empty());
}

#[tokio::test]
async fn oversized_document_is_rejected() {
    let query = format!("{{ {} }}", "__typename ".repeat(2_000));
    let (schema, seen) = offline_schema();
    let response = run(&schema, &query).await;
    assert_eq!(response["errors"][0]["extensions"]["code"], "QUERY_TOO_LARGE");
    assert!(seen.lock().unwrap().is_empty());
}

#[tokio::test]
async fn too_deep_is_rejected_before_any_call() {
    let query = format!(
        "{{ image(id: 122770) {{ {} name {} }} }}",
        "well { images { ".repeat(8),
        "} } ".repeat(8)
    );
    let (schema, seen) = offline_schema();
    let response = run(&schema, &query).await;
    assert_eq!(response["data"], Value::Null);
    assert_eq!(response["errors"][0]["extensions"]["code"], "QUERY_TOO_DEEP", "{response}");
    assert!(seen.lock().unwrap().is_empty());
}

#[tokio::test]
async fn deep_brace_nesting_does_not_overflow() {
    let query = format!("{}{}", "{a".repeat(4_000), "}".repeat(4_000));
    let (schema, seen) = offline_schema();
    let response = run(&schema, &query).await;
    assert!(response["errors"].as_array().is_some_and(|e| !e.is_empty()));
    assert!(seen.lock().unwrap().is_empty());
}

#[tokio::test]
async fn fragment_cycle_is_a_validation_error() {
    let (schema, seen) = offline_schema();
    let response = run(&schema, "fragment A on Screen { ...A } { screen(id: 102) { ...A } }").await;
    assert!(response["errors"].as_array().is_some_and(|e| !e.is_empty()));
    assert!(seen.lock().unwrap().is_empty());
}

#[tokio::test]
async fn fields_come_back_in_selection_order() {
    let (schema, _) = offline_schema();
    let query = "fragment F on Screen { description id } { b: screen(id: 102) { name keyValues { value key } ...F plates(first: 1) { totalCount nodes { name id } } } a: image(id: 122770) { width name } }";
    let response = run(&schema, query).await;
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    let data = &response["data"];
    assert_eq!(keys(data), ["b", "a"]);
    assert_eq!(keys(&data["b"]), ["name", "keyValues", "description", "id", "plates"]);
    assert_eq!(keys(&data["b"]["keyValues"][0]), ["value", "key"]);
    assert_eq!(keys(&data["b"]["plates"]), ["totalCount", "nodes"]);
    assert_eq!(keys(&data["a"]), ["width", "name"]);
}

#[tokio::test]
async fn fragment_cycles_are_named() {
    let (schema, seen) = offline_schema();
    let query = "fragment A on Screen { name ...B } fragment B on Screen { id ...C } fragment C on Screen { ...A } { screen(id: 102) { ...A } }";
    let response = run(&schema, query).await;
    let error = &response["errors"][0];
    assert_eq!(error["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED");
    let message = error["message"].as_str().unwrap();
    assert!(message.contains("A → B → C → A"), "{message}");
    assert!(seen.lock().unwrap().is_empty());
    // A fragment spread twice is no cycle.
    let query = "fragment N on Screen { name } fragment M on Screen { ...N ...N } { screen(id: 102) { ...M ...N } }";
    assert_eq!(
        run(&schema, query).await["data"]["screen"]["name"],
        "idr0002-heriche-condensation/screenA"
    );
}

#[tokio::test]
async fn fragments_that_fan_out_are_refused_before_anything_expands_them() {
    // Each fragment spreads the next one twice: 41 short lines that stand for 2^40
    // selections. Refused at once, in linear time, and nothing is called.
    let chain: String = (0..40)
        .map(|i| format!("fragment F{i} on Query {{ ...F{n} ...F{n} }}\n", n = i + 1))
        .collect();
    let query = format!("{{ ...F0 }}\n{chain}fragment F40 on Query {{ __typename }}");
    let (schema, seen) = offline_schema();
    let started = std::time::Instant::now();
    let response = run(&schema, &query).await;
    assert!(started.elapsed() < std::time::Duration::from_secs(2), "{:?}", started.elapsed());
    assert_eq!(response["errors"][0]["extensions"]["code"], "QUERY_TOO_COMPLEX", "{response}");
    assert!(seen.lock().unwrap().is_empty());
    // A fragment reused a sensible number of times is fine.
    let fields = "id name keyValues { key value }";
    let query = format!("fragment I on Image {{ {fields} }} {{ a: image(id: 122770) {{ ...I }} b: image(id: 122770) {{ ...I ...I }} }}");
    assert_eq!(
        run(&schema, &query).await["data"]["b"]["name"],
        "Plate8_Actinome1 [Well O02 Field #1]"
    );
}

/// The introspection query GraphiQL and code generators send (graphql-js's
/// `getIntrospectionQuery`), which must pass every limit.
const INTROSPECTION: &str = "query IntrospectionQuery {
  __schema {
    queryType { name } mutationType { name } subscriptionType { name }
    types { ...FullType }
    directives { name description locations args { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description
  fields(includeDeprecated: true) { name description args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason }
  inputFields { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
fragment TypeRef on __Type {
  kind name ofType { kind name ofType { kind name ofType { kind name ofType {
    kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } }
}";

#[tokio::test]
async fn the_full_introspection_query_passes_every_limit() {
    let (schema, seen) = offline_schema();
    let response = run(&schema, INTROSPECTION).await;
    assert!(response.get("errors").is_none(), "{response}");
    let types = response["data"]["__schema"]["types"].as_array().unwrap();
    assert!(types.iter().any(|t| t["name"] == "Screen"));
    assert!(seen.lock().unwrap().is_empty());
}

/// Another type's global id names both types in English, whatever the types.
#[test]
fn another_types_id_is_named_with_its_article() {
    use idr_client::endpoints::ApiObject as A;
    let cases = [
        ("Image:1", A::Screen, "`Image:1` is the id of an image, not of a screen"),
        ("Screen:1", A::Image, "`Screen:1` is the id of a screen, not of an image"),
        ("Well:1", A::Plate, "`Well:1` is the id of a well, not of a plate"),
    ];
    for (id, object, expected) in cases {
        let error = crate::ids::parse_id_of(&async_graphql::ID::from(id), object).unwrap_err();
        assert_eq!(error.message, expected);
    }
}

/// Offline, a study outside the trimmed recorded listings is said to be not recorded (it
/// may well be in IDR), not an answer IDR got wrong.
#[tokio::test]
async fn an_unrecorded_study_is_not_recorded_offline() {
    let (schema, _) = crate::tests::offline_schema();
    let request = async_graphql::Request::new(r#"{ study(name: "idr9999") { title } }"#);
    let response = crate::tests::answer(crate::execute(&schema, request).await);
    assert_eq!(response["errors"][0]["extensions"]["code"], "NOT_RECORDED", "{response}");
    let message = response["errors"][0]["message"].as_str().unwrap();
    assert!(message.starts_with("offline: the recorded list of screens holds"), "{message}");
    assert_eq!(response["data"]["study"], serde_json::Value::Null);
}
