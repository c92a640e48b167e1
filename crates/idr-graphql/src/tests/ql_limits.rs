//! IDR-QL's limits fit the server's (FAULTS.md 5.3 P3): every query the language accepts,
//! for every resource, scope and `show` combination, nesting up to `MAX_DEPTH`, up to 256
//! comparisons, 20 `show` keys, any `limit` in `LIMIT_RANGE` and up to `MAX_QUERY_BYTES` of
//! text, compiles to a document that the server's default limits (depth, complexity,
//! recursion, directives, 16 KiB, 30 aliases) accept. The schema runs over an upstream that
//! has nothing recorded, so resolvers fail with `NOT_RECORDED`; the limits are checked
//! before any of them runs, and no error may be a document-level one.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_graphql::extensions::Analyzer;
use async_graphql::{EmptyMutation, EmptySubscription};
use idr_client::recording::RecordingStore;
use idr_client::{ClientConfig, IdrClient, RecordedUpstream};
use idr_ql::{
    Catalog, Comparison, Expr, KeyName, Op, Operand, Query, Resource, ResourceName, Scope,
    ScopeKind, ScopeName, ShowItem, Span, Spanned, LIMIT_RANGE, MAX_DEPTH, MAX_QUERY_BYTES,
    MAX_SHOW_KEYS,
};
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::{Config, RngSeed, TestRunner};
use serde_json::{json, Value};

use super::schema_over;
use crate::{IdrSchema, SchemaLimits};

/// Error codes that mean the server refused the document itself.
const LIMIT_CODES: &[&str] =
    &["QUERY_TOO_DEEP", "QUERY_TOO_COMPLEX", "QUERY_TOO_LARGE", "GRAPHQL_VALIDATION_FAILED"];

fn z<T>(value: T) -> Spanned<T> {
    Spanned::new(value, Span::default())
}

/// Keys, values and study names: short words, text needing quotes and escapes, long text.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[A-Za-z][A-Za-z0-9_ ]{0,15}",
        2 => "[a-zé🧬\"\\\\ \n\t\u{200b}\u{202e}\u{1}]{1,48}",
        1 => "[a-z\"\\\\ \u{1}\u{200b}]{100,400}",
        1 => any::<String>().prop_map(|s| s.chars().take(40).collect()),
    ]
}

fn comparison(key: impl Strategy<Value = KeyName>) -> impl Strategy<Value = Expr> {
    (key, select(Op::ALL.to_vec()), prop::collection::vec(text(), 1..5)).prop_map(
        |(key, op, mut values)| {
            let operand = if op.takes_list() {
                Operand::List { items: values.into_iter().map(z).collect(), span: Span::default() }
            } else {
                Operand::One(z(values.swap_remove(0)))
            };
            Expr::Compare(Comparison { span: Span::default(), key: z(key), op: z(op), operand })
        },
    )
}

fn any_key() -> impl Strategy<Value = KeyName> {
    prop_oneof![
        1 => Just(KeyName::Name),
        4 => text()
            .prop_filter("a key is not blank", |k| !k.trim().is_empty())
            .prop_filter("`name` is the name key", |k| !k.eq_ignore_ascii_case("name"))
            .prop_map(KeyName::Key),
    ]
}

/// A condition the search engine can run on its own: `"Gene Symbol" = …`.
fn positive() -> impl Strategy<Value = Expr> {
    comparison(Just(KeyName::Key("Gene Symbol".to_owned()))).prop_map(|e| match e {
        Expr::Compare(mut c) => {
            c.op = z(Op::Equals);
            if let Operand::List { items, .. } = &c.operand {
                c.operand = Operand::One(items[0].clone());
            }
            Expr::Compare(c)
        }
        e => e,
    })
}

/// `levels` of `not` and parenthesised `and`/`or` around a comparison: `MAX_DEPTH` deep
/// when `levels` is, one over it to check the boundary.
fn chain(levels: &[u8], innermost: Expr, side: &Expr) -> Expr {
    let span = Span::default();
    let group = |e: Expr| Expr::Group { inner: Box::new(e), span };
    levels.iter().fold(innermost, |e, level| match level {
        0 => Expr::Not { inner: Box::new(e), span },
        1 => group(Expr::And { items: vec![e, side.clone()], span }),
        _ => group(Expr::Or { items: vec![e, side.clone()], span }),
    })
}

pub(super) fn condition() -> impl Strategy<Value = Expr> {
    let span = Span::default();
    let random = comparison(any_key()).prop_recursive(6, 48, 5, move |inner| {
        prop_oneof![
            inner.clone().prop_map(move |e| Expr::Not { inner: Box::new(e), span }),
            inner.clone().prop_map(move |e| Expr::Group { inner: Box::new(e), span }),
            prop::collection::vec(inner.clone(), 2..5)
                .prop_map(move |items| Expr::And { items, span }),
            prop::collection::vec(inner, 2..5).prop_map(move |items| Expr::Or { items, span }),
        ]
    });
    let deep = (
        prop::collection::vec(0u8..3, MAX_DEPTH - 2..=MAX_DEPTH + 1),
        comparison(any_key()),
        comparison(any_key()),
    )
        .prop_map(|(levels, innermost, side)| chain(&levels, innermost, &side));
    let wide = (prop::collection::vec(comparison(any_key()), 2..=260), any::<bool>()).prop_map(
        move |(items, and)| if and { Expr::And { items, span } } else { Expr::Or { items, span } },
    );
    let body = prop_oneof![4 => random, 2 => deep, 2 => wide];
    // Usually with a condition the engine can run, so that searches are not all refused.
    (body, positive(), 0u8..4).prop_map(move |(body, positive, how)| match how {
        0 => body,
        _ => Expr::And {
            items: vec![
                positive,
                match body {
                    e @ (Expr::And { .. } | Expr::Or { .. }) => {
                        Expr::Group { inner: Box::new(e), span }
                    }
                    e => e,
                },
            ],
            span,
        },
    })
}

/// A key for `show`: never a near miss of a field name.
fn show_key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[A-Z][a-z]{2,8} key[ a-z0-9]{0,8}",
        1 => "[A-Z][a-z]{2,8} key [a-z\"\\\\é\u{200b} ]{0,300}",
    ]
}

fn show(resource: Resource) -> impl Strategy<Value = Vec<Spanned<ShowItem>>> {
    let fields = resource.fields().to_vec();
    let n = fields.len();
    (
        prop_oneof![
            2 => prop::sample::subsequence(fields.clone(), 0..=n),
            1 => Just(fields),
        ],
        prop_oneof![
            2 => prop::collection::vec(show_key(), 0..=4),
            1 => prop::collection::vec(show_key(), MAX_SHOW_KEYS - 2..=MAX_SHOW_KEYS + 1),
        ],
    )
        .prop_map(|(fields, keys)| {
            fields
                .into_iter()
                .map(ShowItem::Field)
                .chain(keys.into_iter().map(ShowItem::Key))
                .map(z)
                .collect::<Vec<_>>()
        })
        .prop_shuffle()
}

fn scope_target(kind: ScopeKind) -> BoxedStrategy<String> {
    if kind.takes_id() {
        prop_oneof![
            Just("1".to_owned()),
            Just(i64::MAX.to_string()),
            (1..=i64::MAX).prop_map(|n| n.to_string()),
        ]
        .boxed()
    } else {
        text().prop_filter("a study name is not blank", |s| !s.trim().is_empty()).boxed()
    }
}

/// Queries of every resource with each scope that fits it (or none where that is allowed).
fn query() -> impl Strategy<Value = Query> {
    select(Resource::ALL.to_vec()).prop_flat_map(|resource| {
        let mut scopes: Vec<Option<ScopeKind>> =
            ScopeKind::fitting(resource).iter().copied().map(Some).collect();
        if matches!(
            resource,
            Resource::Images | Resource::Screens | Resource::Projects | Resource::Studies
        ) {
            scopes.push(None);
        }
        let scope = select(scopes).prop_flat_map(|kind| match kind {
            None => Just(None).boxed(),
            Some(kind) => scope_target(kind)
                .prop_map(move |target| {
                    Some(Scope {
                        span: Span::default(),
                        kind: z(ScopeName::Known(kind)),
                        target: z(target),
                    })
                })
                .boxed(),
        });
        let limit = prop::option::of(prop_oneof![
            Just(*LIMIT_RANGE.start()),
            Just(100),
            Just(101),
            Just(*LIMIT_RANGE.end()),
            LIMIT_RANGE,
        ]);
        (scope, prop::option::weighted(0.8, condition()), show(resource), limit).prop_map(
            move |(scope, filter, show, limit)| Query {
                span: Span::default(),
                resource: z(ResourceName::Known(resource)),
                ids: Vec::new(),
                key: None,
                of: None,
                scope,
                filter,
                show,
                limit: limit.map(z),
            },
        )
    })
}

/// The document-level errors of running `graphql`, and every error code.
async fn run(schema: &IdrSchema, graphql: &str, paged: bool) -> (Vec<Value>, Vec<String>) {
    let mut request = async_graphql::Request::new(graphql);
    if paged {
        request = request.variables(async_graphql::Variables::from_json(json!({"after": null})));
    }
    let response = crate::tests::answer(crate::execute(schema, request).await);
    let errors = response["errors"].as_array().cloned().unwrap_or_default();
    let codes =
        errors.iter().map(|e| e["extensions"]["code"].as_str().unwrap_or("").to_owned()).collect();
    let refused = errors
        .into_iter()
        .filter(|e| {
            // The summary of field errors folded into one has no path of its own.
            let folded = e["extensions"].get("omitted").is_some();
            !folded && e.get("path").is_none_or(|p| p.as_array().is_none_or(Vec::is_empty))
                || LIMIT_CODES.contains(&e["extensions"]["code"].as_str().unwrap_or(""))
        })
        .collect();
    (refused, codes)
}

#[derive(Debug, Default)]
struct Stats {
    accepted: usize,
    /// Cases the language refused, by the code of their first error.
    refused: BTreeMap<&'static str, usize>,
    /// Accepted cases by resource and scope.
    shapes: BTreeMap<String, usize>,
    longest_graphql: usize,
    deepest: usize,
    most_aliases: usize,
}

fn shape(q: &Query) -> String {
    let resource = match &q.resource.value {
        ResourceName::Known(r) => r.name(),
        ResourceName::One(r) => r.singular(),
        ResourceName::Keys => "keys",
        ResourceName::Values => "values",
        ResourceName::Unknown(_) => "?",
    };
    match q.scope.as_ref().map(|s| &s.kind.value) {
        Some(ScopeName::Known(k)) => format!("{resource} in {}", k.name()),
        _ => resource.to_owned(),
    }
}

#[test]
fn accepted_queries_stay_within_the_server_limits() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let (schema, _) = schema_over(RecordingStore::from_files(Vec::new()).unwrap());
    let catalog = Catalog::empty();
    let stats = Mutex::new(Stats::default());
    let mut runner = TestRunner::new(Config {
        cases: 96,
        rng_seed: RngSeed::Fixed(0x9e3),
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&query(), |q| {
        let text = q.to_string();
        let analysis = idr_ql::analyze(&text, &catalog);
        prop_assert_eq!(analysis.queries.len(), 1, "{}", text);
        let analysis = &analysis.queries[0];
        let Some(compiled) = &analysis.compiled else {
            let code = analysis.diagnostics.iter().find(|d| d.is_error()).map_or("?", |d| d.code);
            *stats.lock().unwrap().refused.entry(code).or_default() += 1;
            return Ok(());
        };
        // Within the language's own limits, by construction of what it accepted.
        prop_assert!(text.len() <= MAX_QUERY_BYTES);
        let (refused, codes) = rt.block_on(run(&schema, &compiled.graphql, compiled.paged));
        prop_assert!(
            refused.is_empty(),
            "the server refused a query IDR-QL accepts: {refused:?}\n{text}\n{}",
            compiled.graphql
        );
        // Every error is a resolver's failure on the empty upstream (or bad input, such as
        // an id of a container that does not exist), never a limit.
        for code in &codes {
            prop_assert!(!LIMIT_CODES.contains(&code.as_str()), "{code}");
        }
        let mut s = stats.lock().unwrap();
        s.accepted += 1;
        *s.shapes.entry(shape(&q)).or_default() += 1;
        s.longest_graphql = s.longest_graphql.max(compiled.graphql.len());
        s.deepest = s.deepest.max(q.filter.as_ref().map_or(0, Expr::depth));
        s.most_aliases = s.most_aliases.max(compiled.graphql.matches(": values(").count());
        Ok(())
    });
    let stats = stats.into_inner().unwrap();
    eprintln!("P3: {stats:#?}");
    if let Err(e) = result {
        panic!("{e}");
    }
    assert!(stats.accepted >= 40, "too few accepted cases: {stats:?}");
    // The generator reaches the language's limits.
    assert!(stats.shapes.len() >= 8, "{stats:?}");
    assert_eq!(stats.most_aliases, MAX_SHOW_KEYS, "{stats:?}");
    assert_eq!(stats.deepest, MAX_DEPTH, "{stats:?}");
}

/// The heaviest query of each resource and scope: every field, `MAX_SHOW_KEYS` keys made as
/// long as the language allows, and a condition nested `MAX_DEPTH` deep. The server
/// accepts each; the complexity and depth each reaches is printed (`--nocapture`).
#[test]
fn the_heaviest_accepted_queries_stay_within_the_server_limits() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let (schema, _) = schema_over(RecordingStore::from_files(Vec::new()).unwrap());
    let analyzer = analyzer_schema();
    let limits = SchemaLimits::default();
    let cmp = |key: &str, op: Op, value: &str| {
        Expr::Compare(Comparison {
            span: Span::default(),
            key: z(KeyName::Key(key.to_owned())),
            op: z(op),
            operand: if op.takes_list() {
                Operand::List { items: vec![z(value.to_owned())], span: Span::default() }
            } else {
                Operand::One(z(value.to_owned()))
            },
        })
    };
    let levels: Vec<u8> = (0..MAX_DEPTH).map(|i| (i % 3) as u8).collect();
    // The innermost comparison takes one value: the parser's token-level nesting check
    // counts the parentheses of an `in (…)` list as a level, though `Expr::depth` does not.
    let deep = chain(
        &levels,
        cmp("Phenotype", Op::NotContains, "x"),
        &cmp("Cell Line", Op::NotIn, "HeLa"),
    );
    let condition = Expr::And {
        items: vec![cmp("Gene Symbol", Op::Equals, "ade8"), deep],
        span: Span::default(),
    };
    assert_eq!(condition.depth(), MAX_DEPTH);
    let mut report = Vec::new();
    // Studies show no keys: their heaviest query is among the lookups' (below).
    for resource in Resource::ALL.into_iter().filter(|r| *r != Resource::Studies) {
        let mut scopes: Vec<Option<ScopeKind>> =
            ScopeKind::fitting(resource).iter().copied().map(Some).collect();
        if matches!(resource, Resource::Images | Resource::Screens | Resource::Projects) {
            scopes.push(None);
        }
        for kind in scopes {
            // Two ways to the language's size limits: long `show` keys around a condition
            // `MAX_DEPTH` deep, or 256 comparisons, one of them a long `in` list (whose
            // GraphQL is larger than its text, so it reaches the 16 KiB compile limit).
            for variant in ["long keys", "wide condition"] {
                let build =
                    |n: usize| {
                        let (filter, key_len) = match variant {
                            "long keys" => (condition.clone(), n),
                            _ => {
                                let list = Expr::Compare(Comparison {
                                    span: Span::default(),
                                    key: z(KeyName::Key("Gene Symbol".to_owned())),
                                    op: z(Op::In),
                                    operand: Operand::List {
                                        items: vec![z("x".to_owned()); n.max(1)],
                                        span: Span::default(),
                                    },
                                });
                                let rest = (1..256).map(|i| cmp(&format!("k{i}"), Op::NotIn, "v"));
                                let items = std::iter::once(list).chain(rest).collect();
                                (Expr::And { items, span: Span::default() }, 1)
                            }
                        };
                        Query {
                            span: Span::default(),
                            resource: z(ResourceName::Known(resource)),
                            ids: Vec::new(),
                            key: None,
                            of: None,
                            scope: kind.map(|kind| Scope {
                                span: Span::default(),
                                kind: z(ScopeName::Known(kind)),
                                target: z(if kind.takes_id() {
                                    i64::MAX.to_string()
                                } else {
                                    "s".repeat(40)
                                }),
                            }),
                            filter: Some(filter),
                            show: resource
                                .fields()
                                .iter()
                                .map(|f| ShowItem::Field(*f))
                                .chain((0..MAX_SHOW_KEYS).map(|i| {
                                    ShowItem::Key(format!("Key {i} {}", "v".repeat(key_len)))
                                }))
                                .map(z)
                                .collect(),
                            limit: None,
                        }
                    };
                let compile = |n: usize| {
                    let text = build(n).to_string();
                    let analysis = idr_ql::analyze(&text, &Catalog::empty()).queries.remove(0);
                    assert!(
                        analysis
                            .diagnostics
                            .iter()
                            .filter(|d| d.is_error())
                            .all(|d| d.code == "too-long"),
                        "{:?}",
                        analysis.diagnostics
                    );
                    analysis.compiled.map(|c| (text, c))
                };
                // The largest `n` that still compiles: text and GraphQL grow linearly with
                // `n`, so predict where the first of the two limits falls, and check that
                // `n` compiles and `n + 1` does not.
                let (text1, graphql1) = compile(1).expect("the smallest form compiles");
                let (text2, graphql2) = compile(2).expect("the next form compiles");
                let room = |one: usize, two: usize, max: usize| {
                    1 + max.saturating_sub(one) / two.saturating_sub(one).max(1)
                };
                let mut fits = room(text1.len(), text2.len(), MAX_QUERY_BYTES).min(room(
                    graphql1.graphql.len(),
                    graphql2.graphql.len(),
                    idr_ql::MAX_GRAPHQL_BYTES,
                ));
                for _ in 0..8 {
                    if compile(fits).is_some() {
                        break;
                    }
                    fits -= 1;
                }
                assert!(
                    compile(fits + 1).is_none(),
                    "{variant}: {} is not at a limit",
                    shape(&build(0))
                );
                let (text, compiled) = compile(fits).unwrap();
                let (refused, codes) = rt.block_on(run(&schema, &compiled.graphql, compiled.paged));
                assert!(refused.is_empty(), "{refused:?}\n{text}\n{}", compiled.graphql);
                assert!(codes.iter().all(|c| !LIMIT_CODES.contains(&c.as_str())), "{codes:?}");
                let mut line = format!(
                    "{:<20} {variant:<14} {:>5} bytes of text, {:>5} bytes of GraphQL",
                    shape(&build(0)),
                    text.len(),
                    compiled.graphql.len()
                );
                // The cost is the selection's (arguments add nothing), the same for both.
                if variant == "long keys" {
                    let (complexity, depth) =
                        rt.block_on(measure(&analyzer, &compiled.graphql, compiled.paged));
                    assert!(complexity <= limits.complexity as u64);
                    assert!(depth <= limits.depth as u64);
                    line.push_str(&format!(", complexity {complexity:>6}, depth {depth}"));
                }
                report.push(line);
            }
        }
    }
    eprintln!("P3 heaviest queries:\n{}", report.join("\n"));
}

/// The heaviest lookup of each resource (`MAX_IDS` of the longest ids, every field and
/// `MAX_SHOW_KEYS` keys) and every catalog query: the server accepts each, with the
/// complexity and depth under its limits.
#[test]
fn the_heaviest_lookups_and_catalog_queries_stay_within_the_server_limits() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let (schema, _) = schema_over(RecordingStore::from_files(Vec::new()).unwrap());
    let analyzer = analyzer_schema();
    let limits = SchemaLimits::default();
    let ids = vec![i64::MAX.to_string(); idr_ql::MAX_IDS].join(", ");
    let mut texts: Vec<String> = Resource::ALL
        .into_iter()
        .filter(|r| r.takes_ids())
        .map(|r| {
            let fields: Vec<&str> = r.fields().iter().map(|f| f.name()).collect();
            let keys: Vec<String> = (0..MAX_SHOW_KEYS).map(|i| format!("\"Key {i}\"")).collect();
            format!("{} {ids} show {}, {}", r.name(), fields.join(", "), keys.join(", "))
        })
        .collect();
    // The heaviest study search: every field, and an `in` list as long as the text allows.
    let fields: Vec<&str> = Resource::Studies.fields().iter().map(|f| f.name()).collect();
    let values: Vec<String> = (0..600).map(|i| format!("gene{i}")).collect();
    texts.push(format!(
        "studies where \"Gene Symbol\" in ({}) show {}",
        values.join(", "),
        fields.join(", ")
    ));
    for of in ["", " in images", " in screens", " in projects", " in plates", " in wells"] {
        texts.push(format!("keys{of} limit 1000"));
        texts.push(format!("values \"{}\"{of} limit 1000", "v".repeat(200)));
    }
    for text in texts {
        let analysis = idr_ql::analyze(&text, &Catalog::empty()).queries.remove(0);
        let compiled =
            analysis.compiled.unwrap_or_else(|| panic!("{text}: {:?}", analysis.diagnostics));
        let (refused, codes) = rt.block_on(run(&schema, &compiled.graphql, compiled.paged));
        assert!(refused.is_empty(), "{refused:?}\n{}", compiled.graphql);
        assert!(codes.iter().all(|c| !LIMIT_CODES.contains(&c.as_str())), "{codes:?}");
        let (complexity, depth) =
            rt.block_on(measure(&analyzer, &compiled.graphql, compiled.paged));
        assert!(complexity <= limits.complexity as u64, "{complexity}: {text}");
        assert!(depth <= limits.depth as u64, "{depth}: {text}");
    }
}

/// A schema without limits that reports each document's static complexity and depth
/// (async-graphql's `Analyzer`), over an upstream with nothing recorded.
fn analyzer_schema() -> IdrSchema {
    let store = Arc::new(RecordingStore::from_files(Vec::new()).unwrap());
    let client = IdrClient::new(RecordedUpstream::new(store), ClientConfig::default());
    async_graphql::Schema::build(crate::Query, EmptyMutation, EmptySubscription)
        .data(client)
        .extension(Analyzer)
        .finish()
}

/// The static complexity and depth of `graphql`, as the server's limits measure them.
async fn measure(schema: &IdrSchema, graphql: &str, paged: bool) -> (u64, u64) {
    let mut request = async_graphql::Request::new(graphql);
    if paged {
        request = request.variables(async_graphql::Variables::from_json(json!({"after": null})));
    }
    let response = crate::tests::answer(crate::execute(schema, request).await);
    let analyzer = &response["extensions"]["analyzer"];
    (analyzer["complexity"].as_u64().unwrap(), analyzer["depth"].as_u64().unwrap())
}
