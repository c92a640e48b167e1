//! [`ResponseChecker`]: whether a GraphQL response keeps the promises its schema makes,
//! judged independently of the server's own code (apollo-compiler reads the SDL and the
//! query; nothing of idr-graphql is used).
//!
//! It reports:
//! - a `null` where the schema says non-null (a field, or an item of a list);
//! - a selected field missing from its object (unless a `@skip`/`@include` may have left
//!   it out);
//! - an error without a string `extensions.code`.
//!
//! [`wrong_values`] compares a response with the fault-free answer to the same query.

use apollo_compiler::executable::{Selection, SelectionSet};
use apollo_compiler::validation::Valid;
use apollo_compiler::{ExecutableDocument, Schema};
use serde_json::Value;

/// Checks responses against one schema.
pub struct ResponseChecker {
    schema: Valid<Schema>,
}

impl ResponseChecker {
    /// Panics if the SDL is not a valid schema (a test cannot go on then).
    pub fn new(sdl: &str) -> ResponseChecker {
        let schema = Schema::parse_and_validate(sdl, "schema.graphql")
            .unwrap_or_else(|e| panic!("the SDL is not a valid schema: {e}"));
        ResponseChecker { schema }
    }

    /// The broken promises of `response` to `query` (empty when there are none). A query
    /// that does not validate can only be answered with `data: null`.
    pub fn violations(
        &self,
        query: &str,
        operation: Option<&str>,
        response: &Value,
    ) -> Vec<String> {
        let mut out = Vec::new();
        match response.get("errors") {
            None => {}
            Some(Value::Array(errors)) => {
                for (i, error) in errors.iter().enumerate() {
                    if !error["extensions"]["code"].is_string() {
                        out.push(format!("errors[{i}] has no extensions.code: {error}"));
                    }
                    if !error["message"].is_string() {
                        out.push(format!("errors[{i}] has no message: {error}"));
                    }
                }
            }
            Some(other) => out.push(format!("`errors` is not a list: {other}")),
        }
        let data = response.get("data").unwrap_or(&Value::Null);
        let Ok(document) =
            ExecutableDocument::parse_and_validate(&self.schema, query, "query.graphql")
        else {
            if !data.is_null() {
                out.push(format!("an invalid query was answered with data: {data}"));
            }
            return out;
        };
        let Ok(operation) = document.operations.get(operation) else {
            if !data.is_null() {
                out.push(
                    "a request without a runnable operation was answered with data".to_owned(),
                );
            }
            return out;
        };
        if !data.is_null() {
            Walk { document: &document, out: &mut out }.object(
                data,
                &operation.selection_set,
                "data",
                false,
            );
        }
        out
    }
}

struct Walk<'a> {
    document: &'a ExecutableDocument,
    out: &'a mut Vec<String>,
}

impl Walk<'_> {
    /// `conditional`: some enclosing fragment may be skipped, so keys may be missing.
    fn object(&mut self, value: &Value, set: &SelectionSet, path: &str, conditional: bool) {
        let Value::Object(map) = value else {
            self.out.push(format!("{path}: expected an object, found {value}"));
            return;
        };
        for selection in &set.selections {
            match selection {
                Selection::Field(field) => {
                    let key = field.response_key().as_str();
                    let may_be_missing = conditional || has_condition(&field.directives);
                    let child_path = format!("{path}.{key}");
                    match map.get(key) {
                        None if !may_be_missing => self.out.push(format!("{child_path}: missing")),
                        None => {}
                        Some(child) => self.value(
                            child,
                            &field.definition.ty,
                            &field.selection_set,
                            &child_path,
                        ),
                    }
                }
                Selection::InlineFragment(fragment) => {
                    let conditional = conditional || has_condition(&fragment.directives);
                    self.object(value, &fragment.selection_set, path, conditional);
                }
                Selection::FragmentSpread(spread) => {
                    if let Some(fragment) = self.document.fragments.get(&spread.fragment_name) {
                        let conditional = conditional || has_condition(&spread.directives);
                        self.object(value, &fragment.selection_set, path, conditional);
                    }
                }
            }
        }
    }

    fn value(
        &mut self,
        value: &Value,
        ty: &apollo_compiler::ast::Type,
        set: &SelectionSet,
        path: &str,
    ) {
        if value.is_null() {
            if ty.is_non_null() {
                self.out.push(format!("{path}: null, but the schema says {ty}"));
            }
            return;
        }
        if ty.is_list() {
            let Value::Array(items) = value else {
                self.out.push(format!("{path}: expected a list, found {value}"));
                return;
            };
            for (i, item) in items.iter().enumerate() {
                self.value(item, ty.item_type(), set, &format!("{path}[{i}]"));
            }
        } else if !set.selections.is_empty() {
            self.object(value, set, path, false);
        }
    }
}

fn has_condition(directives: &apollo_compiler::executable::DirectiveList) -> bool {
    directives.get("skip").is_some() || directives.get("include").is_some()
}

/// Where `response` disagrees with `truth`, the fault-free answer to the same query: a
/// value that differs, a list of another length, a key the truth does not have, or a
/// `null` that no error explains. An error explains a `null` when its path is at or below
/// the `null`'s position; a summary error (`extensions.omitted`) may explain any `null`,
/// since it stands for errors left out of the response.
pub fn wrong_values(truth: &Value, response: &Value) -> Vec<String> {
    let listed = response["errors"].as_array().cloned().unwrap_or_default();
    let summarised = listed.iter().any(|e| e["extensions"]["omitted"].as_u64() > Some(0));
    let paths: Vec<Vec<Value>> =
        listed.iter().map(|e| e["path"].as_array().cloned().unwrap_or_default()).collect();
    let mut out = Vec::new();
    compare(&truth["data"], &response["data"], &paths, summarised, &mut Vec::new(), &mut out);
    out
}

fn compare(
    truth: &Value,
    got: &Value,
    errors: &[Vec<Value>],
    summarised: bool,
    path: &mut Vec<Value>,
    out: &mut Vec<String>,
) {
    match (truth, got) {
        (_, Value::Null) if !truth.is_null() => {
            if !summarised && !errors.iter().any(|e| e.starts_with(path)) {
                out.push(format!("{path:?}: null with no error"));
            }
        }
        (Value::Object(t), Value::Object(g)) => {
            for (key, value) in g {
                path.push(Value::String(key.clone()));
                match t.get(key) {
                    Some(truth) => compare(truth, value, errors, summarised, path, out),
                    None => out.push(format!("{path:?}: not in the fault-free answer")),
                }
                path.pop();
            }
        }
        (Value::Array(t), Value::Array(g)) if t.len() == g.len() => {
            for (i, (truth, value)) in t.iter().zip(g).enumerate() {
                path.push(Value::from(i));
                compare(truth, value, errors, summarised, path, out);
                path.pop();
            }
        }
        _ if truth == got => {}
        _ => out.push(format!("{path:?}: {got} instead of {truth}")),
    }
}
