//! How failures reach GraphQL clients: one `extensions.code` per kind of failure.
//!
//! | code | when |
//! | --- | --- |
//! | `BAD_USER_INPUT` | an argument anywhere in the document is malformed (an id that is not a positive integer, `first` out of range, a filter IDR cannot run); nothing runs |
//! | `UPSTREAM_UNAVAILABLE` | IDR could not be reached, answered 5xx, or the circuit breaker is open |
//! | `UPSTREAM_TIMEOUT` | IDR did not answer within the per-call deadline, or before the request's deadline |
//! | `UPSTREAM_BAD_RESPONSE` | IDR answered with an error inside a 200 body, with something that does not decode, or (after retries) with a body cut short or an HTML page |
//! | `RESPONSE_TOO_LARGE` | IDR's answer exceeded the body cap |
//! | `NOT_RECORDED` | offline mode: the recordings hold no answer for the upstream request this field needs |
//! | `QUERY_TOO_EXPENSIVE` | the query made as many upstream calls as its budget allows (`SchemaLimits::query_budget`, `--query-budget`); the fields that needed more are `null`, the rest of the answer is there |
//! | `QUERY_TOO_LARGE` | the document is over the size cap |
//! | `QUERY_TOO_COMPLEX` | the document is over the alias cap or the static cost limit (`first` multiplies) |
//! | `QUERY_TOO_DEEP` | the document (or its JSON body or variables) nests deeper than the depth, bracket-nesting or parser-recursion limit |
//! | `GRAPHQL_VALIDATION_FAILED` | the document does not parse or validate against the schema |
//! | `BAD_REQUEST` | the body is not a single JSON GraphQL request (HTTP only), or a persisted query's extension is malformed or its hash does not match its text |
//! | `PERSISTED_QUERY_NOT_FOUND` | a request sent only a query's hash (`extensions.persistedQuery`) that this server does not know (yet, or any more): send the text with the hash once |
//! | `PERSISTED_QUERY_NOT_SUPPORTED` | a persisted query of a version other than 1 |
//! | `REQUEST_TIMEOUT` | (HTTP only) the request had no answer even 5 s past its deadline |
//! | `NOT_FOUND` | IDR reported a missing object where the schema cannot answer `null` |
//! | `AMBIGUOUS` | `study(name:)` was given an accession that several studies share; the message names them |
//! | `INTERNAL_SERVER_ERROR` | the fallback for an error that reached the response without a code, or a non-null field left without a value; also `idr record` failing to write a recording |
//!
//! A missing object on a nullable field is `null` with no error. Messages are generic:
//! upstream URLs, stack traces and bodies are logged, never sent to the client.

use std::sync::Arc;

use async_graphql::ErrorExtensions;
use idr_client::Error as ClientError;

/// The GraphQL error for a failed upstream call. The client error rides along as the
/// error's `source`, for [`report`] to log once per request; the client sees only the
/// generic message.
pub(crate) fn upstream(error: &ClientError) -> async_graphql::Error {
    let (code, message) = describe(error);
    let mut gql = async_graphql::Error::new(message).extend_with(|_, e| e.set("code", code));
    gql.source = Some(Arc::new(error.clone()));
    gql
}

/// The `extensions.code` and the client-facing message for a failed upstream call (the
/// same for GraphQL fields and for the server's other JSON routes).
pub fn describe(error: &ClientError) -> (&'static str, String) {
    match error {
        ClientError::NotFound { what } => ("NOT_FOUND", format!("{what} was not found in IDR")),
        ClientError::InvalidArgument(m) => ("BAD_USER_INPUT", m.clone()),
        ClientError::Status { status, .. } => {
            ("UPSTREAM_UNAVAILABLE", format!("IDR answered with HTTP {status}"))
        }
        ClientError::Transport { .. } => {
            ("UPSTREAM_UNAVAILABLE", "IDR could not be reached".to_owned())
        }
        ClientError::CircuitOpen => (
            "UPSTREAM_UNAVAILABLE",
            "IDR is failing; calls are paused for a few seconds".to_owned(),
        ),
        ClientError::Timeout { .. } => {
            ("UPSTREAM_TIMEOUT", "IDR did not answer in time".to_owned())
        }
        ClientError::Deadline => (
            "UPSTREAM_TIMEOUT",
            "IDR did not answer before this request's deadline; the rest of the response is complete"
                .to_owned(),
        ),
        ClientError::Reported { .. } => {
            ("UPSTREAM_BAD_RESPONSE", "IDR reported an error for this request".to_owned())
        }
        ClientError::Unusable { .. } => (
            "UPSTREAM_BAD_RESPONSE",
            "IDR's answer was cut short or was not an answer to this request".to_owned(),
        ),
        ClientError::Decode { .. } => {
            ("UPSTREAM_BAD_RESPONSE", "IDR's answer could not be read".to_owned())
        }
        ClientError::TooLarge { limit, .. } => {
            ("RESPONSE_TOO_LARGE", format!("IDR's answer is larger than the {limit}-byte cap"))
        }
        ClientError::Recording { .. } => {
            ("INTERNAL_SERVER_ERROR", "the answer could not be recorded".to_owned())
        }
        ClientError::OverBudget { budget } => (
            "QUERY_TOO_EXPENSIVE",
            format!(
                "this query needs more than {budget} calls to IDR, its budget; ask for fewer objects (a smaller `first`, fewer plates) or fewer fields that need one call per object (such as image sizes)"
            ),
        ),
        // Offline mode serves the project's own recordings, so naming the request helps.
        ClientError::NotRecorded { request, .. } => {
            ("NOT_RECORDED", format!("offline mode: the recordings hold no answer for {request}"))
        }
    }
}

/// Logs each distinct upstream failure behind a response once (in the caller's span, which
/// carries the request id), then bounds the errors the response carries. GraphQL asks for
/// an error per failed field, so one failed call shared by 96 images would give 96 errors:
/// the first `per_cause` of each cause (at most `max` in all) are kept with their paths,
/// and one summary error, with the same code and `extensions.omitted`, stands for the
/// others.
pub(crate) fn report(response: &mut async_graphql::Response, per_cause: usize, max: usize) {
    let mut failures: Vec<(String, usize)> = Vec::new();
    for error in &response.errors {
        let Some(source) = error.source.as_ref().and_then(|s| s.downcast_ref::<ClientError>())
        else {
            continue;
        };
        let text = source.to_string();
        match failures.iter_mut().find(|(t, _)| *t == text) {
            Some((_, fields)) => *fields += 1,
            None => failures.push((text, 1)),
        }
    }
    for (error, fields) in &failures {
        tracing::warn!(%error, fields, "upstream call failed");
    }

    let errors = std::mem::take(&mut response.errors);
    let mut kept: Vec<async_graphql::ServerError> = Vec::new();
    // (code, message, omitted) per cause, in order of first appearance.
    let mut omitted: Vec<(String, String, usize)> = Vec::new();
    for error in errors {
        let code = code_of(&error);
        let same = kept.iter().filter(|k| k.message == error.message && code_of(k) == code).count();
        if same < per_cause && kept.len() < max {
            kept.push(error);
            continue;
        }
        let message = if same >= per_cause { error.message.clone() } else { String::new() };
        match omitted.iter_mut().find(|(c, m, _)| *c == code && *m == message) {
            Some((_, _, n)) => *n += 1,
            None => omitted.push((code, message, 1)),
        }
    }
    for (code, message, n) in omitted {
        let text = if message.is_empty() {
            format!("{n} more errors with code {code} were left out of this response")
        } else {
            format!(
                "{message} (and {n} more fields failed the same way; their errors were left out)"
            )
        };
        let mut summary = async_graphql::ServerError::new(text, None);
        let mut extensions = async_graphql::ErrorExtensionValues::default();
        extensions.set("code", code);
        extensions.set("omitted", n as u64);
        summary.extensions = Some(extensions);
        kept.push(summary);
    }
    response.errors = kept;
}

fn code_of(error: &async_graphql::ServerError) -> String {
    error
        .extensions
        .as_ref()
        .and_then(|e| e.get("code"))
        .and_then(|c| match c {
            async_graphql::Value::String(s) => Some(s.clone()),
            _ => None,
        })
        .unwrap_or_default()
}

/// A `BAD_USER_INPUT` error with a message for the user.
pub(crate) fn bad_input(message: impl Into<String>) -> async_graphql::Error {
    async_graphql::Error::new(message.into()).extend_with(|_, e| e.set("code", "BAD_USER_INPUT"))
}

/// `.gql()` on client results: map the error with its code.
pub(crate) trait ResultExt<T> {
    fn gql(self) -> async_graphql::Result<T>;
}

impl<T> ResultExt<T> for Result<T, ClientError> {
    fn gql(self) -> async_graphql::Result<T> {
        self.map_err(|e| upstream(&e))
    }
}
