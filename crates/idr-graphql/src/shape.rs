//! The schema's shape as data: for each object type, its fields' output types. Read once
//! from the schema's own SDL, so it can never disagree with what the resolvers declare.
//!
//! The schema has object types only (no interfaces or unions), so the type of every
//! position in a response follows from its parent's type and the field's name.

use std::collections::HashMap;

use async_graphql::parser::types::{BaseType, Type, TypeKind, TypeSystemDefinition};

/// Field output types by object type, then field name.
#[derive(Debug, Default)]
pub(crate) struct Shape {
    fields: HashMap<String, HashMap<String, Type>>,
}

impl Shape {
    /// Reads the object types of an SDL text. A text that does not parse gives an empty
    /// shape, under which nothing is checked (the schema's own SDL always parses; a test
    /// says so).
    pub(crate) fn from_sdl(sdl: &str) -> Shape {
        let mut fields = HashMap::new();
        let Ok(document) = async_graphql::parser::parse_schema(sdl) else {
            return Shape::default();
        };
        for definition in document.definitions {
            let TypeSystemDefinition::Type(ty) = definition else { continue };
            let TypeKind::Object(object) = &ty.node.kind else { continue };
            let of_type: &mut HashMap<String, Type> =
                fields.entry(ty.node.name.node.to_string()).or_default();
            for field in &object.fields {
                of_type.insert(field.node.name.node.to_string(), field.node.ty.node.clone());
            }
        }
        Shape { fields }
    }

    /// The declared type of `field` on `object`; `None` for introspection fields and
    /// anything else the SDL does not list.
    pub(crate) fn field(&self, object: &str, field: &str) -> Option<&Type> {
        self.fields.get(object)?.get(field)
    }
}

/// The named type at the bottom of a (possibly list) type.
pub(crate) fn named(ty: &Type) -> &str {
    match &ty.base {
        BaseType::Named(name) => name.as_str(),
        BaseType::List(inner) => named(inner),
    }
}
