//! Schema tests, all offline over the recordings: every example in `examples/graphql/` is
//! executed and snapshotted, the SDL is kept fresh, batching is proven by counting upstream
//! calls, and bad input gets typed errors. Property tests run IDR-QL's compiled queries
//! against the schema: within the server's limits (`ql_limits`, FAULTS.md P3) and with the
//! language's meaning over a mock search engine (`ql_semantics`, P6).

mod arguments;
mod batching;
mod biology;
mod differential;
mod errors;
mod examples;
mod faults;
mod filters;
mod lowering;
mod modules;
mod persisted;
mod ql_limits;
mod ql_semantics;
mod search;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use idr_client::recording::RecordingStore;
use idr_client::upstream::{BoxFuture, Upstream};
use idr_client::{ClientConfig, IdrClient, RecordedUpstream, Request, Response};

use crate::{build_schema, IdrSchema, SchemaLimits};

pub(crate) fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Records every request that reaches the recordings, so tests can count upstream calls.
#[derive(Clone)]
pub(crate) struct Counting {
    inner: Arc<RecordedUpstream>,
    pub(crate) seen: Arc<Mutex<Vec<Request>>>,
}

impl Upstream for Counting {
    fn send<'a>(&'a self, req: &'a Request) -> BoxFuture<'a, Result<Response, idr_client::Error>> {
        self.seen.lock().unwrap().push(req.clone());
        self.inner.send(req)
    }

    fn recorded(&self) -> bool {
        self.inner.recorded()
    }
}

/// A schema over the recordings, and the log of upstream requests it makes.
pub(crate) fn offline_schema() -> (IdrSchema, Arc<Mutex<Vec<Request>>>) {
    schema_over(
        RecordingStore::from_dir(&idr_test_support::fixtures_dir()).expect("recordings load"),
    )
}

/// A schema over any store, and the log of upstream requests it makes.
pub(crate) fn schema_over(store: RecordingStore) -> (IdrSchema, Arc<Mutex<Vec<Request>>>) {
    let counting =
        Counting { inner: Arc::new(RecordedUpstream::new(Arc::new(store))), seen: Arc::default() };
    let seen = counting.seen.clone();
    let client = IdrClient::new(counting, ClientConfig::default());
    (build_schema(client, SchemaLimits::default()), seen)
}

/// Executes a query and returns the response as JSON, without its cost (see [`answer`]).
pub(crate) async fn run(schema: &IdrSchema, query: &str) -> serde_json::Value {
    answer(crate::execute(schema, query).await)
}

/// A response as JSON without `extensions.cost`, which depends on what the caches held
/// already; the tests of the cost read it from the response itself.
pub(crate) fn answer(response: async_graphql::Response) -> serde_json::Value {
    let mut json = serde_json::to_value(&response).expect("responses serialise");
    if let Some(extensions) = json.get_mut("extensions").and_then(|e| e.as_object_mut()) {
        extensions.remove("cost");
        if extensions.is_empty() {
            json.as_object_mut().map(|o| o.remove("extensions"));
        }
    }
    json
}

/// Issue 8: doc lines doubled by a shared resolver leaked into the SDL. No description
/// of any type, field or argument holds the same line twice.
#[test]
fn no_description_repeats_a_line() {
    let sdl = crate::sdl();
    for block in sdl.split("\"\"\"").skip(1).step_by(2) {
        let lines: Vec<&str> = block.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
        for (i, line) in lines.iter().enumerate() {
            assert!(!lines[..i].contains(line), "a description repeats {line:?}:\n{block}");
        }
    }
}

#[test]
fn sdl_is_fresh() {
    idr_test_support::check_file_fresh(&repo_root().join("schema/idr.graphql"), &crate::sdl());
}
