//! Limits checked before a document executes, so abusive queries cost no upstream call.
//!
//! async-graphql already limits depth, complexity, parser recursion and directives; this
//! extension adds what it lacks: a cap on the document's size and on aliases (aliases of
//! an upstream-backed field multiply upstream calls, and fragments can hide them).

use std::collections::HashSet;
use std::sync::Arc;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery};
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{ServerError, ServerResult, Variables};

/// Caps on a document, checked at parse time.
#[derive(Clone, Copy, Debug)]
pub struct DocumentLimits {
    /// Bytes of query text.
    pub max_bytes: usize,
    /// Aliased fields, counted through fragments as many times as they are spread.
    pub max_aliases: usize,
}

impl ExtensionFactory for DocumentLimits {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(*self)
    }
}

fn rejected(code: &str, message: String) -> ServerError {
    let mut error = ServerError::new(message, None);
    let mut ext = async_graphql::ErrorExtensionValues::default();
    ext.set("code", code);
    error.extensions = Some(ext);
    error
}

#[async_graphql::async_trait::async_trait]
impl Extension for DocumentLimits {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        if query.len() > self.max_bytes {
            return Err(rejected(
                "QUERY_TOO_LARGE",
                format!("the query is {} bytes; the limit is {}", query.len(), self.max_bytes),
            ));
        }
        let document = next.run(ctx, query, variables).await?;
        let aliases = count_aliases(&document, self.max_aliases);
        if aliases > self.max_aliases {
            return Err(rejected(
                "QUERY_TOO_COMPLEX",
                format!("the query uses more than {} aliases", self.max_aliases),
            ));
        }
        Ok(document)
    }
}

/// Counts aliased fields in every operation, expanding fragment spreads; stops counting
/// once past `cap` and never follows a fragment cycle.
pub(crate) fn count_aliases(document: &ExecutableDocument, cap: usize) -> usize {
    let mut total = 0;
    for (_, operation) in document.operations.iter() {
        let mut visiting = HashSet::new();
        total += count_in(document, &operation.node.selection_set.node, cap, &mut visiting);
        if total > cap {
            break;
        }
    }
    total
}

fn count_in(
    document: &ExecutableDocument,
    set: &SelectionSet,
    cap: usize,
    visiting: &mut HashSet<String>,
) -> usize {
    let mut n = 0;
    for selection in &set.items {
        if n > cap {
            return n;
        }
        match &selection.node {
            Selection::Field(field) => {
                if field.node.alias.is_some() {
                    n += 1;
                }
                n += count_in(document, &field.node.selection_set.node, cap - n.min(cap), visiting);
            }
            Selection::InlineFragment(fragment) => {
                n += count_in(
                    document,
                    &fragment.node.selection_set.node,
                    cap - n.min(cap),
                    visiting,
                );
            }
            Selection::FragmentSpread(spread) => {
                let name = spread.node.fragment_name.node.to_string();
                if let Some(fragment) = document.fragments.get(&spread.node.fragment_name.node) {
                    if visiting.insert(name.clone()) {
                        n += count_in(
                            document,
                            &fragment.node.selection_set.node,
                            cap - n.min(cap),
                            visiting,
                        );
                        visiting.remove(&name);
                    }
                }
            }
        }
    }
    n
}

/// The cost of a request for rate limiting: its root fields (aliases and fields inside
/// fragments included), each of which can start upstream work. At least 1.
pub fn request_cost(query: &str) -> usize {
    let Ok(document) = async_graphql::parser::parse_query(query) else { return 1 };
    let mut total = 0;
    for (_, operation) in document.operations.iter() {
        let mut visiting = HashSet::new();
        total += count_root_fields(&document, &operation.node.selection_set.node, &mut visiting);
    }
    total.max(1)
}

fn count_root_fields(
    document: &ExecutableDocument,
    set: &SelectionSet,
    visiting: &mut HashSet<String>,
) -> usize {
    set.items
        .iter()
        .map(|selection| match &selection.node {
            Selection::Field(field) => usize::from(!field.node.name.node.starts_with("__")),
            Selection::InlineFragment(fragment) => {
                count_root_fields(document, &fragment.node.selection_set.node, visiting)
            }
            Selection::FragmentSpread(spread) => {
                let name = spread.node.fragment_name.node.to_string();
                match document.fragments.get(&spread.node.fragment_name.node) {
                    Some(fragment) if visiting.insert(name.clone()) => {
                        let n = count_root_fields(
                            document,
                            &fragment.node.selection_set.node,
                            visiting,
                        );
                        visiting.remove(&name);
                        n
                    }
                    _ => 0,
                }
            }
        })
        .sum()
}
