//! IDR-QL: a small query language for the Image Data Resource, compiled to the
//! idr-graph GraphQL schema.
//!
//! ```text
//! images where "Gene Symbol" in (CDK5RAP2, CETN2) and "Cell Line" = HeLa show name, thumbnail limit 20
//! ```
//!
//! The pipeline is [`parse`] (text to syntax trees, one per query, never fails), [`check`]
//! (semantic diagnostics against a [`Catalog`] of known keys) and [`compile`] (one query
//! to one GraphQL document); [`analyze`] runs all three. Editor features work on plain
//! data with byte offsets: [`complete`], [`hover`], [`format()`]; [`render`] prints
//! diagnostics the way the CLI shows them. The language is documented in `docs/idr-ql.md`.
//!
//! The crate does no IO, has no async runtime, and does not panic on any input: every
//! problem is a [`Diagnostic`].

mod ast;
mod catalog;
mod check;
mod compile;
mod context;
mod diagnostic;
mod format;
mod ide;
mod lexer;
mod lower;
mod model;
mod parser;
mod render;
mod syntax;

#[cfg(test)]
mod tests;

pub use ast::{
    Comparison, Expr, KeyName, Operand, Query, ResourceName, Scope, ScopeName, ShowItem, Spanned,
};
pub use catalog::{Catalog, KeyInfo, ValueInfo};
pub use check::{check, check_query, LIMIT_RANGE, MAX_IDS, MAX_SHOW_KEYS};
pub use compile::{compile, graphql_string, Column, Compiled, MAX_GRAPHQL_BYTES, PAGE_SIZE};
pub use diagnostic::{Diagnostic, Fix, Severity, Span, CODES};
pub use format::{format, MAX_WIDTH};
pub use ide::{classify, complete, hover, CompletionItem, CompletionKind, Hover, TokenClass};
pub use lower::lower;
pub use model::{Field, Op, OpSyntax, Resource, ScopeKind};
pub use parser::{parse, ParsedQuery, SourceFile, MAX_DEPTH, MAX_QUERY_BYTES};
pub use render::{line_col, render};

/// Everything known about one query of a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueryAnalysis {
    /// From the query's first token to its last.
    pub span: Span,
    /// The syntax tree, when the query parses.
    pub ast: Option<Query>,
    /// Syntax and semantic diagnostics, in source order.
    pub diagnostics: Vec<Diagnostic>,
    /// The compiled query, when there is no error.
    pub compiled: Option<Compiled>,
}

impl QueryAnalysis {
    /// Whether any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// The analysis of a whole file, one entry per query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Analysis {
    /// The queries in order.
    pub queries: Vec<QueryAnalysis>,
}

impl Analysis {
    /// Every diagnostic of every query, in source order.
    pub fn diagnostics(&self) -> impl Iterator<Item = &Diagnostic> {
        self.queries.iter().flat_map(|q| q.diagnostics.iter())
    }

    /// Whether any query has an error.
    pub fn has_errors(&self) -> bool {
        self.queries.iter().any(QueryAnalysis::has_errors)
    }
}

/// Parses, checks and compiles every query of `text`. A query with an error gets no
/// compiled form; the others are unaffected.
pub fn analyze(text: &str, catalog: &Catalog) -> Analysis {
    let file = parse(text);
    let queries = file
        .queries
        .into_iter()
        .map(|parsed| {
            let mut diagnostics = parsed.diagnostics;
            let mut compiled = None;
            if let Some(ast) = &parsed.ast {
                diagnostics.extend(check_query(ast, catalog));
                if !diagnostics.iter().any(Diagnostic::is_error) {
                    match compile(ast) {
                        Ok(c) => compiled = Some(c),
                        // Only `too-long` can fail here: the other compile errors are
                        // also check errors.
                        Err(errors) => diagnostics.extend(errors),
                    }
                }
            }
            QueryAnalysis { span: parsed.span, ast: parsed.ast, diagnostics, compiled }
        })
        .collect();
    Analysis { queries }
}
