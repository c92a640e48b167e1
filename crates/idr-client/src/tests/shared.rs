//! The shared tier's formats, and the client over a shared tier that keeps everything in
//! memory (the Redis one is tested with a real Redis in tests/e2e/replicas.rs).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;

use crate::shared::{answer_key, decode_failure, decode_response, encode_failure, encode_response};
use crate::upstream::BoxFuture;
use crate::{Claim, Error, FetchEnd, Permit, Request, Response, SharedTier};

#[test]
fn responses_round_trip_and_garbage_is_no_response() {
    for response in [
        Response::json(200, r#"{"a": 1}"#),
        Response { status: 404, content_type: None, body: Bytes::new() },
        Response {
            status: 200,
            content_type: Some("image/jpeg".into()),
            body: Bytes::from(vec![0, 255, 7]),
        },
    ] {
        assert_eq!(decode_response(&encode_response(&response)), Some(response));
    }
    assert_eq!(decode_response(&[]), None);
    assert_eq!(decode_response(&[0, 200, 0, 9, b'x']), None, "a content type cut short");
}

/// IDR's failures reach the waiters on other replicas whole; a failure of the fetching
/// request's own (its deadline, its budget, its replica's breaker) does not, and those
/// waiters fetch for themselves.
#[test]
fn failures_of_idr_round_trip_and_the_fetchers_own_are_not_shared() {
    let url = "/webgateway/plate/1/".to_owned();
    for error in [
        Error::NotFound { what: "plate 1".into() },
        Error::InvalidArgument("IDR's 400: bad offset".into()),
        Error::Status { status: 500, url: url.clone(), message: Some("boom".into()) },
        Error::Reported { url: url.clone(), message: "no such thing".into() },
        Error::Transport { url: url.clone(), message: "reset".into() },
        Error::Unusable { url: url.clone(), reason: "an HTML page".into() },
        Error::Timeout { url: url.clone() },
        Error::TooLarge { url: url.clone(), limit: 10 },
        Error::Decode { url: url.clone(), path: "wells[0]".into(), message: "x".into() },
        Error::NotRecorded { request: "GET /x".into(), nearest: vec!["GET /y".into()].into() },
    ] {
        let text = encode_failure(&error).unwrap_or_else(|| panic!("{error:?} is shared"));
        assert_eq!(decode_failure(text.as_bytes()), Some(error));
    }
    for own in [
        Error::Deadline,
        Error::OverBudget { budget: 5 },
        Error::CircuitOpen,
        Error::Recording { path: "p".into(), message: "m".into() },
    ] {
        assert_eq!(encode_failure(&own), None, "{own:?} is the fetcher's own");
    }
    let huge = Error::Status { status: 502, url, message: Some("x".repeat(100_000)) };
    assert_eq!(encode_failure(&huge), None, "too large to share");
    assert_eq!(decode_failure(b"not json"), None);
}

#[test]
fn answer_keys_are_the_canonical_request() {
    let a = Request::get("/api/v0/m/screens/").param("offset", 0).param("childCount", true);
    let b = Request::get("/api/v0/m/screens/").param("childCount", true).param("offset", 0);
    let key = |r: &Request| answer_key("https://idr.openmicroscopy.org/", r);
    assert_eq!(key(&a), key(&b), "the query is sorted");
    assert_ne!(key(&a), key(&Request::get("/api/v0/m/projects/")));
    assert_ne!(key(&a), answer_key("offline", &a), "another upstream, another key");
    assert!(key(&a).starts_with("idr:v1:resp:") && key(&a).len() == 12 + 64);
}

/// A shared tier in memory: what two clients share.
#[derive(Default)]
struct Memory {
    answers: Mutex<HashMap<String, Response>>,
}

impl SharedTier for Memory {
    fn claim<'a>(&'a self, key: &'a str, _: Duration, _: Option<&'a str>) -> BoxFuture<'a, Claim> {
        Box::pin(async move {
            match self.answers.lock().unwrap().get(key) {
                Some(found) => Claim::Stored(found.clone(), Duration::from_secs(60)),
                None => Claim::Mine("t".into()),
            }
        })
    }
    fn renew<'a>(&'a self, _: &'a str, _: &'a str, _: Duration) -> BoxFuture<'a, ()> {
        Box::pin(async {})
    }
    fn release(&self, key: &str, _: &str, end: FetchEnd) {
        if let FetchEnd::Answer(response, _) = end {
            self.answers.lock().unwrap().insert(key.to_owned(), response);
        }
    }
    fn acquire<'a>(&'a self, _: usize, _: Duration, _: Duration) -> BoxFuture<'a, Permit> {
        Box::pin(async { Permit::Held("t".into()) })
    }
    fn renew_permit<'a>(&'a self, _: &'a str, _: Duration) -> BoxFuture<'a, ()> {
        Box::pin(async {})
    }
    fn release_permit(&self, _: &str) {}
}

/// Two clients on one shared tier: what one fetched the other reads, with no call; an
/// answer that did not decode (a 404 here) is not shared.
#[tokio::test]
async fn a_client_reads_what_another_shared() {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/upstream");
    let store = Arc::new(crate::recording::RecordingStore::from_dir(&dir).unwrap());
    let shared: Arc<dyn SharedTier> = Arc::new(Memory::default());
    let one = crate::IdrClient::with_shared(
        crate::RecordedUpstream::new(store.clone()),
        crate::ClientConfig::default(),
        Some(shared.clone()),
    );
    let other = crate::IdrClient::with_shared(
        crate::RecordedUpstream::new(store),
        crate::ClientConfig::default(),
        Some(shared),
    );
    let first = one.container(crate::endpoints::ApiObject::Screen, 102).await.unwrap();
    assert_eq!(one.upstream_calls(), 1);
    let second = other.container(crate::endpoints::ApiObject::Screen, 102).await.unwrap();
    assert_eq!(other.upstream_calls(), 0, "read from the shared tier");
    assert_eq!(first, second);
    // A missing screen (IDR's 404) is no answer to share: the other client asks too.
    let _ = one.container(crate::endpoints::ApiObject::Screen, 999_999_999).await;
    let _ = other.container(crate::endpoints::ApiObject::Screen, 999_999_999).await;
    assert_eq!(other.upstream_calls(), 1);
}
