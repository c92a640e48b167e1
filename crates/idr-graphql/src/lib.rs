//! The GraphQL schema in front of IDR: object types, resolvers, dataloaders and the
//! mapping of upstream failures to `extensions.code`.
//!
//! This crate binds no sockets and reads no environment: the server (or a test, or the
//! command line) builds an [`idr_client::IdrClient`] and passes it to [`build_schema`].

mod connection;
mod error;
mod filter;
mod limits;
mod loaders;
mod objects;
mod order;
mod query;
mod search;

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
}

impl Default for SchemaLimits {
    fn default() -> SchemaLimits {
        SchemaLimits {
            depth: 15,
            complexity: 250_000,
            recursion: 64,
            directives: 10,
            document: DocumentLimits { max_bytes: 16 * 1024, max_aliases: 30 },
        }
    }
}

/// Builds the schema over `client`. Run requests with [`execute`], which gives each its
/// own dataloaders.
pub fn build_schema(client: IdrClient, limits: SchemaLimits) -> IdrSchema {
    Schema::build(Query, EmptyMutation, EmptySubscription)
        .data(client)
        .data(search::Counts::default())
        .limit_depth(limits.depth)
        .limit_complexity(limits.complexity)
        .limit_recursive_depth(limits.recursion)
        .limit_directives(limits.directives)
        .disable_suggestions()
        .extension(limits.document)
        .finish()
}

/// Executes a request with fresh dataloaders, and completes the response the way the
/// GraphQL spec asks: a field whose resolver failed is `null` next to its error. (async-graphql 7 leaves the key out
/// instead, which front ends read as "not asked for".) Every front end executes through
/// this function.
pub async fn execute(
    schema: &IdrSchema,
    request: impl Into<async_graphql::Request>,
) -> async_graphql::Response {
    let request = request.into();
    let query = request.query.clone();
    let operation = request.operation_name.clone();
    let request = match schema.data::<IdrClient>() {
        Some(client) => request.data(Loaders::new(client)),
        None => request,
    };
    let mut response = schema.execute(request).await;
    null_errored_fields(&mut response);
    order::order_like_query(&mut response.data, &query, operation.as_deref());
    add_missing_codes(&mut response);
    response
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

fn null_errored_fields(response: &mut async_graphql::Response) {
    use async_graphql::{PathSegment, Value};

    fn set_null(node: &mut Value, path: &[PathSegment]) {
        match (path, node) {
            ([PathSegment::Field(name)], Value::Object(map)) => {
                map.entry(async_graphql::Name::new(name)).or_insert(Value::Null);
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

    let executed = response.errors.iter().any(|e| !e.path.is_empty());
    if executed && response.data == Value::Null {
        response.data = Value::Object(Default::default());
    }
    for error in &response.errors {
        if !error.path.is_empty() {
            set_null(&mut response.data, &error.path);
        }
    }
}

/// The SDL of the schema, as checked in at `schema/idr.graphql`.
pub fn sdl() -> String {
    Schema::build(Query, EmptyMutation, EmptySubscription).finish().sdl()
}

#[cfg(test)]
mod tests;
