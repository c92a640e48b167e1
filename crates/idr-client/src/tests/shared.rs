//! The shared tier's formats, and the client over a shared tier that keeps everything in
//! memory (the Redis one is tested with a real Redis in tests/e2e/replicas.rs).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;

use crate::shared::{answer_key, decode_response, encode_response};
use crate::upstream::BoxFuture;
use crate::{Claim, Permit, Request, Response, SharedTier};

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
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Option<(Response, Duration)>> {
        Box::pin(async move {
            let found = self.answers.lock().unwrap().get(key).cloned();
            found.map(|r| (r, Duration::from_secs(60)))
        })
    }
    fn put<'a>(&'a self, key: &'a str, response: &'a Response, _: Duration) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            self.answers.lock().unwrap().insert(key.to_owned(), response.clone());
        })
    }
    fn claim<'a>(&'a self, _: &'a str, _: Duration) -> BoxFuture<'a, Claim> {
        Box::pin(async { Claim::Mine("t".into()) })
    }
    fn renew<'a>(&'a self, _: &'a str, _: &'a str, _: Duration) -> BoxFuture<'a, ()> {
        Box::pin(async {})
    }
    fn release<'a>(&'a self, _: &'a str, _: &'a str) -> BoxFuture<'a, ()> {
        Box::pin(async {})
    }
    fn acquire<'a>(&'a self, _: usize, _: Duration, _: Duration) -> BoxFuture<'a, Permit> {
        Box::pin(async { Permit::Held("t".into()) })
    }
    fn renew_permit<'a>(&'a self, _: &'a str, _: Duration) -> BoxFuture<'a, ()> {
        Box::pin(async {})
    }
    fn release_permit<'a>(&'a self, _: &'a str) -> BoxFuture<'a, ()> {
        Box::pin(async {})
    }
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
