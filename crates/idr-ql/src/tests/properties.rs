//! Property tests (FAULTS.md 5.3 and A16/A17): arbitrary text never panics and every
//! span lies within it on char boundaries; printing a generated tree and parsing it back
//! gives the tree again (P1); compiling is deterministic (P5); arbitrary Unicode in keys,
//! values and study names reaches the GraphQL string literals byte for byte, with no
//! selection added (P4, A16). Schema validation (P2) is in `schema.rs`.

use apollo_compiler::ast::{Definition, Document, Selection, Value};
use proptest::prelude::*;
use proptest::test_runner::Config;

use super::{strip, trees};
use crate::ast::{
    Comparison, Expr, KeyName, Operand, Query, ResourceName, Scope, ScopeName, ShowItem, Spanned,
};
use crate::{
    analyze, compile, complete, format, hover, parse, Catalog, Field, Op, Resource, ScopeKind, Span,
};

fn config() -> Config {
    // Keep regressions out of the source tree; every case must be reproducible from the
    // seed printed on failure anyway.
    Config { failure_persistence: None, ..Config::default() }
}

/// Text for keys, values and names: plain words, words with spaces and punctuation,
/// keywords, escapes and arbitrary Unicode.
pub(crate) fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z0-9_./:-]{1,12}",
        "[A-Za-z ]{0,16}",
        Just("and".to_owned()),
        Just("Not".to_owned()),
        Just("limit".to_owned()),
        Just("".to_owned()),
        "[\"\\\\{}#;,()=~! \n\t]{1,6}",
        any::<String>().prop_map(|s| s.chars().take(24).collect()),
    ]
}

fn z<T>(value: T) -> Spanned<T> {
    Spanned::new(value, Span::default())
}

fn key() -> impl Strategy<Value = KeyName> {
    prop_oneof![
        1 => Just(KeyName::Name),
        4 => text().prop_filter("`name` is the name key", |t| !t.eq_ignore_ascii_case("name")).prop_map(KeyName::Key),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop::sample::select(Op::ALL.to_vec())
}

fn comparison() -> impl Strategy<Value = Expr> {
    let operand = prop_oneof![
        text().prop_map(|t| Operand::One(z(t))),
        prop::collection::vec(text().prop_map(z), 0..4)
            .prop_map(|items| Operand::List { items, span: Span::default() }),
    ];
    (key(), op(), operand).prop_map(|(key, op, operand)| {
        Expr::Compare(Comparison { span: Span::default(), key: z(key), op: z(op), operand })
    })
}

/// `e` as it may appear as an operand of `parent` ("and", "or", "not"): chains that would
/// read back differently are put in parentheses, as the parser would have them.
fn operand_of(parent: &str, e: Expr) -> Expr {
    let group = |e| Expr::Group { inner: Box::new(e), span: Span::default() };
    match (&e, parent) {
        (Expr::And { .. }, "and" | "not") | (Expr::Or { .. }, _) => group(e),
        _ => e,
    }
}

/// Conditions of bounded depth, shaped as the parser builds them.
pub(crate) fn expr() -> impl Strategy<Value = Expr> {
    comparison().prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            inner.clone().prop_map(|e| Expr::Not {
                inner: Box::new(operand_of("not", e)),
                span: Span::default()
            }),
            inner.clone().prop_map(|e| Expr::Group { inner: Box::new(e), span: Span::default() }),
            prop::collection::vec(inner.clone(), 2..4).prop_map(|items| Expr::And {
                items: items.into_iter().map(|e| operand_of("and", e)).collect(),
                span: Span::default(),
            }),
            prop::collection::vec(inner, 2..4).prop_map(|items| Expr::Or {
                items: items.into_iter().map(|e| operand_of("or", e)).collect(),
                span: Span::default(),
            }),
        ]
    })
}

fn bare_word() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9_]{0,8}".prop_filter("not a keyword or name", |w| {
        !crate::lexer::is_keyword(w)
            && Resource::from_name(w).is_none()
            && ScopeKind::from_name(w).is_none()
            && Resource::from_singular(w).is_none()
            && crate::syntax::CatalogHead::of(w).is_none()
    })
}

/// Ids as the grammar reads them: digits, with leading zeros and overflows too.
fn ids(range: std::ops::Range<usize>) -> impl Strategy<Value = Vec<Spanned<String>>> {
    prop::collection::vec("[0-9]{1,21}".prop_map(z), range)
}

/// Any catalog query: `keys [in R] [limit N]`, `values [KEY] [in R] [limit N]`.
fn catalog_query() -> impl Strategy<Value = Query> {
    let of = prop_oneof![
        prop::sample::select(Resource::ALL.to_vec()).prop_map(ResourceName::Known),
        bare_word().prop_map(ResourceName::Unknown),
    ];
    (
        any::<bool>(),
        prop::option::of(text()),
        prop::option::of(of),
        prop::option::of(any::<u64>().prop_map(z)),
    )
        .prop_map(|(values, key, of, limit)| Query {
            span: Span::default(),
            resource: z(if values { ResourceName::Values } else { ResourceName::Keys }),
            ids: Vec::new(),
            key: key.filter(|_| values).map(z),
            of: of.map(z),
            scope: None,
            filter: None,
            show: Vec::new(),
            limit,
        })
}

/// Any query the parser can produce, valid or not.
fn query() -> impl Strategy<Value = Query> {
    prop_oneof![6 => listing(), 1 => catalog_query()]
}

/// Any listing or lookup by id, valid or not.
fn listing() -> impl Strategy<Value = Query> {
    let resource = prop_oneof![
        4 => prop::sample::select(Resource::ALL.to_vec()).prop_map(ResourceName::Known),
        1 => prop::sample::select(
            Resource::ALL.into_iter().filter(|r| r.takes_ids()).collect::<Vec<_>>()
        )
        .prop_map(ResourceName::One),
        1 => bare_word().prop_map(ResourceName::Unknown),
    ];
    let scope_kind = prop_oneof![
        4 => prop::sample::select(ScopeKind::ALL.to_vec()).prop_map(ScopeName::Known),
        1 => bare_word().prop_map(ScopeName::Unknown),
    ];
    let scope = (scope_kind, text()).prop_map(|(kind, target)| Scope {
        span: Span::default(),
        kind: z(kind),
        target: z(target),
    });
    let show_item = prop_oneof![
        prop::sample::select(Field::ALL.to_vec()).prop_map(ShowItem::Field),
        text().prop_map(ShowItem::Key),
    ];
    (
        resource,
        prop_oneof![3 => ids(0..1), 1 => ids(1..4)],
        prop::option::of(scope),
        prop::option::of(expr()),
        prop::collection::vec(show_item.prop_map(z), 0..4),
        prop::option::of(any::<u64>().prop_map(z)),
    )
        .prop_map(|(resource, ids, scope, filter, mut show, limit)| {
            // The parser reads a curated key the resource has no field for as the key
            // (`screens show organism`), so it never produces that field there.
            let known = resource.resource();
            for item in &mut show {
                if let ShowItem::Field(f) = item.value {
                    if crate::model::show_field(f.name(), false, known).is_none() {
                        item.value = ShowItem::Key(f.name().to_owned());
                    }
                }
            }
            Query {
                span: Span::default(),
                resource: z(resource),
                ids,
                key: None,
                of: None,
                scope,
                filter,
                show,
                limit,
            }
        })
}

/// Strings that look like IDR-QL: fragments of the language glued together, so the
/// parser gets past its first token.
fn soup() -> impl Strategy<Value = String> {
    let fragment = prop::sample::select(vec![
        "images",
        "screens",
        "plates",
        "wells",
        "in",
        "screen",
        "plate",
        "study",
        "where",
        "and",
        "or",
        "not",
        "show",
        "limit",
        "name",
        "\"Gene Symbol\"",
        "ade8",
        "=",
        "!=",
        "~",
        "!~",
        "!",
        "(",
        ")",
        ",",
        ";",
        "#",
        "\"",
        "\\",
        "\\u{",
        "}",
        " ",
        " ",
        "\n",
        "\n  ",
        "\t",
        "\r\n",
        "102",
        "0",
        "é",
        "🧬",
        "\u{202e}",
        "\u{0}",
        "\u{feff}",
        "keyValues",
        "thumbnail",
    ]);
    prop::collection::vec(fragment, 0..40).prop_map(|parts| parts.concat())
}

/// Every span the crate hands out for `text` lies within it, on char boundaries.
fn assert_spans_ok(text: &str) {
    let ok = |span: Span| {
        span.start <= span.end
            && span.end <= text.len()
            && text.is_char_boundary(span.start)
            && text.is_char_boundary(span.end)
    };
    let catalog = Catalog::bundled();
    let analysis = analyze(text, &catalog);
    for q in &analysis.queries {
        assert!(ok(q.span), "query span {:?} in {text:?}", q.span);
        for d in &q.diagnostics {
            assert!(ok(d.span), "diagnostic {d:?} in {text:?}");
            for (span, _) in &d.labels {
                assert!(ok(*span), "label of {d:?} in {text:?}");
            }
        }
        assert_eq!(q.compiled.is_some(), !q.has_errors());
    }
    let rendered = crate::render(&analysis.diagnostics().cloned().collect::<Vec<_>>(), "f", text);
    assert!(!rendered.contains('\u{1b}'), "escape characters reach the terminal");
    if let Some(formatted) = format(text) {
        assert_eq!(
            format(&formatted).as_deref(),
            Some(formatted.as_str()),
            "format is not idempotent on {text:?}"
        );
        assert_eq!(trees(&formatted), trees(text), "format changed the meaning of {text:?}");
    }
    let mut offsets: Vec<usize> =
        vec![0, text.len(), text.len() / 2, text.len() / 3, text.len() + 7];
    offsets.extend(text.char_indices().map(|(i, _)| i).step_by(3));
    for offset in offsets {
        for item in complete(text, offset, &catalog) {
            assert!(ok(item.replace), "completion {item:?} at {offset} in {text:?}");
        }
        if let Some(h) = hover(text, offset, &catalog) {
            assert!(ok(h.span), "hover {h:?} at {offset} in {text:?}");
        }
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_text_never_panics(text in any::<String>()) {
        assert_spans_ok(&text);
    }

    #[test]
    fn language_soup_never_panics(text in soup()) {
        assert_spans_ok(&text);
    }

    /// P1: printing a tree and parsing it back gives the same tree; the formatter's
    /// layout does too.
    #[test]
    fn print_then_parse_round_trips(q in query()) {
        let printed = q.to_string();
        let file = parse(&printed);
        prop_assert_eq!(file.queries.len(), 1, "{}", printed);
        let parsed = file.queries[0].ast.as_ref().map(strip);
        prop_assert_eq!(parsed.as_ref(), Some(&q), "{}\n{:?}", printed, file.queries[0].diagnostics);
        let formatted = format(&printed).expect("printed queries have no syntax errors");
        prop_assert_eq!(trees(&formatted), vec![Some(q)], "{}", formatted);
    }

    /// P5: the same query compiles to the same text, also after printing and parsing.
    #[test]
    fn compile_is_deterministic(q in query()) {
        let first = compile(&q);
        prop_assert_eq!(&first, &compile(&q));
        let reparsed = parse(&q.to_string()).queries.remove(0).ast.expect("it parses");
        prop_assert_eq!(first.map(|c| c.graphql).ok(), compile(&reparsed).map(|c| c.graphql).ok());
    }

    /// P4 and A16: keys, values and study names survive into GraphQL string literals
    /// exactly, and the document's shape does not depend on them.
    #[test]
    fn strings_reach_graphql_byte_for_byte(
        // A value of spaces only cannot be put to the engine (it strips what it is asked).
        value in any::<String>().prop_filter("the engine can be asked for it", |v| v.trim() == v || !v.trim().is_empty()),
        study in any::<String>().prop_filter("a study name is not blank", |s| !s.trim().is_empty()),
        key in any::<String>().prop_map(|k| format!("Key: {k}")),
        list in prop::collection::vec(any::<String>(), 1..3),
    ) {
        let q = Query {
            span: Span::default(),
            resource: z(ResourceName::Known(Resource::Images)),
            ids: Vec::new(),
            key: None,
            of: None,
            scope: Some(Scope { span: Span::default(), kind: z(ScopeName::Known(ScopeKind::Study)), target: z(study.clone()) }),
            filter: Some(Expr::And {
                items: vec![
                    Expr::Compare(Comparison { span: Span::default(), key: z(KeyName::Key(key.clone())), op: z(Op::Equals), operand: Operand::One(z(value.clone())) }),
                    Expr::Compare(Comparison { span: Span::default(), key: z(KeyName::Name), op: z(Op::In), operand: Operand::List { items: list.iter().cloned().map(z).collect(), span: Span::default() } }),
                ],
                span: Span::default(),
            }),
            show: vec![z(ShowItem::Key(key.clone()))],
            limit: None,
        };
        // Through the text form too: what a user types is what reaches GraphQL.
        let q = parse(&q.to_string()).queries.remove(0).ast.expect("it parses");
        let compiled = compile(&q).map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
        let doc = Document::parse(compiled.graphql.as_str(), "q.graphql")
            .map_err(|e| TestCaseError::fail(format!("{e}\n{}", compiled.graphql)))?;
        let mut strings = Vec::new();
        let mut fields = Vec::new();
        for definition in &doc.definitions {
            if let Definition::OperationDefinition(op) = definition {
                collect(&op.selection_set, &mut strings, &mut fields);
            }
        }
        let mut expected = vec![key.clone(), value, "name".to_owned()];
        expected.extend(list);
        expected.push(study);
        expected.push(key);
        prop_assert_eq!(strings, expected);
        prop_assert_eq!(
            fields.join(" "),
            "searchImages totalCount pageInfo hasNextPage endCursor nodes id:idrId k1:values"
        );
    }
}

/// Every string argument value in document order, and every field (`alias:name`).
fn collect(selections: &[Selection], strings: &mut Vec<String>, fields: &mut Vec<String>) {
    for selection in selections {
        if let Selection::Field(field) = selection {
            fields.push(match &field.alias {
                Some(alias) => format!("{alias}:{}", field.name),
                None => field.name.to_string(),
            });
            for argument in &field.arguments {
                strings_in(&argument.value, strings);
            }
            collect(&field.selection_set, strings, fields);
        }
    }
}

fn strings_in(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::List(items) => items.iter().for_each(|v| strings_in(v, out)),
        Value::Object(fields) => fields.iter().for_each(|(_, v)| strings_in(v, out)),
        _ => {}
    }
}
