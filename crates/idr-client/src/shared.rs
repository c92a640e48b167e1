//! What several replicas of the server share, so that IDR sees one deployment: answers
//! (a second cache tier under each replica's own), the one fetch of an answer that
//! several replicas miss at once, and the cap on upstream calls in flight.
//!
//! The client only sees [`SharedTier`]; the server implements it on Redis. Every method
//! degrades: when the shared store is slow or down, it answers "nothing shared"
//! ([`Claim::Unavailable`], [`Permit::Unavailable`]), and the client goes on with what
//! the replica has on its own.

use std::time::Duration;

use bytes::Bytes;

use crate::upstream::BoxFuture;
use crate::{Error, Request, Response};

/// What the shared tier says of an answer this replica does not have.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Claim {
    /// Another replica stored it; it has this long left.
    Stored(Response, Duration),
    /// Nobody has it: this fetch, under this token, fetches it, then ends the claim with
    /// what it got ([`SharedTier::release`]; only its token can release or renew it).
    Mine(String),
    /// Another fetch, under this token, is fetching it: wait for its answer.
    Theirs(String),
    /// The fetch waited on failed with this error: its waiters share it, as the waiters of
    /// one call in a replica do, instead of each trying in turn.
    Failed(Error),
    /// The fetch waited on got an answer it could not share (too large to store): each
    /// waiter fetches it for itself, at once, without a claim.
    Alone,
    /// The shared tier cannot say: fetch it here.
    Unavailable,
}

/// How the fetch under a claim ended, for [`SharedTier::release`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FetchEnd {
    /// A good answer: stored for everyone for this long (the waiters read it).
    Answer(Response, Duration),
    /// It failed with this error. IDR's failures reach the waiters ([`Claim::Failed`]);
    /// the fetching request's own (see [`encode_failure`]) end it as `Abandoned`.
    Failed(Error),
    /// Fetched, but nothing to share: the waiters fetch for themselves ([`Claim::Alone`]).
    Unshared,
    /// No outcome (the request was cancelled): one waiter takes the claim over.
    Abandoned,
}

/// One of the deployment's upstream permits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Permit {
    /// Held under this token until released, or until its lease ends.
    Held(String),
    /// No permit came free in time.
    TimedOut,
    /// The shared tier cannot say: the replica's own cap applies alone.
    Unavailable,
}

/// The tier replicas share. Implementations bound every call by a timeout of their own;
/// the two that give something back never wait at all.
pub trait SharedTier: Send + Sync + 'static {
    /// The answer stored under `key`; or else, for a waiter, how the fetch it waited on
    /// ended (`waited_on`, the token [`Claim::Theirs`] named), if it did without an
    /// answer; or else a claim on the one fetch of it, for `lease` (a claimer that dies
    /// loses it then, and a waiter takes over; a live one renews it). One atomic step.
    fn claim<'a>(
        &'a self,
        key: &'a str,
        lease: Duration,
        waited_on: Option<&'a str>,
    ) -> BoxFuture<'a, Claim>;
    /// Extends the claim `token` holds on `key` to `lease` from now.
    fn renew<'a>(&'a self, key: &'a str, token: &'a str, lease: Duration) -> BoxFuture<'a, ()>;
    /// Ends the claim `token` holds on `key` with how its fetch ended, in one atomic step
    /// (the answer stored, or the failure left for the waiters, as the claim goes). It
    /// returns at once: the tier sends it in the background, and tries again while the
    /// claim's lease lasts, so that a cancelled request or a slow moment of the store
    /// leaves no claim for others to wait out.
    fn release(&self, key: &str, token: &str, end: FetchEnd);
    /// One of `cap` permits shared by every replica, held for at most `lease`, waiting at
    /// most `wait` for one to come free.
    fn acquire<'a>(&'a self, cap: usize, lease: Duration, wait: Duration) -> BoxFuture<'a, Permit>;
    /// Extends a held permit's lease to `lease` from now.
    fn renew_permit<'a>(&'a self, token: &'a str, lease: Duration) -> BoxFuture<'a, ()>;
    /// Gives a permit back; returns at once, as [`SharedTier::release`] does.
    fn release_permit(&self, token: &str);
}

/// The shared key of an upstream request: which upstream (`namespace`: replicas of other
/// upstreams, offline ones included, never share) and the request's canonical text
/// (method, path, sorted query and body, as [`Request`] prints it), hashed, under a prefix
/// of this format's version.
pub fn answer_key(namespace: &str, request: &Request) -> String {
    use sha2::Digest as _;
    let mut hasher = sha2::Sha256::new();
    hasher.update(namespace.as_bytes());
    hasher.update([0]);
    hasher.update(request.to_string().as_bytes());
    let digest = hasher.finalize();
    let mut key = String::with_capacity(12 + 64);
    key.push_str("idr:v1:resp:");
    for byte in digest {
        key.push_str(&format!("{byte:02x}"));
    }
    key
}

/// A response as the shared tier stores it: the status (2 bytes), the content type's
/// length (2 bytes) and text, then the body.
pub fn encode_response(response: &Response) -> Vec<u8> {
    let content_type = response.content_type.as_deref().unwrap_or("");
    let type_len = content_type.len().min(u16::MAX as usize);
    let mut out = Vec::with_capacity(4 + type_len + response.body.len());
    out.extend_from_slice(&response.status.to_be_bytes());
    out.extend_from_slice(&(type_len as u16).to_be_bytes());
    out.extend_from_slice(&content_type.as_bytes()[..type_len]);
    out.extend_from_slice(&response.body);
    out
}

/// The inverse of [`encode_response`]; `None` for bytes it did not write.
pub fn decode_response(bytes: &[u8]) -> Option<Response> {
    let status = u16::from_be_bytes([*bytes.first()?, *bytes.get(1)?]);
    let type_len = u16::from_be_bytes([*bytes.get(2)?, *bytes.get(3)?]) as usize;
    let content_type = std::str::from_utf8(bytes.get(4..4 + type_len)?).ok()?;
    let body = bytes.get(4 + type_len..)?;
    Some(Response {
        status,
        content_type: (!content_type.is_empty()).then(|| content_type.to_owned()),
        body: Bytes::copy_from_slice(body),
    })
}

/// A failed fetch's error as its waiters on other replicas read it; `None` for an error
/// that is the fetching request's own (its deadline or budget, the replica's breaker, a
/// local recording) rather than IDR's answer: those waiters fetch it themselves.
pub fn encode_failure(error: &Error) -> Option<String> {
    match error {
        Error::Deadline
        | Error::OverBudget { .. }
        | Error::CircuitOpen
        | Error::Recording { .. } => None,
        _ => serde_json::to_string(error).ok().filter(|text| text.len() <= MAX_FAILURE_BYTES),
    }
}

/// The inverse of [`encode_failure`]; `None` for text it did not write.
pub fn decode_failure(text: &[u8]) -> Option<Error> {
    serde_json::from_slice(text).ok()
}

/// The longest failure shared (an error carrying a large upstream message is not).
const MAX_FAILURE_BYTES: usize = 16 * 1024;
