//! The GraphQL schema in front of IDR: object types, resolvers, dataloaders and the
//! mapping of upstream failures to `extensions.code`.
//!
//! This crate binds no sockets and reads no environment: the server (or a test, or the
//! command line) builds an [`idr_client::IdrClient`] and passes it to [`build_schema`].

mod args;
mod complete;
mod connection;
mod deadline;
mod error;
mod filter;
mod limits;
mod loaders;
pub mod nesting;
mod objects;
mod query;
mod search;
mod shape;

use async_graphql::{EmptyMutation, EmptySubscription, Schema};
use idr_client::IdrClient;

pub use connection::Total;
pub use limits::{request_cost, DocumentLimits};
pub use loaders::Loaders;
pub use objects::{
    AnnotatedObject, BulkAnnotationRow, Channel, Dataset, FileAnnotation, Image, KeyValue,
    MapAnnotation, ObjectType, PixelSize, Plate, Project, Screen, ValueCount, Well,
};
pub use query::{FilterOp, ImageFilter, Query, SearchResource};

/// The schema type.
pub type IdrSchema = Schema<Query, EmptyMutation, EmptySubscription>;

/// Limits applied to every document before it runs.
#[derive(Clone, Copy, Debug)]
pub struct SchemaLimits {
    /// Maximum nesting of selection sets (introspection needs about 13).
    pub depth: usize,
    /// Maximum static cost (`first` multiplies its subtree, a plate's wells count 384).
    pub complexity: usize,
    /// Maximum parser recursion (guards against `{a{a{a…` stack exhaustion).
    pub recursion: usize,
    pub directives: usize,
    pub document: DocumentLimits,
    /// Time one request's execution may take; fields still waiting for IDR then give up
    /// and the response goes out with what is there.
    pub deadline: std::time::Duration,
}

impl Default for SchemaLimits {
    fn default() -> SchemaLimits {
        SchemaLimits {
            depth: 15,
            complexity: 250_000,
            recursion: 64,
            directives: 10,
            document: DocumentLimits::default(),
            deadline: std::time::Duration::from_secs(60),
        }
    }
}

/// Builds the schema over `client`. Run requests with [`execute`], which gives each its
/// own dataloaders.
pub fn build_schema(client: IdrClient, limits: SchemaLimits) -> IdrSchema {
    Schema::build(Query, EmptyMutation, EmptySubscription)
        .data(client)
        .data(search::Counts::default())
        .data(limits.document)
        .data(shape::Shape::from_sdl(&sdl()))
        .limit_depth(limits.depth)
        .limit_complexity(limits.complexity)
        .limit_recursive_depth(limits.recursion)
        .limit_directives(limits.directives)
        .disable_suggestions()
        .extension(limits.document)
        .extension(args::ArgumentRules)
        .extension(deadline::Deadline)
        .data(limits)
        .finish()
}

/// Executes a request with fresh dataloaders, and completes the response the way the
/// GraphQL spec asks (see [`complete`]): a field whose resolver failed is `null` next to
/// its error, a `null` at a non-null position moves up to the nearest nullable one, and
/// fields come in the order the query selected them. Every front end executes through
/// this function.
pub async fn execute(
    schema: &IdrSchema,
    request: impl Into<async_graphql::Request>,
) -> async_graphql::Response {
    let mut request = request.into();
    // Size and nesting are checked before anything parses the text (a deep text would
    // overflow the parser's stack); the document is then parsed once, here.
    let limits = schema.data::<DocumentLimits>().copied().unwrap_or_default();
    let document = match limits
        .check_variables(&request.variables)
        .and_then(|()| limits.parse(&request.query))
    {
        Ok(document) => document,
        Err(error) => {
            let mut response = async_graphql::Response::from_errors(vec![error]);
            add_missing_codes(&mut response);
            return response;
        }
    };
    request.set_parsed_query(document.clone());
    let operation = std::sync::Arc::new(Operation {
        document,
        name: request.operation_name.clone(),
        variables: request.variables.clone(),
    });
    let request = request.data(operation.clone());
    let budget =
        schema.data::<SchemaLimits>().map_or(std::time::Duration::from_secs(60), |l| l.deadline);
    let request = request.data(deadline::RequestDeadline(tokio::time::Instant::now() + budget));
    let request = match schema.data::<IdrClient>() {
        Some(client) => request.data(Loaders::new(client)),
        None => request,
    };
    let mut response = schema.execute(request).await;
    if let Some(shape) = schema.data::<shape::Shape>() {
        complete::complete(&mut response, &operation, shape);
    }
    add_missing_codes(&mut response);
    error::report(&mut response);
    response
}

/// The operation being executed: the document (parsed once, in [`execute`]), the name of
/// the operation selected in it, and the variables. The argument rules and the response's
/// completion both walk it.
pub(crate) struct Operation {
    pub(crate) document: async_graphql::parser::types::ExecutableDocument,
    pub(crate) name: Option<String>,
    pub(crate) variables: async_graphql::Variables,
}

impl Operation {
    /// The selection set of the operation that runs.
    pub(crate) fn selection(&self) -> Option<&async_graphql::parser::types::SelectionSet> {
        use async_graphql::parser::types::DocumentOperations;
        match &self.document.operations {
            DocumentOperations::Single(op) => Some(&op.node.selection_set.node),
            DocumentOperations::Multiple(ops) => match &self.name {
                Some(name) => ops.get(&async_graphql::Name::new(name)),
                None if ops.len() == 1 => ops.values().next(),
                None => None,
            }
            .map(|op| &op.node.selection_set.node),
        }
    }
}

fn add_missing_codes(response: &mut async_graphql::Response) {
    for error in &mut response.errors {
        let extensions = error.extensions.get_or_insert_with(Default::default);
        if extensions.get("code").is_some() {
            continue;
        }
        let message = error.message.to_ascii_lowercase();
        let code = if message.contains("too complex") {
            "QUERY_TOO_COMPLEX"
        } else if message.contains("too deep") || message.contains("recursion") {
            "QUERY_TOO_DEEP"
        } else if error.path.is_empty() {
            "GRAPHQL_VALIDATION_FAILED"
        } else {
            "INTERNAL_SERVER_ERROR"
        };
        extensions.set("code", code);
    }
}

/// The SDL of the schema, as checked in at `schema/idr.graphql`.
pub fn sdl() -> String {
    Schema::build(Query, EmptyMutation, EmptySubscription).finish().sdl()
}

#[cfg(test)]
mod tests;
