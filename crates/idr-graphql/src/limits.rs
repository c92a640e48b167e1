//! Limits checked before a document executes, so abusive queries cost no upstream call.
//!
//! async-graphql already limits depth, complexity, parser recursion and directives; this
//! extension adds what it lacks: a cap on the document's size, on its bracket nesting
//! (checked before parsing, see [`crate::nesting`]) and on aliases (aliases of an
//! upstream-backed field multiply upstream calls, and fragments can hide them).

use std::collections::HashSet;
use std::sync::Arc;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery};
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{Pos, ServerError, ServerResult, Variables};

use crate::nesting;

/// Caps on a document, checked at parse time.
#[derive(Clone, Copy, Debug)]
pub struct DocumentLimits {
    /// Bytes of query text.
    pub max_bytes: usize,
    /// Nesting of `{`, `[` and `(` in the text, and of lists and objects in variables.
    pub max_nesting: usize,
    /// Aliased fields, counted through fragments as many times as they are spread.
    pub max_aliases: usize,
    /// Selections the document amounts to with every fragment spread expanded in place.
    /// Fragments that each spread the next one twice double at every step, so 40 lines
    /// can stand for 2^40 selections; every walk over the document (validation, the
    /// counters here, execution) would expand them.
    pub max_expanded: usize,
}

impl Default for DocumentLimits {
    fn default() -> DocumentLimits {
        DocumentLimits {
            max_bytes: idr_filter::limits::MAX_DOCUMENT_BYTES,
            max_nesting: nesting::MAX_NESTING,
            max_aliases: idr_filter::limits::MAX_ALIASES,
            max_expanded: 20_000,
        }
    }
}

impl DocumentLimits {
    /// Checks the text's size and nesting, then parses it: the one way this crate turns
    /// query text into a document, so nothing recursive ever sees an unchecked text.
    pub fn parse(&self, query: &str) -> ServerResult<ExecutableDocument> {
        self.check_text(query)?;
        let document = async_graphql::parser::parse_query(query)?;
        check_fragment_cycles(&document)?;
        check_expansion(&document, self.max_expanded)?;
        Ok(document)
    }

    fn check_text(&self, query: &str) -> ServerResult<()> {
        if query.len() > self.max_bytes {
            return Err(rejected(
                "QUERY_TOO_LARGE",
                format!("the query is {} bytes; the limit is {}", query.len(), self.max_bytes),
                None,
            ));
        }
        nesting::check_graphql(query, self.max_nesting).map_err(|at| {
            rejected(
                "QUERY_TOO_DEEP",
                format!(
                    "the query nests brackets more than {} deep; flatten the arguments or selections",
                    self.max_nesting
                ),
                Some(Pos { line: at.line, column: at.column }),
            )
        })
    }

    /// Checks that no variable value nests deeper than the cap (the variables object
    /// itself is one level).
    pub fn check_variables(&self, variables: &Variables) -> ServerResult<()> {
        let max = self.max_nesting.saturating_sub(1);
        if variables.values().any(|value| nesting::value_too_deep(value, max)) {
            return Err(rejected(
                "QUERY_TOO_DEEP",
                format!("the variables nest more than {} deep", self.max_nesting),
                None,
            ));
        }
        Ok(())
    }
}

impl ExtensionFactory for DocumentLimits {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(*self)
    }
}

fn rejected(code: &str, message: String, pos: Option<Pos>) -> ServerError {
    let mut error = ServerError::new(message, pos);
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
        // The size, nesting, cycles and expansion were checked by `parse`, in `execute`,
        // before this document was handed to async-graphql pre-parsed.
        let document = next.run(ctx, query, variables).await?;
        let aliases = count_aliases(&document, self.max_aliases);
        if aliases > self.max_aliases {
            return Err(rejected(
                "QUERY_TOO_COMPLEX",
                format!("the query uses more than {} aliases", self.max_aliases),
                None,
            ));
        }
        Ok(document)
    }
}

/// Refuses a fragment that spreads itself, directly or through others, with the cycle
/// named. async-graphql's validation has the same rule, but its recursion limit (run
/// first) would report such a document only as "too deep".
fn check_fragment_cycles(document: &ExecutableDocument) -> ServerResult<()> {
    fn spreads<'a>(set: &'a SelectionSet, out: &mut Vec<&'a async_graphql::Name>) {
        for selection in &set.items {
            match &selection.node {
                Selection::Field(field) => spreads(&field.node.selection_set.node, out),
                Selection::InlineFragment(f) => spreads(&f.node.selection_set.node, out),
                Selection::FragmentSpread(s) => out.push(&s.node.fragment_name.node),
            }
        }
    }
    // Depth-first over fragments, without recursion: (fragment, its spreads, next index).
    let mut done: HashSet<&async_graphql::Name> = HashSet::new();
    // In the order the text defines them, so the cycle reported is always the same.
    let mut starts: Vec<_> = document.fragments.iter().collect();
    starts.sort_by_key(|(_, f)| (f.pos.line, f.pos.column));
    for (start, _) in starts {
        if done.contains(start) {
            continue;
        }
        let mut path: Vec<(&async_graphql::Name, Vec<&async_graphql::Name>, usize)> = Vec::new();
        let mut first = Vec::new();
        if let Some(fragment) = document.fragments.get(start) {
            spreads(&fragment.node.selection_set.node, &mut first);
        }
        path.push((start, first, 0));
        while let Some((name, children, next)) = path.last_mut() {
            let Some(child) = children.get(*next).copied() else {
                done.insert(*name);
                path.pop();
                continue;
            };
            *next += 1;
            if let Some(at) = path.iter().position(|(n, _, _)| *n == child) {
                let cycle: Vec<String> = path[at..]
                    .iter()
                    .map(|(n, _, _)| n.to_string())
                    .chain([child.to_string()])
                    .collect();
                return Err(rejected(
                    "GRAPHQL_VALIDATION_FAILED",
                    format!(
                        "fragment `{child}` spreads itself ({}); fragments cannot be recursive",
                        cycle.join(" → ")
                    ),
                    document.fragments.get(child).map(|f| f.pos),
                ));
            }
            if done.contains(child) {
                continue;
            }
            let mut grandchildren = Vec::new();
            if let Some(fragment) = document.fragments.get(child) {
                spreads(&fragment.node.selection_set.node, &mut grandchildren);
            }
            path.push((child, grandchildren, 0));
        }
    }
    Ok(())
}

/// Refuses a document whose selections, with fragment spreads expanded, number more than
/// `max`. Each fragment's expanded size is computed once (the fragments form no cycle, as
/// [`check_fragment_cycles`] has checked), with saturating arithmetic.
fn check_expansion(document: &ExecutableDocument, max: usize) -> ServerResult<()> {
    use std::collections::HashMap;

    let mut sizes: HashMap<&async_graphql::Name, usize> = HashMap::new();
    // Settle sizes round by round: each round settles at least one fragment (there are no
    // cycles), so there are at most as many rounds as fragments, and no recursion.
    let mut pending: Vec<&async_graphql::Name> = document.fragments.keys().collect();
    while !pending.is_empty() {
        let before = pending.len();
        pending.retain(|name| {
            let Some(fragment) = document.fragments.get(*name) else { return false };
            match size_known(&fragment.node.selection_set.node, &sizes, document) {
                Some(n) => {
                    sizes.insert(*name, n);
                    false
                }
                None => true,
            }
        });
        if pending.len() == before {
            break; // cannot happen without a cycle; leave it to validation
        }
    }
    for (_, operation) in document.operations.iter() {
        let n = size_known(&operation.node.selection_set.node, &sizes, document).unwrap_or(0);
        if n > max {
            return Err(rejected(
                "QUERY_TOO_COMPLEX",
                format!(
                    "the query amounts to more than {max} selections once its fragments are expanded"
                ),
                None,
            ));
        }
    }
    Ok(())
}

/// The expanded size of `set`, or `None` while a fragment it spreads has no size yet.
fn size_known(
    set: &SelectionSet,
    sizes: &std::collections::HashMap<&async_graphql::Name, usize>,
    document: &ExecutableDocument,
) -> Option<usize> {
    let mut total = 0usize;
    for selection in &set.items {
        let n = match &selection.node {
            Selection::Field(field) => {
                1usize.saturating_add(size_known(&field.node.selection_set.node, sizes, document)?)
            }
            Selection::InlineFragment(f) => {
                size_known(&f.node.selection_set.node, sizes, document)?
            }
            Selection::FragmentSpread(s) => {
                let name = &s.node.fragment_name.node;
                match sizes.get(name) {
                    Some(n) => *n,
                    // A spread of an unknown fragment counts nothing; validation reports it.
                    None if !document.fragments.contains_key(name) => 0,
                    None => return None,
                }
            }
        };
        total = total.saturating_add(n);
    }
    Some(total)
}

/// How deep the counters below follow fragment spreads into fragments. The text may hold a
/// chain of hundreds of fragments; such a document fails async-graphql's recursion limit
/// (64) anyway, and the counters must not recurse deeper than that first.
const MAX_FRAGMENT_NESTING: usize = 64;

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
                    if visiting.len() < MAX_FRAGMENT_NESTING && visiting.insert(name.clone()) {
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
pub(crate) fn root_fields(document: &ExecutableDocument) -> usize {
    let mut total = 0;
    for (_, operation) in document.operations.iter() {
        let mut visiting = HashSet::new();
        total += count_root_fields(document, &operation.node.selection_set.node, &mut visiting);
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
                    Some(fragment)
                        if visiting.len() < MAX_FRAGMENT_NESTING
                            && visiting.insert(name.clone()) =>
                    {
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
