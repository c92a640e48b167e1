//! Puts response fields in the order the query selected them, as the GraphQL spec asks.
//! async-graphql 7 inserts sibling fields in the order they finish resolving.

use std::collections::HashSet;

use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, Selection, SelectionSet,
};
use async_graphql::{Name, Value};

/// Reorders `data` to follow the selected operation of `query`; leaves it alone when the
/// query does not parse (it then has no data anyway).
pub(crate) fn order_like_query(data: &mut Value, query: &str, operation: Option<&str>) {
    let Ok(document) = async_graphql::parser::parse_query(query) else { return };
    let selection = match &document.operations {
        DocumentOperations::Single(op) => &op.node.selection_set.node,
        DocumentOperations::Multiple(ops) => {
            let op = match operation {
                Some(name) => ops.get(&Name::new(name)),
                None if ops.len() == 1 => ops.values().next(),
                None => None,
            };
            let Some(op) = op else { return };
            &op.node.selection_set.node
        }
    };
    reorder(data, &[selection], &document);
}

/// Reorders one value selected by `sets` (several when fields were merged).
fn reorder(value: &mut Value, sets: &[&SelectionSet], document: &ExecutableDocument) {
    match value {
        Value::List(items) => items.iter_mut().for_each(|item| reorder(item, sets, document)),
        Value::Object(map) => {
            let mut keys: Vec<(Name, Vec<&SelectionSet>)> = Vec::new();
            let mut seen_fragments = HashSet::new();
            for set in sets {
                collect(set, document, &mut keys, &mut seen_fragments);
            }
            let mut ordered = async_graphql::indexmap::IndexMap::with_capacity(map.len());
            for (key, child_sets) in &keys {
                if let Some(mut child) = map.shift_remove(key) {
                    reorder(&mut child, child_sets, document);
                    ordered.insert(key.clone(), child);
                }
            }
            // Anything not found in the selection (there should be nothing) keeps its place at the end.
            ordered.extend(std::mem::take(map));
            *map = ordered;
        }
        _ => {}
    }
}

/// The response keys of a selection set in order, with the sub-selections of each,
/// expanding fragments in place.
fn collect<'a>(
    set: &'a SelectionSet,
    document: &'a ExecutableDocument,
    keys: &mut Vec<(Name, Vec<&'a SelectionSet>)>,
    seen_fragments: &mut HashSet<Name>,
) {
    for selection in &set.items {
        match &selection.node {
            Selection::Field(field) => {
                let key = field.node.response_key().node.clone();
                let sub = &field.node.selection_set.node;
                match keys.iter_mut().find(|(k, _)| *k == key) {
                    Some((_, subs)) => subs.push(sub),
                    None => keys.push((key, vec![sub])),
                }
            }
            Selection::InlineFragment(fragment) => {
                collect(&fragment.node.selection_set.node, document, keys, seen_fragments);
            }
            Selection::FragmentSpread(spread) => {
                let name = &spread.node.fragment_name.node;
                if seen_fragments.insert(name.clone()) {
                    if let Some(fragment) = document.fragments.get(name) {
                        collect(&fragment.node.selection_set.node, document, keys, seen_fragments);
                    }
                }
            }
        }
    }
}
