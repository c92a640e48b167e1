//! A fake IDR for the policy tests: it counts calls and the calls in flight, can be slow,
//! can follow a script of replies, and otherwise answers by a fixed convention on ids.
//!
//! The id convention (for `imgData` and the plate grid) lets a test say what upstream does
//! just by picking an id: `MISSING + n` is missing, `HTML_500 + n` answers a Django error
//! page, and so on. Any other id is a healthy object.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;

use crate::upstream::{BoxFuture, Upstream};
use crate::{Error, Request, Response};

/// Missing object: `imgData` answers 403 with an empty body, the plate grid 500 JSON.
pub(crate) const MISSING: u64 = 404_000;
/// HTTP 500 with an HTML body.
pub(crate) const HTML_500: u64 = 500_000;
/// HTTP 200 with `{"error": "…"}`.
pub(crate) const REPORTED: u64 = 200_000;
/// HTTP 200 with a body of the wrong shape.
pub(crate) const GARBLED: u64 = 422_000;
/// Healthy, with a body of about 1,000 bytes.
pub(crate) const BIG: u64 = 700_000;
/// Never answers.
pub(crate) const HANG: u64 = 900_000;

/// One scripted reply.
#[derive(Clone, Debug)]
pub(crate) enum Reply {
    Respond(Response),
    /// A connection reset.
    Transport,
    /// Never answers (until the call is dropped).
    Hang,
}

pub(crate) fn status(code: u16) -> Reply {
    Reply::Respond(Response {
        status: code,
        content_type: Some("text/html".to_owned()),
        body: format!("<html><body><h1>{code}</h1></body></html>").into(),
    })
}

type Responder = Box<dyn Fn(&Request) -> Reply + Send + Sync>;

pub(crate) struct Fake {
    latency: Duration,
    script: Mutex<VecDeque<Reply>>,
    responder: Responder,
    calls: AtomicU64,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    log: Mutex<Vec<Request>>,
}

impl Fake {
    /// A fake that answers by the id convention.
    pub(crate) fn idr() -> Fake {
        Fake::with(by_id)
    }

    /// A fake that answers every call with `responder`.
    pub(crate) fn with(responder: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> Fake {
        Fake {
            latency: Duration::ZERO,
            script: Mutex::new(VecDeque::new()),
            responder: Box::new(responder),
            calls: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
            log: Mutex::new(Vec::new()),
        }
    }

    /// Every call waits this long before answering.
    pub(crate) fn latency(mut self, latency: Duration) -> Fake {
        self.latency = latency;
        self
    }

    /// The first calls get these replies, in order, whatever they ask for.
    pub(crate) fn script(self, replies: Vec<Reply>) -> Fake {
        *self.script.lock().unwrap() = replies.into();
        self
    }

    pub(crate) fn calls(&self) -> u64 {
        self.calls.load(Ordering::SeqCst)
    }

    pub(crate) fn max_in_flight(&self) -> usize {
        self.max_in_flight.load(Ordering::SeqCst)
    }

    pub(crate) fn requests(&self) -> Vec<Request> {
        self.log.lock().unwrap().clone()
    }
}

/// Counts a call as in flight until dropped, also when the call is cancelled.
struct InFlight<'a>(&'a Fake);

impl<'a> InFlight<'a> {
    fn enter(fake: &'a Fake) -> InFlight<'a> {
        let now = fake.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        fake.max_in_flight.fetch_max(now, Ordering::SeqCst);
        InFlight(fake)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Upstream for Arc<Fake> {
    fn send<'a>(&'a self, req: &'a Request) -> BoxFuture<'a, Result<Response, Error>> {
        Box::pin(async move {
            self.calls.fetch_add(1, Ordering::SeqCst);
            self.log.lock().unwrap().push(req.clone());
            let _in_flight = InFlight::enter(self);
            if !self.latency.is_zero() {
                tokio::time::sleep(self.latency).await;
            }
            let scripted = self.script.lock().unwrap().pop_front();
            match scripted.unwrap_or_else(|| (self.responder)(req)) {
                Reply::Respond(resp) => Ok(resp),
                Reply::Transport => Err(Error::Transport {
                    url: req.to_string(),
                    message: "connection reset by peer".to_owned(),
                }),
                Reply::Hang => std::future::pending().await,
            }
        })
    }
}

/// The id convention for `/webclient/imgData/<id>/` and `/webgateway/plate/<id>/<field>/`.
fn by_id(req: &Request) -> Reply {
    let segments: Vec<&str> = req.path.split('/').filter(|s| !s.is_empty()).collect();
    let (grid, id) = match segments.as_slice() {
        ["webclient", "imgData", id] => (false, id.parse::<u64>().unwrap()),
        ["webgateway", "plate", id, _] => (true, id.parse::<u64>().unwrap()),
        _ => return status(404),
    };
    let ok = |body: serde_json::Value| Reply::Respond(Response::json(200, body.to_string()));
    match id - id % 1_000 {
        MISSING if grid => Reply::Respond(Response::json(
            500,
            r#"{"message": "Object of type type is not JSON serializable", "stacktrace": "…"}"#,
        )),
        MISSING => Reply::Respond(Response { status: 403, content_type: None, body: "".into() }),
        HTML_500 => status(500),
        REPORTED => ok(json!({"error": "Could not do it"})),
        GARBLED if grid => ok(json!({"grid": "nope"})),
        GARBLED => ok(json!({"id": id, "meta": {"imageTimestamp": "yesterday"}})),
        HANG => Reply::Hang,
        _ if grid => ok(json!({
            "grid": [[{"id": id * 10, "wellId": id, "name": format!("image {}", id * 10)}, null]],
            "collabels": [1, 2],
            "rowlabels": ["A"],
            "image_sizes": [],
        })),
        base => ok(json!({
            "id": id,
            "meta": {
                "imageName": format!("image {id}"),
                "imageDescription": if base == BIG { "x".repeat(1_000) } else { String::new() },
                "wellId": "",
                "wellSampleId": "",
                "imageTimestamp": 1194540393.0,
            },
        })),
    }
}
