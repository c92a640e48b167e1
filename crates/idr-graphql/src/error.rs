//! How failures reach GraphQL clients: one `extensions.code` per kind of failure.
//!
//! | code | when |
//! | --- | --- |
//! | `BAD_USER_INPUT` | an argument is malformed (an id that is not a positive integer, `first` out of range, a filter IDR cannot run) |
//! | `UPSTREAM_UNAVAILABLE` | IDR could not be reached, answered 5xx, or the circuit breaker is open |
//! | `UPSTREAM_TIMEOUT` | IDR did not answer within the per-call deadline |
//! | `UPSTREAM_BAD_RESPONSE` | IDR answered with an error inside a 200 body, with something that does not decode, or (after retries) with a body cut short or an HTML page |
//! | `RESPONSE_TOO_LARGE` | IDR's answer exceeded the body cap |
//! | `NOT_RECORDED` | offline mode: the recordings hold no answer for the upstream request this field needs |
//! | `QUERY_TOO_LARGE` | the document is over the size cap |
//! | `QUERY_TOO_COMPLEX` | the document is over the alias cap or the static cost limit (`first` multiplies) |
//! | `QUERY_TOO_DEEP` | the document nests deeper than the depth or parser-recursion limit |
//! | `GRAPHQL_VALIDATION_FAILED` | the document does not parse or validate against the schema |
//! | `BAD_REQUEST` | (HTTP only) the body is not a single JSON GraphQL request |
//! | `REQUEST_TIMEOUT` | (HTTP only) the whole request ran past its deadline |
//! | `NOT_FOUND` | IDR reported a missing object where the schema cannot answer `null` |
//! | `INTERNAL_SERVER_ERROR` | the fallback for an error that reached the response without a code |
//!
//! A missing object on a nullable field is `null` with no error. Messages are generic:
//! upstream URLs, stack traces and bodies are logged, never sent to the client.

use async_graphql::ErrorExtensions;
use idr_client::Error as ClientError;

/// The GraphQL error for a failed upstream call.
pub(crate) fn upstream(error: &ClientError) -> async_graphql::Error {
    tracing::warn!(%error, "upstream call failed");
    let (code, message) = match error {
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
        // Offline mode serves the project's own recordings, so naming the request helps.
        ClientError::NotRecorded { request, .. } => {
            ("NOT_RECORDED", format!("offline mode: the recordings hold no answer for {request}"))
        }
    };
    async_graphql::Error::new(message).extend_with(|_, e| e.set("code", code))
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

/// Parses a GraphQL `ID` as an IDR id: a positive integer that fits OMERO's `long`.
pub(crate) fn parse_id(id: &async_graphql::ID) -> async_graphql::Result<u64> {
    match id.trim().parse::<u64>() {
        Ok(n) if n > 0 && n <= i64::MAX as u64 => Ok(n),
        _ => Err(bad_input(format!(
            "`{}` is not an IDR id: ids are positive integers",
            truncate(id, 40)
        ))),
    }
}

fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}
