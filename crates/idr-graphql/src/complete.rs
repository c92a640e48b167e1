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

use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use async_graphql::parser::types::{BaseType, ExecutableDocument, Selection, SelectionSet, Type};
use async_graphql::{Name, PathSegment, Response, ServerError, Value, Variables};

use crate::operation::Operation;
use crate::shape::{named, Shape};

/// Completes `response`, produced by executing `operation`.
pub(crate) fn complete(response: &mut Response, operation: &Operation, shape: &Shape) {
    // A query that ran (a field failed, or nothing failed: every root field may have been
    // skipped) answers an object, however empty.
    let executed = response.errors.is_empty() || response.errors.iter().any(|e| !e.path.is_empty());
    if executed && response.data == Value::Null {
        response.data = Value::Object(Default::default());
    }
    let failed: HashSet<String> = response.errors.iter().map(|e| path_key(&e.path)).collect();
    for error in &response.errors {
        if !error.path.is_empty() {
            set_null(&mut response.data, &error.path, 0, &failed);
        }
    }
    let Some(selection) = operation.selection() else { return };
    if response.data == Value::Null {
        return;
    }
    let mut walk = Walk {
        document: &operation.document,
        variables: &operation.variables,
        shape,
        error_paths: response.errors.iter().map(|e| e.path.clone()).collect(),
        unexplained: Vec::new(),
        path: Vec::new(),
        memo: HashMap::new(),
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

/// Puts `null` at `path` (the key of a field that failed), where its parent exists;
/// `path[..at]` leads to `node`.
///
/// async-graphql turns an object whose every selected field failed into `null`. An error
/// below a position proves that the position was resolved as an object (its child's
/// resolver ran), so such a `null` on the way down is made an object again, holding the
/// failed fields' nulls, unless that position has an error of its own (`failed`).
fn set_null(node: &mut Value, path: &[PathSegment], at: usize, failed: &HashSet<String>) {
    let rest = &path[at..];
    if rest.first().is_some_and(|s| matches!(s, PathSegment::Field(_)))
        && *node == Value::Null
        && !failed.contains(&path_key(&path[..at]))
    {
        *node = Value::Object(Default::default());
    }
    match (rest, node) {
        ([PathSegment::Field(name)], Value::Object(map)) => {
            map.entry(Name::new(name)).or_insert(Value::Null);
        }
        ([PathSegment::Field(name), _, ..], Value::Object(map)) => {
            if let Some(child) = map.get_mut(name.as_str()) {
                set_null(child, path, at + 1, failed);
            }
        }
        ([PathSegment::Index(i), _, ..], Value::List(items)) => {
            if let Some(child) = items.get_mut(*i) {
                set_null(child, path, at + 1, failed);
            }
        }
        _ => {}
    }
}

/// A path as a set key (`PathSegment` has no `Hash`).
fn path_key(path: &[PathSegment]) -> String {
    let mut key = String::new();
    for segment in path {
        match segment {
            PathSegment::Field(name) => key.push_str(name),
            PathSegment::Index(i) => key.push_str(&i.to_string()),
        }
        key.push('\u{0}');
    }
    key
}

struct Walk<'a> {
    document: &'a ExecutableDocument,
    variables: &'a Variables,
    shape: &'a Shape,
    error_paths: Vec<Vec<PathSegment>>,
    /// Non-null positions that held `null` with no error at or below them.
    unexplained: Vec<Vec<PathSegment>>,
    path: Vec<Step>,
    /// The response keys of each selection walked, by the address and length of its
    /// list of selection sets. Every item of a list shares its field's selection, so a
    /// plate's 384 wells expand their selection once, not 384 times. The sets' lists
    /// live in the memo (or, for the root, on the stack of `complete`) for the whole walk,
    /// so an address is never reused for another selection.
    memo: HashMap<(usize, usize), Rc<[Collected<'a>]>>,
}

/// One step of the path to the current position, as cheap to push as a clone of a
/// `Name`; turned into a `PathSegment` only for an error.
#[derive(Clone)]
enum Step {
    Field(Name),
    Index(usize),
}

impl Step {
    fn is(&self, segment: &PathSegment) -> bool {
        match (self, segment) {
            (Step::Field(a), PathSegment::Field(b)) => a.as_str() == b,
            (Step::Index(a), PathSegment::Index(b)) => a == b,
            _ => false,
        }
    }

    fn segment(&self) -> PathSegment {
        match self {
            Step::Field(name) => PathSegment::Field(name.to_string()),
            Step::Index(i) => PathSegment::Index(*i),
        }
    }
}

impl<'a> Walk<'a> {
    /// The response keys that `sets` (a selection of an object of type `object`) select,
    /// in order, each with its type.
    fn fields(&mut self, object: &str, sets: &[&'a SelectionSet]) -> Rc<[Collected<'a>]> {
        let key = (sets.as_ptr() as usize, sets.len());
        if let Some(fields) = self.memo.get(&key) {
            return fields.clone();
        }
        let mut fields: Vec<Collected<'a>> = Vec::new();
        let mut seen = HashSet::new();
        for set in sets {
            collect(set, self.document, &mut fields, &mut seen);
        }
        for field in &mut fields {
            field.ty = self.shape.field(object, field.name.as_str()).cloned();
        }
        let fields: Rc<[Collected<'a>]> = fields.into();
        self.memo.insert(key, fields.clone());
        fields
    }

    /// Orders and completes the fields of an object of type `object`. Returns whether a
    /// non-null field ended up `null`, in which case the object itself must be `null`.
    fn object(&mut self, value: &mut Value, object: &str, sets: &[&'a SelectionSet]) -> bool {
        let Value::Object(map) = value else { return false };
        let fields = self.fields(object, sets);
        if !in_selection_order(map, &fields) {
            let mut ordered = async_graphql::indexmap::IndexMap::with_capacity(map.len());
            for field in fields.iter() {
                if let Some(child) = map.swap_remove(&field.key) {
                    ordered.insert(field.key.clone(), child);
                }
            }
            // Anything not found in the selection (there should be nothing) goes last.
            ordered.extend(std::mem::take(map));
            *map = ordered;
        }
        // The map now holds the selected keys present, in selection order.
        let mut violated = false;
        let mut at = 0;
        for field in fields.iter() {
            let Some((key, child)) = map.get_index_mut(at) else { break };
            if *key != field.key {
                continue;
            }
            at += 1;
            if let Some(ty) = &field.ty {
                self.path.push(Step::Field(field.key.clone()));
                violated |= self.value(child, ty, &field.sets);
                self.path.pop();
            }
        }
        if violated {
            *value = Value::Null;
        }
        violated
    }

    /// Completes a value of type `ty`. Returns whether it is `null` although `ty` is
    /// non-null (so the `null` moves up to the parent).
    fn value(&mut self, value: &mut Value, ty: &Type, sets: &[&'a SelectionSet]) -> bool {
        if *value == Value::Null {
            let object = matches!(ty.base, BaseType::Named(_));
            if !ty.nullable && object && !self.explained() && self.selects_nothing(sets) {
                // async-graphql makes an object whose every field was skipped (`@skip`,
                // `@include`) `null`; the spec's answer is an empty object.
                *value = Value::Object(Default::default());
                return false;
            }
            if !ty.nullable && !self.explained() {
                self.unexplained.push(self.path.iter().map(Step::segment).collect());
            }
            return !ty.nullable;
        }
        let violated = match (&ty.base, &mut *value) {
            (BaseType::List(inner), Value::List(items)) => {
                let mut violated = false;
                for (i, item) in items.iter_mut().enumerate() {
                    self.path.push(Step::Index(i));
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

    /// Whether `sets` (an object's selection) select no field once `@skip` and `@include`
    /// are applied. Lists and scalars have no selection, so this is false for them.
    fn selects_nothing(&self, sets: &[&SelectionSet]) -> bool {
        fn any_field(
            set: &SelectionSet,
            document: &ExecutableDocument,
            variables: &Variables,
            seen: &mut HashSet<Name>,
        ) -> bool {
            set.items.iter().any(|selection| {
                if crate::operation::skipped(selection.node.directives(), variables) {
                    return false;
                }
                match &selection.node {
                    Selection::Field(_) => true,
                    Selection::InlineFragment(f) => {
                        any_field(&f.node.selection_set.node, document, variables, seen)
                    }
                    Selection::FragmentSpread(spread) => {
                        let name = &spread.node.fragment_name.node;
                        seen.insert(name.clone())
                            && document.fragments.get(name).is_some_and(|f| {
                                any_field(&f.node.selection_set.node, document, variables, seen)
                            })
                    }
                }
            })
        }
        let mut seen = HashSet::new();
        !sets.is_empty()
            && sets.iter().all(|set| !set.items.is_empty())
            && !sets.iter().any(|set| any_field(set, self.document, self.variables, &mut seen))
    }

    /// Whether an error's path is at or below the current position.
    fn explained(&self) -> bool {
        self.error_paths.iter().any(|p| {
            p.len() >= self.path.len() && self.path.iter().zip(p).all(|(step, s)| step.is(s))
        })
    }
}

/// One response key of a selection: the field's name and every sub-selection merged
/// under that key.
struct Collected<'a> {
    key: Name,
    name: Name,
    sets: Vec<&'a SelectionSet>,
    /// The field's type, from the schema's shape (`None` for `__typename` and the like).
    ty: Option<Type>,
}

/// Whether the keys of `map` are those of `fields` it holds, in the same order.
fn in_selection_order(
    map: &async_graphql::indexmap::IndexMap<Name, Value>,
    fields: &[Collected<'_>],
) -> bool {
    let mut at = 0;
    for field in fields {
        if map.get_index(at).is_some_and(|(key, _)| *key == field.key) {
            at += 1;
        } else if map.contains_key(&field.key) {
            return false;
        }
    }
    at == map.len()
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
                        ty: None,
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

#[cfg(test)]
mod tests {
    use async_graphql::{PathSegment, Response, ServerError, Value};
    use serde_json::json;

    use super::complete;
    use crate::operation::Operation;
    use crate::shape::Shape;

    const SDL: &str = "
        type Query { a: A  b: B!  list: [A!]  items: [A]! }
        type A { x: Int!  y: Int  b: B! }
        type B { z: Int! }
    ";

    /// Completes `data` with errors at `error_paths` (dotted, with numbers as indices) for
    /// `query`, and gives the data and the error paths back as JSON.
    fn check(query: &str, data: serde_json::Value, error_paths: &[&str]) -> serde_json::Value {
        let errors = error_paths
            .iter()
            .map(|p| {
                let mut error = ServerError::new("failed", None);
                error.path = p
                    .split('.')
                    .map(|s| match s.parse() {
                        Ok(i) => PathSegment::Index(i),
                        Err(_) => PathSegment::Field(s.to_owned()),
                    })
                    .collect();
                error
            })
            .collect();
        let mut response = Response::from_errors(errors);
        response.data = Value::from_json(data).unwrap();
        let operation = Operation {
            document: async_graphql::parser::parse_query(query).unwrap().into(),
            name: None,
            variables: Default::default(),
        };
        complete(&mut response, &operation, &Shape::from_sdl(SDL));
        let paths: Vec<String> = response
            .errors
            .iter()
            .map(|e| {
                let path: Vec<String> = e
                    .path
                    .iter()
                    .map(|s| match s {
                        PathSegment::Field(name) => name.clone(),
                        PathSegment::Index(i) => i.to_string(),
                    })
                    .collect();
                format!("{} {}", path.join("."), e.message)
            })
            .collect();
        json!({"data": response.data.into_json().unwrap(), "errors": paths})
    }

    #[test]
    fn a_failed_nullable_field_is_null_in_place() {
        assert_eq!(
            check("{ a { x y } }", json!({"a": {"x": 1}}), &["a.y"]),
            json!({"data": {"a": {"x": 1, "y": null}}, "errors": ["a.y failed"]})
        );
    }

    #[test]
    fn a_failed_non_null_field_nulls_its_nearest_nullable_ancestor() {
        assert_eq!(
            check("{ a { x y } }", json!({"a": {"y": 2}}), &["a.x"]),
            json!({"data": {"a": null}, "errors": ["a.x failed"]})
        );
        // Through a non-null object: a.b.z fails, b is non-null, so a is null.
        assert_eq!(
            check("{ a { y b { z } } }", json!({"a": {"y": 2, "b": {}}}), &["a.b.z"]),
            json!({"data": {"a": null}, "errors": ["a.b.z failed"]})
        );
        // Up to data itself when every ancestor is non-null.
        assert_eq!(
            check("{ b { z } a { y } }", json!({"b": {}, "a": {"y": 1}}), &["b.z"]),
            json!({"data": null, "errors": ["b.z failed"]})
        );
    }

    #[test]
    fn a_null_item_of_a_non_null_list_nulls_the_list() {
        assert_eq!(
            check("{ list { x } }", json!({"list": [{"x": 1}, {}, {"x": 3}]}), &["list.1.x"]),
            json!({"data": {"list": null}, "errors": ["list.1.x failed"]})
        );
        // A nullable item takes the null itself; the non-null list is kept.
        assert_eq!(
            check("{ items { x } }", json!({"items": [{"x": 1}, {}]}), &["items.1.x"]),
            json!({"data": {"items": [{"x": 1}, null]}, "errors": ["items.1.x failed"]})
        );
    }

    #[test]
    fn an_object_whose_every_field_failed_is_still_an_object() {
        // async-graphql makes such an object null; its failed fields are nullable here.
        assert_eq!(
            check("{ items { y } }", json!({"items": [null, {"y": 2}]}), &["items.0.y"]),
            json!({"data": {"items": [{"y": null}, {"y": 2}]}, "errors": ["items.0.y failed"]})
        );
    }

    #[test]
    fn an_unexplained_null_at_a_non_null_position_becomes_an_error() {
        assert_eq!(
            check("{ a { x y } }", json!({"a": {"x": null, "y": 1}}), &[]),
            json!({"data": {"a": null}, "errors": [
                "a.x internal error: a non-null field was left without a value"
            ]})
        );
    }

    #[test]
    fn a_failed_parent_stays_null_whatever_failed_below_it() {
        // Both the object and its child have errors (deadlines fire at both levels).
        assert_eq!(
            check("{ items { y } }", json!({"items": [null]}), &["items.0", "items.0.y"]),
            json!({"data": {"items": [null]}, "errors": ["items.0 failed", "items.0.y failed"]})
        );
        // A failed non-null object propagates rather than becoming {}.
        assert_eq!(
            check("{ a { b { z @skip(if: true) } } }", json!({"a": {"b": null}}), &["a.b"]),
            json!({"data": {"a": null}, "errors": ["a.b failed"]})
        );
    }

    #[test]
    fn an_object_with_every_field_skipped_is_empty_not_null() {
        assert_eq!(
            check("{ list { x @skip(if: true) } }", json!({"list": [null]}), &[]),
            json!({"data": {"list": [{}]}, "errors": []})
        );
    }

    #[test]
    fn fields_follow_the_selection_order_through_aliases_and_fragments() {
        let data = check(
            "{ second: a { ...F x } first: a { x } } fragment F on A { y }",
            json!({"first": {"x": 1}, "second": {"x": 2, "y": 3}}),
            &[],
        );
        assert_eq!(
            data.to_string(),
            r#"{"data":{"second":{"y":3,"x":2},"first":{"x":1}},"errors":[]}"#
        );
    }
}
