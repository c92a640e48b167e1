//! Unit tests of the client: decoders against recordings and hand-written quirky bodies,
//! request building, the recording store, and the politeness policies against a fake upstream.
//!
//! Nothing here touches the network. Recordings are read from `tests/fixtures/upstream`;
//! the policies run against [`fake::Fake`], which counts calls instead of timing them.

mod batching;
mod chunking;
mod concurrent;
mod decode;
mod decode_errors;
mod fake;
mod recording;
mod requests;
mod sequence;
mod shared;
mod thumbnails;

use std::path::Path;
use std::sync::OnceLock;

use crate::recording::RecordingStore;
use crate::{Request, Response};

/// The repository's recordings, loaded once for the whole test binary.
fn fixtures() -> &'static RecordingStore {
    static STORE: OnceLock<RecordingStore> = OnceLock::new();
    STORE.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/upstream");
        RecordingStore::from_dir(&dir).unwrap_or_else(|e| panic!("cannot load recordings: {e}"))
    })
}

/// The recorded answer to `req`; the test fails if there is none, which also checks that
/// the client builds exactly the requests that were recorded.
fn recorded(req: &Request) -> Response {
    fixtures().answer(req).unwrap_or_else(|e| panic!("{e}"))
}

/// A JSON response with this status and body text (which may hold bare `NaN`).
fn json(status: u16, body: &str) -> Response {
    Response::json(status, body.to_owned())
}

/// A response with an explicit content type (`None` for an empty body).
fn raw(status: u16, content_type: Option<&str>, body: &[u8]) -> Response {
    Response {
        status,
        content_type: content_type.map(str::to_owned),
        body: bytes::Bytes::copy_from_slice(body),
    }
}
