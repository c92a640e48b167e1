//! The one error type of the client; its variants are what callers branch on.

use std::sync::Arc;

/// Everything that can go wrong between asking for an IDR object and holding it decoded.
///
/// Errors are `Clone` because one upstream call can serve many waiters (singleflight and
/// dataloaders hand the same result to each of them).
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Error {
    /// IDR has no such object, or the public user cannot see it.
    #[error("{what} not found")]
    NotFound { what: String },
    /// The caller asked for something IDR cannot express (an empty id, a bad filter).
    #[error("invalid request: {0}")]
    InvalidArgument(String),
    /// IDR answered with an unexpected HTTP status.
    #[error("upstream answered HTTP {status} for {url}")]
    Status { status: u16, url: String, message: Option<String> },
    /// IDR answered 200 but signalled an error inside the body (`{"error": …}`, `{"Error": …}`).
    #[error("upstream reported an error for {url}: {message}")]
    Reported { url: String, message: String },
    /// The connection failed, was reset, or the body was cut off.
    #[error("could not reach upstream for {url}: {message}")]
    Transport { url: String, message: String },
    /// IDR answered, but not with an answer of this endpoint: a JSON body or a JPEG cut
    /// short, an HTML page (a login or proxy page) where JSON was expected, or a redirect
    /// to the login page (the session expired). Retrying may succeed.
    #[error("upstream gave an unusable answer for {url}: {reason}")]
    Unusable { url: String, reason: String },
    /// The call did not finish within its deadline.
    #[error("upstream did not answer {url} in time")]
    Timeout { url: String },
    /// The body is larger than the configured cap; reading stopped there.
    #[error("upstream response for {url} exceeds {limit} bytes")]
    TooLarge { url: String, limit: usize },
    /// The body is not what the endpoint documents.
    #[error("could not decode upstream response for {url} at {path}: {message}")]
    Decode { url: String, path: String, message: String },
    /// The circuit breaker is open after repeated upstream failures; the call was not made.
    #[error("upstream is failing; calls are paused for a moment")]
    CircuitOpen,
    /// `idr record` could not write a recording (a local failure, not the upstream's:
    /// never retried, and the breaker does not count it).
    #[error("could not write the recording {path}: {message}")]
    Recording { path: String, message: String },
    /// The request that asked has made as many upstream calls as its budget allows (see
    /// [`crate::tally::Tally::with_budget`]); this one was not made.
    #[error("the query needs more than its budget of {budget} upstream calls")]
    OverBudget { budget: u64 },
    /// The request that waited has reached its deadline (see
    /// [`crate::tally::Tally::with_deadline`]); the call may carry on for others.
    #[error("the request's deadline passed before upstream answered")]
    Deadline,
    /// Offline mode: no recording answers this request.
    #[error("no recording for {request}{}", nearest_hint(nearest))]
    NotRecorded { request: String, nearest: Arc<[String]> },
}

fn nearest_hint(nearest: &[String]) -> String {
    if nearest.is_empty() {
        String::new()
    } else {
        format!("; nearest recorded: {}", nearest.join(", "))
    }
}

impl Error {
    /// A short, fixed name of the kind of error, for metrics labels.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::NotFound { .. } => "not_found",
            Error::InvalidArgument(_) => "invalid_argument",
            Error::Status { .. } => "status",
            Error::Reported { .. } => "reported",
            Error::Transport { .. } => "transport",
            Error::Unusable { .. } => "unusable",
            Error::Timeout { .. } => "timeout",
            Error::TooLarge { .. } => "too_large",
            Error::Decode { .. } => "decode",
            Error::CircuitOpen => "circuit_open",
            Error::Recording { .. } => "recording",
            Error::OverBudget { .. } => "over_budget",
            Error::NotRecorded { .. } => "not_recorded",
            Error::Deadline => "deadline",
        }
    }

    /// Whether retrying the same call may succeed (timeouts, resets, 502/503/504, bodies
    /// cut short, login and proxy pages). A 500 is deterministic on OMERO.web and is not
    /// retried.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Transport { .. } | Error::Timeout { .. } | Error::Unusable { .. } => true,
            Error::Status { status, .. } => matches!(status, 502..=504),
            _ => false,
        }
    }

    /// Whether this failure says something about the upstream's health (for the breaker).
    pub fn is_upstream_failure(&self) -> bool {
        matches!(
            self,
            Error::Transport { .. }
                | Error::Timeout { .. }
                | Error::Unusable { .. }
                | Error::Status { status: 500.., .. }
        )
    }

    pub(crate) fn unusable(url: &str, reason: impl Into<String>) -> Error {
        Error::Unusable { url: url.to_owned(), reason: reason.into() }
    }

    pub(crate) fn decode(url: &str, path: &str, message: impl Into<String>) -> Error {
        Error::Decode { url: url.to_owned(), path: path.to_owned(), message: message.into() }
    }
}
