//! Finishing a response the way the GraphQL spec asks, where async-graphql 7 does not:
//!
//! - **Nulls for failed fields.** async-graphql leaves a failed field's key out of its
//!   object (and an object whose every field failed becomes `null`); front ends read a
//!   missing key as "not asked for". Every field with an error gets its `null`.
//! - **Null propagation.** A `null` where the schema says non-null makes the nearest
//!   nullable ancestor `null` instead (spec §6.4.4, "Handling Field Errors"), up to
//!   `data` itself. A `null` at a non-null position that no error explains gets an
//!   `INTERNAL_SERVER_ERROR` of its own: nothing is ever nulled in silence.
//! - **Field order.** async-graphql inserts siblings in the order they finish resolving;
//!   the spec orders them as the query selected them.
//!
//! The response's shape comes from the executed document and the schema's [`Shape`], so
//! this works for any query, alias or fragment, not per field.

use std::collections::HashSet;

use async_graphql::parser::types::{
    BaseType, DocumentOperations, ExecutableDocument, Selection, SelectionSet, Type,
};
use async_graphql::{Name, PathSegment, Response, ServerError, Value};

use crate::shape::{named, Shape};

/// Completes `response`, produced by executing `operation` of `document`.
pub(crate) fn complete(
    response: &mut Response,
    document: &ExecutableDocument,
    operation: Option<&str>,
    shape: &Shape,
) {
    let executed = response.errors.iter().any(|e| !e.path.is_empty());
    if executed && response.data == Value::Null {
        response.data = Value::Object(Default::default());
    }
    for error in &response.errors {
        if !error.path.is_empty() {
            set_null(&mut response.data, &error.path);
        }
    }
    let Some(selection) = selected_operation(document, operation) else { return };
    if response.data == Value::Null {
        return;
    }
    let mut walk = Walk {
        document,
        shape,
        error_paths: response.errors.iter().map(|e| e.path.clone()).collect(),
        unexplained: Vec::new(),
        path: Vec::new(),
    };
    // `data` is a nullable position: a violation below it ends here at the latest.
    walk.object(&mut response.data, "Query", &[selection]);
    for path in walk.unexplained {
        let mut error =
            ServerError::new("internal error: a non-null field was left without a value", None);
        error.path = path;
        let mut extensions = async_graphql::ErrorExtensionValues::default();
        extensions.set("code", "INTERNAL_SERVER_ERROR");
        error.extensions = Some(extensions);
        response.errors.push(error);
    }
}

fn selected_operation<'a>(
    document: &'a ExecutableDocument,
    operation: Option<&str>,
) -> Option<&'a SelectionSet> {
    match &document.operations {
        DocumentOperations::Single(op) => Some(&op.node.selection_set.node),
        DocumentOperations::Multiple(ops) => {
            let op = match operation {
                Some(name) => ops.get(&Name::new(name)),
                None if ops.len() == 1 => ops.values().next(),
                None => None,
            };
            op.map(|op| &op.node.selection_set.node)
        }
    }
}

/// Puts `null` at `path` (the key of a field that failed), where its parent exists.
fn set_null(node: &mut Value, path: &[PathSegment]) {
    match (path, node) {
        ([PathSegment::Field(name)], Value::Object(map)) => {
            map.entry(Name::new(name)).or_insert(Value::Null);
        }
        ([PathSegment::Field(name), rest @ ..], Value::Object(map)) => {
            if let Some(child) = map.get_mut(name.as_str()) {
                set_null(child, rest);
            }
        }
        ([PathSegment::Index(i), rest @ ..], Value::List(items)) => {
            if let Some(child) = items.get_mut(*i) {
                set_null(child, rest);
            }
        }
        _ => {}
    }
}

struct Walk<'a> {
    document: &'a ExecutableDocument,
    shape: &'a Shape,
    error_paths: Vec<Vec<PathSegment>>,
    /// Non-null positions that held `null` with no error at or below them.
    unexplained: Vec<Vec<PathSegment>>,
    path: Vec<PathSegment>,
}

impl Walk<'_> {
    /// Orders and completes the fields of an object of type `object`. Returns whether a
    /// non-null field ended up `null`, in which case the object itself must be `null`.
    fn object(&mut self, value: &mut Value, object: &str, sets: &[&SelectionSet]) -> bool {
        let Value::Object(map) = value else { return false };
        let mut fields: Vec<Collected<'_>> = Vec::new();
        let mut seen = HashSet::new();
        for set in sets {
            collect(set, self.document, &mut fields, &mut seen);
        }
        let mut ordered = async_graphql::indexmap::IndexMap::with_capacity(map.len());
        let mut violated = false;
        for field in &fields {
            let Some(mut child) = map.shift_remove(&field.key) else { continue };
            if let Some(ty) = self.shape.field(object, field.name.as_str()) {
                self.path.push(PathSegment::Field(field.key.to_string()));
                violated |= self.value(&mut child, ty, &field.sets);
                self.path.pop();
            }
            ordered.insert(field.key.clone(), child);
        }
        // Anything not found in the selection (there should be nothing) keeps its place.
        ordered.extend(std::mem::take(map));
        *map = ordered;
        if violated {
            *value = Value::Null;
        }
        violated
    }

    /// Completes a value of type `ty`. Returns whether it is `null` although `ty` is
    /// non-null (so the `null` moves up to the parent).
    fn value(&mut self, value: &mut Value, ty: &Type, sets: &[&SelectionSet]) -> bool {
        if *value == Value::Null {
            if !ty.nullable && !self.explained() {
                self.unexplained.push(self.path.clone());
            }
            return !ty.nullable;
        }
        let violated = match (&ty.base, &mut *value) {
            (BaseType::List(inner), Value::List(items)) => {
                let mut violated = false;
                for (i, item) in items.iter_mut().enumerate() {
                    self.path.push(PathSegment::Index(i));
                    violated |= self.value(item, inner, sets);
                    self.path.pop();
                }
                violated
            }
            (BaseType::Named(_), Value::Object(_)) => self.object(value, named(ty), sets),
            _ => false,
        };
        if violated {
            *value = Value::Null;
        }
        violated && !ty.nullable
    }

    /// Whether an error's path is at or below the current position.
    fn explained(&self) -> bool {
        self.error_paths.iter().any(|p| p.starts_with(&self.path))
    }
}

/// One response key of a selection: the field's name and every sub-selection merged
/// under that key.
struct Collected<'a> {
    key: Name,
    name: Name,
    sets: Vec<&'a SelectionSet>,
}

/// The response keys of a selection set in order, expanding fragments in place.
fn collect<'a>(
    set: &'a SelectionSet,
    document: &'a ExecutableDocument,
    fields: &mut Vec<Collected<'a>>,
    seen_fragments: &mut HashSet<Name>,
) {
    for selection in &set.items {
        match &selection.node {
            Selection::Field(field) => {
                let key = field.node.response_key().node.clone();
                let sub = &field.node.selection_set.node;
                match fields.iter_mut().find(|f| f.key == key) {
                    Some(existing) => existing.sets.push(sub),
                    None => fields.push(Collected {
                        key,
                        name: field.node.name.node.clone(),
                        sets: vec![sub],
                    }),
                }
            }
            Selection::InlineFragment(fragment) => {
                collect(&fragment.node.selection_set.node, document, fields, seen_fragments);
            }
            Selection::FragmentSpread(spread) => {
                let name = &spread.node.fragment_name.node;
                if seen_fragments.insert(name.clone()) {
                    if let Some(fragment) = document.fragments.get(name) {
                        collect(
                            &fragment.node.selection_set.node,
                            document,
                            fields,
                            seen_fragments,
                        );
                    }
                }
            }
        }
    }
}
