//! Every argument of every field, checked before any upstream call: for each argument the
//! SDL declares, a value the API refuses is tried at the field's place in a query that
//! would otherwise call IDR first (the field sits under an object fetched by id), directly,
//! through a fragment and through a variable. The refusal must be `BAD_USER_INPUT` with
//! `data: null` and no upstream call. Arguments that accept every value of their type are
//! listed as such, so a new argument cannot slip past without a decision here.

use std::collections::BTreeMap;

use async_graphql::parser::types::{BaseType, Type, TypeKind, TypeSystemDefinition};
use serde_json::{json, Value};

use super::{offline_schema, run};

/// Values each argument must refuse, as GraphQL literals of the right type.
fn refused(object: &str, field: &str, arg: &str) -> Option<&'static [&'static str]> {
    const FIRST: &[&str] = &["0", "101", "-5"];
    // Not base64; base64 of a search cursor (`s:1:2`) on an offset list; a huge offset.
    const OFFSET_CURSORS: &[&str] = &[r#""nope!""#, r#""czoxOjI""#, r#""bzo5OTk5OTk5OTk5""#];
    // Base64 of an offset cursor (`o:5`) on a search; an index past the bound.
    const SEARCH_CURSORS: &[&str] = &[r#""nope!""#, r#""bzo1""#, r#""czo6OTk5OTk5""#];
    const FILTERS: &[&str] = &[
        "{}",
        r#"{key: "a", op: IN, value: "x"}"#,
        r#"{key: "a", op: EQUALS, values: ["x"]}"#,
        r#"{key: "a", op: IN, values: []}"#,
        r#"{all: []}"#,
    ];
    // Global ids: an unknown type, a bad number, and (for lookups of one type) another
    // type's id.
    const SCREEN_IDS: &[&str] = &[
        r#""abc""#,
        r#""-1""#,
        r#""0""#,
        r#""99999999999999999999""#,
        r#"" ""#,
        r#""Bogus:1""#,
        r#""Screen:0""#,
        r#""Plate:1""#,
    ];
    const OTHER_IDS: &[&str] = &[
        r#""abc""#,
        r#""-1""#,
        r#""0""#,
        r#""99999999999999999999""#,
        r#"" ""#,
        r#""Bogus:1""#,
        r#""Image:x""#,
        r#""Screen:1""#,
    ];
    const GLOBAL_IDS: &[&str] =
        &[r#""1""#, r#""Bogus:1""#, r#""Image:abc""#, r#""Image:0""#, r#""""#];
    // More ids than a list takes, built once.
    fn too_many(id: &str) -> &'static str {
        let list = vec![format!("\"{id}\""); crate::ids::MAX_IDS + 1].join(", ");
        Box::leak(format!("[{list}]").into_boxed_str())
    }
    Some(match (object, field, arg) {
        ("Query", "screen", "id") | ("Query", "searchImages", "screen") => SCREEN_IDS,
        ("Query", "plate" | "well" | "image" | "project" | "dataset", "id") => OTHER_IDS,
        ("Query", "node", "id") => GLOBAL_IDS,
        ("Query", "nodes", "ids") => Box::leak(
            vec![r#"["1"]"#, r#"["Image:1", "Bogus:2"]"#, r#"["Image:-3"]"#, too_many("Image:1")]
                .into_boxed_slice(),
        ),
        ("Query", "images" | "plates" | "wells", "ids") => Box::leak(
            vec![r#"["abc"]"#, r#"["Image:1", "Screen:1"]"#, r#"["0"]"#, too_many("1")]
                .into_boxed_slice(),
        ),
        ("Query", "searchImages", "project") => OTHER_IDS,
        (_, _, "first") => FIRST,
        ("Query", "searchImages", "after") => SEARCH_CURSORS,
        (_, _, "after") => OFFSET_CURSORS,
        // The engine must be able to run part of a search.
        ("Query", "searchImages", "where") => &[
            "{}",
            r#"{not: {key: "a", value: "b"}}"#,
            r#"{key: "name", value: "x"}"#,
            r#"{key: "a", op: IN, value: "x"}"#,
        ],
        // Studies are found by the engine alone: it must run the whole filter.
        ("Query", "studies", "where") => &[
            "{}",
            r#"{not: {key: "a", value: "b"}}"#,
            r#"{key: "name", value: "x"}"#,
            r#"{all: [{key: "a", value: "b"}, {key: "name", value: "x"}]}"#,
            r#"{all: [{key: "a", value: "b"}, {not: {key: "c", value: "d"}}]}"#,
        ],
        ("Query", "study", "name") => &[r#""""#, r#""   ""#],
        (_, _, "where") => FILTERS,
        ("Plate", "wells" | "images", "field") => &["-1"],
        ("Image", "thumbnailUrl", "size") => &["5", "15", "1025", "-1"],
        ("Query", "searchValues", "key") => &[r#""""#, r#""   ""#],
        _ => return None,
    })
}

/// Arguments that accept every value their type allows.
const FREE: &[(&str, &str, &str)] = &[
    ("Query", "searchImages", "study"),
    ("Query", "searchValues", "resource"),
    ("Query", "searchKeys", "resource"),
    ("BulkAnnotationRow", "value", "column"),
    ("Image", "annotations", "inherited"),
    ("Image", "thumbnailUrl", "proxy"),
    ("Image", "annotations", "namespace"),
    ("Screen", "annotations", "namespace"),
    ("Project", "annotations", "namespace"),
    ("Well", "annotations", "namespace"),
    ("Plate", "annotations", "namespace"),
    ("Dataset", "annotations", "namespace"),
    ("Screen", "values", "key"),
    ("Plate", "values", "key"),
    ("Well", "values", "key"),
    ("Image", "values", "key"),
    ("Project", "values", "key"),
    ("Dataset", "values", "key"),
];

/// Where a field of each type sits under an object that costs an upstream call to fetch.
fn around(object: &str, inner: &str) -> String {
    match object {
        "Query" => format!("{{ {inner} }}"),
        "Screen" => format!("{{ screen(id: 102) {{ {inner} }} }}"),
        "Plate" => format!("{{ plate(id: 4554) {{ {inner} }} }}"),
        "Well" => format!("{{ well(id: 45217) {{ {inner} }} }}"),
        "Image" => format!("{{ image(id: 122770) {{ {inner} }} }}"),
        "Project" => format!("{{ project(id: 51) {{ {inner} }} }}"),
        "Dataset" => format!("{{ dataset(id: 51) {{ {inner} }} }}"),
        "BulkAnnotationRow" => format!("{{ well(id: 45217) {{ bulkAnnotation {{ {inner} }} }} }}"),
        other => panic!("no path to {other} in this test: add one"),
    }
}

/// A valid literal for a required argument of type `ty`.
fn valid(ty: &Type) -> &'static str {
    match &ty.base {
        BaseType::List(_) => "[]",
        BaseType::Named(name) => match name.as_str() {
            "ID" => "\"1\"",
            "Int" => "1",
            "Boolean" => "true",
            "String" => "\"x\"",
            "ImageFilter" => r#"{key: "Gene Symbol", value: "ade8"}"#,
            "SearchResource" => "IMAGE",
            other => panic!("no valid literal for {other}"),
        },
    }
}

struct FieldInfo {
    /// (name, type, has a default)
    args: Vec<(String, Type, bool)>,
    returns_object: bool,
}

fn fields() -> BTreeMap<(String, String), FieldInfo> {
    let document = async_graphql::parser::parse_schema(crate::sdl()).unwrap();
    let mut objects = std::collections::HashSet::new();
    for definition in &document.definitions {
        if let TypeSystemDefinition::Type(ty) = definition {
            if matches!(ty.node.kind, TypeKind::Object(_) | TypeKind::Interface(_)) {
                objects.insert(ty.node.name.node.to_string());
            }
        }
    }
    let mut out = BTreeMap::new();
    for definition in &document.definitions {
        let TypeSystemDefinition::Type(ty) = definition else { continue };
        let TypeKind::Object(object) = &ty.node.kind else { continue };
        for field in &object.fields {
            let args = field
                .node
                .arguments
                .iter()
                .map(|a| {
                    (
                        a.node.name.node.to_string(),
                        a.node.ty.node.clone(),
                        a.node.default_value.is_some(),
                    )
                })
                .collect();
            let returns_object = objects.contains(crate::shape::named(&field.node.ty.node));
            out.insert(
                (ty.node.name.node.to_string(), field.node.name.node.to_string()),
                FieldInfo { args, returns_object },
            );
        }
    }
    out
}

/// The query text selecting `field` with `arg: value` (other required arguments valid).
fn field_text(field: &str, info: &FieldInfo, arg: &str, value: &str) -> String {
    let mut args = vec![format!("{arg}: {value}")];
    for (name, ty, has_default) in &info.args {
        if name != arg && !ty.nullable && !has_default {
            args.push(format!("{name}: {}", valid(ty)));
        }
    }
    let selection = if info.returns_object { " { __typename }" } else { "" };
    format!("{field}({}){selection}", args.join(", "))
}

async fn refuses(query: &str, variables: Value) -> Value {
    let (schema, seen) = offline_schema();
    let request = async_graphql::Request::new(query)
        .variables(async_graphql::Variables::from_json(variables));
    let response = crate::tests::answer(crate::execute(&schema, request).await);
    let codes: Vec<&str> = response["errors"]
        .as_array()
        .map(|e| e.iter().filter_map(|e| e["extensions"]["code"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(response["data"], Value::Null, "{query}: {response}");
    assert_eq!(codes, ["BAD_USER_INPUT"], "{query}: {response}");
    assert!(seen.lock().unwrap().is_empty(), "{query} called IDR: {:?}", seen.lock().unwrap());
    response
}

#[tokio::test]
async fn every_refused_argument_costs_no_upstream_call() {
    let mut tried = 0;
    for ((object, field), info) in fields() {
        for (arg, ty, _) in &info.args {
            let free = FREE.contains(&(object.as_str(), field.as_str(), arg.as_str()));
            let bad = refused(&object, &field, arg);
            assert!(
                free != bad.is_some(),
                "{object}.{field}({arg}:) must be either in FREE or have refused values"
            );
            for value in bad.unwrap_or_default() {
                // Directly, and inside a fragment on the field's type.
                let text = field_text(&field, &info, arg, value);
                refuses(&around(&object, &text), json!({})).await;
                let spread = around(&object, "...F");
                refuses(&format!("{spread} fragment F on {object} {{ {text} }}"), json!({})).await;
                // As a variable of the argument's type.
                let literal = field_text(&field, &info, arg, "$v");
                let query =
                    around(&object, &literal).replacen('{', &format!("query($v: {ty}) {{"), 1);
                let variable = graphql_literal_to_json(value).expect("a constant literal");
                refuses(&query, json!({ "v": variable })).await;
                tried += 1;
            }
        }
    }
    assert!(tried >= 40, "only {tried} refused values tried");
}

/// The JSON form of a GraphQL input literal (for variables).
fn graphql_literal_to_json(literal: &str) -> Option<Value> {
    let document = async_graphql::parser::parse_query(format!("{{ f(a: {literal}) }}")).ok()?;
    let async_graphql::parser::types::DocumentOperations::Single(op) = document.operations else {
        return None;
    };
    let async_graphql::parser::types::Selection::Field(field) =
        &op.node.selection_set.node.items.first()?.node
    else {
        return None;
    };
    let value = field.node.get_argument("a")?.node.clone().into_const()?;
    value.into_json().ok()
}

#[tokio::test]
async fn arguments_are_checked_deep_in_lists_too() {
    // A bad argument under a list of plates under a screen: still refused before the
    // screen, its plates or any grid is fetched.
    refuses(
        "{ screen(id: 102) { plates(first: 2) { nodes { wells { images { thumbnailUrl(size: 3) } } } } } }",
        json!({}),
    )
    .await;
    refuses(
        "query($f: Int) { screen(id: 102) { plates { nodes { images(field: $f) { id } } } } }",
        json!({"f": -2}),
    )
    .await;
}

#[tokio::test]
async fn valid_arguments_still_run() {
    let (schema, _) = offline_schema();
    let response =
        run(&schema, r#"{ screen(id: 102) { plates(first: 1) { nodes { name } } } }"#).await;
    assert_eq!(response["data"]["screen"]["plates"]["nodes"][0]["name"], "plate1_1_013");
}

#[tokio::test]
async fn variable_defaults_are_seen_by_the_checks() {
    // A defaulted variable is a value: valid ones run, invalid ones are refused up front.
    let (schema, _) = offline_schema();
    let response = run(&schema, r#"query($id: ID! = "102") { screen(id: $id) { name } }"#).await;
    assert_eq!(
        response["data"]["screen"]["name"], "idr0002-heriche-condensation/screenA",
        "{response}"
    );
    refuses(
        "query($f: Int = 0) { screen(id: 102) { plates(first: $f) { totalCount } } }",
        json!({}),
    )
    .await;
    refuses(
        r#"query($w: ImageFilter = {all: []}) { screens(where: $w) { totalCount } }"#,
        json!({}),
    )
    .await;
    // A given value wins over the default.
    let request = async_graphql::Request::new(
        "query($f: Int = 0) { screen(id: 102) { plates(first: $f) { totalCount } } }",
    )
    .variables(async_graphql::Variables::from_json(json!({"f": 2})));
    let response = crate::tests::answer(crate::execute(&schema, request).await);
    assert_eq!(response["data"]["screen"]["plates"]["totalCount"], 12, "{response}");
    // `@skip` with a defaulted variable, on every field of list items: empty objects, no
    // spurious error.
    let query = "query($s: Boolean = true) { screens(first: 1) { nodes { name @skip(if: $s) } } }";
    let response = run(&schema, query).await;
    assert_eq!(response, json!({"data": {"screens": {"nodes": [{}]}}}), "{response}");
}

/// JSON values that no value of the named type `name` is, for a variable of that type.
fn not_of_type(name: &str) -> Vec<Value> {
    match name {
        "Int" => vec![json!("1"), json!(1.5), json!(4_000_000_000_i64), json!({})],
        "ID" => vec![json!(true), json!({"a": 1}), json!(1.5)],
        "String" => vec![json!(1), json!(true), json!({"a": 1})],
        "Boolean" => vec![json!("true"), json!(1)],
        "SearchResource" => vec![json!("NOPE"), json!(3)],
        "ImageFilter" => vec![
            json!("ade8"),
            json!({"bogus": 1}),
            json!({"key": 5, "value": "x"}),
            json!({"all": "x"}),
            json!({"any": [{"op": "MAYBE", "key": "a", "value": "b"}]}),
        ],
        other => panic!("no wrong values for {other}: add some"),
    }
}

/// Every argument through a variable of its declared type: left out while required, null
/// or left out where the argument needs a value, or given a value of another type (deep
/// inside an input object too), the request is refused with `BAD_USER_INPUT` naming the
/// variable, before any upstream call. Before,
/// a variable left out reached the argument checks as an empty value (a wrong message),
/// and an input object of the wrong shape failed its field as an internal error.
#[tokio::test]
async fn every_argument_refuses_variables_its_type_does_not_allow() {
    let mut tried = 0;
    for ((object, field), info) in fields() {
        for (arg, ty, has_default) in &info.args {
            let literal = field_text(&field, &info, arg, "$v");
            let query = |ty: &Type| {
                around(&object, &literal).replacen('{', &format!("query($v: {ty}) {{"), 1)
            };
            // Left out, declared required (whatever the argument's own type).
            let required = Type { base: ty.base.clone(), nullable: false };
            let message = refused_message(&query(&required), json!({})).await;
            assert!(message.contains("`$v`") && message.contains("not provided"), "{message}");
            // Declared nullable where a value is required: refused only without one.
            if !ty.nullable && !has_default {
                let nullable = Type { base: ty.base.clone(), nullable: true };
                for variables in [json!({}), json!({ "v": null })] {
                    let message = refused_message(&query(&nullable), variables).await;
                    assert!(message.contains("`$v`") && message.contains("needs"), "{message}");
                }
            }
            for wrong in not_of_type(crate::shape::named(ty)) {
                let message = refused_message(&query(ty), json!({ "v": wrong })).await;
                assert!(message.contains("`$v"), "{object}.{field}({arg}:) {wrong}: {message}");
                tried += 1;
            }
        }
    }
    assert!(tried >= 60, "only {tried} wrong values tried");
}

/// [`refuses`], and the message.
async fn refused_message(query: &str, variables: Value) -> String {
    let response = refuses(query, variables).await;
    response["errors"][0]["message"].as_str().unwrap_or_default().to_owned()
}

/// A field left out by `@skip` or `@include` is not run, so its arguments need no value:
/// `$id` may be null when the field that uses it is skipped. The answer is the empty
/// object the spec gives, not `null`.
#[tokio::test]
async fn a_skipped_field_needs_no_argument() {
    let (schema, seen) = offline_schema();
    for (query, variables) in [
        (
            "query($id: ID, $s: Boolean!) { image(id: $id) @include(if: $s) { name } }",
            json!({"s": false}),
        ),
        (
            "query($id: ID, $s: Boolean!) { image(id: $id) @skip(if: $s) { name } }",
            json!({"s": true}),
        ),
        (
            "query($id: ID) { ... on Query @include(if: false) { screen(id: $id) { name } } }",
            json!({}),
        ),
    ] {
        let request = async_graphql::Request::new(query)
            .variables(async_graphql::Variables::from_json(variables));
        let response = crate::tests::answer(crate::execute(&schema, request).await);
        assert_eq!(response, json!({"data": {}}), "{query}");
    }
    assert!(seen.lock().unwrap().is_empty());
}

/// What validation refuses stays validation's to say: an undeclared variable, a type the
/// schema does not have, an operation it has no root for.
#[tokio::test]
async fn validation_mistakes_are_not_said_as_variable_mistakes() {
    let (schema, _) = offline_schema();
    for (query, says) in [
        ("{ image(id: $undeclared) { name } }", "is not defined"),
        ("query($x: Strin!) { __typename }", "Unknown type"),
        ("mutation($v: ID) { image(id: $v) { name } }", "not configured for mutations"),
    ] {
        let response =
            crate::tests::answer(crate::execute(&schema, async_graphql::Request::new(query)).await);
        assert_eq!(
            response["errors"][0]["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED",
            "{response}"
        );
        assert!(response["errors"][0]["message"].as_str().unwrap().contains(says), "{response}");
    }
}
