//! The GraphQL schema in front of IDR: object types, resolvers, dataloaders and the
//! mapping of upstream failures to `extensions.code`.
//!
//! This crate binds no sockets and reads no environment: the server (or a test, or the
//! command line) builds an [`idr_client::IdrClient`] and passes it to [`build_schema`].

mod args;
mod complete;
mod connection;
mod context;
mod documents;
mod error;
mod ids;
mod inputs;
mod limits;
mod loaders;
pub mod nesting;
mod node;
mod objects;
mod operation;
mod persisted;
mod query;
mod search;
mod shape;
mod studies;
mod variables;

use operation::Operation;

use async_graphql::{EmptyMutation, EmptySubscription, Schema};
use idr_client::IdrClient;

pub use connection::Total;
pub use error::describe as describe_upstream_error;
pub use inputs::{FilterOp, ImageFilter, SearchResource};
pub use limits::DocumentLimits;
pub use loaders::Loaders;
pub use node::Node;
pub use objects::{
    AnnotatedObject, BulkAnnotationRow, Channel, ContainerMatch, Dataset, FileAnnotation, Image,
    KeyValue, License, MapAnnotation, ObjectType, PixelSize, Plate, Project, Publication,
    Reference, Screen, Study, StudyMatch, ValueCount, Well,
};
pub use query::Query;

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
    /// Errors a response carries per cause (same code and message), and in all; the rest
    /// are summed up in one summary error per cause.
    pub errors_per_cause: usize,
    pub max_errors: usize,
    /// Upstream calls one request may start (`None`: no limit); past it, fields that need
    /// more fail with `QUERY_TOO_EXPENSIVE` and the rest of the answer is kept.
    pub query_budget: Option<u64>,
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
            errors_per_cause: 10,
            max_errors: 50,
            query_budget: Some(5_000),
        }
    }
}

/// Syntax trees kept of the texts seen, so that a text sent again is not parsed again.
const DOCUMENT_CACHE_BYTES: u64 = 32 << 20;

/// Builds the schema over `client`. Run requests with [`execute`], which gives each its
/// own dataloaders.
pub fn build_schema(client: IdrClient, limits: SchemaLimits) -> IdrSchema {
    Schema::build(Query, EmptyMutation, EmptySubscription)
        .data(client)
        .data(search::Counts::default())
        .data(limits.document)
        .data(documents::Documents::new(DOCUMENT_CACHE_BYTES))
        .data(persisted::PersistedQueries::new(persisted::PERSISTED_BYTES))
        .data(shape::Shape::from_sdl(&sdl()))
        .limit_depth(limits.depth)
        .limit_complexity(limits.complexity)
        .limit_recursive_depth(limits.recursion)
        .limit_directives(limits.directives)
        .disable_suggestions()
        .extension(limits.document)
        .extension(args::ArgumentRules)
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
    let budget =
        schema.data::<SchemaLimits>().map_or(std::time::Duration::from_secs(60), |l| l.deadline);
    execute_until(schema, request, tokio::time::Instant::now() + budget).await
}

/// [`execute`] with the request's deadline given: a caller that runs several requests
/// for one answer (IDR-QL's pages) gives them all the same one.
pub async fn execute_until(
    schema: &IdrSchema,
    request: impl Into<async_graphql::Request>,
    deadline: tokio::time::Instant,
) -> async_graphql::Response {
    match prepare(schema, request.into()) {
        Ok((request, operation, persist)) => {
            run(schema, request, operation, persist, deadline).await
        }
        Err(refused) => *refused,
    }
}

/// [`execute`], but first `admit` hears what the request will cost (its root fields,
/// aliases and fields in fragments included, at least 1) and may refuse it: the server
/// charges that to the client's rate limit. The text is parsed once for both. A request
/// refused before it could be costed (too large, too deep, not GraphQL) is answered
/// without asking `admit`.
pub async fn execute_admitted<E>(
    schema: &IdrSchema,
    request: impl Into<async_graphql::Request>,
    admit: impl FnOnce(usize) -> Result<(), E>,
) -> Result<async_graphql::Response, E> {
    match admitted(schema, request, admit)? {
        Ok(admitted) => Ok(admitted.run(schema).await),
        Err(refused) => Ok(refused),
    }
}

/// The first half of [`execute_admitted`]: the request checked, parsed and charged
/// through `admit`, ready to run; or the response that refuses it before it could be
/// costed.
pub fn admitted<E>(
    schema: &IdrSchema,
    request: impl Into<async_graphql::Request>,
    admit: impl FnOnce(usize) -> Result<(), E>,
) -> Result<Result<Admitted, async_graphql::Response>, E> {
    let (request, operation, persist) = match prepare(schema, request.into()) {
        Ok(prepared) => prepared,
        Err(refused) => return Ok(Err(*refused)),
    };
    admit(limits::root_fields(&operation.document))?;
    Ok(Ok(Admitted { request, operation, persist }))
}

/// A request that passed its checks and was charged: see [`admitted`].
pub struct Admitted {
    request: async_graphql::Request,
    operation: std::sync::Arc<Operation>,
    /// A persisted query's hash, to remember its text under once it has validated.
    persist: Option<String>,
}

impl Admitted {
    /// What the answer depends on: the text, the operation it names and the variables
    /// (with their defaults). Two requests with the same identity at the same moment get
    /// the same answer, so a server may run them once.
    pub fn identity(&self) -> String {
        let variables = serde_json::to_string(&self.request.variables).unwrap_or_default();
        let name = self.request.operation_name.as_deref().unwrap_or_default();
        format!("{}\u{0}{name}\u{0}{variables}", self.request.query)
    }

    /// The name of the operation it runs, if it has one (for logs).
    pub fn operation_name(&self) -> Option<String> {
        self.operation.label()
    }

    /// Runs it under the schema's deadline.
    pub async fn run(self, schema: &IdrSchema) -> async_graphql::Response {
        let budget = schema
            .data::<SchemaLimits>()
            .map_or(std::time::Duration::from_secs(60), |l| l.deadline);
        let deadline = tokio::time::Instant::now() + budget;
        run(schema, self.request, self.operation, self.persist, deadline).await
    }
}

/// Checks the text's size and nesting before anything parses it (a deep text would
/// overflow the parser's stack), parses it once, and completes the variables; or the
/// response that refuses it.
#[allow(clippy::type_complexity, reason = "one private function's three results")]
fn prepare(
    schema: &IdrSchema,
    mut request: async_graphql::Request,
) -> Result<
    (async_graphql::Request, std::sync::Arc<Operation>, Option<String>),
    Box<async_graphql::Response>,
> {
    let limits = schema.data::<DocumentLimits>().copied().unwrap_or_default();
    let parse = |query: &str| match schema.data::<documents::Documents>() {
        Some(documents) => documents.parse(&limits, query),
        None => limits.parse(query).map(std::sync::Arc::new),
    };
    let refuse = |error| {
        let mut response = async_graphql::Response::from_errors(vec![error]);
        add_missing_codes(&mut response);
        Box::new(response)
    };
    let persisted = schema.data::<persisted::PersistedQueries>();
    let persist = match persisted.map(|p| p.resolve(&mut request)) {
        Some(Err(error)) => return Err(refuse(error)),
        Some(Ok(persist)) => persist,
        None => persisted::Persist::Nothing,
    };
    // No document at all (`{}`): said as such, not as the parser's view of an empty text.
    if request.query.trim().is_empty() {
        let mut error = async_graphql::ServerError::new(
            "the request has no query: send `query`, a GraphQL document (or, for a persisted query, `extensions.persistedQuery` with its hash)",
            None,
        );
        let mut extensions = async_graphql::ErrorExtensionValues::default();
        extensions.set("code", "BAD_REQUEST");
        error.extensions = Some(extensions);
        return Err(refuse(error));
    }
    let document =
        match limits.check_variables(&request.variables).and_then(|()| parse(&request.query)) {
            Ok(document) => document,
            Err(error) => return Err(refuse(error)),
        };
    let persist = match persist {
        persisted::Persist::Remember(hash) => Some(hash),
        persisted::Persist::Nothing => None,
    };
    request.set_parsed_query((*document).clone());
    let mut operation = Operation {
        document,
        name: request.operation_name.clone(),
        variables: request.variables.clone(),
    };
    operation.apply_variable_defaults();
    // async-graphql applies defaults when it reads a variable, but not when it decides
    // `@skip`/`@include` (it would skip nothing for `$s: Boolean = true`): give it the
    // same, completed variables.
    request.variables = operation.variables.clone();
    Ok((request, std::sync::Arc::new(operation), persist))
}

/// Time kept, at the request's deadline, to finish the response after the last wait for
/// IDR has given up.
const ASSEMBLY: std::time::Duration = std::time::Duration::from_millis(25);

/// Runs a prepared request with fresh dataloaders, and finishes its response.
async fn run(
    schema: &IdrSchema,
    request: async_graphql::Request,
    operation: std::sync::Arc<Operation>,
    persist: Option<String>,
    deadline: tokio::time::Instant,
) -> async_graphql::Response {
    let text = persist.as_ref().map(|_| request.query.clone());
    let request = request.data(operation.clone());
    let request = match schema.data::<IdrClient>() {
        Some(client) => request.data(Loaders::new(client)),
        None => request,
    };
    let limits = schema.data::<SchemaLimits>().copied().unwrap_or_default();
    let tally = match limits.query_budget {
        Some(budget) => idr_client::tally::Tally::with_budget(budget),
        None => idr_client::tally::Tally::default(),
    };
    // Every wait for IDR ends a little before the request's deadline, so the fields still
    // waiting fail with `UPSTREAM_TIMEOUT`, their parents complete with what they have,
    // and the response goes out, partial, in time (FAULTS.md F1). The deadline bounds the
    // waits in the client, not every field: a field that does not wait costs no timer.
    let waits_end = deadline.checked_sub(ASSEMBLY).unwrap_or(deadline);
    let tally = std::sync::Arc::new(tally.with_deadline(waits_end));
    let mut response = tally.clone().scope(schema.execute(request)).await;
    if let Some(shape) = schema.data::<shape::Shape>() {
        complete::complete(&mut response, &operation, shape);
    }
    add_missing_codes(&mut response);
    // A persisted query's text is kept once it has validated (as Apollo Server does): a
    // text refused as invalid, too deep or too complex is not.
    if let (Some(hash), Some(text), Some(persisted)) =
        (persist, text, schema.data::<persisted::PersistedQueries>())
    {
        let refused = response.errors.iter().any(|e| {
            let code = e.extensions.as_ref().and_then(|x| x.get("code")).and_then(|c| match c {
                async_graphql::Value::String(s) => Some(s.clone()),
                _ => None,
            });
            code.is_some_and(|c| {
                matches!(
                    c.as_str(),
                    "GRAPHQL_VALIDATION_FAILED"
                        | "QUERY_TOO_COMPLEX"
                        | "QUERY_TOO_DEEP"
                        | "QUERY_TOO_LARGE"
                )
                // Refused before it ran (its variables or arguments), possibly before
                // validation: not known to have validated.
                || c == "BAD_USER_INPUT" && e.path.is_empty()
            })
        });
        if !refused {
            persisted.remember(hash, &text);
        }
    }
    error::report(&mut response, limits.errors_per_cause, limits.max_errors);
    response.extensions.insert("cost".to_owned(), cost_extension(tally.counts()));
    response
}

/// `extensions.cost`: what answering cost upstream. A server that runs identical
/// requests in flight once sends the same figures to each.
fn cost_extension(counts: idr_client::tally::Counts) -> async_graphql::Value {
    let mut cost = async_graphql::indexmap::IndexMap::new();
    for (name, n) in [
        ("upstreamCalls", counts.upstream_calls),
        ("cacheHits", counts.cache_hits),
        ("coalesced", counts.coalesced),
        ("batches", counts.batches),
    ] {
        cost.insert(async_graphql::Name::new(name), async_graphql::Value::from(n));
    }
    for (name, n) in [("budget", counts.budget), ("remaining", counts.remaining)] {
        if let Some(n) = n {
            cost.insert(async_graphql::Name::new(name), async_graphql::Value::from(n));
        }
    }
    async_graphql::Value::Object(cost)
}

fn add_missing_codes(response: &mut async_graphql::Response) {
    // The same error at the same place is said once (async-graphql's validation reports
    // some, such as a mutation on a schema without any, once per pass over the document).
    let mut seen = std::collections::HashSet::new();
    response
        .errors
        .retain(|e| seen.insert(format!("{:?}|{:?}|{}", e.locations, e.path, e.message)));
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
