//! A request's variables against the types its operation declares for them (the spec's
//! CoerceVariableValues), checked before anything runs. A required variable left out, or
//! a value its type does not allow, refuses the request with `BAD_USER_INPUT` that names
//! the variable and where in its value the problem is. Left to execution, a variable left
//! out reached the argument checks as an empty value (`` is not an IDR id), and an input
//! object of the wrong shape failed its field as an internal error.

use std::collections::HashSet;

use async_graphql::parser::types::{BaseType, Field, Type};
use async_graphql::registry::{MetaField, MetaType, Registry};
use async_graphql::{Name, Positioned, ServerError, Value, Variables};
use async_graphql_value::Value as Literal;

use crate::error::bad_input;
use crate::operation::Operation;

/// Every variable of the operation that runs whose value its declared type refuses.
pub(crate) fn check_variables(registry: &Registry, operation: &Operation) -> Vec<ServerError> {
    let mut errors = Vec::new();
    for definition in operation.variable_definitions() {
        let name = &definition.node.name.node;
        let ty = &definition.node.var_type.node;
        // A type the schema does not have is validation's to refuse.
        if !registry.types.contains_key(crate::shape::named(ty)) {
            continue;
        }
        let problem = match operation.variables.get(name) {
            // Defaults are applied already: absent means left out with none.
            None if !ty.nullable => Some(format!("of required type `{ty}` was not provided")),
            None => None,
            Some(value) => {
                refused(registry, ty, value, &format!("${name}")).map(|p| format!("got {p}"))
            }
        };
        if let Some(problem) = problem {
            errors.push(
                bad_input(format!("variable `${name}` {problem}"))
                    .into_server_error(definition.pos),
            );
        }
    }
    errors
}

/// Every argument (or input field) that needs a value and is given a variable that is
/// null or left out. async-graphql's validation lets a variable declared nullable stand
/// where a value is required; execution then failed the field as an internal error.
pub(crate) fn check_positions(registry: &Registry, operation: &Operation) -> Vec<ServerError> {
    // Queries only (the schema has nothing else; validation refuses the others).
    if operation.query_selection().is_none() {
        return Vec::new();
    }
    let mut positions = Positions {
        registry,
        variables: &operation.variables,
        declared: operation.variable_definitions().map(|d| d.node.name.node.clone()).collect(),
        errors: Vec::new(),
    };
    let child = |parent: &str, field: &Field| {
        let meta = object_field(registry, parent, field)?;
        Type::new(&meta.ty).map(|ty| crate::shape::named(&ty).to_owned())
    };
    operation.visit_fields(&registry.query_type, &child, &mut |parent, field| {
        positions.field(parent, field);
    });
    positions.errors
}

/// The schema's field `field` of the object type `parent`.
fn object_field<'r>(registry: &'r Registry, parent: &str, field: &Field) -> Option<&'r MetaField> {
    let Some(MetaType::Object { fields, .. }) = registry.types.get(parent) else { return None };
    fields.get(field.name.node.as_str())
}

struct Positions<'a> {
    registry: &'a Registry,
    variables: &'a Variables,
    /// The variables the operation declares.
    declared: HashSet<Name>,
    errors: Vec<ServerError>,
}

impl Positions<'_> {
    /// The field's arguments that need a value.
    fn field(&mut self, parent: &str, field: &Positioned<Field>) {
        let Some(meta) = object_field(self.registry, parent, &field.node) else { return };
        for (name, value) in &field.node.arguments {
            let Some(arg) = meta.args.get(name.node.as_str()) else { continue };
            let Some(ty) = Type::new(&arg.ty) else { continue };
            let at = format!("{}({}:)", field.node.name.node, name.node);
            if arg.default_value.is_none() {
                self.value(&ty, &value.node, &at, value.pos);
            }
        }
    }

    /// `value` (a literal, possibly holding variables) at a position of type `ty`.
    fn value(&mut self, ty: &Type, value: &Literal, at: &str, pos: async_graphql::Pos) {
        match value {
            Literal::Variable(name) => {
                let given = self.variables.get(name).filter(|v| !matches!(v, Value::Null));
                // An undeclared variable is validation's to refuse.
                if !ty.nullable && given.is_none() && self.declared.contains(name) {
                    let message = format!(
                        "variable `${name}` is null or not provided, but `{at}` needs a `{ty}`"
                    );
                    self.errors.push(bad_input(message).into_server_error(pos));
                }
            }
            Literal::List(items) => {
                let inner = match &ty.base {
                    BaseType::List(inner) => inner.as_ref(),
                    BaseType::Named(_) => ty,
                };
                for item in items {
                    self.value(inner, item, at, pos);
                }
            }
            Literal::Object(fields) => {
                let name = crate::shape::named(ty);
                let Some(MetaType::InputObject { input_fields, .. }) =
                    self.registry.types.get(name)
                else {
                    return;
                };
                for (key, value) in fields {
                    let Some(field) = input_fields.get(key.as_str()) else { continue };
                    let Some(ty) = Type::new(&field.ty) else { continue };
                    if field.default_value.is_none() {
                        self.value(&ty, value, &format!("{at}.{key}"), pos);
                    }
                }
            }
            _ => {}
        }
    }
}

/// Why `value`, at `path`, is not a value of `ty`; `None` when it is.
fn refused(registry: &Registry, ty: &Type, value: &Value, path: &str) -> Option<String> {
    if matches!(value, Value::Null) {
        return (!ty.nullable).then(|| format!("null at `{path}`, where `{ty}` needs a value"));
    }
    match &ty.base {
        BaseType::List(inner) => match value {
            Value::List(items) => items
                .iter()
                .enumerate()
                .find_map(|(i, item)| refused(registry, inner, item, &format!("{path}[{i}]"))),
            // One value stands for a list of one.
            _ => refused(registry, inner, value, path),
        },
        BaseType::Named(name) => named(registry, name, value, path),
    }
}

/// Why `value`, at `path`, is not a (non-null) value of the named type `name`.
fn named(registry: &Registry, name: &str, value: &Value, path: &str) -> Option<String> {
    let wrong = || Some(format!("{} at `{path}`, where `{name}` is expected", kind(value)));
    // The built-in scalars as async-graphql parses them (its `is_valid` for `Int` takes
    // any integer, and the parse then refuses one past 32 bits).
    let int = |v: &Value| matches!(v, Value::Number(n) if n.as_i64().is_some());
    let builtin = match name {
        "Int" => Some(
            matches!(value, Value::Number(n) if n.as_i64().and_then(|n| i32::try_from(n).ok()).is_some()),
        ),
        "Float" => Some(matches!(value, Value::Number(_))),
        "String" => Some(matches!(value, Value::String(_))),
        "Boolean" => Some(matches!(value, Value::Boolean(_))),
        "ID" => Some(matches!(value, Value::String(_)) || int(value)),
        _ => None,
    };
    if let Some(ok) = builtin {
        return if ok { None } else { wrong() };
    }
    match registry.types.get(name)? {
        MetaType::Scalar { is_valid: Some(is_valid), .. } => {
            if is_valid(value) {
                None
            } else {
                wrong()
            }
        }
        MetaType::Scalar { is_valid: None, .. } => None,
        MetaType::Enum { enum_values, .. } => match value {
            Value::Enum(v) if enum_values.contains_key(v.as_str()) => None,
            Value::String(v) if enum_values.contains_key(v.as_str()) => None,
            Value::Enum(_) | Value::String(_) => {
                let allowed: Vec<&str> = enum_values.keys().map(String::as_str).collect();
                Some(format!(
                    "{} at `{path}`, which is not one of `{name}`'s values ({})",
                    kind(value),
                    allowed.join(", ")
                ))
            }
            _ => wrong(),
        },
        MetaType::InputObject { input_fields, oneof, .. } => {
            let Value::Object(fields) = value else { return wrong() };
            if let Some(unknown) = fields.keys().find(|k| !input_fields.contains_key(k.as_str())) {
                return Some(format!(
                    "a field `{unknown}` at `{path}`, which `{name}` does not have"
                ));
            }
            if *oneof && (fields.len() != 1 || fields.values().any(|v| matches!(v, Value::Null))) {
                return Some(format!(
                    "{} at `{path}`, where `{name}` takes exactly one field, not null",
                    kind(value)
                ));
            }
            input_fields.values().find_map(|field| {
                let ty = Type::new(&field.ty)?;
                let at = format!("{path}.{}", field.name);
                match fields.get(field.name.as_str()) {
                    Some(value) => refused(registry, &ty, value, &at),
                    None if !ty.nullable && field.default_value.is_none() => {
                        Some(format!("no `{}` at `{path}`, which `{name}` requires", field.name))
                    }
                    None => None,
                }
            })
        }
        // Output types never reach here (validation refuses them as variable types).
        _ => None,
    }
}

/// What a value is, for a message: its kind and, when short, itself.
fn kind(value: &Value) -> String {
    let text = value.to_string();
    let shown = |what: &str| {
        if text.chars().count() <= 40 {
            format!("{what} {text}")
        } else {
            what.to_owned()
        }
    };
    match value {
        Value::Null => "null".to_owned(),
        Value::Number(_) => shown("the number"),
        Value::String(_) => shown("the string"),
        Value::Boolean(_) => shown("the boolean"),
        Value::Enum(_) => shown("the name"),
        Value::List(_) => shown("a list"),
        Value::Object(_) => shown("an object"),
        Value::Binary(_) => "bytes".to_owned(),
    }
}
