//! One filter algebra (idr-filter) for both front ends: lowering an IDR-QL condition and
//! lowering the GraphQL `ImageFilter` it compiles to give the same expression, hence the
//! same plan, and the checker's `unsupported` search is exactly the one the plan gives the
//! engine nothing of (which the server refuses).
//!
//! Conditions come from the generators of `ql_semantics` (every operator, spaced and
//! cased values, `not` / `and` / `or` four deep) and of `ql_limits` (up to 256
//! comparisons, `MAX_DEPTH` nesting, disjunctions too wide for the engine's normal form).

use async_graphql::parser::types::{ExecutableDocument, OperationType, Selection};
use std::sync::atomic::{AtomicUsize, Ordering};

use async_graphql::InputType;
use idr_ql::{Expr, Query, ResourceName, Scope, ScopeKind, ScopeName, Span};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use super::ql_semantics::{runner, z};
use crate::ImageFilter;

fn images(scope: Option<ScopeKind>, filter: &Expr) -> Query {
    Query {
        span: Span::default(),
        resource: z(ResourceName::Known(idr_ql::Resource::Images)),
        ids: Vec::new(),
        key: None,
        of: None,
        scope: scope.map(|kind| Scope {
            span: Span::default(),
            kind: z(ScopeName::Known(kind)),
            target: z("1".to_owned()),
        }),
        filter: Some(filter.clone()),
        show: Vec::new(),
        limit: None,
    }
}

/// The `where:` argument of the compiled document's row field, as the server reads it.
fn compiled_filter(graphql: &str) -> Result<ImageFilter, TestCaseError> {
    let document: ExecutableDocument = async_graphql::parser::parse_query(graphql)
        .map_err(|e| TestCaseError::fail(format!("{e}: {graphql}")))?;
    let (_, operation) = document
        .operations
        .iter()
        .find(|(_, op)| op.node.ty == OperationType::Query)
        .ok_or_else(|| TestCaseError::fail("no query"))?;
    // `plate(id:) { images(where:) … }`: the row field is the first one with `where`.
    let mut sets = vec![&operation.node.selection_set.node];
    while let Some(set) = sets.pop() {
        for item in &set.items {
            let Selection::Field(field) = &item.node else { continue };
            if let Some(value) = field.node.get_argument("where") {
                let value =
                    value.node.clone().into_const().ok_or_else(|| {
                        TestCaseError::fail("the compiled filter uses a variable")
                    })?;
                return ImageFilter::parse(Some(value)).map_err(|e| {
                    TestCaseError::fail(format!(
                        "{}: {graphql}",
                        e.into_server_error(Default::default()).message
                    ))
                });
            }
            sets.push(&field.node.selection_set.node);
        }
    }
    Err(TestCaseError::fail(format!("no `where:` in {graphql}")))
}

/// Conditions compared (not refused by the language first).
static COMPARED: AtomicUsize = AtomicUsize::new(0);

fn same_expression_and_plan(filter: &Expr) -> Result<(), TestCaseError> {
    let lowered = idr_ql::lower(filter);
    // Listing a plate's images compiles every filter the language accepts (a search
    // may be refused as `unsupported`, and that is checked below).
    let compiled = match idr_ql::compile(&images(Some(ScopeKind::Plate), filter)) {
        Ok(compiled) => compiled,
        Err(errors) => {
            // Refused for a limit: the server's own on the expression, or one the language
            // adds (parentheses and `not` nest at most `idr_ql::MAX_DEPTH` in the text,
            // checked on tokens) or the server's document size.
            let language_only = |d: &idr_ql::Diagnostic| {
                (d.code == "too-deep" && filter.depth() > idr_ql::MAX_DEPTH)
                    || (d.code == "too-long" && d.message.contains("bytes of GraphQL"))
            };
            // (Other refusals, such as `~ ""`, are the language's own rules.)
            let limits = |d: &&idr_ql::Diagnostic| matches!(d.code, "too-deep" | "too-long");
            if !errors.iter().filter(limits).all(language_only) {
                prop_assert!(
                    lowered.check_limits().is_err(),
                    "idr-ql refuses {:?} but the server's limits hold: {:?}",
                    lowered,
                    errors
                );
            }
            return Ok(());
        }
    };
    let input = compiled_filter(&compiled.graphql)?;
    let server = input.to_expr().map_err(|e| {
        TestCaseError::fail(format!("the server refuses {}: {}", compiled.graphql, e.message))
    })?;
    prop_assert_eq!(&server, &lowered, "GraphQL: {}", compiled.graphql);
    COMPARED.fetch_add(1, Ordering::Relaxed);
    prop_assert_eq!(server.plan(), lowered.plan());
    // A search: refused by the checker exactly when the plan gives the engine nothing.
    let search = idr_ql::compile(&images(None, filter));
    let unsupported = match &search {
        Err(errors) => errors.iter().any(|d| d.code == "unsupported"),
        Ok(_) => false,
    };
    prop_assert_eq!(unsupported, lowered.plan().engine.is_none(), "{:?}", search);
    Ok(())
}

#[test]
fn lowering_idr_ql_and_lowering_the_graphql_input_give_the_same_expression_and_plan() {
    runner(600, 0x10_3e12)
        .run(&super::ql_semantics::condition(), |c| same_expression_and_plan(&c))
        .unwrap();
    runner(150, 0x10_3e13)
        .run(&super::ql_limits::condition(), |c| same_expression_and_plan(&c))
        .unwrap();
    // Most conditions reach the comparison (the rest are refused by the language).
    let compared = COMPARED.load(Ordering::Relaxed);
    assert!(compared >= 500, "only {compared} of 750 conditions were compared");
}
