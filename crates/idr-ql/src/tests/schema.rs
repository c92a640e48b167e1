//! P2: every compiled query parses and validates against the schema the server exports
//! (`schema/idr.graphql`), checked with apollo-compiler: the queries of every `ok`
//! fixture, and generated valid queries for every resource, scope, operator and field.

use std::sync::OnceLock;

use apollo_compiler::validation::Valid;
use apollo_compiler::{ExecutableDocument, Schema};
use proptest::prelude::*;
use proptest::test_runner::Config;

use super::crate_dir;
use crate::ast::{
    Comparison, Expr, KeyName, Operand, Query, ResourceName, Scope, ScopeName, ShowItem, Spanned,
};
use crate::{analyze, compile, Catalog, Field, Op, Resource, ScopeKind, Span};

fn schema() -> &'static Valid<Schema> {
    static SCHEMA: OnceLock<Valid<Schema>> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let path = crate_dir().join("../../schema/idr.graphql");
        let sdl = std::fs::read_to_string(&path).unwrap();
        Schema::parse_and_validate(sdl, &path)
            .unwrap_or_else(|e| panic!("the schema is invalid: {e}"))
    })
}

/// The validation errors of a document, or `None` when it is valid.
fn check(graphql: &str) -> Option<String> {
    ExecutableDocument::parse_and_validate(schema(), graphql, "compiled.graphql")
        .err()
        .map(|e| e.to_string())
}

#[test]
fn every_ok_fixture_compiles_to_valid_graphql() {
    let dir = crate_dir().join("test_data/ok");
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.retain(|p| p.extension().is_some_and(|e| e == "idrql"));
    files.sort();
    let mut failures = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        for q in analyze(&text, &Catalog::bundled()).queries {
            let compiled = q.compiled.expect("ok fixtures compile");
            if let Some(errors) = check(&compiled.graphql) {
                failures.push(format!("{}:\n{}\n{errors}", path.display(), compiled.graphql));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} invalid documents:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

fn z<T>(value: T) -> Spanned<T> {
    Spanned::new(value, Span::default())
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof!["[A-Za-z0-9 ]{1,10}", any::<String>().prop_filter("not empty", |s| !s.is_empty())]
}

/// A condition that passes the checks: operands of the right shape, no empty lists, no
/// empty keys.
fn valid_expr() -> impl Strategy<Value = Expr> {
    let key =
        prop_oneof![Just(KeyName::Name), "[A-Z][a-z]{2,8} [A-Z][a-z]{2,8}".prop_map(KeyName::Key)];
    let comparison =
        (key, prop::sample::select(Op::ALL.to_vec()), prop::collection::vec(value(), 1..4))
            .prop_map(|(key, op, values)| {
                let operand = if op.takes_list() {
                    Operand::List {
                        items: values.into_iter().map(z).collect(),
                        span: Span::default(),
                    }
                } else {
                    Operand::One(z(values.into_iter().next().unwrap_or_default()))
                };
                Expr::Compare(Comparison { span: Span::default(), key: z(key), op: z(op), operand })
            });
    let group = |e: Expr| match e {
        Expr::And { .. } | Expr::Or { .. } => {
            Expr::Group { inner: Box::new(e), span: Span::default() }
        }
        e => e,
    };
    comparison.prop_recursive(3, 12, 3, move |inner| {
        prop_oneof![
            inner
                .clone()
                .prop_map(move |e| Expr::Not { inner: Box::new(group(e)), span: Span::default() }),
            prop::collection::vec(inner.clone(), 2..4).prop_map(move |items| Expr::And {
                items: items.into_iter().map(group).collect(),
                span: Span::default()
            }),
            prop::collection::vec(inner, 2..4).prop_map(move |items| Expr::Or {
                items: items.into_iter().map(group).collect(),
                span: Span::default()
            }),
        ]
    })
}

/// A query that passes the checks: a listing, a lookup by id, or a catalog query.
fn valid_query() -> impl Strategy<Value = Query> {
    prop_oneof![4 => valid_listing(), 2 => valid_lookup(), 1 => valid_catalog()]
}

fn show_items(resource: Resource) -> impl Strategy<Value = Vec<Spanned<ShowItem>>> {
    let show_item = prop_oneof![
        3 => prop::sample::select(resource.fields().to_vec()).prop_map(ShowItem::Field),
        1 => "[A-Z][a-z]{3,8} [A-Z][a-z]{3,8}".prop_map(ShowItem::Key),
    ];
    prop::collection::vec(show_item.prop_map(z), 0..5)
}

/// `image 122770 show …`, `screens 1, 2`: any resource, singular or plural.
fn valid_lookup() -> impl Strategy<Value = Query> {
    let resources: Vec<Resource> = Resource::ALL.into_iter().filter(|r| r.takes_ids()).collect();
    prop::sample::select(resources).prop_flat_map(|resource| {
        (
            any::<bool>(),
            prop::collection::vec((1..=i64::MAX).prop_map(|n| z(n.to_string())), 1..5),
            show_items(resource),
            prop::option::of((1u64..=1000).prop_map(z)),
        )
            .prop_map(move |(one, ids, show, limit)| Query {
                span: Span::default(),
                resource: z(if one {
                    ResourceName::One(resource)
                } else {
                    ResourceName::Known(resource)
                }),
                ids,
                key: None,
                of: None,
                scope: None,
                filter: None,
                show,
                limit,
            })
    })
}

/// `keys [in R]`, `values KEY [in R]`, for every resource with a catalog.
fn valid_catalog() -> impl Strategy<Value = Query> {
    let of = prop::sample::select(
        Resource::ALL.into_iter().filter(|r| r.has_catalog()).collect::<Vec<_>>(),
    );
    let key = value().prop_filter("a key is not blank", |k| !k.trim().is_empty());
    (any::<bool>(), key, prop::option::of(of), prop::option::of((1u64..=1000).prop_map(z)))
        .prop_map(|(values, key, of, limit)| Query {
            span: Span::default(),
            resource: z(if values { ResourceName::Values } else { ResourceName::Keys }),
            ids: Vec::new(),
            key: values.then(|| z(key)),
            of: of.map(|r| z(ResourceName::Known(r))),
            scope: None,
            filter: None,
            show: Vec::new(),
            limit,
        })
}

/// A listing that passes the checks, for any resource and any scope that fits it.
fn valid_listing() -> impl Strategy<Value = Query> {
    let resource = prop::sample::select(Resource::ALL.to_vec());
    resource.prop_flat_map(|resource| {
        let scopes: Vec<Option<ScopeKind>> = match resource {
            Resource::Images => ScopeKind::fitting(resource).iter().copied().map(Some).collect(),
            Resource::Screens | Resource::Projects | Resource::Studies => vec![None],
            _ => ScopeKind::fitting(resource).iter().copied().map(Some).collect(),
        };
        let fields: Vec<Field> = resource.fields().to_vec();
        // Studies show fields only.
        let key_weight = if resource == Resource::Studies { 0 } else { 1 };
        let show_item = prop_oneof![
            3 => prop::sample::select(fields).prop_map(ShowItem::Field),
            key_weight => "[A-Z][a-z]{3,8} [A-Z][a-z]{3,8}".prop_map(ShowItem::Key),
        ];
        (
            prop::sample::select(scopes),
            1..=i64::MAX,
            "[a-z0-9/-]{1,20}",
            prop::option::of(valid_expr()),
            prop::collection::vec(show_item.prop_map(z), 0..5),
            prop::option::of((1u64..=1000).prop_map(z)),
        )
            .prop_map(move |(scope, id, study, filter, show, limit)| {
                let scope = scope.map(|kind| Scope {
                    span: Span::default(),
                    kind: z(ScopeName::Known(kind)),
                    target: z(if kind == ScopeKind::Study { study } else { id.to_string() }),
                });
                let searched = resource == Resource::Images
                    && !matches!(
                        scope.as_ref().map(|s| &s.kind.value),
                        Some(ScopeName::Known(ScopeKind::Plate | ScopeKind::Dataset))
                    );
                // Searching images needs a condition the search engine can run.
                let runnable = Expr::Compare(Comparison {
                    span: Span::default(),
                    key: z(KeyName::Key("Gene Symbol".to_owned())),
                    op: z(Op::Equals),
                    operand: Operand::One(z("ade8".to_owned())),
                });
                let filter = match filter {
                    // Studies take a condition the engine runs whole.
                    _ if resource == Resource::Studies => Some(runnable),
                    None if searched => Some(runnable),
                    Some(f) if searched => Some(Expr::And {
                        items: vec![
                            Expr::Group { inner: Box::new(f), span: Span::default() },
                            runnable,
                        ],
                        span: Span::default(),
                    }),
                    f => f,
                };
                Query {
                    span: Span::default(),
                    resource: z(ResourceName::Known(resource)),
                    ids: Vec::new(),
                    key: None,
                    of: None,
                    scope,
                    filter,
                    show,
                    limit,
                }
            })
    })
}

proptest! {
    #![proptest_config(Config { failure_persistence: None, ..Config::default() })]

    /// P2: every valid query compiles, and the GraphQL validates against the schema.
    #[test]
    fn generated_queries_compile_to_valid_graphql(q in valid_query()) {
        let compiled = compile(&q).map_err(|e| TestCaseError::fail(format!("{q}\n{e:?}")))?;
        if let Some(errors) = check(&compiled.graphql) {
            return Err(TestCaseError::fail(format!("{q}\n{}\n{errors}", compiled.graphql)));
        }
    }
}
