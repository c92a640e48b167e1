//! The operation a request runs, parsed once and shared by the argument rules and the
//! completion of the response.

/// The operation being executed: the document (parsed once, in `execute`), the name of
/// the operation selected in it, and the variables. The argument rules and the response's
/// completion both walk it.
pub(crate) struct Operation {
    pub(crate) document: std::sync::Arc<async_graphql::parser::types::ExecutableDocument>,
    pub(crate) name: Option<String>,
    pub(crate) variables: async_graphql::Variables,
}

impl Operation {
    /// The operation of the document that runs.
    fn definition(&self) -> Option<&async_graphql::parser::types::OperationDefinition> {
        use async_graphql::parser::types::DocumentOperations;
        match &self.document.operations {
            DocumentOperations::Single(op) => Some(&op.node),
            DocumentOperations::Multiple(ops) => match &self.name {
                Some(name) => ops.get(&async_graphql::Name::new(name)),
                None if ops.len() == 1 => ops.values().next(),
                None => None,
            }
            .map(|op| &op.node),
        }
    }

    /// The name of the operation that runs: the one the request chose, or the name of
    /// its document's only operation (`None` for an anonymous one).
    pub(crate) fn label(&self) -> Option<String> {
        use async_graphql::parser::types::DocumentOperations;
        if self.name.is_some() {
            // Only a name the document has: the request's `operationName` is any string
            // until then, and this one goes to logs.
            return self.definition().and(self.name.clone());
        }
        match &self.document.operations {
            DocumentOperations::Multiple(ops) if ops.len() == 1 => {
                ops.keys().next().map(|name| name.to_string())
            }
            _ => None,
        }
    }

    /// The variables the operation that runs declares.
    pub(crate) fn variable_definitions(
        &self,
    ) -> impl Iterator<Item = &async_graphql::Positioned<async_graphql::parser::types::VariableDefinition>>
    {
        self.definition().into_iter().flat_map(|op| op.variable_definitions.iter())
    }

    /// Calls `visit(parent type, field)` for every field the operation runs, in document
    /// order: through fragments (each once per parent type, so cycles end), leaving out
    /// what `@skip` and `@include` leave out. `child` names a field's type (`None`: its
    /// selection is not walked). The schema has no interfaces or unions, so a fragment's
    /// fields have its parent's type.
    pub(crate) fn visit_fields<'a>(
        &'a self,
        root: &str,
        child: &dyn Fn(&str, &async_graphql::parser::types::Field) -> Option<String>,
        visit: &mut dyn FnMut(
            &str,
            &'a async_graphql::Positioned<async_graphql::parser::types::Field>,
        ),
    ) {
        use async_graphql::parser::types::{Selection, SelectionSet};
        struct Walk<'a, 'b> {
            operation: &'a Operation,
            child: &'b dyn Fn(&str, &async_graphql::parser::types::Field) -> Option<String>,
            visit: &'b mut dyn FnMut(
                &str,
                &'a async_graphql::Positioned<async_graphql::parser::types::Field>,
            ),
            seen: std::collections::HashSet<(String, async_graphql::Name)>,
        }
        impl<'a> Walk<'a, '_> {
            fn set(&mut self, parent: &str, set: &'a SelectionSet) {
                for selection in &set.items {
                    if skipped(selection.node.directives(), &self.operation.variables) {
                        continue;
                    }
                    match &selection.node {
                        Selection::Field(field) => {
                            (self.visit)(parent, field);
                            if let Some(child) = (self.child)(parent, &field.node) {
                                self.set(&child, &field.node.selection_set.node);
                            }
                        }
                        Selection::InlineFragment(fragment) => {
                            self.set(parent, &fragment.node.selection_set.node);
                        }
                        Selection::FragmentSpread(spread) => {
                            let name = &spread.node.fragment_name.node;
                            if !self.seen.insert((parent.to_owned(), name.clone())) {
                                continue;
                            }
                            if let Some(fragment) = self.operation.document.fragments.get(name) {
                                self.set(parent, &fragment.node.selection_set.node);
                            }
                        }
                    }
                }
            }
        }
        if let Some(selection) = self.selection() {
            let mut walk = Walk { operation: self, child, visit, seen: Default::default() };
            walk.set(root, selection);
        }
    }

    /// The selection set of the operation that runs, when it is a query.
    pub(crate) fn query_selection(&self) -> Option<&async_graphql::parser::types::SelectionSet> {
        self.definition()
            .filter(|op| op.ty == async_graphql::parser::types::OperationType::Query)
            .map(|op| &op.selection_set.node)
    }

    /// The selection set of the operation that runs.
    pub(crate) fn selection(&self) -> Option<&async_graphql::parser::types::SelectionSet> {
        self.definition().map(|op| &op.selection_set.node)
    }

    /// Gives every variable the request left out its default from the operation, as
    /// execution will, so that the argument checks and `@skip` see the same values.
    pub(crate) fn apply_variable_defaults(&mut self) {
        let defaults: Vec<(async_graphql::Name, async_graphql::Value)> = self
            .definition()
            .into_iter()
            .flat_map(|op| op.variable_definitions.iter())
            .filter(|v| !self.variables.contains_key(&v.node.name.node))
            .filter_map(|v| {
                Some((v.node.name.node.clone(), v.node.default_value.as_ref()?.node.clone()))
            })
            .collect();
        for (name, value) in defaults {
            self.variables.insert(name, value);
        }
    }
}

/// Whether `@skip(if: true)` or `@include(if: false)` leaves a selection out.
pub(crate) fn skipped(
    directives: &[async_graphql::Positioned<async_graphql::parser::types::Directive>],
    variables: &async_graphql::Variables,
) -> bool {
    directives.iter().any(|directive| {
        let include = match directive.node.name.node.as_str() {
            "skip" => false,
            "include" => true,
            _ => return false,
        };
        let condition = directive.node.get_argument("if").and_then(|value| {
            value.node.clone().into_const_with(|name| variables.get(&name).cloned().ok_or(())).ok()
        });
        matches!(condition, Some(async_graphql::Value::Boolean(b)) if b != include)
    })
}
